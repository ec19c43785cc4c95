//! The Router: model groups of deployments, a strategy to pick one, retries
//! with backoff that honour Retry-After, cooldowns that end by themselves,
//! fallbacks between groups (general, context-window, content-policy), and
//! pre-call checks. Every answer says which deployment served it; a final
//! error carries every attempt. Parses no provider JSON: it calls `Client`.

mod clock;
mod config;
mod deployment;
mod shared;
mod strategy;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

pub use clock::{Clock, ManualClock, Rng, TokioClock};
pub(crate) use config::resolve_secret;
pub use config::{DeploymentConfig, RouterConfig, Settings};
pub use shared::SharedCooldowns;
pub use strategy::{Strategy, View, pick};

use crate::client::{ChatStream, Client};
use crate::cost::estimate_tokens;
use crate::error::{Attempt, Error, ErrorKind, Result};
use crate::types::{
    ChatChunk, ChatRequest, ChatResponse, EmbeddingInput, EmbeddingRequest, EmbeddingResponse,
};
use deployment::{Deployment, Unavailable};

/// Per-call routing options.
#[derive(Debug, Clone, Default)]
pub struct RouteOptions {
    /// Groups to try, in order, when the requested one fails (replaces the configured ones).
    pub fallbacks: Option<Vec<String>>,
    /// Retries within a group (replaces the configured number).
    pub retries: Option<u32>,
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

/// A request the Router can route: it names its group and its size.
trait Routable: Clone {
    fn group(&self) -> &str;
    /// Prompt tokens, estimated (a token per four characters: no tokenizer
    /// is loaded on the request path), for pre-call checks and tpm limits.
    fn tokens(&self) -> u64;
    /// The same request for one deployment's provider-side model.
    fn for_model(&self, model: &str) -> Self;
}

impl Routable for ChatRequest {
    fn group(&self) -> &str {
        &self.model
    }

    fn tokens(&self) -> u64 {
        estimate_tokens(&self.messages)
    }

    fn for_model(&self, model: &str) -> Self {
        ChatRequest {
            model: model.to_string(),
            ..self.clone()
        }
    }
}

impl Routable for EmbeddingRequest {
    fn group(&self) -> &str {
        &self.model
    }

    fn tokens(&self) -> u64 {
        let chars: usize = match &self.input {
            EmbeddingInput::One(s) => s.len(),
            EmbeddingInput::Many(v) => v.iter().map(String::len).sum(),
            EmbeddingInput::Tokens(t) => t.len() * 4,
            EmbeddingInput::TokenLists(t) => t.iter().map(Vec::len).sum::<usize>() * 4,
        };
        chars.div_ceil(4) as u64
    }

