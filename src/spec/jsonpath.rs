//! Compiled JSONPath (RFC 9535) queries used by response mappings.
//!
//! Paths made only of names and indices (`$.choices[0].delta.content`, the
//! common case) are walked directly; anything else (filters, wildcards,
//! slices, descendants) runs through `jsonpath-rust`. Parsed once at load.

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
    Query(Box<JpQuery>),
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(i64),
}

impl JsonPath {
    pub(crate) fn parse(source: &str) -> Result<Self, String> {
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
        let kind = match direct {
            Some(steps) => Kind::Direct(steps),
            None => Kind::Query(Box::new(query)),
        };
        Ok(JsonPath { kind })
    }

    /// The first node the path selects, skipping JSON nulls.
    pub(crate) fn first<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        match &self.kind {
            Kind::Direct(steps) => walk(steps, root).filter(|v| !v.is_null()),
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
    fn bad_path_is_an_error() {
        assert!(JsonPath::parse("$.a[?").is_err());
    }
}
