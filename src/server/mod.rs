//! The OpenAI-compatible proxy: `POST /v1/chat/completions` (JSON or SSE),
//! `POST /v1/embeddings`, `GET /v1/models`, litellm's `GET /v1/model/info`
//! and `GET /model_group/info`, health probes and Prometheus
//! `GET /metrics` (no key asked, like litellm's), in front of a
//! [`Router`](crate::Router). A thin shell: it parses requests, hands them
//! to the Router, and writes answers and errors the way the OpenAI API does.
//!
//! Rooms, imports pointing down this list:
//! - `config/`: the `[server]` table and the whole file, TOML or a litellm
//!   `config.yaml`; parsing only, it reads no other room.
//! - `accounts/`: virtual keys, their limits (reserved before a call,
//!   settled after, in process or through Redis) and the spend log; knows
//!   no HTTP (its failures are typed errors with a code).
//! - `record/`: the one record of each chat or embeddings call (below).
//! - `admin`: the key management routes over accounts.
//! - `http/`: routes, handlers, auth, bodies, errors, SSE, metrics, the
//!   boundary that catches panics, and the bounded connections and accept
//!   loops that serve them; reads the record, accounts and the config.
//! - `log`: the server's stderr lines, scrubbed; reads nothing.
//!
//! This file is the composition root: [`AppState`], built once from the
//! config, is what every room reads.
//!
//! **One call, one record, one path.** Every chat or embeddings call gets
//! one call record. Its handler opens it on arrival (route, start time) and
//! fills it as the call goes: the model group; the admission (the virtual
//! key, and what the accounts reserved against its budget and limits); the
//! deployment that served and every attempt, as the Router reports them
//! (every call goes through the Router, a client's own base URL being a
//! route option); the usage and cost, which the engine always learns (it
//! asks the provider for a stream's usage whenever the spec can, and shows
//! the caller the usage chunk only when asked); a stream's time to its
//! first chunk. The record is finished exactly once, by whoever holds it
//! last: the handler (a JSON answer, a refusal, an error), the stream
//! wrapper (end, error, cut, or the client going away), or the unwinding of
//! a panic. Finishing settles the admission with the accounts (reservation
//! and spend row), then tells the observers the state holds: the metrics,
//! and any logging callback added later ([`AppState::with_observer`]). A
//! request refused at the door (a wrong key) leaves a record too, which is
//! never admitted and so settles nothing.
//!
//! [`app`] is a pure function of the state, so tests drive it with
//! `tower::ServiceExt::oneshot` and no socket; [`serve`] puts it on one.
//!
//! ```no_run
//! # async fn run() -> switchboard::Result<()> {
//! use std::sync::Arc;
//! use switchboard::Client;
//! use switchboard::server::{AppState, ServerConfig, serve};
//!
//! let config = ServerConfig::one_model("gpt-4o-mini");
//! let state = Arc::new(AppState::new(Client::new()?, config)?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await.unwrap();
//! serve(listener, state, std::future::pending()).await.unwrap();
//! # Ok(()) }
//! ```

mod accounts;
mod admin;
mod config;
mod http;
pub(crate) mod log;
mod record;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use accounts::{SpendRow, Store, StoreOptions, WallClock};
#[cfg_attr(not(feature = "python"), allow(unused_imports))]
pub(crate) use config::litellm_model;
pub use config::{ServerConfig, ServerSettings};
pub use http::{ClientIp, app, serve, serve_workers};

use crate::client::Client;
use crate::error::Result;
use crate::redact::Redactor;
use accounts::Caller;
use http::body;
use record::Recorder;

/// What every request handler shares: the Router and the server settings.
pub struct AppState {
    router: crate::Router,
    /// The model groups served, sorted.
    groups: Vec<String>,
    /// The resolved master key; None asks for no key.
    master_key: Option<String>,
    /// The `[server]` table, checked.
    settings: ServerSettings,
    /// The secrets no error body, stream event or log line may show.
    redactor: Redactor,
    /// What `GET /metrics` reports.
    metrics: Arc<http::Metrics>,
    /// Opens each call's record; its observers (the metrics first) are told
    /// of every finished call.
    recorder: Recorder,
    /// Virtual keys, their limits and the spend log (with Redis, the
    /// fleet's limits).
    accounts: accounts::Accounts,
    /// `[server] allowed-ips`, parsed; None: every address may call.
    allowed_ips: Option<Vec<ipnet::IpNet>>,
    /// The front doors served beside OpenAI chat (`ingress/*.toml`).
    doors: crate::ingress::Doors,
}

