//! The design's invariants, each as a test: no provider-specific Rust,
//! JSON-safe rendering for any input, every failure typed.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard::{ChatRequest, ErrorKind, Registry, pure};

fn provider_ids() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("providers");
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .expect("providers/")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".toml")
                .map(String::from)
        })
        .collect();
    ids.sort();
    ids
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
    {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Invariant 1: a provider's name never appears in Rust under src/, neither
/// as a string literal nor as a word in code (comments may cite docs).
/// `openai` is exempt: the OpenAI shape is the public API itself.
#[test]
fn no_provider_name_appears_in_rust_sources() {
    let ids: Vec<String> = provider_ids()
        .into_iter()
        .filter(|id| id != "openai")
        .collect();
    assert!(!ids.is_empty());
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut hits = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line
                .split("//")
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            for id in &ids {
                let quoted = code.contains(&format!("\"{id}\""));
                let word = code
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|w| w == id.as_str());
                if quoted || word {
                    hits.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "provider names in src/:\n{}",
        hits.join("\n")
    );
}

/// Finds `needle` as a whole string value anywhere in `v`, or as a value
/// that serialized JSON text embeds (tool arguments).
fn contains_string(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s == needle || s.contains(needle),
        Value::Array(a) => a.iter().any(|x| contains_string(x, needle)),
        Value::Object(m) => m.values().any(|x| contains_string(x, needle)),
        _ => false,
    }
}

static BUILTIN: std::sync::LazyLock<Registry> =
    std::sync::LazyLock::new(|| Registry::builtin().expect("built-in specs"));

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(
            prop_oneof![
                Just("{{".to_string()),
                Just("}}".to_string()),
                Just("{{> part}}".to_string()),
                Just("\"".to_string()),
                Just("\\".to_string()),
                Just("</script>".to_string()),
                Just("\u{0}\u{1}\u{1f}\u{7f}".to_string()),
                Just("\n\r\t".to_string()),
                Just("😀👩‍👩‍👧".to_string()),
                Just("$each".to_string()),
                "[a-z ]{0,8}".prop_map(String::from),
            ],
            0..12
        )
        .prop_map(|parts| parts.concat()),
    ]
}

/// 64 cases by default; `PROPTEST_CASES` raises it (scripts/fuzz.sh).
fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c
}

proptest! {
    #![proptest_config(config())]

    /// Invariant 2: for any user text, every spec renders a body that is
    /// valid JSON and carries the text as data, unchanged.
    #[test]
    fn rendered_bodies_are_valid_json_for_any_text(system in hostile_text(), user in hostile_text(), tool_out in hostile_text()) {
        let registry = &*BUILTIN;
        let req: ChatRequest = serde_json::from_value(json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": tool_out},
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        })).expect("request");
        for spec in registry.specs().iter().filter(|s| s.chats()) {
            let r = pure::render(spec, &req, "m", &BTreeMap::new()).expect("renders");
            let text = serde_json::to_string(&r.body).expect("serializes");
            let back: Value = serde_json::from_str(&text).expect("valid JSON");
            prop_assert_eq!(&back, &r.body);
            if !user.is_empty() {
                prop_assert!(contains_string(&r.body, &user), "{} lost the user text", spec.id());
            }
            if !system.is_empty() {
                prop_assert!(contains_string(&r.body, &system), "{} lost the system text", spec.id());
            }
        }
    }
}

/// Invariant 4: an unknown error shape still maps, by status, and keeps the body as message.
#[test]
fn unknown_error_bodies_map_by_status() {
    let registry = Registry::builtin().expect("built-in specs");
    for spec in registry.specs() {
        for (status, kind) in [
            (400, ErrorKind::BadRequest),
            (401, ErrorKind::Authentication),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (429, ErrorKind::RateLimit),
            (500, ErrorKind::Internal),
            (502, ErrorKind::ServiceUnavailable),
            (503, ErrorKind::ServiceUnavailable),
            (529, ErrorKind::ServiceUnavailable),
        ] {
            let e = pure::classify_error(spec, Some(status), b"<html>upstream broke</html>");
            assert_eq!(e.kind(), kind, "{} {status}", spec.id());
            assert_eq!(e.status(), Some(status));
            assert!(e.message().contains("upstream broke"));
        }
        let empty = pure::classify_error(spec, Some(503), b"");
        assert!(empty.message().contains("503"), "{}", empty.message());
    }
}

/// The README's provider table is generated from the specs; this fails when it is stale.
#[test]
fn readme_provider_table_matches_the_specs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["providers", "--markdown"])
        .output()
        .expect("run switchboard providers");
    let table = String::from_utf8(out.stdout).expect("UTF-8");
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let start = readme
        .find("<!-- providers:start -->\n")
        .expect("start marker")
        + "<!-- providers:start -->\n".len();
    let end = readme.find("<!-- providers:end -->").expect("end marker");
    assert_eq!(
        &readme[start..end],
        table,
        "README.md's provider table is stale: replace the lines between the markers with `switchboard providers --markdown`"
    );
}

/// Every helper the template language knows is documented in providers/README.md.
#[test]
fn every_helper_is_documented() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("providers/README.md"))
            .expect("README");
    // The helper names, from a spec that calls an unknown one (lint lists them all then).
    let dir = std::env::temp_dir().join(format!("sb-helpers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = dir.join("h.toml");
    std::fs::write(&spec, "extends = \"openai\"\nbase-url = \"http://127.0.0.1:9\"\nauth = { scheme = \"none\" }\n[chat.body]\nx = \"{{zzzzzzzz y}}\"\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("lint")
        .arg(&spec)
        .output()
        .expect("run lint");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let known = text
        .split("known: ")
        .nth(1)
        .expect("lint lists the known helpers")
        .trim_end()
        .trim_end_matches(')');
    for name in known.split(", ") {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "helper `{name}` is missing from the helpers table in providers/README.md"
        );
    }
}

/// No shipped spec has a line longer than 170 characters: long shapes are
/// written as sub-tables, not one-line inline tables.
#[test]
fn shipped_specs_have_no_overlong_lines() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("providers");
    let mut long = Vec::new();
    for id in provider_ids() {
        let text = std::fs::read_to_string(dir.join(format!("{id}.toml"))).expect("read spec");
        for (n, line) in text.lines().enumerate() {
            if line.chars().count() > 170 {
                long.push(format!(
                    "providers/{id}.toml:{}: {} characters",
                    n + 1,
                    line.chars().count()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "write these as sub-tables:\n{}",
        long.join("\n")
    );
}
