//! The template evaluator: renders a compiled [`Tpl`] against a JSON root
//! (the canonical request). Pure: reads no clock, env or socket. Bounded:
//! one render produces at most [`MAX_RENDERED`] bytes and recurses at most
//! twice [`MAX_DEPTH`] deep, whatever the template and the input.

use serde_json::{Map, Value};

use super::helpers;
use super::{Expr, LocalVar, MAX_DEPTH, MAX_RENDERED, Piece, RenderError, Tpl};

/// Renders compiled templates; `parts` are the spec's named parts.
pub(crate) struct Renderer<'t> {
    pub(crate) parts: &'t [Tpl],
}

/// One level of scope: the value in view and its loop position.
#[derive(Clone, Copy)]
struct Frame<'v> {
    value: &'v Value,
    index: Option<(usize, usize)>,
}

/// The state of one render: scopes, how deep it is, and what it may still produce.
struct Walk<'t, 'v> {
    parts: &'t [Tpl],
    scopes: Vec<Frame<'v>>,
    depth: usize,
    /// Bytes (of text, about the JSON size) the render may still produce.
    left: usize,
}

impl Renderer<'_> {
    pub(crate) fn render(&self, tpl: &Tpl, root: &Value) -> Result<Value, RenderError> {
        let mut walk = Walk {
            parts: self.parts,
            scopes: vec![Frame {
                value: root,
                index: None,
            }],
            depth: 0,
            left: MAX_RENDERED,
        };
        walk.eval(tpl)
    }
}

