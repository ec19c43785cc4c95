//! Block framing: the generic stream primitive behind every front door.
//! It watches canonical chunks (OpenAI chat deltas), keeps track of which
//! output block is open — text, thinking, redacted thinking, or one tool
//! call by its index — and renders the door's hooks at each step: `start`
//! once, `block-start` / `block-delta` / `block-stop` around every block,
//! `finish` (finish reason and usage) and `end` once the answer is
//! complete, `error` when it fails. Event names and bodies are the door's
//! data; this file knows none of them. Pure: no clock, no socket.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::view;
use super::{Door, Hook};
use crate::error::{Error, ErrorKind};
use crate::types::{ChatChunk, ThinkingBlock, Usage};

/// One server-sent event: an optional `event:` name and its JSON data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub(crate) name: Option<String>,
    pub(crate) data: Value,
}

impl Event {
    /// `event: <name>\ndata: <json>\n\n`.
    pub(crate) fn to_bytes(&self) -> Bytes {
        let data = serde_json::to_string(&self.data).unwrap_or_else(|_| "null".into());
        match &self.name {
            Some(n) => Bytes::from(format!("event: {n}\ndata: {data}\n\n")),
            None => Bytes::from(format!("data: {data}\n\n")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Thinking,
    Tool(u32),
}

/// The block being written: its kind, its place and what it holds so far.
struct Open {
    kind: Kind,
    block: Value,
}

/// The framing state of one stream through one door.
pub(crate) struct Framer {
    door: Arc<Door>,
    started: bool,
    id: String,
    model: String,
    created: u64,
    open: Option<Open>,
    /// Closed blocks, in order, as the answer view has them.
    blocks: Vec<Value>,
    stop: Option<String>,
    provider_stop: Value,
    usage: Option<Usage>,
    seq: u64,
}

impl Framer {
    pub(crate) fn new(door: Arc<Door>) -> Self {
        Framer {
            door,
            started: false,
            id: String::new(),
            model: String::new(),
            created: 0,
            open: None,
            blocks: Vec::new(),
            stop: None,
            provider_stop: Value::Null,
            usage: None,
            seq: 0,
        }
    }

    /// The events one canonical chunk makes.
    pub(crate) fn chunk(&mut self, chunk: &ChatChunk) -> Result<Vec<Event>, Error> {
        let mut out = Vec::new();
        if !self.started {
            self.id.clone_from(&chunk.id);
            self.model.clone_from(&chunk.model);
            self.created = chunk.created;
            if let Some(u) = &chunk.usage {
                self.usage = Some(u.clone());
            }
            self.start(&mut out)?;
        }
        if let Some(u) = &chunk.usage {
            self.usage = Some(u.clone());
        }
        let Some(choice) = chunk.choices.iter().find(|c| c.index == 0) else {
            return Ok(out);
        };
        let d = &choice.delta;
        if let Some(r) = d.reasoning_content.as_deref().filter(|r| !r.is_empty()) {
            self.ensure(Kind::Thinking, &mut out, || view::thinking_block("", None))?;
            self.delta(json!({"type": "thinking", "thinking": r}), &mut out)?;
        }
        for b in &d.thinking_blocks {
            match b {
                ThinkingBlock::Thinking {
                    signature: Some(sig),
                    ..
                } => {
                    self.ensure(Kind::Thinking, &mut out, || view::thinking_block("", None))?;
                    self.delta(json!({"type": "signature", "signature": sig}), &mut out)?;
                    self.close(&mut out)?;
                }
                ThinkingBlock::RedactedThinking { data } => {
                    self.close(&mut out)?;
                    self.begin(Kind::Thinking, view::redacted_block(data), &mut out)?;
                    self.close(&mut out)?;
                }
                ThinkingBlock::Thinking { .. } | ThinkingBlock::Other => {}
            }
        }
        if let Some(t) = d.content.as_deref().filter(|t| !t.is_empty()) {
            self.ensure(Kind::Text, &mut out, || view::text_block(""))?;
            self.delta(json!({"type": "text", "text": t}), &mut out)?;
        }
        for call in &d.tool_calls {
            let kind = Kind::Tool(call.index);
            if self.open.as_ref().map(|o| o.kind) != Some(kind) {
                let id = call.id.clone().unwrap_or_default();
                let name = call.function.name.clone().unwrap_or_default();
                self.close(&mut out)?;
                self.begin(kind, view::tool_block(&id, &name, ""), &mut out)?;
            }
            if let Some(a) = call.function.arguments.as_deref().filter(|a| !a.is_empty()) {
                self.delta(json!({"type": "arguments", "arguments": a}), &mut out)?;
            }
        }
        if let Some(reason) = &choice.finish_reason {
            self.close(&mut out)?;
            self.stop = Some(reason.clone());
            if let Some(p) = d
                .provider_specific_fields
                .as_ref()
                .and_then(|f| f.get("finish_reason"))
            {
                self.provider_stop = p.clone();
            }
        }
        Ok(out)
    }

    /// The events that end a complete stream.
    pub(crate) fn finish(&mut self) -> Result<Vec<Event>, Error> {
        let mut out = Vec::new();
        if !self.started {
            self.start(&mut out)?;
        }
        self.close(&mut out)?;
        let ctx = self.ctx(Value::Null, Value::Null);
        let done = self
            .emit(Hook::Finish, &ctx, &mut out)
            .and_then(|()| self.emit(Hook::End, &ctx, &mut out));
        self.restore(ctx);
        done?;
        if let Some(done) = &self.door.stream_done {
            out.push(Event {
                name: None,
                data: Value::String(done.clone()),
            });
        }
        Ok(out)
    }

    /// The event of a failure after the stream began (`body` is the door's
    /// error body, already scrubbed). Never fails: a hook that does not
    /// render sends the body as it is.
    pub(crate) fn error(&mut self, body: Value) -> Vec<Event> {
        let mut ctx = self.ctx(Value::Null, Value::Null);
        if let Value::Object(m) = &mut ctx {
            m.insert("error".into(), body.clone());
        }
        let mut out = Vec::new();
        let rendered = self.emit(Hook::Error, &ctx, &mut out);
        self.restore(ctx);
        if rendered.is_err() || out.is_empty() {
            out = vec![Event {
                name: Some("error".into()),
                data: body,
            }];
        }
        out
    }

    fn start(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        self.started = true;
        self.render(Hook::Start, Value::Null, Value::Null, out).1
    }

    /// Opens a block of `kind` unless one is open; closes any other.
    fn ensure(
        &mut self,
        kind: Kind,
        out: &mut Vec<Event>,
        block: impl FnOnce() -> Value,
    ) -> Result<(), Error> {
        if self.open.as_ref().map(|o| o.kind) == Some(kind) {
            return Ok(());
        }
        self.close(out)?;
        self.begin(kind, block(), out)
    }

    fn begin(&mut self, kind: Kind, mut block: Value, out: &mut Vec<Event>) -> Result<(), Error> {
        if let Value::Object(m) = &mut block {
            m.insert("index".into(), self.blocks.len().into());
        }
        let (block, done) = self.render(Hook::BlockStart, block, Value::Null, out);
        self.open = Some(Open { kind, block });
        done
    }

    /// A piece of the open block: rendered, then added to what it holds.
    fn delta(&mut self, delta: Value, out: &mut Vec<Event>) -> Result<(), Error> {
        let Some(open) = &mut self.open else {
            return Ok(());
        };
        if let (Value::Object(b), Value::Object(d)) = (&mut open.block, &delta) {
            for (k, v) in d.iter().filter(|(k, _)| *k != "type") {
                let Value::String(piece) = v else { continue };
                match b.get_mut(k) {
                    Some(Value::String(s)) if k != "signature" => s.push_str(piece),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let block = std::mem::take(&mut open.block);
        let (block, done) = self.render(Hook::BlockDelta, block, delta, out);
        if let Some(open) = &mut self.open {
            open.block = block;
        }
        done
    }

    /// Closes the open block, if any.
    fn close(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        if let (Kind::Tool(_), Value::Object(b)) = (open.kind, &mut open.block) {
            let args = b.get("arguments").and_then(Value::as_str).unwrap_or("");
            let input = view::parsed(args);
            b.insert("input".into(), input);
        }
        let (block, done) = self.render(Hook::BlockStop, open.block, Value::Null, out);
        self.blocks.push(block);
        done
    }

    /// Renders `hook` over `block` and `delta`; gives the block back, with
    /// the outcome. Nothing is copied: the block and the closed blocks are
    /// moved into the context and back out, so a long answer costs each
    /// step the same, not the length so far.
    fn render(
        &mut self,
        hook: Hook,
        block: Value,
        delta: Value,
        out: &mut Vec<Event>,
    ) -> (Value, Result<(), Error>) {
        let ctx = self.ctx(block, delta);
        let done = self.emit(hook, &ctx, out);
        (self.restore(ctx), done)
    }

    /// What a hook sees: the answer so far, the block in hand and the
    /// delta. The closed blocks move in; [`Framer::restore`] moves them back.
    fn ctx(&mut self, block: Value, delta: Value) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("model".into(), self.model.clone().into());
        m.insert("created".into(), self.created.into());
        m.insert(
            "index".into(),
            block.get("index").cloned().unwrap_or(Value::Null),
        );
        m.insert("block".into(), block);
        m.insert("delta".into(), delta);
        m.insert("stop".into(), self.stop.clone().into());
        m.insert("provider_stop".into(), self.provider_stop.clone());
        m.insert("usage".into(), view::usage(self.usage.as_ref()));
        m.insert(
            "blocks".into(),
            Value::Array(std::mem::take(&mut self.blocks)),
        );
        Value::Object(m)
    }

    /// Takes the closed blocks back from a context; returns its block.
    fn restore(&mut self, ctx: Value) -> Value {
        let Value::Object(mut m) = ctx else {
            return Value::Null;
        };
        if let Some(Value::Array(blocks)) = m.remove("blocks") {
            self.blocks = blocks;
        }
        m.remove("block").unwrap_or(Value::Null)
    }

    fn emit(&mut self, hook: Hook, ctx: &Value, out: &mut Vec<Event>) -> Result<(), Error> {
        let rendered = self.door.hook(hook, ctx)?;
        let items = match rendered {
            Value::Null => return Ok(()),
            Value::Array(items) => items,
            one => vec![one],
        };
        for item in items {
            let Value::Object(mut m) = item else {
                return Err(bad_hook(&self.door.id, hook, "an event is not a table"));
            };
            let name = match m.remove("event") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s),
                Some(_) => return Err(bad_hook(&self.door.id, hook, "`event` is not text")),
            };
            let Some(mut data) = m.remove("data") else {
                return Err(bad_hook(&self.door.id, hook, "an event has no `data`"));
            };
            if let (Some(field), Value::Object(d)) = (&self.door.stream_sequence, &mut data) {
                d.insert(field.clone(), self.seq.into());
            }
            self.seq += 1;
            out.push(Event { name, data });
        }
        Ok(())
    }
}

fn bad_hook(door: &str, hook: Hook, what: &str) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!(
            "front door {door}: stream.{} rendered a bad event: {what}",
            hook.name()
        ),
    )
}
