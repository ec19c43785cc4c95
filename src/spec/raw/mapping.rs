//! Response mappings as written: where each OpenAI field is found in a
//! provider's answer or stream event (JSONPaths), the named mappings a
//! mapping may reuse (`map`, `at`), and the nested `tool-calls` /
//! `thinking-blocks` tables (with their deprecated two-key spelling).

use std::fmt;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// One JSONPath, or several: counts are summed, text is concatenated, else the first found wins.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawPaths {
    One(String),
    Many(Vec<String>),
}

impl RawPaths {
    pub(crate) fn list(&self) -> Vec<&String> {
        match self {
            RawPaths::One(s) => vec![s],
            RawPaths::Many(v) => v.iter().collect(),
        }
    }
}

/// One name, or several.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawNames {
    One(String),
    Many(Vec<String>),
}

impl RawNames {
    pub(crate) fn list(&self) -> Vec<&String> {
        match self {
            RawNames::One(s) => vec![s],
            RawNames::Many(v) => v.iter().collect(),
        }
    }
}

/// Where each OpenAI field is found in a provider's response, a stream
/// event, or a named mapping (`[chat.mappings.<name>]`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawMapping {
    /// Stream events only: which events this rule applies to.
    pub on: Option<RawMatch>,
    /// Stream events only: this event is an error body, classified by `[errors]`.
    #[serde(default)]
    pub error: bool,
    /// Stream events only: this event ends the stream normally.
    #[serde(default)]
    pub end: bool,
    /// Named mappings (`[chat.mappings.<name>]`, or `response`) this one
    /// starts from; its own keys win, field by field.
    pub map: Option<RawNames>,
    /// Where the mappings in `map` are read: `$` in them is the node this
    /// JSONPath selects (default: `$`, the whole document).
    pub at: Option<String>,
    pub id: Option<RawPaths>,
    pub model: Option<RawPaths>,
    pub created: Option<RawPaths>,
    /// Text content; every match is concatenated.
    pub content: Option<RawPaths>,
    /// Reasoning / thinking text; every match is concatenated.
    pub reasoning: Option<RawPaths>,
    /// The tool calls: `{ each = "<nodes>", id = "$.id", name = …, arguments = …, key = …, signature = … }`.
    #[schemars(with = "Option<ToolCallsSchema>")]
    pub tool_calls: Option<RawToolCalls>,
    /// Deprecated: the fields of `tool-calls` written beside it.
    pub tool_call: Option<RawToolCall>,
    /// The reasoning blocks: `{ each = "<nodes>", thinking = …, signature = …, data = … }`.
    #[schemars(with = "Option<ThinkingBlocksSchema>")]
    pub thinking_blocks: Option<RawThinkingBlocks>,
    /// Deprecated: the fields of `thinking-blocks` written beside it.
    pub thinking_block: Option<RawThinkingBlock>,
    pub finish_reason: Option<RawPaths>,
    #[serde(default)]
    pub usage: RawUsage,
    /// The answer's choices: `{ each = "<choice nodes>", index = "$.index", map = "<mapping>" }`;
    /// the named mapping is read in each choice node.
    pub choices: Option<RawChoices>,
    /// Token log probabilities: a path to an OpenAI-shaped `logprobs`
    /// object, or a table building one.
    #[schemars(with = "Option<LogprobsSchema>")]
    pub logprobs: Option<RawLogprobs>,
    /// URL citations, as OpenAI's `message.annotations`.
    pub annotations: Option<RawAnnotations>,
    /// Extra provider data for `message.provider_specific_fields`, by name:
    /// a path to one node gives it, a wildcard or filter the list of matches.
    #[serde(default)]
    pub provider_fields: IndexMap<String, RawPaths>,
}

/// `choices`: the choice nodes, and the mapping read in each.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawChoices {
    /// The choice nodes (a path that lands on a list selects its items).
    pub each: Option<RawPaths>,
    /// The choice's index, in its node; default: its position.
    pub index: Option<RawPaths>,
    /// The named mapping read in each choice node (`$` is the node).
    pub map: Option<String>,
}

/// `logprobs`: a path to an OpenAI-shaped object, or a table that builds one.
#[derive(Debug)]
pub(crate) enum RawLogprobs {
    Table(RawLogprobsTable),
    Node(RawPaths),
}

/// One node per output token (`each`), read with `token`, `logprob` and
/// `bytes`; `top` selects, position by position, each token's list of
/// alternatives, read with `token` and `logprob` too.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawLogprobsTable {
    pub each: Option<RawPaths>,
    pub token: Option<RawPaths>,
    pub logprob: Option<RawPaths>,
    pub bytes: Option<RawPaths>,
    pub top: Option<RawPaths>,
}

