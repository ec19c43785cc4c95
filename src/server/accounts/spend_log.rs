//! The spend log: one row per call (key, model group, deployment, tokens,
//! cost, latency, status, time), written off the request path so that a
//! crash forgets at most the last moments:
//!
//! - every call logged takes a [`Slot`] when it is admitted and gives it
//!   back once its row is committed, so rows in memory (calls in flight and
//!   rows not yet written) never exceed the backlog; when the database
//!   falls that far behind, new calls are refused with a 503 and a
//!   `Retry-After` (backpressure, never a row silently dropped);
//! - a writer task commits rows in batches — one multi-row INSERT and its
//!   keys' spend in one transaction — as soon as a batch is full
//!   ([`MAX_BATCH`] rows) or its first row has waited the flush interval
//!   (`[server] spend-log-flush-ms`, default 200 ms): a row is durable
//!   within that interval of its call's answer, unless the database is
//!   slower than the calls;
//! - [`SpendLog::flush`] writes everything sent before it: graceful
//!   shutdown calls it, so no row is lost then.
//!
//! A row's id is unique and inserting one twice adds nothing, so a batch
//! retried after its commit charges no key twice. Knows no key or limit.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use sqlx::Row;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::Instant;

use super::db::{Db, db_error};
use crate::error::{Error, ErrorKind, Result};

/// Rows per INSERT and per transaction.
pub(crate) const MAX_BATCH: usize = 500;
/// Rows (in flight or waiting) the log holds in memory at most, unless told otherwise.
pub(crate) const DEFAULT_BACKLOG: usize = 10_000;
/// How long a row waits for its batch, unless told otherwise.
pub(crate) const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// Columns of a row, in the order `insert` binds them.
const COLUMNS: usize = 11;

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
    /// A row, the slot it holds, and when it was sent.
    Row(SpendRow, Slot, Instant),
    Flush(oneshot::Sender<()>),
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("spend message")
    }
}

/// Room for one row, from a call's admission until its row is committed.
#[derive(Debug)]
pub(crate) struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

/// The sending side of the log; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct SpendLog {
    tx: mpsc::UnboundedSender<Msg>,
    slots: Arc<Semaphore>,
    backlog: usize,
    /// Whether the backlog was full when last looked at (said once).
    full: Arc<AtomicBool>,
}

impl SpendLog {
    /// Starts the writer: batches wait at most `interval`, and at most
    /// `backlog` rows are held in memory. It runs on a thread of its own,
    /// with a pool of its own, so calls keeping the serving threads busy
    /// do not keep it from the database; an in-memory database (tests)
    /// has one connection, so there it runs on the current runtime.
    pub(crate) fn start(db: Db, interval: Duration, backlog: usize) -> Result<SpendLog> {
        let (tx, rx) = mpsc::unbounded_channel();
        let backlog = backlog.clamp(1, Semaphore::MAX_PERMITS);
        let full = Arc::new(AtomicBool::new(false));
        let behind = full.clone();
        if db.is_memory() {
            tokio::spawn(writer(db, rx, interval, behind));
        } else {
            std::thread::Builder::new()
                .name("switchboard-spend-log".into())
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    match runtime {
                        Ok(rt) => rt.block_on(async move {
                            let db = own_pool(&db).await;
                            writer(db, rx, interval, behind).await;
                        }),
                        Err(e) => crate::server::log::line(format_args!(
                            "the spend log cannot start: {e}"
                        )),
                    }
                })
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Internal,
                        format!("the spend log's thread did not start: {e}"),
                    )
                })?;
        }
        Ok(SpendLog {
            tx,
            slots: Arc::new(Semaphore::new(backlog)),
            backlog,
            full,
        })
    }

    /// Room for one more call's row, or a 503 when the database is so far
    /// behind that the backlog is full.
    pub(crate) fn slot(&self) -> Result<Slot> {
        match self.slots.clone().try_acquire_owned() {
            Ok(permit) => Ok(Slot(permit)),
            Err(_) => {
                if !self.full.swap(true, Ordering::Relaxed) {
                    crate::server::log::line(format_args!(
                        "the spend log holds {} rows the database has not taken yet; refusing calls until it catches up",
                        self.backlog
                    ));
                }
                Err(Error::new(
                    ErrorKind::ServiceUnavailable,
                    "the spend log is behind: the database is slower than the calls; retry shortly",
                )
                .with_retry_after(Some(Duration::from_secs(1)))
                .with_code(Some("spend_log_behind".into())))
            }
        }
    }

    /// Queues a row; never blocks the caller.
    pub(crate) fn send(&self, row: SpendRow, slot: Slot) {
        if self.tx.send(Msg::Row(row, slot, Instant::now())).is_err() {
            crate::server::log::line(format_args!(
                "spend log writer has stopped; a row was not recorded"
            ));
        }
    }

    /// Returns once every row sent before it is written.
    pub(crate) async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.await;
        }
    }

    /// Rows in memory now (calls in flight included).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.backlog - self.slots.available_permits()
    }
}

