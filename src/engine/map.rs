//! Maps a provider's JSON response to a `chat.completion`, through the
//! spec's JSONPath mapping: every choice (see `choice`), its tool calls
//! (the JSON-mode tool's call becomes the content), finish reason (always
//! one of OpenAI's), usage. Pure: the clock and a fallback id come in.

use serde_json::{Map, Value};

use super::choice::{ChoiceView, choices};
use super::read::{arguments_at, signature_fields, string_at};
use crate::jsonpath::Paths;
use crate::spec::compile::{Endpoint, OPENAI_FINISH, UsageMap};
use crate::types::{
    ChatResponse, Choice, CompletionTokensDetails, PromptTokensDetails, ResponseFunction,
    ResponseMessage, ResponseToolCall, Usage,
};

/// What the mapping cannot know from the body alone.
pub(crate) struct MapCtx<'a> {
    pub(crate) model: &'a str,
    pub(crate) now: u64,
    pub(crate) fallback_id: &'a str,
}

pub(crate) fn map_response(ep: &Endpoint, body: &Value, cx: &MapCtx<'_>) -> ChatResponse {
    let m = &ep.response;
    let id = string_at(&m.id, body).unwrap_or_else(|| cx.fallback_id.to_string());
    let choices = choices(m, body)
        .map(|view| choice(ep, &view, &id))
        .collect();
    ChatResponse {
        model: string_at(&m.model, body).unwrap_or_else(|| cx.model.to_string()),
        created: m
            .created
            .as_ref()
            .and_then(|p| p.sum(body))
            .unwrap_or(cx.now),
        id,
        object: "chat.completion".into(),
        choices,
        usage: UsageParts::read(&m.usage, body).into_usage(),
    }
}

/// One choice of an answer.
fn choice(ep: &Endpoint, view: &ChoiceView<'_>, id: &str) -> Choice {
    let (tc, found) = view.tool_calls();
    let mut content = view.text(|m| &m.content);
    let mut json_answered = false;
    let mut tool_calls = Vec::new();
    for node in found {
        let name = string_at(&tc.name, node).unwrap_or_default();
        let arguments = arguments_at(tc, node).unwrap_or_else(|| "{}".into());
        // The JSON-mode tool's input is the answer itself.
        if ep.json_tool.as_deref() == Some(name.as_str()) {
            content.get_or_insert_with(String::new).push_str(&arguments);
            json_answered = true;
            continue;
        }
        let i = tool_calls.len();
        tool_calls.push(ResponseToolCall {
            id: string_at(&tc.id, node).unwrap_or_else(|| fallback_call_id(id, view.index, i)),
            kind: "function".into(),
            function: ResponseFunction { name, arguments },
            provider_specific_fields: signature_fields(tc, node),
        });
    }
    let mut fields = view.provider_fields();
    let finish = view.finish_raw().map(|raw| {
        let (mapped, unknown) = map_finish(ep, &raw, !tool_calls.is_empty(), json_answered);
        if unknown {
            fields
                .get_or_insert_with(Map::new)
                .insert("finish_reason".into(), Value::String(raw));
        }
        mapped
    });
    Choice {
        index: view.index,
        message: ResponseMessage {
            role: "assistant".into(),
            content,
            reasoning_content: view.text(|m| &m.reasoning).filter(|s| !s.is_empty()),
            thinking_blocks: view.thinking_blocks(),
            tool_calls,
            annotations: view.annotations(),
            provider_specific_fields: fields,
        },
        finish_reason: finish,
        logprobs: view.logprobs(),
    }
}

/// A tool call's id when the provider gives none: `call_<id>_<n>` (with the
/// choice index between for choices after the first).
pub(crate) fn fallback_call_id(id: &str, choice: u32, n: usize) -> String {
    match choice {
        0 => format!("call_{id}_{n}"),
        c => format!("call_{id}_{c}_{n}"),
    }
}

/// The OpenAI finish reason for the provider's `raw` one, and whether no
/// table names it: the spec's table, else `raw` when it is already one of
/// OpenAI's, else `stop` (the caller keeps `raw` in provider fields).
/// `tool_calls` when a `tool-calls-finish` spec says `stop` beside tool
/// calls; `stop` when the only call was the JSON-mode tool.
pub(crate) fn map_finish(
    ep: &Endpoint,
    raw: &str,
    has_tool_calls: bool,
    json_answered: bool,
) -> (String, bool) {
    let (mapped, unknown) = match ep.finish_reasons.get(raw) {
        Some(m) => (m.clone(), false),
        None => {
            let lower = raw.to_ascii_lowercase();
            match OPENAI_FINISH.iter().find(|f| **f == lower) {
                Some(f) => (f.to_string(), false),
                None => ("stop".to_string(), true),
            }
        }
    };
    if ep.tool_calls_finish && has_tool_calls && mapped == "stop" {
        return ("tool_calls".into(), unknown);
    }
    if json_answered && !has_tool_calls && mapped == "tool_calls" {
        return ("stop".into(), unknown);
    }
    (mapped, unknown)
}

/// Usage fields as found; a stream merges them event by event.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct UsageParts {
    prompt: Option<u64>,
    completion: Option<u64>,
    total: Option<u64>,
    cached: Option<u64>,
    cache_write: Option<u64>,
    reasoning: Option<u64>,
}

impl UsageParts {
    pub(crate) fn read(u: &UsageMap, v: &Value) -> UsageParts {
        let get = |p: &Option<Paths>| p.as_ref().and_then(|p| p.sum(v));
        UsageParts {
            prompt: get(&u.prompt_tokens),
            completion: get(&u.completion_tokens),
            total: get(&u.total_tokens),
            cached: get(&u.cached_tokens),
            cache_write: get(&u.cache_write_tokens),
            reasoning: get(&u.reasoning_tokens),
        }
    }

    /// Later values win, field by field.
    pub(crate) fn merge(&mut self, newer: UsageParts) {
        let pick = |old: &mut Option<u64>, new: Option<u64>| {
            if new.is_some() {
                *old = new;
            }
        };
        pick(&mut self.prompt, newer.prompt);
        pick(&mut self.completion, newer.completion);
        pick(&mut self.total, newer.total);
        pick(&mut self.cached, newer.cached);
        pick(&mut self.cache_write, newer.cache_write);
        pick(&mut self.reasoning, newer.reasoning);
    }

    pub(crate) fn into_usage(self) -> Option<Usage> {
        if self.prompt.is_none() && self.completion.is_none() && self.total.is_none() {
            return None;
        }
        let prompt = self.prompt.unwrap_or(0);
        let completion = self.completion.unwrap_or(0);
        let prompt_details =
            (self.cached.is_some() || self.cache_write.is_some()).then_some(PromptTokensDetails {
                cached_tokens: self.cached,
                cache_write_tokens: self.cache_write,
            });
        Some(Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: self.total.unwrap_or(prompt + completion),
            prompt_tokens_details: prompt_details,
            completion_tokens_details: self.reasoning.map(|r| CompletionTokensDetails {
                reasoning_tokens: Some(r),
            }),
            cost: None,
        })
    }
}
