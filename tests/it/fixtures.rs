//! Every recorded exchange under tests/fixtures/<provider>/ is replayed by a
//! mock upstream on 127.0.0.1 and checked in both directions:
//! - the upstream request Switchboard sends (method, path, JSON body) equals
//!   the recorded one, but for the JSON pointers a fixture lists in `ignore`;
//! - the OpenAI-shaped result equals `expect`, which was extracted from the
//!   recorded native response by the conformance script, not by Switchboard.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use futures::StreamExt;
use serde_json::{Value, json};
use switchboard::{CallOptions, ChatRequest, Client, EmbeddingRequest, Error};

use crate::support::{Mock, Reply};

fn fixture_files(provider: Option<&str>) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            match provider {
                Some(want) => name == want,
                None => !["openai", "anthropic", "gemini"].contains(&name),
            }
        })
        .collect();
    dirs.sort();
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(d)
                .expect("fixture dir")
                .filter_map(|e| e.ok().map(|e| e.path()))
        })
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        // Token-count exchanges are no chat call: tests/it/count_tokens.rs replays them.
        .filter(|p| !p.ends_with("count_tokens.json"))
        .collect();
    files.sort();
    files
}

fn reply_for(rec: &Value) -> Reply {
    let resp = &rec["response"];
    let status = resp["status"].as_u64().unwrap_or(200) as u16;
    let body: Vec<u8> = if let Some(b64) = resp["body_base64"].as_str() {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64 body")
    } else {
        match &resp["body"] {
            Value::String(s) => s.clone().into_bytes(),
            Value::Null => Vec::new(),
            other => other.to_string().into_bytes(),
        }
    };
    let mut headers: Vec<(String, String)> = resp["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    ![
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ]
                    .contains(&k.as_str())
                })
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if !headers.iter().any(|(k, _)| k == "content-type") {
        let guess = match &resp["body"] {
            Value::String(s)
                if s.trim_start().starts_with("data:") || s.trim_start().starts_with("event:") =>
            {
                "text/event-stream"
            }
            Value::String(_) => "text/plain",
            _ => "application/json",
        };
        headers.push(("content-type".into(), guess.into()));
    }
    let streamed = resp["body"].is_string() && status < 400;
    Reply {
        status,
        headers,
        body,
        pieces: if streamed { 7 } else { 0 },
        ..Reply::json(status, &Value::Null)
    }
}

/// A comparable summary of what Switchboard returned.
#[derive(Default, Debug)]
struct Got {
    content: String,
    tool_calls: Vec<(String, Value)>,
    finish: Option<String>,
    usage: Value,
    error: Option<Error>,
    embed: Option<(usize, usize)>,
    /// Reasoning blocks: the message's, or rebuilt from the deltas.
    thinking_blocks: Vec<Value>,
    /// Per tool call, its `provider_specific_fields.thought_signature` (or null).
    signatures: Vec<Value>,
    /// The whole answer as JSON; for a stream, per choice index:
    /// `{"choices": {"<i>": {content, finish_reason, annotations, provider_specific_fields, logprobs}}}`.
    json: Value,
}

fn thought_signature(fields: &Option<serde_json::Map<String, Value>>) -> Value {
    fields
        .as_ref()
        .and_then(|f| f.get("thought_signature").cloned())
        .unwrap_or(Value::Null)
}

fn parse_args(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(raw).unwrap_or(Value::String(raw.to_string()))
}

fn usage_json(u: &Option<switchboard::Usage>) -> Value {
    match u {
        Some(u) => json!({
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "cached_tokens": u.cached_tokens(),
            "reasoning_tokens": u.reasoning_tokens(),
        }),
        None => json!({}),
    }
}

