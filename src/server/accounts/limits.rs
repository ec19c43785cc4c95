//! A virtual key's limits — its budget (for its life or per period), rpm
//! and tpm — as one policy over two stores of counters: this process's
//! ([`Limits::Local`]) or the fleet's Redis ([`Limits::Redis`]), which run
//! the same plans with the same meaning (see `counters.rs`).
//!
//! Before a call, [`Limits::reserve`] checks every limit and, only if all
//! pass, takes the call's share at once: one request of the minute's rpm,
//! its estimated tokens of the minute's tpm, and its estimated cost held
//! against the budget. A call is let in when its estimate fits in what is
//! left (spent and held by calls in flight subtracted), or — a call bigger
//! than what is left — alone, while nothing else is in flight and some
//! budget (or some of the minute's tpm) is left. So however many calls
//! race, spend exceeds a budget only by what calls cost beyond their
//! estimates, or by the one call let through alone at the end. After the
//! call, [`Limits::settle`] gives back what was held and counts what it
//! really cost and used (nothing, for a failure or a cut stream).
//!
//! Rate windows are fixed Unix minutes. What is held lives in 5-minute
//! buckets that a budget check reads for 15 minutes, so what a crashed
//! instance held is given back by expiry. Owns the policy and the
//! messages; holds no counter itself.

use std::sync::Arc;
use std::time::Duration;

use super::counters::{Counter, EMPTY, Outcome, Plan};
use super::key::KeyState;
use super::record::{KeyRecord, Period};
use super::redis::Shared;
use crate::error::{Error, ErrorKind, Result};

const MINUTE_MS: i64 = 60_000;
/// A minute's counters outlive it by this much, then are dropped.
const WINDOW_TTL_MS: i64 = 2 * MINUTE_MS;
/// What calls hold is counted in buckets of this span…
const HOLD_BUCKET_MS: i64 = 5 * MINUTE_MS;
/// …and a budget check reads this many of the latest.
const HOLD_BUCKETS: i64 = 3;
/// A period's spend outlives the period by this much.
const PERIOD_TTL_MARGIN_MS: i64 = MINUTE_MS;

/// Where a key's counters live.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Limits<'a> {
    /// In this process: one server's view.
    Local,
    /// In the fleet's Redis.
    Redis(&'a Shared),
}

/// What one call asks of a key's limits: its estimated cost (USD) and tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Ask {
    pub usd: f64,
    pub tokens: u64,
}

/// What a call has taken: give it back (or settle it) when the call ends.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Reservation {
    /// (hold bucket, USD held).
    held: Option<(i64, f64)>,
    /// (minute, tokens reserved).
    tokens: Option<(i64, u64)>,
}

/// What a finished call really cost and used.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Spent {
    pub usd: f64,
    pub tokens: u64,
}

/// The limit a check stands for (to explain a refusal).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Budget {
        budget: f64,
        spend: usize,
        period: Option<Period>,
    },
    Tpm(i64),
    Rpm(i64),
}

