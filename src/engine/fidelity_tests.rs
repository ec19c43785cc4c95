//! Two fidelity rules, checked over every shipped spec by feeding each one
//! documents built from its own mappings (`JsonPath::witness`):
//! - a finish reason no table names comes back as `stop`, in an answer and
//!   in a stream, its raw value kept in `provider_specific_fields`;
//! - an error event inside a stream is classified through the spec's error
//!   table, by its code, exactly as the same error sent as a response.

use std::sync::Arc;

use serde_json::{Value, json};

use super::classify::classify;
use super::events::ChunkMapper;
use super::map::{MapCtx, map_response};
use super::stream::Frame;
use crate::jsonpath::Paths;
use crate::spec::compile::{EventRule, Mapping};
use crate::spec::{Registry, Spec};

const UNHEARD_OF: &str = "an_unheard_of_reason";

/// `a` with what `b` adds where `a` has nothing (objects key by key, lists item by item).
fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut x), Value::Object(y)) => {
            for (k, v) in y {
                let merged = match x.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                x.insert(k, merged);
            }
            Value::Object(x)
        }
        (Value::Array(x), Value::Array(y)) => {
            let n = x.len().max(y.len());
            let (mut x, mut y) = (x.into_iter(), y.into_iter());
            Value::Array(
                (0..n)
                    .map(|_| match (x.next(), y.next()) {
                        (Some(a), Some(b)) => merge(a, b),
                        (a, b) => a.or(b).unwrap_or(Value::Null),
                    })
                    .collect(),
            )
        }
        (Value::Null, b) => b,
        (a, _) => a,
    }
}

/// A document in which the first witnessable path of `paths` finds `value`.
fn witness(paths: &Option<Paths>, value: Value) -> Option<Value> {
    paths
        .as_ref()?
        .0
        .iter()
        .find_map(|p| p.witness(value.clone()))
}

/// A document in which `m` finds the finish reason `raw` (in a choice when
/// it reads choices).
fn finish_doc(m: &Mapping, raw: &str) -> Option<Value> {
    if let Some(c) = &m.choices
        && let Some(inner) = c.map.as_deref()
        && let Some(choice) = witness(&inner.finish_reason, json!(raw))
    {
        return witness(&c.each, choice);
    }
    witness(&m.finish_reason, json!(raw))
}

/// What a stream rule needs to match: its `on` conditions, over `doc`.
fn matching(rule: &EventRule, doc: Value) -> Option<Frame> {
    let mut doc = doc;
    for (path, want) in &rule.equals {
        doc = merge(doc, path.witness(want.clone())?);
    }
    for path in &rule.present {
        doc = merge(doc, path.witness(json!("x"))?);
    }
    Some(Frame {
        event: rule.event.clone(),
        data: doc.to_string(),
    })
}

fn chat_specs() -> Vec<Arc<Spec>> {
    let reg = Registry::builtin().unwrap();
    reg.specs()
        .iter()
        .filter(|s| s.chat.is_some())
        .cloned()
        .collect()
}

#[test]
fn an_unknown_finish_reason_is_stop_with_the_raw_value_kept_in_every_answer() {
    let mut checked = 0;
    for spec in chat_specs() {
        let ep = spec.chat.as_ref().unwrap();
        let doc = finish_doc(&ep.response, UNHEARD_OF)
            .unwrap_or_else(|| panic!("{}: no finish-reason path to build an answer on", spec.id));
        let cx = MapCtx {
            model: "m",
            now: 0,
            fallback_id: "id",
        };
        let resp = map_response(ep, &doc, &cx);
        let choice = &resp.choices[0];
        assert_eq!(
            choice.finish_reason.as_deref(),
            Some("stop"),
            "{}: {doc}",
            spec.id
        );
        let kept = choice.message.provider_specific_fields.as_ref();
        assert_eq!(
            kept.and_then(|f| f.get("finish_reason")),
            Some(&json!(UNHEARD_OF)),
            "{}",
            spec.id
        );
        // A reason OpenAI has passes as it is; every table entry maps to one of OpenAI's.
        let doc = finish_doc(&ep.response, "length").unwrap();
        let expected = ep
            .finish_reasons
            .get("length")
            .map_or("length", String::as_str);
        assert_eq!(
            map_response(ep, &doc, &cx).choices[0]
                .finish_reason
                .as_deref(),
            Some(expected),
            "{}",
            spec.id
        );
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} specs checked");
}