impl<'v> Walk<'_, 'v> {
    /// Charges `cost` bytes to the render, failing once the limit is passed.
    fn charge(&mut self, cost: usize) -> Result<(), RenderError> {
        match self.left.checked_sub(cost) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(RenderError(format!(
                "the rendered request would be larger than {} MiB, the limit for one render",
                MAX_RENDERED / (1024 * 1024)
            ))),
        }
    }

    /// Charges a value about to be placed in the output.
    fn charge_value(&mut self, v: &Value) -> Result<(), RenderError> {
        let cost = weight(v, self.left.saturating_add(1));
        self.charge(cost)
    }

    fn eval(&mut self, tpl: &Tpl) -> Result<Value, RenderError> {
        // Compiled specs nest at most MAX_DEPTH deep through their parts;
        // this guards a template built any other way.
        if self.depth > 2 * MAX_DEPTH {
            return Err(RenderError(format!(
                "the template nests more than {} deep while rendering (do parts include each other?)",
                2 * MAX_DEPTH
            )));
        }
        self.charge(1)?;
        self.depth += 1;
        let out = self.eval_inner(tpl);
        self.depth -= 1;
        out
    }

    /// `body` once per item of `items` (the item in scope); nulls dropped,
    /// and with `flat` a list the body renders spliced in.
    fn each(&mut self, items: &'v [Value], body: &Tpl, flat: bool) -> Result<Value, RenderError> {
        let mut out = Vec::with_capacity(items.len().min(1024));
        for (i, item) in items.iter().enumerate() {
            self.scopes.push(Frame {
                value: item,
                index: Some((i, items.len())),
            });
            let v = self.eval(body);
            self.scopes.pop();
            match v? {
                Value::Null => {}
                Value::Array(list) if flat => out.extend(list.into_iter().filter(|v| !v.is_null())),
                v => out.push(v),
            }
        }
        Ok(Value::Array(out))
    }

    fn eval_inner(&mut self, tpl: &Tpl) -> Result<Value, RenderError> {
        match tpl {
            Tpl::Lit(v) => {
                self.charge_value(v)?;
                Ok(v.clone())
            }
            Tpl::Expr(e) => {
                let v = eval_expr(e, &self.scopes);
                self.charge_value(&v)?;
                Ok(v)
            }
            Tpl::Interp(pieces) => {
                let mut out = String::new();
                for p in pieces {
                    match p {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Expr(e) => {
                            helpers::append_text(&mut out, &eval_expr(e, &self.scopes))
                        }
                    }
                }
                self.charge(out.len())?;
                Ok(Value::String(out))
            }
            Tpl::Part(i) => match self.parts.get(*i) {
                Some(part) => self.eval(part),
                None => Err(RenderError(format!("part #{i} is missing"))),
            },
            Tpl::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let v = self.eval(item)?;
                    if !v.is_null() {
                        out.push(v);
                    }
                }
                Ok(Value::Array(out))
            }
            Tpl::Object { base, fields } => {
                let based = base.as_ref().map(|b| eval_expr(b, &self.scopes));
                if let Some(b) = &based {
                    self.charge_value(b)?;
                }
                let mut map = match based {
                    Some(Value::Object(m)) => m,
                    _ => Map::with_capacity(fields.len()),
                };
                for (k, t) in fields {
                    let v = self.eval(t)?;
                    if v.is_null() {
                        map.remove(k);
                    } else {
                        self.charge(k.len())?;
                        map.insert(k.clone(), v);
                    }
                }
                // An object whose every field came out null is itself left out.
                if map.is_empty() && !fields.is_empty() && base.is_none() {
                    return Ok(Value::Null);
                }
                Ok(Value::Object(map))
            }
            Tpl::Concat(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match self.eval(item)? {
                        Value::Null => {}
                        Value::Array(list) => out.extend(list.into_iter().filter(|v| !v.is_null())),
                        v => out.push(v),
                    }
                }
                Ok(Value::Array(out))
            }
            Tpl::Each { over, body, flat } => {
                if !matches!(over, Expr::Path(_)) {
                    // A computed list (`{{where content "type" "text"}}`): owned
                    // here, walked by a walk whose scopes live no longer than it.
                    let owned = eval_expr(over, &self.scopes);
                    let items = match &owned {
                        Value::Array(items) => items,
                        Value::Null => return Ok(Value::Null),
                        other => {
                            return Err(RenderError(format!(
                                "$each needs a list, got {}",
                                helpers::type_name(other)
                            )));
                        }
                    };
                    let mut inner = Walk {
                        parts: self.parts,
                        scopes: self.scopes.clone(),
                        depth: self.depth,
                        left: self.left,
                    };
                    let out = inner.each(items, body, *flat);
                    self.left = inner.left;
                    return out;
                }
                let items = match lookup_expr(over, &self.scopes) {
                    Some(Value::Array(items)) => items,
                    Some(Value::Null) | None => return Ok(Value::Null),
                    Some(other) => {
                        return Err(RenderError(format!(
                            "$each needs a list, got {}",
                            helpers::type_name(other)
                        )));
                    }
                };
                self.each(items, body, *flat)
            }
            Tpl::With { value, body } => match lookup_expr(value, &self.scopes) {
                None | Some(Value::Null) => Ok(Value::Null),
                Some(v) => {
                    self.scopes.push(Frame {
                        value: v,
                        index: None,
                    });
                    let out = self.eval(body);
                    self.scopes.pop();
                    out
                }
            },
            Tpl::If {
                cond,
                then,
                otherwise,
            } => {
                if helpers::truthy(&eval_expr(cond, &self.scopes)) {
                    self.eval(then)
                } else if let Some(o) = otherwise {
                    self.eval(o)
                } else {
                    Ok(Value::Null)
                }
            }
            Tpl::Match { on, cases, default } => {
                let key = eval_expr(on, &self.scopes);
                let key_text = match &key {
                    Value::String(s) => s.clone(),
                    Value::Null => return Ok(Value::Null),
                    other => other.to_string(),
                };
                match cases.iter().find(|(k, _)| *k == key_text) {
                    Some((_, t)) => self.eval(t),
                    None => match default {
                        Some(d) => self.eval(d),
                        None => Err(RenderError(format!(
                            "this provider has no mapping for `{}` (it takes: {})",
                            shown_key(&key_text),
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

/// A `$match` key as an error quotes it: caller text, so cut when long.
fn shown_key(key: &str) -> String {
    if key.len() <= 64 {
        return key.to_string();
    }
    let start: String = key.chars().take(32).collect();
    format!("{start}…")
}

/// About the size of `v` as JSON text, counted up to `limit`: text by its
/// bytes, everything else 8 bytes a node. Walks without recursion.
fn weight(v: &Value, limit: usize) -> usize {
    // Most values are text or a number: no walk.
    match v {
        Value::String(s) => return s.len() + 2,
        Value::Array(a) if a.is_empty() => return 8,
        Value::Object(m) if m.is_empty() => return 8,
        Value::Array(_) | Value::Object(_) => {}
        _ => return 8,
    }
    let mut total = 0usize;
    let mut stack = Vec::with_capacity(32);
    stack.push(v);
    while let Some(v) = stack.pop() {
        total = total.saturating_add(match v {
            Value::String(s) => s.len() + 2,
            Value::Array(a) => {
                stack.extend(a.iter());
                8
            }
            Value::Object(m) => {
                for (k, v) in m {
                    total = total.saturating_add(k.len());
                    stack.push(v);
                }
                8
            }
            _ => 8,
        });
        if total > limit {
            break;
        }
    }
    total
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
                .checked_sub(up.saturating_add(1))
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
                scopes.get(scopes.len().checked_sub(p.up.saturating_add(1))?)?
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
