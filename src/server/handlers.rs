//! The endpoints: chat (JSON or SSE), embeddings, models, health. Each one
//! parses, calls the Router (or the group's deployments directly), and
//! answers; every failure is an [`ApiError`] in the OpenAI shape.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Map, Value, json};

use super::AppState;
use super::accounts::{Call, Caller, Metered};
use super::body;
use super::error::{ApiError, no_route as no_route_error};
use super::metrics;
use super::sse;
use crate::error::{Error, ErrorKind};
use crate::router::RouteOptions;
use crate::types::{ChatRequest, EmbeddingRequest};

pub(crate) const DEPLOYMENT_HEADER: &str = "x-switchboard-deployment";

/// Request fields that would send the call to another host.
const BASE_URL_FIELDS: [&str; 2] = ["api_base", "base_url"];

/// `POST /v1/chat/completions`.
pub(crate) async fn chat(
    State(state): State<Arc<AppState>>,
    caller: Option<axum::Extension<Caller>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (mut req, api_base): (ChatRequest, _) = read_request(&state, &headers, body).await?;
    metrics::note_group(&req.model);
    require_model(&req.model)?;
    if req.messages.is_empty() {
        return Err(ApiError::invalid(
            "messages must hold at least one message",
            Some("messages".into()),
        ));
    }
    // The virtual key's checks; the meter logs the call once, however it ends.
    let mut meter = state
        .accounts
        .admit(caller.as_deref(), &state.router, Call::Chat(&req))
        .await?;
    if !req.is_stream() {
        let (resp, deployment) = match api_base {
            None => {
                let r = state
                    .router
                    .completion(&req, &RouteOptions::default())
                    .await?;
                (r.response, r.deployment)
            }
            Some(base) => state.direct.completion(&req, base).await?,
        };
        metrics::note_usage(resp.usage.as_ref());
        meter.finish(&deployment, resp.usage.as_ref());
        return Ok(served_by(Json(resp).into_response(), &deployment));
    }
    req.stream = Some(true);
    let hide_usage = meter.want_usage(&mut req);
    let (mut stream, deployment) = match api_base {
        None => {
            let r = state.router.stream(&req, &RouteOptions::default()).await?;
            (r.response, r.deployment)
        }
        Some(base) => state.direct.stream(&req, base).await?,
    };
    // A failure before the first chunk is still an ordinary HTTP error.
    let first = match stream.next().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(e)) => return Err(e.into()),
        None => {
            return Err(Error::new(
                ErrorKind::Connection,
                "the stream ended before its first chunk",
            )
            .into());
        }
    };
    meter.served_by(&deployment);
    let stream = Metered::new(metrics::observe(stream, &deployment), meter, hide_usage);
    let mut resp = Body::from_stream(sse::events(first, stream)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells a buffering reverse proxy (nginx) to pass each event on at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(served_by(resp, &deployment))
}

/// `POST /v1/embeddings`.
pub(crate) async fn embeddings(
    State(state): State<Arc<AppState>>,
    caller: Option<axum::Extension<Caller>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (req, api_base): (EmbeddingRequest, _) = read_request(&state, &headers, body).await?;
    metrics::note_group(&req.model);
    require_model(&req.model)?;
    let meter = state
        .accounts
        .admit(caller.as_deref(), &state.router, Call::Embedding(&req))
        .await?;
    let (resp, deployment) = match api_base {
        None => {
            let r = state
                .router
                .embedding(&req, &RouteOptions::default())
                .await?;
            (r.response, r.deployment)
        }
        Some(base) => state.direct.embedding(&req, Some(base)).await?,
    };
    metrics::note_usage(resp.usage.as_ref());
    meter.finish(&deployment, resp.usage.as_ref());
    Ok(served_by(Json(resp).into_response(), &deployment))
}

/// `GET /v1/models`: the model groups, as OpenAI model objects.
pub(crate) async fn models(State(state): State<Arc<AppState>>) -> Response {
    let data: Vec<Value> = state.groups().into_iter().map(model_object).collect();
    Json(json!({ "object": "list", "data": data })).into_response()
}

/// `GET /v1/models/{model}`.
pub(crate) async fn model(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let groups = state.groups();
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

/// `GET /health/readiness`: the Router is built and has groups to serve.
pub(crate) async fn readiness(State(state): State<Arc<AppState>>) -> Response {
    let groups = state.groups();
    let status = if groups.is_empty() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({
        "status": if groups.is_empty() { "unhealthy" } else { "healthy" },
        "model_groups": groups,
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

fn require_model(model: &str) -> Result<(), ApiError> {
    if model.is_empty() {
        return Err(ApiError::invalid(
            "missing required field model",
            Some("model".into()),
        ));
    }
    Ok(())
}

/// Takes `api_base` / `base_url` out of the request: refused unless the
/// server allows clients to pick the upstream host.
/// Reads, checks and types a request body; also returns the base URL the
/// client named, if the config allows one.
async fn read_request<T: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(T, Option<String>), ApiError> {
    let bytes = body::read(headers, body, state.max_body_bytes).await?;
    let mut map = body::object(&bytes)?;
    let api_base = take_api_base(state, &mut map)?;
    Ok((body::typed(map)?, api_base))
}

fn take_api_base(
    state: &AppState,
    map: &mut Map<String, Value>,
) -> Result<Option<String>, ApiError> {
    let mut found = None;
    for field in BASE_URL_FIELDS {
        let Some(value) = map.remove(field) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        if !state.allow_client_api_base {
            return Err(ApiError::invalid(
                format!(
                    "{field} is not accepted by this server: set allow-client-api-base = true in its [server] config to let clients choose the upstream"
                ),
                Some(field.into()),
            )
            .with_code("api_base_not_allowed"));
        }
        match value {
            Value::String(s) if !s.is_empty() => found = Some(s),
            _ => {
                return Err(ApiError::invalid(
                    format!("{field} must be a non-empty string"),
                    Some(field.into()),
                ));
            }
        }
    }
    Ok(found)
}

/// Names the deployment that answered.
fn served_by(mut resp: Response, deployment: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(deployment) {
        resp.headers_mut().insert(DEPLOYMENT_HEADER, v);
    }
    resp
}
