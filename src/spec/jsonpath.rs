//! Compiled JSONPath (RFC 9535) queries used by response mappings.
//!
//! Paths made only of names and indices (`$.choices[0].delta.content`, the
//! common case) are walked directly; so are wildcards and simple filters
//! (`[?@.type == 'text']`, `[?@.text && !@.thought]`), which stream mappings
//! evaluate on every event. Anything else (slices, descendants, functions,
//! `||`) runs through `jsonpath-rust`. Parsed and checked once at load.

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

#[derive(Debug, Clone)]
pub(crate) struct JsonPath {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Direct(Vec<Step>),
    /// Names, indices, wildcards and simple filters: walked here, fanning out.
    Walk(Vec<Step>),
    Query(Box<JpQuery>),
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(i64),
    Wildcard,
    /// Children for which every condition holds.
    Filter(Vec<Cond>),
}

/// One term of a simple filter: `@.a.b` (exists), `!@.a.b`, `@.a.b == literal`.
#[derive(Debug, Clone)]
enum Cond {
    Exists(Vec<String>, bool),
    Equals(Vec<String>, Value),
}

impl JsonPath {
    /// Parses `source`; specs that extend another repeat its paths, so a
    /// successful parse is remembered (per thread) and reused.
    pub(crate) fn parse(source: &str) -> Result<Self, String> {
        thread_local! {
            static SEEN: std::cell::RefCell<std::collections::HashMap<String, JsonPath>> = Default::default();
        }
        if let Some(hit) = SEEN.with(|c| c.borrow().get(source).cloned()) {
            return Ok(hit);
        }
        let parsed = Self::parse_uncached(source)?;
        SEEN.with(|c| c.borrow_mut().insert(source.to_string(), parsed.clone()));
        Ok(parsed)
    }

    fn parse_uncached(source: &str) -> Result<Self, String> {
        let query = parse_json_path(source).map_err(|e| describe(source, &e.to_string()))?;
        let direct: Option<Vec<Step>> = query
            .segments
            .iter()
            .map(|seg| match seg {
                Segment::Selector(Selector::Name(n)) => Some(Step::Key(n.clone())),
                Segment::Selector(Selector::Index(i)) => Some(Step::Index(*i)),
                _ => None,
            })
            .collect();
        let kind = match (direct, parse_simple(source)) {
            (Some(steps), _) => Kind::Direct(steps),
            (None, Some(steps)) => Kind::Walk(steps),
            (None, None) => Kind::Query(Box::new(query)),
        };
        Ok(JsonPath { kind })
    }

    /// The first node the path selects, skipping JSON nulls.
    pub(crate) fn first<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        match &self.kind {
            Kind::Direct(steps) => walk(steps, root).filter(|v| !v.is_null()),
            Kind::Walk(steps) => {
                let mut out = Vec::new();
                fan_out(steps, root, &mut out);
                out.into_iter().find(|v| !v.is_null())
            }
            Kind::Query(q) => js_path_process(q, root)
                .ok()?
                .into_iter()
                .map(|r| r.val())
                .find(|v| !v.is_null()),
        }
    }

    /// Every node the path selects (nulls skipped).
    pub(crate) fn all<'v>(&self, root: &'v Value) -> Vec<&'v Value> {
        match &self.kind {
            Kind::Direct(steps) => walk(steps, root)
                .filter(|v| !v.is_null())
                .into_iter()
                .collect(),
            Kind::Walk(steps) => {
                let mut out = Vec::new();
                fan_out(steps, root, &mut out);
                out.retain(|v| !v.is_null());
                out
            }
            Kind::Query(q) => js_path_process(q, root)
                .map(|refs| {
                    refs.into_iter()
                        .map(|r| r.val())
                        .filter(|v| !v.is_null())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// A one-line reason from the parser's multi-line report: where, and what it expected.
fn describe(source: &str, report: &str) -> String {
    let column = report
        .lines()
        .find_map(|l| l.split_once("--> ").map(|(_, pos)| pos.trim()))
        .and_then(|pos| pos.split(':').nth(1))
        .map(|c| format!(" at column {c}"))
        .unwrap_or_default();
    let expected = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("= "))
        .unwrap_or_else(|| report.lines().next().unwrap_or("cannot parse"));
    format!("invalid JSONPath {source:?}{column}: {expected}")
}

/// Every node `steps` select from `v`, in document order.
fn fan_out<'v>(steps: &[Step], v: &'v Value, out: &mut Vec<&'v Value>) {
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

fn holds(cond: &Cond, node: &Value) -> bool {
    let at = |keys: &[String]| keys.iter().try_fold(node, |v, k| v.as_object()?.get(k));
    match cond {
        Cond::Exists(keys, negated) => at(keys).is_some() != *negated,
        Cond::Equals(keys, want) => at(keys).is_some_and(|got| same(got, want)),
    }
}

/// RFC 9535 comparison: numbers by value, everything else structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Parses the subset `Walk` handles; None sends the path to jsonpath-rust.
fn parse_simple(source: &str) -> Option<Vec<Step>> {
    let mut rest = source.strip_prefix('$')?;
    let mut steps = Vec::new();
    let name_len = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(s.len())
    };
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(".*") {
            steps.push(Step::Wildcard);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('.') {
            let n = name_len(r);
            if n == 0 {
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
            } else if let Ok(i) = inner.parse::<i64>() {
                steps.push(Step::Index(i));
            } else if let Some(quoted) = inner.strip_prefix('\'').and_then(|q| q.strip_suffix('\''))
            {
                steps.push(Step::Key(quoted.to_string()));
            } else {
                let cond = inner.strip_prefix('?')?.trim();
                let cond = cond
                    .strip_prefix('(')
                    .and_then(|c| c.strip_suffix(')'))
                    .unwrap_or(cond);
                if cond.contains("||") {
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
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        keys.iter().all(plain).then_some(keys)
    };
    if let Some((lhs, rhs)) = term.split_once("==") {
        let rhs = rhs.trim();
        let literal = match rhs.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            Some(text) => Value::String(text.to_string()),
            None => serde_json::from_str(rhs).ok()?,
        };
        return Some(Cond::Equals(member_path(lhs)?, literal));
    }
    if term.contains(['<', '>', '=', '(', '~']) {
        return None;
    }
    match term.strip_prefix('!') {
        Some(p) => Some(Cond::Exists(member_path(p)?, true)),
        None => Some(Cond::Exists(member_path(term)?, false)),
    }
}

fn walk<'v>(steps: &[Step], root: &'v Value) -> Option<&'v Value> {
    let mut v = root;
    for step in steps {
        v = match (step, v) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::Index(i), Value::Array(a)) => {
                let i = if *i < 0 { a.len() as i64 + i } else { *i };
                a.get(usize::try_from(i).ok()?)?
            }
            _ => return None,
        };
    }
    Some(v)
}

