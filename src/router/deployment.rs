//! A deployment's live state: requests in flight, this minute's usage,
//! latency average, recent failures and cooldown. Safe to share across
//! tasks; every method takes the current time from the caller.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::config::Settings;
use super::strategy::View;
use crate::client::CallOptions;
use crate::cost::ModelInfo;

#[derive(Debug)]
pub(crate) struct Deployment {
    pub(crate) id: String,
    pub(crate) model: String,
    pub(crate) options: CallOptions,
    pub(crate) weight: f64,
    pub(crate) rpm: Option<u64>,
    pub(crate) tpm: Option<u64>,
    pub(crate) max_parallel: Option<u64>,
    pub(crate) context_window: Option<u64>,
    /// USD per million input + output tokens, from `info`.
    pub(crate) price: Option<f64>,
    /// The entry its calls are priced and checked at (the catalog's, or
    /// its own prices over it); None when nothing is known of its model.
    pub(crate) info: Option<Arc<ModelInfo>>,
    /// Its priority in the group: lower first (litellm's `order`).
    pub(crate) order: Option<u32>,
    in_flight: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    fails: VecDeque<Duration>,
    cooldown_until: Duration,
    minute: u64,
    requests: u64,
    tokens: u64,
    latency_ms: Option<f64>,
}

/// Why a deployment cannot take a request now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Unavailable {
    CoolingDown(Duration),
    RateLimited(Duration),
    Busy,
}

impl Deployment {
    pub(crate) fn new(
        id: String,
        model: String,
        options: CallOptions,
        weight: f64,
        limits: (Option<u64>, Option<u64>, Option<u64>),
        info: Option<Arc<ModelInfo>>,
    ) -> Self {
        let context_window = info.as_ref().and_then(|i| i.context_window);
        let price = info.as_ref().and_then(|i| Some(i.input? + i.output?));
        Deployment {
            id,
            model,
            options,
            weight,
            rpm: limits.0,
            tpm: limits.1,
            max_parallel: limits.2,
            context_window,
            price,
            info,
            order: None,
            in_flight: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether it can take a request of `tokens` now, and if not, why and for how long.
    pub(crate) fn check(&self, now: Duration, tokens: u64) -> Result<View, Unavailable> {
        let mut s = self.state();
        if now < s.cooldown_until {
            return Err(Unavailable::CoolingDown(s.cooldown_until - now));
        }
        roll_minute(&mut s, now);
        let next_minute = Duration::from_secs((s.minute + 1) * 60).saturating_sub(now);
        if self.rpm.is_some_and(|l| s.requests >= l)
            || self.tpm.is_some_and(|l| s.tokens + tokens > l)
        {
            return Err(Unavailable::RateLimited(next_minute));
        }
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        if self.max_parallel.is_some_and(|l| in_flight >= l) {
            return Err(Unavailable::Busy);
        }
        let share =
            |used: u64, limit: Option<u64>| limit.map_or(0.0, |l| used as f64 / l.max(1) as f64);
        Ok(View {
            weight: self.weight,
            in_flight,
            usage: share(s.requests, self.rpm).max(share(s.tokens, self.tpm)),
            latency_ms: s.latency_ms,
            price: self.price,
        })
    }

    /// A request starts: counts it against this minute and in flight.
    pub(crate) fn start(&self, now: Duration, tokens: u64) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let mut s = self.state();
        roll_minute(&mut s, now);
        s.requests += 1;
        s.tokens += tokens;
    }

    /// A request ended well: its latency (or time to first token) feeds the
    /// average, unless it was measured at another host (None).
    pub(crate) fn succeed(&self, latency: Option<Duration>, extra_tokens: u64) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let mut s = self.state();
        if let Some(latency) = latency {
            let ms = latency.as_secs_f64() * 1000.0;
            s.latency_ms = Some(s.latency_ms.map_or(ms, |avg| 0.8 * avg + 0.2 * ms));
        }
        s.tokens += extra_tokens;
    }

    /// A request failed: enough failures in the window, or a Retry-After,
    /// cool it down — unless `may_cool` is false (it is its group's last
    /// healthy deployment, which is never cooled down: litellm's rule).
    /// Returns the cooldown left when this failure started or extended one.
    pub(crate) fn fail(
        &self,
        now: Duration,
        settings: &Settings,
        retry_after: Option<Duration>,
        may_cool: bool,
    ) -> Option<Duration> {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let mut s = self.state();
        let window = Duration::from_secs(settings.fail_window_secs);
        s.fails.push_back(now);
        while s
            .fails
            .front()
            .is_some_and(|&t| now.saturating_sub(t) > window)
        {
            s.fails.pop_front();
        }
        if !may_cool {
            return None;
        }
        let mut until = s.cooldown_until;
        if s.fails.len() >= settings.allowed_fails.max(1) as usize {
            until = until.max(now.saturating_add(Duration::from_secs(settings.cooldown_secs)));
            s.fails.clear();
        }
        if let Some(ra) = retry_after {
            until = until.max(now.saturating_add(ra));
        }
        let extended = until > s.cooldown_until;
        s.cooldown_until = until;
        extended.then(|| until.saturating_sub(now))
    }

    /// How much longer it cools down, if it does at `now`.
    pub(crate) fn cooling(&self, now: Duration) -> Option<Duration> {
        let s = self.state();
        (now < s.cooldown_until).then(|| s.cooldown_until - now)
    }

    /// Cools it down until `until` at least (a cooldown another Router started).
    pub(crate) fn cool_until(&self, until: Duration) {
        let mut s = self.state();
        s.cooldown_until = s.cooldown_until.max(until);
    }

    /// The request's failure was not the deployment's (a bad request, or a
    /// host the caller chose): only in-flight changes.
    pub(crate) fn release(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn roll_minute(s: &mut State, now: Duration) {
    let minute = now.as_secs() / 60;
    if minute != s.minute {
        s.minute = minute;
        s.requests = 0;
        s.tokens = 0;
    }
}
