//! Value templates: the request-body language of a provider spec, its
//! compiler (`compile`), its part graph checks (`parts`) and its evaluator
//! (`eval`). Knows no spec file and no provider; spec compiles templates
//! once at load, the engine evaluates them per call.
//!
//! A template is a JSON-shaped value (written as TOML in a spec) whose string
//! leaves use handlebars syntax, parsed with the `handlebars` crate's parser:
//!
//! - `"{{expr}}"`: a leaf that is exactly one expression keeps the JSON type
//!   of its value (object, array, number…); `null` drops the key.
//! - `"text {{expr}}"`: string interpolation; values are inserted as text.
//! - `"{{> name}}"`: renders the named part with the current scope.
//! - objects with a `$`-key are structural: `$each`/`$do` (+ `$flatten`), `$if`/`$then`/`$else`,
//!   `$match` (+ cases, `$default`), `$with`/`$do`, `$base` (object to extend).
//!
//! Because the output is built as a `serde_json::Value`, never as text, any
//! user string is data: a rendered body is valid JSON for every input.
//!
//! Nothing a spec writes can make compiling or rendering recurse or grow
//! without bound: templates nest at most [`MAX_DEPTH`] deep (counting
//! through parts), parts may not include each other in a cycle, a template
//! expands through its parts to at most [`MAX_EXPANSION`] nodes, an
//! expression nests subexpressions at most [`MAX_SUBEXPRESSIONS`] deep, and
//! one rendered value is at most [`MAX_RENDERED`] bytes.

pub(crate) mod compile;
mod eval;
pub(crate) mod helpers;
pub(crate) mod parts;
// What a template reads: only lint asks.
#[cfg(any(feature = "cli", test))]
pub(crate) mod reads;

use std::fmt;

use serde_json::Value;

pub(crate) use compile::{Cache, Compiler};
pub(crate) use eval::Renderer;
use helpers::Helper;

/// How deep a template may nest, counting the templates of the parts it includes.
pub(crate) const MAX_DEPTH: usize = 64;
/// How many nodes a template may expand to once every part it includes is inlined.
pub(crate) const MAX_EXPANSION: usize = 100_000;
/// How deep subexpressions may nest in one expression: `(a (b (c …)))`.
pub(crate) const MAX_SUBEXPRESSIONS: usize = 16;
/// The largest value one render may produce, in bytes of text (about its JSON size).
pub(crate) const MAX_RENDERED: usize = 64 * 1024 * 1024;

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
        /// `"$flatten" = true`: an item that renders a list is spliced in.
        flatten: bool,
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

impl Tpl {
    /// The templates directly inside this one, in order.
    pub(crate) fn children(&self) -> Vec<&Tpl> {
        match self {
            Tpl::Lit(_) | Tpl::Expr(_) | Tpl::Interp(_) | Tpl::Part(_) => Vec::new(),
            Tpl::Array(items) => items.iter().collect(),
            Tpl::Object { fields, .. } => fields.iter().map(|(_, t)| t).collect(),
            Tpl::Each { body, .. } | Tpl::With { body, .. } => vec![body],
            Tpl::If {
                then, otherwise, ..
            } => std::iter::once(&**then)
                .chain(otherwise.as_deref())
                .collect(),
            Tpl::Match { cases, default, .. } => cases
                .iter()
                .map(|(_, t)| t)
                .chain(default.as_deref())
                .collect(),
        }
    }
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

/// A failure while rendering (e.g. a `$match` with no case for a value).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RenderError(pub(crate) String);

#[cfg(test)]
mod tests;
