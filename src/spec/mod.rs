//! Provider specs: load TOML files, resolve `extends`, compile everything
//! once, and report every problem with a file:line:col. Does no I/O at
//! request time.

pub mod check;
pub(crate) mod compile;
pub mod diagnostic;
pub(crate) mod helpers;
pub(crate) mod jsonpath;
pub(crate) mod raw;
pub(crate) mod registry;
pub(crate) mod template;

use std::collections::{HashMap, HashSet};

pub use compile::Spec;
pub use diagnostic::{Diagnostic, Severity};
pub use registry::Registry;

use diagnostic::{line_col, locate};

/// One spec file's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    /// The provider id of a spec source: its `id` key, else its file name.
    pub fn id_of(&self) -> String {
        match toml::from_str::<toml::Table>(&self.text)
            .ok()
            .and_then(|t| t.get("id").cloned())
        {
            Some(toml::Value::String(id)) => id,
            _ => self.default_id(),
        }
    }

    /// The provider id a file declares, or its file name without `.toml`.
    fn default_id(&self) -> String {
        let base = self.name.rsplit(['/', '\\']).next().unwrap_or(&self.name);
        base.strip_suffix(".toml").unwrap_or(base).to_string()
    }
}

/// The specs compiled from a set of sources, and every finding.
pub(crate) struct Loaded {
    pub(crate) specs: Vec<Spec>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Provider id → the chain of source indices (self first, then what it extends).
    pub(crate) chains: HashMap<String, Vec<usize>>,
}

struct Parsed {
    id: String,
    table: toml::Table,
}

/// Loads `sources` (later ones override earlier ones with the same id).
/// Only the ids in `check` are compiled and reported (all when `None`).
pub(crate) fn load(sources: &[Source], check: Option<&HashSet<usize>>) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut parsed: Vec<Option<Parsed>> = Vec::with_capacity(sources.len());
    for src in sources {
        match toml::from_str::<toml::Table>(&src.text) {
            Ok(table) => {
                let id = match table.get("id") {
                    Some(toml::Value::String(s)) => s.clone(),
                    _ => src.default_id(),
                };
                parsed.push(Some(Parsed { id, table }));
            }
            Err(e) => {
                let (line, col) = line_col(&src.text, e.span().map_or(0, |r| r.start));
                diagnostics.push(Diagnostic {
                    file: src.name.clone(),
                    line,
                    col,
                    severity: Severity::Error,
                    code: "toml".into(),
                    message: e.message().trim().to_string(),
                });
                parsed.push(None);
            }
        }
    }
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, p) in parsed.iter().enumerate() {
        if let Some(p) = p {
            by_id.insert(&p.id, i);
        }
    }

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
        let report = |at: &[String], chain: &[usize], code: &str, message: String| {
            let (file, line, col) = place(sources, chain, at);
            Diagnostic {
                file,
                line,
                col,
                severity: Severity::Error,
                code: code.to_string(),
                message,
            }
        };
        // Resolve the extends chain.
        let mut chain = vec![i];
        let mut merged = p.table.clone();
        let mut cursor = p;
        let mut failed = false;
        while let Some(toml::Value::String(parent)) = cursor.table.get("extends") {
            let Some(&j) = by_id.get(parent.as_str()) else {
                diagnostics.push(report(
                    &["extends".into()],
                    &chain[chain.len() - 1..],
                    "extends",
                    format!(
                        "unknown provider {parent:?} to extend{}",
                        diagnostic::closest(parent, by_id.keys().copied())
                            .map(|c| format!(" (did you mean {c:?}?)"))
                            .unwrap_or_default()
                    ),
                ));
                failed = true;
                break;
            };
            if chain.contains(&j) {
                let names: Vec<&str> = chain
                    .iter()
                    .chain(std::iter::once(&j))
                    .filter_map(|&k| parsed[k].as_ref().map(|p| p.id.as_str()))
                    .collect();
                diagnostics.push(report(
                    &["extends".into()],
                    &chain[chain.len() - 1..],
                    "extends",
                    format!("extends cycle: {}", names.join(" → ")),
                ));
                failed = true;
                break;
            }
            let Some(parent_parsed) = parsed[j].as_ref() else {
                break;
            };
            let mut inherited = parent_parsed.table.clone();
            for own in NOT_INHERITED {
                inherited.remove(*own);
            }
            merged = merge(inherited, merged);
            chain.push(j);
            cursor = parent_parsed;
        }
        if failed {
            continue;
        }
        merged.remove("extends");
        merged.remove("id");
        // `embeddings = false` (or `chat = false`) removes an inherited endpoint.
        merged.retain(|k, v| {
            !((k == "chat" || k == "embeddings") && *v == toml::Value::Boolean(false))
        });
        let raw = match deserialize(merged) {
            Ok(r) => r,
            Err(problems) => {
                for (at, msg) in problems {
                    diagnostics.push(report(&at, &chain, "schema", msg));
                }
                continue;
            }
        };
        match compile::compile(&p.id, &raw) {
            Ok(spec) => {
                chains.insert(p.id.clone(), chain);
                specs.push(spec);
            }
            Err(findings) => {
                for f in findings {
                    diagnostics.push(report(&f.at, &chain, f.code, f.message));
                }
            }
        }
    }
    Loaded {
        specs,
        diagnostics,
        chains,
    }
}