impl Limits<'_> {
    /// Checks the key's budget, tpm and rpm for a call asking `ask` at
    /// `now` (Unix ms), and takes its share of each when all pass.
    pub(crate) async fn reserve(
        self,
        key: &Arc<KeyState>,
        ask: Ask,
        now: i64,
    ) -> Result<Reservation> {
        let minute = now.div_euclid(MINUTE_MS);
        let bucket = now.div_euclid(HOLD_BUCKET_MS);
        let (plan, kinds, reservation) = key.with_record(|r| {
            let (spend, period_spend) = key.spent(r, now);
            let mut plan = Plan::default();
            let mut kinds = Vec::new();
            let mut reservation = Reservation::default();
            if let Some(budget) = r.max_budget {
                let period = r.period(now);
                let spend = spend_term(&mut plan, r, now, spend, period_spend);
                let mut reads = vec![spend];
                for b in 0..HOLD_BUCKETS {
                    let counter = Counter::Held(bucket.saturating_sub(b));
                    reads.push(plan.term(counter, None, Some(hold_ttl())));
                }
                let held = reads[1];
                let idle = reads[1..].to_vec();
                plan.check(budget, ask.usd, reads, idle);
                kinds.push(Kind::Budget {
                    budget,
                    spend,
                    period,
                });
                if ask.usd > 0.0 {
                    plan.add(held, ask.usd, false);
                    reservation.held = Some((bucket, ask.usd));
                }
            }
            if let Some(tpm) = r.tpm_limit {
                let tokens = plan.term(Counter::Tokens(minute), None, Some(WINDOW_TTL_MS));
                plan.check(tpm as f64, ask.tokens as f64, vec![tokens], vec![tokens]);
                kinds.push(Kind::Tpm(tpm));
                plan.add(tokens, ask.tokens as f64, false);
                reservation.tokens = Some((minute, ask.tokens));
            }
            if let Some(rpm) = r.rpm_limit {
                let requests = plan.term(Counter::Requests(minute), None, Some(WINDOW_TTL_MS));
                plan.check(rpm as f64, 1.0, vec![requests], vec![]);
                kinds.push(Kind::Rpm(rpm));
                plan.add(requests, 1.0, false);
            }
            (plan, kinds, reservation)
        });
        if plan.is_empty() {
            return Ok(reservation);
        }
        let outcome = match self {
            Limits::Local => key.run(&plan, now),
            Limits::Redis(shared) => shared.run(&key.token(), &plan).await?,
        };
        match outcome.refused {
            None => Ok(reservation),
            Some(c) => Err(refusal(key, &plan, &outcome, kinds[c], c, now)),
        }
    }

    /// Gives back what `reservation` took and counts what the call `spent`:
    /// here at once, and in the fleet's Redis when the returned future runs
    /// (None without Redis).
    pub(crate) fn settle(
        self,
        key: &Arc<KeyState>,
        reservation: Reservation,
        spent: Spent,
        now: i64,
    ) -> Option<impl Future<Output = ()> + Send + use<>> {
        let plan = key.with_record(|r| {
            let mut plan = Plan::default();
            if let Some((bucket, usd)) = reservation.held {
                let held = plan.term(Counter::Held(bucket), None, Some(hold_ttl()));
                plan.add(held, -usd, true);
            }
            if let Some((minute, reserved)) = reservation.tokens {
                let tokens = plan.term(Counter::Tokens(minute), None, Some(WINDOW_TTL_MS));
                plan.add(tokens, spent.tokens as f64 - reserved as f64, true);
            }
            if spent.usd != 0.0 {
                let (spend, period_spend) = key.spent(r, now);
                let life = plan.term(Counter::Spend, Some(spend), None);
                plan.add(life, spent.usd, false);
                if r.period(now).is_some() {
                    let period = spend_term(&mut plan, r, now, spend, period_spend);
                    plan.add(period, spent.usd, false);
                }
            }
            plan
        });
        if plan.is_empty() {
            return None;
        }
        // Seeds were read before this: the local run cannot count twice.
        key.run(&plan, now);
        let Limits::Redis(shared) = self else {
            return None;
        };
        let sent = shared.run(&key.token(), &plan);
        key.settle_started();
        let key = key.clone();
        Some(async move {
            // Best effort: the spend log in the database stays the record,
            // and what was held expires by itself.
            if let Err(e) = sent.await {
                crate::server::log::line(format_args!(
                    "a call's spend was not counted in Redis: {e}"
                ));
            }
            key.settle_done();
        })
    }

    /// The key's spend over its life and in its current period (if the
    /// budget has periods), as the fleet knows them.
    pub(crate) async fn spent(self, key: &KeyState, now: i64) -> Result<(f64, Option<f64>)> {
        let (plan, local) = key.with_record(|r| {
            let local = key.spent(r, now);
            let mut plan = Plan::default();
            plan.term(Counter::Spend, None, None);
            if let Some(p) = r.period(now) {
                plan.term(period_counter(p), None, None);
            }
            (plan, local)
        });
        let Limits::Redis(shared) = self else {
            return Ok(local);
        };
        key.settled(Duration::from_secs(5)).await;
        let out = shared.run(&key.token(), &plan).await?;
        let spend = out.values[0].unwrap_or(local.0);
        let period = local
            .1
            .map(|l| out.values.get(1).copied().flatten().unwrap_or(l));
        Ok((spend, period))
    }
}

