//! Loads a set of spec sources: parses each file, resolves its `extends`
//! chain (bounded: at most [`MAX_EXTENDS`] parents, no cycles), takes
//! borrowed parts (`{ "$from" = "<provider>" }`), types the result (every
//! schema problem) and compiles it. Every finding is located in the file
//! of the chain that writes the key.

use std::collections::{HashMap, HashSet};

use super::compile::{Caches, compile_all};
use super::diagnostic::{Places, line_col};
use super::schema::deserialize;
use super::{Chains, Diagnostic, Severity, Source, Spec};
use crate::suggest::closest;

/// The most parents one spec may have, one extending the next.
pub(crate) const MAX_EXTENDS: usize = 16;
/// The most findings reported for one spec; the rest are counted.
const MAX_FINDINGS: usize = 200;

/// The endpoint tables: `<name> = false` removes an inherited one, and
/// each may borrow parts (`$from`).
const ENDPOINTS: &[&str] = &["chat", "embeddings", "count-tokens"];

/// A provider's own identity and extras, which `extends` does not copy.
const NOT_INHERITED: &[&str] = &["name", "docs", "model-prefixes", "headers", "params"];

/// The specs compiled from a set of sources, and every finding.
pub(crate) struct Loaded {
    pub(crate) specs: Vec<Spec>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Provider id → the chain of source indices (self first, then what it extends).
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) chains: Chains,
    /// Where keys are written, for findings made after loading (lint's renders).
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) places: Places,
}

struct Parsed {
    id: String,
    table: toml::Table,
}

/// A finding of the loader, before it is placed.
pub(super) struct Raw {
    at: Vec<String>,
    severity: Severity,
    code: &'static str,
    message: String,
}

impl Raw {
    pub(super) fn new(
        at: Vec<String>,
        severity: Severity,
        code: &'static str,
        message: String,
    ) -> Self {
        Raw {
            at,
            severity,
            code,
            message,
        }
    }

    fn error(at: &[&str], code: &'static str, message: String) -> Self {
        Raw {
            at: at.iter().map(|s| s.to_string()).collect(),
            severity: Severity::Error,
            code,
            message,
        }
    }
}

/// Loads `sources` (later ones override earlier ones with the same id).
/// Only the ids in `check` are compiled and reported (all when `None`).
pub(crate) fn load(sources: &[Source], check: Option<&HashSet<usize>>) -> Loaded {
    let mut places = Places::default();
    let mut diagnostics = Vec::new();
    let parsed: Vec<Option<Parsed>> = sources
        .iter()
        .enumerate()
        .map(|(i, src)| match toml::from_str::<toml::Table>(&src.text) {
            Ok(table) => {
                let id = match table.get("id") {
                    Some(toml::Value::String(s)) => s.clone(),
                    _ => src.default_id(),
                };
                Some(Parsed { id, table })
            }
            Err(e) => {
                if check.is_none_or(|c| c.contains(&i)) {
                    let (line, col) = line_col(&src.text, e.span().map_or(0, |r| r.start));
                    diagnostics.push(Diagnostic {
                        file: src.name.clone(),
                        line,
                        col,
                        severity: Severity::Error,
                        code: "toml".into(),
                        message: toml_message(e.message()),
                    });
                }
                None
            }
        })
        .collect();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, p) in parsed.iter().enumerate() {
        if let Some(p) = p {
            by_id.insert(&p.id, i);
        }
    }
    let resolver = Resolver {
        parsed: &parsed,
        by_id: &by_id,
    };

    let mut caches = Caches::default();
    let mut specs = Vec::new();
    let mut chains = HashMap::new();
    for (i, p) in parsed.iter().enumerate() {
        let Some(p) = p else { continue };
        if by_id.get(p.id.as_str()) != Some(&i) {
            continue; // overridden by a later source with the same id
        }
        if check.is_some_and(|c| !c.contains(&i)) {
            continue;
        }
        let (spec, chain, found) = load_one(&resolver, i, &mut caches);
        let shown = found.len().min(MAX_FINDINGS);
        for f in found.iter().take(shown) {
            let (file, line, col) = places.place(sources, &chain, &f.at);
            // A parent's deprecated forms are the parent's to fix, reported when it is checked.
            if f.severity == Severity::Warning && file != sources[i].name {
                continue;
            }
            diagnostics.push(Diagnostic {
                file,
                line,
                col,
                severity: f.severity,
                code: f.code.to_string(),
                message: f.message.clone(),
            });
        }
        if found.len() > shown {
            diagnostics.push(Diagnostic {
                file: sources[i].name.clone(),
                line: 1,
                col: 1,
                severity: Severity::Error,
                code: "spec".into(),
                message: format!(
                    "{} more findings not shown (at most {MAX_FINDINGS} a file)",
                    found.len() - shown
                ),
            });
        }
        if let Some(spec) = spec {
            chains.insert(p.id.clone(), chain);
            specs.push(spec);
        }
    }
    Loaded {
        specs,
        diagnostics,
        chains,
        places,
    }
}

