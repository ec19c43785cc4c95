//! A key's counters (spend, spend per budget period, USD held by calls in
//! flight, requests and tokens per minute) and the one operation every
//! limit is made of: a [`Plan`] — seed some counters, check that each
//! limit has room for what a call needs, and only if all have, add to some
//! — run all or nothing. A [`Check`] passes when what is used plus what is
//! needed fits under the limit, or, for a call too big to fit, when some
//! room is left and the check's idle counters are empty (nothing else in
//! flight): such a call runs alone. [`Counters`] runs a plan in process; the Redis script in
//! `redis.rs` runs the same plan for a fleet, with the same meaning. Which
//! counters and limits a call needs is `limits.rs`'s business, not this
//! file's.

use std::collections::HashMap;

/// One counter of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Counter {
    /// USD spent over the key's life.
    Spend,
    /// USD spent in one budget period: when the first period began, and
    /// the period's number.
    PeriodSpend { first: i64, index: i64 },
    /// USD held by calls in flight that began in this hold bucket.
    Held(i64),
    /// Requests begun in this minute (Unix minutes).
    Requests(i64),
    /// Tokens reserved, then settled, in this minute.
    Tokens(i64),
}

impl Counter {
    /// The counter's name under a key's namespace (Redis keys).
    pub(crate) fn name(&self) -> String {
        match self {
            Counter::Spend => "spend".into(),
            Counter::PeriodSpend { first, index } => format!("spend:{first}:{index}"),
            Counter::Held(bucket) => format!("held:{bucket}"),
            Counter::Requests(minute) => format!("rpm:{minute}"),
            Counter::Tokens(minute) => format!("tpm:{minute}"),
        }
    }
}

/// A counter a plan touches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Term {
    pub counter: Counter,
    /// Its value when it does not exist yet (a spend the database knows).
    pub seed: Option<f64>,
    /// How long it lives after it is last added to (ms); None: for ever.
    pub ttl_ms: Option<i64>,
}

/// Below this, a counter counts as empty (what floating-point additions
/// and subtractions of the same amounts leave behind).
pub(crate) const EMPTY: f64 = 1e-9;

/// A limit a call must have room under for the plan to go on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Check {
    pub limit: f64,
    /// What the call needs of it.
    pub need: f64,
    /// Indexes into the plan's terms: their sum is what is used.
    pub reads: Vec<usize>,
    /// Terms that must be empty for a call that does not fit to run alone.
    pub idle: Vec<usize>,
}

impl Check {
    /// Whether the check passes with these term values.
    pub(crate) fn passes(&self, values: &[Option<f64>]) -> bool {
        let value = |i: usize| values[i].unwrap_or(0.0);
        let used: f64 = self.reads.iter().map(|&i| value(i)).sum();
        used + self.need <= self.limit
            || (used < self.limit && self.idle.iter().all(|&i| value(i) <= EMPTY))
    }
}

/// An amount added to a term once every check has passed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Add {
    pub term: usize,
    pub amount: f64,
    /// Only when the counter exists (giving back what it held: once it has
    /// expired there is nothing to give back).
    pub only_existing: bool,
}

/// Seed, check, add: all or nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Plan {
    pub terms: Vec<Term>,
    pub checks: Vec<Check>,
    pub adds: Vec<Add>,
}

impl Plan {
    /// Adds a term (once per counter) and returns its index.
    pub(crate) fn term(
        &mut self,
        counter: Counter,
        seed: Option<f64>,
        ttl_ms: Option<i64>,
    ) -> usize {
        if let Some(i) = self.terms.iter().position(|t| t.counter == counter) {
            return i;
        }
        self.terms.push(Term {
            counter,
            seed,
            ttl_ms,
        });
        self.terms.len() - 1
    }

    pub(crate) fn check(&mut self, limit: f64, need: f64, reads: Vec<usize>, idle: Vec<usize>) {
        self.checks.push(Check {
            limit,
            need,
            reads,
            idle,
        });
    }

