//! The fleet's shared state, through one Redis (`[server] redis-url`), so
//! several proxy instances behind a load balancer enforce one limit:
//!
//! - a virtual key's counters (see `counters.rs`), one Redis key each,
//!   `<prefix>{<token>}:<counter>` (the braces keep a key's counters in
//!   one Redis Cluster slot), changed only by [`SCRIPT`]: the same
//!   seed-check-add plan the in-process counters run, atomically, so two
//!   instances can never both take a budget's or a window's last slot;
//! - the Router's cooldowns: `<prefix>cool:<deployment id>`, set with PX
//!   equal to the cooldown (see [`SharedCooldowns`]).
//!
//! Limits fail closed (Redis unreachable: 503, nothing is let through
//! unchecked); cooldowns fail open (the local view goes on). Knows no key
//! record and no policy: only how a plan runs here.

use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::MultiplexedConnection;

use super::counters::{Outcome, Plan};
use crate::error::{Error, ErrorKind, Result};
use crate::router::SharedCooldowns;

/// The prefix of every key, unless the caller names another.
pub(crate) const DEFAULT_PREFIX: &str = "sb:";

/// A plan run atomically, as [`Counters::run`](super::counters::Counters::run)
/// runs it. KEYS: its terms' counters. ARGV, flattened: per term its seed
/// (`''`: none) and ttl (ms, 0: none); the number of checks, per check its
/// limit, need, how many terms it reads and their (1-based) numbers, how
/// many idle terms and their numbers; the number of adds, per add its
/// term, amount and `1` when it adds only to a counter that exists. Returns each term's value before
/// the adds (`''`: absent), then the number of the check that failed (0:
/// none, and then every add was made).
pub(crate) const SCRIPT: &str = r"
local EMPTY = 1e-9
local n = #KEYS
local a = 1
local function take() local v = ARGV[a]; a = a + 1; return v end
local ttl = {}
for i = 1, n do
  local seed = take()
  ttl[i] = tonumber(take())
  if seed ~= '' then
    if ttl[i] > 0 then
      redis.call('SET', KEYS[i], seed, 'NX', 'PX', ttl[i])
    else
      redis.call('SET', KEYS[i], seed, 'NX')
    end
  end
end
local raw, value = {}, {}
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if v then raw[i] = v; value[i] = tonumber(v) or 0 else raw[i] = ''; value[i] = 0 end
end
local refused = 0
for c = 1, tonumber(take()) do
  local limit, need = tonumber(take()), tonumber(take())
  local used, idle = 0, true
  for r = 1, tonumber(take()) do used = used + value[tonumber(take())] end
  for r = 1, tonumber(take()) do
    if value[tonumber(take())] > EMPTY then idle = false end
  end
  local passes = used + need <= limit or (idle and used < limit)
  if refused == 0 and not passes then refused = c end
end
if refused == 0 then
  for d = 1, tonumber(take()) do
    local i = tonumber(take())
    local amount = take()
    local only_existing = take() == '1'
    if not only_existing or redis.call('EXISTS', KEYS[i]) == 1 then
      redis.call('INCRBYFLOAT', KEYS[i], amount)
      if ttl[i] > 0 then redis.call('PEXPIRE', KEYS[i], ttl[i]) end
    end
  end
end
raw[n + 1] = tostring(refused)
return raw
";

