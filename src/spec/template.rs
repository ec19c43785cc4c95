//! Value templates: the request-body language of a provider spec.
//!
//! A template is a JSON-shaped value (written as TOML in a spec) whose string
//! leaves use handlebars syntax, parsed with the `handlebars` crate's parser:
//!
//! - `"{{expr}}"`: a leaf that is exactly one expression keeps the JSON type
//!   of its value (object, array, number…); `null` drops the key.
//! - `"text {{expr}}"`: string interpolation; values are inserted as text.
//! - `"{{> name}}"`: renders the named part with the current scope.
//! - objects with a `$`-key are structural: `$each`/`$do`, `$if`/`$then`/`$else`,
//!   `$match` (+ cases, `$default`), `$with`/`$do`, `$base` (object to extend).
//!
//! Because the output is built as a `serde_json::Value`, never as text, any
//! user string is data: a rendered body is valid JSON for every input.
//! Compiled once at load; rendering reads no clock, env or socket.

use std::collections::HashMap;
use std::fmt;

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use serde_json::{Map, Value};

use super::helpers::{self, Helper};

/// A compiled value template.
#[derive(Debug, Clone)]
pub(crate) enum Tpl {
    Lit(Value),
    Expr(Expr),
    Interp(Vec<Piece>),
    Part(usize),
    Array(Vec<Tpl>),
    Object {
        base: Option<Expr>,
        fields: Vec<(String, Tpl)>,
    },
    Each {
        over: Expr,
        body: Box<Tpl>,
    },
    If {
        cond: Expr,
        then: Box<Tpl>,
        otherwise: Option<Box<Tpl>>,
    },
    Match {
        on: Expr,
        cases: Vec<(String, Tpl)>,
        default: Option<Box<Tpl>>,
    },
    With {
        value: Expr,
        body: Box<Tpl>,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Text(String),
    Expr(Expr),
}

/// A handlebars expression: a path, a literal or a helper call.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Path(PathExpr),
    Local {
        up: usize,
        name: LocalVar,
    },
    Lit(Value),
    Call {
        helper: Helper,
        args: Vec<Expr>,
        hash: Vec<(String, Expr)>,
    },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum LocalVar {
    Index,
    First,
    Last,
}

#[derive(Debug, Clone)]
pub(crate) struct PathExpr {
    root: bool,
    up: usize,
    segs: Vec<String>,
}

/// A problem in one template, with the key path (inside the template) where it sits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TemplateError {
    pub(crate) at: Vec<String>,
    pub(crate) message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Compiles templates against a table of named parts.
pub(crate) struct Compiler<'a> {
    pub(crate) parts: &'a HashMap<String, usize>,
    pub(crate) errors: Vec<TemplateError>,
    at: Vec<String>,
}

const DIRECTIVES: &[&str] = &[
    "$each", "$do", "$if", "$then", "$else", "$match", "$default", "$with", "$base",
];

impl<'a> Compiler<'a> {
    pub(crate) fn new(parts: &'a HashMap<String, usize>) -> Self {
        Compiler {
            parts,
            errors: Vec::new(),
            at: Vec::new(),
        }
    }

    fn err(&mut self, message: impl Into<String>) {
        self.errors.push(TemplateError {
            at: self.at.clone(),
            message: message.into(),
        });
    }

    fn nested<T>(&mut self, key: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        self.at.push(key.to_string());
        let out = f(self);
        self.at.pop();
        out
    }

