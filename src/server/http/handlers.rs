//! The API calls: chat (JSON or SSE) and embeddings. Each one opens the
//! call's record, reads and checks the request, has the caller's key admit
//! it, calls the Router (with the client's base URL as a route option, when
//! the config allows one), notes in the record what it learned, and
//! answers; a JSON answer or a failure finishes the record here, a stream
//! hands it to the [`Recorded`] stream. Every failure is an [`ApiError`]
//! in the OpenAI shape.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::body;
use super::error::{ApiError, Scrub};
use super::key::presented_value;
use super::litellm_fields;
use super::sse;
use crate::client::ChatStream;
use crate::error::{Error, ErrorKind};
use crate::router::RouteOptions;
use crate::server::AppState;
use crate::server::accounts::{Call, Caller};
use crate::server::record::{Recorded, Recording, Route};
use crate::types::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

pub(super) const DEPLOYMENT_HEADER: &str = "x-switchboard-deployment";

/// Request fields that would send the call to another host.
const BASE_URL_FIELDS: [&str; 2] = ["api_base", "base_url"];

pub(super) type Key = Option<axum::Extension<Caller>>;

/// What a chat call answers.
pub(super) enum Answer {
    Json(ChatResponse),
    Stream(ChatStream),
}

/// `POST /v1/chat/completions`.
pub(crate) async fn chat(
    State(state): State<Arc<AppState>>,
    caller: Key,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let mut call = state.recorder.open(Route::Chat);
    match chat_call(&state, &mut call, caller.as_deref(), &headers, body).await {
        Ok(Answer::Json(resp)) => Ok(answered(resp, call)),
        Ok(Answer::Stream(stream)) => Ok(event_stream(&state, &headers, stream, call)),
        Err(e) => Err(failed(call, e)),
    }
}

/// A chat call up to its answer, noting in `call` what it learns.
async fn chat_call(
    state: &AppState,
    call: &mut Recording,
    caller: Option<&Caller>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Answer, ApiError> {
    let (req, route): (ChatRequest, _) = read_request(state, caller, headers, body).await?;
    routed_chat(state, call, caller, req, &route).await
}

/// A typed chat request from any front door, through the one path every
/// chat call takes: the group, admission, the Router.
pub(super) async fn routed_chat(
    state: &AppState,
    call: &mut Recording,
    caller: Option<&Caller>,
    mut req: ChatRequest,
    route: &RouteOptions,
) -> Result<Answer, ApiError> {
    // litellm's `model_group_alias`: an alias is its group from here on.
    req.model = state.router.group_of(&req.model).to_string();
    call.group(&req.model);
    require_model(state, caller, &req.model)?;
    req.validate()
        .map_err(|e| ApiError::invalid(e.message(), Some(e.param().to_string())))?;
    let admission = state
        .accounts
        .admit(caller, &state.router, Call::Chat(&req))
        .await?;
    call.admitted(caller, admission);
    if !req.is_stream() {
        let routed = state.router.completion(&req, route).await?;
        call.usage(routed.response.usage.clone());
        call.served(routed.deployment, routed.attempts);
        return Ok(Answer::Json(routed.response));
    }
    let routed = state.router.stream(&req, route).await?;
    if routed.response.has_first_chunk() {
        call.first_chunk();
    }
    call.served(routed.deployment, routed.attempts);
    Ok(Answer::Stream(routed.response))
}

/// A routed stream as server-sent events; the record goes with it.
pub(super) fn event_stream(
    state: &AppState,
    headers: &HeaderMap,
    stream: ChatStream,
    call: Recording,
) -> Response {
    let deployment = HeaderValue::from_str(call.deployment()).ok();
    let scrub = Scrub::new(state.redactor.clone(), presented_value(headers).cloned());
    let events = sse::events(Recorded::new(stream, call), scrub, state.metrics.clone());
    sse_response(Body::from_stream(events), deployment)
}

/// An SSE answer, naming the deployment that serves it.
pub(super) fn sse_response(body: Body, deployment: Option<HeaderValue>) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells a buffering reverse proxy (nginx) to pass each event on at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Some(v) = deployment {
        h.insert(DEPLOYMENT_HEADER, v);
    }
    resp
}

