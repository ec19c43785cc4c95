//! Pass-through for front doors (`ingress/`): a call that arrives through
//! a door of dialect D carries the caller's body; an attempt on a
//! deployment whose spec's chat endpoint speaks D (`[chat] dialect`) sends
//! that body as it came, with only `model` replaced, and keeps the
//! provider's own answer (JSON, or every stream frame as it arrived) for
//! the door to send back unchanged. The engine still maps the answer to
//! the canonical one, so usage and cost are learned as for any call. Each
//! attempt starts afresh: a retry or fallback onto a deployment that does
//! not speak D leaves nothing behind, and the door maps the canonical
//! answer instead. Knows no dialect by name.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

/// One raw stream frame: the SSE `event:` name and its data text.
pub type NativeFrame = (Option<String>, String);

/// A caller's body in a door's dialect, and what the serving attempt
/// kept of the provider's own answer.
#[derive(Clone, Debug)]
pub struct Native {
    dialect: String,
    body: Arc<Value>,
    kept: Arc<Mutex<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    /// Whether the latest attempt passed the body through.
    used: bool,
    answer: Option<Value>,
    frames: VecDeque<NativeFrame>,
}

impl Native {
    /// `body` as a door of `dialect` received it.
    pub fn new(dialect: impl Into<String>, body: Value) -> Self {
        Native {
            dialect: dialect.into(),
            body: Arc::new(body),
            kept: Arc::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Kept) -> T) -> T {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut kept)
    }

    /// Starts an attempt on an endpoint of `dialect`: the body to send in
    /// place of the rendered one (for provider-side `model`), or None when
    /// the endpoint does not speak the door's dialect.
    pub(crate) fn begin(&self, dialect: Option<&str>, model: &str) -> Option<Value> {
        let speaks = dialect.is_some_and(|d| !d.is_empty() && d == self.dialect);
        self.with(|k| {
            *k = Kept {
                used: speaks,
                ..Kept::default()
            }
        });
        if !speaks {
            return None;
        }
        let mut body = (*self.body).clone();
        if let Value::Object(m) = &mut body {
            m.insert("model".into(), Value::String(model.to_string()));
        }
        Some(body)
    }

    /// Keeps the provider's JSON answer of a passed-through attempt.
    pub(crate) fn keep_answer(&self, answer: &Value) {
        self.with(|k| {
            if k.used {
                k.answer = Some(answer.clone());
            }
        });
    }

    /// Keeps one raw frame of a passed-through stream.
    pub(crate) fn keep_frame(&self, event: Option<&str>, data: &str) {
        self.with(|k| {
            if k.used {
                k.frames
                    .push_back((event.map(str::to_string), data.to_string()));
            }
        });
    }

    /// Whether the serving attempt passed the body through.
    pub fn used(&self) -> bool {
        self.with(|k| k.used)
    }

    /// The provider's own answer, when the serving attempt passed through.
    pub fn take_answer(&self) -> Option<Value> {
        self.with(|k| k.answer.take())
    }

    /// The raw frames received since the last call.
    pub fn take_frames(&self) -> Vec<NativeFrame> {
        self.with(|k| k.frames.drain(..).collect())
    }
}