    /// Compiles one template value; problems are collected in `self.errors`.
    pub(crate) fn compile(&mut self, value: &Value) -> Tpl {
        match value {
            Value::String(s) => self.string(s),
            Value::Array(items) => Tpl::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.nested(&i.to_string(), |c| c.compile(v)))
                    .collect(),
            ),
            Value::Object(map) => self.object(map),
            other => Tpl::Lit(other.clone()),
        }
    }

    fn object(&mut self, map: &Map<String, Value>) -> Tpl {
        let get = |k: &str| map.get(k);
        let expr_at = |c: &mut Self, key: &str| -> Option<Expr> {
            let v = map.get(key)?;
            c.nested(key, |c| match v {
                Value::String(s) => c.expr_leaf(s),
                _ => {
                    c.err(format!(
                        "{key} takes one handlebars expression, like \"{{{{messages}}}}\""
                    ));
                    None
                }
            })
        };
        for key in map.keys() {
            if key.starts_with('$') && !DIRECTIVES.contains(&key.as_str()) {
                let key = key.clone();
                self.nested(&key, |c| {
                    c.err(format!(
                        "unknown directive `{key}` (known: {})",
                        DIRECTIVES.join(", ")
                    ))
                });
            }
        }
        let body = |c: &mut Self, key: &str| -> Option<Box<Tpl>> {
            get(key).map(|v| Box::new(c.nested(key, |c| c.compile(v))))
        };
        if map.contains_key("$each") {
            let over = expr_at(self, "$each");
            let Some(body) = body(self, "$do") else {
                self.err("$each needs $do: the template for each item");
                return Tpl::Lit(Value::Null);
            };
            self.only(map, &["$each", "$do"]);
            return over.map_or(Tpl::Lit(Value::Null), |over| Tpl::Each { over, body });
        }
        if map.contains_key("$with") {
            let value = expr_at(self, "$with");
            let Some(body) = body(self, "$do") else {
                self.err("$with needs $do");
                return Tpl::Lit(Value::Null);
            };
            self.only(map, &["$with", "$do"]);
            return value.map_or(Tpl::Lit(Value::Null), |value| Tpl::With { value, body });
        }
        if map.contains_key("$if") {
            let cond = expr_at(self, "$if");
            let Some(then) = body(self, "$then") else {
                self.err("$if needs $then (and may have $else)");
                return Tpl::Lit(Value::Null);
            };
            let otherwise = body(self, "$else");
            self.only(map, &["$if", "$then", "$else"]);
            return cond.map_or(Tpl::Lit(Value::Null), |cond| Tpl::If {
                cond,
                then,
                otherwise,
            });
        }
        if map.contains_key("$match") {
            for key in map
                .keys()
                .filter(|k| k.starts_with('$') && !["$match", "$default"].contains(&k.as_str()))
            {
                let key = key.clone();
                self.nested(&key, |c| {
                    c.err(format!(
                        "`{key}` cannot sit beside $match (allowed: $default and the cases)"
                    ))
                });
            }
            let on = expr_at(self, "$match");
            let default = body(self, "$default");
            let cases = map
                .iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), self.nested(k, |c| c.compile(v))))
                .collect();
            return on.map_or(Tpl::Lit(Value::Null), |on| Tpl::Match {
                on,
                cases,
                default,
            });
        }
        let base = if map.contains_key("$base") {
            expr_at(self, "$base")
        } else {
            None
        };
        for stray in ["$do", "$then", "$else", "$default"] {
            if map.contains_key(stray) {
                self.nested(stray, |c| {
                    c.err(format!(
                        "{stray} has no $each/$with/$if/$match to belong to"
                    ))
                });
            }
        }
        let fields = map
            .iter()
            .filter(|(k, _)| !k.starts_with('$'))
            .map(|(k, v)| (k.clone(), self.nested(k, |c| c.compile(v))))
            .collect();
        Tpl::Object { base, fields }
    }

    fn only(&mut self, map: &Map<String, Value>, allowed: &[&str]) {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let (key, first) = (key.clone(), allowed[0]);
                self.nested(&key, |c| {
                    c.err(format!(
                        "`{key}` cannot sit beside {first} (allowed: {})",
                        allowed.join(", ")
                    ))
                });
            }
        }
    }

    fn parse(&mut self, source: &str) -> Option<Template> {
        match Template::compile(source) {
            Ok(t) => Some(t),
            Err(e) => {
                let at = e
                    .pos()
                    .map(|(_, c)| format!(" at column {c}"))
                    .unwrap_or_default();
                let hint = if source.matches("{{").count() > source.matches("}}").count() {
                    ": a `{{` is not closed"
                } else if source.contains("{{#") || source.contains("{{/") {
                    ": block helpers ({{#…}}…{{/…}}) are not used in value templates; use $if, $each or $match"
                } else {
                    ""
                };
                self.err(format!("invalid handlebars{at} in {source:?}{hint}"));
                None
            }
        }
    }

    /// A string that must be exactly one expression (used by directives).
    fn expr_leaf(&mut self, source: &str) -> Option<Expr> {
        match self.string(source) {
            Tpl::Expr(e) => Some(e),
            _ => {
                self.err(format!(
                    "expected exactly one expression like \"{{{{messages}}}}\", got {source:?}"
                ));
                None
            }
        }
    }

    fn string(&mut self, source: &str) -> Tpl {
        if !source.contains("{{") {
            return Tpl::Lit(Value::String(source.to_string()));
        }
        // Specs that extend another repeat its leaves: a leaf that names no
        // part compiles the same everywhere, so a clean compile is reused.
        thread_local! {
            static SEEN: std::cell::RefCell<HashMap<String, Tpl>> = Default::default();
        }
        let cacheable = !source.contains("{{>");
        if cacheable && let Some(hit) = SEEN.with(|c| c.borrow().get(source).cloned()) {
            return hit;
        }
        let errors_before = self.errors.len();
        let tpl = self.string_uncached(source);
        if cacheable && self.errors.len() == errors_before {
            SEEN.with(|c| c.borrow_mut().insert(source.to_string(), tpl.clone()));
        }
        tpl
    }

    fn string_uncached(&mut self, source: &str) -> Tpl {
        let Some(tpl) = self.parse(source) else {
            return Tpl::Lit(Value::Null);
        };
        let elements: Vec<&TemplateElement> = tpl
            .elements
            .iter()
            .filter(|e| !matches!(e, TemplateElement::Comment(_)))
            .collect();
        if let [only] = elements.as_slice() {
            match only {
                TemplateElement::Expression(ht) | TemplateElement::HtmlExpression(ht) => {
                    return self
                        .helper_template(ht)
                        .map_or(Tpl::Lit(Value::Null), Tpl::Expr);
                }
                TemplateElement::PartialExpression(d) => {
                    let name = match &d.name {
                        Parameter::Name(n) => n.clone(),
                        Parameter::Path(p) => raw_path(p).to_string(),
                        _ => String::new(),
                    };
                    return match self.parts.get(&name) {
                        Some(&i) => Tpl::Part(i),
                        None => {
                            self.err(format!("unknown part `{name}` in {source:?}"));
                            Tpl::Lit(Value::Null)
                        }
                    };
                }
                _ => {}
            }
        }
        let mut pieces = Vec::new();
        for el in elements {
            match el {
                TemplateElement::RawString(s) => pieces.push(Piece::Text(s.clone())),
                TemplateElement::Expression(ht) | TemplateElement::HtmlExpression(ht) => {
                    if let Some(e) = self.helper_template(ht) {
                        pieces.push(Piece::Expr(e));
                    }
                }
                TemplateElement::HelperBlock(_) => self.err(format!(
                    "block helpers ({{{{#…}}}}) are not used inside strings; use $if, $each or $match: {source:?}"
                )),
                TemplateElement::PartialExpression(_) => {
                    self.err(format!("a part ({{{{> name}}}}) must be the whole string: {source:?}"))
                }
                _ => self.err(format!("unsupported handlebars construct in {source:?}")),
            }
        }
        Tpl::Interp(pieces)
    }

    fn helper_template(&mut self, ht: &HelperTemplate) -> Option<Expr> {
        if ht.block {
            self.err("block helpers are not used in value templates; use $if, $each or $match");
            return None;
        }
        let name = match &ht.name {
            Parameter::Name(n) => n.clone(),
            other => {
                if ht.params.is_empty() && ht.hash.is_empty() {
                    return self.param(other);
                }
                self.err("a helper call must start with the helper's name");
                return None;
            }
        };
        if ht.params.is_empty() && ht.hash.is_empty() && helpers::lookup(&name).is_none() {
            return Some(name_to_expr(&name));
        }
        let Some(helper) = helpers::lookup(&name) else {
            let names = helpers::names();
            let hint = match super::diagnostic::closest(&name, names.iter().copied()) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("known: {}", names.join(", ")),
            };
            self.err(format!("unknown helper `{name}` ({hint})"));
            return None;
        };
        let args = ht
            .params
            .iter()
            .map(|p| self.param(p))
            .collect::<Option<Vec<_>>>()?;
        let mut hash: Vec<(String, Expr)> = Vec::new();
        for (k, p) in &ht.hash {
            hash.push((k.clone(), self.param(p)?));
        }
        hash.sort_by(|a, b| a.0.cmp(&b.0));
        if let Err(msg) = helpers::check_arity(helper, args.len()) {
            self.err(format!("helper `{name}`: {msg}"));
            return None;
        }
        Some(Expr::Call { helper, args, hash })
    }

    fn param(&mut self, p: &Parameter) -> Option<Expr> {
        match p {
            Parameter::Name(n) => Some(name_to_expr(n)),
            Parameter::Path(path) => Some(path_to_expr(raw_path(path))),
            Parameter::Literal(v) => Some(Expr::Lit(v.clone())),
            Parameter::Subexpression(sub) => match sub.as_element() {
                TemplateElement::Expression(ht) => self.helper_template(ht),
                _ => {
                    self.err("unsupported subexpression");
                    None
                }
            },
            _ => {
                self.err("unsupported handlebars parameter");
                None
            }
        }
    }
}

