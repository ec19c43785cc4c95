//! The model catalog: per-model prices, limits and capabilities from
//! `pricing/<provider>.toml`, embedded in the binary and parsed once.
//! Prices are USD per million tokens; fees per request or image in USD.

use std::collections::HashMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A pricing file as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPricing {
    /// The provider id these prices belong to (a spec under providers/).
    pub provider: String,
    /// Where the figures came from (for readers and the schema).
    #[allow(dead_code)]
    pub source: Option<String>,
    /// When they were last regenerated, YYYY-MM-DD (for readers and the schema).
    #[allow(dead_code)]
    pub updated: Option<String>,
    #[serde(default)]
    pub models: IndexMap<String, ModelInfo>,
}

/// Prices, limits and capabilities of one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelInfo {
    /// USD per million uncached input tokens.
    pub input: Option<f64>,
    /// USD per million output tokens (reasoning included unless `reasoning` is set).
    pub output: Option<f64>,
    /// USD per million input tokens read from the prompt cache.
    pub cached_input: Option<f64>,
    /// USD per million input tokens written to the prompt cache.
    pub cache_write: Option<f64>,
    /// USD per million reasoning tokens, when billed apart from output.
    pub reasoning: Option<f64>,
    pub input_audio: Option<f64>,
    pub output_audio: Option<f64>,
    pub input_image: Option<f64>,
    pub output_image: Option<f64>,
    /// USD per input image.
    pub per_input_image: Option<f64>,
    /// USD per generated image.
    pub per_output_image: Option<f64>,
    /// USD per request, on top of tokens.
    pub per_request: Option<f64>,
    /// Higher rates once the prompt exceeds a size (the whole request is billed at the tier).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
    pub context_window: Option<u64>,
    pub max_output: Option<u64>,
    /// chat, completion, embedding or responses.
    pub mode: Option<String>,
    /// tools, parallel-tools, vision, json-mode, structured-output, reasoning, prompt-caching, embeddings, …
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Where the figures came from.
    pub source: Option<String>,
    /// Kept as written when the catalog is regenerated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hand_edited: bool,
    /// The provider no longer serves it; the prices are the last it
    /// published, kept so the cost of old calls, logs and code stays right.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

impl ModelInfo {
    /// Whether any token price is known.
    pub fn is_priced(&self) -> bool {
        self.input.is_some() || self.output.is_some()
    }

    pub fn supports(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// Rates that apply when the prompt has more than `above` tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tier {
    pub above: u64,
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cached_input: Option<f64>,
    pub cache_write: Option<f64>,
}

/// Every priced model, by provider and model name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub(crate) providers: HashMap<String, HashMap<String, ModelInfo>>,
}

impl Catalog {
    /// Adds one parsed file; later files override models of the same name.
    pub(crate) fn add(&mut self, raw: RawPricing) {
        let models = self.providers.entry(raw.provider).or_default();
        models.extend(raw.models);
    }

    /// The model's entry: exact name, then without a `models/` prefix, then lower-case.
    pub fn model_info(&self, provider: &str, model: &str) -> Option<&ModelInfo> {
        let models = self.providers.get(provider)?;
        models
            .get(model)
            .or_else(|| models.get(model.trim_start_matches("models/")))
            .or_else(|| models.get(&model.to_ascii_lowercase()))
    }

    /// Every (provider, model, info), sorted.
    pub fn models(&self) -> Vec<(&str, &str, &ModelInfo)> {
        let mut out: Vec<_> = self
            .providers
            .iter()
            .flat_map(|(p, ms)| ms.iter().map(move |(m, i)| (p.as_str(), m.as_str(), i)))
            .collect();
        out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        out
    }

    /// How many models have a price.
    pub fn priced_count(&self) -> usize {
        self.providers
            .values()
            .flat_map(|m| m.values())
            .filter(|i| i.is_priced())
            .count()
    }
}
