//! Typing a merged spec table as a `RawSpec`, reporting every schema
//! problem of the file rather than the first: after each problem the
//! offending key is taken out and the rest is tried again. Also the JSON
//! Schema `switchboard schema` prints.

use super::raw::RawSpec;
use crate::suggest::closest;

/// At most this many schema problems are looked for in one file.
const MAX_PROBLEMS: usize = 32;

/// Every schema problem (key path, message), and the spec typed without
/// the keys that had them, when what is left still types.
pub(crate) struct Problems {
    pub(crate) list: Vec<(Vec<String>, String)>,
    pub(crate) pruned: Option<Box<RawSpec>>,
    /// The keys taken out (tables whose required key was missing too).
    pub(crate) removed: Vec<Vec<String>>,
}

/// Types a merged spec table; on failure, every problem found.
pub(crate) fn deserialize(mut table: toml::Table) -> Result<RawSpec, Problems> {
    let mut list = Vec::new();
    // Keys taken out so far: a "missing field" about one of them is ours.
    let mut removed: Vec<Vec<String>> = Vec::new();
    for _ in 0..MAX_PROBLEMS * 2 {
        let err = match serde_path_to_error::deserialize(toml::Value::Table(table.clone())) {
            Ok(raw) if list.is_empty() => return Ok(raw),
            Ok(raw) => {
                return Err(Problems {
                    list,
                    pruned: Some(Box::new(raw)),
                    removed,
                });
            }
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
        if let Some(field) = missing_field(&msg) {
            let mut whole = at.clone();
            whole.push(field.to_string());
            if !removed.contains(&whole) {
                list.push((at.clone(), describe(&at, &msg)));
            }
            // Without the field its table cannot type: take the table out too
            // (the rest of the file is still checked), unless it is the file.
            if at.is_empty() || !remove_path(&mut table, &at) || list.len() >= MAX_PROBLEMS {
                break;
            }
            removed.push(at);
            continue;
        }
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
                let hint = closest(&field, expected.split(", "))
                    .map(|c| format!("did you mean {c:?}? "))
                    .unwrap_or_default();
                format!("unknown key {field:?} in {section}; {hint}expected one of {expected}")
            }
            None => describe(&at, &msg),
        };
        list.push((at.clone(), text));
        if list.len() >= MAX_PROBLEMS || !remove_path(&mut table, &at) {
            break;
        }
        removed.push(at);
    }
    Err(Problems {
        list,
        pruned: None,
        removed,
    })
}

fn describe(at: &[String], msg: &str) -> String {
    if at.is_empty() {
        msg.replace('`', "\"")
    } else {
        format!("{}: {}", at.join("."), msg.replace('`', "\""))
    }
}

/// `missing field `x`` → "x".
fn missing_field(msg: &str) -> Option<&str> {
    msg.strip_prefix("missing field `")?.split('`').next()
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

/// Removes the value at a key path. An item of an array is not taken out
/// (the items after it would move): the whole array is.
fn remove_path(table: &mut toml::Table, at: &[String]) -> bool {
    let Some((last, parents)) = at.split_last() else {
        return false;
    };
    let mut cur = toml::Value::Table(std::mem::take(table));
    let removed = remove_in(&mut cur, parents, last);
    if let toml::Value::Table(t) = cur {
        *table = t;
    }
    removed
}

fn remove_in(v: &mut toml::Value, parents: &[String], last: &str) -> bool {
    match parents.split_first() {
        None => match v {
            toml::Value::Table(t) => t.remove(last).is_some(),
            _ => false,
        },
        Some((seg, rest)) => {
            // The item's container is an array: take the array out instead.
            if rest.is_empty()
                && let toml::Value::Table(t) = v
                && matches!(t.get(seg), Some(toml::Value::Array(_)))
            {
                return t.remove(seg).is_some();
            }
            let next = match v {
                toml::Value::Table(t) => t.get_mut(seg),
                toml::Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
                _ => None,
            };
            next.is_some_and(|n| remove_in(n, rest, last))
        }
    }
}

/// The JSON Schema of a provider file.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawSpec)).unwrap_or_default()
}
