//! Cost tracking: the model catalog (`pricing/*.toml`), the price book a
//! client charges by (the catalog under entries set at run time), the cost
//! of a call from its usage, and token counting. Prices are applied as providers
//! bill them: cached reads and cache writes at their own rates, reasoning
//! apart when priced apart, long prompts at their tier, per-request fees.

pub(crate) mod book;
mod catalog;
#[cfg(feature = "cli")]
mod check;
mod tokens;

use std::sync::OnceLock;

pub use book::PriceBook;
pub(crate) use catalog::RawPricing;
pub use catalog::{Catalog, ModelInfo, Tier};
#[cfg(feature = "cli")]
pub(crate) use check::lint_pricing;
pub use tokens::{
    TokenCount, estimate_input_tokens, estimate_tokens, request_token_counter, text_token_counter,
    token_counter,
};

use crate::error::{Error, ErrorKind, Result};
use crate::types::{Cost, Usage};

include!(concat!(env!("OUT_DIR"), "/builtin_pricing.rs"));

impl Catalog {
    /// The catalog shipped in the binary, parsed once per process.
    pub fn builtin() -> Result<&'static Catalog> {
        static CATALOG: OnceLock<std::result::Result<Catalog, Error>> = OnceLock::new();
        CATALOG
            .get_or_init(Catalog::parse_builtin)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses the embedded pricing files (what [`Catalog::builtin`] caches).
    pub fn parse_builtin() -> Result<Catalog> {
        let mut catalog = Catalog::default();
        for (name, text) in BUILTIN_PRICING {
            let raw: RawPricing = toml::from_str(text)
                .map_err(|e| Error::new(ErrorKind::Internal, format!("{name}: {}", e.message())))?;
            catalog.add(raw);
        }
        Ok(catalog)
    }

    /// What `usage` costs on `provider`/`model` (see [`cost_of`]).
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage) -> Cost {
        match self.model_info(provider, model) {
            Some(info) if info.is_priced() => Cost {
                usd: cost_of(info, usage),
                priced: true,
            },
            _ => Cost::default(),
        }
    }
}

/// USD for `usage` at `info`'s prices. Usage is OpenAI-shaped: prompt tokens
/// include cached and cache-write tokens, completion tokens include reasoning.
pub fn cost_of(info: &ModelInfo, usage: &Usage) -> f64 {
    let tier = info
        .tiers
        .iter()
        .rev()
        .find(|t| usage.prompt_tokens > t.above);
    let rate = |tiered: Option<f64>, base: Option<f64>| tiered.or(base);
    let input = rate(tier.and_then(|t| t.input), info.input).unwrap_or(0.0);
    let output = rate(tier.and_then(|t| t.output), info.output).unwrap_or(0.0);
    let cached_rate = rate(tier.and_then(|t| t.cached_input), info.cached_input).unwrap_or(input);
    let write_rate = rate(tier.and_then(|t| t.cache_write), info.cache_write).unwrap_or(input);

    let cached = usage.cached_tokens().min(usage.prompt_tokens);
    let written = usage.cache_write_tokens().min(usage.prompt_tokens - cached);
    let uncached = usage.prompt_tokens - cached - written;
    let reasoning = usage.reasoning_tokens().min(usage.completion_tokens);
    let (reasoning_rate, plain_output) = match info.reasoning {
        Some(r) => (r, usage.completion_tokens - reasoning),
        None => (0.0, usage.completion_tokens),
    };
    let per_million = uncached as f64 * input
        + cached as f64 * cached_rate
        + written as f64 * write_rate
        + plain_output as f64 * output
        + if info.reasoning.is_some() {
            reasoning as f64 * reasoning_rate
        } else {
            0.0
        };
    per_million / 1_000_000.0 + info.per_request.unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CompletionTokensDetails, PromptTokensDetails};

    fn usage(prompt: u64, completion: u64, cached: u64, written: u64, reasoning: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            prompt_tokens_details: Some(PromptTokensDetails {
                cached_tokens: Some(cached),
                cache_write_tokens: Some(written),
            }),
            completion_tokens_details: Some(CompletionTokensDetails {
                reasoning_tokens: Some(reasoning),
            }),
            cost: None,
        }
    }

    #[test]
    fn cached_and_written_tokens_take_their_own_rates() {
        let info = ModelInfo {
            input: Some(3.0),
            output: Some(15.0),
            cached_input: Some(0.3),
            cache_write: Some(3.75),
            ..Default::default()
        };
        // 1000 prompt = 600 uncached + 300 cached + 100 written; 200 output.
        let got = cost_of(&info, &usage(1000, 200, 300, 100, 0));
        let want = (600.0 * 3.0 + 300.0 * 0.3 + 100.0 * 3.75 + 200.0 * 15.0) / 1e6;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn long_prompts_are_billed_at_their_tier_and_reasoning_apart_when_priced_apart() {
        let info = ModelInfo {
            input: Some(1.25),
            output: Some(10.0),
            reasoning: Some(20.0),
            tiers: vec![Tier {
                above: 200_000,
                input: Some(2.5),
                output: Some(15.0),
                ..Default::default()
            }],
            per_request: Some(0.001),
            ..Default::default()
        };
        let got = cost_of(&info, &usage(250_000, 1000, 0, 0, 400));
        let want = (250_000.0 * 2.5 + 600.0 * 15.0 + 400.0 * 20.0) / 1e6 + 0.001;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
}
