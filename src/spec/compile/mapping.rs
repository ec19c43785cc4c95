//! Compiles response mappings, named mappings (`[chat.mappings.<name>]`)
//! and stream rules. A mapping may start from named mappings (`map`),
//! read at a node of the document (`at`); its own keys win, field by field.
//! Resolution is bounded: mappings that use each other in a cycle, or that
//! nest more than [`MAX_MAP_DEPTH`] deep, are findings.

use indexmap::IndexMap;

use super::compiler::{At, Ctx, rooted, sub};
use super::{EventRule, Mapping, ThinkingBlockMap, ToolCallMap, UsageMap};
use crate::jsonpath::Paths;
use crate::spec::raw::{RawMapping, RawPaths, RawRules, RawThinkingBlocks, RawToolCalls, RawUsage};
use crate::suggest::closest;

/// How deep named mappings may use one another.
const MAX_MAP_DEPTH: usize = 8;

/// The mappings a `map` key can name in one endpoint.
pub(crate) struct Named<'r> {
    pub(super) endpoint: String,
    pub(super) mappings: &'r IndexMap<String, RawMapping>,
    pub(super) response: &'r RawMapping,
}

impl Named<'_> {
    /// Where a named mapping is written, and what it says.
    fn get(&self, name: &str) -> Option<(At, &RawMapping)> {
        let ep = [self.endpoint.clone()];
        if name == "response" {
            return Some((sub(&ep, &["response"]), self.response));
        }
        let m = self.mappings.get(name)?;
        Some((sub(&ep, &["mappings", name]), m))
    }

    /// Written order: `response` first, then the named mappings.
    fn order(&self, name: &str) -> usize {
        if name == "response" {
            return 0;
        }
        self.mappings
            .get_index_of(name)
            .map_or(usize::MAX, |i| i + 1)
    }
}

/// Where a used mapping is read (`at`, joined with any outer `at`), and
/// the key that said so, for findings.
#[derive(Clone)]
pub(crate) struct Prefix {
    path: String,
    at: At,
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Response,
    Named,
    Rule,
}

const TOOL_CALLS_FORM: &str = "write one table: tool-calls = { each = \"<the call nodes>\", id = \"$.id\", name = …, arguments = … }";
const THINKING_FORM: &str = "write one table: thinking-blocks = { each = \"<the block nodes>\", thinking = …, signature = …, data = … }";

impl Mapping {
    /// Sets every field `top` has (usage and tool-call fields one by one).
    fn overlay(&mut self, mut top: Mapping) {
        self.overlay_choice(&mut top);
        fn set(dst: &mut Option<Paths>, src: Option<Paths>) {
            if src.is_some() {
                *dst = src;
            }
        }
        set(&mut self.id, top.id);
        set(&mut self.model, top.model);
        set(&mut self.created, top.created);
        set(&mut self.content, top.content);
        set(&mut self.reasoning, top.reasoning);
        set(&mut self.tool_calls, top.tool_calls);
        let (tc, t) = (&mut self.tool_call, top.tool_call);
        set(&mut tc.key, t.key);
        set(&mut tc.id, t.id);
        set(&mut tc.name, t.name);
        set(&mut tc.arguments, t.arguments);
        set(&mut tc.signature, t.signature);
        set(&mut self.thinking_blocks, top.thinking_blocks);
        let (tb, t) = (&mut self.thinking_block, top.thinking_block);
        set(&mut tb.thinking, t.thinking);
        set(&mut tb.signature, t.signature);
        set(&mut tb.data, t.data);
        set(&mut self.finish_reason, top.finish_reason);
        let (u, t) = (&mut self.usage, top.usage);
        set(&mut u.prompt_tokens, t.prompt_tokens);
        set(&mut u.completion_tokens, t.completion_tokens);
        set(&mut u.total_tokens, t.total_tokens);
        set(&mut u.cached_tokens, t.cached_tokens);
        set(&mut u.cache_write_tokens, t.cache_write_tokens);
        set(&mut u.reasoning_tokens, t.reasoning_tokens);
    }
}

