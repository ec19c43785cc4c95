//! A model to try when a call's model fails (litellm's `fallbacks`): a
//! name (`provider/model` or bare), or litellm's dict form with its own key,
//! base URL and mock answer, read from JSON as litellm writes it. Plain
//! data: acting on it is the Router's; its `Debug` never shows the key.

use std::fmt;

use indexmap::IndexMap;
use serde_json::Value;

use super::MockResponse;
use crate::error::{Error, Result};

/// The most fallbacks one call may name (in all its lists together).
pub(crate) const MAX_FALLBACKS: usize = 16;

/// One model to try when the call's model (or an earlier fallback) fails.
/// Its key is its own, else its provider's environment variable: the
/// call's own key and base URL are never sent to a fallback.
#[derive(Clone, Default, PartialEq)]
pub struct Fallback {
    /// `provider/model`, or a bare name resolved by prefix.
    pub model: String,
    pub api_key: Option<String>,
    pub api_base: Option<String>,
    /// Answer as this mock instead of calling (to test a chain offline).
    pub mock_response: Option<MockResponse>,
}

impl Fallback {
    /// litellm's forms: `"gpt-4o-mini"`, or
    /// `{"model": "gpt-4o-mini", "api_key": …, "api_base": …, "mock_response": …}`.
    pub fn from_json(value: &Value) -> Result<Self> {
        let map = match value {
            Value::String(model) => return Ok(Fallback::from(model.as_str())),
            Value::Object(map) => map,
            _ => {
                return Err(Error::bad_request(
                    "a fallback is a model name or {\"model\": …, \"api_key\": …, \"api_base\": …}",
                ));
            }
        };
        let text = |key: &str| -> Result<Option<String>> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::bad_request(format!(
                    "a fallback's {key} must be a string"
                ))),
            }
        };
        if let Some(key) = map
            .keys()
            .find(|k| !["model", "api_key", "api_base", "mock_response"].contains(&k.as_str()))
        {
            return Err(Error::bad_request(format!(
                "a fallback's {key:?} is not taken here (model, api_key, api_base, mock_response)"
            )));
        }
        Ok(Fallback {
            model: text("model")?
                .filter(|m| !m.is_empty())
                .ok_or_else(|| Error::bad_request("a fallback needs a model"))?,
            api_key: text("api_key")?,
            api_base: text("api_base")?,
            mock_response: map
                .get("mock_response")
                .filter(|v| !v.is_null())
                .map(MockResponse::from_json)
                .transpose()?,
        })
    }

    /// litellm's list of fallbacks: `["gpt-4o-mini", {"model": …}]`.
    pub fn list_from_json(value: &Value) -> Result<Vec<Fallback>> {
        match value {
            Value::Array(items) => items.iter().map(Fallback::from_json).collect(),
            one @ (Value::String(_) | Value::Object(_)) => Ok(vec![Fallback::from_json(one)?]),
            _ => Err(Error::bad_request("fallbacks must be a list of models")),
        }
    }

    /// litellm's table form, `[{"gpt-4o": ["gpt-4o-mini"]}]` (or one map):
    /// a model → the models to try, in order, when it fails.
    pub fn table_from_json(value: &Value) -> Result<IndexMap<String, Vec<Fallback>>> {
        let maps: Vec<&serde_json::Map<String, Value>> = match value {
            Value::Object(m) => vec![m],
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_object().ok_or_else(|| {
                        Error::bad_request("fallbacks by model are a list of {model: [models]}")
                    })
                })
                .collect::<Result<_>>()?,
            _ => {
                return Err(Error::bad_request(
                    "fallbacks by model are a list of {model: [models]}",
                ));
            }
        };
        let mut out = IndexMap::new();
        for map in maps {
            for (model, list) in map {
                out.insert(model.clone(), Fallback::list_from_json(list)?);
            }
        }
        Ok(out)
    }
}

impl From<&str> for Fallback {
    fn from(model: &str) -> Self {
        Fallback {
            model: model.to_string(),
            ..Default::default()
        }
    }
}

impl From<String> for Fallback {
    fn from(model: String) -> Self {
        Fallback {
            model,
            ..Default::default()
        }
    }
}

impl fmt::Debug for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fallback")
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "…"))
            .field(
                "api_base",
                &self.api_base.as_deref().map(crate::redact::display_url),
            )
            .field("mock_response", &self.mock_response)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn litellm_forms_are_read() {
        let list = Fallback::list_from_json(&json!(["gpt-4o-mini", {"model": "acme/m-large",
            "api_key": "sk-x", "api_base": "http://127.0.0.1:1", "mock_response": "litellm.Timeout"}]))
        .unwrap();
        assert_eq!(list[0], Fallback::from("gpt-4o-mini"));
        assert_eq!(list[1].api_key.as_deref(), Some("sk-x"));
        assert_eq!(
            list[1].mock_response,
            Some(MockResponse::error(crate::ErrorKind::Timeout))
        );
        let table =
            Fallback::table_from_json(&json!([{"gpt-4o": ["gpt-4o-mini"]}, {"a": "b"}])).unwrap();
        assert_eq!(table["gpt-4o"], [Fallback::from("gpt-4o-mini")]);
        assert_eq!(table["a"], [Fallback::from("b")]);
    }

    #[test]
    fn odd_forms_are_refused_and_the_key_never_shows() {
        for bad in [
            json!(5),
            json!({"api_key": "k"}),
            json!({"model": ""}),
            json!({"model": "m", "temperature": 1}),
            json!({"model": "m", "api_key": 7}),
        ] {
            assert!(Fallback::from_json(&bad).is_err(), "{bad}");
        }
        assert!(Fallback::table_from_json(&json!(["gpt-4o"])).is_err());
        let f = Fallback {
            api_key: Some("sk-very-secret".into()),
            ..Fallback::from("m")
        };
        assert!(!format!("{f:?}").contains("very-secret"));
    }
}