/// The counter a budget reads: the current period's spend, or the life's.
fn spend_term(plan: &mut Plan, r: &KeyRecord, now: i64, life: f64, period: Option<f64>) -> usize {
    match r.period(now) {
        Some(p) => {
            let ttl = p
                .end
                .saturating_sub(now)
                .saturating_add(PERIOD_TTL_MARGIN_MS);
            plan.term(period_counter(p), Some(period.unwrap_or(0.0)), Some(ttl))
        }
        None => plan.term(Counter::Spend, Some(life), None),
    }
}

fn period_counter(p: Period) -> Counter {
    Counter::PeriodSpend {
        first: p.first,
        index: p.index,
    }
}

fn hold_ttl() -> i64 {
    HOLD_BUCKET_MS * (HOLD_BUCKETS + 1)
}

/// Why a plan was refused, in words: over budget (400); a budget whose
/// rest calls in flight hold (429, retry in a second); over tpm or rpm
/// (429 with the seconds until the next minute).
fn refusal(
    key: &KeyState,
    plan: &Plan,
    out: &Outcome,
    kind: Kind,
    check: usize,
    now: i64,
) -> Error {
    let used = out.used(plan, check);
    let next_minute = Duration::from_millis((MINUTE_MS - now.rem_euclid(MINUTE_MS)) as u64);
    match kind {
        Kind::Budget {
            budget,
            spend,
            period,
        } => {
            let spent = out.value(spend);
            let mut message = format!(
                "budget exceeded: this API key has spent ${spent:.6} of its max budget of ${budget:.6}"
            );
            let held = used - spent;
            let need = plan.checks[check].need;
            if used < budget {
                // Room is left, but not for this call while others run.
                return Error::new(
                    ErrorKind::RateLimit,
                    format!(
                        "budget busy: this API key has spent ${spent:.6} of its max budget of ${budget:.6}, \
                         calls in flight hold ${held:.6}, and this call may cost up to ${need:.6}; \
                         retry when they have finished"
                    ),
                )
                .with_retry_after(Some(Duration::from_secs(1)))
                .with_code(Some("budget_exceeded".into()));
            }
            if held > EMPTY {
                message.push_str(&format!(
                    ", and calls in flight hold ${held:.6} more until they finish"
                ));
            }
            if let Some(p) = period {
                let every = key.with_record(|r| r.budget_duration.clone().unwrap_or_default());
                let secs = (p.end.saturating_sub(now).max(0) + 999) / 1000;
                message.push_str(&format!(
                    " for this {every} period; the budget resets in {secs} s"
                ));
            }
            Error::bad_request(message).with_code(Some("budget_exceeded".into()))
        }
        Kind::Tpm(tpm) => limited(
            format!(
                "tpm limit reached: this API key used or reserved {used} tokens this minute (limit {tpm})"
            ),
            next_minute,
        ),
        Kind::Rpm(rpm) => limited(
            format!(
                "rpm limit reached: this API key made {used} requests this minute (limit {rpm})"
            ),
            next_minute,
        ),
    }
}

