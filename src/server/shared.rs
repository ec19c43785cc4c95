//! State several proxy instances share through one Redis (`[server]
//! redis-url`), so a fleet behind a load balancer enforces one limit:
//!
//! - a virtual key's requests and tokens per fixed one-minute window:
//!   `<prefix>rl:<token>:<minute>:rpm` and `…:tpm` (INCRBY + EXPIRE);
//! - a virtual key's running spend for its budget: `<prefix>spend:<token>`
//!   (INCRBYFLOAT), or `…spend:<token>:<first period start>:<period>` for a
//!   budget per period, seeded from the database when first used;
//! - the Router's cooldowns: `<prefix>cool:<deployment id>`, set with PX
//!   equal to the cooldown (see [`SharedCooldowns`]).
//!
//! Key checks fail closed (Redis unreachable: 503, nothing is let through
//! unchecked); cooldowns fail open (the local view goes on).

use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::MultiplexedConnection;

use super::db::now_ms;
use super::error::ApiError;
use super::keys::{KeyRecord, KeyState};
use crate::error::{Error, ErrorKind, Result};
use crate::router::SharedCooldowns;

/// The prefix of every key, unless the caller names another.
pub(crate) const DEFAULT_PREFIX: &str = "sb:";

/// Counters outlive their minute by this much, then Redis drops them.
const WINDOW_TTL_SECS: i64 = 120;

/// One Redis connection (multiplexed, cheap to clone) and a key prefix.
#[derive(Clone)]
pub(crate) struct Shared {
    conn: MultiplexedConnection,
    prefix: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn redis_error(doing: &str, e: redis::RedisError) -> Error {
    Error::new(
        ErrorKind::ServiceUnavailable,
        format!("shared state (Redis): cannot {doing}: {e}"),
    )
}

impl Shared {
    /// Connects to `url` (`redis://host:port/db`); every key starts with `prefix`.
    pub(crate) async fn connect(url: &str, prefix: &str) -> Result<Shared> {
        let client = redis::Client::open(url).map_err(|e| redis_error("parse the URL", e))?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| redis_error("connect", e))?;
        Ok(Shared {
            conn,
            prefix: prefix.to_string(),
        })
    }

    /// Where a key's spend against its budget is counted: one counter for
    /// the key's life, or one per budget period (which Redis drops a
    /// minute after the period ends), with how long it should live.
    pub(crate) fn spend_key(&self, r: &KeyRecord, now: i64) -> (String, Option<i64>) {
        match r.period(now) {
            None => (format!("{}spend:{}", self.prefix, r.token), None),
            Some(p) => (
                format!(
                    "{}spend:{}:{}:{}",
                    self.prefix,
                    r.token,
                    r.budget_started_at.unwrap_or(r.created_at),
                    p.index
                ),
                Some(p.end - now + 60_000),
            ),
        }
    }

    fn window_key(&self, token: &str, minute: i64, what: &str) -> String {
        format!("{}rl:{token}:{minute}:{what}", self.prefix)
    }

    fn cool_key(&self, id: &str) -> String {
        format!("{}cool:{id}", self.prefix)
    }

