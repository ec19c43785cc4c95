//! The admin API, for the master key only: virtual keys are generated,
//! listed, read, updated and revoked, and the spend log is read.
//!
//! - `POST /key/generate` `{models, max_budget, budget_duration, rpm_limit,
//!   tpm_limit, max_parallel_requests, duration | expires_at, metadata,
//!   key_alias}` → the new key (shown once) and its record; `token` (the
//!   key's SHA-256) names it from then on. With `budget_duration` (`30d`)
//!   the budget caps each period's spend; `""` makes it the key's whole
//!   life's again. litellm's other fields (`user_id`, `team_id`, `tags`, …)
//!   and unknown ones are stored in `metadata`, and the answer's
//!   `warnings` says each is not enforced.
//! - `GET /key/info?key=<key or token>` → its record: `spend` over the key's
//!   life, and for a periodic budget `budget_spend` and `budget_reset_at`
//!   (in a Redis fleet, the fleet's figures).
//! - `POST /key/update` `{key, …fields to change}` → the new record.
//! - `POST /key/delete` `{keys: [...]}` → `{deleted_keys: [tokens]}`.
//! - `GET /key/list` → every key's record (spend as `/key/info` reports it).
//! - `GET /spend/logs[?api_key=<key or token>][&limit=N]` → spend rows,
//!   oldest first (pending rows are written first).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::AppState;
use super::accounts::{KeyFields, KeyRecord, Store, fold_other_fields};
use super::body;
use super::http::auth::{presented, same_key};
use super::http::error::{ApiError, unauthorized};
use crate::error::{Error, ErrorKind};

/// Rows `/spend/logs` returns unless `limit` says otherwise.
const DEFAULT_LIMIT: i64 = 1000;

/// The admin routes, behind the master key.
pub(crate) fn routes(state: Arc<AppState>) -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/key/generate", post(generate))
        .route("/key/info", get(info))
        .route("/key/update", post(update))
        .route("/key/delete", post(delete))
        .route("/key/list", get(list))
        .route("/spend/logs", get(spend_logs))
        .route_layer(middleware::from_fn_with_state(state, require_master))
}

/// Middleware: 401 unless the request carries the master key itself.
async fn require_master(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(expected) = &state.master_key else {
        return unauthorized(
            "the admin API needs a master key: set [server] master-key (or SWITCHBOARD_MASTER_KEY)",
        )
        .into_response();
    };
    match presented(req.headers()) {
        None => {
            unauthorized("missing API key: send the master key as `Authorization: Bearer <key>`")
                .into_response()
        }
        Some(given) if !same_key(given, expected) => {
            unauthorized("the admin API takes the master key only").into_response()
        }
        Some(_) => next.run(req).await,
    }
}

fn store(state: &AppState) -> Result<&Store, ApiError> {
    Ok(state.accounts.require_store()?)
}

/// The fields of a key request; litellm's fields this proxy has no use
/// for, and unknown ones, are kept in its metadata with a warning each.
async fn fields(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(KeyFields, Vec<String>), ApiError> {
    let bytes = body::read(headers, body, state.body_limits()).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((KeyFields::default(), Vec::new()));
    }
    let mut map = body::object(&bytes)?;
    let warnings = fold_other_fields(&mut map);
    Ok((body::typed(map)?, warnings))
}

fn info_json(r: &KeyRecord, warnings: &[String]) -> Value {
    let mut out = json!({ "key": r.token, "info": r });
    if !warnings.is_empty() {
        out["warnings"] = json!(warnings);
    }
    out
}

fn no_key(key: &str) -> ApiError {
    Error::new(ErrorKind::NotFound, format!("no such key: {key}")).into()
}

async fn generate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let store = store(&state)?;
    let (fields, warnings) = fields(&state, &headers, body).await?;
    let (key, record) = store.keys.generate(fields).await?;
    let mut out = serde_json::to_value(&record).unwrap_or_default();
    if let Some(o) = out.as_object_mut() {
        o.insert("key".into(), key.into());
        if !warnings.is_empty() {
            o.insert("warnings".into(), json!(warnings));
        }
    }
    Ok(Json(out).into_response())
}

async fn info(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let store = store(&state)?;
    let Some(key) = q.get("key") else {
        return Err(ApiError::invalid(
            "key is required: /key/info?key=<key or token>",
            Some("key".into()),
        ));
    };
    match store.keys.find(key).await? {
        Some(s) => Ok(Json(info_json(&state.accounts.report(&s).await?, &[])).into_response()),
        None => Err(no_key(key)),
    }
}

async fn update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let store = store(&state)?;
    let (fields, warnings) = fields(&state, &headers, body).await?;
    let key = fields.key.clone().unwrap_or_default();
    match store.keys.update(fields).await? {
        Some(s) => {
            let record = state.accounts.report(&s).await?;
            Ok(Json(info_json(&record, &warnings)).into_response())
        }
        None => Err(no_key(&key)),
    }
}

async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let store = store(&state)?;
    let bytes = body::read(&headers, body, state.body_limits()).await?;
    let mut map = body::object(&bytes)?;
    let keys: Vec<String> = match map.remove("keys") {
        Some(v) => serde_json::from_value(v).map_err(|_| {
            ApiError::invalid("keys must be a list of keys or tokens", Some("keys".into()))
        })?,
        None => {
            return Err(ApiError::invalid(
                "keys is required: the keys (or tokens) to revoke",
                Some("keys".into()),
            ));
        }
    };
    let deleted = store.keys.delete(&keys).await?;
    Ok(Json(json!({ "deleted_keys": deleted })).into_response())
}

async fn list(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let keys = state.accounts.list().await?;
    Ok(Json(json!({ "keys": keys })).into_response())
}

async fn spend_logs(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let store = store(&state)?;
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::invalid("limit must be a positive integer", Some("limit".into()))
        })?,
    };
    store.flush().await;
    let rows = store
        .spend_logs(q.get("api_key").map(String::as_str), limit)
        .await?;
    Ok(Json(rows).into_response())
}
