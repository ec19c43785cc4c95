//! The compiled spec: what the engine and the transport read. A compiled
//! `Spec` has no `Option` for anything that is required; if it exists, it is
//! valid. The compiler that makes it from a raw spec is in the submodules:
//! `compiler` (the spec, auth, endpoints), `mapping` (response mappings,
//! named mappings, stream rules) and `errors` (the error table).

mod choice;
mod compiler;
mod errors;
mod mapping;
mod openai_params;
mod variant;

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use super::Framing;
use super::raw::AuthScheme;
use crate::error::ErrorKind;
use crate::jsonpath::{JsonPath, Paths};
use crate::template::Tpl;

#[cfg(test)]
pub(crate) use compiler::compile;
pub(crate) use compiler::{Caches, OPENAI_FINISH, compile_all};
#[cfg_attr(not(feature = "cli"), allow(unused_imports))]
pub(crate) use variant::{MODES, Variant};

/// A compiled provider spec.
#[derive(Debug)]
pub struct Spec {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) docs: Option<String>,
    pub(crate) base_url: String,
    /// `base_url` as a template over `params` (e.g. a region in the host).
    pub(crate) base_url_tpl: Tpl,
    /// Environment variables that replace the base URL, first set wins.
    pub(crate) base_url_env: Vec<String>,
    pub(crate) model_prefixes: Vec<String>,
    pub(crate) auth: Auth,
    pub(crate) headers: Vec<(String, Tpl)>,
    pub(crate) params: Vec<Param>,
    /// The OpenAI parameters the spec carries; None: it declares none, and any is accepted.
    pub(crate) openai_params: Option<Vec<String>>,
    pub(crate) chat: Option<Endpoint>,
    pub(crate) embeddings: Option<EmbedEndpoint>,
    pub(crate) count_tokens: Option<CountEndpoint>,
    pub(crate) errors: ErrorTable,
    /// The chat endpoint's variants (`[chat.variants.<name>]`), in order.
    pub(crate) variants: Vec<Variant>,
}

impl Spec {
    /// The variant named `name` of the chat endpoint, as a spec of its own.
    pub(crate) fn variant(&self, name: &str) -> Option<&Arc<Spec>> {
        self.variants
            .iter()
            .find(|v| v.name == name)
            .map(|v| &v.spec)
    }

    /// The first variant whose `when-mode` names catalog mode `mode`.
    pub(crate) fn variant_for_mode(&self, mode: &str) -> Option<&Arc<Spec>> {
        self.variants
            .iter()
            .find(|v| v.modes.iter().any(|m| m == mode))
            .map(|v| &v.spec)
    }

    /// The names of the chat endpoint's variants, in order.
    pub fn variant_names(&self) -> Vec<&str> {
        self.variants.iter().map(|v| v.name.as_str()).collect()
    }

    /// The provider id, e.g. `anthropic`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The provider's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Link to the provider's API reference.
    pub fn docs(&self) -> Option<&str> {
        self.docs.as_deref()
    }

    /// The default base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The OpenAI request parameters this provider carries, in
    /// [`crate::OPENAI_PARAMS`] order (litellm's `get_supported_openai_params`);
    /// None when the spec declares no `openai-params` (any is accepted).
    pub fn openai_params(&self) -> Option<&[String]> {
        self.openai_params.as_deref()
    }

    /// Whether the provider carries OpenAI parameter `name` (a spec that
    /// declares none carries every one).
    pub fn carries(&self, name: &str) -> bool {
        self.openai_params
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p == name))
    }

    /// Environment variables that replace the base URL when a call gives
    /// none, first set wins (`OPENAI_API_BASE`, `<ID>_API_BASE`…).
    pub fn base_url_env(&self) -> &[String] {
        &self.base_url_env
    }

    /// The environment variable holding the API key, if any.
    pub fn key_env(&self) -> Option<&str> {
        self.auth.env.as_deref()
    }

    /// Whether the chat endpoint can stream.
    pub fn streams(&self) -> bool {
        self.chat.as_ref().is_some_and(|c| c.stream.is_some())
    }

    /// Whether the provider has a chat endpoint.
    pub fn chats(&self) -> bool {
        self.chat.is_some()
    }

    /// Whether the provider has an embeddings endpoint.
    pub fn embeds(&self) -> bool {
        self.embeddings.is_some()
    }

    /// Whether the provider has a token-count API (`[count-tokens]`).
    pub fn counts_tokens(&self) -> bool {
        self.count_tokens.is_some()
    }

    /// Bare model-name prefixes this provider owns.
    pub fn model_prefixes(&self) -> &[String] {
        &self.model_prefixes
    }
}

