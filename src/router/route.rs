//! The routing loop: a group, then its fallbacks (general ones, or the
//! context-window or content-policy ones for those failures), each group
//! tried deployment by deployment with retries that wait only when no
//! untried deployment is ready, and only when the wait fits the call's
//! deadline. Every attempt is recorded. Calls through the closure it is
//! given; parses no provider JSON.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use super::deployment::{Deployment, Unavailable};
use super::routable::Routable;
use super::strategy::{View, pick};
use super::{RouteOptions, Routed, Router};
use crate::duration::Seconds;
use crate::error::{Attempt, Error, ErrorKind, Result};

/// One group's routing problem: who may serve, how big, by when.
struct Ask<'a> {
    group: &'a str,
    members: &'a [Arc<Deployment>],
    tokens: u64,
    /// When the call must end, on the Router's clock.
    deadline: Option<Duration>,
}

impl Router {
    /// Tries the group, then its fallbacks, collecting every attempt, all
    /// within the call's deadline when it has one. `call` gets the
    /// deployment, its request and the time left.
    pub(super) async fn route<R, T, F, Fut>(
        &self,
        req: &R,
        route: &RouteOptions,
        call: F,
    ) -> Result<Routed<T>>
    where
        R: Routable,
        F: Fn(Arc<Deployment>, R, Option<Duration>) -> Fut,
        Fut: std::future::Future<Output = Result<(T, u64)>>,
    {
        let budget = route
            .timeout
            .or(self.settings.timeout_secs.map(Seconds::get));
        let deadline = budget.map(|b| self.clock.now().saturating_add(b));
        let tokens = req.tokens();
        let mut attempts = Vec::new();
        let mut queue = VecDeque::from([self.group_of(req.group()).to_string()]);
        let mut seen = HashSet::new();
        let mut last: Option<Error> = None;
        let mut first_group = true;
        let mut fallbacks_left = self.settings.max_fallbacks.unwrap_or(u32::MAX);
        while let Some(group) = queue.pop_front() {
            if !seen.insert(group.clone()) {
                continue;
            }
            if !first_group {
                // litellm's `max_fallbacks`: the call ends with the last failure.
                if fallbacks_left == 0 {
                    break;
                }
                fallbacks_left -= 1;
            }
            let members = match self.members(&group, first_group) {
                Ok(m) => m,
                Err(e) => {
                    last = Some(e);
                    first_group = false;
                    continue;
                }
            };
            let ask = Ask {
                group: &group,
                members: &members,
                tokens,
                deadline,
            };
            match self.try_group(&ask, req, route, &call, &mut attempts).await {
                Ok((response, deployment)) => {
                    return Ok(Routed {
                        response,
                        deployment,
                        attempts,
                    });
                }
                Err(e) => {
                    queue.extend(self.fallbacks_after(&group, &e, first_group, route));
                    last = Some(e);
                }
            }
            first_group = false;
        }
        let err =
            last.unwrap_or_else(|| Error::new(ErrorKind::NotFound, "no model group to route to"));
        Err(err.with_attempts(attempts))
    }

    /// Where to go when `group` failed with `e`: the context-window or
    /// content-policy fallbacks for those failures when the group has some,
    /// else the call's own fallbacks (first group only), else the group's.
    fn fallbacks_after(
        &self,
        group: &str,
        e: &Error,
        first_group: bool,
        route: &RouteOptions,
    ) -> Vec<String> {
        let s = &self.settings;
        let specific = match e.kind() {
            ErrorKind::ContextWindowExceeded => table(
                route.context_window_fallbacks.as_ref(),
                &s.context_window_fallbacks,
            )
            .get(group),
            ErrorKind::ContentPolicy => table(
                route.content_policy_fallbacks.as_ref(),
                &s.content_policy_fallbacks,
            )
            .get(group),
            _ => None,
        };
        match (specific, &route.fallbacks) {
            (Some(list), _) => list.clone(),
            (None, Some(list)) if first_group => list.clone(),
            (None, _) => s.fallbacks.get(group).cloned().unwrap_or_default(),
        }
    }

