//! One admitted call's accounting: an [`Admission`] holds the call's
//! spend-log slot and its key's reservation from the moment the accounts
//! let the call in; settling it (with what the finished call's record
//! says: a [`Settlement`]) gives the reservation back, counts what the
//! call really cost against the key, and sends its spend row — once. The
//! Router's retries happen inside one call, so nothing is charged twice.
//! An admission dropped unsettled settles as a failure, so a reservation
//! is never left held. Knows no HTTP and no call record: the record's
//! owner settles it.

use std::sync::Arc;
use std::time::Duration;

use super::clock::WallClock;
use super::key::{InFlight, KeyState};
use super::limits::{Limits, Reservation, Spent};
use super::redis::Shared;
use super::spend_log::{Slot, SpendLog, SpendRow};
use crate::types::Usage;

/// One admitted call's accounting (a server with a database).
#[derive(Debug)]
pub(crate) struct Admission(Option<Box<Pending>>);

#[derive(Debug)]
struct Pending {
    log: SpendLog,
    slot: Slot,
    clock: WallClock,
    /// The virtual key and what it reserved.
    key: Option<(Arc<KeyState>, Reservation)>,
    redis: Option<Shared>,
    /// Held until the call is settled: the key's parallel-call count.
    in_flight: Option<InFlight>,
}

/// What a finished call tells its accounts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settlement<'a> {
    pub group: &'a str,
    /// The deployment that served (empty when none did).
    pub deployment: &'a str,
    /// Tokens and cost; None for a failure.
    pub usage: Option<&'a Usage>,
    pub latency: Duration,
    pub success: bool,
}

impl Admission {
    pub(crate) fn new(
        log: &SpendLog,
        slot: Slot,
        clock: &WallClock,
        key: Option<(Arc<KeyState>, Reservation)>,
        redis: Option<&Shared>,
        in_flight: Option<InFlight>,
    ) -> Self {
        Admission(Some(Box::new(Pending {
            log: log.clone(),
            slot,
            clock: clock.clone(),
            key,
            redis: redis.cloned(),
            in_flight,
        })))
    }

    /// Settles the call: what it reserved goes back, what it cost is
    /// counted (nothing for a failure), and its spend row is sent.
    pub(crate) fn settle(mut self, s: Settlement<'_>) {
        if let Some(p) = self.0.take() {
            p.settle(s);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.settle(Settlement {
                group: "",
                deployment: "",
                usage: None,
                latency: Duration::ZERO,
                success: false,
            });
        }
    }
}

impl Pending {
    fn settle(mut self, s: Settlement<'_>) {
        // The call is over: another may take its place at once.
        drop(self.in_flight.take());
        let usage = s.usage.filter(|_| s.success);
        let cost = usage.and_then(|u| u.cost).map_or(0.0, |c| c.usd).max(0.0);
        let cost = if cost.is_finite() { cost } else { 0.0 };
        let total = usage.map_or(0, |u| u.total_tokens);
        let now = self.clock.now_ms();
        let key_hash = self.key.map(|(key, reservation)| {
            let limits = match &self.redis {
                Some(shared) => Limits::Redis(shared),
                None => Limits::Local,
            };
            let spent = Spent {
                usd: cost,
                tokens: total,
            };
            if let Some(sent) = limits.settle(&key, reservation, spent, now) {
                // Counted in the fleet moments after the call ends, off its path.
                match tokio::runtime::Handle::try_current() {
                    Ok(rt) => drop(rt.spawn(sent)),
                    Err(_) => key.settle_done(),
                }
            }
            key.token()
        });
        let tokens = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let row = SpendRow {
            request_id: request_id(now),
            key_hash,
            model_group: s.group.to_string(),
            deployment: s.deployment.to_string(),
            prompt_tokens: usage.map_or(0, |u| tokens(u.prompt_tokens)),
            completion_tokens: usage.map_or(0, |u| tokens(u.completion_tokens)),
            total_tokens: usage.map_or(0, |u| tokens(u.total_tokens)),
            cost,
            latency_ms: i64::try_from(s.latency.as_millis()).unwrap_or(i64::MAX),
            status: if s.success { "success" } else { "failure" }.to_string(),
            created_at: now,
        };
        self.log.send(row, self.slot);
    }
}

/// A unique row id: time and randomness.
fn request_id(now: i64) -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::fill(&mut bytes);
    format!("{:x}-{}", now.max(0), hex::encode(bytes))
}
