//! HTTP: a reqwest client per sending thread (one per connect timeout), a
//! rendered request turned into an outgoing one with its auth scheme
//! applied, the call's time limits on the response head and on every body
//! read, size caps on what is read, and transport failures typed as errors
//! that show a URL without its query. Knows no provider JSON.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use thread_local::ThreadLocal;
use tokio::time::Instant;

mod auth;
mod aws_credentials;
mod body;
mod failure;
mod fetch;
mod google;
mod limits;
mod outgoing;
mod sigv4;

pub(crate) use body::{BodyStream, after, earliest, read_body};
pub(crate) use failure::transport_error;
pub use limits::Limits;

use crate::engine::render::RenderedRequest;
use crate::error::{Error, ErrorKind, Result};
use crate::redact::display_url;
use crate::spec::Spec;
use outgoing::{Outgoing, endpoint_url};

/// Sends prepared requests.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    /// HTTP clients (and connection pools) per thread that sends: a pooled
    /// connection is driven by a task on the runtime that opened it, so a
    /// pool shared between threads would hand every request and answer
    /// across threads.
    local: Arc<ThreadLocal<Local>>,
    /// Service-account access tokens, shared by clones of this transport.
    google: Arc<google::Tokens>,
}

/// What one thread sends with.
#[derive(Debug, Default)]
struct Local {
    /// The [`forks`] count when `clients` were made.
    fork: Cell<u64>,
    /// One client per connect timeout in use (reqwest sets it per client).
    clients: RefCell<Vec<(Duration, reqwest::Client)>>,
    /// Request URLs by base URL and path: building one costs more than
    /// rendering a body.
    urls: RefCell<HashMap<String, reqwest::Url>>,
}

/// How many times this process has been forked into (see [`after_fork`]).
static FORKS: AtomicU64 = AtomicU64::new(0);

/// Told in a forked child (the Python package does it through
/// `os.register_at_fork`): every thread's clients were made in the parent,
/// their pooled connections share sockets with it and are driven by its
/// runtime's threads, which the child does not have. Each thread makes new
/// clients on its next request; the parent's are left untouched (dropping
/// them here would deregister the shared sockets from the parent's poller).
#[cfg_attr(not(any(feature = "python", test)), allow(dead_code))]
pub(crate) fn after_fork() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// URLs a thread keeps built; past it the cache starts again.
const URL_CACHE: usize = 512;
/// Connect timeouts a thread keeps a client for; past it the list starts again.
const CLIENTS: usize = 16;

fn http_client(connect: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .connect_timeout(connect)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot build the HTTP client: {e}"),
            )
        })
}

impl Transport {
    pub(crate) fn new() -> Result<Self> {
        let google = Arc::new(google::Tokens::new(
            http_client(Limits::default().connect)?,
            google::system_clock(),
        ));
        Ok(Transport {
            local: Arc::new(ThreadLocal::new()),
            google,
        })
    }

    /// This thread's client for `connect`.
    fn client(&self, connect: Duration) -> Result<reqwest::Client> {
        let local = self.local.get_or_default();
        let mut clients = local.clients.borrow_mut();
        let forks = FORKS.load(Ordering::Relaxed);
        if local.fork.get() != forks {
            std::mem::forget(std::mem::take(&mut *clients));
            local.fork.set(forks);
        }
        if let Some((_, c)) = clients.iter().find(|(d, _)| *d == connect) {
            return Ok(c.clone());
        }
        if clients.len() >= CLIENTS {
            clients.clear();
        }
        let c = http_client(connect)?;
        clients.push((connect, c.clone()));
        Ok(c)
    }

    /// The URL of `path` under `base_url`, from this thread's cache.
    fn url(&self, base_url: &str, path: &str) -> Result<reqwest::Url> {
        let local = self.local.get_or_default();
        let mut urls = local.urls.borrow_mut();
        // A newline is in no URL, so the key is unambiguous.
        let key = format!("{base_url}\n{path}");
        if let Some(u) = urls.get(&key) {
            return Ok(u.clone());
        }
        let u = endpoint_url(base_url, path)?;
        if urls.len() >= URL_CACHE {
            urls.clear();
        }
        urls.insert(key, u.clone());
        Ok(u)
    }

    /// Sends `prepared` to `base_url` with the spec's auth scheme applied,
    /// and waits for the response head within `limits` (connect, first
    /// byte) and by `deadline` when there is one.
    pub(crate) async fn send(
        &self,
        spec: &Spec,
        base_url: &str,
        prepared: &RenderedRequest,
        api_key: Option<&str>,
        limits: &Limits,
        deadline: Option<Instant>,
    ) -> Result<reqwest::Response> {
        let body =
            serde_json::to_vec(&prepared.body).map_err(|e| Error::bad_request(e.to_string()))?;
        let mut out = Outgoing {
            method: prepared.method.clone(),
            url: self.url(base_url, &prepared.path)?,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
            auth_region: prepared.auth_region.clone(),
        };
        out.headers.extend(prepared.headers.iter().cloned());
        auth::apply(&spec.auth, api_key, &mut out, &self.google).await?;
        let mut req_headers = reqwest::header::HeaderMap::new();
        for (name, value) in &out.headers {
            let n = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::bad_request(format!("invalid header name {name:?}")))?;
            let v = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| Error::bad_request(format!("invalid value for header {name}")))?;
            req_headers.insert(n, v);
        }
        let sending = self
            .client(limits.connect)?
            .request(out.method, out.url)
            .headers(req_headers)
            .body(out.body)
            .send();
        let first_byte = after(Instant::now(), Some(limits.first_byte));
        let head_by = earliest(first_byte, deadline);
        let answer = match head_by {
            Some(by) => tokio::time::timeout_at(by, sending).await.map_err(|_| {
                let why = if first_byte == head_by {
                    format!("{}s (first-byte limit)", limits.first_byte.as_secs_f64())
                } else {
                    "the call's deadline".to_string()
                };
                // Built again on this rare path, so the common one keeps no copy.
                let at = endpoint_url(base_url, &prepared.path)
                    .map_or_else(|_| display_url(base_url), |u| display_url(u.as_str()));
                Error::new(
                    ErrorKind::Timeout,
                    format!("no response from {at} within {why}"),
                )
            })?,
            None => sending.await,
        };
        answer.map_err(transport_error)
    }
}

#[cfg(test)]
mod fork_tests {
    use super::*;

    #[test]
    fn after_a_fork_a_thread_makes_new_clients_and_keeps_none_of_the_parents() {
        let t = Transport::new().unwrap();
        t.client(Duration::from_secs(1)).unwrap();
        t.client(Duration::from_secs(2)).unwrap();
        let count = |t: &Transport| t.local.get_or_default().clients.borrow().len();
        assert_eq!(count(&t), 2);
        after_fork();
        t.client(Duration::from_secs(1)).unwrap();
        assert_eq!(count(&t), 1);
    }
}
