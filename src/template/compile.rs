//! The template compiler: a JSON-shaped value whose string leaves are
//! handlebars text becomes a [`Tpl`], checked once (syntax, helpers and
//! their arity, parts, directives, depth). Every problem is collected with
//! its key path inside the template, not just the first. Evaluates nothing.

use std::collections::HashMap;

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use serde_json::{Map, Value};

use super::helpers;
use super::{Expr, LocalVar, MAX_DEPTH, MAX_SUBEXPRESSIONS, PathExpr, Piece, TemplateError, Tpl};
use crate::suggest::closest;

/// String leaves already compiled in this load: specs that extend another
/// repeat its leaves, and a leaf that names no part compiles the same
/// everywhere. Owned by one load, so it never outlives the files it saw.
#[derive(Debug, Default)]
pub(crate) struct Cache(HashMap<String, Tpl>);

/// Compiles templates against a table of named parts.
pub(crate) struct Compiler<'a> {
    parts: &'a HashMap<String, usize>,
    cache: &'a mut Cache,
    pub(crate) errors: Vec<TemplateError>,
    at: Vec<String>,
}

const DIRECTIVES: &[&str] = &[
    "$each", "$do", "$flatten", "$if", "$then", "$else", "$match", "$default", "$with", "$base",
];

impl<'a> Compiler<'a> {
    /// A compiler that resolves `{{> name}}` through `parts` (name → index).
    pub(crate) fn new(parts: &'a HashMap<String, usize>, cache: &'a mut Cache) -> Self {
        Compiler {
            parts,
            cache,
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
        if self.at.len() >= MAX_DEPTH {
            self.err(format!(
                "the template nests more than {MAX_DEPTH} tables and lists deep"
            ));
            return Tpl::Lit(Value::Null);
        }
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
            let flatten = match map.get("$flatten") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    self.nested("$flatten", |c| {
                        c.err("$flatten takes true or false (true: an item that renders a list is spliced in)")
                    });
                    false
                }
            };
            self.only(map, &["$each", "$do", "$flatten"]);
            return over.map_or(Tpl::Lit(Value::Null), |over| Tpl::Each {
                over,
                body,
                flatten,
            });
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
        for stray in ["$do", "$flatten", "$then", "$else", "$default"] {
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
        // The handlebars parser recurses once per nested subexpression.
        if subexpression_depth(source) > MAX_SUBEXPRESSIONS {
            self.err(format!(
                "subexpressions nest more than {MAX_SUBEXPRESSIONS} deep in {}",
                shown(source)
            ));
            return None;
        }
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
                self.err(format!("invalid handlebars{at} in {}{hint}", shown(source)));
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
                    "expected exactly one expression like \"{{{{messages}}}}\", got {}",
                    shown(source)
                ));
                None
            }
        }
    }

    fn string(&mut self, source: &str) -> Tpl {
        if !source.contains("{{") {
            return Tpl::Lit(Value::String(source.to_string()));
        }
        let cacheable = !source.contains("{{>");
        if cacheable && let Some(hit) = self.cache.0.get(source) {
            return hit.clone();
        }
        let errors_before = self.errors.len();
        let tpl = self.string_uncached(source);
        if cacheable && self.errors.len() == errors_before {
            self.cache.0.insert(source.to_string(), tpl.clone());
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
                            self.err(format!("unknown part `{name}` in {}", shown(source)));
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
                    "block helpers ({{{{#…}}}}) are not used inside strings; use $if, $each or $match: {}",
                    shown(source)
                )),
                TemplateElement::PartialExpression(_) => {
                    self.err(format!("a part ({{{{> name}}}}) must be the whole string: {}", shown(source)))
                }
                _ => self.err(format!("unsupported handlebars construct in {}", shown(source))),
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
            let hint = match closest(&name, names.iter().copied()) {
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
            // `{{null}}` reaches here as a path: a literal's text is the literal.
            Parameter::Path(path) => Some(name_to_expr(raw_path(path))),
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

/// A template's text as a message quotes it: in full when short, else its start.
fn shown(source: &str) -> String {
    const MAX: usize = 120;
    if source.len() <= MAX {
        return format!("{source:?}");
    }
    let start: String = source.chars().take(MAX / 2).collect();
    format!("{start:?}… ({} bytes)", source.len())
}

/// The deepest nesting of parentheses inside any `{{…}}` of `source`
/// (string literals skipped).
fn subexpression_depth(source: &str) -> usize {
    let (mut inside, mut depth, mut deepest) = (false, 0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if !inside {
            if c == '{' && chars.peek() == Some(&'{') {
                inside = true;
                depth = 0;
            }
            continue;
        }
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            '}' if chars.peek() == Some(&'}') => inside = false,
            _ => {}
        }
    }
    deepest
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
