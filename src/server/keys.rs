//! Virtual keys: API keys the master key hands out through the admin API,
//! each with its own allowed models, budget in USD (for the key's life, or
//! per period: `budget_duration = "30d"` resets what counts against the
//! budget every 30 days), rpm and tpm limits, expiry and metadata. Only a key's SHA-256 digest is stored; a presented
//! key is hashed and its digest compared in constant time.
//!
//! Keys live in the database; the ones in use are cached here with their
//! running spend (ahead of the spend log's batched writes, so a budget is
//! enforced at once) and their request and token windows for rpm and tpm
//! (in-process: one server's view; with `[server] redis-url`, budgets and
//! rate windows are the fleet's, see `shared.rs`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::db::{Db, db_error, now_ms};
use super::error::ApiError;
use crate::error::{Error, ErrorKind, Result};

/// The stored columns of a key, in the order `generate` binds them.
macro_rules! columns {
    () => {
        "key_hash, key_name, key_alias, models, max_budget, rpm_limit, tpm_limit, \
         expires_at, metadata, spend, created_at, budget_duration, budget_started_at"
    };
}

/// The window rpm and tpm limits count over.
const WINDOW: Duration = Duration::from_secs(60);

/// A virtual key as stored and reported (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct KeyRecord {
    /// The key's SHA-256 digest, hex: how the admin API names it.
    pub token: String,
    /// The key with its middle masked (`sk-…ab12`), for display.
    pub key_name: String,
    pub key_alias: Option<String>,
    /// Model groups the key may call; empty: all of them.
    pub models: Vec<String>,
    pub max_budget: Option<f64>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    /// Unix milliseconds after which the key is refused.
    pub expires_at: Option<i64>,
    pub metadata: Value,
    /// USD spent so far, over the key's life.
    pub spend: f64,
    pub created_at: i64,
    /// The budget's period (`30s`, `15m`, `12h`, `7d`): `max_budget` caps
    /// each period's spend. None: it caps `spend`.
    pub budget_duration: Option<String>,
    /// Unix milliseconds the first period began; periods follow back to back.
    pub budget_started_at: Option<i64>,
    /// Reported: when the current period ends (Unix milliseconds).
    pub budget_reset_at: Option<i64>,
    /// Reported: USD spent in the current period.
    pub budget_spend: Option<f64>,
}

/// A periodic budget's current period: its number and end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Period {
    pub index: i64,
    pub start: i64,
    pub end: i64,
}

impl KeyRecord {
    /// The budget period `now` falls in; None without a periodic budget.
    pub(crate) fn period(&self, now: i64) -> Option<Period> {
        let every = self
            .budget_duration
            .as_deref()
            .and_then(|d| parse_duration(d).ok())?
            .as_millis()
            .clamp(1, i64::MAX as u128) as i64;
        let first = self.budget_started_at.unwrap_or(self.created_at);
        let index = (now.saturating_sub(first)).max(0) / every;
        let start = first.saturating_add(index.saturating_mul(every));
        Some(Period {
            index,
            start,
            end: start.saturating_add(every),
        })
    }
}

/// The fields of `/key/generate` and `/key/update`; absent ones are kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyFields {
    /// The key to update (update only): the key itself or its token.
    #[serde(default)]
    pub key: Option<String>,
    pub key_alias: Option<String>,
    pub models: Option<Vec<String>>,
    pub max_budget: Option<f64>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    /// Lifetime from now: `30s`, `15m`, `12h`, `7d`.
    pub duration: Option<String>,
    /// Absolute expiry, Unix milliseconds.
    pub expires_at: Option<i64>,
    pub metadata: Option<Value>,
    /// The budget's period (`30d`…); empty: the budget is for the key's life.
    pub budget_duration: Option<String>,
}

/// The virtual key a request came with (a request extension).
#[derive(Clone, Debug)]
pub(crate) struct Caller(pub(crate) Arc<KeyState>);

