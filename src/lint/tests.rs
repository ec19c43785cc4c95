//! Property tests: no spec text, however broken, crashes loading or lint.

use std::collections::HashSet;
use std::sync::LazyLock;

use proptest::prelude::*;

use super::*;

/// `cases` by default; `PROPTEST_CASES` raises it (scripts/fuzz.sh).
fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    c
}

static BUILTIN: LazyLock<Vec<Source>> = LazyLock::new(registry::builtin_sources);

/// Lints `text` as a user file beside the built-in specs (so `extends` and
/// `$from` resolve); the findings, or a panic.
fn lint_one(text: String) -> Vec<Diagnostic> {
    let mut sources = BUILTIN.clone();
    sources.push(Source {
        name: "fuzz.toml".into(),
        text,
    });
    let check: HashSet<usize> = [sources.len() - 1].into();
    lint_specs(&sources, Some(&check))
}

/// Text that breaks specs in interesting ways.
const SNIPPETS: &[&str] = &[
    "{{",
    "}}",
    "{{> block}}",
    "{{> p}}",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "=",
    "\n",
    "\n[chat.parts]\np = \"{{> p}}\"\n",
    "\n[[chat.stream.events]]\n",
    "$each",
    "\"$do\"",
    "$.a[?@.b",
    "$..",
    "map = \"response\"\n",
    "at = \"$.x\"\n",
    "extends = \"openai\"\n",
    "= false\n",
    "{ \"$from\" = \"openai\" }",
    "tool-calls = { each = \"$\" }\n",
    "é",
    "\u{0}",
];

/// A shipped spec with a few edits: bytes cut, snippets put in, lines repeated.
fn mutated() -> impl Strategy<Value = String> {
    let edit = (
        0usize..10_000,
        0usize..40,
        prop::sample::select(SNIPPETS),
        0u8..3,
    );
    (
        prop::sample::select((0..BUILTIN.len()).collect::<Vec<_>>()),
        prop::collection::vec(edit, 1..6),
    )
        .prop_map(|(i, edits)| {
            let mut text = BUILTIN[i].text.clone();
            for (at, len, snippet, kind) in edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match kind {
                    0 => text.insert_str(at, snippet),
                    1 => {
                        let mut end = (at + len).min(text.len());
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        text.replace_range(at..end, "");
                    }
                    _ => {
                        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                        let line = text[line_start..line_end].to_string();
                        text.insert_str(line_end, &line);
                    }
                }
            }
            text
        })
}

/// Spec-shaped TOML from the spec's own vocabulary, nested at random.
fn structured() -> impl Strategy<Value = String> {
    const KEYS: &[&str] = &[
        "extends",
        "base-url",
        "auth",
        "scheme",
        "env",
        "chat",
        "path",
        "body",
        "parts",
        "response",
        "mappings",
        "map",
        "at",
        "stream",
        "framing",
        "events",
        "on",
        "present",
        "error",
        "end",
        "tool-calls",
        "each",
        "usage",
        "prompt-tokens",
        "errors",
        "rules",
        "kind",
        "code",
        "message",
        "$each",
        "$do",
        "$if",
        "$then",
        "$match",
        "$from",
        "p",
    ];
    let leaf = prop_oneof![
        prop::sample::select(vec![
            "https://x.example.com",
            "bearer",
            "none",
            "sse",
            "openai",
            "$",
            "$.a",
            "$[*]",
            "{{model}}",
            "{{> p}}",
            "{{messages}}",
            "rate_limit",
            "response",
            "p",
        ])
        .prop_map(|s| toml::Value::String(s.to_string())),
        any::<bool>().prop_map(toml::Value::Boolean),
        (0i64..600).prop_map(toml::Value::Integer),
    ];
    let value = leaf.prop_recursive(5, 60, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(toml::Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..5).prop_map(|m| {
                toml::Value::Table(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    });
    prop::collection::btree_map(prop::sample::select(KEYS), value, 0..6).prop_map(|m| {
        let table: toml::Table = m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        toml::to_string(&table).unwrap_or_default()
    })
}

proptest! {
    #![proptest_config(config(48))]

    /// A shipped spec, mutated: lint reports, never panics.
    #[test]
    fn mutated_specs_never_panic_the_loader_or_lint(text in mutated()) {
        let found = lint_one(text);
        prop_assert!(found.iter().all(|d| !d.message.is_empty()));
    }

    /// Random spec-shaped TOML: lint reports, never panics.
    #[test]
    fn random_specs_never_panic_the_loader_or_lint(text in structured()) {
        let found = lint_one(text);
        prop_assert!(found.iter().all(|d| !d.message.is_empty()));
    }

    /// Arbitrary text: a TOML finding or a spec one, never a panic.
    #[test]
    fn arbitrary_text_never_panics_the_loader(text in any::<String>()) {
        let _ = crate::spec::check(&[Source { name: "x.toml".into(), text }]);
    }
}
