//! Reads values out of a provider's document through a spec's compiled
//! paths: every node a mapping selects, a string at a path, a tool call's
//! arguments and signature, reasoning blocks. Pure; knows no provider JSON.

use serde_json::{Map, Value};

use crate::jsonpath::Paths;
use crate::spec::compile::{Mapping, ToolCallMap};
use crate::types::ThinkingBlock;

/// Every node the paths select; a selected list stands for its items
/// (`$.message.tool_calls` and `$.content[?…]` both give the calls).
pub(crate) fn nodes<'v>(paths: &Option<Paths>, body: &'v Value) -> Vec<&'v Value> {
    let mut out = Vec::new();
    for path in paths.iter().flat_map(|p| p.0.iter()) {
        for v in path.all(body) {
            match v {
                Value::Array(items) => out.extend(items.iter().filter(|x| !x.is_null())),
                other => out.push(other),
            }
        }
    }
    out
}

pub(crate) fn string_at(paths: &Option<Paths>, v: &Value) -> Option<String> {
    match paths.as_ref()?.first(v)? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Tool-call arguments as text: strings verbatim, objects serialized.
pub(crate) fn arguments_at(tc: &ToolCallMap, node: &Value) -> Option<String> {
    match tc.arguments.as_ref()?.first(node)? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `{"thought_signature": …}` when the mapping finds a signature on the call.
pub(crate) fn signature_fields(tc: &ToolCallMap, node: &Value) -> Option<Map<String, Value>> {
    let sig = string_at(&tc.signature, node)?;
    Some(Map::from_iter([(
        "thought_signature".to_string(),
        Value::String(sig),
    )]))
}

/// The reasoning blocks `thinking-blocks` selects, in order: a node where
/// `data` is found is redacted; else a thinking block of its text (or "")
/// and signature; a node with neither text, signature nor data is skipped.
pub(crate) fn thinking_blocks(m: &Mapping, body: &Value) -> Vec<ThinkingBlock> {
    let tb = &m.thinking_block;
    nodes(&m.thinking_blocks, body)
        .into_iter()
        .filter_map(|node| {
            if let Some(data) = string_at(&tb.data, node) {
                return Some(ThinkingBlock::RedactedThinking { data });
            }
            let thinking = string_at(&tb.thinking, node).unwrap_or_default();
            let signature = string_at(&tb.signature, node).filter(|s| !s.is_empty());
            (!thinking.is_empty() || signature.is_some()).then_some(ThinkingBlock::Thinking {
                thinking,
                signature,
            })
        })
        .collect()
}
