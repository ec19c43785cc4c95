//! The one handler behind every front door (`ingress/<id>.toml`): the
//! door's templates map the incoming body to the canonical chat request,
//! which then takes the very path a chat call takes — the same record,
//! admission (virtual key, budget, limits), Router and spend log
//! ([`routed_chat`]) — and the answer, the stream (through the block
//! framing) and count-tokens go back in the door's shape. Error bodies are
//! put in the door's shape by the [boundary](super::boundary). Knows no
//! door by name.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{FutureExt, Stream, StreamExt};
use serde_json::Value;

use super::error::{ApiError, Scrub};
use super::handlers::{
    Answer, DEPLOYMENT_HEADER, answered, failed, read_object, require_model, routed_chat,
    sse_response,
};
use super::key::presented_value;
use super::metrics::Metrics;
use crate::client::{ChatStream, Native};
use crate::error::{Error, ErrorKind};
use crate::ingress::Door;
use crate::ingress::frame::{Event, Framer};
use crate::server::AppState;
use crate::server::accounts::Caller;
use crate::server::record::{Recorded, Recording, Route};
use crate::types::ChatRequest;

/// `POST <door path>`.
pub(crate) async fn call(
    door: Arc<Door>,
    state: Arc<AppState>,
    caller: Option<&Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let mut call = state.recorder.open(Route::Chat);
    let mut native = None;
    let answer = async {
        let (map, mut route) = read_object(&state, &headers, body).await?;
        let incoming = Value::Object(map);
        let req = canonical(&door, &incoming)?;
        if let Some(dialect) = &door.dialect {
            native = Some(Native::new(dialect.clone(), incoming));
            route.native = native.clone();
        }
        routed_chat(&state, &mut call, caller, req, &route).await
    }
    .await;
    match answer {
        Ok(Answer::Json(resp)) => {
            // The provider's own answer, when it speaks the door's dialect.
            if let Some(own) = native.as_ref().and_then(Native::take_answer) {
                return Ok(answered(own, call));
            }
            match door.answer(&resp) {
                Ok(body) => Ok(answered(body, call)),
                Err(e) => Err(failed(call, ApiError::from(e))),
            }
        }
        Ok(Answer::Stream(stream)) => {
            Ok(door_stream(&state, &door, &headers, stream, call, native))
        }
        Err(e) => Err(failed(call, e)),
    }
}

/// `POST <door count-tokens path>`: the canonical request's input tokens,
/// as the group's provider counts them where its spec has a count API
/// (the caller's body passed through when the provider speaks the door's
/// dialect), else by the token counter. No call: nothing is charged or
/// logged, and no limit is used. `x-switchboard-token-count` says who
/// counted (`provider` or `local`).
pub(crate) async fn count_tokens(
    door: Arc<Door>,
    state: Arc<AppState>,
    caller: Option<&Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (map, mut route) = read_object(&state, &headers, body).await?;
    let incoming = Value::Object(map);
    let mut req = canonical(&door, &incoming)?;
    req.model = state.router.group_of(&req.model).to_string();
    require_model(&state, caller, &req.model)?;
    state.accounts.permits(caller, &req.model)?;
    if let Some(dialect) = &door.dialect {
        route.native = Some(Native::new(dialect.clone(), incoming));
    }
    let counted = state.router.count_tokens(&req, &route).await?;
    let body = door.count(counted.tokens, &req.model)?;
    let mut resp = axum::Json(body).into_response();
    let h = resp.headers_mut();
    h.insert(
        COUNTER_HEADER,
        HeaderValue::from_static(counted.counter.as_str()),
    );
    if let Some(v) = counted
        .deployment
        .and_then(|d| HeaderValue::from_str(&d).ok())
    {
        h.insert(DEPLOYMENT_HEADER, v);
    }
    Ok(resp)
}

/// Who counted a token count's tokens: `provider` or `local`.
const COUNTER_HEADER: &str = "x-switchboard-token-count";

