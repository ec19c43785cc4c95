//! One choice of an answer or a stream event, as a mapping reads it. With
//! `choices`, each node `choices.each` selects is a choice, read through
//! the mapping `choices.map` names (its `$` is the node); a field that
//! mapping does not find is read in the whole document through the mapping
//! itself (Perplexity's sources sit beside the choices, not in them). With
//! no `choices`, or when `each` selects nothing, the document is the one
//! choice, index 0. Also reads the choice-level extras: log probabilities,
//! URL citations, provider fields. Pure.

use serde_json::{Map, Value, json};

use super::read::{nodes, thinking_blocks};
use crate::jsonpath::Paths;
use crate::spec::compile::{AnnotationsMap, LogprobsMap, LogprobsTable, Mapping, ToolCallMap};
use crate::types::{Annotation, ThinkingBlock, UrlCitation};

/// The most choices one answer or event yields (OpenAI's `n` is at most 128).
const MAX_CHOICES: usize = 128;

/// One choice: its index, the choice mapping at its node (if any), and the
/// mapping at the document.
pub(crate) struct ChoiceView<'a> {
    pub(crate) index: u32,
    inner: Option<(&'a Mapping, &'a Value)>,
    outer: (&'a Mapping, &'a Value),
}

/// The choices `m` finds in `doc`, in document order (no allocation for
/// the one choice of a mapping without `choices`).
pub(crate) fn choices<'a>(m: &'a Mapping, doc: &'a Value) -> Choices<'a> {
    let one = ChoiceView {
        index: 0,
        inner: None,
        outer: (m, doc),
    };
    let Some(c) = &m.choices else {
        return Choices::One(Some(one));
    };
    let found = nodes(&c.each, doc);
    if found.is_empty() {
        return Choices::One(Some(one));
    }
    Choices::Many {
        m,
        doc,
        nodes: found.into_iter().take(MAX_CHOICES).enumerate(),
    }
}

/// The choices of one document, as [`choices`] finds them.
pub(crate) enum Choices<'a> {
    One(Option<ChoiceView<'a>>),
    Many {
        m: &'a Mapping,
        doc: &'a Value,
        nodes: std::iter::Enumerate<std::iter::Take<std::vec::IntoIter<&'a Value>>>,
    },
}

impl<'a> Iterator for Choices<'a> {
    type Item = ChoiceView<'a>;

    fn next(&mut self) -> Option<ChoiceView<'a>> {
        match self {
            Choices::One(v) => v.take(),
            Choices::Many { m, doc, nodes } => {
                let (pos, node) = nodes.next()?;
                let c = m.choices.as_ref()?;
                Some(ChoiceView {
                    index: c
                        .index
                        .as_ref()
                        .and_then(|p| p.first(node))
                        .and_then(Value::as_u64)
                        .and_then(|i| u32::try_from(i).ok())
                        .unwrap_or(pos as u32),
                    inner: c.map.as_deref().map(|inner| (inner, node)),
                    outer: (*m, *doc),
                })
            }
        }
    }
}

impl<'a> ChoiceView<'a> {
    /// The mappings to read a field with, the choice's first.
    fn sources(&self) -> impl Iterator<Item = (&'a Mapping, &'a Value)> {
        self.inner.into_iter().chain(std::iter::once(self.outer))
    }

    /// Whether the choice's mapping or the document's has what `has` looks for.
    pub(crate) fn any(&self, has: fn(&Mapping) -> bool) -> bool {
        self.sources().any(|(m, _)| has(m))
    }

    /// Text of a field: the choice's, else the document's.
    pub(crate) fn text(&self, field: fn(&Mapping) -> &Option<Paths>) -> Option<String> {
        self.sources()
            .find_map(|(m, v)| field(m).as_ref().and_then(|p| p.text(v)))
    }