    /// The fleet-wide version of [`KeyState::admit`]: the key's own checks,
    /// then its budget against the shared spend, its tpm against the shared
    /// token count and its rpm against the shared request count (an
    /// admitted call counts).
    pub(crate) async fn admit(
        &self,
        key: &KeyState,
        model: &str,
    ) -> std::result::Result<(), ApiError> {
        let r = key.record();
        key.allowed(&r, model)?;
        let now = now_ms();
        let minute = now / 60_000;
        let until_next = Duration::from_millis((60_000 - now % 60_000) as u64);
        let mut conn = self.conn.clone();
        let (spend_key, ttl_ms) = self.spend_key(&r, now);
        let local = key.budget_spend(&r);
        let mut seed = redis::cmd("SET");
        seed.arg(&spend_key).arg(local).arg("NX");
        if let Some(ms) = ttl_ms {
            seed.arg("PX").arg(ms.max(1));
        }
        let (_, spend, tokens): (Option<String>, Option<f64>, Option<i64>) = redis::pipe()
            .add_command(seed)
            .cmd("GET")
            .arg(&spend_key)
            .cmd("GET")
            .arg(self.window_key(&r.token, minute, "tpm"))
            .query_async(&mut conn)
            .await
            .map_err(|e| ApiError::from(redis_error("read the key's spend", e)))?;
        super::keys::check_budget(&r, spend.unwrap_or(local))?;
        let tokens = tokens.unwrap_or(0).max(0) as u64;
        if let Some(tpm) = r.tpm_limit
            && tokens >= tpm.max(0) as u64
        {
            return Err(super::keys::limited(
                format!(
                    "tpm limit reached: this API key used {tokens} tokens this minute across the proxies (limit {tpm})"
                ),
                Some(until_next),
            ));
        }
        let Some(rpm) = r.rpm_limit else {
            return Ok(());
        };
        let rpm_key = self.window_key(&r.token, minute, "rpm");
        let (made,): (i64,) = redis::pipe()
            .cmd("INCR")
            .arg(&rpm_key)
            .cmd("EXPIRE")
            .arg(&rpm_key)
            .arg(WINDOW_TTL_SECS)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| ApiError::from(redis_error("count the request", e)))?;
        if made > rpm.max(0) {
            return Err(super::keys::limited(
                format!(
                    "rpm limit reached: this API key made {} requests this minute across the proxies (limit {rpm})",
                    made - 1
                ),
                Some(until_next),
            ));
        }
        Ok(())
    }

    /// Adds a finished call's tokens and cost to the shared counters: the
    /// commands are made now, from the key as it is; they are sent when the
    /// returned future runs.
    pub(crate) fn charge(
        &self,
        key: &KeyRecord,
        tokens: u64,
        cost: f64,
    ) -> impl std::future::Future<Output = ()> + Send + use<> {
        let now = now_ms();
        let mut pipe = redis::pipe();
        if cost != 0.0 {
            let (spend_key, ttl_ms) = self.spend_key(key, now);
            pipe.cmd("INCRBYFLOAT").arg(&spend_key).arg(cost).ignore();
            if let Some(ms) = ttl_ms {
                pipe.cmd("PEXPIRE").arg(&spend_key).arg(ms.max(1)).ignore();
            }
        }
        if tokens > 0 {
            let key = self.window_key(&key.token, now / 60_000, "tpm");
            pipe.cmd("INCRBY")
                .arg(&key)
                .arg(tokens)
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(WINDOW_TTL_SECS)
                .ignore();
        }
        let mut conn = self.conn.clone();
        async move {
            // Best effort: the spend log in the database stays the record.
            let _: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        }
    }
}

impl SharedCooldowns for Shared {
    fn cooling<'a>(&'a self, ids: &'a [&'a str]) -> BoxFuture<'a, Vec<Option<Duration>>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            for id in ids {
                pipe.cmd("PTTL").arg(self.cool_key(id));
            }
            let mut conn = self.conn.clone();
            let left: Vec<i64> = pipe.query_async(&mut conn).await.unwrap_or_default();
            let mut left: Vec<Option<Duration>> = left
                .into_iter()
                .map(|ms| (ms > 0).then(|| Duration::from_millis(ms as u64)))
                .collect();
            left.resize(ids.len(), None);
            left
        })
    }

    fn cool_down<'a>(&'a self, id: &'a str, left: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let ms = left.as_millis().clamp(1, u64::MAX as u128) as u64;
            let mut conn = self.conn.clone();
            let _: redis::RedisResult<()> = redis::cmd("SET")
                .arg(self.cool_key(id))
                .arg(1)
                .arg("PX")
                .arg(ms)
                .query_async(&mut conn)
                .await;
        })
    }
}
