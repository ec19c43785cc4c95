//! Maps decoded stream frames to `chat.completion.chunk`s through a spec's
//! `[[chat.stream.events]]` rules: content and reasoning deltas, tool-call
//! deltas (provider keys → dense OpenAI indices, argument fragments kept in
//! order), finish reason, usage merged across events, error events, and
//! completion. A body that ends before the stream completed is an error.
//! Pure: no clock, no I/O.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::classify::classify_event;
use super::map::{
    UsageParts, arguments_at, finish_reason, nodes, signature_fields, string_at, thinking_blocks,
};
use super::stream::Frame;
use crate::error::{Error, ErrorKind, Result};
use crate::spec::Spec;
use crate::spec::compile::{Endpoint, EventRule};
use crate::types::{ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta, Usage};

/// Stream state for one call.
pub(crate) struct ChunkMapper {
    spec: Arc<Spec>,
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    role_sent: bool,
    tool_index: HashMap<String, u32>,
    tools_seen: u32,
    usage: UsageParts,
    complete: bool,
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
            role_sent: false,
            tool_index: HashMap::new(),
            tools_seen: 0,
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
        let mut delta = Delta::default();
        let mut finish = None;
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
            self.apply(chat, rule, &json, &mut delta, &mut finish);
            if rule.end {
                self.complete = true;
            }
        }
        if finish.is_some() && stream.end_on_finish {
            self.complete = true;
        }
        let has_delta = delta.content.is_some()
            || delta.reasoning_content.is_some()
            || !delta.thinking_blocks.is_empty()
            || !delta.tool_calls.is_empty();
        if has_delta || finish.is_some() {
            if !self.role_sent {
                delta.role = Some("assistant".into());
                self.role_sent = true;
            }
            out.push(self.chunk(vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish,
            }]));
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
        delta: &mut Delta,
        finish: &mut Option<String>,
    ) {
        let m = &rule.map;
        if let Some(id) = string_at(&m.id, json) {
            self.id = id;
        }
        if let Some(model) = string_at(&m.model, json) {
            self.model = model;
        }
        if let Some(text) = m.content.as_ref().and_then(|p| p.text(json)) {
            delta
                .content
                .get_or_insert_with(String::new)
                .push_str(&text);
        }
        if let Some(text) = m.reasoning.as_ref().and_then(|p| p.text(json)) {
            delta
                .reasoning_content
                .get_or_insert_with(String::new)
                .push_str(&text);
        }
        delta.thinking_blocks.extend(thinking_blocks(m, json));
        for node in nodes(&m.tool_calls, json) {
            let tc = &m.tool_call;
            let key = tc
                .key
                .as_ref()
                .and_then(|k| k.first(node))
                .map(Value::to_string);
            let existing = key.as_ref().and_then(|k| self.tool_index.get(k)).copied();
            let arguments = arguments_at(tc, node);
            let name = string_at(&tc.name, node);
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
                    let index = self.tools_seen;
                    self.tools_seen += 1;
                    if let Some(k) = key {
                        self.tool_index.insert(k, index);
                    }
                    delta.tool_calls.push(ToolCallDelta {
                        index,
                        id: Some(
                            string_at(&tc.id, node)
                                .unwrap_or_else(|| format!("call_{}_{index}", self.id)),
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
        if let Some(reason) = finish_reason(chat, m, json, self.tools_seen > 0) {
            *finish = Some(reason);
        }
        if !m.usage.is_empty() {
            self.usage.merge(UsageParts::read(&m.usage, json));
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