#[test]
fn an_unknown_finish_reason_is_stop_in_every_stream() {
    let mut checked = 0;
    for spec in chat_specs() {
        let ep = spec.chat.as_ref().unwrap();
        let Some(stream) = ep.stream.as_ref() else {
            continue;
        };
        let mut found = false;
        for rule in stream.events.iter().filter(|r| !r.error) {
            let Some(frame) = finish_doc(&rule.map, UNHEARD_OF).and_then(|d| matching(rule, d))
            else {
                continue;
            };
            let mut mapper = ChunkMapper::new(spec.clone(), "m", "id", 0, false).unwrap();
            let mut out = Vec::new();
            mapper
                .frame(&frame, &mut out)
                .unwrap_or_else(|e| panic!("{}: {e}: {}", spec.id, frame.data));
            let choice = out
                .iter()
                .flat_map(|c| &c.choices)
                .find(|c| c.finish_reason.is_some())
                .unwrap_or_else(|| panic!("{}: no finish in {}", spec.id, frame.data));
            assert_eq!(choice.finish_reason.as_deref(), Some("stop"), "{}", spec.id);
            let kept = choice.delta.provider_specific_fields.as_ref();
            assert_eq!(
                kept.and_then(|f| f.get("finish_reason")),
                Some(&json!(UNHEARD_OF)),
                "{}",
                spec.id
            );
            found = true;
        }
        assert!(found, "{}: no stream rule maps a finish reason", spec.id);
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} streaming specs checked");
}

#[test]
fn an_error_event_in_every_stream_is_classified_by_the_error_table_like_a_response() {
    let mut checked = 0;
    for spec in chat_specs() {
        let ep = spec.chat.as_ref().unwrap();
        let Some(stream) = ep.stream.as_ref() else {
            continue;
        };
        let table = &spec.errors;
        // Rules decided by a code alone (a status beside it does not bind an event).
        let by_code: Vec<_> = table
            .rules
            .iter()
            .filter(|r| r.code.is_some() && r.message.is_none() && r.body_contains.is_none())
            .collect();
        if table.code.is_none() || by_code.is_empty() {
            continue;
        }
        for rule in stream.events.iter().filter(|r| r.error) {
            for error_rule in &by_code {
                let code = error_rule.code.clone().unwrap();
                let Some(body) = witness(&table.code, json!(code)) else {
                    continue;
                };
                let body = match witness(&table.message, json!("zz zz")) {
                    Some(m) => merge(body, m),
                    None => body,
                };
                let Some(frame) = matching(rule, body.clone()) else {
                    continue;
                };
                let mut mapper = ChunkMapper::new(spec.clone(), "m", "id", 0, false).unwrap();
                let e = mapper
                    .frame(&frame, &mut Vec::new())
                    .expect_err(&format!("{}: {}", spec.id, frame.data));
                // The first code rule for this code decides, as for a response.
                let expected = by_code
                    .iter()
                    .find(|r| {
                        r.code
                            .as_deref()
                            .is_some_and(|c| c.eq_ignore_ascii_case(&code))
                    })
                    .unwrap()
                    .kind;
                assert_eq!(e.kind(), expected, "{} ({code}): {}", spec.id, frame.data);
                assert_eq!(e.code(), Some(code.as_str()), "{}", spec.id);
                let answered = classify(table, Some(400), None, frame.data.as_bytes());
                if error_rule.status.is_empty() {
                    assert_eq!(answered.kind(), e.kind(), "{}: as a response", spec.id);
                }
                assert_eq!(answered.message(), e.message(), "{}", spec.id);
            }
            checked += 1;
        }
    }
    assert!(checked >= 55, "only {checked} stream error rules checked");
}

#[test]
fn witnesses_are_found_by_their_paths() {
    for source in [
        "$.choices[*].finish_reason",
        "$.content[?@.type == 'text'].text",
        "$.candidates[0].content.parts[?@.text && !@.thought].text",
    ] {
        let p = crate::jsonpath::JsonPath::parse(source).unwrap();
        let doc = p.witness(json!("v")).unwrap();
        assert_eq!(p.first(&doc), Some(&json!("v")), "{source}: {doc}");
    }
    assert_eq!(
        merge(json!({"a": [1]}), json!({"a": [null, 2], "b": 3})),
        json!({"a": [1, 2], "b": 3})
    );
}