/// A key in use: its record, its rate windows and its current budget
/// period's spend.
#[derive(Debug)]
pub(crate) struct KeyState {
    record: Mutex<KeyRecord>,
    window: Mutex<Window>,
    /// (period index, USD spent in it) of a periodic budget.
    period: Mutex<(i64, f64)>,
}

/// Requests and tokens of the last minute.
#[derive(Debug, Default)]
struct Window {
    requests: VecDeque<Instant>,
    tokens: VecDeque<(Instant, u64)>,
}

impl Window {
    fn trim(&mut self, now: Instant) {
        while self
            .requests
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            self.requests.pop_front();
        }
        while self
            .tokens
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= WINDOW)
        {
            self.tokens.pop_front();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KeyState {
    /// A key whose current budget period has `period_spend` spent in it.
    fn new(record: KeyRecord, period_spend: f64) -> Self {
        let index = record.period(now_ms()).map_or(0, |p| p.index);
        KeyState {
            record: Mutex::new(record),
            window: Mutex::new(Window::default()),
            period: Mutex::new((index, period_spend)),
        }
    }

    /// The record, with the current budget period's end and spend filled in.
    pub(crate) fn record(&self) -> KeyRecord {
        let mut r = lock(&self.record).clone();
        let period = r.period(now_ms());
        r.budget_reset_at = period.map(|p| p.end);
        r.budget_spend = period.map(|p| self.spent_in(p));
        r
    }

    /// `f` of the stored record, without copying it.
    pub(crate) fn with_record<T>(&self, f: impl FnOnce(&KeyRecord) -> T) -> T {
        f(&lock(&self.record))
    }

    /// USD spent in period `p` (nothing yet when `p` has just begun).
    fn spent_in(&self, p: Period) -> f64 {
        let (index, spend) = *lock(&self.period);
        if index == p.index { spend } else { 0.0 }
    }

    /// What counts against the budget now: the current period's spend, or
    /// the key's whole spend.
    pub(crate) fn budget_spend(&self, r: &KeyRecord) -> f64 {
        match r.period(now_ms()) {
            Some(p) => self.spent_in(p),
            None => r.spend,
        }
    }

    pub(crate) fn token(&self) -> String {
        lock(&self.record).token.clone()
    }

    /// Lets one call to `model` through, or says why not: expired (401),
    /// model not allowed (403), over budget (400), over rpm or tpm (429
    /// with the seconds until the window frees a slot). An admitted call
    /// counts against the rpm limit.
    pub(crate) fn admit(&self, model: &str) -> std::result::Result<(), ApiError> {
        let r = self.record();
        self.allowed(&r, model)?;
        check_budget(&r, self.budget_spend(&r))?;
        let now = Instant::now();
        let mut w = lock(&self.window);
        w.trim(now);
        if let Some(tpm) = r.tpm_limit {
            let used: u64 = w.tokens.iter().map(|(_, n)| n).sum();
            if used >= tpm.max(0) as u64 {
                let after = w
                    .tokens
                    .front()
                    .map(|(t, _)| WINDOW - now.duration_since(*t));
                return Err(limited(
                    format!(
                        "tpm limit reached: this API key used {used} tokens in the last minute (limit {tpm})"
                    ),
                    after,
                ));
            }
        }
        if let Some(rpm) = r.rpm_limit
            && w.requests.len() as u64 >= rpm.max(0) as u64
        {
            let after = w.requests.front().map(|t| WINDOW - now.duration_since(*t));
            return Err(limited(
                format!(
                    "rpm limit reached: this API key made {} requests in the last minute (limit {rpm})",
                    w.requests.len()
                ),
                after,
            ));
        }
        w.requests.push_back(now);
        Ok(())
    }

    /// 401 once the key has expired (every API route asks).
    pub(crate) fn check_expiry(&self) -> std::result::Result<(), ApiError> {
        self.with_record(check_expiry)
    }

    /// The checks that need no counter: expired (401), model not allowed (403).
    pub(crate) fn allowed(&self, r: &KeyRecord, model: &str) -> std::result::Result<(), ApiError> {
        check_expiry(r)?;
        if !r.allows(model) {
            return Err(ApiError::from(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "this API key may not call model {model:?}; allowed models: {}",
                    r.models.join(", ")
                ),
            ))
            .with_code("model_not_allowed"));
        }
        Ok(())
    }

    /// Counts a finished call's tokens and cost.
    pub(crate) fn charge(&self, tokens: u64, cost: f64) {
        let period = {
            let mut r = lock(&self.record);
            r.spend += cost;
            r.period(now_ms())
        };
        if let Some(p) = period {
            let mut current = lock(&self.period);
            if current.0 != p.index {
                *current = (p.index, 0.0);
            }
            current.1 += cost;
        }
        if tokens > 0 {
            lock(&self.window)
                .tokens
                .push_back((Instant::now(), tokens));
        }
    }
}