impl Ctx<'_> {
    /// `[chat.response]`, after checking every named mapping where it is written.
    pub(super) fn response(&mut self, named: &Named) -> Mapping {
        for (name, m) in named.mappings {
            let at = sub(std::slice::from_ref(&named.endpoint), &["mappings", name]);
            if name == "response" {
                self.push(
                    &at,
                    "spec",
                    "`response` is the name of [chat.response] itself; pick another name",
                );
                continue;
            }
            self.mapping(&at, m, named, &mut vec![name.clone()], None, Role::Named);
        }
        let at = sub(std::slice::from_ref(&named.endpoint), &["response"]);
        let mut stack = vec!["response".to_string()];
        self.mapping(&at, named.response, named, &mut stack, None, Role::Response)
    }

    /// The stream rules, in order.
    pub(super) fn events(&mut self, named: &Named, rules: &RawRules<RawMapping>) -> Vec<EventRule> {
        let at = sub(std::slice::from_ref(&named.endpoint), &["stream", "events"]);
        if rules.is_list() {
            self.warn(
                &at,
                "deprecated: a list of stream rules ([[chat.stream.events]]) can only be replaced whole by a spec that extends this one; name each rule instead: [chat.stream.events.<name>]",
            );
        }
        rules
            .iter()
            .into_iter()
            .map(|(key, raw)| self.event(&sub(&at, &[&key]), raw, named))
            .collect()
    }

    fn event(&mut self, at: &At, raw: &RawMapping, named: &Named) -> EventRule {
        let mut equals = Vec::new();
        let mut present = Vec::new();
        let mut event = None;
        if let Some(on) = &raw.on {
            event = on.event.clone();
            for (i, p) in on.present.iter().enumerate() {
                match self.path(p) {
                    Ok(p) => present.push(p),
                    Err(e) => {
                        self.push(&sub(at, &["on", "present", &i.to_string()]), "jsonpath", e)
                    }
                }
            }
            for (k, v) in &on.equals {
                let loc = sub(at, &["on", k]);
                if !k.starts_with('$') {
                    self.push(
                        &loc,
                        "spec",
                        format!(
                            "`{k}`: keys of `on` are `event`, `present` or a JSONPath starting with `$`"
                        ),
                    );
                    continue;
                }
                match self.path(k) {
                    Ok(p) => equals.push((p, v.clone())),
                    Err(e) => self.push(&loc, "jsonpath", e),
                }
            }
        }
        EventRule {
            event,
            present,
            equals,
            error: raw.error,
            end: raw.end,
            map: self.mapping(at, raw, named, &mut Vec::new(), None, Role::Rule),
        }
    }

    /// One mapping: the named mappings it starts from, then its own keys.
    fn mapping(
        &mut self,
        at: &At,
        raw: &RawMapping,
        named: &Named,
        stack: &mut Vec<String>,
        prefix: Option<&Prefix>,
        role: Role,
    ) -> Mapping {
        if role != Role::Rule {
            for (set, key) in [
                (raw.on.is_some(), "on"),
                (raw.error, "error"),
                (raw.end, "end"),
            ] {
                if set {
                    self.push(
                        &sub(at, &[key]),
                        "spec",
                        format!("`{key}` belongs to stream events only"),
                    );
                }
            }
        }
        let mut out = Mapping::default();
        match (&raw.map, &raw.at) {
            (None, Some(_)) => self.push(
                &sub(at, &["at"]),
                "spec",
                "`at` says where the mappings named in `map` are read, and there is no `map`",
            ),
            (Some(names), at_path) => {
                let inner = match at_path {
                    None => prefix.cloned(),
                    Some(p) => match self.path(p) {
                        Ok(_) => Some(Prefix {
                            path: rooted(prefix.map_or("$", |x| x.path.as_str()), p),
                            at: sub(at, &["at"]),
                        }),
                        Err(e) => {
                            self.push(&sub(at, &["at"]), "jsonpath", e);
                            prefix.cloned()
                        }
                    },
                };
                for name in names.list() {
                    self.use_named(at, name, named, stack, inner.as_ref(), &mut out);
                }
            }
            (None, None) => {}
        }
        let mut own = self.own(at, raw, prefix);
        self.own_choice(at, raw, named, stack, prefix, &mut own);
        out.overlay(own);
        self.check_complete(at, raw, &out);
        self.check_choice(at, raw, &out);
        out
    }

    /// Overlays the named mapping `name` on `out`, unless it is unknown, in
    /// a cycle, or too deep.
    fn use_named(
        &mut self,
        at: &At,
        name: &str,
        named: &Named,
        stack: &mut Vec<String>,
        prefix: Option<&Prefix>,
        out: &mut Mapping,
    ) {
        if let Some(m) = self.named_mapping(&sub(at, &["map"]), name, named, stack, prefix) {
            out.overlay(m);
        }
    }

    /// The named mapping `name` (named at `map_at`), read under `prefix`;
    /// None when it is unknown, in a cycle, or too deep (each a finding).
    pub(super) fn named_mapping(
        &mut self,
        map_at: &At,
        name: &str,
        named: &Named,
        stack: &mut Vec<String>,
        prefix: Option<&Prefix>,
    ) -> Option<Mapping> {
        let Some((target_at, target)) = named.get(name) else {
            let known: Vec<&str> = std::iter::once("response")
                .chain(named.mappings.keys().map(String::as_str))
                .collect();
            let hint = closest(name, known.iter().copied())
                .map(|c| format!("did you mean {c:?}? "))
                .unwrap_or_default();
            self.push(
                map_at,
                "spec",
                format!(
                    "unknown mapping {name:?}; {hint}`map` names one of: {}",
                    known.join(", ")
                ),
            );
            return None;
        };
        if let Some(from) = stack.iter().position(|s| s == name) {
            let mut ring: Vec<String> = stack[from..].to_vec();
            let first = (0..ring.len())
                .min_by_key(|&i| named.order(&ring[i]))
                .unwrap_or(0);
            ring.rotate_left(first);
            ring.push(ring[0].clone());
            let (ring_at, _) = named
                .get(&ring[0])
                .unwrap_or((map_at.clone(), named.response));
            self.push(
                &sub(&ring_at, &["map"]),
                "spec",
                format!("mappings use each other in a cycle: {}", ring.join(" → ")),
            );
            return None;
        }
        if stack.len() >= MAX_MAP_DEPTH {
            self.push(
                map_at,
                "spec",
                format!("mappings use each other more than {MAX_MAP_DEPTH} deep"),
            );
            return None;
        }
        stack.push(name.to_string());
        let m = self.mapping(&target_at, target, named, stack, prefix, Role::Named);
        stack.pop();
        Some(m)
    }

    /// A path read at the document root, or under the prefix of a used mapping.
    pub(super) fn field(
        &mut self,
        at: &At,
        keys: &[&str],
        raw: Option<&RawPaths>,
        prefix: Option<&Prefix>,
    ) -> Option<Paths> {
        match prefix {
            None => self.paths(at, keys, raw),
            Some(p) => self.paths_at(&p.at, &[], raw, Some(&p.path)),
        }
    }

    /// The keys a mapping writes itself.
    fn own(&mut self, at: &At, raw: &RawMapping, prefix: Option<&Prefix>) -> Mapping {
        let (tool_calls, tool_call) = self.tool_calls(at, raw, prefix);
        let (thinking_blocks, thinking_block) = self.thinking_blocks(at, raw, prefix);
        Mapping {
            id: self.field(at, &["id"], raw.id.as_ref(), prefix),
            model: self.field(at, &["model"], raw.model.as_ref(), prefix),
            created: self.field(at, &["created"], raw.created.as_ref(), prefix),
            content: self.field(at, &["content"], raw.content.as_ref(), prefix),
            reasoning: self.field(at, &["reasoning"], raw.reasoning.as_ref(), prefix),
            tool_calls,
            tool_call,
            thinking_blocks,
            thinking_block,
            finish_reason: self.field(at, &["finish-reason"], raw.finish_reason.as_ref(), prefix),
            usage: self.usage(at, &raw.usage, prefix),
            ..Mapping::default()
        }
    }

    /// `tool-calls` (a table, or the deprecated path + `tool-call`).
    fn tool_calls(
        &mut self,
        at: &At,
        raw: &RawMapping,
        prefix: Option<&Prefix>,
    ) -> (Option<Paths>, ToolCallMap) {
        if raw.tool_calls.is_none() && raw.tool_call.is_none() {
            return (None, ToolCallMap::default());
        }
        let tc_at = sub(at, &["tool-calls"]);
        let mut fields = ToolCallMap::default();
        let each = match &raw.tool_calls {
            Some(RawToolCalls::Table(t)) => {
                fields = self.tool_call_fields(&tc_at, t);
                self.field(&tc_at, &["each"], t.each.as_ref(), prefix)
            }
            Some(RawToolCalls::Nodes(p)) => {
                self.warn(
                    &tc_at,
                    format!(
                        "deprecated: `tool-calls` as a path beside `tool-call`; {TOOL_CALLS_FORM}"
                    ),
                );
                self.field(&tc_at, &[], Some(p), prefix)
            }
            None => None,
        };
        if let Some(old) = &raw.tool_call {
            let old_at = sub(at, &["tool-call"]);
            if !matches!(raw.tool_calls, Some(RawToolCalls::Nodes(_))) {
                self.warn(
                    &old_at,
                    format!("deprecated: `tool-call` beside `tool-calls`; {TOOL_CALLS_FORM}"),
                );
            }
            if old.each.is_some() {
                self.push(
                    &sub(&old_at, &["each"]),
                    "spec",
                    "`each` belongs in the `tool-calls` table",
                );
            }
            let mut m = Mapping {
                tool_call: fields,
                ..Mapping::default()
            };
            m.overlay(Mapping {
                tool_call: self.tool_call_fields(&old_at, old),
                ..Mapping::default()
            });
            fields = m.tool_call;
        }
        (each, fields)
    }

    fn tool_call_fields(&mut self, at: &At, t: &crate::spec::raw::RawToolCall) -> ToolCallMap {
        ToolCallMap {
            key: self.paths(at, &["key"], t.key.as_ref()),
            id: self.paths(at, &["id"], t.id.as_ref()),
            name: self.paths(at, &["name"], t.name.as_ref()),
            arguments: self.paths(at, &["arguments"], t.arguments.as_ref()),
            signature: self.paths(at, &["signature"], t.signature.as_ref()),
        }
    }

    /// `thinking-blocks` (a table, or the deprecated path + `thinking-block`).
    fn thinking_blocks(
        &mut self,
        at: &At,
        raw: &RawMapping,
        prefix: Option<&Prefix>,
    ) -> (Option<Paths>, ThinkingBlockMap) {
        if raw.thinking_blocks.is_none() && raw.thinking_block.is_none() {
            return (None, ThinkingBlockMap::default());
        }
        let tb_at = sub(at, &["thinking-blocks"]);
        let fields_of =
            |cx: &mut Self, at: &At, t: &crate::spec::raw::RawThinkingBlock| ThinkingBlockMap {
                thinking: cx.paths(at, &["thinking"], t.thinking.as_ref()),
                signature: cx.paths(at, &["signature"], t.signature.as_ref()),
                data: cx.paths(at, &["data"], t.data.as_ref()),
            };
        let mut fields = ThinkingBlockMap::default();
        let each = match &raw.thinking_blocks {
            Some(RawThinkingBlocks::Table(t)) => {
                fields = fields_of(self, &tb_at, t);
                self.field(&tb_at, &["each"], t.each.as_ref(), prefix)
            }
            Some(RawThinkingBlocks::Nodes(p)) => {
                self.warn(
                    &tb_at,
                    format!("deprecated: `thinking-blocks` as a path beside `thinking-block`; {THINKING_FORM}"),
                );
                self.field(&tb_at, &[], Some(p), prefix)
            }
            None => None,
        };
        if let Some(old) = &raw.thinking_block {
            let old_at = sub(at, &["thinking-block"]);
            if !matches!(raw.thinking_blocks, Some(RawThinkingBlocks::Nodes(_))) {
                self.warn(
                    &old_at,
                    format!(
                        "deprecated: `thinking-block` beside `thinking-blocks`; {THINKING_FORM}"
                    ),
                );
            }
            if old.each.is_some() {
                self.push(
                    &sub(&old_at, &["each"]),
                    "spec",
                    "`each` belongs in the `thinking-blocks` table",
                );
            }
            let mut m = Mapping {
                thinking_block: fields,
                ..Mapping::default()
            };
            m.overlay(Mapping {
                thinking_block: fields_of(self, &old_at, old),
                ..Mapping::default()
            });
            fields = m.thinking_block;
        }
        (each, fields)
    }

    /// Fields of the nodes `each` selects need an `each` (their own, or a used mapping's).
    fn check_complete(&mut self, at: &At, raw: &RawMapping, out: &Mapping) {
        let tc = &out.tool_call;
        let tc_set = [&tc.key, &tc.id, &tc.name, &tc.arguments, &tc.signature]
            .iter()
            .any(|p| p.is_some());
        if out.tool_calls.is_none() && tc_set {
            if raw.tool_call.is_some() {
                self.push(
                    &sub(at, &["tool-call"]),
                    "spec",
                    "`tool-call` reads nodes that `tool-calls` selects, and there is no `tool-calls`",
                );
            } else if raw.tool_calls.is_some() {
                self.push(
                    &sub(at, &["tool-calls"]),
                    "spec",
                    "`tool-calls` needs `each`: the JSONPath of the tool-call nodes",
                );
            }
        }
        let tb = &out.thinking_block;
        let tb_set = [&tb.thinking, &tb.signature, &tb.data]
            .iter()
            .any(|p| p.is_some());
        if out.thinking_blocks.is_none() && tb_set {
            if raw.thinking_block.is_some() {
                self.push(
                    &sub(at, &["thinking-block"]),
                    "spec",
                    "`thinking-block` reads nodes that `thinking-blocks` selects, and there is no `thinking-blocks`",
                );
            } else if raw.thinking_blocks.is_some() {
                self.push(
                    &sub(at, &["thinking-blocks"]),
                    "spec",
                    "`thinking-blocks` needs `each`: the JSONPath of the reasoning-block nodes",
                );
            }
        }
    }

    /// The `usage` table of the mapping at `at`.
    pub(super) fn usage(&mut self, at: &At, u: &RawUsage, prefix: Option<&Prefix>) -> UsageMap {
        let mut f = |key: &str, raw: &Option<RawPaths>| {
            self.field(at, &["usage", key], raw.as_ref(), prefix)
        };
        UsageMap {
            prompt_tokens: f("prompt-tokens", &u.prompt_tokens),
            completion_tokens: f("completion-tokens", &u.completion_tokens),
            total_tokens: f("total-tokens", &u.total_tokens),
            cached_tokens: f("cached-tokens", &u.cached_tokens),
            cache_write_tokens: f("cache-write-tokens", &u.cache_write_tokens),
            reasoning_tokens: f("reasoning-tokens", &u.reasoning_tokens),
        }
    }
}