/// The writer's own pool on `db`'s database, once it can be opened (rows
/// wait meanwhile, and calls are refused once the backlog is full).
async fn own_pool(db: &Db) -> Db {
    let mut wait = Duration::from_millis(100);
    loop {
        match db.another().await {
            None => return db.clone(),
            Some(Ok(own)) => return own,
            Some(Err(e)) => {
                crate::server::log::line(format_args!(
                    "the spend log's writer cannot reach the database: {e}"
                ));
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// What the writer wakes up to.
enum Next {
    Msg(Msg),
    /// The batch's first row has waited the flush interval.
    Due,
    /// Every sender is gone.
    Closed,
}

async fn writer(
    db: Db,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    interval: Duration,
    full: Arc<AtomicBool>,
) {
    let mut batch: Vec<SpendRow> = Vec::new();
    let mut slots: Vec<Slot> = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let next = match deadline {
            None => rx.recv().await.map_or(Next::Closed, Next::Msg),
            Some(at) => match tokio::time::timeout_at(at, rx.recv()).await {
                Ok(Some(msg)) => Next::Msg(msg),
                Ok(None) => Next::Closed,
                Err(_) => Next::Due,
            },
        };
        let (write_now, ack, last) = match next {
            Next::Closed => (true, None, true),
            Next::Due => (true, None, false),
            Next::Msg(Msg::Row(row, slot, sent)) => {
                if batch.is_empty() {
                    deadline = Some(sent + interval);
                }
                batch.push(row);
                slots.push(slot);
                (batch.len() >= MAX_BATCH, None, false)
            }
            Next::Msg(Msg::Flush(ack)) => (true, Some(ack), false),
        };
        if write_now {
            write(&db, std::mem::take(&mut batch)).await;
            // Committed (or given up on): their room is free again.
            slots.clear();
            full.store(false, Ordering::Relaxed);
            deadline = None;
        }
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
        if last {
            return;
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
        crate::server::log::line(format_args!(
            "{} spend log rows could not be written: {e}",
            rows.len()
        ));
    }
}

/// `INSERT … VALUES (…), (…) … RETURNING` for `n` rows.
fn insert_sql(db: &Db, n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO switchboard_spend_logs (request_id, key_hash, model_group, deployment, \
         prompt_tokens, completion_tokens, total_tokens, cost, latency_ms, status, created_at) VALUES ",
    );
    for row in 0..n {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&db.param(row * COLUMNS + col + 1));
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (request_id) DO NOTHING RETURNING key_hash, cost");
    sql
}

/// `UPDATE switchboard_keys SET spend = spend + CASE key_hash WHEN key
/// THEN cost … END WHERE key_hash IN (key, …)` for `n` keys: binds each
/// key and cost, then each key again.
fn charge_sql(db: &Db, n: usize) -> String {
    let cases: String = (0..n)
        .map(|i| format!(" WHEN {} THEN {}", db.param(2 * i + 1), db.param(2 * i + 2)))
        .collect();
    let keys: Vec<String> = (0..n).map(|i| db.param(2 * n + i + 1)).collect();
    format!(
        "UPDATE switchboard_keys SET spend = spend + CASE key_hash{cases} ELSE 0 END \
         WHERE key_hash IN ({})",
        keys.join(", ")
    )
}

/// One transaction: the rows (one statement per [`MAX_BATCH`]), and what
/// the rows inserted now add to their keys' spend (a row already there,
/// from a batch retried after its commit, adds nothing).
async fn insert(db: &Db, rows: &[SpendRow]) -> Result<()> {
    let mut tx = db
        .pool()
        .begin()
        .await
        .map_err(|e| db_error("cannot start a spend batch", e))?;
    let mut added: HashMap<String, f64> = HashMap::new();
    for chunk in rows.chunks(MAX_BATCH) {
        // Built from the row count alone: placeholders, no value.
        let sql = sqlx::AssertSqlSafe(insert_sql(db, chunk.len()));
        let mut q = sqlx::query(sql).persistent(false);
        for r in chunk {
            q = q
                .bind(r.request_id.as_str())
                .bind(r.key_hash.as_deref())
                .bind(r.model_group.as_str())
                .bind(r.deployment.as_str())
                .bind(r.prompt_tokens)
                .bind(r.completion_tokens)
                .bind(r.total_tokens)
                .bind(r.cost)
                .bind(r.latency_ms)
                .bind(r.status.as_str())
                .bind(r.created_at);
        }
        let inserted = q
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_error("cannot insert spend rows", e))?;
        for row in &inserted {
            let get = |e: sqlx::Error| db_error("an inserted spend row", e);
            let key: Option<String> = row.try_get("key_hash").map_err(get)?;
            let cost: f64 = row.try_get("cost").map_err(get)?;
            if let Some(key) = key
                && cost != 0.0
            {
                *added.entry(key).or_default() += cost;
            }
        }
    }
    if !added.is_empty() {
        // One statement for every key the batch charged.
        let sql = sqlx::AssertSqlSafe(charge_sql(db, added.len()));
        let mut q = sqlx::query(sql).persistent(false);
        for (key, cost) in &added {
            q = q.bind(key.as_str()).bind(*cost);
        }
        for key in added.keys() {
            q = q.bind(key.as_str());
        }
        q.execute(&mut *tx)
            .await
            .map_err(|e| db_error("cannot add to keys' spend", e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: usize, key: Option<&str>, cost: f64) -> SpendRow {
        SpendRow {
            request_id: format!("r{n}"),
            key_hash: key.map(str::to_string),
            model_group: "g".into(),
            deployment: "d".into(),
            prompt_tokens: 1,
            completion_tokens: 1,
            total_tokens: 2,
            cost,
            latency_ms: 1,
            status: "success".into(),
            created_at: n as i64,
        }
    }

    /// Far more rows than a batch, sent faster than they are written: a
    /// flush right after finds every one of them in the table, and every
    /// slot free again.
    #[tokio::test]
    async fn a_flush_after_a_burst_writes_every_row() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let n = 25 * MAX_BATCH + 7;
        let log = SpendLog::start(db.clone(), Duration::from_secs(60), n).unwrap();
        for i in 0..n {
            log.send(row(i, None, 0.0), log.slot().unwrap());
        }
        assert_eq!(log.held(), n);
        log.flush().await;
        assert_eq!(rows(&db, None, i64::MAX).await.unwrap().len(), n);
        assert_eq!(log.held(), 0);
    }

    /// A full backlog refuses the next call (503 with Retry-After) instead
    /// of dropping a row; room comes back once rows are committed.
    #[tokio::test]
    async fn a_full_backlog_refuses_calls_until_rows_are_written() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let log = SpendLog::start(db.clone(), Duration::from_secs(3600), 3).unwrap();
        let slots: Vec<Slot> = (0..3).map(|_| log.slot().unwrap()).collect();
        let e = log.slot().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServiceUnavailable);
        assert!(e.retry_after().is_some());
        for (i, slot) in slots.into_iter().enumerate() {
            log.send(row(i, None, 0.0), slot);
        }
        log.flush().await;
        assert!(log.slot().is_ok());
        assert_eq!(rows(&db, None, 10).await.unwrap().len(), 3);
    }

    /// A batch inserted twice (a retry after its commit) adds its rows and
    /// its keys' spend once.
    #[tokio::test]
    async fn a_batch_written_twice_charges_once() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        sqlx::query(
            "INSERT INTO switchboard_keys (key_hash, key_name, models, metadata, spend, created_at)
             VALUES ('k', 'sk-...k', '[]', '{}', 0.5, 0)",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let batch: Vec<SpendRow> = (0..MAX_BATCH + 3)
            .map(|i| row(i, (i % 2 == 0).then_some("k"), 0.25))
            .collect();
        insert(&db, &batch).await.unwrap();
        insert(&db, &batch).await.unwrap();
        assert_eq!(rows(&db, None, i64::MAX).await.unwrap().len(), batch.len());
        let spend: f64 =
            sqlx::query_scalar("SELECT spend FROM switchboard_keys WHERE key_hash = 'k'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        let charged = batch.iter().filter(|r| r.key_hash.is_some()).count() as f64 * 0.25;
        assert_eq!(spend, 0.5 + charged);
    }
}