impl KeyRecord {
    /// Whether this key may call (and see) model group `model`; a key with
    /// no model list may use every group.
    pub(crate) fn allows(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|m| m == model || m == "*")
    }
}

fn check_expiry(r: &KeyRecord) -> std::result::Result<(), ApiError> {
    match r.expires_at {
        Some(at) if now_ms() >= at => Err(ApiError::from(Error::new(
            ErrorKind::Authentication,
            format!("this API key ({}) has expired", r.key_name),
        ))
        .with_code("key_expired")),
        _ => Ok(()),
    }
}

/// Over budget (400) when `spent` reached the key's max budget (for the
/// current period, when the budget has one).
pub(crate) fn check_budget(r: &KeyRecord, spent: f64) -> std::result::Result<(), ApiError> {
    let Some(budget) = r.max_budget.filter(|b| spent >= *b) else {
        return Ok(());
    };
    let mut message = format!(
        "budget exceeded: this API key has spent ${spent:.6} of its max budget of ${budget:.6}"
    );
    let now = now_ms();
    if let (Some(p), Some(every)) = (r.period(now), &r.budget_duration) {
        let secs = ((p.end - now).max(0) + 999) / 1000;
        message.push_str(&format!(
            " for this {every} period; the budget resets in {secs} s"
        ));
    }
    Err(ApiError::invalid(message, None).with_code("budget_exceeded"))
}

pub(crate) fn limited(message: String, after: Option<Duration>) -> ApiError {
    let after = after.unwrap_or(WINDOW).max(Duration::from_secs(1));
    ApiError::from(Error::new(ErrorKind::RateLimit, message).with_retry_after(Some(after)))
        .with_code("rate_limit_exceeded")
}

/// The stored keys, and a cache of the ones in use.
#[derive(Debug)]
pub(crate) struct KeyStore {
    db: Db,
    cache: Mutex<HashMap<String, Arc<KeyState>>>,
}

