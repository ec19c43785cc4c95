//! HTTP: one shared reqwest client, auth schemes applied to a prepared
//! request, timeouts, and transport failures typed as errors. Knows no
//! provider JSON.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use thread_local::ThreadLocal;

mod auth;
mod google;
mod sigv4;

pub(crate) use auth::Outgoing;

use crate::engine::render::Prepared;
use crate::error::{Error, ErrorKind, Result};
use crate::spec::Spec;

/// Sends prepared requests.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    /// One HTTP client (and connection pool) per thread that sends: a
    /// pooled connection is driven by a task on the runtime that opened
    /// it, so a pool shared between threads would hand every request and
    /// answer across threads.
    local: Arc<ThreadLocal<Local>>,
    /// Service-account access tokens, shared by clones of this transport.
    google: Arc<google::Tokens>,
}

/// What one thread sends with.
#[derive(Debug)]
struct Local {
    http: reqwest::Client,
    /// Parsed request URLs: parsing one costs more than rendering a body.
    urls: RefCell<HashMap<String, reqwest::Url>>,
}

/// URLs a thread keeps parsed; past it the cache starts again.
const URL_CACHE: usize = 512;

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .tcp_nodelay(true)
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
        let google = Arc::new(google::Tokens::new(http_client()?, google::system_clock()));
        Ok(Transport {
            local: Arc::new(ThreadLocal::new()),
            google,
        })
    }

    /// A request to `url` from this thread's client.
    fn request(&self, method: reqwest::Method, url: String) -> Result<reqwest::RequestBuilder> {
        let local = self.local.get_or_try(|| {
            Ok::<_, Error>(Local {
                http: http_client()?,
                urls: RefCell::new(HashMap::new()),
            })
        })?;
        let mut urls = local.urls.borrow_mut();
        let parsed = match urls.get(&url) {
            Some(u) => u.clone(),
            None => {
                let u = reqwest::Url::parse(&url)
                    .map_err(|e| Error::bad_request(format!("invalid URL {url:?}: {e}")))?;
                if urls.len() >= URL_CACHE {
                    urls.clear();
                }
                urls.insert(url, u.clone());
                u
            }
        };
        Ok(local.http.request(method, parsed))
    }

    /// Sends `prepared` to `base_url` with the spec's auth scheme applied.
    pub(crate) async fn send(
        &self,
        spec: &Spec,
        base_url: &str,
        prepared: &Prepared,
        api_key: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response> {
        let body =
            serde_json::to_vec(&prepared.body).map_err(|e| Error::bad_request(e.to_string()))?;
        let mut out = Outgoing {
            method: prepared.method.clone(),
            url: format!("{}{}", base_url.trim_end_matches('/'), prepared.path),
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
        let mut rb = self
            .request(out.method, out.url)?
            .headers(req_headers)
            .body(out.body);
        if let Some(t) = timeout {
            rb = rb.timeout(t);
        }
        rb.send().await.map_err(transport_error)
    }
}

/// Types a reqwest failure: timeout or connection.
pub(crate) fn transport_error(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::new(ErrorKind::Timeout, format!("no answer in time: {e}"))
    } else if e.is_builder() {
        Error::bad_request(format!("cannot build the request: {e}"))
    } else {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg = format!("{msg}: {s}");
            src = s.source();
        }
        Error::new(ErrorKind::Connection, msg)
    }
}
