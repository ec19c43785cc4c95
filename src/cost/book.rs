//! The prices a Client charges by: the built-in catalog, under entries
//! registered at run time (litellm's `register_model`), and the per-token
//! rates a deployment or a call sets for itself (litellm's
//! `input_cost_per_token` / `output_cost_per_token`). Every value set at run
//! time is checked here (finite, not negative, plausible), so an absurd one
//! is an error naming it, never a price. Knows no provider and no request.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Catalog, ModelInfo, cost_of};
use crate::error::{Error, Result};
use crate::types::{Cost, Usage};

/// The most a token may cost, in USD per million (the lint's bound too).
pub(crate) const MAX_PER_MILLION: f64 = 1_000.0;
/// The most a per-request or per-image fee may be, in USD (the lint's bound too).
pub(crate) const MAX_FEE: f64 = 100.0;

/// The built-in catalog with run-time entries over it. Cheap to clone (the
/// run-time entries are shared until one clone registers another).
#[derive(Debug, Clone)]
pub struct PriceBook {
    builtin: &'static Catalog,
    /// provider → model → entry; consulted before the built-in catalog.
    own: Arc<HashMap<String, HashMap<String, ModelInfo>>>,
}

impl PriceBook {
    pub fn new(builtin: &'static Catalog) -> Self {
        PriceBook {
            builtin,
            own: Arc::default(),
        }
    }

    /// The built-in catalog alone.
    pub fn builtin(&self) -> &'static Catalog {
        self.builtin
    }

    /// Adds or replaces `provider`/`model`'s entry, once its values are checked.
    pub fn register(&mut self, provider: &str, model: &str, info: ModelInfo) -> Result<()> {
        info.check()
            .map_err(|e| Error::bad_request(format!("{provider}/{model}: {e}")))?;
        Arc::make_mut(&mut self.own)
            .entry(provider.to_string())
            .or_default()
            .insert(model.to_string(), info);
        Ok(())
    }

    /// The model's entry: one registered at run time, else the catalog's.
    pub fn model_info(&self, provider: &str, model: &str) -> Option<&ModelInfo> {
        self.own
            .get(provider)
            .and_then(|models| models.get(model))
            .or_else(|| self.builtin.model_info(provider, model))
    }

    /// What `usage` costs: at `own` when given (a deployment's or a call's
    /// own rates), else at the first of `models` with a price.
    pub fn cost(
        &self,
        own: Option<&ModelInfo>,
        provider: &str,
        models: [&str; 2],
        usage: &Usage,
    ) -> Cost {
        let priced = |info: &ModelInfo| Cost {
            usd: cost_of(info, usage),
            priced: true,
        };
        if let Some(info) = own.filter(|i| i.is_priced()) {
            return priced(info);
        }
        models
            .iter()
            .filter_map(|m| self.model_info(provider, m))
            .find(|i| i.is_priced())
            .map(priced)
            .unwrap_or_default()
    }
}

impl ModelInfo {
    /// This entry with litellm's per-token rates (USD per token) in place of
    /// its input and output prices; every other field is kept, as litellm
    /// keeps the rest of an entry it updates. An absurd rate is an error.
    pub fn with_token_prices(mut self, input: Option<f64>, output: Option<f64>) -> Result<Self> {
        for (name, rate) in [
            ("input_cost_per_token", input),
            ("output_cost_per_token", output),
        ] {
            if let Some(r) = rate
                && !(0.0..=MAX_PER_MILLION / 1e6).contains(&r)
            {
                return Err(Error::bad_request(format!(
                    "{name} = {r} is not a price in USD per token (0 to {})",
                    MAX_PER_MILLION / 1e6
                )));
            }
        }
        if let Some(r) = input {
            self.input = Some(r * 1e6);
        }
        if let Some(r) = output {
            self.output = Some(r * 1e6);
        }
        Ok(self)
    }

    /// Every per-million rate, named as in a pricing file (`tiers.input` for a tier's).
    pub(crate) fn rates(&self) -> Vec<(&'static str, Option<f64>)> {
        let mut rates = vec![
            ("input", self.input),
            ("output", self.output),
            ("cached-input", self.cached_input),
            ("cache-write", self.cache_write),
            ("reasoning", self.reasoning),
            ("input-audio", self.input_audio),
            ("output-audio", self.output_audio),
            ("input-image", self.input_image),
            ("output-image", self.output_image),
        ];
        for t in &self.tiers {
            rates.extend([
                ("tiers.input", t.input),
                ("tiers.output", t.output),
                ("tiers.cached-input", t.cached_input),
                ("tiers.cache-write", t.cache_write),
            ]);
        }
        rates
    }

