//! Picking a deployment: a pure function of the candidates' state and one
//! random draw. Knows nothing of HTTP.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::error::Error;

/// How the Router chooses among healthy deployments of a group. Named in
/// TOML, the builder or `FromStr` by its own name or litellm's
/// (`simple-shuffle`, `usage-based-routing-v2`, …; see [`Strategy::NAMES`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Strategy {
    /// Random, in proportion to each deployment's weight.
    #[default]
    WeightedShuffle,
    /// Fewest requests in flight.
    LeastBusy,
    /// Most rpm/tpm headroom left this minute.
    UsageBased,
    /// Lowest moving-average latency (time to first token for streams); untried first.
    LatencyBased,
    /// Cheapest by catalog price per token.
    LowestCost,
}

impl Strategy {
    /// Every accepted name: Switchboard's first, then litellm's for the same strategy.
    pub const NAMES: [(&'static str, Strategy); 11] = [
        ("weighted-shuffle", Strategy::WeightedShuffle),
        ("least-busy", Strategy::LeastBusy),
        ("usage-based", Strategy::UsageBased),
        ("latency-based", Strategy::LatencyBased),
        ("lowest-cost", Strategy::LowestCost),
        ("simple-shuffle", Strategy::WeightedShuffle),
        ("shuffle", Strategy::WeightedShuffle),
        ("usage-based-routing", Strategy::UsageBased),
        ("usage-based-routing-v2", Strategy::UsageBased),
        ("latency-based-routing", Strategy::LatencyBased),
        ("cost-based-routing", Strategy::LowestCost),
    ];

    /// Switchboard's name for it (`weighted-shuffle`).
    pub fn as_str(self) -> &'static str {
        Strategy::NAMES
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("weighted-shuffle", |(n, _)| n)
    }
}

impl FromStr for Strategy {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        Strategy::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                let names: Vec<&str> = Strategy::NAMES.iter().map(|(n, _)| *n).collect();
                Error::bad_request(format!(
                    "unknown routing strategy {name:?} (one of: {})",
                    names.join(", ")
                ))
            })
    }
}

impl TryFrom<String> for Strategy {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        name.parse().map_err(|e: Error| e.message().to_string())
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl schemars::JsonSchema for Strategy {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Strategy".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Strategy::NAMES.iter().map(|(n, _)| *n).collect();
        schemars::json_schema!({
            "description": "How the Router picks a deployment: Switchboard's name or litellm's.",
            "type": "string",
            "enum": names,
        })
    }
}

/// What a strategy sees of one candidate.
#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    pub weight: f64,
    pub in_flight: u64,
    /// Fraction of this minute's rpm/tpm limit used (0 when unlimited).
    pub usage: f64,
    /// Moving-average latency in ms; None when never measured.
    pub latency_ms: Option<f64>,
    /// USD per million tokens (input + output); None when unpriced.
    pub price: Option<f64>,
}

/// Index of the chosen candidate; `draw` is uniform in [0, 1). None when empty.
pub fn pick(strategy: Strategy, views: &[View], draw: f64) -> Option<usize> {
    if views.is_empty() {
        return None;
    }
    // Random in proportion to weight, among the candidates `keep` admits.
    let weighted = |keep: &dyn Fn(usize) -> bool| -> usize {
        let kept = || (0..views.len()).filter(|&i| keep(i));
        let total: f64 = kept().map(|i| views[i].weight.max(0.0)).sum();
        let count = kept().count();
        if total <= 0.0 {
            let nth = ((draw * count as f64) as usize).min(count.saturating_sub(1));
            return kept().nth(nth).unwrap_or(0);
        }
        let mut target = draw * total;
        let mut last = 0;
        for i in kept() {
            target -= views[i].weight.max(0.0);
            last = i;
            if target < 0.0 {
                return i;
            }
        }
        last
    };
    // Ties on the strategy's measure are broken by weight.
    let best_by = |key: &dyn Fn(&View) -> f64| -> usize {
        let best = views.iter().map(key).fold(f64::INFINITY, f64::min);
        weighted(&|i| key(&views[i]) <= best + 1e-12)
    };
    Some(match strategy {
        Strategy::WeightedShuffle => weighted(&|_| true),
        Strategy::LeastBusy => best_by(&|v| v.in_flight as f64),
        Strategy::UsageBased => best_by(&|v| v.usage),
        Strategy::LatencyBased => best_by(&|v| v.latency_ms.unwrap_or(0.0)),
        Strategy::LowestCost => best_by(&|v| v.price.unwrap_or(f64::INFINITY)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(weight: f64) -> View {
        View {
            weight,
            ..Default::default()
        }
    }

    #[test]
    fn weighted_shuffle_follows_weights() {
        let views = [v(1.0), v(3.0)];
        assert_eq!(pick(Strategy::WeightedShuffle, &views, 0.1), Some(0));
        assert_eq!(pick(Strategy::WeightedShuffle, &views, 0.3), Some(1));
        assert_eq!(pick(Strategy::WeightedShuffle, &views, 0.99), Some(1));
    }

    #[test]
    fn least_busy_takes_the_fewest_in_flight() {
        let mut views = [v(1.0), v(1.0), v(1.0)];
        views[0].in_flight = 3;
        views[1].in_flight = 1;
        views[2].in_flight = 2;
        assert_eq!(pick(Strategy::LeastBusy, &views, 0.9), Some(1));
    }

    #[test]
    fn latency_based_tries_unmeasured_first_then_the_fastest() {
        let mut views = [v(1.0), v(1.0)];
        views[0].latency_ms = Some(120.0);
        assert_eq!(pick(Strategy::LatencyBased, &views, 0.0), Some(1));
        views[1].latency_ms = Some(300.0);
        assert_eq!(pick(Strategy::LatencyBased, &views, 0.9), Some(0));
    }

    #[test]
    fn lowest_cost_prefers_priced_cheap_deployments() {
        let mut views = [v(1.0), v(1.0), v(1.0)];
        views[0].price = Some(10.0);
        views[1].price = Some(0.5);
        assert_eq!(pick(Strategy::LowestCost, &views, 0.5), Some(1));
    }

    #[test]
    fn litellms_names_and_ours_parse_and_odd_ones_are_named_in_the_error() {
        for (name, want) in [
            ("simple-shuffle", Strategy::WeightedShuffle),
            ("shuffle", Strategy::WeightedShuffle),
            ("least-busy", Strategy::LeastBusy),
            ("usage-based-routing", Strategy::UsageBased),
            ("usage-based-routing-v2", Strategy::UsageBased),
            ("latency-based-routing", Strategy::LatencyBased),
            ("cost-based-routing", Strategy::LowestCost),
            ("lowest-cost", Strategy::LowestCost),
        ] {
            assert_eq!(name.parse::<Strategy>().unwrap(), want, "{name}");
        }
        for s in [
            Strategy::WeightedShuffle,
            Strategy::LeastBusy,
            Strategy::UsageBased,
            Strategy::LatencyBased,
            Strategy::LowestCost,
        ] {
            assert_eq!(s.to_string().parse::<Strategy>().unwrap(), s);
        }
        let e = "fastest".parse::<Strategy>().unwrap_err();
        assert!(
            e.message().contains("\"fastest\"") && e.message().contains("simple-shuffle"),
            "{e}"
        );
    }

    #[test]
    fn usage_based_takes_the_most_headroom() {
        let mut views = [v(1.0), v(1.0)];
        views[0].usage = 0.9;
        views[1].usage = 0.2;
        assert_eq!(pick(Strategy::UsageBased, &views, 0.0), Some(1));
    }
}
