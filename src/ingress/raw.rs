//! A front-door file as written (`ingress/<id>.toml`): serde types with a
//! JSON Schema, every table closed to unknown keys. Templates stay JSON
//! values here; [`load`](super::load) compiles them. Knows no HTTP.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// One front door: an API shape the proxy answers, mapped onto the
/// canonical (OpenAI chat) request and back.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawDoor {
    /// Default: the file name without `.toml`.
    pub(crate) id: Option<String>,
    /// Display name.
    pub(crate) name: Option<String>,
    /// Link to the API reference this door follows (for readers and the schema).
    #[allow(dead_code)]
    pub(crate) docs: Option<String>,
    /// The wire dialect the door speaks. A provider whose spec declares the
    /// same dialect (`[chat] dialect = "…"`) is sent the caller's body as it
    /// came, with only `model` replaced.
    pub(crate) dialect: Option<String>,
    /// The route (`/v1/messages`); `POST` only.
    pub(crate) path: String,
    /// More routes for the same door (`/messages`).
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    /// Named sub-templates for every template of this file, used as `"{{> name}}"`.
    #[serde(default)]
    pub(crate) parts: IndexMap<String, Value>,
    /// Requests the door refuses with a 400 (`bad_request`), checked in
    /// order before `request` is rendered.
    #[serde(default)]
    pub(crate) reject: Vec<RawReject>,
    /// Canonical roles (`assistant`) whose consecutive messages are joined
    /// into one after `request` renders: content parts, `tool_calls` and
    /// `thinking_blocks` appended in order. For wire shapes that send one
    /// turn as several items (a reasoning item, then each function call).
    #[serde(default)]
    pub(crate) merge_roles: Vec<String>,
    /// The incoming body → the canonical OpenAI chat request (a value template).
    pub(crate) request: Value,
    /// The answer view (see ingress/README.md) → this door's answer body.
    pub(crate) response: Value,
    /// How failures look.
    pub(crate) errors: RawErrors,
    /// How a streamed answer is framed.
    pub(crate) stream: RawStream,
    /// A token-count route, answered from the canonical request.
    pub(crate) count_tokens: Option<RawCount>,
}

/// One refusal: when `when` (a value template over the incoming body) is
/// truthy, the call fails with `message` (and OpenAI's `param`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawReject {
    pub(crate) when: Value,
    pub(crate) message: String,
    pub(crate) param: Option<String>,
}

/// Errors in the door's shape.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawErrors {
    /// The error body, a value template over `{type, message, status, code, param}`.
    pub(crate) body: Value,
    /// Error kind (`rate_limit`, `not_found`…) → the `type` text templates see.
    /// A kind not listed keeps OpenAI's type.
    #[serde(default)]
    pub(crate) types: IndexMap<String, String>,
    /// Error kind → the HTTP status it answers with, where it differs from OpenAI's.
    #[serde(default)]
    pub(crate) status: IndexMap<String, u16>,
}

/// Stream hooks: each a value template rendering one event
/// (`{event, data}`), a list of them, or null (nothing sent).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawStream {
    /// Once, before anything else.
    pub(crate) start: Option<Value>,
    /// When an output block (text, thinking, redacted thinking, a tool call) opens.
    pub(crate) block_start: Option<Value>,
    /// For each piece of an open block.
    pub(crate) block_delta: Option<Value>,
    /// When an open block closes.
    pub(crate) block_stop: Option<Value>,
    /// Once the answer is complete: the finish reason and the usage.
    pub(crate) finish: Option<Value>,
    /// Last of all.
    pub(crate) end: Option<Value>,
    /// A failure after the stream began; sees `error`, the rendered error body.
    pub(crate) error: Option<Value>,
    /// A last `data:` line with this text (OpenAI's `[DONE]`).
    pub(crate) done: Option<String>,
    /// A field set in every event's data to its number, counting from 0
    /// (the Responses API's `sequence_number`).
    pub(crate) sequence: Option<String>,
}

/// `count_tokens`: the route and its answer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCount {
    pub(crate) path: String,
    /// A value template over `{input_tokens, model}`.
    pub(crate) body: Value,
}
