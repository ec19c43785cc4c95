//! Renders the HTTP request for a call: method, path (with query), extra
//! headers and the JSON body, from a spec and the canonical request. Pure.

use reqwest::Method;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::spec::template::{RenderError, Renderer, Tpl};

/// A request ready for the transport (auth not yet applied).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    pub(crate) method: Method,
    /// Path and query, appended to the base URL.
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Value,
}

/// Renders the chat request; `canonical` comes from `engine::canonical`.
pub(crate) fn render_chat(spec: &Spec, canonical: &Value, stream: bool) -> Result<Prepared> {
    let ep = &spec.chat;
    let r = Renderer { parts: &ep.parts };
    let fail = |e: RenderError| Error::bad_request(e.0).at(&spec.id, canonical["model"].as_str().unwrap_or_default());
    let path_tpl = match (&ep.stream_path, stream) {
        (Some(p), true) => p,
        _ => &ep.path,
    };
    let path = text(&r, path_tpl, canonical).map_err(fail)?;
    let mut headers = Vec::with_capacity(spec.headers.len());
    for (name, tpl) in &spec.headers {
        let value = text(&r, tpl, canonical).map_err(fail)?;
        if !value.is_empty() {
            headers.push((name.clone(), value));
        }
    }
    let body = r.render(&ep.body, canonical).map_err(fail)?;
    Ok(Prepared {
        method: ep.method.clone(),
        path,
        headers,
        body,
    })
}

fn text(r: &Renderer<'_>, tpl: &Tpl, root: &Value) -> Result<String, RenderError> {
    Ok(match r.render(tpl, root)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}