/// `POST /v1/embeddings`.
pub(crate) async fn embeddings(
    State(state): State<Arc<AppState>>,
    caller: Key,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let mut call = state.recorder.open(Route::Embeddings);
    match embeddings_call(&state, &mut call, caller.as_deref(), &headers, body).await {
        Ok(resp) => Ok(answered(resp, call)),
        Err(e) => Err(failed(call, e)),
    }
}

/// An embeddings call up to its answer, noting in `call` what it learns.
async fn embeddings_call(
    state: &AppState,
    call: &mut Recording,
    caller: Option<&Caller>,
    headers: &HeaderMap,
    body: Body,
) -> Result<EmbeddingResponse, ApiError> {
    let (mut req, route): (EmbeddingRequest, _) =
        read_request(state, caller, headers, body).await?;
    // litellm's `model_group_alias`: an alias is its group from here on.
    req.model = state.router.group_of(&req.model).to_string();
    call.group(&req.model);
    require_model(state, caller, &req.model)?;
    let admission = state
        .accounts
        .admit(caller, &state.router, Call::Embedding(&req))
        .await?;
    call.admitted(caller, admission);
    let routed = state.router.embedding(&req, &route).await?;
    call.usage(routed.response.usage.clone());
    call.served(routed.deployment, routed.attempts);
    Ok(routed.response)
}

/// A JSON answer, naming the deployment that served it; the call succeeded.
pub(super) fn answered(answer: impl serde::Serialize, call: Recording) -> Response {
    let resp = served_by(Json(answer).into_response(), call.deployment());
    call.succeed();
    resp
}

/// Finishes `call` as failed with `e` (and the Router's attempts, if any).
pub(super) fn failed(call: Recording, e: ApiError) -> ApiError {
    call.fail(e.kind(), e.attempts());
    e
}

/// The request names a model group this server has: 400 when it names
/// none, 404 when the group is unknown (listing only the groups the
/// caller may use).
pub(super) fn require_model(
    state: &AppState,
    caller: Option<&Caller>,
    model: &str,
) -> Result<(), ApiError> {
    if model.is_empty() {
        return Err(ApiError::invalid(
            "missing required field model",
            Some("model".into()),
        ));
    }
    if state.has_group(model) {
        return Ok(());
    }
    let visible = state.groups_for(caller);
    Err(ApiError::from(Error::new(
        ErrorKind::NotFound,
        format!("no model group {model:?} (groups: {})", visible.join(", ")),
    ))
    .with_code("model_not_found"))
}

/// Reads, checks and types a request body; also returns how to route it:
/// to the base URL the client named, if the config allows one, with the
/// retries, fallbacks and timeout litellm's fields ask for (taken out of
/// the body, see [`litellm_fields`]).
async fn read_request<T: serde::de::DeserializeOwned>(
    state: &AppState,
    caller: Option<&Caller>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(T, RouteOptions), ApiError> {
    let (mut map, mut route) = read_object(state, headers, body).await?;
    litellm_fields::take(state, caller, &mut map, &mut route)?;
    Ok((body::typed(map)?, route))
}

/// Reads and checks a request body as a JSON object, with how to route it.
pub(super) async fn read_object(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Map<String, Value>, RouteOptions), ApiError> {
    let bytes = body::read(headers, body, state.body_limits()).await?;
    let mut map = body::object(&bytes)?;
    let route = RouteOptions {
        api_base: take_api_base(state, &mut map)?,
        ..RouteOptions::default()
    };
    Ok((map, route))
}

/// Takes `api_base` / `base_url` out of the request: refused unless the
/// server allows clients to pick the upstream host.
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
        if !state.settings.allow_client_api_base {
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

/// Names the deployment that answered, to the client.
fn served_by(mut resp: Response, deployment: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(deployment) {
        resp.headers_mut().insert(DEPLOYMENT_HEADER, v);
    }
    resp
}
