//! The accounts room: who may call and what it costs them. Virtual keys
//! (their records and the store that holds them), their limits (budget,
//! rpm, tpm: reserved before a call, settled after, in process or across a
//! fleet through Redis), and the spend log. [`Accounts`] is the room's one
//! door for the HTTP surface: authenticate a key, admit a call (its
//! [`Admission`], which the call's record settles when the call ends),
//! report a key's spend, flush the log.
//!
//! Imports point one way inside the room: `clock`, `record`, `counters` →
//! `db`, `redis`, `key` → `limits`, `keys`, `spend_log` → `store`,
//! `estimate`, `admission` → this file. Nothing here knows HTTP: failures are
//! [`Error`]s with a code, which the HTTP surface answers in the OpenAI
//! shape.

mod admission;
mod clock;
mod counters;
mod db;
mod estimate;
mod key;
mod keys;
mod limits;
mod record;
mod redis;
mod spend_log;
mod store;

use std::sync::Arc;

pub(crate) use admission::{Admission, Settlement};
pub use clock::WallClock;
pub(crate) use estimate::Call;
pub(crate) use key::{Caller, KeyState};
pub(crate) use record::{KeyFields, KeyRecord, fold_other_fields};
pub(crate) use redis::{DEFAULT_PREFIX, Shared};
pub use spend_log::SpendRow;
pub use store::{Store, StoreOptions};

use crate::error::{Error, ErrorKind, Result};
use crate::router::Router;
use limits::{Ask, Limits};

/// A server's accounts: its store (None: no database, so neither virtual
/// keys nor a spend log) and, in a fleet, the Redis that shares limits.
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    store: Option<Store>,
    shared: Option<Shared>,
}

impl Accounts {
    pub(crate) fn set_store(&mut self, store: Store) {
        self.store = Some(store);
    }

    pub(crate) fn set_shared(&mut self, shared: Shared) {
        self.shared = Some(shared);
    }

    /// The store, or a 503 saying the server has none.
    pub(crate) fn require_store(&self) -> Result<&Store> {
        self.store.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::ServiceUnavailable,
                "this server has no database: virtual keys and spend logs need one",
            )
        })
    }

    fn limits(&self) -> Limits<'_> {
        match &self.shared {
            Some(shared) => Limits::Redis(shared),
            None => Limits::Local,
        }
    }

    /// The virtual key a client presented, if it is one; an expired key is
    /// an authentication error (401 on every route).
    pub(crate) async fn authenticate(&self, presented: &str) -> Result<Option<Arc<KeyState>>> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let found = store.keys.authenticate(presented).await?;
        if let Some(key) = &found {
            let now = store.clock().now_ms();
            key.with_record(|r| r.check_expiry(now))?;
        }
        Ok(found)
    }

    /// Refuses what `caller`'s virtual key may not touch at all in `group`
    /// (expired: 401; a model it is not allowed: 403), for requests that
    /// are no call and so are never admitted (a token count).
    pub(crate) fn permits(&self, caller: Option<&Caller>, group: &str) -> Result<()> {
        let (Some(store), Some(Caller(key))) = (&self.store, caller) else {
            return Ok(());
        };
        let now = store.clock().now_ms();
        key.with_record(|r| r.allows(group, now))
    }

    /// Admits `call` for the request's virtual key (if any): refuses what
    /// the key may not do (expired, model not allowed, its
    /// `max_parallel_requests` in flight already, a budget over an
    /// unpriced model, over budget, rpm or tpm), reserves the call's share
    /// of its limits and its spend-log slot. Refused, the call never
    /// reaches the Router. Without a database, admits everything and
    /// returns no admission (there is nothing to settle).
    pub(crate) async fn admit(
        &self,
        caller: Option<&Caller>,
        router: &Router,
        call: Call<'_>,
    ) -> Result<Option<Admission>> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let slot = store.spend.slot()?;
        let clock = store.clock();
        let now = clock.now_ms();
        let group = call.group();
        let mut in_flight = None;
        let key = match caller {
            None => None,
            Some(Caller(key)) => {
                let (budget, tpm, parallel) = key.with_record(|r| {
                    r.allows(group, now).map(|()| {
                        (
                            r.max_budget.is_some(),
                            r.tpm_limit.is_some(),
                            r.max_parallel_requests,
                        )
                    })
                })?;
                // Taken first: a refusal below gives it back as it drops.
                in_flight = key.enter(parallel)?;
                let mut ask = Ask::default();
                if budget || tpm {
                    let size = call.size();
                    ask.tokens = size.tokens();
                    if budget {
                        ask.usd = estimate::price(router, group, size)?;
                    }
                }
                let reservation = self.limits().reserve(key, ask, now).await?;
                Some((key.clone(), reservation))
            }
        };
        Ok(Some(Admission::new(
            &store.spend,
            slot,
            clock,
            key,
            self.shared.as_ref(),
            in_flight,
        )))
    }

    /// A key's record as the fleet knows it now: spend over its life and in
    /// its current period (shared through Redis when there is one, after
    /// this process's own settlements of the key have been counted).
    pub(crate) async fn report(&self, key: &KeyState) -> Result<KeyRecord> {
        let now = self.require_store()?.clock().now_ms();
        let mut r = key.record(now);
        if self.shared.is_some() {
            let (spend, period) = self.limits().spent(key, now).await?;
            r.spend = spend;
            r.budget_spend = period;
        }
        Ok(r)
    }

    /// Every key, oldest first, reported as [`Accounts::report`] does.
    pub(crate) async fn list(&self) -> Result<Vec<KeyRecord>> {
        let store = self.require_store()?;
        let mut out = Vec::new();
        for stored in store.keys.stored().await? {
            let state = match store.keys.cached(&stored.token) {
                Some(s) => s,
                None => store.keys.state_of(stored).await?,
            };
            out.push(self.report(&state).await?);
        }
        Ok(out)
    }

    /// Writes every pending spend row.
    pub(crate) async fn flush(&self) {
        if let Some(store) = &self.store {
            store.flush().await;
        }
    }
}