    /// Every fee in USD, named as in a pricing file.
    pub(crate) fn fees(&self) -> [(&'static str, Option<f64>); 3] {
        [
            ("per-request", self.per_request),
            ("per-input-image", self.per_input_image),
            ("per-output-image", self.per_output_image),
        ]
    }

    /// Whether every price is a plausible number: per-million rates within
    /// 0 to [`MAX_PER_MILLION`], fees within 0 to [`MAX_FEE`].
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        for (name, value) in self.rates() {
            if let Some(v) = value.filter(|v| !(0.0..=MAX_PER_MILLION).contains(v)) {
                return Err(format!(
                    "{name} = {v} USD per million tokens is not plausible (0 to {MAX_PER_MILLION})"
                ));
            }
        }
        for (name, value) in self.fees() {
            if let Some(v) = value.filter(|v| !(0.0..=MAX_FEE).contains(v)) {
                return Err(format!(
                    "{name} = {v} USD is not plausible (0 to {MAX_FEE})"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(prompt: u64, completion: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            ..Default::default()
        }
    }

    #[test]
    fn a_registered_entry_prices_a_model_the_catalog_does_not_know() {
        let mut book = PriceBook::new(Catalog::builtin().unwrap());
        let u = usage(1000, 100);
        assert!(!book.cost(None, "openai", ["my-tune", "my-tune"], &u).priced);
        let info = ModelInfo::default()
            .with_token_prices(Some(0.000_002), Some(0.000_008))
            .unwrap();
        book.register("openai", "my-tune", info).unwrap();
        let c = book.cost(None, "openai", ["my-tune", "my-tune"], &u);
        assert!(c.priced);
        assert!(
            (c.usd - (1000.0 * 2e-6 + 100.0 * 8e-6)).abs() < 1e-12,
            "{c:?}"
        );
    }

    #[test]
    fn a_registered_entry_replaces_the_catalogs_and_clones_made_before_keep_the_old() {
        let mut book = PriceBook::new(Catalog::builtin().unwrap());
        let before = book.clone();
        let catalog_input = book.model_info("openai", "gpt-4o").unwrap().input;
        let cheaper = book
            .model_info("openai", "gpt-4o")
            .cloned()
            .unwrap()
            .with_token_prices(Some(1e-7), None)
            .unwrap();
        book.register("openai", "gpt-4o", cheaper).unwrap();
        let now = book.model_info("openai", "gpt-4o").unwrap();
        assert!((now.input.unwrap() - 0.1).abs() < 1e-9);
        assert_eq!(
            now.output,
            before.model_info("openai", "gpt-4o").unwrap().output
        );
        assert_eq!(
            before.model_info("openai", "gpt-4o").unwrap().input,
            catalog_input
        );
    }

    #[test]
    fn a_calls_own_rates_win_over_the_catalog() {
        let book = PriceBook::new(Catalog::builtin().unwrap());
        let own = ModelInfo::default()
            .with_token_prices(Some(1e-6), Some(0.0))
            .unwrap();
        let c = book.cost(Some(&own), "openai", ["gpt-4o", "gpt-4o"], &usage(500, 500));
        assert!((c.usd - 500.0 * 1e-6).abs() < 1e-12, "{c:?}");
    }

    #[test]
    fn absurd_prices_are_refused_naming_the_key() {
        for bad in [-1e-6, f64::NAN, f64::INFINITY, 5.0] {
            let e = ModelInfo::default()
                .with_token_prices(Some(bad), None)
                .unwrap_err();
            assert!(e.message().contains("input_cost_per_token"), "{e}");
        }
        let mut book = PriceBook::new(Catalog::builtin().unwrap());
        let info = ModelInfo {
            per_request: Some(1e9),
            ..Default::default()
        };
        let e = book.register("openai", "x", info).unwrap_err();
        assert!(e.message().contains("per-request"), "{e}");
    }
}
