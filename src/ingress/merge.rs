//! `merge-roles`: joins consecutive canonical messages of the roles a door
//! names into one, after its request template rendered. Wire shapes that
//! send one assistant turn as several items (a reasoning item, then one
//! item per function call) need it, since chat wants one assistant message
//! carrying every call before the tool results. Knows no door; pure.

use serde_json::{Map, Value, json};

/// Joins consecutive `messages` whose role is in `roles`.
pub(crate) fn merge_roles(req: &mut Map<String, Value>, roles: &[String]) {
    if roles.is_empty() {
        return;
    }
    let Some(Value::Array(messages)) = req.get_mut("messages") else {
        return;
    };
    let mut out: Vec<Value> = Vec::with_capacity(messages.len());
    for msg in messages.drain(..) {
        let role = msg.get("role").and_then(Value::as_str).unwrap_or("");
        let joins = roles.iter().any(|r| r == role)
            && out
                .last()
                .and_then(|l| l.get("role"))
                .and_then(Value::as_str)
                == Some(role);
        match (joins, out.last_mut(), msg) {
            (true, Some(Value::Object(last)), Value::Object(next)) => join(last, next),
            (_, _, msg) => out.push(msg),
        }
    }
    *messages = out;
}

/// Appends `next` to `last`: content (text or parts), then list fields.
fn join(last: &mut Map<String, Value>, next: Map<String, Value>) {
    for (k, v) in next {
        if v.is_null() {
            continue;
        }
        match (k.as_str(), last.remove(&k)) {
            (_, None | Some(Value::Null)) => {
                last.insert(k, v);
            }
            ("content", Some(prev)) => {
                let mut parts = as_parts(prev);
                parts.extend(as_parts(v));
                last.insert(k, Value::Array(parts));
            }
            (_, Some(Value::Array(mut prev))) => {
                match v {
                    Value::Array(more) => prev.extend(more),
                    one => prev.push(one),
                }
                last.insert(k, Value::Array(prev));
            }
            // Any other field: the first message's value stays.
            (_, Some(prev)) => {
                last.insert(k, prev);
            }
        }
    }
}

fn as_parts(content: Value) -> Vec<Value> {
    match content {
        Value::Array(parts) => parts,
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => vec![json!({"type": "text", "text": s})],
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(messages: Value, roles: &[&str]) -> Value {
        let mut req = Map::new();
        req.insert("messages".into(), messages);
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        merge_roles(&mut req, &roles);
        req.remove("messages").unwrap_or(Value::Null)
    }

    #[test]
    fn consecutive_assistant_items_become_one_turn() {
        let got = merged(
            json!([
                {"role": "user", "content": "hi"},
                {"role": "assistant", "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}]},
                {"role": "assistant", "content": "Let me look."},
                {"role": "assistant", "tool_calls": [{"id": "a"}]},
                {"role": "assistant", "tool_calls": [{"id": "b"}]},
                {"role": "tool", "tool_call_id": "a", "content": "1"},
                {"role": "tool", "tool_call_id": "b", "content": "2"},
            ]),
            &["assistant"],
        );
        assert_eq!(
            got,
            json!([
                {"role": "user", "content": "hi"},
                {"role": "assistant",
                 "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}],
                 "content": "Let me look.",
                 "tool_calls": [{"id": "a"}, {"id": "b"}]},
                {"role": "tool", "tool_call_id": "a", "content": "1"},
                {"role": "tool", "tool_call_id": "b", "content": "2"},
            ])
        );
    }

    #[test]
    fn text_and_parts_join_as_parts_and_other_roles_stay_apart() {
        let got = merged(
            json!([
                {"role": "assistant", "content": "a"},
                {"role": "assistant", "content": [{"type": "text", "text": "b"}]},
                {"role": "user", "content": "x"},
                {"role": "user", "content": "y"},
            ]),
            &["assistant"],
        );
        assert_eq!(
            got,
            json!([
                {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "user", "content": "x"},
                {"role": "user", "content": "y"},
            ])
        );
    }

    #[test]
    fn no_roles_or_no_messages_change_nothing() {
        let msgs =
            json!([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]);
        assert_eq!(merged(msgs.clone(), &[]), msgs);
        let mut req = Map::new();
        req.insert("messages".into(), json!("absurd"));
        merge_roles(&mut req, &["assistant".to_string()]);
        assert_eq!(req["messages"], json!("absurd"));
    }
}
