//! A provider file as written: serde types with `deny_unknown_fields`, and the
//! JSON Schema `switchboard schema` prints. Nothing here is validated beyond
//! shape; `compile` turns it into a `Spec`. Mappings are in `mapping`, rule
//! lists that merge by name in `rules`.

mod mapping;
mod rules;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

pub(crate) use mapping::*;
pub(crate) use rules::RawRules;
use rules::RulesSchema;

use super::Framing;
use crate::error::ErrorKind;

/// A provider spec file (`providers/<id>.toml`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSpec {
    /// Provider id; defaults to the file name without `.toml`. (Read by the loader before typing.)
    #[allow(dead_code)]
    pub id: Option<String>,
    /// Id of a spec to inherit from; this file's keys override it, table by table. (Read by the loader.)
    #[allow(dead_code)]
    pub extends: Option<String>,
    /// Human name, e.g. "Anthropic".
    pub name: Option<String>,
    /// Link to the provider's API reference.
    pub docs: Option<String>,
    /// Everything before the endpoint path, as the provider's SDK calls it.
    pub base_url: String,
    /// Environment variables whose value replaces `base-url` when a call
    /// gives no `api_base` (first set wins); default `<ID>_API_BASE`.
    /// Inherited under `extends` unless the child writes its own `base-url`.
    pub base_url_env: Option<RawNames>,
    /// Bare model names starting with one of these resolve to this provider.
    #[serde(default)]
    pub model_prefixes: Vec<String>,
    pub auth: RawAuth,
    /// Headers sent with every request; values are templates over `params`.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Provider parameters (an API version, a region…), usable in templates as `params.<name>`.
    #[serde(default)]
    pub params: IndexMap<String, RawParam>,
    /// The OpenAI request parameters this provider carries (`name = true`;
    /// `name = false` takes an inherited one away). A request that uses any
    /// other is refused, or the parameter dropped (`drop_params`). Without
    /// the table every parameter is accepted.
    pub openai_params: Option<IndexMap<String, bool>>,
    pub chat: Option<RawEndpoint>,
    pub embeddings: Option<RawEmbeddings>,
    /// The provider's own token-count API (`[count-tokens]`): how many
    /// input tokens a chat request holds, asked of the provider.
    pub count_tokens: Option<RawCountTokens>,
    #[serde(default)]
    pub errors: RawErrors,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum AuthScheme {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key in a named header (`header = "x-api-key"`).
    Header,
    /// The key in a query-string parameter (`param = "key"`).
    Query,
    /// A Google service-account key (its JSON, or the path of its file)
    /// traded for a cached OAuth access token, sent as `Authorization:
    /// Bearer`; any other key is used as a ready access token.
    GoogleServiceAccount,
    /// AWS Signature Version 4 over the whole request, for any AWS service
    /// (`service`, `region`). Credentials: a key `ACCESS_KEY_ID:SECRET[:SESSION_TOKEN]`,
    /// else `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`;
    /// a key without `:` is an AWS API key, sent as `Authorization: Bearer`.
    AwsSigv4,
    /// No key.
    None,
}