async fn call(rec: &Value, api_base: String) -> Got {
    let client = Client::new().expect("built-in specs");
    let mut opts = CallOptions {
        api_key: Some("test-key".into()),
        api_base: Some(api_base),
        ..Default::default()
    };
    if let Some(params) = rec["params"].as_object() {
        for (k, v) in params {
            opts.params
                .insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    let o = &rec["options"];
    let names = |key: &str| -> Vec<String> {
        o[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    };
    opts.drop_params = o["drop_params"].as_bool();
    opts.additional_drop_params = names("additional_drop_params");
    opts.allowed_openai_params = names("allowed_openai_params");
    let input = rec["input"].clone();
    let mut got = Got::default();
    if input.get("input").is_some() {
        let req: EmbeddingRequest = serde_json::from_value(input).expect("embedding input");
        match client.embedding(&req, &opts).await {
            Ok(r) => {
                let dim = r
                    .data
                    .first()
                    .map_or(0, |d| d.embedding.as_array().map_or(0, Vec::len));
                got.embed = Some((r.data.len(), dim));
            }
            Err(e) => got.error = Some(e),
        }
        return got;
    }
    let req: ChatRequest = serde_json::from_value(input).expect("chat input");
    if !req.is_stream() {
        match client.completion(&req, &opts).await {
            Ok(r) => {
                got.json = serde_json::to_value(&r).expect("response JSON");
                let m = &r.choices[0].message;
                got.content = m.content.clone().unwrap_or_default();
                got.tool_calls = m
                    .tool_calls
                    .iter()
                    .map(|t| (t.function.name.clone(), parse_args(&t.function.arguments)))
                    .collect();
                got.signatures = m
                    .tool_calls
                    .iter()
                    .map(|t| thought_signature(&t.provider_specific_fields))
                    .collect();
                got.thinking_blocks = m
                    .thinking_blocks
                    .iter()
                    .map(|b| serde_json::to_value(b).expect("block"))
                    .collect();
                got.finish = r.choices[0].finish_reason.clone();
                got.usage = usage_json(&r.usage);
            }
            Err(e) => got.error = Some(e),
        }
        return got;
    }
    let mut stream = match client.stream(&req, &opts).await {
        Ok(s) => s,
        Err(e) => {
            got.error = Some(e);
            return got;
        }
    };
    let mut calls: Vec<(String, String)> = Vec::new();
    let mut reasoning = String::new();
    let mut per_choice = serde_json::Map::new();
    while let Some(item) = stream.next().await {
        let chunk = match item {
            Ok(c) => c,
            Err(e) => {
                got.error = Some(e);
                break;
            }
        };
        if chunk.usage.is_some() {
            got.usage = usage_json(&chunk.usage);
        }
        for ch in &chunk.choices {
            summarize(&mut per_choice, ch);
            if ch.index != 0 {
                continue;
            }
            if let Some(t) = &ch.delta.content {
                got.content.push_str(t);
            }
            // A thinking block's text is the reasoning since the last block;
            // its signature delta closes it.
            if let Some(t) = &ch.delta.reasoning_content {
                reasoning.push_str(t);
            }
            for b in &ch.delta.thinking_blocks {
                let mut b = serde_json::to_value(b).expect("block");
                if b["type"] == "thinking" {
                    let text = format!(
                        "{}{}",
                        std::mem::take(&mut reasoning),
                        b["thinking"].as_str().unwrap_or_default()
                    );
                    b["thinking"] = Value::String(text);
                }
                got.thinking_blocks.push(b);
            }
            for tc in &ch.delta.tool_calls {
                let i = tc.index as usize;
                if calls.len() <= i {
                    calls.resize(i + 1, (String::new(), String::new()));
                    got.signatures.resize(i + 1, Value::Null);
                }
                if tc.provider_specific_fields.is_some() {
                    got.signatures[i] = thought_signature(&tc.provider_specific_fields);
                }
                if let Some(n) = &tc.function.name {
                    calls[i].0.push_str(n);
                }
                if let Some(a) = &tc.function.arguments {
                    calls[i].1.push_str(a);
                }
            }
            if ch.finish_reason.is_some() {
                got.finish = ch.finish_reason.clone();
            }
        }
    }
    got.tool_calls = calls
        .into_iter()
        .map(|(n, a)| (n, parse_args(&a)))
        .collect();
    got.json = json!({ "choices": per_choice });
    got
}

/// Adds one chunk choice to the stream's per-choice summary.
fn summarize(out: &mut serde_json::Map<String, Value>, ch: &switchboard::ChunkChoice) {
    let slot = out
        .entry(ch.index.to_string())
        .or_insert_with(|| json!({"content": "", "annotations": [], "logprobs": [], "provider_specific_fields": {}}));
    if let Some(t) = &ch.delta.content {
        let text = format!("{}{t}", slot["content"].as_str().unwrap_or_default());
        slot["content"] = Value::String(text);
    }
    if let Some(f) = &ch.finish_reason {
        slot["finish_reason"] = Value::String(f.clone());
    }
    for a in &ch.delta.annotations {
        if let Some(list) = slot["annotations"].as_array_mut() {
            list.push(serde_json::to_value(a).expect("annotation"));
        }
    }
    if let Some(fields) = &ch.delta.provider_specific_fields
        && let Some(map) = slot["provider_specific_fields"].as_object_mut()
    {
        map.extend(fields.clone());
    }
    if let Some(Value::Array(tokens)) = ch.logprobs.as_ref().map(|l| l["content"].clone())
        && let Some(list) = slot["logprobs"].as_array_mut()
    {
        list.extend(tokens);
    }
}

/// JSON as an API reads it: a null member is an absent one, 1 and 1.0 are one number.
fn normalize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(normalize);
        }
        Value::Array(a) => a.iter_mut().for_each(normalize),
        Value::Number(n) => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9e15
            {
                *v = json!(f as i64);
            }
        }
        _ => {}
    }
}

