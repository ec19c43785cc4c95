//! What a call takes from outside its request: the API key (the call's, else
//! the spec's environment variable), provider parameters (the call's, else
//! their environment variable, else their default) and the base URL from
//! the spec's `base-url-env` variables. Reads the environment; does no I/O
//! otherwise.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::CallOptions;
use crate::error::{Error, ErrorKind, Result};
use crate::spec::Spec;

/// Provider parameters: the call's value, else the env var, else the default.
pub(super) fn resolve_params(
    spec: &Spec,
    given: &BTreeMap<String, String>,
) -> Result<Map<String, Value>> {
    for name in given.keys() {
        if !spec.params.iter().any(|p| &p.name == name) {
            let known: Vec<&str> = spec.params.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::bad_request(format!(
                "unknown parameter {name:?} (this provider takes: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let mut out = Map::new();
    for p in &spec.params {
        let value = given
            .get(&p.name)
            .cloned()
            .or_else(|| p.env.as_ref().and_then(|e| std::env::var(e).ok()))
            .or_else(|| p.default.clone());
        match value {
            Some(v) => {
                out.insert(p.name.clone(), Value::String(v));
            }
            None if p.required => {
                let env = p
                    .env
                    .as_ref()
                    .map(|e| format!(" or set {e}"))
                    .unwrap_or_default();
                return Err(Error::bad_request(format!(
                    "missing parameter {0:?}: pass --param {0}=…{env}",
                    p.name
                )));
            }
            None => {}
        }
    }
    Ok(out)
}

/// The call's key, else the spec's environment variable; missing is an error unless optional.
pub(super) fn api_key(spec: &Spec, opts: &CallOptions) -> Result<Option<String>> {
    let key = match &opts.api_key {
        Some(k) => Some(k.clone()),
        None => spec
            .auth
            .env
            .as_ref()
            .and_then(|v| std::env::var(v).ok())
            .filter(|k| !k.is_empty()),
    };
    // A scheme that finds its own credentials (aws-sigv4) reports a missing one itself.
    if key.is_none() && !spec.auth.optional && spec.auth.scheme.needs_key() {
        let env = spec
            .auth
            .env
            .as_deref()
            .unwrap_or("the provider's key variable");
        return Err(Error::new(
            ErrorKind::Authentication,
            format!("no API key: set {env} or pass an api_key"),
        ));
    }
    Ok(key)
}

/// The base URL the spec's `base-url-env` variables give (first set and
/// non-empty wins), as litellm reads `OPENAI_API_BASE` and the like; a value
/// that is not an http(s) URL is an error naming its variable.
pub(super) fn env_base_url(spec: &Spec) -> Result<Option<String>> {
    for var in &spec.base_url_env {
        let Some(value) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let value = value.trim().trim_end_matches('/');
        if !(value.starts_with("http://") || value.starts_with("https://")) {
            return Err(Error::bad_request(format!(
                "{var} must be an http:// or https:// URL, got {:?}",
                crate::redact::display_url(value)
            )));
        }
        return Ok(Some(value.to_string()));
    }
    Ok(None)
}