impl KeyStore {
    pub(crate) fn new(db: Db) -> Self {
        KeyStore {
            db,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The key a client presented, if it is a live virtual key.
    pub(crate) async fn authenticate(&self, presented: &str) -> Result<Option<Arc<KeyState>>> {
        let digest = hash_key(presented);
        let Some(state) = self.find(&digest).await? else {
            return Ok(None);
        };
        let stored = state.token();
        Ok(same_digest(stored.as_bytes(), digest.as_bytes()).then_some(state))
    }

    /// A key by its token (or by the key itself).
    pub(crate) async fn find(&self, key_or_token: &str) -> Result<Option<Arc<KeyState>>> {
        let token = token_of(key_or_token);
        if let Some(s) = lock(&self.cache).get(&token) {
            return Ok(Some(s.clone()));
        }
        let Some(record) = self.load(&token).await? else {
            return Ok(None);
        };
        let period_spend = match record.period(now_ms()) {
            Some(p) => self.spent_since(&token, p.start).await?,
            None => 0.0,
        };
        let mut cache = lock(&self.cache);
        let state = cache
            .entry(token)
            .or_insert_with(|| Arc::new(KeyState::new(record, period_spend)));
        Ok(Some(state.clone()))
    }

    /// What the spend log holds of a key's spend since `start` (ms).
    async fn spent_since(&self, token: &str, start: i64) -> Result<f64> {
        sqlx::query_scalar(
            "SELECT COALESCE(SUM(cost), 0.0) FROM switchboard_spend_logs
             WHERE key_hash = $1 AND created_at >= $2",
        )
        .bind(token)
        .bind(start)
        .fetch_one(self.db.pool())
        .await
        .map_err(|e| db_error("cannot sum a key's spend", e))
    }

    async fn load(&self, token: &str) -> Result<Option<KeyRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM switchboard_keys WHERE key_hash = $1"
        ))
        .bind(token)
        .fetch_optional(self.db.pool())
        .await
        .map_err(|e| db_error("cannot read a key", e))?;
        row.as_ref().map(record_of).transpose()
    }

    /// Creates a key; returns it (shown once) and its record.
    pub(crate) async fn generate(&self, fields: KeyFields) -> Result<(String, KeyRecord)> {
        if fields.key.is_some() {
            return Err(Error::bad_request(
                "key is chosen by the server: leave it out of /key/generate",
            ));
        }
        let key = new_key()?;
        let mut record = KeyRecord {
            token: hash_key(&key),
            key_name: mask(&key),
            key_alias: None,
            models: Vec::new(),
            max_budget: None,
            rpm_limit: None,
            tpm_limit: None,
            expires_at: None,
            metadata: Value::Object(Default::default()),
            spend: 0.0,
            created_at: now_ms(),
            budget_duration: None,
            budget_started_at: None,
            budget_reset_at: None,
            budget_spend: None,
        };
        apply(&mut record, fields)?;
        sqlx::query(concat!(
            "INSERT INTO switchboard_keys (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(record.token.clone())
        .bind(record.key_name.clone())
        .bind(record.key_alias.clone())
        .bind(json_text(&record.models))
        .bind(record.max_budget)
        .bind(record.rpm_limit)
        .bind(record.tpm_limit)
        .bind(record.expires_at)
        .bind(record.metadata.to_string())
        .bind(record.spend)
        .bind(record.created_at)
        .bind(record.budget_duration.clone())
        .bind(record.budget_started_at)
        .execute(self.db.pool())
        .await
        .map_err(|e| db_error("cannot store a key", e))?;
        Ok((key, record))
    }

    /// Changes the fields given; None when there is no such key.
    pub(crate) async fn update(&self, fields: KeyFields) -> Result<Option<KeyRecord>> {
        let Some(id) = fields.key.clone() else {
            return Err(Error::bad_request(
                "key is required: the key to update, or its token",
            ));
        };
        let Some(state) = self.find(&id).await? else {
            return Ok(None);
        };
        let mut record = state.record();
        let started_before = record.budget_started_at;
        apply(&mut record, fields)?;
        // `apply` starts the first period anew whenever the period changes.
        let new_period = record.budget_started_at != started_before;
        sqlx::query(
            "UPDATE switchboard_keys SET key_alias = $1, models = $2, max_budget = $3, rpm_limit = $4,
             tpm_limit = $5, expires_at = $6, metadata = $7, budget_duration = $8,
             budget_started_at = $9 WHERE key_hash = $10",
        )
        .bind(record.key_alias.clone())
        .bind(json_text(&record.models))
        .bind(record.max_budget)
        .bind(record.rpm_limit)
        .bind(record.tpm_limit)
        .bind(record.expires_at)
        .bind(record.metadata.to_string())
        .bind(record.budget_duration.clone())
        .bind(record.budget_started_at)
        .bind(record.token.clone())
        .execute(self.db.pool())
        .await
        .map_err(|e| db_error("cannot update a key", e))?;
        if new_period {
            // A new period begins with nothing spent in it.
            *lock(&state.period) = (0, 0.0);
        }
        {
            let mut current = lock(&state.record);
            let spend = current.spend;
            *current = KeyRecord { spend, ..record };
        }
        Ok(Some(state.record()))
    }

    /// Revokes keys; returns the tokens of the ones that existed.
    pub(crate) async fn delete(&self, keys: &[String]) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for k in keys {
            let token = token_of(k);
            lock(&self.cache).remove(&token);
            let done = sqlx::query("DELETE FROM switchboard_keys WHERE key_hash = $1")
                .bind(token.clone())
                .execute(self.db.pool())
                .await
                .map_err(|e| db_error("cannot delete a key", e))?;
            if done.rows_affected() > 0 {
                deleted.push(token);
            }
        }
        Ok(deleted)
    }

    /// Every key, oldest first (cached spend where newer than stored).
    pub(crate) async fn list(&self) -> Result<Vec<KeyRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM switchboard_keys ORDER BY created_at, key_hash"
        ))
        .fetch_all(self.db.pool())
        .await
        .map_err(|e| db_error("cannot list keys", e))?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let r = record_of(row)?;
            let cached = lock(&self.cache).get(&r.token).cloned();
            keys.push(match cached {
                Some(s) => s.record(),
                None => self.reported(r).await?,
            });
        }
        Ok(keys)
    }

    /// A stored key not in use, with its budget period filled in.
    async fn reported(&self, mut r: KeyRecord) -> Result<KeyRecord> {
        if let Some(p) = r.period(now_ms()) {
            r.budget_reset_at = Some(p.end);
            r.budget_spend = Some(self.spent_since(&r.token, p.start).await?);
        }
        Ok(r)
    }
}

