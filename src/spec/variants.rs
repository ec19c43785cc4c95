//! Builds each endpoint variant (`[chat.variants.<name>]`) of a resolved
//! spec as a spec of its own: the spec's tables with the variant's keys in
//! `[chat]` (each replacing the endpoint's whole, but `parts` and
//! `mappings`, merged by name), its `errors` and `openai-params` merged
//! over the spec's, and no embeddings; then types and compiles it like any
//! spec. A finding in what the variant writes is placed at the variant's
//! key; what it inherits was checked with the endpoint. Knows no provider
//! and does not pick a variant for a call (the client does).

use std::sync::Arc;

use super::Severity;
use super::compile::{Caches, Variant, compile_all};
use super::load::{Raw, merge};
use super::schema::deserialize;

/// The variants of `merged` (a spec's tables, `extends` resolved), compiled,
/// and the findings in them.
pub(super) fn build(
    id: &str,
    merged: &toml::Table,
    caches: &mut Caches,
) -> (Vec<Variant>, Vec<Raw>) {
    let mut variants = Vec::new();
    let mut found = Vec::new();
    let Some(toml::Value::Table(all)) = merged.get("chat").and_then(|c| c.get("variants")) else {
        return (variants, found);
    };
    for (name, written) in all {
        // `<name> = false` removed an inherited variant.
        let toml::Value::Table(written) = written else {
            continue;
        };
        let before = found.len();
        let table = derive(merged, written);
        let raw = match deserialize(table) {
            Ok(raw) => raw,
            Err(problems) => {
                for (at, message) in problems.list {
                    if let Some(at) = placed(&at, name, written) {
                        found.push(Raw::new(at, Severity::Error, "schema", message));
                    }
                }
                if found.len() == before {
                    found.push(unplaced(name, "its tables do not type"));
                }
                continue;
            }
        };
        let (spec, findings) = compile_all(id, &raw, caches);
        let mut first_error = None;
        for f in findings {
            if f.severity == Severity::Error && first_error.is_none() {
                first_error = Some(f.message.clone());
            }
            if let Some(at) = placed(&f.at, name, written) {
                found.push(Raw::new(at, f.severity, f.code, f.message));
            }
        }
        match spec {
            Some(mut spec) => {
                // Messages about the variant's calls say which API they went to.
                spec.name = format!("{} ({name})", spec.name);
                variants.push(Variant {
                    name: name.clone(),
                    modes: modes(written),
                    spec: Arc::new(spec),
                })
            }
            None if found.len() == before => {
                let why = first_error.unwrap_or_else(|| "it does not compile".into());
                found.push(unplaced(name, &why));
            }
            None => {}
        }
    }
    (variants, found)
}

/// The spec's tables with variant `v` in place of its chat endpoint.
fn derive(merged: &toml::Table, v: &toml::Table) -> toml::Table {
    let mut d = merged.clone();
    d.remove("embeddings");
    d.remove("count-tokens");
    let mut chat = match d.remove("chat") {
        Some(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    chat.remove("variants");
    for (k, value) in v {
        match (k.as_str(), value) {
            ("when-mode", _) => {}
            ("openai-params" | "errors", toml::Value::Table(t)) => {
                let base = match d.remove(k) {
                    Some(toml::Value::Table(b)) => b,
                    _ => toml::Table::new(),
                };
                d.insert(k.clone(), toml::Value::Table(merge(base, t.clone())));
            }
            ("parts" | "mappings", toml::Value::Table(t)) => {
                let mut base = match chat.remove(k) {
                    Some(toml::Value::Table(b)) => b,
                    _ => toml::Table::new(),
                };
                base.extend(t.iter().map(|(n, x)| (n.clone(), x.clone())));
                chat.insert(k.clone(), toml::Value::Table(base));
            }
            // Anything else (a wrong type too, for the schema to report) replaces.
            ("openai-params" | "errors", _) => {
                d.insert(k.clone(), value.clone());
            }
            _ => {
                chat.insert(k.clone(), value.clone());
            }
        }
    }
    d.insert("chat".into(), toml::Value::Table(chat));
    d
}

/// Where a finding of the variant's compile belongs: under the variant when
/// the variant writes the key, else nowhere (the endpoint's compile had it).
fn placed(at: &[String], name: &str, v: &toml::Table) -> Option<Vec<String>> {
    let (key, rest) = match at {
        [chat, key, rest @ ..] if chat == "chat" => (key, rest),
        [top, rest @ ..] if top == "openai-params" || top == "errors" => (top, rest),
        _ => return None,
    };
    let written = v.get(key.as_str())?;
    let named = ["parts", "mappings", "openai-params"].contains(&key.as_str());
    if named
        && let Some(first) = rest.first()
        && written.get(first.as_str()).is_none()
    {
        return None;
    }
    let mut out: Vec<String> = ["chat", "variants", name].map(String::from).to_vec();
    out.push(key.clone());
    out.extend(rest.iter().cloned());
    Some(out)
}

/// A finding about variant `name` as a whole.
fn unplaced(name: &str, why: &str) -> Raw {
    Raw::new(
        ["chat", "variants", name].map(String::from).to_vec(),
        Severity::Error,
        "spec",
        format!("variant `{name}` does not load: {why}"),
    )
}

/// The catalog modes a variant serves (`when-mode`: a name or a list).
fn modes(v: &toml::Table) -> Vec<String> {
    match v.get("when-mode") {
        Some(toml::Value::String(s)) => vec![s.clone()],
        Some(toml::Value::Array(a)) => a
            .iter()
            .filter_map(|m| m.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}
