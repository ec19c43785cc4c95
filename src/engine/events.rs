//! Maps decoded stream frames to `chat.completion.chunk`s through a spec's
//! `[chat.stream.events]` rules: per choice (see `choice`), content and
//! reasoning deltas, tool-call deltas (provider keys → dense OpenAI
//! indices, argument fragments kept in order; the JSON-mode tool's
//! fragments as content), finish reason, log probabilities, citations;
//! usage merged across events, error events, and completion. A body that
//! ends before the stream completed is an error. Pure: no clock, no I/O.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::choice::{ChoiceView, choices};
use super::classify::classify_event;
use super::map::{UsageParts, fallback_call_id, map_finish};
use super::read::{arguments_at, signature_fields, string_at};
use super::stream::Frame;
use crate::error::{Error, ErrorKind, Result};
use crate::spec::Spec;
use crate::spec::compile::{Endpoint, EventRule, ToolCallMap};
use crate::types::{
    Annotation, ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta, Usage,
};

/// Stream state for one call.
pub(crate) struct ChunkMapper {
    spec: Arc<Spec>,
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    /// Per choice index, in order.
    choices: BTreeMap<u32, ChoiceState>,
    usage: UsageParts,
    complete: bool,
}

/// What one choice of the stream has seen.
#[derive(Default)]
struct ChoiceState {
    role_sent: bool,
    /// Provider tool-call key → dense OpenAI index.
    tool_index: HashMap<String, u32>,
    tools_seen: u32,
    /// Keys of the JSON-mode tool's calls, whose arguments are content.
    json_keys: HashSet<String>,
    json_answered: bool,
    /// The citations and provider fields last sent.
    sources: (Vec<Annotation>, Option<Map<String, Value>>),
}

/// What one frame adds to one choice.
#[derive(Default)]
struct Part {
    delta: Delta,
    finish: Option<String>,
    logprobs: Option<Value>,
}

impl ChunkMapper {
    /// `None` when the spec's chat endpoint does not stream.
    pub(crate) fn new(
        spec: Arc<Spec>,
        model: &str,
        fallback_id: &str,
        now: u64,
        include_usage: bool,
    ) -> Option<Self> {
        spec.chat.as_ref()?.stream.as_ref()?;
        Some(ChunkMapper {
            spec,
            id: fallback_id.to_string(),
            model: model.to_string(),
            created: now,
            include_usage,
            choices: BTreeMap::new(),
            usage: UsageParts::default(),
            complete: false,
        })
    }

    /// Whether the provider signalled a normal end.
    pub(crate) fn is_complete(&self) -> bool {
        self.complete
    }

    /// Usage merged from every event so far.
    pub(crate) fn usage(&self) -> Option<Usage> {
        self.usage.into_usage()
    }

