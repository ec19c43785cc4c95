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
//!   key this request presented.
//!
//! Per request it costs one header lookup and one extension check; no
//! allocation, no clock. Knows no route.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use futures::future::CatchUnwind;
use tower::{Layer, Service};

use super::auth::presented_value;
use super::error::{Failure, Scrub, panicked};
use super::metrics::route_of;
use crate::server::AppState;

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

/// A route behind the boundary.
#[derive(Clone)]
pub(crate) struct Guard<S> {
    inner: S,
    state: Arc<AppState>,
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
        let route = route_of(req.uri().path()).unwrap_or("other");
        let inner = &mut self.inner;
        let called = std::panic::catch_unwind(AssertUnwindSafe(|| inner.call(req)));
        Guarded {
            inner: called.ok().map(|f| AssertUnwindSafe(f).catch_unwind()),
            state: self.state.clone(),
            presented,
            route,
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
        if let Some(Failure(e)) = resp.extensions_mut().remove::<Failure>() {
            let scrub = Scrub::new(this.state.redactor.clone(), this.presented.take());
            let body = Json(scrub.body(&e)).into_response().into_body();
            *resp.body_mut() = body;
        }
        Poll::Ready(Ok(resp))
    }
}