fn record_of(row: &AnyRow) -> Result<KeyRecord> {
    let get = |e: sqlx::Error| db_error("a key row", e);
    let models: String = row.try_get("models").map_err(get)?;
    let metadata: String = row.try_get("metadata").map_err(get)?;
    Ok(KeyRecord {
        token: row.try_get("key_hash").map_err(get)?,
        key_name: row.try_get("key_name").map_err(get)?,
        key_alias: row.try_get("key_alias").map_err(get)?,
        models: serde_json::from_str(&models).unwrap_or_default(),
        max_budget: row.try_get("max_budget").map_err(get)?,
        rpm_limit: row.try_get("rpm_limit").map_err(get)?,
        tpm_limit: row.try_get("tpm_limit").map_err(get)?,
        expires_at: row.try_get("expires_at").map_err(get)?,
        metadata: serde_json::from_str(&metadata).unwrap_or(Value::Null),
        spend: row.try_get("spend").map_err(get)?,
        created_at: row.try_get("created_at").map_err(get)?,
        budget_duration: row.try_get("budget_duration").map_err(get)?,
        budget_started_at: row.try_get("budget_started_at").map_err(get)?,
        budget_reset_at: None,
        budget_spend: None,
    })
}

fn apply(r: &mut KeyRecord, f: KeyFields) -> Result<()> {
    if let Some(v) = f.key_alias {
        r.key_alias = Some(v);
    }
    if let Some(v) = f.models {
        r.models = v;
    }
    if let Some(v) = f.max_budget {
        if !v.is_finite() || v < 0.0 {
            return Err(Error::bad_request("max_budget must be a number ≥ 0"));
        }
        r.max_budget = Some(v);
    }
    for (name, value, slot) in [
        ("rpm_limit", f.rpm_limit, &mut r.rpm_limit),
        ("tpm_limit", f.tpm_limit, &mut r.tpm_limit),
    ] {
        if let Some(v) = value {
            if v < 0 {
                return Err(Error::bad_request(format!("{name} must be ≥ 0")));
            }
            *slot = Some(v);
        }
    }
    if let Some(d) = f.duration {
        r.expires_at = Some(now_ms() + parse_duration(&d)?.as_millis() as i64);
    }
    if let Some(at) = f.expires_at {
        r.expires_at = Some(at);
    }
    if let Some(m) = f.metadata {
        if !m.is_object() {
            return Err(Error::bad_request("metadata must be a JSON object"));
        }
        r.metadata = m;
    }
    if let Some(d) = f.budget_duration {
        let d = d.trim();
        if d.is_empty() {
            r.budget_duration = None;
            r.budget_started_at = None;
        } else {
            match parse_duration(d) {
                Ok(every) if every.as_secs() > 0 => {}
                Ok(_) => return Err(Error::bad_request("budget_duration must be at least 1s")),
                Err(e) => {
                    return Err(Error::bad_request(format!(
                        "budget_duration: {}",
                        e.message()
                    )));
                }
            }
            // The first period begins now, also when the period changes.
            if r.budget_duration.as_deref() != Some(d) {
                r.budget_started_at = Some(now_ms());
            }
            r.budget_duration = Some(d.to_string());
        }
    }
    Ok(())
}

