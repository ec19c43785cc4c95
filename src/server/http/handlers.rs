//! The API calls: chat (JSON or SSE) and embeddings. Each one reads and
//! checks the request, has the caller's key admit it, calls the Router (or
//! the group's deployments directly, for embeddings and client base URLs),
//! notes what it learned in the call record, and answers; every failure is
//! an [`ApiError`] in the OpenAI shape.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Map, Value};

use super::body;
use super::call;
use super::error::{ApiError, Scrub};
use super::key::presented_value;
use super::metrics;
use super::sse;
use crate::error::{Error, ErrorKind};
use crate::router::RouteOptions;
use crate::server::AppState;
use crate::server::accounts::{Call, Caller, Metered};
use crate::types::{ChatRequest, EmbeddingRequest};

const DEPLOYMENT_HEADER: &str = "x-switchboard-deployment";

/// Request fields that would send the call to another host.
const BASE_URL_FIELDS: [&str; 2] = ["api_base", "base_url"];

type Key = Option<axum::Extension<Caller>>;

/// `POST /v1/chat/completions`.
pub(crate) async fn chat(
    State(state): State<Arc<AppState>>,
    caller: Key,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (mut req, api_base): (ChatRequest, _) = read_request(&state, &headers, body).await?;
    call::note_group(&req.model);
    require_model(&state, &caller, &req.model)?;
    req.validate()
        .map_err(|e| ApiError::invalid(e.message(), Some(e.param().to_string())))?;
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
        call::note_usage(resp.usage.as_ref());
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
    let stream = Metered::new(metrics::observe(stream, &state.metrics), meter, hide_usage);
    let scrub = Scrub::new(state.redactor.clone(), presented_value(&headers).cloned());
    let events = sse::events(first, stream, scrub, state.metrics.clone());
    let mut resp = Body::from_stream(events).into_response();
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
    caller: Key,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (req, api_base): (EmbeddingRequest, _) = read_request(&state, &headers, body).await?;
    call::note_group(&req.model);
    require_model(&state, &caller, &req.model)?;
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
    call::note_usage(resp.usage.as_ref());
    meter.finish(&deployment, resp.usage.as_ref());
    Ok(served_by(Json(resp).into_response(), &deployment))
}

/// The request names a model group this server has: 400 when it names
/// none, 404 when the group is unknown (listing only the groups the
/// caller may use).
fn require_model(state: &AppState, caller: &Key, model: &str) -> Result<(), ApiError> {
    if model.is_empty() {
        return Err(ApiError::invalid(
            "missing required field model",
            Some("model".into()),
        ));
    }
    if state.has_group(model) {
        return Ok(());
    }
    let visible = state.groups_for(caller.as_deref());
    Err(ApiError::from(Error::new(
        ErrorKind::NotFound,
        format!("no model group {model:?} (groups: {})", visible.join(", ")),
    ))
    .with_code("model_not_found"))
}

/// Reads, checks and types a request body; also returns the base URL the
/// client named, if the config allows one.
async fn read_request<T: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(T, Option<String>), ApiError> {
    let bytes = body::read(headers, body, state.body_limits()).await?;
    let mut map = body::object(&bytes)?;
    let api_base = take_api_base(state, &mut map)?;
    Ok((body::typed(map)?, api_base))
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

/// Names the deployment that answered, to the client and in the call record.
fn served_by(mut resp: Response, deployment: &str) -> Response {
    call::note_deployment(deployment);
    if let Ok(v) = HeaderValue::from_str(deployment) {
        resp.headers_mut().insert(DEPLOYMENT_HEADER, v);
    }
    resp
}