    /// Maps one frame; chunks it yields are pushed to `out`.
    pub(crate) fn frame(&mut self, frame: &Frame, out: &mut Vec<ChatChunk>) -> Result<()> {
        let spec = Arc::clone(&self.spec);
        let Some((chat, stream)) = spec
            .chat
            .as_ref()
            .and_then(|c| Some((c, c.stream.as_ref()?)))
        else {
            return Ok(());
        };
        let data = frame.data.trim();
        if self.complete || data.is_empty() {
            return Ok(());
        }
        if stream.done.as_deref() == Some(data) {
            self.complete = true;
            return Ok(());
        }
        let json: Value = serde_json::from_str(data).map_err(|e| {
            let mut shown: String = data.chars().take(200).collect();
            if shown.len() < data.len() {
                shown.push('…');
            }
            // Garbage from upstream is a bad gateway, as for a JSON answer.
            Error::new(
                ErrorKind::Connection,
                format!("a stream event is not JSON ({e}): {shown}"),
            )
        })?;
        let mut parts: Vec<(u32, Part)> = Vec::new();
        for rule in &stream.events {
            if !matches(rule, frame.event.as_deref(), &json) {
                continue;
            }
            if rule.error {
                return Err(classify_event(
                    &self.spec.errors,
                    frame.event.as_deref(),
                    data.as_bytes(),
                ));
            }
            self.apply(chat, rule, &json, &mut parts);
            if rule.end {
                self.complete = true;
            }
        }
        if stream.end_on_finish && parts.iter().any(|(_, p)| p.finish.is_some()) {
            self.complete = true;
        }
        // In index order (a rule may add an earlier choice after a later one).
        parts.sort_by_key(|(i, _)| *i);
        let mut choices = Vec::new();
        for (index, mut part) in parts {
            let d = &part.delta;
            let has_delta = d.content.is_some()
                || d.reasoning_content.is_some()
                || !d.thinking_blocks.is_empty()
                || !d.tool_calls.is_empty()
                || !d.annotations.is_empty()
                || d.provider_specific_fields.is_some()
                || part.logprobs.is_some();
            if !has_delta && part.finish.is_none() {
                continue;
            }
            let state = self.choices.entry(index).or_default();
            if !state.role_sent {
                part.delta.role = Some("assistant".into());
                state.role_sent = true;
            }
            choices.push(ChunkChoice {
                index,
                delta: part.delta,
                finish_reason: part.finish,
                logprobs: part.logprobs,
            });
        }
        if !choices.is_empty() {
            out.push(self.chunk(choices));
        }
        Ok(())
    }

    /// The body ended: a usage chunk when asked for, or an error when the
    /// stream never completed.
    pub(crate) fn finish(&mut self, out: &mut Vec<ChatChunk>) -> Result<()> {
        if !self.complete {
            return Err(Error::new(
                ErrorKind::Connection,
                "the stream ended before the provider finished its answer (cut mid-way)",
            ));
        }
        if self.include_usage
            && let Some(usage) = self.usage.into_usage()
        {
            let mut c = self.chunk(Vec::new());
            c.usage = Some(usage);
            out.push(c);
        }
        Ok(())
    }

    fn apply(
        &mut self,
        chat: &Endpoint,
        rule: &EventRule,
        json: &Value,
        parts: &mut Vec<(u32, Part)>,
    ) {
        let m = &rule.map;
        if let Some(id) = string_at(&m.id, json) {
            self.id = id;
        }
        if let Some(model) = string_at(&m.model, json) {
            self.model = model;
        }
        for view in choices(m, json) {
            let at = match parts.iter().position(|(i, _)| *i == view.index) {
                Some(at) => at,
                None => {
                    parts.push((view.index, Part::default()));
                    parts.len() - 1
                }
            };
            self.apply_choice(chat, &view, &mut parts[at].1);
        }
        if !m.usage.is_empty() {
            self.usage.merge(UsageParts::read(&m.usage, json));
        }
    }

    /// What one choice of one event adds.
    fn apply_choice(&mut self, chat: &Endpoint, view: &ChoiceView<'_>, part: &mut Part) {
        let delta = &mut part.delta;
        if let Some(text) = view.text(|m| &m.content) {
            push_text(&mut delta.content, &text);
        }
        if let Some(text) = view.text(|m| &m.reasoning) {
            push_text(&mut delta.reasoning_content, &text);
        }
        if view.any(|m| m.thinking_blocks.is_some()) {
            delta.thinking_blocks.extend(view.thinking_blocks());
        }
        if view.any(|m| m.logprobs.is_some())
            && let Some(lp) = view.logprobs()
        {
            part.logprobs = Some(lp);
        }
        let state = self.choices.entry(view.index).or_default();
        // Sources repeated in every event (Perplexity's) are sent once.
        let sources = if view.any(|m| m.annotations.is_some() || !m.provider_fields.is_empty()) {
            (view.annotations(), view.provider_fields())
        } else {
            (Vec::new(), None)
        };
        if (!sources.0.is_empty() || sources.1.is_some()) && state.sources != sources {
            delta.annotations.extend(sources.0.iter().cloned());
            if let Some(fields) = &sources.1 {
                delta
                    .provider_specific_fields
                    .get_or_insert_with(Default::default)
                    .extend(fields.clone());
            }
            state.sources = sources;
        }
        if view.any(|m| m.tool_calls.is_some()) {
            let (tc, found) = view.tool_calls();
            for node in found {
                tool_call(chat, tc, node, state, delta, &self.id, view.index);
            }
        }
        if let Some(raw) = view.finish_raw() {
            let (reason, unknown) =
                map_finish(chat, &raw, state.tools_seen > 0, state.json_answered);
            if unknown {
                delta
                    .provider_specific_fields
                    .get_or_insert_with(Default::default)
                    .insert("finish_reason".into(), Value::String(raw));
            }
            part.finish = Some(reason);
        }
    }

