//! The parameter policy of one call, as litellm's `drop_params`,
//! `additional_drop_params` and `allowed_openai_params`: which OpenAI
//! parameters of a request reach a spec's templates, which are dropped,
//! and which refuse the call. A parameter the spec does not carry (see
//! `openai-params` in providers/README.md) is a bad request naming it and
//! the provider, unless the policy drops it or lets it through. Pure: the
//! request is copied only when something is dropped.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::types::{ChatRequest, is_openai_param};

/// How one call treats OpenAI parameters its provider does not carry.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Policy<'a> {
    /// Drop every parameter the provider does not carry (litellm's `drop_params`).
    pub(crate) drop: bool,
    /// Always drop these, carried or not (litellm's `additional_drop_params`).
    pub(crate) additional_drop: &'a [String],
    /// Send these even when the provider does not carry them (litellm's
    /// `allowed_openai_params`): the body gets them under their OpenAI name.
    pub(crate) allowed: &'a [String],
    /// Drop these where the provider does not carry them, send them where
    /// it does (a proxy client's `user`, which litellm's proxy reads itself).
    pub(crate) lenient: &'a [String],
}

/// A request after the policy.
#[derive(Debug)]
pub(crate) struct Applied<'r> {
    pub(crate) request: Cow<'r, ChatRequest>,
    /// Allowed parameters the spec does not carry, with their values: the
    /// rendered body gets each one its templates did not write.
    pub(crate) forced: Vec<(&'static str, Value)>,
    /// The OpenAI parameters dropped, for the caller's log.
    pub(crate) dropped: Vec<&'static str>,
}

/// Applies `policy` to `req` for `spec`: the request to render, or a bad
/// request naming every parameter the provider does not carry.
pub(crate) fn apply<'r>(spec: &Spec, req: &'r ChatRequest, policy: &Policy) -> Result<Applied<'r>> {
    let mut dropped = Vec::new();
    let mut forced = Vec::new();
    let mut refused = Vec::new();
    for name in req.openai_params_used() {
        let listed = |list: &[String]| list.iter().any(|p| p == name);
        if listed(policy.additional_drop) {
            dropped.push(name);
        } else if spec.carries(name) {
            continue;
        } else if listed(policy.allowed) {
            if let Some(v) = req.openai_param(name) {
                forced.push((name, v));
            }
        } else if policy.drop || listed(policy.lenient) {
            dropped.push(name);
        } else {
            refused.push(name);
        }
    }
    if !refused.is_empty() {
        return Err(unsupported(spec, &refused));
    }
    // litellm's list may name a provider's own field too (`thinking`).
    let own: Vec<&String> = policy
        .additional_drop
        .iter()
        .filter(|n| !is_openai_param(n) && req.extra.contains_key(n.as_str()))
        .collect();
    let request = if dropped.is_empty() && own.is_empty() {
        Cow::Borrowed(req)
    } else {
        let mut r = req.clone();
        for name in &dropped {
            r.remove_openai_param(name);
        }
        for name in own {
            r.extra.remove(name.as_str());
        }
        Cow::Owned(r)
    };
    Ok(Applied {
        request,
        forced,
        dropped,
    })
}