impl AppState {
    /// A Router over `config`'s deployments, and the server's settings.
    /// Environment references (keys) are read here, once.
    pub fn new(client: Client, mut config: ServerConfig) -> Result<Self> {
        config.proxy_defaults();
        let router = crate::Router::new(client.clone(), config.router.clone())?;
        Self::with_router(client, router, config)
    }

    /// Same, with a Router built by the caller (an injected clock, say); it
    /// should be built from `config.router` after
    /// [`ServerConfig::proxy_defaults`].
    pub fn with_router(
        client: Client,
        router: crate::Router,
        mut config: ServerConfig,
    ) -> Result<Self> {
        config.proxy_defaults();
        config.server.check()?;
        let master_key = config
            .server
            .master_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .map(|k| config::resolve_secret(k, "the master key"))
            .transpose()?;
        let redactor = Redactor::new(
            master_key
                .iter()
                .cloned()
                .chain(config::deployment_secrets(&client, &config.router)),
        );
        let groups = router.groups().into_iter().map(str::to_string).collect();
        let metrics = Arc::new(http::Metrics::new());
        let allowed_ips = Some(config::parse_allowed_ips(&config.server.allowed_ips)?)
            .filter(|list| !list.is_empty());
        Ok(AppState {
            allowed_ips,
            router,
            groups,
            master_key,
            settings: config.server,
            redactor,
            recorder: Recorder::new(vec![metrics.clone()]),
            metrics,
            accounts: accounts::Accounts::default(),
            doors: crate::ingress::Doors::builtin()?,
        })
    }

    /// Tells `observer` of every finished call, after the metrics: the seam
    /// for logging callbacks.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn with_observer(mut self, observer: Arc<dyn record::Observer>) -> Self {
        self.recorder = self.recorder.with(observer);
        self
    }

    /// Keeps virtual keys and the spend log in `store`.
    pub fn with_store(mut self, store: Store) -> Self {
        self.accounts.set_store(store);
        self
    }

    /// Shares virtual keys' rate windows and running spend, and the
    /// Router's cooldowns, with every instance using the Redis at `url`
    /// (`redis://host:port/db`, or `env:NAME`), so a fleet behind a load
    /// balancer enforces one limit.
    pub async fn with_redis(self, url: &str) -> Result<Self> {
        self.with_redis_prefix(url, accounts::DEFAULT_PREFIX).await
    }

    /// Same, with every Redis key starting with `prefix` instead of `sb:`
    /// (separate fleets, or tests, on one Redis).
    pub async fn with_redis_prefix(mut self, url: &str, prefix: &str) -> Result<Self> {
        let url = config::resolve_secret(url, "the Redis URL")?;
        let shared = accounts::Shared::connect(&url, prefix).await?;
        self.router = self.router.with_shared_cooldowns(Arc::new(shared.clone()));
        self.accounts.set_shared(shared);
        Ok(self)
    }

    /// Writes every pending spend row (graceful shutdown calls it).
    pub async fn flush(&self) {
        self.accounts.flush().await;
    }

    /// The model groups served, sorted.
    pub fn groups(&self) -> Vec<&str> {
        self.groups.iter().map(String::as_str).collect()
    }

    /// The secrets this server keeps out of what it sends and logs (the
    /// master key, the deployments' keys), with credential-looking text.
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Whether `group` is a model group served.
    pub(crate) fn has_group(&self, group: &str) -> bool {
        self.groups
            .binary_search_by(|g| g.as_str().cmp(group))
            .is_ok()
    }

    /// The model groups `caller`'s virtual key may use, sorted (all of them
    /// without one).
    pub(crate) fn groups_for(&self, caller: Option<&Caller>) -> Vec<&str> {
        let groups = self.groups.iter().map(String::as_str);
        match caller {
            None => groups.collect(),
            Some(Caller(key)) => key.with_record(|r| groups.filter(|g| r.may_call(g)).collect()),
        }
    }

    /// How much of a request body is read, and for how long.
    pub(crate) fn body_limits(&self) -> body::Limits {
        body::Limits {
            max_bytes: self.settings.max_body_bytes,
            timeout: self.settings.body_read_timeout_secs.get(),
        }
    }
}