/// The TOML parser's reason, with what its terse recursion limit means.
fn toml_message(message: &str) -> String {
    let message = message.trim();
    if message.contains("recursion") || message.contains("recurse") {
        return format!("tables, arrays or dotted keys nest too deep for a spec ({message})");
    }
    message.to_string()
}

/// Resolves, types and compiles source `i`: the spec (when nothing is an
/// error), its chain, and every finding.
fn load_one(r: &Resolver, i: usize, caches: &mut Caches) -> (Option<Spec>, Vec<usize>, Vec<Raw>) {
    let (mut merged, chain) = match r.merged(i) {
        Ok(resolved) => resolved,
        Err((chain, problem)) => return (None, chain, vec![problem]),
    };
    let mut found = Vec::new();
    r.borrow_parts(&mut merged, &mut found);
    let id = r.id(i);
    let has_variants = merged.get("chat").and_then(|c| c.get("variants")).is_some();
    let for_variants = has_variants.then(|| merged.clone());
    let (raw, removed) = match deserialize(merged) {
        Ok(raw) => (Some(raw), None),
        Err(problems) => {
            for (at, message) in problems.list {
                found.push(Raw {
                    at,
                    severity: Severity::Error,
                    code: "schema",
                    message,
                });
            }
            // The rest of the file still compiles: its problems are reported too.
            (problems.pruned.map(|b| *b), Some(problems.removed))
        }
    };
    let Some(raw) = raw else {
        return (None, chain, found);
    };
    let (spec, findings) = compile_all(id, &raw, caches);
    let typed_ok = removed.is_none();
    // What is missing because a key was taken out is no finding of its own.
    let removed = removed.unwrap_or_default();
    let consequence = |at: &[String]| removed.iter().any(|r| r.starts_with(at));
    found.extend(
        findings
            .into_iter()
            .filter(|f| !consequence(&f.at))
            .map(|f| Raw {
                at: f.at,
                severity: f.severity,
                code: f.code,
                message: f.message,
            }),
    );
    let mut ok = typed_ok && found.iter().all(|f| f.severity != Severity::Error);
    let mut spec = spec.filter(|_| ok);
    // Variants are built once their endpoint loads clean.
    if let (Some(spec), Some(tables)) = (spec.as_mut(), &for_variants) {
        let (variants, findings) = super::variants::build(id, tables, caches);
        ok = findings.iter().all(|f| f.severity != Severity::Error);
        found.extend(findings);
        spec.variants = variants;
    }
    (spec.filter(|_| ok), chain, found)
}

struct Resolver<'a> {
    parsed: &'a [Option<Parsed>],
    by_id: &'a HashMap<&'a str, usize>,
}

