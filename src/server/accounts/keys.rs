//! The key store: virtual keys in the database (only their digests), and a
//! cache of the ones in use (a [`KeyState`] each, whose counters run ahead
//! of the spend log's batched writes). A presented key is hashed and its
//! digest compared in constant time. Reads the time from its [`WallClock`];
//! knows nothing of limits or HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::clock::WallClock;
use super::db::{Db, db_error};
use super::key::KeyState;
use super::record::{KeyFields, KeyRecord, hash_key, new_key, same_digest, token_of};
use crate::error::{Error, Result};

/// The stored columns of a key, in the order `generate` binds them.
macro_rules! columns {
    () => {
        "key_hash, key_name, key_alias, models, max_budget, rpm_limit, tpm_limit, \
         expires_at, metadata, spend, created_at, budget_duration, budget_started_at, \
         max_parallel_requests"
    };
}

/// The stored keys, and a cache of the ones in use.
#[derive(Debug)]
pub(crate) struct KeyStore {
    db: Db,
    clock: WallClock,
    cache: Mutex<HashMap<String, Arc<KeyState>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KeyStore {
    pub(crate) fn new(db: Db, clock: WallClock) -> Self {
        KeyStore {
            db,
            clock,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn clock(&self) -> &WallClock {
        &self.clock
    }

    /// The key a client presented, if it is a live virtual key.
    pub(crate) async fn authenticate(&self, presented: &str) -> Result<Option<Arc<KeyState>>> {
        let digest = hash_key(presented);
        let Some(state) = self.find(&digest).await? else {
            return Ok(None);
        };
        let same = state.with_record(|r| same_digest(r.token.as_bytes(), digest.as_bytes()));
        Ok(same.then_some(state))
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
        let state = self.state_of(record).await?;
        let mut cache = lock(&self.cache);
        Ok(Some(cache.entry(token).or_insert(state).clone()))
    }

    /// A stored key as a [`KeyState`], its current period's spend read
    /// from the spend log (not cached: `find` caches).
    pub(crate) async fn state_of(&self, record: KeyRecord) -> Result<Arc<KeyState>> {
        let now = self.clock.now_ms();
        let period_spend = match record.period(now) {
            Some(p) => self.spent_since(&record.token, p.start).await?,
            None => 0.0,
        };
        Ok(Arc::new(KeyState::new(record, period_spend, now)))
    }

    /// The cached state of a key, if it is in use here.
    pub(crate) fn cached(&self, token: &str) -> Option<Arc<KeyState>> {
        lock(&self.cache).get(token).cloned()
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
        let now = self.clock.now_ms();
        let mut record = KeyRecord::new(&key, now);
        fields.apply(&mut record, now)?;
        sqlx::query(concat!(
            "INSERT INTO switchboard_keys (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
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
        .bind(record.max_parallel_requests)
        .execute(self.db.pool())
        .await
        .map_err(|e| db_error("cannot store a key", e))?;
        Ok((key, record))
    }

    /// Changes the fields given; None when there is no such key.
    pub(crate) async fn update(&self, fields: KeyFields) -> Result<Option<Arc<KeyState>>> {
        let Some(id) = fields.key.clone() else {
            return Err(Error::bad_request(
                "key is required: the key to update, or its token",
            ));
        };
        let Some(state) = self.find(&id).await? else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        let mut record = state.with_record(KeyRecord::clone);
        // A new period (its start moves) begins with nothing spent in it:
        // its counters are new ones.
        fields.apply(&mut record, now)?;
        sqlx::query(
            "UPDATE switchboard_keys SET key_alias = $1, models = $2, max_budget = $3, rpm_limit = $4,
             tpm_limit = $5, expires_at = $6, metadata = $7, budget_duration = $8,
             budget_started_at = $9, max_parallel_requests = $10 WHERE key_hash = $11",
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
        .bind(record.max_parallel_requests)
        .bind(record.token.clone())
        .execute(self.db.pool())
        .await
        .map_err(|e| db_error("cannot update a key", e))?;
        state.replace(record);
        Ok(Some(state))
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

    /// Every stored key, oldest first, as stored.
    pub(crate) async fn stored(&self) -> Result<Vec<KeyRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM switchboard_keys ORDER BY created_at, key_hash"
        ))
        .fetch_all(self.db.pool())
        .await
        .map_err(|e| db_error("cannot list keys", e))?;
        rows.iter().map(record_of).collect()
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
        max_parallel_requests: row.try_get("max_parallel_requests").map_err(get)?,
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

fn json_text(models: &[String]) -> String {
    serde_json::to_string(models).unwrap_or_else(|_| "[]".into())
}
