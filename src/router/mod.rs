//! The Router: model groups of deployments, a strategy to pick one, retries
//! with backoff that honour Retry-After, cooldowns that end by themselves
//! (never for a group's last healthy deployment), fallbacks between groups
//! (general, context-window, content-policy), and pre-call checks. A call's
//! deadline holds across all of it: each attempt gets only what is left, and
//! a wait that does not fit ends the call at once. Every answer says which
//! deployment served it; a final error carries every attempt. Parses no
//! provider JSON: it calls `Client`.

mod clock;
mod config;
mod deployment;
mod routable;
mod shared;
mod strategy;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;

pub use clock::{Clock, ManualClock, Rng, TokioClock};
pub use config::{DeploymentConfig, RouterConfig, Settings};
#[cfg_attr(not(feature = "server"), allow(unused_imports))]
pub(crate) use config::{parse_toml, resolve_secret};
pub use shared::SharedCooldowns;
pub use strategy::{Strategy, View, pick};

use crate::client::{CallOptions, ChatStream, Client};
use crate::duration::Seconds;
use crate::error::{Attempt, Error, ErrorKind, Result};
use crate::types::{ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};
use deployment::{Deployment, Unavailable};
use routable::Routable;

/// Per-call routing options.
#[derive(Clone, Default)]
pub struct RouteOptions {
    /// Groups to try, in order, when the requested one fails (replaces the configured ones).
    pub fallbacks: Option<Vec<String>>,
    /// Retries within a group (replaces the configured number).
    pub retries: Option<u32>,
    /// The deadline of this call: every attempt, wait and fallback fits in
    /// it (replaces `[router] timeout-secs`; for a stream, up to its first chunk).
    pub timeout: Option<Duration>,
    /// A base URL the caller chose (a proxy's client, when its config
    /// allows): every attempt goes there, with the picked deployment's
    /// model, key and settings. Its failures are the host's, not the
    /// deployment's: they cool no deployment down and feed no latency.
    pub api_base: Option<String>,
}

impl std::fmt::Debug for RouteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteOptions")
            .field("fallbacks", &self.fallbacks)
            .field("retries", &self.retries)
            .field("timeout", &self.timeout)
            .field(
                "api_base",
                &self.api_base.as_deref().map(crate::redact::display_url),
            )
            .finish()
    }
}

/// A response and who served it.
#[derive(Debug, Clone)]
pub struct Routed<T> {
    pub response: T,
    /// The serving deployment's id.
    pub deployment: String,
    /// Every attempt, the successful one last.
    pub attempts: Vec<Attempt>,
}

/// A deployment in cooldown, as [`Router::cooling`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cooling {
    pub group: String,
    pub deployment: String,
    /// How much longer it cools down.
    pub left: Duration,
}

/// Routes requests for model groups to deployments.
pub struct Router {
    client: Client,
    deployments: Vec<Arc<Deployment>>,
    groups: HashMap<String, Vec<usize>>,
    settings: Settings,
    clock: Arc<dyn Clock>,
    rng: Rng,
    /// Cooldowns shared with other Routers; None: this process only.
    shared: Option<Arc<dyn SharedCooldowns>>,
    /// Held while a failure decides whether to cool its deployment, so two
    /// failing at once cannot both think the other is the group's last healthy one.
    cool_lock: Mutex<()>,
}

impl Router {
    /// A Router over `config`, calling through `client`, on real time.
    pub fn new(client: Client, config: RouterConfig) -> Result<Self> {
        Self::with_clock(
            client,
            config,
            Arc::new(TokioClock::default()),
            Rng::from_time(),
        )
    }

    /// Same, with an injected clock and random source (for deterministic tests).
    pub fn with_clock(
        client: Client,
        config: RouterConfig,
        clock: Arc<dyn Clock>,
        rng: Rng,
    ) -> Result<Self> {
        config.router.check()?;
        let mut deployments = Vec::new();
        let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
        for (n, d) in config.deployments.iter().enumerate() {
            let (spec, name) = client.registry().resolve(&d.model)?;
            let info = client.catalog().model_info(spec.id(), &name);
            let options = d.call_options(&config.router)?;
            let id = d.id_at(n);
            groups
                .entry(d.group.clone())
                .or_default()
                .push(deployments.len());
            deployments.push(Arc::new(Deployment::new(
                id,
                d.model.clone(),
                options,
                d.weight,
                (d.rpm, d.tpm, d.max_parallel),
                info.and_then(|i| i.context_window),
                info.and_then(|i| Some(i.input? + i.output?)),
            )));
        }
        for (kind, table) in [
            ("fallbacks", &config.router.fallbacks),
            (
                "context-window-fallbacks",
                &config.router.context_window_fallbacks,
            ),
            (
                "content-policy-fallbacks",
                &config.router.content_policy_fallbacks,
            ),
        ] {
            for name in table.keys().chain(table.values().flatten()) {
                if !groups.contains_key(name) {
                    return Err(Error::bad_request(format!(
                        "router {kind}: no deployments in group {name:?}"
                    )));
                }
            }
        }
        Ok(Router {
            client,
            deployments,
            groups,
            settings: config.router,
            clock,
            rng,
            shared: None,
            cool_lock: Mutex::new(()),
        })
    }