impl Resolver<'_> {
    fn id(&self, i: usize) -> &str {
        self.parsed[i].as_ref().map_or("", |p| p.id.as_str())
    }

    /// Source `i` merged over every parent: the table (without `extends`,
    /// `id` and removed endpoints) and the chain (self first).
    fn merged(&self, i: usize) -> Result<(toml::Table, Vec<usize>), (Vec<usize>, Raw)> {
        let mut chain = vec![i];
        let Some(mut cursor) = self.parsed[i].as_ref() else {
            return Err((chain, Raw::error(&[], "toml", "unparsable".into())));
        };
        let mut merged = cursor.table.clone();
        while let Some(parent) = cursor.table.get("extends") {
            let here = chain[chain.len() - 1..].to_vec();
            let toml::Value::String(parent) = parent else {
                return Err((
                    here,
                    Raw::error(
                        &["extends"],
                        "schema",
                        "extends: expected the id of a provider".into(),
                    ),
                ));
            };
            let Some(&j) = self.by_id.get(parent.as_str()) else {
                let hint = closest(parent, self.by_id.keys().copied())
                    .map(|c| format!(" (did you mean {c:?}?)"))
                    .unwrap_or_default();
                return Err((
                    here,
                    Raw::error(
                        &["extends"],
                        "extends",
                        format!("unknown provider {parent:?} to extend{hint}"),
                    ),
                ));
            };
            if chain.contains(&j) {
                let names: Vec<&str> = chain
                    .iter()
                    .chain(std::iter::once(&j))
                    .map(|&k| self.id(k))
                    .collect();
                return Err((
                    here,
                    Raw::error(
                        &["extends"],
                        "extends",
                        format!("extends cycle: {}", names.join(" → ")),
                    ),
                ));
            }
            if chain.len() > MAX_EXTENDS {
                let names: Vec<&str> = chain.iter().map(|&k| self.id(k)).collect();
                return Err((
                    vec![i],
                    Raw::error(
                        &["extends"],
                        "extends",
                        format!(
                            "the extends chain is longer than {MAX_EXTENDS} specs: {} → …",
                            names.join(" → ")
                        ),
                    ),
                ));
            }
            let Some(parent_parsed) = self.parsed[j].as_ref() else {
                break;
            };
            let mut inherited = parent_parsed.table.clone();
            for own in NOT_INHERITED {
                inherited.remove(*own);
            }
            // The parent's variables name the parent's URL, which the child replaced.
            if merged.contains_key("base-url") {
                inherited.remove("base-url-env");
            }
            merged = merge(inherited, merged);
            chain.push(j);
            cursor = parent_parsed;
        }
        merged.remove("extends");
        merged.remove("id");
        // `embeddings = false` (or `chat = false`, `count-tokens = false`)
        // removes an inherited endpoint.
        merged.retain(|k, v| !(ENDPOINTS.contains(&k) && *v == toml::Value::Boolean(false)));
        Ok((merged, chain))
    }

    /// Replaces each part written `{ "$from" = "<provider>" }` by that
    /// provider's part of the same name (in the same endpoint).
    fn borrow_parts(&self, merged: &mut toml::Table, found: &mut Vec<Raw>) {
        for &endpoint in ENDPOINTS {
            let Some(toml::Value::Table(parts)) = merged
                .get_mut(endpoint)
                .and_then(|e| e.as_table_mut())
                .and_then(|e| e.get_mut("parts"))
            else {
                continue;
            };
            for (name, value) in parts.iter_mut() {
                let Some(from) = borrowed(value) else {
                    continue;
                };
                let at = [endpoint, "parts", name.as_str(), "$from"];
                match self.part_of(from, endpoint, name) {
                    Ok(part) => *value = part,
                    Err(message) => {
                        found.push(Raw::error(&at, "spec", message));
                        // Reported once: the part compiles as empty text.
                        *value = toml::Value::String(String::new());
                    }
                }
            }
        }
    }

    /// The part `name` of `provider`'s `endpoint`, as that provider's chain writes it.
    fn part_of(&self, provider: &str, endpoint: &str, name: &str) -> Result<toml::Value, String> {
        let Some(&j) = self.by_id.get(provider) else {
            let hint = closest(provider, self.by_id.keys().copied())
                .map(|c| format!(" (did you mean {c:?}?)"))
                .unwrap_or_default();
            return Err(format!(
                "unknown provider {provider:?} to take part `{name}` from{hint}"
            ));
        };
        let (table, _) = self
            .merged(j)
            .map_err(|(_, e)| format!("{provider}'s spec does not load: {}", e.message))?;
        let part = table
            .get(endpoint)
            .and_then(|e| e.get("parts"))
            .and_then(|p| p.get(name))
            .ok_or_else(|| format!("{provider} has no [{endpoint}.parts] {name}"))?;
        if borrowed(part).is_some() {
            return Err(format!(
                "{provider}'s part `{name}` is itself taken from another provider; take it from the one that writes it"
            ));
        }
        Ok(part.clone())
    }
}

/// The provider a part borrows from, when it is written `{ "$from" = "<provider>" }`.
fn borrowed(value: &toml::Value) -> Option<&str> {
    let t = value.as_table()?;
    match (t.len(), t.get("$from")) {
        (1, Some(toml::Value::String(from))) => Some(from),
        _ => None,
    }
}

/// Deep merge: tables merge key by key; anything else in `child` replaces.
pub(super) fn merge(mut parent: toml::Table, child: toml::Table) -> toml::Table {
    for (k, v) in child {
        match (parent.get_mut(&k), v) {
            (Some(toml::Value::Table(p)), toml::Value::Table(c)) => {
                let p = std::mem::take(p);
                parent.insert(k, toml::Value::Table(merge(p, c)));
            }
            (_, v) => {
                parent.insert(k, v);
            }
        }
    }
    parent
}