    fn for_model(&self, model: &str) -> Self {
        EmbeddingRequest {
            model: model.to_string(),
            ..self.clone()
        }
    }
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
        let mut deployments = Vec::new();
        let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
        for (n, d) in config.deployments.iter().enumerate() {
            let (spec, name) = client.registry().resolve(&d.model)?;
            let info = client.catalog().model_info(spec.id(), &name);
            let options = d.call_options(config.router.timeout_secs)?;
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
                self.deployments[i].cool_until(now + left);
            }
        }
    }

    /// The model groups, sorted.
    pub fn groups(&self) -> Vec<&str> {
        let mut g: Vec<&str> = self.groups.keys().map(String::as_str).collect();
        g.sort_unstable();
        g
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
        self.route(req, route, |d, req| async move {
            let resp = self.client.completion(&req, &d.options).await?;
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
        self.route(req, route, |d, req| async move {
            Ok((self.client.embedding(&req, &d.options).await?, 0))
        })
        .await
    }

    /// A streamed completion. A failure before the first chunk retries or
    /// falls back; after it, the stream ends with an error item, never a
    /// silent switch to another deployment mid-answer.
    pub async fn stream(
        &self,
        req: &ChatRequest,
        route: &RouteOptions,
    ) -> Result<Routed<ChatStream>> {
        let first_token = self
            .settings
            .first_token_timeout_secs
            .map(Duration::from_secs_f64);
        self.route(req, route, |d, req| async move {
            let mut stream = self.client.stream(&req, &d.options).await?;
            let first = match first_token {
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

    /// Tries the group, then its fallbacks, collecting every attempt.
    async fn route<R, T, F, Fut>(&self, req: &R, route: &RouteOptions, call: F) -> Result<Routed<T>>
    where
        R: Routable,
        F: Fn(Arc<Deployment>, R) -> Fut,
        Fut: std::future::Future<Output = Result<(T, u64)>>,
    {
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
            match self
                .try_group(&group, members, req, tokens, route, &call, &mut attempts)
                .await
            {
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

    #[allow(clippy::too_many_arguments)]
    async fn try_group<R, T, F, Fut>(
        &self,
        group: &str,
        members: &[usize],
        req: &R,
        tokens: u64,
        route: &RouteOptions,
        call: &F,
        attempts: &mut Vec<Attempt>,
    ) -> Result<(T, String)>
    where
        R: Routable,
        F: Fn(Arc<Deployment>, R) -> Fut,
        Fut: std::future::Future<Output = Result<(T, u64)>>,
    {
        let retries = route.retries.unwrap_or(self.settings.retries);
        let mut tried: HashSet<usize> = HashSet::new();
        let mut failures = 0u32;
        loop {
            self.adopt_shared_cooldowns(members).await;
            let now = self.clock.now();
            let d = self.choose(group, members, tokens, &tried, now)?;
            let dep = self.deployments[d].clone();
            tried.insert(d);
            let attempt_req = req.for_model(&dep.model);
            dep.start(now, tokens);
            let result = call(dep.clone(), attempt_req).await;
            let elapsed = self.clock.now().saturating_sub(now);
            match result {
                Ok((response, extra_tokens)) => {
                    dep.succeed(elapsed, extra_tokens);
                    attempts.push(Attempt {
                        deployment: dep.id.clone(),
                        model: dep.model.clone(),
                        kind: None,
                        status: None,
                        duration: elapsed,
                    });
                    return Ok((response, dep.id.clone()));
                }
                Err(e) => {
                    attempts.push(Attempt {
                        deployment: dep.id.clone(),
                        model: dep.model.clone(),
                        kind: Some(e.kind()),
                        status: e.status(),
                        duration: elapsed,
                    });
                    // The deployment's own fault (its key, its limits, its health) counts against it.
                    let its_fault = e.kind().is_retryable()
                        || matches!(
                            e.kind(),
                            ErrorKind::Authentication
                                | ErrorKind::PermissionDenied
                                | ErrorKind::NotFound
                        );
                    if its_fault {
                        let cooled = dep.fail(self.clock.now(), &self.settings, e.retry_after());
                        if let (Some(left), Some(shared)) = (cooled, &self.shared) {
                            shared.cool_down(&dep.id, left).await;
                        }
                    } else {
                        dep.release();
                        return Err(e);
                    }
                    failures += 1;
                    if failures > retries {
                        return Err(e);
                    }
                    let untried = members.iter().any(|i| !tried.contains(i));
                    if !untried {
                        // Same deployment again: wait as it asked, else back off with jitter.
                        let wait = e.retry_after().unwrap_or_else(|| self.backoff(failures));
                        self.clock.sleep(wait).await;
                    }
                    if !e.kind().is_retryable() && !untried {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Exponential backoff with full jitter in its upper half.
    fn backoff(&self, failures: u32) -> Duration {
        let base = self
            .settings
            .backoff_ms
            .saturating_mul(1u64 << failures.saturating_sub(1).min(16));
        let capped = base.min(self.settings.max_backoff_ms) as f64;
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
        d.succeed(Duration::from_millis(1), 0);
        Ok(d.id.clone())
    }
}