    fn chunk(&self, choices: Vec<ChunkChoice>) -> ChatChunk {
        ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage: None,
        }
    }
}

fn push_text(slot: &mut Option<String>, text: &str) {
    slot.get_or_insert_with(String::new).push_str(text);
}

/// One tool-call fragment: a new call opens the next dense index; later
/// fragments with its key carry arguments (and name) only. A fragment of
/// the JSON-mode tool is content instead.
fn tool_call(
    chat: &Endpoint,
    tc: &ToolCallMap,
    node: &Value,
    state: &mut ChoiceState,
    delta: &mut Delta,
    id: &str,
    choice: u32,
) {
    let key = tc
        .key
        .as_ref()
        .and_then(|k| k.first(node))
        .map(Value::to_string);
    let arguments = arguments_at(tc, node);
    let name = string_at(&tc.name, node);
    let is_json = match (&key, &name) {
        (Some(k), _) if state.json_keys.contains(k) => true,
        (_, Some(n)) => chat.json_tool.as_deref() == Some(n.as_str()),
        _ => false,
    };
    if is_json {
        if let Some(k) = key {
            state.json_keys.insert(k);
        }
        state.json_answered = true;
        if let Some(a) = arguments.filter(|a| !a.is_empty()) {
            push_text(&mut delta.content, &a);
        }
        return;
    }
    let existing = key.as_ref().and_then(|k| state.tool_index.get(k)).copied();
    let provider_specific_fields = signature_fields(tc, node);
    match existing {
        Some(index) => {
            if arguments.as_deref().is_some_and(|a| !a.is_empty())
                || name.is_some()
                || provider_specific_fields.is_some()
            {
                delta.tool_calls.push(ToolCallDelta {
                    index,
                    id: None,
                    kind: None,
                    function: FunctionDelta { name, arguments },
                    provider_specific_fields,
                });
            }
        }
        None => {
            let index = state.tools_seen;
            state.tools_seen += 1;
            if let Some(k) = key {
                state.tool_index.insert(k, index);
            }
            delta.tool_calls.push(ToolCallDelta {
                index,
                id: Some(
                    string_at(&tc.id, node)
                        .unwrap_or_else(|| fallback_call_id(id, choice, index as usize)),
                ),
                kind: Some("function".into()),
                function: FunctionDelta {
                    name: Some(name.unwrap_or_default()),
                    // A rule that maps arguments but found none means "no arguments".
                    arguments: Some(arguments.unwrap_or_else(|| {
                        if tc.arguments.is_some() {
                            "{}".into()
                        } else {
                            String::new()
                        }
                    })),
                },
                provider_specific_fields,
            });
        }
    }
}

fn matches(rule: &EventRule, event: Option<&str>, json: &Value) -> bool {
    if let Some(want) = &rule.event
        && event != Some(want.as_str())
    {
        return false;
    }
    rule.present.iter().all(|p| p.first(json).is_some())
        && rule
            .equals
            .iter()
            .all(|(p, want)| p.first(json) == Some(want))
}