/// One Redis connection (multiplexed, cheap to clone), a key prefix and
/// the loaded script's digest.
#[derive(Clone)]
pub(crate) struct Shared {
    conn: MultiplexedConnection,
    prefix: String,
    sha: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn redis_error(doing: &str, e: redis::RedisError) -> Error {
    let e = e.to_string();
    Error::new(
        ErrorKind::ServiceUnavailable,
        format!(
            "shared state (Redis): cannot {doing}: {}",
            crate::redact::redact_credentials(&e)
        ),
    )
}

impl Shared {
    /// Connects to `url` (`redis://host:port/db`) and loads the script;
    /// every key starts with `prefix`.
    pub(crate) async fn connect(url: &str, prefix: &str) -> Result<Shared> {
        let client = redis::Client::open(url).map_err(|e| redis_error("parse the URL", e))?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| redis_error("connect", e))?;
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(SCRIPT)
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_error("load the limits script", e))?;
        Ok(Shared {
            conn,
            prefix: prefix.to_string(),
            sha,
        })
    }

    /// Runs `plan` on the counters of the key `token`. The command is made
    /// now; it is sent when the returned future runs.
    pub(crate) fn run(
        &self,
        token: &str,
        plan: &Plan,
    ) -> impl Future<Output = Result<Outcome>> + Send + use<> {
        let keys: Vec<String> = plan
            .terms
            .iter()
            .map(|t| format!("{}{{{token}}}:{}", self.prefix, t.counter.name()))
            .collect();
        let mut argv: Vec<String> = Vec::with_capacity(2 * keys.len() + 8);
        for t in &plan.terms {
            argv.push(t.seed.map_or_else(String::new, |s| s.to_string()));
            argv.push(t.ttl_ms.unwrap_or(0).max(0).to_string());
        }
        argv.push(plan.checks.len().to_string());
        for c in &plan.checks {
            argv.push(c.limit.to_string());
            argv.push(c.need.to_string());
            argv.push(c.reads.len().to_string());
            argv.extend(c.reads.iter().map(|i| (i + 1).to_string()));
            argv.push(c.idle.len().to_string());
            argv.extend(c.idle.iter().map(|i| (i + 1).to_string()));
        }
        argv.push(plan.adds.len().to_string());
        for d in &plan.adds {
            argv.push((d.term + 1).to_string());
            argv.push(d.amount.to_string());
            argv.push(if d.only_existing { "1" } else { "0" }.into());
        }
        let terms = plan.terms.len();
        let (mut conn, sha) = (self.conn.clone(), self.sha.clone());
        async move {
            let mut call = redis::cmd("EVALSHA");
            call.arg(&sha).arg(keys.len()).arg(&keys).arg(&argv);
            let reply: redis::RedisResult<Vec<String>> = call.query_async(&mut conn).await;
            let reply = match reply {
                // Redis restarted (or its scripts were flushed): send it whole.
                Err(e) if e.code() == Some("NOSCRIPT") => {
                    let mut call = redis::cmd("EVAL");
                    call.arg(SCRIPT).arg(keys.len()).arg(&keys).arg(&argv);
                    call.query_async(&mut conn).await
                }
                other => other,
            }
            .map_err(|e| redis_error("run the limits script", e))?;
            outcome(reply, terms)
        }
    }

    fn cool_key(&self, id: &str) -> String {
        format!("{}cool:{id}", self.prefix)
    }
}

/// The script's reply as an [`Outcome`].
fn outcome(reply: Vec<String>, terms: usize) -> Result<Outcome> {
    let malformed = || {
        Error::new(
            ErrorKind::ServiceUnavailable,
            "shared state (Redis): the limits script answered in an unknown shape",
        )
    };
    if reply.len() != terms + 1 {
        return Err(malformed());
    }
    let values = reply[..terms]
        .iter()
        .map(|v| v.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    let refused: usize = reply[terms].parse().map_err(|_| malformed())?;
    Ok(Outcome {
        values,
        refused: refused.checked_sub(1),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_maps_to_values_and_the_failed_check() {
        let got = outcome(vec!["1.5".into(), "".into(), "2".into()], 2).unwrap();
        assert_eq!(got.values, vec![Some(1.5), None]);
        assert_eq!(got.refused, Some(1));
        let got = outcome(vec!["".into(), "0".into()], 1).unwrap();
        assert_eq!(got.refused, None);
        assert!(outcome(vec!["0".into()], 1).is_err());
        assert!(outcome(vec!["1".into(), "x".into()], 1).is_err());
    }
}
