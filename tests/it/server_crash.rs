//! Nothing lost on a crash (issue 10): the real `switchboard serve` binary
//! under concurrent load with virtual keys is killed with SIGKILL, started
//! again on the same database, and the rows in its spend log are compared
//! with the 200s its clients received. A row is durable within the spend
//! log's flush interval of its call's answer, so what a crash may forget is
//! bounded by the calls answered in that last moment; every key's recorded
//! spend is the sum of its rows (one transaction). On SQLite, and on
//! PostgreSQL when `SWITCHBOARD_TEST_POSTGRES_URL` names one.

#![cfg(unix)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server_keys::start_serve;
use crate::support::{Mock, Reply};

const MASTER: &str = "sk-master-crash-test";
const POSTGRES_ENV: &str = "SWITCHBOARD_TEST_POSTGRES_URL";
/// The flush interval the server runs with (the default).
const FLUSH_MS: u64 = 200;
/// What a batch may take to commit on a busy test machine, on top of it.
const COMMIT_MARGIN_MS: u64 = 300;
const KEYS: usize = 8;
const CLIENTS: usize = 32;
/// The server is killed once this many calls have been answered.
const ANSWERED_BEFORE_KILL: usize = 1500;

/// Each 200 a client received: the key's number and when.
type Answers = Arc<Mutex<Vec<(usize, Instant)>>>;

async fn kill_9_loses_at_most_the_flush_window(database_url: &str, label: &str) {
    let up = Mock::start(vec![Reply::openai_chat("hi", 1000, 500)]).await;
    let dir =
        std::env::temp_dir().join(format!("switchboard-crash-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nport = 0\nworkers = 2\nmaster-key = \"{MASTER}\"\n\
             database-url = \"{database_url}\"\nspend-log-flush-ms = {FLUSH_MS}\n\n\
             [[deployments]]\ngroup = \"chat\"\nmodel = \"openai/gpt-4o-mini\"\n\
             api-key = \"upstream-key\"\napi-base = \"{}/v1\"\n",
            up.url
        ),
    )
    .unwrap();
    let (mut child, base, _) = start_serve(&config).await;
    let http = reqwest::Client::new();
    let mut keys = Vec::new();
    for _ in 0..KEYS {
        let made: Value = http
            .post(format!("{base}/key/generate"))
            .bearer_auth(MASTER)
            .json(&json!({"max_budget": 1000.0}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        keys.push(made["key"].as_str().unwrap().to_string());
    }

    let answers: Answers = Arc::default();
    let refused = Arc::new(Mutex::new(Vec::<u16>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let enough = Arc::new(tokio::sync::Notify::new());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, base, keys) = (http.clone(), base.clone(), keys.clone());
            let (answers, refused) = (answers.clone(), refused.clone());
            let (stop, enough) = (stop.clone(), enough.clone());
            tokio::spawn(async move {
                let mut n = c;
                while !stop.load(Ordering::Relaxed) {
                    let k = n % KEYS;
                    n += CLIENTS;
                    let sent = http
                        .post(format!("{base}/v1/chat/completions"))
                        .bearer_auth(&keys[k])
                        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
                        .send()
                        .await;
                    let Ok(resp) = sent else { break };
                    let status = resp.status().as_u16();
                    if resp.bytes().await.is_err() {
                        break;
                    }
                    if status == 200 {
                        let mut a = answers.lock().unwrap();
                        a.push((k, Instant::now()));
                        if a.len() == ANSWERED_BEFORE_KILL {
                            enough.notify_one();
                        }
                    } else {
                        refused.lock().unwrap().push(status);
                    }
                }
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(120), enough.notified())
        .await
        .expect("the load never reached its count");
    let pid = child.id().unwrap() as i32;
    // SAFETY: signals our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let killed = Instant::now();
    stop.store(true, Ordering::Relaxed);
    child.wait().await.unwrap();
    for c in clients {
        let _ = c.await;
    }
    let answers = answers.lock().unwrap().clone();
    let refused = refused.lock().unwrap().clone();
    assert!(refused.is_empty(), "calls refused under load: {refused:?}");

    // Started again on the same database: what did it keep?
    let (_restarted, base, _) = start_serve(&config).await;
    let (mut lost, mut rows_total) = (0usize, 0usize);
    for (k, key) in keys.iter().enumerate() {
        let rows = admin_get(
            &http,
            &format!("{base}/spend/logs?api_key={key}&limit=1000000"),
        )
        .await;
        let rows = rows.as_array().unwrap();
        let success = rows.iter().filter(|r| r["status"] == "success").count();
        let answered = answers.iter().filter(|(a, _)| *a == k).count();
        lost += answered.saturating_sub(success);
        rows_total += rows.len();
        let logged: f64 = rows.iter().map(|r| r["cost"].as_f64().unwrap()).sum();
        let info = admin_get(&http, &format!("{base}/key/info?key={key}")).await;
        let spend = info["info"]["spend"].as_f64().unwrap();
        assert!(
            (spend - logged).abs() < 1e-9,
            "key {k}: recorded spend {spend}, rows sum to {logged}"
        );
    }
    let window = Duration::from_millis(FLUSH_MS + COMMIT_MARGIN_MS);
    let in_window = answers
        .iter()
        .filter(|(_, at)| killed.duration_since(*at) <= window)
        .count();
    // As time: the lost rows are as many as the calls answered in the last … ms.
    let mut ages: Vec<Duration> = answers.iter().map(|(_, at)| killed - *at).collect();
    ages.sort();
    let lost_span = lost.checked_sub(1).map_or(Duration::ZERO, |i| ages[i]);
    eprintln!(
        "kill -9 ({label}): {} calls answered 200, {rows_total} spend rows kept, {lost} lost ({:.2}%, \
         as many as were answered in the last {} ms); {in_window} were answered in the last {} ms",
        answers.len(),
        100.0 * lost as f64 / answers.len() as f64,
        lost_span.as_millis(),
        window.as_millis()
    );
    assert!(
        lost <= in_window,
        "{lost} rows lost: more than the {in_window} calls answered within {} ms of the kill",
        window.as_millis()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A GET with the master key, as JSON.
async fn admin_get(http: &reqwest::Client, url: &str) -> Value {
    let resp = http.get(url).bearer_auth(MASTER).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_sqlite_loses_at_most_the_flush_window() {
    let dir = std::env::temp_dir().join(format!("switchboard-crash-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("spend.db");
    let _ = std::fs::remove_file(&db);
    kill_9_loses_at_most_the_flush_window(&format!("sqlite://{}", db.display()), "sqlite").await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_postgres_loses_at_most_the_flush_window() {
    let Some(url) = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) else {
        crate::support::skip(
            "kill_9_on_postgres_loses_at_most_the_flush_window",
            &format!(
                "{POSTGRES_ENV} is not set (CI sets it to postgres://postgres@127.0.0.1:5432/test)"
            ),
        );
        return;
    };
    kill_9_loses_at_most_the_flush_window(&url, "postgres").await;
}
