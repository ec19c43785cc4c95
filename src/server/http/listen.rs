//! Putting [`app`](super::app) on sockets: accept loops on one listener
//! ([`serve`]) or on one SO_REUSEPORT socket per serving thread
//! ([`serve_workers`]), TCP_NODELAY on every connection, a cap on open
//! connections over all threads, and the shutdown: stop accepting, let the
//! calls in flight finish for up to the drain deadline, cut what is left,
//! then write the spend log.
//!
//! At the cap an accept loop stops accepting (new connections wait in the
//! kernel's listen queue), counts it in `/metrics` and says so once on
//! stderr, until a connection closes. Out of file descriptors, it pauses
//! briefly instead of spinning.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::connection::{self, Routes, Stage, Timeouts};
use super::metrics::Metrics;
use crate::server::{AppState, log};

/// How long the cut connections get to let go of their slots.
const AFTER_CUT: Duration = Duration::from_secs(5);

/// The limits every accept loop shares, and the stage they serve in.
struct Plan {
    slots: Arc<Semaphore>,
    max: usize,
    /// The limit was reached and not yet left (one log line per episode).
    full: AtomicBool,
    /// Accepting failed and has not succeeded since (one log line per episode).
    failing: AtomicBool,
    timeouts: Timeouts,
    drain: Duration,
    stage: watch::Sender<Stage>,
    metrics: Arc<Metrics>,
}

impl Plan {
    fn new(state: &AppState) -> Arc<Plan> {
        let s = &state.settings;
        Arc::new(Plan {
            slots: Arc::new(Semaphore::new(s.max_connections)),
            max: s.max_connections,
            full: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            timeouts: Timeouts {
                header_read: s.header_read_timeout_secs.get(),
                keep_alive: s.keep_alive_timeout_secs.get(),
            },
            drain: s.shutdown_timeout_secs.get(),
            stage: watch::channel(Stage::Serving).0,
            metrics: state.metrics.clone(),
        })
    }

    /// A slot for one more connection; waits at the limit. None once the
    /// server stops serving.
    async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => {
                if self.full.load(Ordering::Relaxed) {
                    self.full.store(false, Ordering::Relaxed);
                }
                p
            }
            Err(_) => {
                if !self.full.swap(true, Ordering::Relaxed) {
                    self.metrics.connection_limit_reached();
                    log::line(format_args!(
                        "connection limit reached: {} connections open ([server] max-connections); new connections wait until one closes",
                        self.max
                    ));
                }
                let mut stage = self.stage.subscribe();
                tokio::select! {
                    p = self.slots.clone().acquire_owned() => p.ok()?,
                    _ = stage.wait_for(|s| *s != Stage::Serving) => return None,
                }
            }
        };
        Some(permit)
    }

    /// Waits until every connection has closed, or `limit` passes; false
    /// when some are still open.
    async fn all_closed(&self, limit: Duration) -> bool {
        let all = u32::try_from(self.max).unwrap_or(u32::MAX);
        tokio::time::timeout(limit, self.slots.acquire_many(all))
            .await
            .is_ok()
    }

    /// Stop accepting, drain for up to the deadline, then cut.
    async fn shut_down(&self) {
        self.stage.send_replace(Stage::Draining);
        let open = self.metrics.open_connections();
        log::line(format_args!(
            "shutting down: {open} connection{} open; calls in flight get up to {} s to finish",
            if open == 1 { "" } else { "s" },
            self.drain.as_secs_f64()
        ));
        if !self.all_closed(self.drain).await {
            let left = self.metrics.open_connections();
            log::line(format_args!(
                "cutting {left} connection{} still open after {} s",
                if left == 1 { "" } else { "s" },
                self.drain.as_secs_f64()
            ));
        }
        self.stage.send_replace(Stage::Cut);
    }
}

/// One open connection's place under the limit.
struct Slot {
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, metrics: &Arc<Metrics>) -> Self {
        metrics.connections(1);
        Slot {
            _permit: permit,
            metrics: metrics.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.connections(-1);
    }
}