#[derive(Debug)]
pub(crate) struct Auth {
    pub(crate) scheme: AuthScheme,
    pub(crate) env: Option<String>,
    /// Header or query-parameter name.
    pub(crate) name: String,
    pub(crate) optional: bool,
    /// `aws-sigv4`: the service in the credential scope; empty for other schemes.
    pub(crate) service: String,
    /// `aws-sigv4`: the region in the credential scope, a template over `params`.
    pub(crate) region: Option<Tpl>,
}

#[derive(Debug)]
pub(crate) struct Param {
    pub(crate) name: String,
    pub(crate) env: Option<String>,
    pub(crate) default: Option<String>,
    pub(crate) required: bool,
}

#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) request: RequestTemplate,
    /// How the canonical request is built for this endpoint's templates.
    pub(crate) shape: Shape,
    pub(crate) stream_path: Option<Tpl>,
    pub(crate) response: Mapping,
    pub(crate) finish_reasons: HashMap<String, String>,
    pub(crate) tool_calls_finish: bool,
    /// The tool whose call is the answer's content (`json-tool`).
    pub(crate) json_tool: Option<String>,
    /// Image URLs are fetched and sent as bytes (`image-bytes`).
    pub(crate) image_bytes: bool,
    /// The front-door dialect the endpoint speaks natively (`dialect`).
    pub(crate) dialect: Option<String>,
    pub(crate) stream: Option<StreamSpec>,
}

/// The options a spec sets for the canonical request its templates see.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    /// Whether templates read `request` (the whole OpenAI request), so it is built.
    pub(crate) request: bool,
    /// Renames of `user`, `assistant`, `tool`; a `system` entry (the spec's
    /// `system-role`) keeps system messages in `messages` under that role.
    pub(crate) roles: HashMap<String, String>,
    pub(crate) merge_roles: bool,
    /// Whether assistant `thinking_blocks` become content blocks (`reasoning-blocks`).
    pub(crate) reasoning_blocks: bool,
    /// A `json_object` request offers (and forces) this tool (`json-tool`).
    pub(crate) json_tool: Option<String>,
}

/// The HTTP shape shared by every endpoint: method, path, body, parts.
#[derive(Debug)]
pub(crate) struct RequestTemplate {
    pub(crate) method: reqwest::Method,
    pub(crate) path: Tpl,
    pub(crate) body: Tpl,
    pub(crate) parts: Vec<Tpl>,
}

#[derive(Debug)]
pub(crate) struct EmbedEndpoint {
    pub(crate) request: RequestTemplate,
    pub(crate) vectors: Paths,
    pub(crate) model: Option<Paths>,
    pub(crate) usage: UsageMap,
}

/// The provider's token-count API: its request, and where the answer holds the count.
#[derive(Debug)]
pub(crate) struct CountEndpoint {
    pub(crate) request: RequestTemplate,
    pub(crate) tokens: Paths,
}

#[derive(Debug, Default)]
pub(crate) struct Mapping {
    pub(crate) id: Option<Paths>,
    pub(crate) model: Option<Paths>,
    pub(crate) created: Option<Paths>,
    pub(crate) content: Option<Paths>,
    pub(crate) reasoning: Option<Paths>,
    pub(crate) tool_calls: Option<Paths>,
    pub(crate) tool_call: ToolCallMap,
    pub(crate) thinking_blocks: Option<Paths>,
    pub(crate) thinking_block: ThinkingBlockMap,
    pub(crate) finish_reason: Option<Paths>,
    pub(crate) usage: UsageMap,
    pub(crate) choices: Option<ChoicesMap>,
    pub(crate) logprobs: Option<LogprobsMap>,
    pub(crate) annotations: Option<AnnotationsMap>,
    /// `message.provider_specific_fields` entries, by name.
    pub(crate) provider_fields: Vec<(String, Paths)>,
}