/// Puts each forced parameter in `body` under its OpenAI name, unless the
/// templates wrote that key.
pub(crate) fn force_into(body: &mut Value, forced: &[(&'static str, Value)]) {
    if let Value::Object(map) = body {
        for (name, value) in forced {
            map.entry(name.to_string()).or_insert_with(|| value.clone());
        }
    }
}

fn unsupported(spec: &Spec, names: &[&str]) -> Error {
    let shown: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    let (what, it) = match names {
        [_] => ("parameter", "it"),
        _ => ("parameters", "them"),
    };
    Error::bad_request(format!(
        "{} does not support the OpenAI {what} {}: pass drop_params=true to drop {it}, \
         or allowed_openai_params to send {it} anyway (`switchboard providers {} --params` lists what it takes)",
        spec.name(),
        shown.join(", "),
        spec.id(),
    ))
    .with_code(Some("unsupported_parameter".into()))
    .with_param(names[0])
    .for_provider(spec.id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Registry;
    use crate::spec::Source;
    use serde_json::json;

    fn spec(carries: &str) -> std::sync::Arc<Spec> {
        let text = format!(
            "name = \"Acme\"\nbase-url = \"https://acme.test\"\nauth = {{ scheme = \"none\" }}\n\
             openai-params = {{ {carries} }}\n\
             [chat]\npath = \"/chat\"\nbody = {{ t = \"{{{{temperature}}}}\", n = \"{{{{extra.n}}}}\" }}\n\
             [chat.response]\ncontent = \"$.text\"\n"
        );
        let reg = Registry::from_sources(vec![Source {
            name: "acme.toml".into(),
            text,
        }])
        .unwrap();
        reg.get("acme").unwrap().clone()
    }

    fn req(extra: Value) -> ChatRequest {
        let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn a_parameter_the_provider_does_not_carry_is_refused_naming_it_and_the_provider() {
        let s = spec("temperature = true");
        let r = req(json!({"temperature": 0.1, "n": 2, "logit_bias": {"1": 2}}));
        let e = apply(&s, &r, &Policy::default()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::BadRequest);
        assert_eq!(e.code(), Some("unsupported_parameter"));
        assert_eq!(e.details().param(), Some("n"));
        assert!(
            e.message()
                .starts_with("Acme does not support the OpenAI parameters `n`, `logit_bias`"),
            "{e}"
        );
        assert_eq!(e.details().provider(), Some("acme"));
    }

    #[test]
    fn drop_params_drops_what_is_not_carried_and_keeps_the_rest() {
        let s = spec("temperature = true");
        let r = req(json!({"temperature": 0.1, "n": 2}));
        let a = apply(
            &s,
            &r,
            &Policy {
                drop: true,
                ..Policy::default()
            },
        )
        .unwrap();
        assert_eq!(a.dropped, ["n"]);
        assert_eq!(a.request.temperature, Some(0.1));
        assert!(a.request.extra.get("n").is_none());
        // Nothing dropped: the request is not copied.
        let r = req(json!({"temperature": 0.1}));
        let a = apply(&s, &r, &Policy::default()).unwrap();
        assert!(matches!(a.request, Cow::Borrowed(_)));
    }

    #[test]
    fn additional_drop_params_drops_even_a_carried_one_and_allowed_forces_one_through() {
        let s = spec("temperature = true");
        let drop = vec!["temperature".to_string(), "thinking".to_string()];
        let allow = vec!["n".to_string()];
        let r = req(json!({"temperature": 0.1, "n": 2, "thinking": {"type": "enabled"}}));
        let policy = Policy {
            drop: false,
            additional_drop: &drop,
            allowed: &allow,
            lenient: &[],
        };
        let a = apply(&s, &r, &policy).unwrap();
        assert_eq!(a.dropped, ["temperature"]);
        assert!(a.request.extra.get("thinking").is_none());
        assert_eq!(a.forced, [("n", json!(2))]);
        let mut body = json!({"n": 5});
        force_into(&mut body, &a.forced);
        force_into(&mut body, &[("logit_bias", json!({}))]);
        assert_eq!(body, json!({"n": 5, "logit_bias": {}}));
    }

    #[test]
    fn a_lenient_parameter_is_dropped_where_not_carried_and_sent_where_it_is() {
        let user = vec!["user".to_string()];
        let policy = Policy {
            lenient: &user,
            ..Policy::default()
        };
        let r = req(json!({"user": "end-user-1"}));
        let a = apply(&spec("temperature = true"), &r, &policy).unwrap();
        assert_eq!(a.dropped, ["user"]);
        assert_eq!(a.request.user, None);
        let a = apply(&spec("user = true"), &r, &policy).unwrap();
        assert!(a.dropped.is_empty());
        assert_eq!(a.request.user.as_deref(), Some("end-user-1"));
        // Without it, the same request is refused by the first spec.
        assert!(apply(&spec("temperature = true"), &r, &Policy::default()).is_err());
    }

    #[test]
    fn neutral_values_pass_a_provider_that_does_not_carry_them() {
        let s = spec("temperature = true");
        let r = req(json!({"n": 1, "logprobs": false, "parallel_tool_calls": true}));
        assert!(
            apply(&s, &r, &Policy::default())
                .unwrap()
                .dropped
                .is_empty()
        );
    }
}