/// Accepts on `listener` and serves each connection on this runtime until
/// the server stops serving.
async fn accept(listener: TcpListener, app: Routes, plan: Arc<Plan>) {
    let mut stage = plan.stage.subscribe();
    loop {
        let Some(permit) = plan.slot().await else {
            return;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stage.wait_for(|s| *s != Stage::Serving) => return,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => {
                if plan.failing.load(Ordering::Relaxed) {
                    plan.failing.store(false, Ordering::Relaxed);
                }
                tcp
            }
            Err(e) => {
                drop(permit);
                if !gone_before_accept(&e) {
                    // Out of file descriptors (or memory): let some close.
                    if !plan.failing.swap(true, Ordering::Relaxed) {
                        log::line(format_args!(
                            "cannot accept connections: {e}; retrying every 100 ms (is [server] max-connections above the file limit?)"
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                continue;
            }
        };
        // Without it, small SSE events can wait for the peer's delayed ACK.
        let _ = tcp.set_nodelay(true);
        let slot = Slot::new(permit, &plan.metrics);
        let app = app.clone();
        let (timeouts, stage) = (plan.timeouts, plan.stage.subscribe());
        tokio::spawn(async move {
            connection::serve(tcp, app, timeouts, stage).await;
            drop(slot);
        });
    }
}

/// A failure of one connection that left before it was accepted.
fn gone_before_accept(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    )
}

/// Serves [`app`](super::app) on `listener` (TCP_NODELAY on every
/// connection, so each stream event leaves at once) until `shutdown`
/// resolves; then drains (see the module doc) and writes the spend log's
/// pending rows.
pub async fn serve<F>(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let plan = Plan::new(&state);
    let accepting = tokio::spawn(accept(listener, super::served(state.clone()), plan.clone()));
    shutdown.await;
    plan.shut_down().await;
    let _ = accepting.await;
    plan.all_closed(AFTER_CUT).await;
    // Every call has answered or been cut: write what the spend log holds.
    state.flush().await;
    Ok(())
}

/// Serves [`app`](super::app) on `addr` from `workers` threads (at least
/// one: the caller's). Each thread runs its own single-threaded runtime and
/// accepts on its own socket bound to the same address with SO_REUSEPORT,
/// so the kernel spreads connections over the threads and a request is
/// handled start to end on one thread, with no hand-off between threads.
/// Call it on a current-thread runtime: that runtime is the first worker and
/// keeps running what the state started on it (the spend log's writer, the
/// Redis connection). `bound` learns the address once it is listened on
/// (port 0 picks one). When `shutdown` resolves every worker stops
/// accepting and the calls in flight get the drain deadline; then the spend
/// log is written.
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
    let plan = Plan::new(&state);
    let mut threads = Vec::with_capacity(workers - 1);
    let mut listening = Vec::with_capacity(workers - 1);
    for n in 1..workers {
        let (state, plan) = (state.clone(), plan.clone());
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
                            return;
                        }
                    };
                    let _ = ready.send(Ok(()));
                    let mut stage = plan.stage.subscribe();
                    accept(listener, super::served(state), plan).await;
                    // This runtime keeps serving its connections until the cut.
                    let _ = stage.wait_for(|s| *s == Stage::Cut).await;
                });
                // Dropping the runtime drops the connections cut on it.
                drop(rt);
                Ok(())
            })?;
        threads.push(thread);
        listening.push(is_ready);
    }
    let mut started = Ok(());
    // Announced once every thread listens.
    for is_ready in listening {
        let ready = is_ready
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("a serving thread did not start")));
        started = started.and(ready);
    }
    let accepting = tokio::spawn(accept(first, super::served(state.clone()), plan.clone()));
    if started.is_ok() {
        bound(addr);
        shutdown.await;
    }
    plan.shut_down().await;
    let _ = accepting.await;
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
    plan.all_closed(AFTER_CUT).await;
    // Every call has answered or been cut on every thread: write the spend log.
    state.flush().await;
    started.and(joined.map(drop))
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