impl AuthScheme {
    /// Whether a call with no key (neither given nor in `env`) fails before
    /// anything is sent: not for `none`, nor for schemes that find
    /// credentials of their own (`aws-sigv4` reads the AWS variables).
    pub(crate) fn needs_key(self) -> bool {
        !matches!(self, AuthScheme::None | AuthScheme::AwsSigv4)
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawAuth {
    pub scheme: AuthScheme,
    /// Environment variable holding the key.
    pub env: Option<String>,
    /// Header name, for `scheme = "header"`.
    pub header: Option<String>,
    /// Query parameter name, for `scheme = "query"`.
    pub param: Option<String>,
    /// AWS service name in the signature's credential scope, for
    /// `scheme = "aws-sigv4"` (e.g. "bedrock").
    pub service: Option<String>,
    /// AWS region in the signature's credential scope, for
    /// `scheme = "aws-sigv4"`: a template over `params` (e.g. "{{params.aws_region}}").
    pub region: Option<String>,
    /// When true, a missing key is not an error (local servers).
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawParam {
    /// Environment variable that sets the parameter.
    pub env: Option<String>,
    /// Value when neither the call nor the environment sets it.
    pub default: Option<String>,
    /// When true, a call without a value fails with a clear error.
    #[serde(default)]
    pub required: bool,
    /// What the parameter is, for readers and the schema.
    #[allow(dead_code)]
    pub description: Option<String>,
}

/// One endpoint (`[chat]`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawEndpoint {
    /// HTTP method; POST by default.
    pub method: Option<String>,
    /// Path template appended to the base URL, e.g. "/v1/messages".
    pub path: String,
    /// Path template used instead of `path` when streaming.
    pub stream_path: Option<String>,
    /// Renames of canonical message roles (user, assistant, tool), e.g. `assistant = "model"`.
    #[serde(default)]
    pub roles: IndexMap<String, String>,
    /// Merge consecutive messages that end up with the same role.
    #[serde(default)]
    pub merge_roles: bool,
    /// Keep system and developer messages in `messages`, in place, under this
    /// role (for APIs that take them as turns); their text is in `system` too.
    pub system_role: Option<String>,
    /// Put an assistant message's `thinking_blocks` first in its canonical
    /// content, as `thinking` / `redacted_thinking` blocks (and the message
    /// is then not `plain`). Off: they are left out.
    #[serde(default)]
    pub reasoning_blocks: bool,
    /// The request body: a value template (see providers/README.md).
    #[schemars(with = "Value")]
    pub body: Value,
    /// Named sub-templates, used as `"{{> name}}"`; `{ "$from" = "<provider>" }`
    /// takes that provider's part of the same name.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Value>")]
    pub parts: IndexMap<String, Value>,
    /// Named mappings, reused by `map = "<name>"` in the response and in stream rules.
    #[serde(default)]
    pub mappings: IndexMap<String, RawMapping>,
    /// How a non-streamed response maps to a chat.completion.
    pub response: RawMapping,
    /// Provider finish reasons → OpenAI ones (stop, length, tool_calls, content_filter).
    #[serde(default)]
    pub finish_reasons: IndexMap<String, String>,
    /// Report `tool_calls` when the provider says `stop` but returned tool calls.
    #[serde(default)]
    pub tool_calls_finish: bool,
    /// The API takes image bytes only: the client fetches http(s) image URLs
    /// (when the call allows it) and sends them as base64 data.
    #[serde(default)]
    pub image_bytes: bool,
    /// JSON mode through a tool, for APIs without one: a request with
    /// `response_format` `json_object` offers (and forces) a tool of this
    /// name, and the answer's call to it is the message content.
    pub json_tool: Option<String>,
    /// The front-door dialect this endpoint speaks natively (a door file's
    /// `dialect`, e.g. `anthropic-messages`): a call through that door is
    /// sent the caller's body as it came, `model` replaced, and its answer
    /// goes back as the provider wrote it.
    pub dialect: Option<String>,
    pub stream: Option<RawStream>,
    /// Named variants of this endpoint (`[chat.variants.<name>]`): another
    /// API of the provider for the same calls, chosen per model (see
    /// providers/README.md, Endpoint variants). `<name> = false` removes an
    /// inherited one.
    #[serde(default)]
    #[schemars(with = "RulesSchema<RawVariant>")]
    pub variants: RawRules<RawVariant>,
}

/// One endpoint variant (`[chat.variants.<name>]`): each key it writes
/// replaces the endpoint's whole, but `parts` and `mappings`, which merge
/// by name; what it does not write is the endpoint's. The loader builds the
/// variant's endpoint from the tables; these types check what is written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
pub(crate) struct RawVariant {
    /// The catalog modes (a model's `mode` in pricing/) whose models are
    /// called through this variant, e.g. "responses".
    pub when_mode: Option<RawNames>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub stream_path: Option<String>,
    pub roles: Option<IndexMap<String, String>>,
    pub merge_roles: Option<bool>,
    pub system_role: Option<String>,
    pub reasoning_blocks: Option<bool>,
    #[schemars(with = "Option<Value>")]
    pub body: Option<Value>,
    #[schemars(with = "Option<IndexMap<String, Value>>")]
    pub parts: Option<IndexMap<String, Value>>,
    pub mappings: Option<IndexMap<String, RawMapping>>,
    pub response: Option<RawMapping>,
    pub finish_reasons: Option<IndexMap<String, String>>,
    pub tool_calls_finish: Option<bool>,
    pub image_bytes: Option<bool>,
    pub json_tool: Option<String>,
    pub stream: Option<RawStream>,
    /// The OpenAI parameters the variant carries, merged key by key over
    /// the spec's `[openai-params]`.
    pub openai_params: Option<IndexMap<String, bool>>,
    /// Merged over the spec's `[errors]` (rules by name) for this variant.
    pub errors: Option<RawErrors>,
}

/// The embeddings endpoint (`[embeddings]`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawEmbeddings {
    pub method: Option<String>,
    pub path: String,
    #[schemars(with = "Value")]
    pub body: Value,
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Value>")]
    pub parts: IndexMap<String, Value>,
    pub response: RawEmbeddingMapping,
}

/// The token-count endpoint (`[count-tokens]`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCountTokens {
    pub method: Option<String>,
    /// Path template appended to the base URL.
    pub path: String,
    /// The body: a value template over the canonical request plus `chat`,
    /// the chat body as the spec's `[chat]` would send it.
    #[schemars(with = "Value")]
    pub body: Value,
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Value>")]
    pub parts: IndexMap<String, Value>,
    /// Where the answer holds the count (first found wins).
    pub tokens: RawPaths,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawEmbeddingMapping {
    /// Every vector, in input order: a list of numbers or base64 text each.
    pub vectors: RawPaths,
    pub model: Option<RawPaths>,
    #[serde(default)]
    pub usage: RawUsage,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawStream {
    /// How the body is framed; a response content-type that names a framing wins.
    pub framing: Framing,
    /// An SSE data payload that ends the stream (OpenAI's `[DONE]`).
    pub done: Option<String>,
    /// The stream is complete once a finish reason arrived (no end event).
    #[serde(default)]
    pub end_on_finish: bool,
    /// Named rules applied to every event, in order; every matching rule contributes.
    #[serde(default)]
    #[schemars(with = "RulesSchema<RawMapping>")]
    pub events: RawRules<RawMapping>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawErrors {
    /// Where the provider's message is (first found wins).
    pub message: Option<RawPaths>,
    /// Where the provider's error code or type is (first found wins).
    pub code: Option<RawPaths>,
    /// Header carrying seconds to wait; `retry-after` by default.
    pub retry_after_header: Option<String>,
    /// Named rules, checked in order; the first that matches decides the
    /// kind. Unmatched errors map by status.
    #[serde(default)]
    #[schemars(with = "RulesSchema<RawErrorRule>")]
    pub rules: RawRules<RawErrorRule>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawErrorRule {
    /// HTTP status(es) this rule applies to.
    pub status: Option<RawStatus>,
    /// The error code (see `errors.code`) equals this, ignoring case.
    pub code: Option<String>,
    /// A regular expression the message matches.
    pub message: Option<String>,
    /// A substring of the raw body.
    pub body_contains: Option<String>,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawStatus {
    One(u16),
    Many(Vec<u16>),
}
