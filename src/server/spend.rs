//! The spend log: one row per call (key, model group, deployment, tokens,
//! cost, latency, status, time), written off the request path. A call
//! hands its row to a channel at once (unbounded: a row waiting for room
//! in a task of its own would be lost when its runtime stops); a writer
//! task inserts rows in batches (at most [`MAX_BATCH`], or whatever arrived
//! within the flush interval) in one transaction that also adds their cost
//! to their keys' spend. [`SpendLog::flush`] writes everything sent before
//! it: graceful shutdown calls it, so no row is lost. When the database
//! falls behind, rows wait in memory and a warning says how many.
//!
//! Each call gets one [`Meter`]: finishing it records a success, dropping
//! it unfinished records a failure (an error, a cut stream), so every call
//! is recorded exactly once. The Router's retries happen inside one call,
//! and a row's id is unique, so nothing is charged twice.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use serde::Serialize;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use super::AppState;
use super::db::{Db, db_error, now_ms};
use super::error::ApiError;
use super::keys::{Caller, KeyState};
use super::shared::Shared;
use crate::error::Result;
use crate::types::{ChatChunk, ChatRequest, Usage};

/// Rows waiting for the database past which a warning is printed (again
/// at every multiple).
const BACKLOG_WARNING: usize = 50_000;
/// Rows per insert transaction.
pub(crate) const MAX_BATCH: usize = 500;

/// One call, as logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendRow {
    pub request_id: String,
    /// The virtual key's token; None for the master key or an open server.
    pub key_hash: Option<String>,
    pub model_group: String,
    /// The deployment that answered (empty when none did).
    pub deployment: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    /// USD, from the response's `usage.cost`.
    pub cost: f64,
    pub latency_ms: i64,
    /// `success` or `failure`.
    pub status: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

enum Msg {
    Row(SpendRow),
    Flush(oneshot::Sender<()>),
}

/// The sending side of the log; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct SpendLog {
    tx: mpsc::UnboundedSender<Msg>,
    /// Rows sent and not yet written.
    pending: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("spend message")
    }
}

impl SpendLog {
    /// Starts the writer task on the current runtime.
    pub(crate) fn start(db: Db, interval: Duration) -> SpendLog {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        tokio::spawn(writer(db, rx, interval, pending.clone()));
        SpendLog { tx, pending }
    }

    /// Queues a row; never blocks the caller.
    pub(crate) fn send(&self, row: SpendRow) {
        let waiting = self.pending.fetch_add(1, Ordering::Relaxed) + 1;
        if waiting.is_multiple_of(BACKLOG_WARNING) {
            eprintln!(
                "switchboard: {waiting} spend log rows are waiting for the database, which is slower than the calls"
            );
        }
        if self.tx.send(Msg::Row(row)).is_err() {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            eprintln!("switchboard: spend log writer has stopped; a row was not recorded");
        }
    }

    /// Returns once every row sent before it is written.
    pub(crate) async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.await;
        }
    }
}

async fn writer(
    db: Db,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    interval: Duration,
    pending: Arc<AtomicUsize>,
) {
    // Writes a batch and counts its rows as no longer waiting.
    let write_batch = |rows: Vec<SpendRow>| {
        let (db, pending) = (&db, &pending);
        async move {
            let n = rows.len();
            write(db, rows).await;
            pending.fetch_sub(n, Ordering::Relaxed);
        }
    };
    let mut batch: Vec<SpendRow> = Vec::new();
    let mut deadline = tokio::time::Instant::now();
    loop {
        let msg = if batch.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(msg) => msg,
                Err(_) => {
                    write_batch(std::mem::take(&mut batch)).await;
                    continue;
                }
            }
        };
        match msg {
            None => {
                write_batch(std::mem::take(&mut batch)).await;
                return;
            }
            Some(Msg::Row(row)) => {
                if batch.is_empty() {
                    deadline = tokio::time::Instant::now() + interval;
                }
                batch.push(row);
                if batch.len() >= MAX_BATCH {
                    write_batch(std::mem::take(&mut batch)).await;
                }
            }
            Some(Msg::Flush(ack)) => {
                write_batch(std::mem::take(&mut batch)).await;
                let _ = ack.send(());
            }
        }
    }
}