    pub(crate) fn add(&mut self, term: usize, amount: f64, only_existing: bool) {
        self.adds.push(Add {
            term,
            amount,
            only_existing,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// What running a plan found: each term's value before the adds (None:
/// the counter did not exist and had no seed), and the first check that
/// failed, if one did (then nothing was added).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    pub values: Vec<Option<f64>>,
    pub refused: Option<usize>,
}

impl Outcome {
    /// The sum a check read.
    pub(crate) fn used(&self, plan: &Plan, check: usize) -> f64 {
        plan.checks[check]
            .reads
            .iter()
            .map(|&i| self.values[i].unwrap_or(0.0))
            .sum()
    }

    /// A term's value (0 when absent).
    pub(crate) fn value(&self, term: usize) -> f64 {
        self.values.get(term).copied().flatten().unwrap_or(0.0)
    }
}

/// One key's counters in this process.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Value and expiry (Unix ms; None: never).
    map: HashMap<Counter, (f64, Option<i64>)>,
}

impl Counters {
    /// Counters with a spend and a period's spend already known.
    pub(crate) fn seeded(known: &[(Counter, f64, Option<i64>)]) -> Counters {
        let map = known
            .iter()
            .map(|&(c, v, expires)| (c, (v, expires)))
            .collect();
        Counters { map }
    }

    /// A counter's value, if it exists (and has not expired) at `now`.
    pub(crate) fn get(&self, counter: Counter, now: i64) -> Option<f64> {
        match self.map.get(&counter) {
            Some(&(v, expires)) if expires.is_none_or(|at| at > now) => Some(v),
            _ => None,
        }
    }

    /// Runs `plan` at `now` (Unix ms): the meaning the Redis script has too.
    pub(crate) fn run(&mut self, plan: &Plan, now: i64) -> Outcome {
        self.map
            .retain(|_, (_, expires)| expires.is_none_or(|at| at > now));
        let expiry = |t: &Term| t.ttl_ms.map(|ms| now.saturating_add(ms));
        for t in &plan.terms {
            if let Some(seed) = t.seed {
                self.map.entry(t.counter).or_insert((seed, expiry(t)));
            }
        }
        let values: Vec<Option<f64>> = plan
            .terms
            .iter()
            .map(|t| self.map.get(&t.counter).map(|&(v, _)| v))
            .collect();
        let mut outcome = Outcome {
            values,
            refused: None,
        };
        if let Some(c) = plan.checks.iter().position(|c| !c.passes(&outcome.values)) {
            outcome.refused = Some(c);
            return outcome;
        }
        for a in &plan.adds {
            let t = &plan.terms[a.term];
            let expires = expiry(t);
            match self.map.get_mut(&t.counter) {
                Some((v, at)) => {
                    *v += a.amount;
                    if expires.is_some() {
                        *at = expires;
                    }
                }
                None if a.only_existing => {}
                None => {
                    self.map.insert(t.counter, (a.amount, expires));
                }
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A budget of 10 with 5 spent: a call holding 3 fits, a second does
    /// not (5 + 3 + 3 > 10) and adds nothing, and the rpm check after it
    /// was not counted either.
    #[test]
    fn a_plan_adds_only_when_every_check_passes() {
        let mut c = Counters::default();
        let mut plan = Plan::default();
        let spend = plan.term(Counter::Spend, Some(5.0), None);
        let held = plan.term(Counter::Held(1), None, Some(1_000));
        let rpm = plan.term(Counter::Requests(7), None, Some(1_000));
        plan.check(10.0, 3.0, vec![spend, held], vec![held]);
        plan.check(5.0, 1.0, vec![rpm], vec![]);
        plan.add(held, 3.0, false);
        plan.add(rpm, 1.0, false);
        assert_eq!(c.run(&plan, 0).refused, None);
        let second = c.run(&plan, 0);
        assert_eq!(second.refused, Some(0));
        assert_eq!(second.used(&plan, 0), 8.0);
        assert_eq!(c.get(Counter::Held(1), 0), Some(3.0));
        assert_eq!(c.get(Counter::Requests(7), 0), Some(1.0));
    }

    /// A call bigger than what is left runs only alone, and only while
    /// some room is left.
    #[test]
    fn a_call_too_big_to_fit_runs_alone() {
        let check = Check {
            limit: 10.0,
            need: 8.0,
            reads: vec![0, 1],
            idle: vec![1],
        };
        // Spent 4, nothing held: 4 + 8 > 10, but it may run alone.
        assert!(check.passes(&[Some(4.0), None]));
        assert!(check.passes(&[Some(4.0), Some(1e-12)]));
        // Something else in flight: it waits.
        assert!(!check.passes(&[Some(4.0), Some(0.5)]));
        // No room left at all.
        assert!(!check.passes(&[Some(10.0), None]));
        // An rpm-like check (need 1, no idle terms) is "used < limit".
        let rpm = Check {
            limit: 2.0,
            need: 1.0,
            reads: vec![0],
            idle: vec![],
        };
        assert!(rpm.passes(&[Some(1.0)]));
        assert!(!rpm.passes(&[Some(2.0)]));
    }

    #[test]
    fn counters_expire_and_releases_skip_what_expired() {
        let mut c = Counters::default();
        let mut hold = Plan::default();
        let held = hold.term(Counter::Held(1), None, Some(100));
        hold.add(held, 2.0, false);
        c.run(&hold, 0);
        assert_eq!(c.get(Counter::Held(1), 99), Some(2.0));
        assert_eq!(c.get(Counter::Held(1), 100), None);
        let mut release = Plan::default();
        let held = release.term(Counter::Held(1), None, Some(100));
        release.add(held, -2.0, true);
        c.run(&release, 150);
        assert_eq!(c.get(Counter::Held(1), 150), None, "nothing to give back");
    }

    #[test]
    fn a_seed_counts_only_for_a_counter_not_yet_there() {
        let mut c = Counters::seeded(&[(Counter::Spend, 1.5, None)]);
        let mut plan = Plan::default();
        let spend = plan.term(Counter::Spend, Some(9.0), None);
        let period = plan.term(
            Counter::PeriodSpend { first: 0, index: 2 },
            Some(0.25),
            Some(10),
        );
        plan.add(spend, 1.0, false);
        plan.add(period, 1.0, false);
        let out = c.run(&plan, 0);
        assert_eq!(out.values, vec![Some(1.5), Some(0.25)]);
        assert_eq!(c.get(Counter::Spend, 0), Some(2.5));
        assert_eq!(
            c.get(Counter::PeriodSpend { first: 0, index: 2 }, 0),
            Some(1.25)
        );
    }
}
