//! The set of compiled specs a client uses: the built-in ones embedded in
//! the binary, optionally overridden or extended by a directory of user
//! specs, and model-name resolution over them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::{Diagnostic, Severity, Source, Spec, load};
use crate::error::{Error, ErrorKind, Result};

include!(concat!(env!("OUT_DIR"), "/builtin_specs.rs"));

/// Compiled provider specs, by id.
#[derive(Debug, Clone)]
pub struct Registry {
    specs: Vec<Arc<Spec>>,
    index: HashMap<String, usize>,
    warnings: Vec<Diagnostic>,
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

    /// Compiles `sources`; any error fails the whole load with every
    /// finding listed in the message (see [`Registry::try_from_sources`]
    /// for them as a list).
    pub fn from_sources(sources: Vec<Source>) -> Result<Self> {
        Self::try_from_sources(sources).map_err(|found| {
            let list: Vec<String> = found.iter().map(Diagnostic::to_string).collect();
            Error::new(
                ErrorKind::BadRequest,
                format!("invalid provider specs:\n{}", list.join("\n")),
            )
        })
    }

    /// Compiles `sources` (later ones replace earlier ones with the same
    /// id). When any finding is an error, every finding, errors and
    /// warnings, sorted by file and line.
    ///
    /// ```
    /// use switchboard::{Registry, Severity, Source};
    ///
    /// let broken = Source { name: "acme.toml".into(), text: "extends = \"nope\"".into() };
    /// let found = Registry::try_from_sources(vec![broken]).unwrap_err();
    /// assert_eq!(found[0].severity, Severity::Error);
    /// assert_eq!(found[0].code, "extends");
    /// ```
    pub fn try_from_sources(sources: Vec<Source>) -> std::result::Result<Self, Vec<Diagnostic>> {
        let loaded = load(&sources, None);
        let mut found = loaded.diagnostics;
        found.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        if found.iter().any(|d| d.severity == Severity::Error) {
            return Err(found);
        }
        let mut specs: Vec<Arc<Spec>> = loaded.specs.into_iter().map(Arc::new).collect();
        specs.sort_by(|a, b| a.id.cmp(&b.id));
        let index = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        Ok(Registry {
            specs,
            index,
            warnings: found,
        })
    }

    /// What loading found that did not stop it (deprecated forms), each
    /// with its file and line.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Spec>> {
        self.index.get(id).map(|&i| &self.specs[i])
    }

    /// Every spec, sorted by id.
    pub fn specs(&self) -> &[Arc<Spec>] {
        &self.specs
    }

    /// The OpenAI request parameters the provider of `model` carries
    /// (`provider/model`, a bare model name, or a provider id), in
    /// [`crate::OPENAI_PARAMS`] order: litellm's `get_supported_openai_params`.
    /// A spec that declares none carries every one.
    ///
    /// ```
    /// let reg = switchboard::Registry::builtin().unwrap();
    /// let carried = reg.supported_openai_params("gpt-4o").unwrap();
    /// assert!(carried.iter().any(|p| p == "logit_bias"));
    /// ```
    pub fn supported_openai_params(&self, model: &str) -> Result<Vec<String>> {
        let spec = match self.get(model) {
            Some(spec) => spec.clone(),
            None => self.resolve(model)?.0,
        };
        Ok(match spec.openai_params() {
            Some(list) => list.to_vec(),
            None => crate::types::OPENAI_PARAMS
                .iter()
                .map(|p| p.to_string())
                .collect(),
        })
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
