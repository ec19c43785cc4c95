//! Whether a key works (litellm's `check_valid_key`): one attempt of the
//! cheapest call the provider allows — a one-token chat, or a one-word
//! embedding — read as valid, invalid (and why), or cannot tell (no key,
//! a mock, an unreachable provider, a 404 that may be a wrong base URL).

use super::lookup::api_key;
use super::{CallOptions, Client};
use crate::error::ErrorKind;
use crate::types::{ChatRequest, EmbeddingInput, EmbeddingRequest};

/// What [`Client::check_key`] found: `valid` is None when it could not tell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyCheck {
    pub valid: Option<bool>,
    pub reason: String,
}

impl Client {
    /// Whether a key works, with the cheapest call the provider allows (a
    /// one-token chat, or a one-word embedding) — litellm's `check_valid_key`.
    /// One attempt of the model itself: no retries, no fallbacks, no mock.
    pub async fn check_key(&self, model: &str, opts: &CallOptions) -> KeyCheck {
        if opts.mock_response.is_some() {
            return KeyCheck {
                valid: None,
                reason: "could not tell: a mock answer checks no key".into(),
            };
        }
        let (spec, _) = match self.registry.resolve(model) {
            Ok(found) => found,
            Err(e) => {
                return KeyCheck {
                    valid: None,
                    reason: e.to_string(),
                };
            }
        };
        if let Err(e) = api_key(&spec, opts) {
            return KeyCheck {
                valid: None,
                reason: format!("no key to check: {}", e.message()),
            };
        }
        let result = if spec.chats() {
            let mut req = ChatRequest::new(model).user("hi");
            req.max_tokens = Some(1);
            self.completion_once(&req, opts).await.map(|_| ())
        } else {
            let req = EmbeddingRequest {
                model: model.to_string(),
                input: EmbeddingInput::One("hi".into()),
                ..Default::default()
            };
            self.embedding_once(&req, opts).await.map(|_| ())
        };
        match result {
            Ok(()) => KeyCheck {
                valid: Some(true),
                reason: format!("{} accepted the key", spec.name()),
            },
            // A 404 or 405 is a wrong base URL or path that may never have
            // seen the key, whatever the error table makes of its body.
            Err(e) if matches!(e.status(), Some(404 | 405)) => KeyCheck {
                valid: None,
                reason: format!(
                    "could not tell: the endpoint or model was not found (check the base URL and the model): {e}"
                ),
            },
            Err(e) => match e.kind() {
                ErrorKind::Authentication | ErrorKind::PermissionDenied => KeyCheck {
                    valid: Some(false),
                    reason: e.to_string(),
                },
                // A 404 may be a wrong base URL that never saw the key.
                ErrorKind::NotFound => KeyCheck {
                    valid: None,
                    reason: format!(
                        "could not tell: the endpoint or model was not found (check the base URL and the model): {e}"
                    ),
                },
                ErrorKind::RateLimit
                | ErrorKind::BadRequest
                | ErrorKind::ContextWindowExceeded
                | ErrorKind::ContentPolicy => KeyCheck {
                    valid: Some(true),
                    reason: format!("the key was accepted; the test call itself failed: {e}"),
                },
                _ => KeyCheck {
                    valid: None,
                    reason: format!("could not tell: {e}"),
                },
            },
        }
    }
}
