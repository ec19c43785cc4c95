//! `switchboard serve` as a litellm user starts it (issue 12): a user's
//! provider spec from `--spec-dir` (or `[server] spec-dir`), and a
//! one-model proxy with `--api-base` and `--api-key-env`. The real binary
//! on port 0, in front of a mock upstream on 127.0.0.1.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use crate::support::{Mock, Reply};

/// A user's provider: an OpenAI-compatible API, as a file.
const ACME: &str = "extends = \"openai\"\nname = \"Acme\"\n\
    base-url = \"https://acme.invalid/v1\"\n\
    auth = { scheme = \"bearer\", env = \"ACME_TEST_SURELY_UNSET_KEY\" }\n";

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("specs")).unwrap();
    std::fs::write(dir.join("specs/acme.toml"), ACME).unwrap();
    dir
}

/// Starts `serve` with `args`; returns the child and its base URL.
async fn serve(args: &[&str], dir: &Path) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .args(args)
        .args(["--port", "0", "--workers", "1"])
        .current_dir(dir)
        .env_remove("SWITCHBOARD_MASTER_KEY")
        .env("SERVE_CLI_TEST_KEY", "sk-from-the-named-variable")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut log = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut logged = Vec::new();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), log.next_line())
            .await
            .unwrap_or_else(|_| panic!("no serving line: {logged:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the server exited: {logged:?}"));
        if let Some(rest) = line.split("on http://").nth(1) {
            let addr = rest.split('/').next().unwrap().to_string();
            return (child, format!("http://{addr}"));
        }
        logged.push(line);
    }
}

async fn ask(base: &str, model: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn serve_loads_a_user_spec_and_serves_one_model_at_the_given_base_url() {
    let up = Mock::start(vec![Reply::openai_chat("from acme", 3, 1)]).await;
    let dir = scratch("flags");
    let api_base = format!("{}/v1", up.url);
    let (_child, base) = serve(
        &[
            "--model",
            "acme/acme-large",
            "--spec-dir",
            "specs",
            "--api-base",
            &api_base,
            "--api-key-env",
            "SERVE_CLI_TEST_KEY",
        ],
        &dir,
    )
    .await;
    let (status, body) = ask(&base, "acme/acme-large").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "from acme");
    let seen = &up.requests()[0];
    assert_eq!(seen.target, "/v1/chat/completions");
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer sk-from-the-named-variable")
    );
    assert_eq!(seen.json()["model"], "acme-large");
}

#[tokio::test]
async fn a_configs_spec_dir_is_relative_to_the_config_file() {
    let up = Mock::start(vec![Reply::openai_chat("from acme", 3, 1)]).await;
    let dir = scratch("config");
    let config = dir.join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nspec-dir = \"specs\"\n\n[[deployments]]\ngroup = \"acme\"\n\
             model = \"acme/acme-large\"\napi-key = \"k\"\napi-base = \"{}/v1\"\n",
            up.url
        ),
    )
    .unwrap();
    // Started from elsewhere: the directory is found beside the config.
    let (_child, base) = serve(
        &["--config", config.to_str().unwrap()],
        &std::env::temp_dir(),
    )
    .await;
    let (status, body) = ask(&base, "acme").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(up.requests().len(), 1);
}