/// `choices`: the choice nodes and the mapping read in each.
#[derive(Debug, Default)]
pub(crate) struct ChoicesMap {
    pub(crate) each: Option<Paths>,
    pub(crate) index: Option<Paths>,
    /// The named mapping read in each node.
    pub(crate) map: Option<Box<Mapping>>,
}

/// `logprobs`: an OpenAI-shaped node, or one built token by token.
#[derive(Debug)]
pub(crate) enum LogprobsMap {
    Node(Paths),
    Table(LogprobsTable),
}

#[derive(Debug, Default)]
pub(crate) struct LogprobsTable {
    pub(crate) each: Option<Paths>,
    pub(crate) token: Option<Paths>,
    pub(crate) logprob: Option<Paths>,
    pub(crate) bytes: Option<Paths>,
    pub(crate) top: Option<Paths>,
}

/// `annotations`: URL citations.
#[derive(Debug, Default)]
pub(crate) struct AnnotationsMap {
    pub(crate) each: Option<Paths>,
    pub(crate) url: Option<Paths>,
    pub(crate) title: Option<Paths>,
    pub(crate) start_index: Option<Paths>,
    pub(crate) end_index: Option<Paths>,
}

#[derive(Debug, Default)]
pub(crate) struct ThinkingBlockMap {
    pub(crate) thinking: Option<Paths>,
    pub(crate) signature: Option<Paths>,
    pub(crate) data: Option<Paths>,
}

#[derive(Debug, Default)]
pub(crate) struct ToolCallMap {
    pub(crate) key: Option<Paths>,
    pub(crate) id: Option<Paths>,
    pub(crate) name: Option<Paths>,
    pub(crate) arguments: Option<Paths>,
    pub(crate) signature: Option<Paths>,
}

#[derive(Debug, Default)]
pub(crate) struct UsageMap {
    pub(crate) prompt_tokens: Option<Paths>,
    pub(crate) completion_tokens: Option<Paths>,
    pub(crate) total_tokens: Option<Paths>,
    pub(crate) cached_tokens: Option<Paths>,
    pub(crate) cache_write_tokens: Option<Paths>,
    pub(crate) reasoning_tokens: Option<Paths>,
}

impl UsageMap {
    pub(crate) fn is_empty(&self) -> bool {
        self.prompt_tokens.is_none()
            && self.completion_tokens.is_none()
            && self.total_tokens.is_none()
            && self.cached_tokens.is_none()
            && self.cache_write_tokens.is_none()
            && self.reasoning_tokens.is_none()
    }
}

#[derive(Debug)]
pub(crate) struct StreamSpec {
    pub(crate) framing: Framing,
    pub(crate) done: Option<String>,
    pub(crate) end_on_finish: bool,
    pub(crate) events: Vec<EventRule>,
}

#[derive(Debug)]
pub(crate) struct EventRule {
    pub(crate) event: Option<String>,
    pub(crate) present: Vec<JsonPath>,
    pub(crate) equals: Vec<(JsonPath, Value)>,
    pub(crate) error: bool,
    pub(crate) end: bool,
    pub(crate) map: Mapping,
}

#[derive(Debug)]
pub(crate) struct ErrorTable {
    pub(crate) message: Option<Paths>,
    pub(crate) code: Option<Paths>,
    pub(crate) retry_after_header: String,
    pub(crate) rules: Vec<ErrorRule>,
}

#[derive(Debug)]
pub(crate) struct ErrorRule {
    pub(crate) status: Vec<u16>,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<Regex>,
    pub(crate) body_contains: Option<String>,
    pub(crate) kind: ErrorKind,
}