/// The canonical chat request for a door's incoming body.
fn canonical(door: &Door, incoming: &Value) -> Result<ChatRequest, ApiError> {
    let mapped = door.request(incoming)?;
    serde_json::from_value(mapped).map_err(|e| {
        ApiError::invalid(
            format!(
                "{}: the request does not map to a chat request: {e}",
                door.name
            ),
            None,
        )
    })
}

/// A routed stream framed by the door; the record goes with it.
fn door_stream(
    state: &AppState,
    door: &Arc<Door>,
    headers: &HeaderMap,
    stream: ChatStream,
    call: Recording,
    native: Option<Native>,
) -> Response {
    let deployment = HeaderValue::from_str(call.deployment()).ok();
    let scrub = Scrub::new(state.redactor.clone(), presented_value(headers).cloned());
    let events = framed(
        Recorded::new(stream, call),
        door.clone(),
        scrub,
        state.metrics.clone(),
        native.filter(Native::used),
    );
    sse_response(Body::from_stream(events), deployment)
}

struct Tail<S> {
    rest: S,
    framer: Framer,
    door: Arc<Door>,
    scrub: Scrub,
    metrics: Arc<Metrics>,
    /// A passed-through stream: its raw frames go out as they came.
    native: Option<Native>,
    queue: VecDeque<Bytes>,
    over: bool,
}

/// The door's events for a canonical stream (or, passed through, the
/// provider's own frames): one write per chunk; a failure (or a panic)
/// mid-way is the door's error event, last.
pub(super) fn framed(
    stream: impl Stream<Item = crate::error::Result<crate::types::ChatChunk>> + Send + Unpin + 'static,
    door: Arc<Door>,
    scrub: Scrub,
    metrics: Arc<Metrics>,
    native: Option<Native>,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let tail = Tail {
        rest: stream,
        framer: Framer::new(door.clone()),
        door,
        scrub,
        metrics,
        native,
        queue: VecDeque::new(),
        over: false,
    };
    futures::stream::unfold(tail, |mut t| async move {
        loop {
            if let Some(b) = t.queue.pop_front() {
                return Some((Ok(b), t));
            }
            if t.over {
                return None;
            }
            let next = AssertUnwindSafe(t.rest.next()).catch_unwind().await;
            if let (Some(n), Ok(Some(Ok(_)) | None)) = (&t.native, &next) {
                let raw = raw_frames(&n.take_frames());
                if !raw.is_empty() {
                    t.queue.push_back(raw);
                }
                if matches!(next, Ok(None)) {
                    t.over = true;
                }
                continue;
            }
            let events = match next {
                Ok(Some(Ok(chunk))) => t.framer.chunk(&chunk),
                Ok(Some(Err(e))) => Err(e),
                Ok(None) => {
                    t.over = true;
                    t.framer.finish()
                }
                Err(_) => {
                    t.metrics.panicked("chat");
                    Err(Error::new(
                        ErrorKind::Internal,
                        "the stream failed (a bug; logged)",
                    ))
                }
            };
            match events {
                Ok(list) => {
                    if !list.is_empty() {
                        t.queue.push_back(joined(&list));
                    }
                }
                Err(e) => {
                    t.over = true;
                    let e = ApiError::from(e);
                    let status = t.door.status(e.kind(), e.status().as_u16());
                    let body = t.door.error_body(e.kind(), status, &t.scrub.body(&e));
                    t.queue.push_back(joined(&t.framer.error(body)));
                }
            }
        }
    })
}

/// Frames as they came: `event: <name>` (when named) and `data: <text>`.
fn raw_frames(frames: &[crate::client::NativeFrame]) -> Bytes {
    let mut out = String::new();
    for (event, data) in frames {
        if let Some(e) = event {
            out.push_str("event: ");
            out.push_str(e);
            out.push('\n');
        }
        for line in data.split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    Bytes::from(out)
}

fn joined(events: &[Event]) -> Bytes {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(&e.to_bytes());
    }
    Bytes::from(out)
}