    /// Tries deployments of one group until one answers, the retry budget
    /// is spent, a failure is the request's own, or the deadline would pass.
    /// Waits (a Retry-After, a backoff, every deployment cooling) only when
    /// no untried deployment is ready, and only when the wait fits.
    async fn try_group<R, T, F, Fut>(
        &self,
        ask: &Ask<'_>,
        req: &R,
        route: &RouteOptions,
        call: &F,
        attempts: &mut Vec<Attempt>,
    ) -> Result<(T, String)>
    where
        R: Routable,
        F: Fn(Arc<Deployment>, R, Option<Duration>) -> Fut,
        Fut: std::future::Future<Output = Result<(T, u64)>>,
    {
        let retries = route.retries.unwrap_or(self.settings.retries);
        let mut tried: HashSet<usize> = HashSet::new();
        let mut failures = 0u32;
        let mut last: Option<Error> = None;
        loop {
            self.adopt_shared_cooldowns(ask.members).await;
            let now = self.clock.now();
            let left = ask.deadline.map(|d| d.saturating_sub(now));
            if left == Some(Duration::ZERO) {
                return Err(last.unwrap_or_else(|| {
                    Error::new(ErrorKind::Timeout, "the call's deadline passed")
                }));
            }
            let d = match self.choose(ask, &tried, now) {
                Ok(d) => d,
                Err(none) if !none.kind().is_retryable() => return Err(none),
                Err(none) => {
                    // Nothing can take it now: wait for the first to return, within budget.
                    failures += 1;
                    let wait = none.retry_after().unwrap_or_else(|| self.backoff(failures));
                    let cause = last.take().unwrap_or(none);
                    if failures > retries {
                        return Err(cause);
                    }
                    if !self.fits(wait, ask.deadline) {
                        return Err(cause.with_retry_after(Some(wait)));
                    }
                    self.clock.sleep(wait).await;
                    last = Some(cause);
                    continue;
                }
            };
            let dep = ask.members[d].clone();
            tried.insert(d);
            let attempt_req = req.for_model(&dep.model);
            dep.start(now, ask.tokens);
            let result = call(dep.clone(), attempt_req, left).await;
            let elapsed = self.clock.now().saturating_sub(now);
            // At a host the caller chose, the deployment's health is not measured.
            let elsewhere = route.api_base.is_some();
            let e = match result {
                Ok((response, extra_tokens)) => {
                    let latency = (!elsewhere).then_some(elapsed);
                    dep.succeed(latency, extra_tokens);
                    attempts.push(attempt(&dep, None, elapsed));
                    return Ok((response, dep.id.clone()));
                }
                Err(e) => e,
            };
            attempts.push(attempt(&dep, Some(&e), elapsed));
            if !e.kind().is_deployment_fault() {
                dep.release();
                return Err(e);
            }
            if elsewhere {
                dep.release();
            } else {
                self.count_failure(d, ask.members, &e).await;
            }
            failures += 1;
            if failures > retries {
                return Err(e);
            }
            let now = self.clock.now();
            let fresh = ask
                .members
                .iter()
                .enumerate()
                .any(|(i, m)| !tried.contains(&i) && m.cooling(now).is_none());
            if !fresh {
                if !e.kind().is_retryable() {
                    return Err(e);
                }
                // The same deployment again: wait as it asked, else back off with jitter.
                let wait = e.retry_after().unwrap_or_else(|| self.backoff(failures));
                if !self.fits(wait, ask.deadline) {
                    return Err(e);
                }
                self.clock.sleep(wait).await;
            }
            last = Some(e);
        }
    }

    /// Marks the members another Router has cooled down as cooling here too.
    async fn adopt_shared_cooldowns(&self, members: &[Arc<Deployment>]) {
        let Some(shared) = &self.shared else {
            return;
        };
        let ids: Vec<&str> = members.iter().map(|d| d.id.as_str()).collect();
        let left = shared.cooling(&ids).await;
        let now = self.clock.now();
        for (d, left) in members.iter().zip(left) {
            if let Some(left) = left {
                d.cool_until(now.saturating_add(left));
            }
        }
    }

    /// Counts a failure against member `d`, cooling it down if due —
    /// unless every other member of its group is cooling already.
    async fn count_failure(&self, d: usize, members: &[Arc<Deployment>], e: &Error) {
        let dep = &members[d];
        let cooled = {
            let _one_at_a_time = self.cool_lock.lock().unwrap_or_else(|p| p.into_inner());
            let now = self.clock.now();
            let another_healthy = members
                .iter()
                .enumerate()
                .any(|(i, m)| i != d && m.cooling(now).is_none());
            dep.fail(now, &self.settings, e.retry_after(), another_healthy)
        };
        if let (Some(left), Some(shared)) = (cooled, &self.shared) {
            shared.cool_down(&dep.id, left).await;
        }
    }

    /// Whether waiting `wait` leaves time before `deadline`, and is not
    /// longer than the Router sits out.
    fn fits(&self, wait: Duration, deadline: Option<Duration>) -> bool {
        wait <= self.settings.max_retry_wait_secs.get()
            && deadline.is_none_or(|d| self.clock.now().saturating_add(wait) < d)
    }