fn raw_path(p: &handlebars::Path) -> &str {
    match p {
        handlebars::Path::Relative((_, raw)) => raw,
        handlebars::Path::Local((_, _, raw)) => raw,
    }
}

/// A bare name is a literal when it reads as one (`null`, `true`, `42`), else a path.
fn name_to_expr(name: &str) -> Expr {
    match serde_json::from_str::<Value>(name) {
        Ok(v) if !v.is_string() => Expr::Lit(v),
        _ => path_to_expr(name),
    }
}

fn path_to_expr(raw: &str) -> Expr {
    let mut rest = raw;
    let mut up = 0;
    while let Some(r) = rest.strip_prefix("../") {
        up += 1;
        rest = r;
    }
    if let Some(local) = rest.strip_prefix('@') {
        let name = match local {
            "index" => Some(LocalVar::Index),
            "first" => Some(LocalVar::First),
            "last" => Some(LocalVar::Last),
            _ => None,
        };
        if let Some(name) = name {
            return Expr::Local { up, name };
        }
    }
    let mut root = false;
    if let Some(r) = rest.strip_prefix("@root") {
        root = true;
        rest = r.trim_start_matches(['.', '/']);
    }
    if rest == "this" || rest == "." {
        rest = "";
    } else if let Some(r) = rest
        .strip_prefix("this.")
        .or_else(|| rest.strip_prefix("this/"))
    {
        rest = r;
    }
    let segs = rest
        .split(['.', '/'])
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_start_matches('[').trim_end_matches(']').to_string())
        .collect();
    Expr::Path(PathExpr { root, up, segs })
}