    /// Shares cooldowns through `shared`: consulted before each pick,
    /// told of every cooldown this Router starts.
    pub fn with_shared_cooldowns(mut self, shared: Arc<dyn SharedCooldowns>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Marks the members another Router has cooled down as cooling here too.
    async fn adopt_shared_cooldowns(&self, members: &[usize]) {
        let Some(shared) = &self.shared else {
            return;
        };
        let ids: Vec<&str> = members
            .iter()
            .map(|&i| self.deployments[i].id.as_str())
            .collect();
        let left = shared.cooling(&ids).await;
        let now = self.clock.now();
        for (&i, left) in members.iter().zip(left) {
            if let Some(left) = left {
                self.deployments[i].cool_until(now.saturating_add(left));
            }
        }
    }

    /// The model groups, sorted.
    pub fn groups(&self) -> Vec<&str> {
        let mut g: Vec<&str> = self.groups.keys().map(String::as_str).collect();
        g.sort_unstable();
        g
    }

    /// Every deployment in cooldown now (in this process's view), by group
    /// then deployment: what a readiness check reports.
    pub fn cooling(&self) -> Vec<Cooling> {
        let now = self.clock.now();
        let mut out: Vec<Cooling> = self
            .groups
            .iter()
            .flat_map(|(group, members)| {
                members.iter().filter_map(move |&i| {
                    let d = &self.deployments[i];
                    d.cooling(now).map(|left| Cooling {
                        group: group.clone(),
                        deployment: d.id.clone(),
                        left,
                    })
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.group, &a.deployment).cmp(&(&b.group, &b.deployment)));
        out
    }

    /// Each deployment of `group` (its `provider/model`) with the catalog
    /// entry its calls are priced at, None where nothing prices it: what a
    /// budget reserves against before a call. None for an unknown group.
    pub fn deployment_prices(
        &self,
        group: &str,
    ) -> Option<Vec<(&str, Option<&'static crate::cost::ModelInfo>)>> {
        let members = self.groups.get(group)?;
        let price = |model: &str| self.client.model_info(model).filter(|i| i.is_priced());
        Some(
            members
                .iter()
                .map(|&i| {
                    (
                        self.deployments[i].model.as_str(),
                        price(&self.deployments[i].model),
                    )
                })
                .collect(),
        )
    }

    /// A chat completion for the group named by `req.model`.
    pub async fn completion(
        &self,
        req: &ChatRequest,
        route: &RouteOptions,
    ) -> Result<Routed<ChatResponse>> {
        self.route(req, route, |d, req, left| async move {
            let opts = attempt_options(&d.options, left, route);
            let resp = self.client.completion(&req, &opts).await?;
            let tokens = resp.usage.as_ref().map_or(0, |u| u.completion_tokens);
            Ok((resp, tokens))
        })
        .await
    }

    /// Embeddings for the group named by `req.model`, with the same retries and fallbacks.
    pub async fn embedding(
        &self,
        req: &EmbeddingRequest,
        route: &RouteOptions,
    ) -> Result<Routed<EmbeddingResponse>> {
        self.route(req, route, |d, req, left| async move {
            let opts = attempt_options(&d.options, left, route);
            Ok((self.client.embedding(&req, &opts).await?, 0))
        })
        .await
    }

    /// A streamed completion, returned once its first chunk has arrived
    /// ([`ChatStream::has_first_chunk`]). A failure before the first chunk
    /// retries or falls back (or is this call's error); after it, the stream
    /// ends with an error item, never a silent switch to another deployment
    /// mid-answer.
    pub async fn stream(
        &self,
        req: &ChatRequest,
        route: &RouteOptions,
    ) -> Result<Routed<ChatStream>> {
        let first_token = self.settings.first_token_timeout_secs.map(Seconds::get);
        self.route(req, route, |d, req, left| async move {
            let opts = attempt_options(&d.options, left, route);
            let mut stream = self.client.stream(&req, &opts).await?;
            let limit = match (first_token, left) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let first = match limit {
                Some(limit) => tokio::time::timeout(limit, stream.next())
                    .await
                    .map_err(|_| {
                        Error::new(
                            ErrorKind::Timeout,
                            format!("no first chunk within {}s", limit.as_secs_f64()),
                        )
                    })?,
                None => stream.next().await,
            };
            let first: ChatChunk = match first {
                Some(Ok(c)) => c,
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(Error::new(
                        ErrorKind::Connection,
                        "the stream ended before its first chunk",
                    ));
                }
            };
            Ok((ChatStream::prepend(first, stream), 0))
        })
        .await
    }

    /// Tries the group, then its fallbacks, collecting every attempt, all
    /// within the call's deadline when it has one. `call` gets the
    /// deployment, its request and the time left.
    async fn route<R, T, F, Fut>(&self, req: &R, route: &RouteOptions, call: F) -> Result<Routed<T>>
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
        let mut queue = VecDeque::from([req.group().to_string()]);
        let mut seen = HashSet::new();
        let mut last: Option<Error> = None;
        let mut first_group = true;
        while let Some(group) = queue.pop_front() {
            if !seen.insert(group.clone()) {
                continue;
            }
            let Some(members) = self.groups.get(&group) else {
                last = Some(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "no model group {group:?} (groups: {})",
                        self.groups().join(", ")
                    ),
                ));
                continue;
            };
            let ask = Ask {
                group: &group,
                members,
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
                    let next: Vec<String> = match e.kind() {
                        ErrorKind::ContextWindowExceeded => self
                            .settings
                            .context_window_fallbacks
                            .get(&group)
                            .cloned()
                            .unwrap_or_default(),
                        ErrorKind::ContentPolicy => self
                            .settings
                            .content_policy_fallbacks
                            .get(&group)
                            .cloned()
                            .unwrap_or_default(),
                        _ if first_group && route.fallbacks.is_some() => {
                            route.fallbacks.clone().unwrap_or_default()
                        }
                        _ => self
                            .settings
                            .fallbacks
                            .get(&group)
                            .cloned()
                            .unwrap_or_default(),
                    };
                    queue.extend(next);
                    last = Some(e);
                }
            }
            first_group = false;
        }
        let err =
            last.unwrap_or_else(|| Error::new(ErrorKind::NotFound, "no model group to route to"));
        Err(err.with_attempts(attempts))
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
            let d = match self.choose(ask.group, ask.members, ask.tokens, &tried, now) {
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
            let dep = self.deployments[d].clone();
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
                .any(|&i| !tried.contains(&i) && self.deployments[i].cooling(now).is_none());
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

    /// Counts a failure against deployment `d`, cooling it down if due —
    /// unless every other member of its group is cooling already.
    async fn count_failure(&self, d: usize, members: &[usize], e: &Error) {
        let dep = &self.deployments[d];
        let cooled = {
            let _one_at_a_time = self.cool_lock.lock().unwrap_or_else(|p| p.into_inner());
            let now = self.clock.now();
            let another_healthy = members
                .iter()
                .any(|&i| i != d && self.deployments[i].cooling(now).is_none());
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

    /// Picks a deployment of the group that can take the request now, preferring untried ones.
    fn choose(
        &self,
        group: &str,
        members: &[usize],
        tokens: u64,
        tried: &HashSet<usize>,
        now: Duration,
    ) -> Result<usize> {
        let mut ready: Vec<(usize, View)> = Vec::with_capacity(members.len());
        let (mut cooling, mut limited, mut too_small, mut busy) =
            (Vec::new(), Vec::new(), Vec::new(), 0);
        for &i in members {
            let d = &self.deployments[i];
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
        let pool = if tried.is_empty() || ready.iter().all(|(i, _)| tried.contains(i)) {
            ready
        } else {
            ready
                .into_iter()
                .filter(|(i, _)| !tried.contains(i))
                .collect()
        };
        let views: Vec<View> = pool.iter().map(|(_, v)| *v).collect();
        if let Some(k) = pick(self.settings.strategy, &views, self.rng.next_f64()) {
            return Ok(pool[k].0);
        }
        let n = members.len();
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
        let i = self.choose(group, members, tokens, &HashSet::new(), now)?;
        let d = &self.deployments[i];
        d.start(now, tokens);
        d.succeed(Some(Duration::from_millis(1)), 0);
        Ok(d.id.clone())
    }
}

/// One group's routing problem: who may serve, how big, by when.
struct Ask<'a> {
    group: &'a str,
    members: &'a [usize],
    tokens: u64,
    /// When the call must end, on the Router's clock.
    deadline: Option<Duration>,
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

/// A deployment's call options for one attempt: its own timeout, cut to
/// what is `left` of the call's deadline, and the caller's base URL if it
/// chose one (copied only when one of those changes them).
fn attempt_options<'a>(
    options: &'a CallOptions,
    left: Option<Duration>,
    route: &RouteOptions,
) -> Cow<'a, CallOptions> {
    let cut = left.filter(|&left| options.timeout.is_none_or(|t| t > left));
    if cut.is_none() && route.api_base.is_none() {
        return Cow::Borrowed(options);
    }
    let mut o = options.clone();
    if cut.is_some() {
        o.timeout = cut;
    }
    if let Some(base) = &route.api_base {
        o.api_base = Some(base.clone());
    }
    Cow::Owned(o)
}