fn limited(message: String, after: Duration) -> Error {
    Error::new(ErrorKind::RateLimit, message)
        .with_retry_after(Some(after.max(Duration::from_secs(1))))
        .with_code(Some("rate_limit_exceeded".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use proptest::prelude::*;

    fn key(budget: f64, tpm: Option<i64>) -> Arc<KeyState> {
        let mut r = KeyRecord::new("sk-test", 0);
        r.max_budget = Some(budget);
        r.tpm_limit = tpm;
        Arc::new(KeyState::new(r, 0.0, 0))
    }

    /// One step of a race: start a call of this estimate (spending this
    /// share of it), or finish the call in flight at this position.
    #[derive(Debug, Clone)]
    enum Step {
        Start { estimate: f64, share: f64 },
        Finish(usize),
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(
            prop_oneof![
                (0.01f64..1.0, 0.0f64..=1.0)
                    .prop_map(|(estimate, share)| Step::Start { estimate, share }),
                (0usize..64).prop_map(Step::Finish),
            ],
            1..120,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::default())]

        /// Whatever the interleaving, with calls costing at most their
        /// estimate, spend never passes the budget by more than the one
        /// call a nearly spent budget lets through alone; a call is let in
        /// only when it fits or runs alone; and once every call has
        /// finished nothing is held any more.
        #[test]
        fn spend_stays_within_one_lone_call_of_the_budget(budget in 0.1f64..5.0, steps in steps()) {
            let key = key(budget, None);
            let mut in_flight: Vec<(Reservation, f64)> = Vec::new();
            let mut largest = 0.0f64;
            // Every call starts at 0: they hold in bucket 0.
            let held = |now| key.counter(Counter::Held(0), now).unwrap_or(0.0);
            for step in steps {
                match step {
                    Step::Start { estimate, share } => {
                        let spent = key.with_record(|r| key.spent(r, 0).0);
                        let holding = held(0);
                        let ask = Ask { usd: estimate, tokens: 0 };
                        match block_on(Limits::Local.reserve(&key, ask, 0)) {
                            Ok(r) => {
                                let fits = spent + holding + estimate <= budget;
                                let alone = holding <= EMPTY && spent < budget;
                                prop_assert!(fits || alone, "let in: {spent} spent, {holding} held, {estimate} asked of {budget}");
                                largest = largest.max(estimate * share);
                                in_flight.push((r, estimate * share));
                            }
                            Err(e) => prop_assert_eq!(e.details().code(), Some("budget_exceeded")),
                        }
                    }
                    Step::Finish(i) if !in_flight.is_empty() => {
                        let (r, cost) = in_flight.remove(i % in_flight.len());
                        let spent = Spent { usd: cost, tokens: 0 };
                        let to_redis = Limits::Local.settle(&key, r, spent, 0);
                        prop_assert!(to_redis.is_none());
                    }
                    Step::Finish(_) => {}
                }
            }
            for (r, cost) in in_flight.drain(..) {
                Limits::Local.settle(&key, r, Spent { usd: cost, tokens: 0 }, 0);
            }
            let spent = key.with_record(|r| key.spent(r, 0).0);
            prop_assert!(spent <= budget + largest + 1e-9, "spent {spent} of {budget} (largest call {largest})");
            prop_assert!(held(0).abs() <= EMPTY, "still held: {}", held(0));
        }
    }

    /// A tpm limit counts what calls reserve, then what they used: the
    /// minute's tokens settle to the real figure.
    #[test]
    fn tokens_reserved_settle_to_what_was_used() {
        let key = key(1e9, Some(1_000));
        let r = block_on(Limits::Local.reserve(
            &key,
            Ask {
                usd: 0.0,
                tokens: 600,
            },
            0,
        ))
        .unwrap();
        // 600 + 600 > 1000 while the first is in flight: refused.
        let e = block_on(Limits::Local.reserve(
            &key,
            Ask {
                usd: 0.0,
                tokens: 600,
            },
            0,
        ))
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimit);
        assert!(e.message().contains("tpm limit"), "{e}");
        Limits::Local.settle(
            &key,
            r,
            Spent {
                usd: 0.0,
                tokens: 100,
            },
            0,
        );
        // 100 used: 600 more fit now.
        assert!(
            block_on(Limits::Local.reserve(
                &key,
                Ask {
                    usd: 0.0,
                    tokens: 600
                },
                0
            ))
            .is_ok()
        );
        // The next minute starts empty.
        assert!(
            block_on(Limits::Local.reserve(
                &key,
                Ask {
                    usd: 0.0,
                    tokens: 900
                },
                MINUTE_MS
            ))
            .is_ok()
        );
    }
}