/// `30s`, `15m`, `12h`, `7d`.
fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let split = t.len().saturating_sub(1);
    let (n, unit) = t.split_at(split);
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => 0,
    };
    match n.parse::<u64>() {
        Ok(n) if secs > 0 => Ok(Duration::from_secs(n.saturating_mul(secs))),
        _ => Err(Error::bad_request(format!(
            "duration {text:?} is not a number followed by s, m, h or d"
        ))),
    }
}

fn json_text(models: &[String]) -> String {
    serde_json::to_string(models).unwrap_or_else(|_| "[]".into())
}

/// A key's stored name: the hex SHA-256 of the key.
pub(crate) fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A token passes as is; anything else is a key to hash.
pub(crate) fn token_of(key_or_token: &str) -> String {
    let t = key_or_token.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        t.to_ascii_lowercase()
    } else {
        hash_key(t)
    }
}

/// Equal-length digests compared without an early exit.
fn same_digest(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// `sk-` and 48 random hex digits.
fn new_key() -> Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("no randomness for a key: {e}")))?;
    Ok(format!("sk-{}", hex::encode(bytes)))
}

fn mask(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("sk-...{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_unit() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("7w").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn budget_periods_follow_back_to_back_from_their_start() {
        let mut r = KeyRecord {
            token: String::new(),
            key_name: String::new(),
            key_alias: None,
            models: Vec::new(),
            max_budget: Some(1.0),
            rpm_limit: None,
            tpm_limit: None,
            expires_at: None,
            metadata: Value::Null,
            spend: 0.0,
            created_at: 500,
            budget_duration: None,
            budget_started_at: None,
            budget_reset_at: None,
            budget_spend: None,
        };
        assert_eq!(r.period(10_000), None);
        r.budget_duration = Some("10s".into());
        // Without a start of its own, the first period starts with the key.
        let p = r.period(10_499).unwrap();
        assert_eq!((p.index, p.start, p.end), (0, 500, 10_500));
        r.budget_started_at = Some(1_000);
        let p = r.period(31_000).unwrap();
        assert_eq!((p.index, p.start, p.end), (3, 31_000, 41_000));
        let p = r.period(40_999).unwrap();
        assert_eq!(p.index, 3);
        // A clock behind the start counts as the first period.
        assert_eq!(r.period(0).unwrap().index, 0);
        let over = check_budget(&r, 1.0).unwrap_err();
        let text = serde_json::to_string(&over.body()).unwrap();
        assert!(text.contains("for this 10s period"), "{text}");
        assert!(check_budget(&r, 0.5).is_ok());
    }

    #[test]
    fn tokens_and_keys_name_the_same_record() {
        let key = "sk-abc";
        let token = hash_key(key);
        assert_eq!(token_of(key), token);
        assert_eq!(token_of(&token), token);
        assert!(same_digest(token.as_bytes(), hash_key(key).as_bytes()));
        assert!(!same_digest(
            token.as_bytes(),
            hash_key("sk-abd").as_bytes()
        ));
    }

    #[test]
    fn generated_keys_differ_and_are_masked() {
        let (a, b) = (new_key().unwrap(), new_key().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("sk-") && a.len() == 51);
        assert_eq!(mask("sk-0123456789"), "sk-...6789");
    }
}