/// Removes the `pointers` from `v`; an object they leave empty goes too.
fn strip(v: &mut Value, pointers: &[String]) {
    for p in pointers {
        let parent_ptr = p.rfind('/').map_or("", |i| &p[..i]).to_string();
        remove(v, p);
        if !parent_ptr.is_empty()
            && v.pointer(&parent_ptr)
                .is_some_and(|x| x.as_object().is_some_and(|m| m.is_empty()))
        {
            remove(v, &parent_ptr);
        }
    }
}

fn remove(v: &mut Value, p: &str) {
    let Some(i) = p.rfind('/') else { return };
    let (parent, last) = (&p[..i], &p[i + 1..]);
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(last);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                a.remove(i);
            }
        }
        _ => {}
    }
}

fn check_expect(exp: &Value, got: &Got, problems: &mut Vec<String>) {
    // Values the answer must hold, by JSON pointer (see `Got::json`).
    for (pointer, want) in exp["json"].as_object().into_iter().flatten() {
        let found = got.json.pointer(pointer);
        if found != Some(want) {
            problems.push(format!("{pointer}: expected {want}, got {found:?}"));
        }
    }
    if let Some(param) = exp["param"].as_str()
        && got.error.as_ref().and_then(|e| e.details().param()) != Some(param)
    {
        problems.push(format!(
            "error param: expected {param}, got {:?}",
            got.error
        ));
    }
    match exp["type"].as_str() {
        Some("error") => {
            let Some(e) = &got.error else {
                problems.push(format!("expected a {} error, got a result", exp["kind"]));
                return;
            };
            let mut kinds = vec![exp["kind"].clone()];
            kinds.extend(exp["kind_alts"].as_array().cloned().unwrap_or_default());
            if !kinds.contains(&json!(e.kind().as_str())) {
                problems.push(format!(
                    "error kind: expected {kinds:?}, got {} ({e})",
                    e.kind()
                ));
            }
            if let Some(s) = exp["status"].as_u64()
                && e.status() != Some(s as u16)
            {
                problems.push(format!("error status: expected {s}, got {:?}", e.status()));
            }
        }
        Some("embed") => match (&got.error, got.embed) {
            (Some(e), _) => problems.push(format!("unexpected error: {e}")),
            (None, Some((count, dim))) => {
                if json!(count) != exp["count"] || json!(dim) != exp["dim"] {
                    problems.push(format!(
                        "embeddings: expected {}x{}, got {count}x{dim}",
                        exp["count"], exp["dim"]
                    ));
                }
            }
            (None, None) => problems.push("no embeddings".into()),
        },
        _ => {
            if let Some(e) = &got.error {
                let accepted = exp["accept_error_kinds"]
                    .as_array()
                    .is_some_and(|a| a.contains(&json!(e.kind().as_str())));
                if !accepted {
                    problems.push(format!("unexpected error: {e}"));
                }
                return;
            }
            let mut want = vec![
                exp["content"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            ];
            want.extend(
                exp["content_alts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .map(|s| s.trim().to_string()),
            );
            if !want.contains(&got.content.trim().to_string()) {
                problems.push(format!(
                    "content: expected {:?}, got {:?}",
                    want[0], got.content
                ));
            }
            let want_tools: Vec<(String, Value)> = exp["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    (
                        t[0].as_str().unwrap_or_default().to_string(),
                        if t[1].is_null() {
                            json!({})
                        } else {
                            t[1].clone()
                        },
                    )
                })
                .collect();
            if want_tools != got.tool_calls {
                problems.push(format!(
                    "tool calls: expected {want_tools:?}, got {:?}",
                    got.tool_calls
                ));
            }
            if let Some(f) = exp["finish_reason"].as_str() {
                let mut ok = vec![json!(f)];
                ok.extend(exp["finish_alts"].as_array().cloned().unwrap_or_default());
                if !ok.contains(&json!(got.finish)) {
                    problems.push(format!("finish_reason: expected {f}, got {:?}", got.finish));
                }
            }
            for field in ["prompt_tokens", "completion_tokens"] {
                let w = &exp["usage"][field];
                if w.is_null() {
                    continue;
                }
                let mut ok = vec![w.clone()];
                ok.extend(
                    exp["usage_alts"][field]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
                if !ok.contains(&got.usage[field]) {
                    problems.push(format!(
                        "usage.{field}: expected {w}, got {}",
                        got.usage[field]
                    ));
                }
            }
            if let Some(want) = exp.get("thinking_blocks")
                && want != &Value::Array(got.thinking_blocks.clone())
            {
                problems.push(format!(
                    "thinking_blocks: expected {want}, got {:?}",
                    got.thinking_blocks
                ));
            }
            if let Some(want) = exp.get("tool_call_signatures")
                && want != &Value::Array(got.signatures.clone())
            {
                problems.push(format!(
                    "tool call signatures: expected {want}, got {:?}",
                    got.signatures
                ));
            }
            for field in ["cached_tokens", "reasoning_tokens"] {
                let w = exp["usage"][field].as_u64().unwrap_or(0);
                if w > 0 && got.usage[field].as_u64() != Some(w) {
                    problems.push(format!(
                        "usage.{field}: expected {w}, got {}",
                        got.usage[field]
                    ));
                }
            }
        }
    }
}

async fn run_case(path: &Path) -> Vec<String> {
    let rec: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("read fixture"))
        .expect("fixture JSON");
    let mock = Mock::start(vec![reply_for(&rec)]).await;
    let url = rec["request"]["url"].as_str().unwrap_or_default();
    let after_host = url
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    let provider = rec["input"]["model"]
        .as_str()
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let client = Client::new().expect("built-in specs");
    let spec = client
        .registry()
        .get(&provider)
        .unwrap_or_else(|| panic!("no spec {provider}"))
        .clone();
    let spec_base = spec
        .base_url()
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    let got = call(&rec, format!("{}{}", mock.url, spec_base)).await;

    let mut problems = Vec::new();
    let seen = mock.requests();
    // A request refused before sending (an unsupported parameter) reaches nothing.
    if rec["expect"]["sent"] == json!(false) {
        if !seen.is_empty() {
            problems.push(format!("{} request(s) reached the upstream", seen.len()));
        }
        check_expect(&rec["expect"], &got, &mut problems);
        return problems;
    }
    match seen.first() {
        None => problems.push("no request reached the mock upstream".into()),
        Some(req) => {
            if rec["check_path"].as_bool() != Some(false) {
                let want = urlencoding_decode(&after_host);
                if urlencoding_decode(&req.target) != want {
                    problems.push(format!("path: expected {want}, sent {}", req.target));
                }
            }
            let ignore: Vec<String> = rec["ignore"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            let mut want = match &rec["request"]["body"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
                other => other.clone(),
            };
            let mut sent = req.json();
            strip(&mut want, &ignore);
            strip(&mut sent, &ignore);
            normalize(&mut want);
            normalize(&mut sent);
            if want != sent {
                problems.push(format!(
                    "request body differs:\n  recorded: {}\n  sent:     {}",
                    serde_json::to_string(&want).unwrap_or_default(),
                    serde_json::to_string(&sent).unwrap_or_default()
                ));
            }
            for h in ["anthropic-version", "anthropic-beta"] {
                if let Some(v) = rec["request"]["headers"][h].as_str()
                    && req.header(h) != Some(v)
                {
                    problems.push(format!(
                        "header {h}: expected {v}, sent {:?}",
                        req.header(h)
                    ));
                }
            }
        }
    }
    check_expect(&rec["expect"], &got, &mut problems);
    problems
}

fn urlencoding_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn run_all(provider: Option<&str>) {
    let files = fixture_files(provider);
    if provider.is_some() {
        assert!(!files.is_empty(), "no fixtures for {provider:?}");
    }
    let mut report = Vec::new();
    for f in &files {
        let problems = run_case(f).await;
        if !problems.is_empty() {
            report.push(format!("{}:\n  {}", f.display(), problems.join("\n  ")));
        }
    }
    assert!(
        report.is_empty(),
        "{} of {} fixtures fail:\n{}",
        report.len(),
        files.len(),
        report.join("\n")
    );
}

#[tokio::test]
async fn openai_fixtures_round_trip() {
    run_all(Some("openai")).await;
}

#[tokio::test]
async fn anthropic_fixtures_round_trip() {
    run_all(Some("anthropic")).await;
}

#[tokio::test]
async fn gemini_fixtures_round_trip() {
    run_all(Some("gemini")).await;
}

#[tokio::test]
async fn other_provider_fixtures_round_trip() {
    run_all(None).await;
}