/// One path or a list of paths: lists sum numbers, or take the first text found.
#[derive(Debug, Clone)]
pub(crate) struct Paths(pub(crate) Vec<JsonPath>);

impl Paths {
    /// Sum of the numbers found (None when no path finds a number).
    pub(crate) fn sum(&self, root: &Value) -> Option<u64> {
        let mut total = None;
        for p in &self.0 {
            if let Some(n) = p.first(root).and_then(as_count) {
                total = Some(total.unwrap_or(0) + n);
            }
        }
        total
    }

    /// First node found by any path, in order.
    pub(crate) fn first<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.0.iter().find_map(|p| p.first(root))
    }

    /// Text of every node the first path that finds text selects, concatenated.
    /// (A list of paths is alternatives, e.g. two spellings of one field.)
    pub(crate) fn text(&self, root: &Value) -> Option<String> {
        self.0.iter().find_map(|p| {
            let mut out: Option<String> = None;
            for v in p.all(root) {
                if let Value::String(s) = v {
                    out.get_or_insert_with(String::new).push_str(s);
                }
            }
            out
        })
    }
}

fn as_count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn direct_and_filter_paths_agree() {
        let v = json!({"content": [{"type": "text", "text": "a"}, {"type": "x"}, {"type": "text", "text": "b"}]});
        let p = JsonPath::parse("$.content[?@.type == 'text'].text").unwrap();
        let got: Vec<&Value> = p.all(&v);
        assert_eq!(got, vec![&json!("a"), &json!("b")]);
        let d = JsonPath::parse("$.content[2].text").unwrap();
        assert_eq!(JsonPath::parse("$.content").unwrap().all(&v).len(), 1);
        assert!(matches!(d.kind, Kind::Direct(_)));
        assert_eq!(d.first(&v), Some(&json!("b")));
    }

    #[test]
    fn sums_present_numbers_only() {
        let v = json!({"a": 3, "b": null, "c": 4});
        let paths = Paths(vec![
            JsonPath::parse("$.a").unwrap(),
            JsonPath::parse("$.b").unwrap(),
            JsonPath::parse("$.c").unwrap(),
        ]);
        assert_eq!(paths.sum(&v), Some(7));
        assert_eq!(Paths(vec![JsonPath::parse("$.z").unwrap()]).sum(&v), None);
    }

    #[test]
    fn simple_filters_are_walked_here_and_agree_with_jsonpath_rust() {
        let doc = json!({"candidates": [{"content": {"parts": [
            {"text": "thinking", "thought": true},
            {"text": "answer"},
            {"functionCall": {"name": "f", "args": {}}},
            {"text": "", "thoughtSignature": "x"},
            {"type": "text", "n": 2}
        ]}}], "content": [{"type": "text", "text": "a"}, {"type": "tool_use", "name": "t"}]});
        for path in [
            "$.candidates[0].content.parts[?@.text && !@.thought].text",
            "$.candidates[0].content.parts[?@.thought == true].text",
            "$.candidates[0].content.parts[?@.functionCall].functionCall",
            "$.content[?@.type == 'text'].text",
            "$.content[?(@.type == 'tool_use')]",
            "$.candidates[*].content.parts[?@.n == 2.0]",
            "$.content[*].name",
        ] {
            let fast = JsonPath::parse(path).unwrap();
            assert!(
                matches!(fast.kind, Kind::Walk(_)),
                "{path} should be walked here"
            );
            let reference = jsonpath_rust::query::js_path(path, &doc).unwrap();
            let want: Vec<&Value> = reference.into_iter().map(|r| r.val()).collect();
            assert_eq!(fast.all(&doc), want, "{path}");
        }
        assert!(matches!(
            JsonPath::parse("$..text").unwrap().kind,
            Kind::Query(_)
        ));
        assert!(matches!(
            JsonPath::parse("$.a[?@.b || @.c]").unwrap().kind,
            Kind::Query(_)
        ));
    }

    #[test]
    fn bad_path_is_an_error() {
        assert!(JsonPath::parse("$.a[?").is_err());
    }
}