/// `annotations`: one node per URL citation, and where its fields are.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawAnnotations {
    pub each: Option<RawPaths>,
    pub url: Option<RawPaths>,
    pub title: Option<RawPaths>,
    pub start_index: Option<RawPaths>,
    pub end_index: Option<RawPaths>,
}

/// Selects stream events: `event` is the SSE event name, `present` lists
/// paths that must hold a value, every other key is a JSONPath whose value
/// must equal the given one.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawMatch {
    pub event: Option<String>,
    #[serde(default)]
    pub present: Vec<String>,
    #[serde(flatten)]
    #[schemars(with = "IndexMap<String, Value>")]
    pub equals: IndexMap<String, Value>,
}

/// `tool-calls`: a table (`each` and the fields of each call), or
/// (deprecated) the JSONPath of the nodes, read with `tool-call`.
#[derive(Debug)]
pub(crate) enum RawToolCalls {
    Table(RawToolCall),
    Nodes(RawPaths),
}

/// Paths relative to one tool-call node, and `each`, which selects the nodes.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawToolCall {
    /// The tool-call nodes (a path that lands on a list selects its items).
    pub each: Option<RawPaths>,
    /// Stream only: identifies the call across events (e.g. `$.index`); fragments with one key join.
    pub key: Option<RawPaths>,
    pub id: Option<RawPaths>,
    pub name: Option<RawPaths>,
    /// Argument text (a fragment when streaming), or an object that is serialized.
    pub arguments: Option<RawPaths>,
    /// An opaque signature of the call, returned as
    /// `provider_specific_fields.thought_signature`.
    pub signature: Option<RawPaths>,
}

/// `thinking-blocks`: a table (`each` and the fields of each block), or
/// (deprecated) the JSONPath of the nodes, read with `thinking-block`.
#[derive(Debug)]
pub(crate) enum RawThinkingBlocks {
    Table(RawThinkingBlock),
    Nodes(RawPaths),
}

/// Paths relative to one reasoning-block node, and `each`, which selects
/// the nodes: a node where `data` finds a value is a `redacted_thinking`
/// block; else a `thinking` block of its `thinking` text (or "") and
/// `signature`. A node with none is skipped.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawThinkingBlock {
    /// The reasoning-block nodes, in order.
    pub each: Option<RawPaths>,
    pub thinking: Option<RawPaths>,
    pub signature: Option<RawPaths>,
    pub data: Option<RawPaths>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawUsage {
    pub prompt_tokens: Option<RawPaths>,
    pub completion_tokens: Option<RawPaths>,
    pub total_tokens: Option<RawPaths>,
    pub cached_tokens: Option<RawPaths>,
    pub cache_write_tokens: Option<RawPaths>,
    pub reasoning_tokens: Option<RawPaths>,
}

/// A table, or a JSONPath (or list of them), each read its own way: the
/// table keeps its own error messages (an unknown key is named as such).
fn table_or_paths<'de, D, T, R>(
    d: D,
    table: fn(T) -> R,
    nodes: fn(RawPaths) -> R,
) -> Result<R, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T, R> {
        table: fn(T) -> R,
        nodes: fn(RawPaths) -> R,
    }
    impl<'de, T: Deserialize<'de>, R> Visitor<'de> for V<T, R> {
        type Value = R;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a table like { each = \"$.items\", … }, or a JSONPath")
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<R, E> {
            Ok((self.nodes)(RawPaths::One(s.to_string())))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<R, A::Error> {
            let list = Vec::<String>::deserialize(SeqAccessDeserializer::new(seq))?;
            Ok((self.nodes)(RawPaths::Many(list)))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<R, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(self.table)
        }
    }
    d.deserialize_any(V { table, nodes })
}

impl<'de> Deserialize<'de> for RawToolCalls {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        table_or_paths(d, RawToolCalls::Table, RawToolCalls::Nodes)
    }
}

impl<'de> Deserialize<'de> for RawLogprobs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        table_or_paths(d, RawLogprobs::Table, RawLogprobs::Node)
    }
}

impl<'de> Deserialize<'de> for RawThinkingBlocks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        table_or_paths(d, RawThinkingBlocks::Table, RawThinkingBlocks::Nodes)
    }
}

/// The schema of `tool-calls`: the table, or (deprecated) paths.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ToolCallsSchema {
    Table(RawToolCall),
    Nodes(RawPaths),
}

/// The schema of `logprobs`: the table, or a path.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum LogprobsSchema {
    Table(RawLogprobsTable),
    Node(RawPaths),
}

/// The schema of `thinking-blocks`: the table, or (deprecated) paths.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ThinkingBlocksSchema {
    Table(RawThinkingBlock),
    Nodes(RawPaths),
}