/// Inserts a batch, retrying a failed transaction a few times.
async fn write(db: &Db, rows: Vec<SpendRow>) {
    if rows.is_empty() {
        return;
    }
    let mut last = None;
    for attempt in 0..5u32 {
        match insert(db, &rows).await {
            Ok(()) => return,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
    }
    if let Some(e) = last {
        eprintln!(
            "switchboard: {} spend log rows could not be written: {e}",
            rows.len()
        );
    }
}

async fn insert(db: &Db, rows: &[SpendRow]) -> Result<()> {
    let mut tx = db
        .pool()
        .begin()
        .await
        .map_err(|e| db_error("cannot start a spend batch", e))?;
    // What the rows inserted now add to each key's spend (a row already
    // there, from a batch retried after its commit, adds nothing).
    let mut added: HashMap<&str, f64> = HashMap::new();
    for r in rows {
        let done = sqlx::query(
            "INSERT INTO switchboard_spend_logs (request_id, key_hash, model_group, deployment,
               prompt_tokens, completion_tokens, total_tokens, cost, latency_ms, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(r.request_id.clone())
        .bind(r.key_hash.clone())
        .bind(r.model_group.clone())
        .bind(r.deployment.clone())
        .bind(r.prompt_tokens)
        .bind(r.completion_tokens)
        .bind(r.total_tokens)
        .bind(r.cost)
        .bind(r.latency_ms)
        .bind(r.status.clone())
        .bind(r.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("cannot insert a spend row", e))?;
        if let Some(key) = &r.key_hash
            && done.rows_affected() > 0
            && r.cost != 0.0
        {
            *added.entry(key.as_str()).or_default() += r.cost;
        }
    }
    for (key, cost) in added {
        sqlx::query("UPDATE switchboard_keys SET spend = spend + $1 WHERE key_hash = $2")
            .bind(cost)
            .bind(key.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("cannot add to a key's spend", e))?;
    }
    tx.commit()
        .await
        .map_err(|e| db_error("cannot commit a spend batch", e))
}

/// Logged rows, oldest first: all of them, or one key's (its token).
pub(crate) async fn rows(db: &Db, token: Option<&str>, limit: i64) -> Result<Vec<SpendRow>> {
    let fetched = match token {
        Some(t) => sqlx::query(
            "SELECT request_id, key_hash, model_group, deployment, prompt_tokens, completion_tokens,
               total_tokens, cost, latency_ms, status, created_at
             FROM switchboard_spend_logs WHERE key_hash = $1
             ORDER BY created_at, request_id LIMIT $2",
        )
        .bind(t.to_string())
        .bind(limit)
        .fetch_all(db.pool())
        .await,
        None => sqlx::query(
            "SELECT request_id, key_hash, model_group, deployment, prompt_tokens, completion_tokens,
               total_tokens, cost, latency_ms, status, created_at
             FROM switchboard_spend_logs ORDER BY created_at, request_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(db.pool())
        .await,
    }
    .map_err(|e| db_error("cannot read the spend log", e))?;
    fetched
        .iter()
        .map(|row| {
            let get = |e: sqlx::Error| db_error("a spend row", e);
            Ok(SpendRow {
                request_id: row.try_get("request_id").map_err(get)?,
                key_hash: row.try_get("key_hash").map_err(get)?,
                model_group: row.try_get("model_group").map_err(get)?,
                deployment: row.try_get("deployment").map_err(get)?,
                prompt_tokens: row.try_get("prompt_tokens").map_err(get)?,
                completion_tokens: row.try_get("completion_tokens").map_err(get)?,
                total_tokens: row.try_get("total_tokens").map_err(get)?,
                cost: row.try_get("cost").map_err(get)?,
                latency_ms: row.try_get("latency_ms").map_err(get)?,
                status: row.try_get("status").map_err(get)?,
                created_at: row.try_get("created_at").map_err(get)?,
            })
        })
        .collect()
}

/// One call's accounting: [`Meter::finish`] on success; dropped unfinished,
/// it records a failure.
#[derive(Debug)]
pub(crate) struct Meter {
    log: Option<SpendLog>,
    key: Option<Arc<KeyState>>,
    group: String,
    started: Instant,
    deployment: String,
    /// Where the fleet's counters live, when shared.
    shared: Option<Shared>,
}

impl Meter {
    pub(crate) fn new(log: Option<SpendLog>, key: Option<Arc<KeyState>>, group: &str) -> Meter {
        Meter {
            log,
            key,
            group: group.to_string(),
            started: Instant::now(),
            deployment: String::new(),
            shared: None,
        }
    }

    /// Names the deployment that answered (a stream is finished later).
    pub(crate) fn served_by(&mut self, deployment: &str) {
        self.deployment = deployment.to_string();
    }

    /// Records a success with the response's usage and cost.
    pub(crate) fn finish(mut self, deployment: &str, usage: Option<&Usage>) {
        self.deployment = deployment.to_string();
        self.record("success", usage);
    }

    fn record(&mut self, status: &str, usage: Option<&Usage>) {
        let cost = usage.and_then(|u| u.cost).map_or(0.0, |c| c.usd);
        let total = usage.map_or(0, |u| u.total_tokens);
        if let Some(k) = &self.key {
            k.charge(total, cost);
            // Counted moments after the call ends, off its path.
            if let Some(shared) = self.shared.take()
                && let Ok(rt) = tokio::runtime::Handle::try_current()
            {
                rt.spawn(k.with_record(|r| shared.charge(r, total, cost)));
            }
        }
        let Some(log) = self.log.take() else {
            return;
        };
        log.send(SpendRow {
            request_id: request_id(),
            key_hash: self.key.as_ref().map(|k| k.token()),
            model_group: std::mem::take(&mut self.group),
            deployment: std::mem::take(&mut self.deployment),
            prompt_tokens: usage.map_or(0, |u| u.prompt_tokens as i64),
            completion_tokens: usage.map_or(0, |u| u.completion_tokens as i64),
            total_tokens: total as i64,
            cost,
            latency_ms: self.started.elapsed().as_millis() as i64,
            status: status.to_string(),
            created_at: now_ms(),
        });
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if self.log.is_some() {
            self.record("failure", None);
        }
    }
}

/// A unique row id: time and randomness.
fn request_id() -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::fill(&mut bytes);
    format!("{:x}-{}", now_ms(), hex::encode(bytes))
}

/// Admits one call to `group` for the request's virtual key (if any) and
/// starts its meter; refused, the call never reaches the Router.
pub(crate) async fn admit(
    state: &AppState,
    caller: Option<&Caller>,
    group: &str,
) -> std::result::Result<Meter, ApiError> {
    if let Some(Caller(key)) = caller {
        match &state.shared {
            Some(shared) => shared.admit(key, group).await?,
            None => key.admit(group)?,
        }
    }
    let mut meter = Meter::new(
        state.store.as_ref().map(|s| s.spend.clone()),
        caller.map(|c| c.0.clone()),
        group,
    );
    meter.shared = state.shared.clone();
    Ok(meter)
}

impl Meter {
    /// Asks a stream for its usage chunk when this call is logged, so the
    /// cost is known at the end; true when the client had not asked (the
    /// chunk is then kept from it).
    pub(crate) fn want_usage(&self, req: &mut ChatRequest) -> bool {
        if (self.log.is_none() && self.key.is_none()) || req.include_usage() {
            return false;
        }
        let mut options = req.stream_options.clone().unwrap_or_default();
        options.include_usage = Some(true);
        req.stream_options = Some(options);
        true
    }
}

/// A chat stream that finishes its [`Meter`] when it ends, with the usage
/// chunk's usage and cost; cut short or failed, the meter records a failure.
pub(crate) struct Metered<S> {
    inner: S,
    meter: Option<Meter>,
    usage: Option<Usage>,
    /// Keep the usage chunk from the client (it did not ask for one).
    hide_usage: bool,
}

impl<S> Metered<S> {
    pub(crate) fn new(inner: S, meter: Meter, hide_usage: bool) -> Self {
        Metered {
            inner,
            meter: Some(meter),
            usage: None,
            hide_usage,
        }
    }
}

impl<S: Stream<Item = Result<ChatChunk>> + Unpin> Stream for Metered<S> {
    type Item = Result<ChatChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let this = &mut *self;
            let polled = Pin::new(&mut this.inner).poll_next(cx);
            match polled {
                Poll::Ready(Some(Ok(mut chunk))) => {
                    if let Some(u) = &chunk.usage {
                        this.usage = Some(u.clone());
                        if this.hide_usage {
                            if chunk.choices.is_empty() {
                                continue;
                            }
                            chunk.usage = None;
                        }
                    }
                    return Poll::Ready(Some(Ok(chunk)));
                }
                Poll::Ready(None) => {
                    if let Some(mut m) = this.meter.take() {
                        let deployment = std::mem::take(&mut m.deployment);
                        m.finish(&deployment, this.usage.as_ref());
                    }
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    this.meter.take();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: usize) -> SpendRow {
        SpendRow {
            request_id: format!("r{n}"),
            key_hash: None,
            model_group: "g".into(),
            deployment: "d".into(),
            prompt_tokens: 1,
            completion_tokens: 1,
            total_tokens: 2,
            cost: 0.0,
            latency_ms: 1,
            status: "success".into(),
            created_at: n as i64,
        }
    }

    /// Far more rows than a batch (and than the bounded channel this log
    /// once had), sent faster than they are written: a flush right after
    /// still finds every one of them in the table.
    #[tokio::test]
    async fn a_flush_after_a_burst_writes_every_row() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let log = SpendLog::start(db.clone(), Duration::from_secs(60));
        let n = 25 * MAX_BATCH + 7;
        for i in 0..n {
            log.send(row(i));
        }
        log.flush().await;
        assert_eq!(rows(&db, None, i64::MAX).await.unwrap().len(), n);
        assert_eq!(log.pending.load(Ordering::Relaxed), 0);
    }
}
