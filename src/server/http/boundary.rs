//! The boundary every request crosses, outermost around the routes: the
//! last line of defence and the one place error bodies are written.
//!
//! - A panic anywhere in a request's handling (a handler, a middleware)
//!   is caught here: the client still gets a 500 in the OpenAI error
//!   shape, `switchboard_panics_total` counts it, and the panic hook has
//!   logged it. A panic is a bug: this keeps one bug from becoming a
//!   dropped connection with no answer.
//! - An [`ApiError`](super::error::ApiError) response gets its JSON body
//!   here, through a [`Scrub`] that knows the configured secrets and the
//!   key this request presented. Any other error answer that is not JSON
//!   (an extractor's own rejection, say a path that is not UTF-8) is
//!   replaced by the OpenAI error JSON of its status.
//!
//! Per request it costs one header lookup and one extension check; no
//! allocation, no clock. [`serve`](super::serve) puts it around the routes
//! directly; [`app`](super::app), for tests and embedders, as a layer
//! (which boxes each call). Knows no route.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use futures::future::CatchUnwind;
use tower::{Layer, Service};

use super::error::{ApiError, Failure, Scrub, panicked};
use super::key::presented_value;
use crate::error::{Error, ErrorKind};
use crate::ingress::Door;
use crate::server::AppState;
use crate::server::record::Route;

/// Wraps the routes in [`Guard`].
#[derive(Clone)]
pub(crate) struct Boundary {
    state: Arc<AppState>,
}

impl Boundary {
    pub(crate) fn new(state: Arc<AppState>) -> Self {
        Boundary { state }
    }
}

impl<S> Layer<S> for Boundary {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            state: self.state.clone(),
        }
    }
}

/// Routes behind the boundary.
#[derive(Clone)]
pub(crate) struct Guard<S> {
    inner: S,
    state: Arc<AppState>,
}

impl<S> Guard<S> {
    pub(crate) fn new(inner: S, state: Arc<AppState>) -> Self {
        Guard { inner, state }
    }
}

impl<S> Service<Request> for Guard<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Guarded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Guarded<S::Future> {
        let presented = presented_value(req.headers()).cloned();
        let path = req.uri().path();
        let door = self.state.doors.by_path(path).cloned();
        let route = Route::of_path(path)
            .or_else(|| door.as_ref().map(|_| Route::Chat))
            .map_or("other", Route::label);
        let inner = &mut self.inner;
        let called = std::panic::catch_unwind(AssertUnwindSafe(|| inner.call(req)));
        Guarded {
            inner: called.ok().map(|f| AssertUnwindSafe(f).catch_unwind()),
            state: self.state.clone(),
            presented,
            route,
            door,
        }
    }
}

pin_project_lite::pin_project! {
    /// A request being answered behind the boundary.
    pub(crate) struct Guarded<F> {
        // None: calling the route panicked before it returned a future.
        #[pin]
        inner: Option<CatchUnwind<AssertUnwindSafe<F>>>,
        state: Arc<AppState>,
        presented: Option<HeaderValue>,
        route: &'static str,
        // The front door the path belongs to: errors take its shape.
        door: Option<Arc<Door>>,
    }
}

impl<F> Future for Guarded<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = match this.inner.as_pin_mut() {
            Some(inner) => std::task::ready!(inner.poll(cx)),
            None => {
                Err(Box::new("the route panicked when called") as Box<dyn std::any::Any + Send>)
            }
        };
        let mut resp = match outcome {
            Ok(Ok(resp)) => resp,
            Ok(Err(never)) => match never {},
            Err(_) => {
                this.state.metrics.panicked(this.route);
                panicked().into_response()
            }
        };
        let failure = match resp.extensions_mut().remove::<Failure>() {
            Some(Failure(e)) => Some(e),
            None if is_bare_error(&resp) => Some(of_status(resp.status())),
            None => None,
        };
        if let Some(e) = failure {
            let scrub = Scrub::new(this.state.redactor.clone(), this.presented.take());
            let mut body = scrub.body(&e);
            if let Some(door) = this.door.as_ref() {
                let status = door.status(e.kind(), resp.status().as_u16());
                body = door.error_body(e.kind(), status, &body);
                if let Ok(s) = StatusCode::from_u16(status) {
                    *resp.status_mut() = s;
                }
            }
            let json = Json(body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            *resp.body_mut() = json.into_body();
        }
        Poll::Ready(Ok(resp))
    }
}

/// An error answer that is not the OpenAI error JSON.
fn is_bare_error(resp: &Response) -> bool {
    let status = resp.status();
    (status.is_client_error() || status.is_server_error())
        && !resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// The OpenAI error for an answer that says nothing but its status.
fn of_status(status: StatusCode) -> ApiError {
    let reason = status.canonical_reason().unwrap_or("error");
    if status.is_server_error() {
        return ApiError::from(Error::new(ErrorKind::Internal, reason)).with_status(status);
    }
    ApiError::invalid(format!("the request was refused: {reason}"), None).with_status(status)
}
