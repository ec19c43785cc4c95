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

mod accounts;
mod admin;
mod auth;
mod body;
mod config;
mod direct;
mod error;
mod handlers;
mod litellm;
mod metrics;
mod sse;

use std::future::Future;
use std::sync::Arc;

use axum::middleware;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

pub use accounts::{SpendRow, Store, StoreOptions, WallClock};
pub use config::{ServerConfig, ServerSettings};

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
    /// Virtual keys, their limits and the spend log (with Redis, the
    /// fleet's limits).
    accounts: accounts::Accounts,
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
            accounts: accounts::Accounts::default(),
        })
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
    let served = serve_until(listener, state.clone(), shutdown).await;
    // Every call has answered: write what the spend log still holds.
    state.flush().await;
    served
}

/// Serves until `shutdown`, with no final flush.
async fn serve_until<F>(
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
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves [`app`] on `addr` from `workers` threads (at least one: the
/// caller's). Each thread runs its own single-threaded runtime and accepts
/// on its own socket bound to the same address with SO_REUSEPORT, so the
/// kernel spreads connections over the threads and a request is handled
/// start to end on one thread, with no hand-off between threads. Call it on
/// a current-thread runtime: that runtime is the first worker and keeps
/// running what the state started on it (the spend log's writer, the Redis
/// connection). `bound` learns the address once it is listened on (port 0
/// picks one). When `shutdown` resolves every worker stops accepting,
/// finishes its calls in flight, and then the spend log is written.
pub async fn serve_workers<F>(
    addr: std::net::SocketAddr,
    workers: usize,
    state: Arc<AppState>,
    shutdown: F,
    bound: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let workers = if cfg!(unix) { workers.max(1) } else { 1 };
    // A plain bind first: a port another process holds is refused as
    // usual (SO_REUSEPORT would share it), and port 0 gets its number.
    let addr = std::net::TcpListener::bind(addr)?.local_addr()?;
    let first = bind_shared(addr, workers > 1)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut threads = Vec::with_capacity(workers - 1);
    let mut listening = Vec::with_capacity(workers - 1);
    for n in 1..workers {
        let state = state.clone();
        let mut stopped = stopped.clone();
        let (ready, is_ready) = tokio::sync::oneshot::channel::<std::io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name(format!("switchboard-worker-{n}"))
            .spawn(move || -> std::io::Result<()> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    // A failure to bind is reported through `ready`.
                    let listener = match bind_shared(addr, true) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return Ok(());
                        }
                    };
                    let _ = ready.send(Ok(()));
                    let until = async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    };
                    serve_until(listener, state, until).await
                })
            })?;
        threads.push(thread);
        listening.push(is_ready);
    }
    // Announced once every thread listens.
    for is_ready in listening {
        is_ready
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("a serving thread did not start")))?;
    }
    bound(addr);
    let stop_all = stop.clone();
    let until = async move {
        shutdown.await;
        let _ = stop_all.send(true);
    };
    let served = serve_until(first, state.clone(), until).await;
    // Also when this worker failed: the others stop too.
    let _ = stop.send(true);
    let joined = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a serving thread panicked")))
            })
            .collect::<std::io::Result<Vec<()>>>()
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    // Every call has answered on every thread: write the spend log.
    state.flush().await;
    served.and(joined.map(drop))
}

/// A listening socket on `addr`, shareable by other sockets of this
/// process on the same address when `shared` (SO_REUSEPORT).
fn bind_shared(addr: std::net::SocketAddr, shared: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    if shared {
        socket.set_reuseport(true)?;
    }
    #[cfg(not(unix))]
    let _ = shared;
    socket.bind(addr)?;
    socket.listen(1024)
}
