//! litellm's own fields in a proxied request body, which a client written
//! for litellm's proxy sends and a real provider rejects: each is acted on
//! or taken out here, so none reaches an upstream.
//!
//! - Acted on, as route options: `fallbacks`, `context_window_fallbacks`,
//!   `content_policy_fallbacks` (model groups this server serves and the
//!   caller's key may call), `num_retries`, `mock_response`,
//!   `mock_tool_calls`, `timeout` / `request_timeout` (seconds).
//! - `user`: sent to a provider that takes it, dropped for one that does not.
//! - Taken out, with a debug line: litellm's bookkeeping (`metadata`,
//!   `tags`, `caching`, …; see [`STRIPPED`]).
//! - Refused (400 naming the field): what would let a client set the
//!   server's credentials, deployments or prices ([`REFUSED`]).
//!
//! `drop_params`, `additional_drop_params` and `allowed_openai_params` stay
//! in the body: the Client's parameter policy takes them out and acts on
//! them. Reads the caller's key and the served groups; knows no provider.

use serde_json::{Map, Value};

use super::error::ApiError;
use crate::client::{CallOptions, Fallback};
use crate::duration::Seconds;
use crate::error::{Error, ErrorKind};
use crate::router::RouteOptions;
use crate::server::AppState;
use crate::server::accounts::Caller;

/// litellm proxy fields that mean nothing to a provider: taken out.
pub(crate) const STRIPPED: [&str; 14] = [
    "metadata",
    "litellm_metadata",
    "tags",
    "caching",
    "cache",
    "no-log",
    "guardrails",
    "mock_testing_fallbacks",
    "mock_testing_context_fallbacks",
    "mock_testing_content_policy_fallbacks",
    "mock_timeout",
    "litellm_trace_id",
    "litellm_session_id",
    "disable_fallbacks",
];

/// Fields that would let a client choose the server's credentials,
/// deployments or prices: refused, never silently dropped.
const REFUSED: [&str; 6] = [
    "api_key",
    "user_config",
    "model_list",
    "input_cost_per_token",
    "output_cost_per_token",
    "secret_fields",
];

/// Parameters sent where the provider takes them and dropped elsewhere.
const LENIENT: [&str; 1] = ["user"];

/// Takes litellm's fields out of `map` into `route`; a bad value, a
/// refused field, or a fallback the caller may not call is a 400 naming it.
pub(crate) fn take(
    state: &AppState,
    caller: Option<&Caller>,
    map: &mut Map<String, Value>,
    route: &mut RouteOptions,
) -> Result<(), ApiError> {
    if let Some(field) = REFUSED.iter().find(|f| map.contains_key(**f)) {
        return Err(ApiError::invalid(
            format!("{field} is not accepted in a request to this server: deployments, keys and prices come from its config"),
            Some((*field).into()),
        )
        .with_code("field_not_allowed"));
    }
    let stripped: Vec<&str> = STRIPPED
        .iter()
        .copied()
        .filter(|f| map.remove(*f).is_some())
        .collect();
    if !stripped.is_empty() {
        log::debug!("litellm fields not sent upstream: {}", stripped.join(", "));
    }
    route.timeout = timeout(map)?.or(route.timeout);
    route.drop_if_unsupported = LENIENT.iter().map(|p| (*p).to_string()).collect();
    let mut opts = CallOptions::default();
    opts.take_litellm_args(map).map_err(param_of)?;
    route.mock_response = opts.mock_response;
    route.retries = opts.num_retries.or(route.retries);
    if !opts.fallbacks.is_empty() {
        route.fallbacks = Some(groups(state, caller, &opts.fallbacks, "fallbacks")?);
    }
    for (table, given, field) in [
        (
            &mut route.context_window_fallbacks,
            &opts.context_window_fallbacks,
            "context_window_fallbacks",
        ),
        (
            &mut route.content_policy_fallbacks,
            &opts.content_policy_fallbacks,
            "content_policy_fallbacks",
        ),
    ] {
        if given.is_empty() {
            continue;
        }
        let mut out = indexmap::IndexMap::new();
        for (from, list) in given {
            out.insert(from.clone(), groups(state, caller, list, field)?);
        }
        *table = Some(out);
    }
    Ok(())
}

/// `timeout` (or litellm's `request_timeout`), in seconds.
fn timeout(map: &mut Map<String, Value>) -> Result<Option<std::time::Duration>, ApiError> {
    let mut found = None;
    for field in ["timeout", "request_timeout"] {
        let Some(v) = map.remove(field).filter(|v| !v.is_null()) else {
            continue;
        };
        let secs = v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
        let secs = secs
            .ok_or_else(|| Error::bad_request(format!("{field} must be a number of seconds")))
            .and_then(|s| Seconds::positive(s, field))
            .map_err(|e| ApiError::invalid(e.message(), Some(field.into())))?;
        found = Some(secs.get());
    }
    Ok(found)
}

/// The fallbacks as model groups: each one served here, allowed to the
/// caller's key, and named only (no key, base URL or mock of its own).
fn groups(
    state: &AppState,
    caller: Option<&Caller>,
    list: &[Fallback],
    field: &str,
) -> Result<Vec<String>, ApiError> {
    list.iter()
        .map(|f| {
            if f.api_key.is_some() || f.api_base.is_some() || f.mock_response.is_some() {
                return Err(ApiError::invalid(
                    format!("{field}: a fallback here names a model group of this server, with no key, base URL or mock of its own"),
                    Some(field.into()),
                ));
            }
            let group = state.router.group_of(&f.model);
            let allowed = match caller {
                None => true,
                Some(Caller(key)) => key.with_record(|r| r.may_call(group)),
            };
            if !state.has_group(group) || !allowed {
                return Err(ApiError::from(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "{field}: no model group {:?} (groups: {})",
                        f.model,
                        state.groups_for(caller).join(", ")
                    ),
                ))
                .with_code("model_not_found"));
            }
            Ok(group.to_string())
        })
        .collect()
}

/// A litellm argument's error, as a 400 naming the argument when it can.
fn param_of(e: Error) -> ApiError {
    let field = [
        "fallbacks",
        "num_retries",
        "mock_response",
        "mock_tool_calls",
    ]
    .into_iter()
    .find(|f| e.message().contains(f));
    ApiError::invalid(e.message(), field.map(str::to_string))
}
