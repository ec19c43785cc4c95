//! Door fixtures: `tests/fixtures/ingress/<door>/<case>/` holds what a
//! caller sends (`request.json`) and the canonical request it must become
//! (`canonical.json`); the canonical answer (`answer.json`) and the door's
//! answer it must become (`expected.json`); or canonical stream chunks
//! (`chunks.json`) and the events they must become (`events.json`, a list
//! of `{event, data}`). Expected files are written from the door's API
//! docs, not from this code's output.

use std::path::Path;

use serde_json::{Value, json};

use super::frame::Framer;
use super::*;
use crate::types::{ChatChunk, ChatRequest};

fn door(id: &str) -> Arc<Door> {
    let doors = Doors::builtin().unwrap();
    doors
        .doors
        .iter()
        .find(|d| d.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("no built-in door {id}"))
}

/// The built-in door at a route.
fn door_at(path: &str) -> Arc<Door> {
    Doors::builtin().unwrap().by_path(path).cloned().unwrap()
}

fn read(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

/// Runs every case of one door's fixture folder; returns how many ran.
fn run_cases(id: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ingress")
        .join(id);
    let door = door(id);
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        if let (Some(req), Some(want)) = (
            read(&case.join("request.json")),
            read(&case.join("canonical.json")),
        ) {
            let got = door.request(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
            // It must also be a chat request the proxy can type.
            let typed: Result<ChatRequest, _> = serde_json::from_value(got.clone());
            if let Err(e) = typed {
                failures.push(format!("{name}: canonical request does not type: {e}"));
            }
            if got != want {
                failures.push(format!(
                    "{name}: canonical request\n got: {}\nwant: {}",
                    pretty(&got),
                    pretty(&want)
                ));
            }
        }
        if let (Some(ans), Some(want)) = (
            read(&case.join("answer.json")),
            read(&case.join("expected.json")),
        ) {
            let resp: ChatResponse = serde_json::from_value(ans).unwrap();
            let got = door.answer(&resp).unwrap_or_else(|e| panic!("{name}: {e}"));
            if got != want {
                failures.push(format!(
                    "{name}: answer\n got: {}\nwant: {}",
                    pretty(&got),
                    pretty(&want)
                ));
            }
        }
        if let (Some(chunks), Some(want)) = (
            read(&case.join("chunks.json")),
            read(&case.join("events.json")),
        ) {
            let chunks: Vec<ChatChunk> = serde_json::from_value(chunks).unwrap();
            let mut f = Framer::new(door.clone());
            let mut events = Vec::new();
            for c in &chunks {
                events.extend(f.chunk(c).unwrap_or_else(|e| panic!("{name}: {e}")));
            }
            events.extend(f.finish().unwrap());
            let got: Vec<Value> = events
                .iter()
                .map(|e| json!({"event": e.name, "data": e.data}))
                .collect();
            let got = Value::Array(got);
            if got != want {
                failures.push(format!(
                    "{name}: events\n got: {}\nwant: {}",
                    pretty(&got),
                    pretty(&want)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    cases.len()
}

/// Every door's fixture folder (`tests/fixtures/ingress/<door id>/`).
#[test]
fn every_door_fixture_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ingress");
    let mut doors = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let id = path.file_name().unwrap().to_string_lossy().to_string();
            assert!(run_cases(&id) >= 1, "{id}: no cases");
            doors += 1;
        }
    }
    assert!(doors >= 1);
}

#[test]
fn builtin_doors_compile_clean() {
    let (doors, found) = compile_doors(&builtin_sources());
    assert!(found.is_empty(), "{found:?}");
    assert!(doors.iter().any(|d| d.paths[0] == "/v1/messages"));
}

#[test]
fn openai_responses_fixtures() {
    assert!(run_cases("openai_responses") >= 5);
}

#[test]
fn responses_door_refuses_what_it_cannot_keep_with_the_param_named() {
    let door = door("openai_responses");
    let e = door
        .request(&json!({"model": "m", "input": "hi", "previous_response_id": "resp_1"}))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert_eq!(e.details().param(), Some("previous_response_id"));
    assert!(e.message().contains("does not store responses"), "{e}");
    let e = door
        .request(&json!({"model": "m", "input": "hi", "tools": [{"type": "web_search"}]}))
        .unwrap_err();
    assert_eq!(e.details().param(), Some("tools"));
    // An absurd input is a bad request, never a panic.
    for body in [
        json!({"model": "m", "input": 42}),
        json!({"model": "m", "input": [{"type": "nonsense"}]}),
    ] {
        let e = door.request(&body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadRequest, "{body}");
    }
}

#[test]
fn absurd_bodies_are_refused_as_bad_requests_never_a_panic() {
    let d = door_at("/v1/messages");
    let bodies = [
        json!(null),
        json!([]),
        json!({"model": "g", "messages": 7}),
        json!({"model": "g", "messages": [{"role": "user", "content": [{"type": "hologram"}]}]}),
        json!({"model": "g", "messages": [{"role": "narrator", "content": "x"}]}),
        json!({"model": "g", "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "ftp"}}]}]}),
        json!({"model": "g", "tools": "all", "messages": []}),
        json!({"model": "g", "tool_choice": {"type": "sometimes"}, "messages": []}),
    ];
    for body in bodies {
        if let Err(e) = d.request(&body) {
            assert_eq!(e.kind(), ErrorKind::BadRequest, "{body}: {e}");
        }
    }
    // As deep as a parsed body can be (serde_json stops at 128 levels).
    let mut deep = json!("x");
    for _ in 0..120 {
        deep = json!([deep]);
    }
    let _ = d.request(&json!({"model": "g", "system": deep, "messages": []}));
}

#[test]
fn a_stream_with_no_chunks_still_opens_and_closes_the_message() {
    let mut f = Framer::new(door_at("/v1/messages"));
    let names: Vec<Option<String>> = f.finish().unwrap().into_iter().map(|e| e.name).collect();
    let want = ["message_start", "ping", "message_delta", "message_stop"];
    assert_eq!(names, want.map(|n| Some(n.to_string())));
}

#[test]
fn an_error_event_carries_the_doors_error_body() {
    let d = door_at("/v1/messages");
    let chat_body =
        json!({"error": {"message": "overloaded upstream", "type": "service_unavailable"}});
    let body = d.error_body(ErrorKind::ServiceUnavailable, 529, &chat_body);
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "overloaded upstream"}})
    );
    assert_eq!(d.status(ErrorKind::ServiceUnavailable, 503), 529);
    assert_eq!(d.status(ErrorKind::RateLimit, 429), 429);
    let events = Framer::new(d).error(body.clone());
    assert_eq!(
        events,
        vec![frame::Event {
            name: Some("error".into()),
            data: body
        }]
    );
}

#[test]
fn a_sequence_field_numbers_every_event() {
    let text = r#"
path = "/v1/seq"
request = { model = "{{model}}", messages = "{{messages}}" }
response = { id = "{{id}}" }
errors = { body = { message = "{{message}}" } }
[stream]
sequence = "sequence_number"
start = [{ event = "a", data = { type = "a" } }, { event = "b", data = { type = "b" } }]
end = { event = "z", data = { type = "z" } }
"#;
    let doors = Doors::from_sources(&[Source {
        name: "ingress/seq.toml".into(),
        text: text.into(),
    }])
    .unwrap();
    let mut f = Framer::new(doors.doors[0].clone());
    let seq: Vec<Value> = f
        .finish()
        .unwrap()
        .into_iter()
        .map(|e| e.data["sequence_number"].clone())
        .collect();
    assert_eq!(seq, [json!(0), json!(1), json!(2)]);
}
