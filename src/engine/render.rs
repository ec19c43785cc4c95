//! Renders the HTTP request for a call: method, path (with query), extra
//! headers and the JSON body, from a compiled spec. [`prepare_chat`] is the
//! one way a chat request becomes one (the client, the pure functions and
//! lint all use it): the canonical request, shaped as the spec's endpoint
//! asks, rendered through its templates. Pure.

use reqwest::Method;
use serde_json::{Map, Value};

use super::canonical::canonical;
use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::spec::compile::RequestTemplate;
use crate::template::{RenderError, Renderer, Tpl};
use crate::types::ChatRequest;

/// A rendered upstream request, ready for the transport (auth not yet
/// applied): what the client sends and what the pure `render` function shows.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedRequest {
    /// The spec's base URL, rendered with the call's parameters.
    pub base_url: String,
    pub method: Method,
    /// Path and query, appended to the base URL.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// The auth scheme's signing region, rendered with the call's parameters (`aws-sigv4`).
    pub auth_region: Option<String>,
}

/// Prepares a chat call to `spec` for the provider-side `model`: builds the
/// canonical request from `req` (with the call's `params`) and renders the
/// endpoint's path (the stream path when `stream`), headers and body.
pub(crate) fn prepare_chat(
    spec: &Spec,
    req: &ChatRequest,
    model: &str,
    params: Map<String, Value>,
    stream: bool,
) -> Result<RenderedRequest> {
    let Some(ep) = spec.chat.as_ref() else {
        return Err(no_endpoint(spec, "chat"));
    };
    let canon =
        canonical(req, model, stream, params, &ep.shape).map_err(|e| e.at(&spec.id, model))?;
    let path = match (&ep.stream_path, stream) {
        (Some(p), true) => Some(p),
        _ => None,
    };
    render_request(spec, &ep.request, path, &canon)
}

/// Renders any endpoint's request; `path` replaces the endpoint's path template.
pub(crate) fn render_request(
    spec: &Spec,
    req: &RequestTemplate,
    path: Option<&Tpl>,
    root: &Value,
) -> Result<RenderedRequest> {
    let r = Renderer { parts: &req.parts };
    let fail = |e: RenderError| {
        Error::bad_request(e.0).at(&spec.id, root["model"].as_str().unwrap_or_default())
    };
    let base_url = text(&r, &spec.base_url_tpl, root).map_err(fail)?;
    let path = text(&r, path.unwrap_or(&req.path), root).map_err(fail)?;
    let mut headers = Vec::with_capacity(spec.headers.len());
    for (name, tpl) in &spec.headers {
        let value = text(&r, tpl, root).map_err(fail)?;
        if !value.is_empty() {
            headers.push((name.clone(), value));
        }
    }
    let body = r.render(&req.body, root).map_err(fail)?;
    let auth_region = match &spec.auth.region {
        Some(tpl) => Some(text(&r, tpl, root).map_err(fail)?),
        None => None,
    };
    Ok(RenderedRequest {
        base_url,
        method: req.method.clone(),
        path,
        headers,
        body,
        auth_region,
    })
}

/// The error for a call to an endpoint the spec does not have.
pub(crate) fn no_endpoint(spec: &Spec, what: &str) -> Error {
    Error::bad_request(format!("{} has no {what} endpoint", spec.name)).for_provider(&spec.id)
}

fn text(r: &Renderer<'_>, tpl: &Tpl, root: &Value) -> Result<String, RenderError> {
    Ok(match r.render(tpl, root)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}
