//! A virtual key in use by this process: its record, its counters here
//! (spend, the current period's spend, what calls in flight hold, this
//! minute's requests and tokens), and a count of the settlements it has
//! sent to the fleet's Redis and not yet seen answered, so a report can
//! wait for them. Holds no policy (see `limits.rs`) and reads no clock:
//! every method is told the time.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::counters::{Counter, Counters, Outcome, Plan};
use super::record::KeyRecord;
use crate::error::{Error, ErrorKind, Result};

/// The virtual key a request came with (a request extension).
#[derive(Clone, Debug)]
pub(crate) struct Caller(pub(crate) Arc<KeyState>);

/// A key in use.
#[derive(Debug)]
pub(crate) struct KeyState {
    record: Mutex<KeyRecord>,
    counters: Mutex<Counters>,
    /// Settlements sent to Redis and not yet answered.
    settling: AtomicUsize,
    settled: tokio::sync::Notify,
    /// Calls of this key in flight in this process.
    in_flight: AtomicI64,
}

/// One call of a key in flight, counted against its
/// `max_parallel_requests` until dropped (the call finished, failed, or
/// was cut).
#[derive(Debug)]
pub(crate) struct InFlight(Arc<KeyState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KeyState {
    /// A key as loaded at `now`, whose current budget period (if it has
    /// one) has `period_spend` spent in it already.
    pub(crate) fn new(record: KeyRecord, period_spend: f64, now: i64) -> Self {
        let mut known = vec![(Counter::Spend, record.spend, None)];
        if let Some(p) = record.period(now) {
            let counter = Counter::PeriodSpend {
                first: p.first,
                index: p.index,
            };
            known.push((counter, period_spend, Some(p.end)));
        }
        KeyState {
            record: Mutex::new(record),
            counters: Mutex::new(Counters::seeded(&known)),
            settling: AtomicUsize::new(0),
            settled: tokio::sync::Notify::new(),
            in_flight: AtomicI64::new(0),
        }
    }

    /// Counts one more call in flight, or refuses it (429) when the key
    /// has `limit` in flight already; None without a limit.
    pub(crate) fn enter(self: &Arc<Self>, limit: Option<i64>) -> Result<Option<InFlight>> {
        let Some(limit) = limit else {
            return Ok(None);
        };
        let entered = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            });
        match entered {
            Ok(_) => Ok(Some(InFlight(self.clone()))),
            Err(n) => Err(Error::new(
                ErrorKind::RateLimit,
                format!(
                    "max parallel requests reached: this API key has {n} calls in flight (max_parallel_requests {limit}); retry when one has finished"
                ),
            )
            .with_retry_after(Some(Duration::from_secs(1)))
            .with_code(Some("parallel_request_limit_reached".into()))),
        }
    }

    /// `f` of the stored record, without copying it.
    pub(crate) fn with_record<T>(&self, f: impl FnOnce(&KeyRecord) -> T) -> T {
        f(&lock(&self.record))
    }

    /// Replaces the record's settings (its spend stays this process's).
    pub(crate) fn replace(&self, record: KeyRecord) {
        *lock(&self.record) = record;
    }

    pub(crate) fn token(&self) -> String {
        lock(&self.record).token.clone()
    }

    /// The record as this process knows it at `now`: spend, and for a
    /// periodic budget the current period's end and spend.
    pub(crate) fn record(&self, now: i64) -> KeyRecord {
        let mut r = lock(&self.record).clone();
        let (spend, period) = self.spent(&r, now);
        r.spend = spend;
        r.budget_reset_at = r.period(now).map(|p| p.end);
        r.budget_spend = period;
        r
    }

    /// (Spend over the key's life, spend in the current period if the
    /// budget has periods) as this process knows them.
    pub(crate) fn spent(&self, r: &KeyRecord, now: i64) -> (f64, Option<f64>) {
        let c = lock(&self.counters);
        let spend = c.get(Counter::Spend, now).unwrap_or(r.spend);
        let period = r.period(now).map(|p| {
            let counter = Counter::PeriodSpend {
                first: p.first,
                index: p.index,
            };
            c.get(counter, now).unwrap_or(0.0)
        });
        (spend, period)
    }

    /// One of this process's counters.
    #[cfg(test)]
    pub(crate) fn counter(&self, counter: Counter, now: i64) -> Option<f64> {
        lock(&self.counters).get(counter, now)
    }

    /// Runs `plan` on this process's counters.
    pub(crate) fn run(&self, plan: &Plan, now: i64) -> Outcome {
        lock(&self.counters).run(plan, now)
    }

    /// Counts a settlement sent to Redis; [`KeyState::settle_done`] ends it.
    pub(crate) fn settle_started(&self) {
        self.settling.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn settle_done(&self) {
        if self.settling.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.settled.notify_waiters();
        }
    }

    /// Waits (at most `limit`) until every settlement this process sent
    /// for the key has been answered, so a report that follows counts them.
    pub(crate) async fn settled(&self, limit: Duration) {
        let wait = async {
            loop {
                let notified = self.settled.notified();
                if self.settling.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}