    /// Exponential backoff with full jitter in its upper half.
    fn backoff(&self, failures: u32) -> Duration {
        let base = self
            .settings
            .backoff_ms
            .saturating_mul(1u64 << failures.saturating_sub(1).min(16));
        let capped = base.min(self.settings.max_backoff_ms) as f64;
        // Finite and at most `max_backoff_ms`, so the cast cannot wrap.
        Duration::from_millis((capped * (0.5 + 0.5 * self.rng.next_f64())) as u64)
    }

    /// Picks a member of the group that can take the request now,
    /// preferring untried ones; its index in `ask.members`.
    fn choose(&self, ask: &Ask<'_>, tried: &HashSet<usize>, now: Duration) -> Result<usize> {
        let (group, tokens) = (ask.group, ask.tokens);
        let mut ready: Vec<(usize, View)> = Vec::with_capacity(ask.members.len());
        let (mut cooling, mut limited, mut too_small, mut busy) =
            (Vec::new(), Vec::new(), Vec::new(), 0);
        for (i, d) in ask.members.iter().enumerate() {
            if self.settings.pre_call_checks && d.context_window.is_some_and(|w| tokens > w) {
                too_small.push(d.context_window.unwrap_or(0));
                continue;
            }
            match d.check(now, tokens) {
                Ok(view) => ready.push((i, view)),
                Err(Unavailable::CoolingDown(left)) => cooling.push(left),
                Err(Unavailable::RateLimited(left)) => limited.push(left),
                Err(Unavailable::Busy) => busy += 1,
            }
        }
        let mut pool = if tried.is_empty() || ready.iter().all(|(i, _)| tried.contains(i)) {
            ready
        } else {
            ready
                .into_iter()
                .filter(|(i, _)| !tried.contains(i))
                .collect()
        };
        // litellm's `order`: the lowest order that can take it now goes first.
        let order = |i: usize| ask.members[i].order.unwrap_or(u32::MAX);
        if let Some(first) = pool.iter().map(|(i, _)| order(*i)).min() {
            pool.retain(|(i, _)| order(*i) == first);
        }
        let views: Vec<View> = pool.iter().map(|(_, v)| *v).collect();
        if let Some(k) = pick(self.settings.strategy, &views, self.rng.next_f64()) {
            return Ok(pool[k].0);
        }
        let n = ask.members.len();
        Err(if !too_small.is_empty() && too_small.len() == n {
            Error::new(
                ErrorKind::ContextWindowExceeded,
                format!(
                    "the request (~{tokens} tokens) fits no deployment of {group:?} (largest context window {})",
                    too_small.iter().max().unwrap_or(&0)
                ),
            )
        } else if let Some(first) = cooling
            .iter()
            .chain(limited.iter())
            .min()
            .filter(|_| busy == 0)
        {
            let kind = if limited.is_empty() {
                ErrorKind::ServiceUnavailable
            } else {
                ErrorKind::RateLimit
            };
            Error::new(
                kind,
                format!(
                    "all {n} deployment(s) of {group:?} are cooling down or at their rate limit; the first returns in {:.1}s",
                    first.as_secs_f64()
                ),
            )
            .with_retry_after(Some(*first))
        } else {
            Error::new(
                ErrorKind::RateLimit,
                format!("all {n} deployment(s) of {group:?} are at their parallel-request limit"),
            )
        })
    }

    /// Pick and bookkeeping only, no call: what the Router would choose for
    /// `group` now (for benchmarks and dry runs).
    pub fn pick_for(&self, group: &str, tokens: u64) -> Result<String> {
        let members = self
            .groups
            .get(group)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no model group {group:?}")))?;
        let now = self.clock.now();
        let ask = Ask {
            group,
            members,
            tokens,
            deadline: None,
        };
        let d = &members[self.choose(&ask, &HashSet::new(), now)?];
        d.start(now, tokens);
        d.succeed(Some(Duration::from_millis(1)), 0);
        Ok(d.id.clone())
    }
}

/// The call's own fallback table when it has one, else the Router's.
fn table<'a>(
    call: Option<&'a IndexMap<String, Vec<String>>>,
    own: &'a IndexMap<String, Vec<String>>,
) -> &'a IndexMap<String, Vec<String>> {
    call.unwrap_or(own)
}

fn attempt(dep: &Deployment, failed: Option<&Error>, duration: Duration) -> Attempt {
    Attempt {
        deployment: dep.id.clone(),
        model: dep.model.clone(),
        kind: failed.map(Error::kind),
        status: failed.and_then(Error::status),
        duration,
    }
}
