//! The OpenAI-compatible proxy: `POST /v1/chat/completions` (JSON or SSE),
//! `POST /v1/embeddings`, `GET /v1/models`, health probes and Prometheus
//! `GET /metrics` (no key asked, like litellm's), in front of a
//! [`Router`](crate::Router). A thin shell: it parses requests, hands them
//! to the Router, and writes answers and errors the way the OpenAI API does.
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

mod admin;
mod auth;
mod body;
mod config;
mod db;
mod direct;
mod error;
mod handlers;
mod keys;
mod litellm;
mod metrics;
mod shared;
mod spend;
mod sse;

use std::future::Future;
use std::sync::Arc;

use axum::middleware;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

pub use config::{ServerConfig, ServerSettings};
pub use db::Store;
pub use spend::SpendRow;

use crate::client::Client;
use crate::error::Result;
use direct::Direct;

/// What every request handler shares: the Router and the server settings.
pub struct AppState {
    router: crate::Router,
    /// The same deployments, called one by one (embeddings, client base URLs).
    direct: Direct,
    /// The resolved master key; None asks for no key.
    master_key: Option<String>,
    max_body_bytes: usize,
    allow_client_api_base: bool,
    /// What `GET /metrics` reports.
    metrics: Arc<metrics::Metrics>,
    /// Virtual keys and the spend log; None: neither.
    store: Option<Store>,
    /// Rate windows, spend and cooldowns shared through Redis; None: in-process.
    shared: Option<shared::Shared>,
}

impl AppState {
    /// A Router over `config`'s deployments, and the server's settings.
    /// Environment references (keys) are read here, once.
    pub fn new(client: Client, config: ServerConfig) -> Result<Self> {
        let router = crate::Router::new(client.clone(), config.router.clone())?;
        Self::with_router(client, router, config)
    }

    /// Same, with a Router built by the caller (an injected clock, say); it
    /// should be built from `config.router`.
    pub fn with_router(
        client: Client,
        router: crate::Router,
        config: ServerConfig,
    ) -> Result<Self> {
        let master_key = config
            .server
            .master_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .map(|k| config::resolve_secret(k, "the master key"))
            .transpose()?;
        Ok(AppState {
            router,
            direct: Direct::new(client, &config.router)?,
            master_key,
            max_body_bytes: config.server.max_body_bytes,
            allow_client_api_base: config.server.allow_client_api_base,
            metrics: Arc::new(metrics::Metrics::new()),
            store: None,
            shared: None,
        })
    }

    /// Keeps virtual keys and the spend log in `store`.
    pub fn with_store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Shares virtual keys' rate windows and running spend, and the
    /// Router's cooldowns, with every instance using the Redis at `url`
    /// (`redis://host:port/db`, or `env:NAME`), so a fleet behind a load
    /// balancer enforces one limit.
    pub async fn with_redis(self, url: &str) -> Result<Self> {
        self.with_redis_prefix(url, shared::DEFAULT_PREFIX).await
    }

    /// Same, with every Redis key starting with `prefix` instead of `sb:`
    /// (separate fleets, or tests, on one Redis).
    pub async fn with_redis_prefix(mut self, url: &str, prefix: &str) -> Result<Self> {
        let url = config::resolve_secret(url, "the Redis URL")?;
        let shared = shared::Shared::connect(&url, prefix).await?;
        self.router = self.router.with_shared_cooldowns(Arc::new(shared.clone()));
        self.shared = Some(shared);
        Ok(self)
    }

    /// Writes every pending spend row (graceful shutdown calls it).
    pub async fn flush(&self) {
        if let Some(store) = &self.store {
            store.flush().await;
        }
    }

    /// The model groups served, sorted.
    pub fn groups(&self) -> Vec<&str> {
        self.router.groups()
    }
}

/// The HTTP routes over `state`.
pub fn app(state: Arc<AppState>) -> axum::Router {
    let api = axum::Router::new()
        .route("/v1/chat/completions", post(handlers::chat))
        .route("/chat/completions", post(handlers::chat))
        .route("/v1/embeddings", post(handlers::embeddings))
        .route("/embeddings", post(handlers::embeddings))
        .route("/v1/models", get(handlers::models))
        .route("/models", get(handlers::models))
        .route("/v1/models/{*model}", get(handlers::model))
        .route("/models/{*model}", get(handlers::model))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_master_key,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ));
    let health = axum::Router::new()
        .route("/health/liveliness", get(handlers::liveliness))
        .route("/health/liveness", get(handlers::liveliness))
        .route("/health/readiness", get(handlers::readiness))
        .route("/metrics", get(metrics::render));
    api.merge(health)
        .merge(admin::routes(state.clone()))
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::wrong_method)
        .with_state(state)
}

/// Serves [`app`] on `listener` (TCP_NODELAY on every connection, so each
/// stream event leaves at once) until `shutdown` resolves; then, the calls
/// in flight answered, writes the spend log's pending rows.
pub async fn serve<F>(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let listener = listener.tap_io(|tcp| {
        // Without it, small SSE events can wait for the peer's delayed ACK.
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    // Every call has answered: write what the spend log still holds.
    state.flush().await;
    served
}
