//! Provider specs: load TOML files, resolve `extends`, compile everything
//! once, and report every problem with a file:line:col. Does no I/O at
//! request time, and imports nothing above it: the template and JSONPath
//! languages (`crate::template`, `crate::jsonpath`) are below it, the
//! engine that evaluates a compiled spec and the lint that renders samples
//! are above it.
//!
//! raw (as written) → load (`extends`, borrowed parts) → schema (typed, every
//! problem) → compile (templates, paths, rules) → diagnostic (file:line:col).

pub(crate) mod compile;
pub mod diagnostic;
mod framing;
mod load;
pub(crate) mod raw;
pub(crate) mod registry;
mod schema;
mod variants;

use std::collections::HashMap;

pub(crate) use compile::Shape;
pub use compile::Spec;
pub use diagnostic::{Diagnostic, Severity};
pub(crate) use framing::Framing;
#[cfg(feature = "cli")]
pub(crate) use load::Loaded;
pub(crate) use load::load;
pub use registry::Registry;
pub use schema::schema;

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

/// Every finding of loading `sources` (later ones override earlier ones
/// with the same id), errors and warnings, sorted by place. Renders
/// nothing: `switchboard lint` adds sample renders on top.
pub fn check(sources: &[Source]) -> Vec<Diagnostic> {
    let mut out = load(sources, None).diagnostics;
    out.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    out
}

/// Provider id → the chain of source indices (self first, then what it extends).
pub(crate) type Chains = HashMap<String, Vec<usize>>;

#[cfg(test)]
mod tests;