/// A failure while rendering (e.g. a `$match` with no case for a value).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RenderError(pub(crate) String);

/// One level of scope: the value in view and its loop position.
#[derive(Clone, Copy)]
struct Frame<'v> {
    value: &'v Value,
    index: Option<(usize, usize)>,
}

/// Renders compiled templates; `parts` are the spec's named parts.
pub(crate) struct Renderer<'t> {
    pub(crate) parts: &'t [Tpl],
}

impl Renderer<'_> {
    pub(crate) fn render(&self, tpl: &Tpl, root: &Value) -> Result<Value, RenderError> {
        let mut scopes = vec![Frame {
            value: root,
            index: None,
        }];
        self.eval(tpl, &mut scopes)
    }

    fn eval<'v>(&self, tpl: &Tpl, scopes: &mut Vec<Frame<'v>>) -> Result<Value, RenderError> {
        match tpl {
            Tpl::Lit(v) => Ok(v.clone()),
            Tpl::Expr(e) => Ok(eval_expr(e, scopes)),
            Tpl::Interp(pieces) => {
                let mut out = String::new();
                for p in pieces {
                    match p {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Expr(e) => helpers::append_text(&mut out, &eval_expr(e, scopes)),
                    }
                }
                Ok(Value::String(out))
            }
            Tpl::Part(i) => match self.parts.get(*i) {
                Some(part) => self.eval(part, scopes),
                None => Err(RenderError(format!("part #{i} is missing"))),
            },
            Tpl::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let v = self.eval(item, scopes)?;
                    if !v.is_null() {
                        out.push(v);
                    }
                }
                Ok(Value::Array(out))
            }
            Tpl::Object { base, fields } => {
                let based = base.as_ref().map(|b| eval_expr(b, scopes));
                let mut map = match based {
                    Some(Value::Object(m)) => m,
                    _ => Map::with_capacity(fields.len()),
                };
                for (k, t) in fields {
                    let v = self.eval(t, scopes)?;
                    if v.is_null() {
                        map.remove(k);
                    } else {
                        map.insert(k.clone(), v);
                    }
                }
                // An object whose every field came out null is itself left out.
                if map.is_empty() && !fields.is_empty() && base.is_none() {
                    return Ok(Value::Null);
                }
                Ok(Value::Object(map))
            }
            Tpl::Each { over, body } => {
                let items = match lookup_expr(over, scopes) {
                    Some(Value::Array(items)) => items,
                    Some(Value::Null) | None => return Ok(Value::Null),
                    Some(other) => {
                        return Err(RenderError(format!(
                            "$each needs a list, got {}",
                            helpers::type_name(other)
                        )));
                    }
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    scopes.push(Frame {
                        value: item,
                        index: Some((i, items.len())),
                    });
                    let v = self.eval(body, scopes);
                    scopes.pop();
                    let v = v?;
                    if !v.is_null() {
                        out.push(v);
                    }
                }
                Ok(Value::Array(out))
            }
            Tpl::With { value, body } => match lookup_expr(value, scopes) {
                None | Some(Value::Null) => Ok(Value::Null),
                Some(v) => {
                    scopes.push(Frame {
                        value: v,
                        index: None,
                    });
                    let out = self.eval(body, scopes);
                    scopes.pop();
                    out
                }
            },
            Tpl::If {
                cond,
                then,
                otherwise,
            } => {
                if helpers::truthy(&eval_expr(cond, scopes)) {
                    self.eval(then, scopes)
                } else if let Some(o) = otherwise {
                    self.eval(o, scopes)
                } else {
                    Ok(Value::Null)
                }
            }
            Tpl::Match { on, cases, default } => {
                let key = eval_expr(on, scopes);
                let key_text = match &key {
                    Value::String(s) => s.clone(),
                    Value::Null => return Ok(Value::Null),
                    other => other.to_string(),
                };
                match cases.iter().find(|(k, _)| *k == key_text) {
                    Some((_, t)) => self.eval(t, scopes),
                    None => match default {
                        Some(d) => self.eval(d, scopes),
                        None => Err(RenderError(format!(
                            "this provider has no mapping for `{key_text}` (it takes: {})",
                            cases
                                .iter()
                                .map(|(k, _)| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))),
                    },
                }
            }
        }
    }
}

