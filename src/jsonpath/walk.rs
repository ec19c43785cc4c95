//! The native fast path: paths of names, indices, wildcards and simple
//! filters, parsed here and walked without `jsonpath-rust`. `parse_simple`
//! only ever accepts a path `jsonpath-rust` parsed first, and must select
//! exactly what it would (a property test holds it to that).

use serde_json::Value;

#[derive(Debug, Clone)]
pub(super) enum Step {
    Key(String),
    Index(i64),
    Wildcard,
    /// Children for which every condition holds.
    Filter(Vec<Cond>),
}

/// One term of a simple filter: `@.a.b` (exists), `!@.a.b`, `@.a.b == literal`.
#[derive(Debug, Clone)]
pub(super) enum Cond {
    Exists(Vec<String>, bool),
    Equals(Vec<String>, Value),
}

/// Every node `steps` select from `v`, in document order.
pub(super) fn fan_out<'v>(steps: &[Step], v: &'v Value, out: &mut Vec<&'v Value>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(v);
        return;
    };
    let children: Box<dyn Iterator<Item = &'v Value>> = match (step, v) {
        (Step::Key(k), Value::Object(m)) => Box::new(m.get(k).into_iter()),
        (Step::Index(_), Value::Array(_)) => {
            Box::new(walk(std::slice::from_ref(step), v).into_iter())
        }
        (Step::Wildcard | Step::Filter(_), Value::Array(a)) => Box::new(a.iter()),
        (Step::Wildcard | Step::Filter(_), Value::Object(m)) => Box::new(m.values()),
        _ => return,
    };
    for child in children {
        if let Step::Filter(conds) = step
            && !conds.iter().all(|c| holds(c, child))
        {
            continue;
        }
        fan_out(rest, child, out);
    }
}

/// `acc` placed where `step` selects (see `JsonPath::witness`).
#[cfg(test)]
pub(super) fn witness_step(step: &Step, acc: Value) -> Option<Value> {
    Some(match step {
        Step::Key(k) => serde_json::json!({ k.as_str(): acc }),
        Step::Index(i) if *i >= 0 => {
            let mut list = vec![Value::Null; usize::try_from(*i).ok()?];
            list.push(acc);
            Value::Array(list)
        }
        Step::Index(_) | Step::Wildcard => Value::Array(vec![acc]),
        Step::Filter(conds) => {
            let mut item = match acc {
                Value::Object(m) => m,
                _ => return None,
            };
            for c in conds {
                match c {
                    Cond::Equals(keys, want) => set_at(&mut item, keys, want.clone()),
                    Cond::Exists(keys, false) if !holds(c, &Value::Object(item.clone())) => {
                        set_at(&mut item, keys, Value::String("x".into()))
                    }
                    Cond::Exists(keys, true) if !holds(c, &Value::Object(item.clone())) => {
                        return None;
                    }
                    Cond::Exists(..) => {}
                }
            }
            Value::Array(vec![Value::Object(item)])
        }
    })
}

#[cfg(test)]
fn set_at(obj: &mut serde_json::Map<String, Value>, keys: &[String], value: Value) {
    let Some((last, path)) = keys.split_last() else {
        return;
    };
    let mut node = obj;
    for k in path {
        let next = node
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Default::default()));
        let Value::Object(m) = next else { return };
        node = m;
    }
    node.insert(last.clone(), value);
}

fn holds(cond: &Cond, node: &Value) -> bool {
    let at = |keys: &[String]| keys.iter().try_fold(node, |v, k| v.as_object()?.get(k));
    match cond {
        Cond::Exists(keys, negated) => at(keys).is_some() != *negated,
        Cond::Equals(keys, want) => at(keys).is_some_and(|got| same(got, want)),
    }
}

/// RFC 9535 comparison: numbers by value, everything else structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

/// Parses the subset `Walk` handles; None sends the path to jsonpath-rust.
pub(super) fn parse_simple(source: &str) -> Option<Vec<Step>> {
    let mut rest = source.strip_prefix('$')?;
    let mut steps = Vec::new();
    let name_len = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(".*") {
            steps.push(Step::Wildcard);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('.') {
            let n = name_len(r);
            if n == 0 || r.starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            steps.push(Step::Key(r[..n].to_string()));
            rest = &r[n..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            rest = &r[end + 1..];
            if inner == "*" {
                steps.push(Step::Wildcard);
            } else if let Some(i) = plain_index(inner) {
                steps.push(Step::Index(i));
            } else if let Some(quoted) = inner.strip_prefix('\'').and_then(|q| q.strip_suffix('\''))
            {
                if quoted.contains(['\\', '\'']) {
                    return None;
                }
                steps.push(Step::Key(quoted.to_string()));
            } else {
                let cond = inner.strip_prefix('?')?.trim();
                let cond = cond
                    .strip_prefix('(')
                    .and_then(|c| c.strip_suffix(')'))
                    .unwrap_or(cond);
                if cond.contains("||") || cond.contains(['(', ')', '[', ']']) {
                    return None;
                }
                let terms = cond.split("&&").map(|t| parse_cond(t.trim()));
                steps.push(Step::Filter(terms.collect::<Option<_>>()?));
            }
        } else {
            return None;
        }
    }
    Some(steps)
}

/// An index as RFC 9535 writes one: an integer without leading zeros or `+`.
fn plain_index(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

fn parse_cond(term: &str) -> Option<Cond> {
    let member_path = |p: &str| -> Option<Vec<String>> {
        let keys: Vec<String> = p
            .trim()
            .strip_prefix("@.")?
            .split('.')
            .map(String::from)
            .collect();
        let plain = |k: &String| {
            !k.is_empty()
                && !k.starts_with(|c: char| c.is_ascii_digit())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        keys.iter().all(plain).then_some(keys)
    };
    if let Some((lhs, rhs)) = term.split_once("==") {
        let rhs = rhs.trim();
        let literal = match rhs.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            Some(text) if !text.contains(['\\', '\'']) => Value::String(text.to_string()),
            Some(_) => return None,
            None => match serde_json::from_str(rhs).ok()? {
                v @ (Value::Number(_) | Value::Bool(_) | Value::Null) => v,
                Value::String(s) if !rhs.contains('\\') => Value::String(s),
                _ => return None,
            },
        };
        return Some(Cond::Equals(member_path(lhs)?, literal));
    }
    if term.contains(['<', '>', '=', '(', '~', '\'', '"']) {
        return None;
    }
    match term.strip_prefix('!') {
        Some(p) => Some(Cond::Exists(member_path(p)?, true)),
        None => Some(Cond::Exists(member_path(term)?, false)),
    }
}

/// The one node a path of names and indices selects (negative indices count from the end).
#[inline]
pub(super) fn walk<'v>(steps: &[Step], root: &'v Value) -> Option<&'v Value> {
    let mut v = root;
    for step in steps {
        v = match (step, v) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::Index(i), Value::Array(a)) => {
                let i = if *i < 0 {
                    // A list is never longer than i64::MAX items.
                    (a.len() as i64).checked_add(*i)?
                } else {
                    *i
                };
                a.get(usize::try_from(i).ok()?)?
            }
            _ => return None,
        };
    }
    Some(v)
}
