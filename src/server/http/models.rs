//! What the proxy tells about itself: `GET /v1/models` (and one model),
//! health probes, and the answers for a path or method it does not have.
//! A virtual key sees only the model groups it may use: the others are not
//! listed, are 404 when asked for by name, and are not named in a 404.
//! Calls no upstream.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::{ApiError, no_route as no_route_error};
use crate::error::{Error, ErrorKind};
use crate::server::AppState;
use crate::server::accounts::Caller;

type Key = Option<axum::Extension<Caller>>;

/// `GET /v1/models`: the model groups, as OpenAI model objects.
pub(crate) async fn models(State(state): State<Arc<AppState>>, caller: Key) -> Response {
    let data: Vec<Value> = state
        .groups_for(caller.as_deref())
        .into_iter()
        .map(model_object)
        .collect();
    Json(json!({ "object": "list", "data": data })).into_response()
}

/// `GET /v1/models/{model}`.
pub(crate) async fn model(
    State(state): State<Arc<AppState>>,
    caller: Key,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let groups = state.groups_for(caller.as_deref());
    match groups.iter().find(|g| **g == name) {
        Some(g) => Ok(Json(model_object(g)).into_response()),
        None => Err(Error::new(
            ErrorKind::NotFound,
            format!("no model group {name:?} (groups: {})", groups.join(", ")),
        )
        .into()),
    }
}

fn model_object(group: &str) -> Value {
    json!({ "id": group, "object": "model", "created": 0, "owned_by": "switchboard" })
}

/// `GET /health/liveliness`: the process answers.
pub(crate) async fn liveliness() -> Response {
    Json("I'm alive!").into_response()
}

/// `GET /health/readiness`: the Router is built and has groups to serve,
/// and which deployments are cooling down now (this process's view). 200
/// while every group has a deployment to take a call (`"degraded"` when
/// some are cooling); 503 when there is no group, or a group has none.
pub(crate) async fn readiness(State(state): State<Arc<AppState>>) -> Response {
    let groups = state.groups();
    let cooling = state.router.cooling();
    let mut unavailable: Vec<&str> = Vec::new();
    for group in &groups {
        let size = state
            .router
            .deployment_prices(group)
            .map_or(0, |members| members.len());
        let cooled = cooling.iter().filter(|c| c.group == *group).count();
        if size > 0 && cooled >= size {
            unavailable.push(group);
        }
    }
    let (status, word) = if groups.is_empty() || !unavailable.is_empty() {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    } else if cooling.is_empty() {
        (StatusCode::OK, "healthy")
    } else {
        (StatusCode::OK, "degraded")
    };
    let cooling: Vec<Value> = cooling
        .iter()
        .map(|c| {
            json!({
                "model_group": c.group,
                "deployment": c.deployment,
                "seconds_left": c.left.as_secs_f64(),
            })
        })
        .collect();
    let body = json!({
        "status": word,
        "model_groups": groups,
        "cooling": cooling,
        "unavailable_model_groups": unavailable,
    });
    (status, Json(body)).into_response()
}

pub(crate) async fn no_route(method: Method, uri: Uri) -> ApiError {
    no_route_error(method.as_str(), uri.path())
}

pub(crate) async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::invalid(format!("{} does not take {method}", uri.path()), None)
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
        .with_code("method_not_allowed")
}
