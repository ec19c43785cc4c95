//! The set of compiled specs a client uses: the built-in ones embedded in
//! the binary, optionally overridden or extended by a directory of user
//! specs, and model-name resolution over them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::{Diagnostic, Source, Spec, load};
use crate::error::{Error, ErrorKind, Result};

include!(concat!(env!("OUT_DIR"), "/builtin_specs.rs"));

/// Compiled provider specs, by id.
#[derive(Debug, Clone)]
pub struct Registry {
    specs: Vec<Arc<Spec>>,
    index: HashMap<String, usize>,
}

impl Registry {
    /// The specs shipped in the binary.
    pub fn builtin() -> Result<Self> {
        Self::from_sources(builtin_sources())
    }

    /// Built-in specs plus every `*.toml` in `dir` (same id overrides).
    pub fn with_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let mut sources = builtin_sources();
        sources.extend(read_dir_sources(dir.as_ref())?);
        Self::from_sources(sources)
    }

    /// Compiles `sources`; any finding fails the whole load with every finding listed.
    pub fn from_sources(sources: Vec<Source>) -> Result<Self> {
        let loaded = load(&sources, None);
        if !loaded.diagnostics.is_empty() {
            let list: Vec<String> = loaded
                .diagnostics
                .iter()
                .map(Diagnostic::to_string)
                .collect();
            return Err(Error::new(
                ErrorKind::BadRequest,
                format!("invalid provider specs:\n{}", list.join("\n")),
            ));
        }
        let mut specs: Vec<Arc<Spec>> = loaded.specs.into_iter().map(Arc::new).collect();
        specs.sort_by(|a, b| a.id.cmp(&b.id));
        let index = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        Ok(Registry { specs, index })
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Spec>> {
        self.index.get(id).map(|&i| &self.specs[i])
    }

    /// Every spec, sorted by id.
    pub fn specs(&self) -> &[Arc<Spec>] {
        &self.specs
    }

    /// Resolves `provider/model` or a bare model name (by the longest
    /// matching prefix) to a spec and the provider-side model name.
    pub fn resolve(&self, model: &str) -> Result<(Arc<Spec>, String)> {
        if let Some((provider, rest)) = model.split_once('/')
            && let Some(spec) = self.get(provider)
        {
            return Ok((spec.clone(), rest.to_string()));
        }
        let best = self
            .specs
            .iter()
            .flat_map(|s| s.model_prefixes.iter().map(move |p| (s, p)))
            .filter(|(_, p)| model.starts_with(p.as_str()))
            .max_by_key(|(_, p)| p.len());
        match best {
            Some((spec, _)) => Ok((spec.clone(), model.to_string())),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "no provider for model {model:?}: write it as provider/model (providers: {})",
                    self.specs
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}

/// The embedded spec files.
pub(crate) fn builtin_sources() -> Vec<Source> {
    BUILTIN
        .iter()
        .map(|(name, text)| Source {
            name: name.to_string(),
            text: text.to_string(),
        })
        .collect()
}

/// Every `*.toml` file directly in `dir`, sorted by name.
pub(crate) fn read_dir_sources(dir: &Path) -> Result<Vec<Source>> {
    let read_err =
        |e: std::io::Error| Error::bad_request(format!("cannot read {}: {e}", dir.display()));
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(read_err)?;
            Ok(Source {
                name: p.display().to_string(),
                text,
            })
        })
        .collect()
}