/// Evaluates an expression to an owned value (missing paths are `null`).
fn eval_expr(e: &Expr, scopes: &[Frame<'_>]) -> Value {
    match e {
        Expr::Lit(v) => v.clone(),
        Expr::Call { helper, args, hash } => {
            let args: Vec<Value> = args.iter().map(|a| eval_expr(a, scopes)).collect();
            let hash: Vec<(&str, Value)> = hash
                .iter()
                .map(|(k, a)| (k.as_str(), eval_expr(a, scopes)))
                .collect();
            helpers::call(*helper, &args, &hash)
        }
        Expr::Local { up, name } => {
            let Some((i, n)) = scopes
                .len()
                .checked_sub(1 + up)
                .and_then(|at| scopes.get(at))
                .and_then(|f| f.index)
            else {
                return Value::Null;
            };
            match name {
                LocalVar::Index => Value::from(i),
                LocalVar::First => Value::Bool(i == 0),
                LocalVar::Last => Value::Bool(i + 1 == n),
            }
        }
        Expr::Path(_) => lookup_expr(e, scopes).cloned().unwrap_or(Value::Null),
    }
}

/// Resolves a path (or local) expression to a borrowed value.
fn lookup_expr<'v>(e: &Expr, scopes: &[Frame<'v>]) -> Option<&'v Value> {
    match e {
        Expr::Path(p) => {
            let frame = if p.root {
                scopes.first()?
            } else {
                scopes.get(scopes.len().checked_sub(1 + p.up)?)?
            };
            let mut v = frame.value;
            for seg in &p.segs {
                v = match v {
                    Value::Object(m) => m.get(seg)?,
                    Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                    _ => return None,
                };
            }
            Some(v)
        }
        Expr::Local { .. } | Expr::Lit(_) | Expr::Call { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compile(v: Value) -> Tpl {
        let parts = HashMap::new();
        let mut c = Compiler::new(&parts);
        let t = c.compile(&v);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        t
    }

    fn render(t: Value, input: Value) -> Value {
        Renderer { parts: &[] }.render(&compile(t), &input).unwrap()
    }

    #[test]
    fn single_expression_keeps_json_type() {
        let out = render(
            json!({"n": "{{max_tokens}}", "msgs": "{{messages}}", "s": "{{stream}}"}),
            json!({"max_tokens": 5, "messages": [{"a": 1}], "stream": true}),
        );
        assert_eq!(out, json!({"n": 5, "msgs": [{"a": 1}], "s": true}));
    }

    #[test]
    fn null_values_drop_their_key() {
        let out = render(json!({"a": "{{missing}}", "b": "x"}), json!({}));
        assert_eq!(out, json!({"b": "x"}));
    }

    #[test]
    fn an_object_of_only_null_fields_is_left_out_but_a_literal_empty_one_stays() {
        let out = render(json!({"cfg": {"t": "{{missing}}"}, "empty": {}}), json!({}));
        assert_eq!(out, json!({"empty": {}}));
    }

    #[test]
    fn interpolation_builds_strings() {
        let out = render(json!("models/{{model}}:go"), json!({"model": "g-1"}));
        assert_eq!(out, json!("models/g-1:go"));
    }

    #[test]
    fn user_text_with_template_syntax_is_data() {
        let text = "{{evil}} \"quote\" \\ </script> \u{1F600}\n";
        let out = render(
            json!({"t": "{{text}}", "i": "pre {{text}}"}),
            json!({"text": text}),
        );
        assert_eq!(out["t"], json!(text));
        assert_eq!(out["i"], json!(format!("pre {text}")));
    }

    #[test]
    fn each_maps_items_with_index_and_parent_scope() {
        let out = render(
            json!({"$each": "{{items}}", "$do": {"v": "{{this}}", "i": "{{@index}}", "m": "{{../model}}", "r": "{{@root.model}}"}}),
            json!({"items": ["a", "b"], "model": "m"}),
        );
        assert_eq!(
            out,
            json!([{"v": "a", "i": 0, "m": "m", "r": "m"}, {"v": "b", "i": 1, "m": "m", "r": "m"}])
        );
    }

    #[test]
    fn match_picks_case_and_reports_missing_one() {
        let t = json!({"$match": "{{type}}", "text": {"t": "{{text}}"}});
        assert_eq!(
            render(t.clone(), json!({"type": "text", "text": "hi"})),
            json!({"t": "hi"})
        );
        let err = Renderer { parts: &[] }
            .render(&compile(t), &json!({"type": "audio"}))
            .unwrap_err();
        assert!(err.0.contains("audio"), "{}", err.0);
    }

    #[test]
    fn base_object_is_extended_and_null_removes() {
        let out = render(
            json!({"$base": "{{request}}", "model": "{{model}}", "user": "{{null}}"}),
            json!({"request": {"model": "p/m", "user": "u", "x": 1}, "model": "m"}),
        );
        assert_eq!(out, json!({"model": "m", "x": 1}));
    }

    #[test]
    fn helpers_compose_with_subexpressions() {
        let out = render(
            json!({"n": "{{default max_tokens 4096}}", "e": "{{eq (lower kind) \"a\"}}"}),
            json!({"kind": "A"}),
        );
        assert_eq!(out, json!({"n": 4096, "e": true}));
    }

    #[test]
    fn unknown_helper_and_bad_syntax_are_reported() {
        let parts = HashMap::new();
        let mut c = Compiler::new(&parts);
        c.compile(&json!({"a": "{{nope x}}", "b": "{{x}", "c": {"$bogus": 1}}));
        let msgs: Vec<String> = c
            .errors
            .iter()
            .map(|e| format!("{:?}: {}", e.at, e.message))
            .collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].contains("unknown helper `nope`"));
        assert!(msgs[1].contains("handlebars"));
        assert!(msgs[2].contains("$bogus"));
    }
}
