//! Front doors: the API shapes the proxy answers besides OpenAI chat
//! (Anthropic Messages, OpenAI Responses…), each one data in
//! `ingress/<id>.toml`. A door maps an incoming body to the canonical
//! OpenAI chat request and the canonical answer, stream and errors back to
//! its own wire shape, in the value-template language of provider specs
//! (`crate::template`). This room compiles door files (`load`, with
//! file:line:col findings), lays answers out for their templates (`view`)
//! and frames streams (`frame`). It knows no HTTP and no door by name:
//! the server's one generic handler drives it. See `ingress/README.md`.

pub(crate) mod frame;
mod load;
mod merge;
mod raw;
pub(crate) mod view;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};
use crate::spec::{Diagnostic, Severity, Source};
use crate::template::{Renderer, Tpl};
use crate::types::ChatResponse;

pub(crate) use load::compile_doors;

include!(concat!(env!("OUT_DIR"), "/builtin_ingress.rs"));

/// The door files shipped in the binary.
pub(crate) fn builtin_sources() -> Vec<Source> {
    BUILTIN_INGRESS
        .iter()
        .map(|(name, text)| Source {
            name: (*name).to_string(),
            text: (*text).to_string(),
        })
        .collect()
}

/// The JSON Schema of a door file (`switchboard schema --ingress`).
#[cfg(feature = "cli")]
pub(crate) fn schema() -> Value {
    serde_json::to_value(schemars::schema_for!(raw::RawDoor)).unwrap_or(Value::Null)
}

/// A stream hook of a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Start,
    BlockStart,
    BlockDelta,
    BlockStop,
    Finish,
    End,
    Error,
}

impl Hook {
    /// The key under `[stream]`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Hook::Start => "start",
            Hook::BlockStart => "block-start",
            Hook::BlockDelta => "block-delta",
            Hook::BlockStop => "block-stop",
            Hook::Finish => "finish",
            Hook::End => "end",
            Hook::Error => "error",
        }
    }
}

/// A refusal of a door (`[[reject]]`), compiled.
#[derive(Debug)]
pub(crate) struct Reject {
    when: Tpl,
    message: String,
    param: Option<String>,
}

/// A compiled front door. If it exists, every template in it compiled.
#[derive(Debug)]
pub(crate) struct Door {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) dialect: Option<String>,
    /// Routes, the first one the door's `path`.
    pub(crate) paths: Vec<String>,
    pub(crate) count_path: Option<String>,
    parts: Vec<Tpl>,
    reject: Vec<Reject>,
    merge_roles: Vec<String>,
    request: Tpl,
    response: Tpl,
    count: Option<Tpl>,
    error_body: Tpl,
    error_types: HashMap<ErrorKind, String>,
    error_status: HashMap<ErrorKind, u16>,
    hooks: Vec<(Hook, Tpl)>,
    pub(crate) stream_done: Option<String>,
    pub(crate) stream_sequence: Option<String>,
}

impl Door {
    fn render(&self, tpl: &Tpl, root: &Value, what: &str) -> Result<Value, Error> {
        Renderer { parts: &self.parts }
            .render(tpl, root)
            .map_err(|e| Error::bad_request(format!("{} ({what}): {}", self.name, e.0)))
    }

    /// The canonical OpenAI chat request (JSON) for an incoming body. A body
    /// the door's templates cannot map is a `bad_request`.
    pub(crate) fn request(&self, body: &Value) -> Result<Value, Error> {
        for r in &self.reject {
            if crate::template::helpers::truthy(&self.render(&r.when, body, "reject")?) {
                let e = Error::bad_request(r.message.clone());
                return Err(match &r.param {
                    Some(p) => e.with_param(p.clone()),
                    None => e,
                });
            }
        }
        match self.render(&self.request, body, "request")? {
            Value::Object(mut m) => {
                merge::merge_roles(&mut m, &self.merge_roles);
                Ok(Value::Object(m))
            }
            _ => Err(Error::bad_request(format!(
                "{}: the request maps to no chat request",
                self.name
            ))),
        }
    }

    /// The door's answer body for a canonical answer.
    pub(crate) fn answer(&self, resp: &ChatResponse) -> Result<Value, Error> {
        self.render(&self.response, &view::answer(resp), "response")
            .map_err(|e| Error::new(ErrorKind::Internal, e.message().to_string()))
    }

    /// The count-tokens answer.
    pub(crate) fn count(&self, input_tokens: u64, model: &str) -> Result<Value, Error> {
        let Some(tpl) = &self.count else {
            return Err(Error::new(ErrorKind::NotFound, "no count route"));
        };
        self.render(
            tpl,
            &json!({"input_tokens": input_tokens, "model": model}),
            "count-tokens",
        )
        .map_err(|e| Error::new(ErrorKind::Internal, e.message().to_string()))
    }

    /// A stream hook rendered for `ctx` (null when the door has none).
    pub(crate) fn hook(&self, hook: Hook, ctx: &Value) -> Result<Value, Error> {
        match self.hooks.iter().find(|(h, _)| *h == hook) {
            Some((_, tpl)) => self
                .render(tpl, ctx, hook.name())
                .map_err(|e| Error::new(ErrorKind::Internal, e.message().to_string())),
            None => Ok(Value::Null),
        }
    }

    /// The HTTP status a failure of `kind` answers with (`usual`: the chat API's).
    pub(crate) fn status(&self, kind: ErrorKind, usual: u16) -> u16 {
        self.error_status.get(&kind).copied().unwrap_or(usual)
    }

    /// The door's error body for a failure, from its OpenAI body
    /// (`{"error": {message, type, code, param}}`, already scrubbed).
    pub(crate) fn error_body(&self, kind: ErrorKind, status: u16, chat_body: &Value) -> Value {
        let e = chat_body.get("error").unwrap_or(&Value::Null);
        let kind_type = self
            .error_types
            .get(&kind)
            .cloned()
            .or_else(|| e.get("type").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| kind.openai_type().to_string());
        let ctx = json!({
            "type": kind_type,
            "kind": kind.as_str(),
            "message": e.get("message").cloned().unwrap_or(Value::Null),
            "code": e.get("code").cloned().unwrap_or(Value::Null),
            "param": e.get("param").cloned().unwrap_or(Value::Null),
            "status": status,
        });
        self.render(&self.error_body, &ctx, "errors.body")
            .unwrap_or_else(|_| chat_body.clone())
    }
}

/// The doors a server answers, by route.
#[derive(Debug, Clone, Default)]
pub(crate) struct Doors {
    pub(crate) doors: Vec<Arc<Door>>,
}

impl Doors {
    /// The built-in doors.
    pub(crate) fn builtin() -> Result<Self, Error> {
        Self::from_sources(&builtin_sources())
    }

    /// Doors from sources; any error finding fails with every finding listed.
    pub(crate) fn from_sources(sources: &[Source]) -> Result<Self, Error> {
        let (doors, found) = compile_doors(sources);
        let errors: Vec<String> = found
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(Diagnostic::to_string)
            .collect();
        if !errors.is_empty() {
            return Err(Error::new(
                ErrorKind::BadRequest,
                format!("invalid front doors:\n{}", errors.join("\n")),
            ));
        }
        Ok(Doors {
            doors: doors.into_iter().map(Arc::new).collect(),
        })
    }

    /// The door a request path belongs to (its route or its count route).
    pub(crate) fn by_path(&self, path: &str) -> Option<&Arc<Door>> {
        self.doors
            .iter()
            .find(|d| d.paths.iter().any(|p| p == path) || d.count_path.as_deref() == Some(path))
    }
}
