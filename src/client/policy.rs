//! The parameter policy of one call, from its options and from litellm's
//! own arguments in the request body (`drop_params`,
//! `additional_drop_params`, `allowed_openai_params`, as a litellm caller or
//! a proxy client sends them): the request's win, and they are taken out so
//! no provider ever sees them. Each is checked (a bool; lists of at most
//! [`MAX_NAMES`] parameter names).

use std::borrow::Cow;

use serde_json::Value;

use super::CallOptions;
use crate::engine::params::Policy;
use crate::error::{Error, Result};
use crate::types::ChatRequest;

/// The most names one list may hold.
const MAX_NAMES: usize = 64;
/// The longest parameter name accepted.
const MAX_NAME_LEN: usize = 128;

const KEYS: [&str; 3] = [
    "drop_params",
    "additional_drop_params",
    "allowed_openai_params",
];

/// A call's policy, owning the lists the request brought.
#[derive(Debug, Default)]
pub(super) struct CallPolicy {
    drop: bool,
    additional_drop: Vec<String>,
    allowed: Vec<String>,
    lenient: Vec<String>,
}

impl CallPolicy {
    pub(super) fn policy(&self) -> Policy<'_> {
        Policy {
            drop: self.drop,
            additional_drop: &self.additional_drop,
            allowed: &self.allowed,
            lenient: &self.lenient,
        }
    }
}

/// The call's policy, and the request without litellm's policy arguments
/// (copied only when it holds any).
pub(super) fn call_policy<'r>(
    req: &'r ChatRequest,
    opts: &CallOptions,
) -> Result<(Cow<'r, ChatRequest>, CallPolicy)> {
    let mut policy = CallPolicy {
        drop: opts.drop_params.unwrap_or(false),
        additional_drop: opts.additional_drop_params.clone(),
        allowed: opts.allowed_openai_params.clone(),
        lenient: opts.drop_if_unsupported.clone(),
    };
    if !KEYS.iter().any(|k| req.extra.contains_key(*k)) {
        return Ok((Cow::Borrowed(req), policy));
    }
    let mut owned = req.clone();
    let mut take = |key: &str| owned.extra.remove(key).filter(|v| !v.is_null());
    if let Some(v) = take("drop_params") {
        policy.drop = v
            .as_bool()
            .ok_or_else(|| invalid("drop_params", "must be true or false"))?;
    }
    if let Some(v) = take("additional_drop_params") {
        policy.additional_drop = names("additional_drop_params", &v)?;
    }
    if let Some(v) = take("allowed_openai_params") {
        policy.allowed = names("allowed_openai_params", &v)?;
    }
    Ok((Cow::Owned(owned), policy))
}

fn names(key: &str, v: &Value) -> Result<Vec<String>> {
    let bad = || {
        invalid(
            key,
            &format!("must be a list of at most {MAX_NAMES} parameter names"),
        )
    };
    let list = v
        .as_array()
        .filter(|l| l.len() <= MAX_NAMES)
        .ok_or_else(bad)?;
    list.iter()
        .map(|n| {
            n.as_str()
                .filter(|s| !s.is_empty() && s.len() <= MAX_NAME_LEN)
                .map(str::to_string)
                .ok_or_else(bad)
        })
        .collect()
}

fn invalid(key: &str, why: &str) -> Error {
    Error::bad_request(format!("{key} {why}")).with_param(key)
}

/// Checks the lists of call options, as a request's are checked.
pub(super) fn check_options(opts: &CallOptions) -> Result<()> {
    for (key, list) in [
        ("additional_drop_params", &opts.additional_drop_params),
        ("allowed_openai_params", &opts.allowed_openai_params),
    ] {
        if list.len() > MAX_NAMES || list.iter().any(|n| n.is_empty() || n.len() > MAX_NAME_LEN) {
            return Err(invalid(
                key,
                &format!("must be a list of at most {MAX_NAMES} parameter names"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(extra: Value) -> ChatRequest {
        let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn the_requests_own_arguments_win_and_are_taken_out() {
        let opts = CallOptions {
            drop_params: Some(false),
            allowed_openai_params: vec!["seed".into()],
            ..Default::default()
        };
        let r = req(json!({"drop_params": true, "additional_drop_params": ["user"], "n": 2}));
        let (r, p) = call_policy(&r, &opts).unwrap();
        assert!(p.drop);
        assert_eq!(p.additional_drop, ["user"]);
        assert_eq!(p.allowed, ["seed"]);
        assert!(KEYS.iter().all(|k| !r.extra.contains_key(*k)));
        assert_eq!(r.extra.get("n"), Some(&json!(2)));
    }

    #[test]
    fn a_request_without_them_is_not_copied() {
        let r = req(json!({"n": 2}));
        let (out, p) = call_policy(&r, &CallOptions::default()).unwrap();
        assert!(matches!(out, Cow::Borrowed(_)));
        assert!(!p.drop);
    }

    #[test]
    fn absurd_arguments_are_refused_naming_them() {
        for (extra, param) in [
            (json!({"drop_params": "yes"}), "drop_params"),
            (
                json!({"additional_drop_params": "n"}),
                "additional_drop_params",
            ),
            (
                json!({"allowed_openai_params": [1]}),
                "allowed_openai_params",
            ),
            (
                json!({"allowed_openai_params": vec!["n"; 65]}),
                "allowed_openai_params",
            ),
        ] {
            let e = call_policy(&req(extra), &CallOptions::default()).unwrap_err();
            assert_eq!(e.details().param(), Some(param));
        }
        let opts = CallOptions {
            additional_drop_params: vec![String::new()],
            ..Default::default()
        };
        assert!(check_options(&opts).is_err());
    }
}
