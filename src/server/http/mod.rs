//! The proxy's HTTP surface: the routes ([`app`]) and what stands around
//! them — the presented key ([`key`]) and who may call ([`auth`]), request
//! bodies ([`body`]), errors in the OpenAI shape ([`error`]), SSE
//! ([`sse`]), the metrics (an observer of the call records, [`metrics`]),
//! the boundary that catches panics and writes error bodies ([`boundary`]),
//! and the bounded connections and accept loops that serve it all
//! ([`connection`], [`listen`]).
//!
//! Imports point one way inside the room, from the leaf `key`: error →
//! key; client_ip → error; auth → error, key; body, metrics, model_info, models → error; sse → metrics,
//! error; boundary → error, key; litellm_fields → error; handlers → body, error, key, litellm_fields, sse;
//! connection → boundary, error; listen → connection, metrics. Reads the record
//! room (handlers and auth open and finish call records; metrics observe
//! them), the accounts room and the config; holds no business logic.

pub(crate) mod auth;
pub(crate) mod body;
mod boundary;
mod client_ip;
mod connection;
mod door;
pub(crate) mod error;
mod handlers;
mod key;
mod listen;
mod litellm_fields;
mod metrics;
mod model_info;
mod models;
mod sse;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::middleware;
use axum::routing::{get, post};

pub use client_ip::ClientIp;
pub use listen::{serve, serve_workers};
pub(crate) use metrics::Metrics;

use crate::server::AppState;

/// The HTTP routes over `state`, behind the [boundary](boundary).
pub fn app(state: Arc<AppState>) -> axum::Router {
    routes(state.clone()).layer(boundary::Boundary::new(state))
}

/// The routes as [`serve`] runs them: the same, behind the boundary
/// without a layer's boxing.
fn served(state: Arc<AppState>) -> boundary::Guard<axum::Router> {
    boundary::Guard::new(routes(state.clone()), state)
}

/// The HTTP routes over `state`, without the boundary.
fn routes(state: Arc<AppState>) -> axum::Router {
    let mut api = axum::Router::new();
    for d in &state.doors.doors {
        for path in &d.paths {
            let door = d.clone();
            api = api.route(
                path,
                post(
                    move |State(st): State<Arc<AppState>>,
                          caller: handlers::Key,
                          headers: HeaderMap,
                          body: Body| {
                        let door = door.clone();
                        async move { door::call(door, st, caller.as_deref(), headers, body).await }
                    },
                ),
            );
        }
        if let Some(path) = &d.count_path {
            let door = d.clone();
            api = api.route(
                path,
                post(
                    move |State(st): State<Arc<AppState>>,
                          caller: handlers::Key,
                          headers: HeaderMap,
                          body: Body| {
                        let door = door.clone();
                        async move {
                            door::count_tokens(door, st, caller.as_deref(), headers, body).await
                        }
                    },
                ),
            );
        }
    }
    let api = api
        .route("/v1/chat/completions", post(handlers::chat))
        .route("/chat/completions", post(handlers::chat))
        .route("/v1/embeddings", post(handlers::embeddings))
        .route("/embeddings", post(handlers::embeddings))
        .route("/v1/models", get(models::models))
        .route("/models", get(models::models))
        .route("/v1/models/{*model}", get(models::model))
        .route("/models/{*model}", get(models::model))
        .route("/v1/model/info", get(model_info::model_info))
        .route("/model/info", get(model_info::model_info))
        .route("/model_group/info", get(model_info::model_group_info))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_master_key,
        ));
    let health = axum::Router::new()
        .route("/health/liveliness", get(models::liveliness))
        .route("/health/liveness", get(models::liveliness))
        .route("/health/readiness", get(models::readiness))
        .route("/metrics", get(metrics::render));
    #[cfg(test)]
    let health = health.route("/__test/panic", get(tests::panic));
    api.merge(health)
        .merge(crate::server::admin::routes(state.clone()))
        .fallback(models::no_route)
        .method_not_allowed_fallback(models::wrong_method)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_ip::require_allowed,
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests;
