//! A deployment's own request settings (litellm's `litellm_params`
//! `temperature`, `max_tokens`, `stop`, … and `extra_headers`): request
//! fields a call gets when it does not set them itself (the caller's
//! values win), and headers added to what the spec renders (replacing a
//! header of the same name). Checked when the deployment is built; pure.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::types::ChatRequest;

/// Fields a deployment may not set for its callers: they say who and what
/// is called, or how the answer is shaped, which is the caller's to say.
const NOT_DEFAULTS: [&str; 4] = ["model", "messages", "stream", "stream_options"];

/// `req` with each of `defaults` it does not set (absent or null); borrowed
/// when nothing is added.
pub(super) fn with_defaults<'r>(
    req: &'r ChatRequest,
    defaults: &Map<String, Value>,
) -> Result<Cow<'r, ChatRequest>> {
    if defaults.is_empty() {
        return Ok(Cow::Borrowed(req));
    }
    let Value::Object(mut map) = serde_json::to_value(req).map_err(bad)? else {
        return Ok(Cow::Borrowed(req));
    };
    let mut added = false;
    for (k, v) in defaults {
        if map.get(k).is_none_or(Value::is_null) {
            map.insert(k.clone(), v.clone());
            added = true;
        }
    }
    if !added {
        return Ok(Cow::Borrowed(req));
    }
    serde_json::from_value(Value::Object(map))
        .map(Cow::Owned)
        .map_err(bad)
}

/// Refuses defaults a request could not hold (a `temperature` that is not
/// a number) or may not take from a deployment, naming the deployment.
pub(crate) fn check_defaults(defaults: &Map<String, Value>, who: &str) -> Result<()> {
    if let Some(k) = defaults.keys().find(|k| NOT_DEFAULTS.contains(&k.as_str())) {
        return Err(Error::bad_request(format!(
            "deployment {who:?}: {k} cannot be a default (only request parameters can)"
        )));
    }
    let probe = ChatRequest::new("probe").user("probe");
    with_defaults(&probe, defaults)
        .map(drop)
        .map_err(|e| Error::bad_request(format!("deployment {who:?}: defaults: {}", e.message())))
}

/// Refuses header names or values HTTP cannot carry, naming the deployment.
pub(crate) fn check_headers(headers: &BTreeMap<String, String>, who: &str) -> Result<()> {
    for (name, value) in headers {
        let ok = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && reqwest::header::HeaderValue::from_str(value).is_ok();
        if !ok {
            return Err(Error::bad_request(format!(
                "deployment {who:?}: header {name:?} is not a valid HTTP header"
            )));
        }
    }
    Ok(())
}

/// Adds `extra` to `headers`, each replacing one of the same name.
pub(super) fn add_headers(headers: &mut Vec<(String, String)>, extra: &BTreeMap<String, String>) {
    for (name, value) in extra {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
}

fn bad(e: serde_json::Error) -> Error {
    Error::bad_request(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_fill_what_the_caller_left_out_and_the_callers_values_win() {
        let defaults =
            map(json!({"temperature": 0.2, "max_tokens": 64, "stop": ["END"], "seed": 7}));
        let mut req = ChatRequest::new("m").user("hi");
        req.temperature = Some(0.9);
        let out = with_defaults(&req, &defaults).unwrap();
        assert_eq!(out.temperature, Some(0.9));
        assert_eq!(out.max_tokens, Some(64));
        assert_eq!(out.seed, Some(7));
        assert!(out.stop.is_some());
        assert_eq!(out.messages, req.messages);
        // Nothing to add: not copied.
        let none = with_defaults(&req, &map(json!({"temperature": 0.1}))).unwrap();
        assert!(matches!(none, Cow::Borrowed(_)));
    }

    #[test]
    fn absurd_defaults_and_headers_are_refused_naming_the_deployment() {
        let e = check_defaults(&map(json!({"temperature": "hot"})), "d1").unwrap_err();
        assert!(e.message().contains("deployment \"d1\""), "{e}");
        let e = check_defaults(&map(json!({"messages": []})), "d1").unwrap_err();
        assert!(e.message().contains("messages cannot be a default"), "{e}");
        assert!(check_defaults(&map(json!({"top_p": 0.5})), "d1").is_ok());
        let bad = BTreeMap::from([("X-Ok".to_string(), "line\nbreak".to_string())]);
        assert!(check_headers(&bad, "d1").is_err());
    }

    #[test]
    fn extra_headers_replace_one_of_the_same_name() {
        let mut h = vec![("OpenAI-Organization".to_string(), "".to_string())];
        let extra = BTreeMap::from([
            ("openai-organization".to_string(), "org-1".to_string()),
            ("X-Team".to_string(), "a".to_string()),
        ]);
        add_headers(&mut h, &extra);
        assert_eq!(h.len(), 2);
        assert!(h.contains(&("openai-organization".into(), "org-1".into())));
    }
}
