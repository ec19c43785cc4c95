//! litellm's model listings, for clients and dashboards written against
//! its proxy: `GET /v1/model/info` (one entry per deployment:
//! `model_name`, `litellm_params` without any key, `model_info` from the
//! catalog) and `GET /model_group/info` (one entry per model group, as
//! litellm's `ModelGroupInfo`). Prices are litellm's, USD per token; limits
//! and modes are the catalog's. A virtual key sees only the groups it may
//! use. Calls no upstream; knows no provider.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::cost::ModelInfo;
use crate::router::DeploymentView;
use crate::server::AppState;
use crate::server::accounts::Caller;

type Key = Option<axum::Extension<Caller>>;

/// Catalog prices are per million tokens; litellm's per token.
const PER_TOKEN: f64 = 1e-6;

/// Catalog capabilities, as litellm's `supports_*` flags.
const CAPABILITIES: [(&str, &str); 5] = [
    ("tools", "supports_function_calling"),
    ("parallel-tools", "supports_parallel_function_calling"),
    ("vision", "supports_vision"),
    ("reasoning", "supports_reasoning"),
    ("prompt-caching", "supports_prompt_caching"),
];

/// `GET /v1/model/info[?model=<group>]`: every deployment of the groups
/// the caller may use.
pub(crate) async fn model_info(
    State(state): State<Arc<AppState>>,
    caller: Key,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut data = Vec::new();
    for group in visible(&state, caller.as_deref(), q.get("model")) {
        for d in state.router.deployments(group).unwrap_or_default() {
            data.push(json!({
                "model_name": group,
                "litellm_params": params(&d),
                "model_info": deployment_info(&state, &d),
            }));
        }
    }
    Json(json!({ "data": data })).into_response()
}

/// `GET /model_group/info[?model_group=<group>]`: one entry per group the
/// caller may use.
pub(crate) async fn model_group_info(
    State(state): State<Arc<AppState>>,
    caller: Key,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let data: Vec<Value> = visible(&state, caller.as_deref(), q.get("model_group"))
        .into_iter()
        .map(|g| group_info(&state, g))
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// The groups `caller` may use, or the one asked for when it is among them.
fn visible<'s>(
    state: &'s AppState,
    caller: Option<&Caller>,
    only: Option<&String>,
) -> Vec<&'s str> {
    state
        .groups_for(caller)
        .into_iter()
        .filter(|g| only.is_none_or(|o| o == g))
        .collect()
}

/// What litellm shows of a deployment's `litellm_params`: never a key.
fn params(d: &DeploymentView) -> Value {
    let mut p = Map::new();
    p.insert("model".into(), json!(d.model));
    let optional = [
        ("api_base", d.api_base.as_ref().map(|b| json!(b))),
        ("rpm", d.rpm.map(|n| json!(n))),
        ("tpm", d.tpm.map(|n| json!(n))),
        ("max_parallel_requests", d.max_parallel.map(|n| json!(n))),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            p.insert(k.into(), v);
        }
    }
    Value::Object(p)
}

fn provider_of(state: &AppState, model: &str) -> Option<String> {
    let (spec, _) = state.router.client().registry().resolve(model).ok()?;
    Some(spec.id().to_string())
}

fn supported_params(state: &AppState, model: &str) -> Vec<String> {
    state
        .router
        .client()
        .registry()
        .supported_openai_params(model)
        .unwrap_or_default()
}

/// A deployment's `model_info`, as litellm's proxy answers it.
fn deployment_info(state: &AppState, d: &DeploymentView) -> Value {
    let info = d.info.as_deref();
    let mut out = Map::new();
    out.insert("id".into(), json!(d.id));
    out.insert("key".into(), json!(d.model));
    out.insert(
        "litellm_provider".into(),
        json!(provider_of(state, &d.model)),
    );
    out.insert(
        "mode".into(),
        json!(
            info.and_then(|i| i.mode.clone())
                .unwrap_or_else(|| "chat".into())
        ),
    );
    let window = info.and_then(|i| i.context_window);
    let output = info.and_then(|i| i.max_output);
    out.insert("max_input_tokens".into(), json!(window));
    out.insert("max_output_tokens".into(), json!(output));
    out.insert("max_tokens".into(), json!(output));
    for (key, price) in [
        ("input_cost_per_token", info.and_then(|i| i.input)),
        ("output_cost_per_token", info.and_then(|i| i.output)),
        (
            "cache_read_input_token_cost",
            info.and_then(|i| i.cached_input),
        ),
        (
            "cache_creation_input_token_cost",
            info.and_then(|i| i.cache_write),
        ),
    ] {
        out.insert(key.into(), json!(price.map(|p| p * PER_TOKEN)));
    }
    for (capability, flag) in CAPABILITIES {
        out.insert(
            flag.into(),
            json!(info.is_some_and(|i| i.supports(capability))),
        );
    }
    out.insert(
        "supported_openai_params".into(),
        json!(supported_params(state, &d.model)),
    );
    Value::Object(out)
}

/// A group as litellm's `ModelGroupInfo`: its providers, the largest
/// limits and highest prices among its deployments, what any of them
/// supports, and their rpm/tpm summed (None when none sets one).
fn group_info(state: &AppState, group: &str) -> Value {
    let members = state.router.deployments(group).unwrap_or_default();
    let infos: Vec<&ModelInfo> = members.iter().filter_map(|d| d.info.as_deref()).collect();
    let most = |f: fn(&ModelInfo) -> Option<u64>| infos.iter().filter_map(|i| f(i)).max();
    let highest = |f: fn(&ModelInfo) -> Option<f64>| {
        infos
            .iter()
            .filter_map(|i| f(i))
            .fold(None, |acc: Option<f64>, p| {
                Some(acc.map_or(p, |a| a.max(p)))
            })
            .map(|p| p * PER_TOKEN)
    };
    let summed = |f: fn(&DeploymentView) -> Option<u64>| {
        members
            .iter()
            .filter_map(f)
            .fold(None, |acc: Option<u64>, n| {
                Some(acc.unwrap_or(0).saturating_add(n))
            })
    };
    let providers: BTreeSet<String> = members
        .iter()
        .filter_map(|d| provider_of(state, &d.model))
        .collect();
    let params: BTreeSet<String> = members
        .iter()
        .flat_map(|d| supported_params(state, &d.model))
        .collect();
    let mode = infos
        .iter()
        .find_map(|i| i.mode.clone())
        .unwrap_or_else(|| "chat".into());
    let mut out = Map::new();
    out.insert("model_group".into(), json!(group));
    out.insert("providers".into(), json!(providers));
    out.insert("max_input_tokens".into(), json!(most(|i| i.context_window)));
    out.insert("max_output_tokens".into(), json!(most(|i| i.max_output)));
    out.insert("input_cost_per_token".into(), json!(highest(|i| i.input)));
    out.insert("output_cost_per_token".into(), json!(highest(|i| i.output)));
    out.insert("mode".into(), json!(mode));
    out.insert("tpm".into(), json!(summed(|d| d.tpm)));
    out.insert("rpm".into(), json!(summed(|d| d.rpm)));
    for (capability, flag) in CAPABILITIES {
        out.insert(
            flag.into(),
            json!(infos.iter().any(|i| i.supports(capability))),
        );
    }
    out.insert("supported_openai_params".into(), json!(params));
    Value::Object(out)
}