/// A provider's own identity and extras, which `extends` does not copy.
const NOT_INHERITED: &[&str] = &["name", "docs", "model-prefixes", "headers", "params"];

/// Deserializes a merged spec table, reporting every schema problem: after
/// each unknown key, that key is taken out and the rest is tried again.
fn deserialize(mut table: toml::Table) -> Result<raw::RawSpec, Vec<(Vec<String>, String)>> {
    let mut problems = Vec::new();
    for _ in 0..32 {
        let err = match serde_path_to_error::deserialize(toml::Value::Table(table.clone())) {
            Ok(raw) if problems.is_empty() => return Ok(raw),
            Ok(_) => return Err(problems),
            Err(e) => e,
        };
        let mut at: Vec<String> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                _ => None,
            })
            .collect();
        // serde's message may add a second line ("in `chat`"); the path says where.
        let msg = err.inner().to_string();
        let msg = msg.lines().next().unwrap_or_default().trim().to_string();
        let text = match unknown_field(&msg) {
            Some((field, expected)) => {
                if at.last() == Some(&field) {
                    at.pop();
                }
                let section = if at.is_empty() {
                    "the top level".to_string()
                } else {
                    format!("[{}]", at.join("."))
                };
                at.push(field.clone());
                let hint = diagnostic::closest(&field, expected.split(", "))
                    .map(|c| format!("did you mean {c:?}? "))
                    .unwrap_or_default();
                format!("unknown key {field:?} in {section}; {hint}expected one of {expected}")
            }
            None if at.is_empty() => msg.replace('`', "\""),
            None => format!("{}: {}", at.join("."), msg.replace('`', "\"")),
        };
        // Only an unknown key can be taken out without causing a new problem.
        let removable = unknown_field(&msg).is_some();
        problems.push((at.clone(), text));
        // Take the offending key out and look for more; a missing key ends the search.
        if !removable || !remove_path(&mut table, &at) {
            return Err(problems);
        }
    }
    Err(problems)
}

/// `unknown field `x`, expected one of `a`, `b`` → ("x", "a, b").
fn unknown_field(msg: &str) -> Option<(String, String)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    let expected = rest[end + 1..]
        .trim_start_matches(", expected one of ")
        .trim_start_matches(", expected ")
        .replace('`', "");
    Some((rest[..end].to_string(), expected))
}

/// Removes the value at a key path (tables and arrays of tables).
fn remove_path(table: &mut toml::Table, at: &[String]) -> bool {
    let Some((last, parents)) = at.split_last() else {
        return false;
    };
    let mut cur: &mut toml::Value = match parents.first().and_then(|k| table.get_mut(k)) {
        Some(v) => v,
        None => return table.remove(last).is_some() && parents.is_empty(),
    };
    for seg in parents.iter().skip(1) {
        cur = match cur {
            toml::Value::Table(t) => match t.get_mut(seg) {
                Some(v) => v,
                None => return false,
            },
            toml::Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match cur {
        toml::Value::Table(t) => t.remove(last).is_some(),
        _ => false,
    }
}

/// Where a key path is written: the first file of the chain that has it,
/// at the deepest key found.
pub(crate) fn place(sources: &[Source], chain: &[usize], at: &[String]) -> (String, usize, usize) {
    for depth in (0..=at.len()).rev() {
        for &i in chain {
            let src = &sources[i];
            if let Some(off) = locate(&src.text, &at[..depth]) {
                if depth == 0 && i != chain[0] {
                    continue;
                }
                let (line, col) = line_col(&src.text, off);
                return (src.name.clone(), line, col);
            }
        }
    }
    (sources[chain[0]].name.clone(), 1, 1)
}

/// Deep merge: tables merge key by key; anything else in `child` replaces.
fn merge(mut parent: toml::Table, child: toml::Table) -> toml::Table {
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

/// The JSON Schema of a provider file.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(raw::RawSpec)).unwrap_or_default()
}