    /// The first value of a field: the choice's, else the document's.
    pub(crate) fn first(&self, field: fn(&Mapping) -> &Option<Paths>) -> Option<&'a Value> {
        self.sources()
            .find_map(|(m, v)| field(m).as_ref().and_then(|p| p.first(v)))
    }

    /// The tool-call nodes: the choice's, else the document's, each with
    /// the mapping that reads them.
    pub(crate) fn tool_calls(&self) -> (&'a ToolCallMap, Vec<&'a Value>) {
        self.sources()
            .map(|(m, v)| (&m.tool_call, nodes(&m.tool_calls, v)))
            .find(|(_, found)| !found.is_empty())
            .unwrap_or((&self.outer.0.tool_call, Vec::new()))
    }

    /// Reasoning blocks: the choice's, else the document's.
    pub(crate) fn thinking_blocks(&self) -> Vec<ThinkingBlock> {
        self.sources()
            .map(|(m, v)| thinking_blocks(m, v))
            .find(|found| !found.is_empty())
            .unwrap_or_default()
    }

    /// The provider's finish reason as text (numbers as their digits).
    pub(crate) fn finish_raw(&self) -> Option<String> {
        Some(match self.first(|m| &m.finish_reason)? {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// Token log probabilities, OpenAI-shaped: the choice's, else the document's.
    pub(crate) fn logprobs(&self) -> Option<Value> {
        self.sources()
            .find_map(|(m, v)| match m.logprobs.as_ref()? {
                LogprobsMap::Node(p) => p.first(v).cloned(),
                LogprobsMap::Table(t) => built_logprobs(t, v),
            })
    }

    /// URL citations: the choice's, else the document's.
    pub(crate) fn annotations(&self) -> Vec<Annotation> {
        self.sources()
            .filter_map(|(m, v)| Some(annotations(m.annotations.as_ref()?, v)))
            .find(|found| !found.is_empty())
            .unwrap_or_default()
    }

    /// Provider fields: the document's, then the choice's (which win).
    pub(crate) fn provider_fields(&self) -> Option<Map<String, Value>> {
        let mut out = Map::new();
        for (m, v) in [Some(self.outer), self.inner].into_iter().flatten() {
            for (name, paths) in &m.provider_fields {
                if let Some(found) = paths.value(v) {
                    out.insert(name.clone(), found);
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// The URL citations `a` finds in `v` (a node without a URL is none).
fn annotations(a: &AnnotationsMap, v: &Value) -> Vec<Annotation> {
    let text = |p: &Option<Paths>, node: &Value| p.as_ref().and_then(|p| p.text(node));
    let count = |p: &Option<Paths>, node: &Value| {
        p.as_ref()
            .and_then(|p| p.first(node))
            .and_then(Value::as_u64)
    };
    nodes(&a.each, v)
        .into_iter()
        .filter_map(|node| {
            Some(Annotation {
                kind: "url_citation".into(),
                url_citation: UrlCitation {
                    url: text(&a.url, node).filter(|u| !u.is_empty())?,
                    title: text(&a.title, node),
                    start_index: count(&a.start_index, node),
                    end_index: count(&a.end_index, node),
                },
            })
        })
        .collect()
}

/// `{"content": [{token, logprob, bytes?, top_logprobs}]}` from a table: one
/// entry per `each` node, its alternatives the `top` list at its position.
fn built_logprobs(t: &LogprobsTable, v: &Value) -> Option<Value> {
    let tokens = nodes(&t.each, v);
    if tokens.is_empty() {
        return None;
    }
    let tops: Vec<&Value> = t
        .top
        .as_ref()
        .map(|p| p.0.iter().flat_map(|p| p.all(v)).collect())
        .unwrap_or_default();
    let entry = |node: &Value| {
        let mut e = json!({
            "token": t.token.as_ref().and_then(|p| p.text(node)).unwrap_or_default(),
            "logprob": t.logprob.as_ref().and_then(|p| p.first(node)).and_then(Value::as_f64).unwrap_or(0.0),
        });
        if let Some(bytes) = t.bytes.as_ref().and_then(|p| p.first(node)) {
            e["bytes"] = bytes.clone();
        }
        e
    };
    let content: Vec<Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let mut e = entry(node);
            let alternatives: Vec<Value> = match tops.get(i) {
                Some(Value::Array(list)) => list.iter().map(entry).collect(),
                _ => Vec::new(),
            };
            e["top_logprobs"] = Value::Array(alternatives);
            e
        })
        .collect();
    Some(json!({ "content": content }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::engine::map::{MapCtx, map_response};
    use crate::spec::{Registry, Source};

    const SPEC: &str = r#"
base-url = "https://acme.example.com"
auth = { scheme = "none" }

[chat]
path = "/chat"
body = { model = "{{model}}" }

[chat.response]
usage = { prompt-tokens = "$.usage.in", completion-tokens = "$.usage.out" }
choices = { each = "$.out[*]", map = "one" }
finish-reason = "$.blocked"
annotations = { each = "$.sources[*]", url = "$.link", title = "$.name" }
provider-fields = { sources = "$.sources", first = "$.sources[0].link" }

[chat.mappings.one]
content = "$.t"
finish-reason = "$.why"
logprobs = { each = "$.lp.tokens[*]", token = "$.s", logprob = "$.p", top = "$.lp.top[*]" }
"#;

    fn spec() -> std::sync::Arc<crate::spec::Spec> {
        let reg = Registry::from_sources(vec![Source {
            name: "acme.toml".into(),
            text: SPEC.into(),
        }])
        .unwrap();
        reg.get("acme").unwrap().clone()
    }

    fn map(body: serde_json::Value) -> crate::types::ChatResponse {
        let s = spec();
        let cx = MapCtx {
            model: "m",
            now: 0,
            fallback_id: "id",
        };
        map_response(s.chat.as_ref().unwrap(), &body, &cx)
    }

    #[test]
    fn each_choice_node_is_a_choice_read_through_its_mapping() {
        let r = map(json!({
            "out": [
                {"t": "a", "why": "stop", "lp": {"tokens": [{"s": "a", "p": -0.5}], "top": [[{"s": "a", "p": -0.5}, {"s": "b", "p": -2}]]}},
                {"t": "b", "why": "weird"}
            ],
            "sources": [{"link": "https://x.example", "name": "X"}, {"name": "no link"}],
            "usage": {"in": 1, "out": 2}
        }));
        assert_eq!(r.choices.len(), 2);
        assert_eq!(
            (r.choices[1].index, r.choices[1].message.content.as_deref()),
            (1, Some("b"))
        );
        assert_eq!(r.choices[1].finish_reason.as_deref(), Some("stop"));
        let lp = r.choices[0].logprobs.as_ref().unwrap();
        assert_eq!(lp["content"][0]["token"], "a");
        assert_eq!(
            lp["content"][0]["top_logprobs"][1],
            json!({"token": "b", "logprob": -2.0})
        );
        assert!(r.choices[1].logprobs.is_none());
        // Document-level sources reach every choice; a node without a URL is no citation.
        for c in &r.choices {
            assert_eq!(c.message.annotations.len(), 1);
            assert_eq!(
                c.message.annotations[0].url_citation.title.as_deref(),
                Some("X")
            );
            let f = c.message.provider_specific_fields.as_ref().unwrap();
            assert_eq!(f["first"], "https://x.example");
            assert_eq!(f["sources"].as_array().map(Vec::len), Some(2));
        }
        let weird = r.choices[1]
            .message
            .provider_specific_fields
            .as_ref()
            .unwrap();
        assert_eq!(weird["finish_reason"], "weird");
        assert_eq!(r.usage.unwrap().completion_tokens, 2);
    }

    #[test]
    fn with_no_choice_node_the_document_is_the_one_choice() {
        let r = map(json!({"blocked": "SAFETY_THING", "usage": {"in": 1, "out": 0}}));
        assert_eq!(r.choices.len(), 1);
        assert_eq!(r.choices[0].index, 0);
        assert_eq!(r.choices[0].message.content, None);
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn choices_past_the_limit_are_not_read() {
        let many: Vec<_> = (0..500).map(|i| json!({"t": i.to_string()})).collect();
        assert_eq!(map(json!({"out": many})).choices.len(), super::MAX_CHOICES);
    }
}
