//! Compiled JSONPath (RFC 9535) queries, the language response mappings,
//! stream rules and error tables are written in. Knows no spec and no
//! provider: a path is parsed (and bounded) once, then evaluated against any
//! JSON document.
//!
//! Paths made only of names and indices (`$.choices[0].delta.content`, the
//! common case) are walked directly; so are wildcards and simple filters
//! (`[?@.type == 'text']`, `[?@.text && !@.thought]`), which stream mappings
//! evaluate on every event (see `walk`). Anything else (slices, descendants,
//! functions, `||`) runs through `jsonpath-rust`.
//!
//! Limits: a path is at most [`MAX_PATH_LEN`] bytes and nests brackets and
//! parentheses at most [`MAX_NESTING`] deep, so neither parsing nor
//! evaluation can recurse without bound whatever a spec file holds.

mod walk;

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

use walk::{Step, fan_out, parse_simple, walk};

/// The longest path accepted, in bytes.
pub(crate) const MAX_PATH_LEN: usize = 1024;
/// The deepest nesting of `[` and `(` accepted in a path.
pub(crate) const MAX_NESTING: usize = 16;

#[derive(Debug, Clone)]
pub(crate) struct JsonPath {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Names and indices only: one node at most.
    Direct(Vec<Step>),
    /// Names, indices, wildcards and simple filters: walked here, fanning out.
    Walk(Vec<Step>),
    Query(Box<JpQuery>),
}

impl JsonPath {
    /// Parses and checks `source`.
    pub(crate) fn parse(source: &str) -> Result<Self, String> {
        check_bounds(source)?;
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
    #[inline]
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

    /// Whether the path selects one node at most (names and indices only:
    /// RFC 9535's singular query).
    pub(crate) fn is_singular(&self) -> bool {
        matches!(self.kind, Kind::Direct(_))
    }

    /// Every node the path selects (nulls skipped).
    #[inline]
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

#[cfg(test)]
impl JsonPath {
    /// A document in which this path finds `value` (for tests that feed a
    /// spec's mappings): names become objects, indices and wildcards lists,
    /// a simple filter an item that meets it. None for paths `jsonpath-rust`
    /// evaluates.
    pub(crate) fn witness(&self, value: Value) -> Option<Value> {
        let steps = match &self.kind {
            Kind::Direct(steps) | Kind::Walk(steps) => steps,
            Kind::Query(_) => return None,
        };
        steps
            .iter()
            .rev()
            .try_fold(value, |acc, step| walk::witness_step(step, acc))
    }
}

/// Refuses a path too long or nested too deep to parse safely.
fn check_bounds(source: &str) -> Result<(), String> {
    if source.len() > MAX_PATH_LEN {
        let shown: String = source.chars().take(40).collect();
        return Err(format!(
            "JSONPath {shown:?}… is {} bytes long; the limit is {MAX_PATH_LEN}",
            source.len()
        ));
    }
    let (mut depth, mut quote, mut escaped) = (0usize, None, false);
    for c in source.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' | '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "JSONPath {source:?} nests brackets more than {MAX_NESTING} deep"
                    ));
                }
            }
            ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
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

/// One path or a list of paths: lists sum numbers, or take the first text found.
#[derive(Debug, Clone)]
pub(crate) struct Paths(pub(crate) Vec<JsonPath>);

impl Paths {
    /// Sum of the numbers found (None when no path finds a number).
    #[inline]
    pub(crate) fn sum(&self, root: &Value) -> Option<u64> {
        let mut total: Option<u64> = None;
        for p in &self.0 {
            if let Some(n) = p.first(root).and_then(as_count) {
                total = Some(total.unwrap_or(0).saturating_add(n));
            }
        }
        total
    }

    /// First node found by any path, in order.
    #[inline]
    pub(crate) fn first<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.0.iter().find_map(|p| p.first(root))
    }

    /// The value the first path that finds anything selects: the node
    /// itself for a singular path, else the list of every node it selects.
    pub(crate) fn value(&self, root: &Value) -> Option<Value> {
        self.0.iter().find_map(|p| {
            if p.is_singular() {
                return p.first(root).cloned();
            }
            let all = p.all(root);
            (!all.is_empty()).then(|| Value::Array(all.into_iter().cloned().collect()))
        })
    }

    /// Text of every node the first path that finds text selects, concatenated.
    /// (A list of paths is alternatives, e.g. two spellings of one field.)
    #[inline]
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
mod tests;
