//! A call as the Python layer hands it over: the request body, as JSON
//! (every keyword argument that is not the package's own; litellm's routing
//! arguments — `fallbacks`, `num_retries`, `mock_response`… — stay in it
//! for the library to take out and act on), and the call's settings (key,
//! base URL, timeout, its own prices) as JSON. A keyword argument named
//! like one of the provider's spec parameters (`api_version`,
//! `vertex_project`…) is that parameter, never a body field. Every value
//! is checked here or by the library: an absurd one is a bad request
//! naming it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::{CallOptions, Client};
use crate::duration::Seconds;
use crate::error::{Error, ErrorKind, Result};
use crate::router::RouteOptions;
use crate::server::litellm_model;
use crate::types::{ChatRequest, EmbeddingRequest};

/// The call's own settings, as the Python layer names them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    api_key: Option<String>,
    api_base: Option<String>,
    /// Seconds.
    timeout: Option<f64>,
    /// USD per token, replacing the catalog's input and output rates.
    input_cost_per_token: Option<f64>,
    output_cost_per_token: Option<f64>,
}

/// Per-call routing settings of a Router call.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Route {
    fallbacks: Option<Vec<String>>,
    num_retries: Option<u32>,
    /// Seconds.
    timeout: Option<f64>,
    mock_response: Option<Value>,
}

/// `text` read as `T`; an error names the field it stopped at.
pub(super) fn parse<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            Error::bad_request(format!("{what}: {}", e.inner()))
        } else {
            Error::bad_request(format!("{what}: {path}: {}", e.inner()))
        }
    })
}

/// A chat call: its request (checked against OpenAI's documented ranges)
/// and its options.
pub(super) fn chat(
    client: &Client,
    body: &str,
    settings: &str,
) -> Result<(ChatRequest, CallOptions)> {
    let mut req: ChatRequest = parse(body, "request")?;
    req.validate()?;
    req.model = model_name(client, &req.model)?;
    let opts = options(client, &req.model, settings, &mut req.extra)?;
    Ok((req, opts))
}

/// An embedding call: its request and options (with litellm's `fallbacks`
/// and `num_retries` taken out of the body).
pub(super) fn embedding(
    client: &Client,
    body: &str,
    settings: &str,
) -> Result<(EmbeddingRequest, CallOptions)> {
    let mut req: EmbeddingRequest = parse(body, "request")?;
    req.model = model_name(client, &req.model)?;
    let mut opts = options(client, &req.model, settings, &mut req.extra)?;
    opts.take_litellm_args(&mut req.extra)?;
    if opts.mock_response.is_some() {
        return Err(Error::bad_request(
            "mock_response is not taken by embedding() here",
        ));
    }
    Ok((req, opts))
}

/// `model` in Switchboard's naming: a litellm provider prefix that no spec
/// is named after (`together_ai/…`) becomes the spec's id.
pub(super) fn model_name(client: &Client, model: &str) -> Result<String> {
    match model.split_once('/') {
        Some((prefix, _)) if client.registry().get(prefix).is_none() => litellm_model(model),
        _ => Ok(model.to_string()),
    }
}

/// A Router call's routing settings.
pub(super) fn route(text: &str) -> Result<RouteOptions> {
    let r: Route = parse(text, "routing settings")?;
    let timeout = r
        .timeout
        .map(|t| Seconds::positive(t, "timeout").map(Seconds::get))
        .transpose()?;
    let mut opts = CallOptions::default();
    if let Some(mock) = &r.mock_response {
        let mut extra = Map::from_iter([("mock_response".to_string(), mock.clone())]);
        opts.take_litellm_args(&mut extra)?;
    }
    Ok(RouteOptions {
        fallbacks: r.fallbacks,
        retries: r.num_retries,
        timeout,
        mock_response: opts.mock_response,
        ..RouteOptions::default()
    })
}

/// The call's options from its settings, and the provider parameters named
/// in `extra` (taken out of it).
fn options(
    client: &Client,
    model: &str,
    settings: &str,
    extra: &mut Map<String, Value>,
) -> Result<CallOptions> {
    let s: Settings = if settings.is_empty() {
        Settings::default()
    } else {
        parse(settings, "call settings")?
    };
    let mut opts = CallOptions {
        api_key: s.api_key,
        api_base: s.api_base,
        timeout: s
            .timeout
            .map(|t| Seconds::positive(t, "timeout").map(Seconds::get))
            .transpose()?,
        ..CallOptions::default()
    };
    if s.input_cost_per_token.is_some() || s.output_cost_per_token.is_some() {
        // litellm keeps the rest of the entry it updates: so do we.
        let base = client.model_info(model).cloned().unwrap_or_default();
        let own = base.with_token_prices(s.input_cost_per_token, s.output_cost_per_token)?;
        opts.price = Some(std::sync::Arc::new(own));
    }
    if !extra.is_empty()
        && let Ok((spec, _)) = client.registry().resolve(model)
    {
        for p in &spec.params {
            let Some(v) = extra.remove(&p.name) else {
                continue;
            };
            let v = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Null => continue,
                _ => {
                    return Err(Error::bad_request(format!("{} must be a string", p.name)));
                }
            };
            opts.params.insert(p.name.clone(), v);
        }
    }
    Ok(opts)
}

/// `value` as JSON text: an answer as it crosses back to Python.
pub(super) fn to_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot serialize an answer: {e}"),
        )
    })
}
