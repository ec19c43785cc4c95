//! The Router's configuration as written (a TOML file the proxy reads too),
//! and the same as a Rust builder. API keys are literals or environment
//! references (`env:NAME`, or litellm's `os.environ/NAME`), read at build.

use std::collections::BTreeMap;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;

use super::strategy::Strategy;
use crate::client::CallOptions;
use crate::error::{Error, Result};

/// `[router]` settings and `[[deployments]]`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RouterConfig {
    #[serde(default)]
    pub router: Settings,
    #[serde(default)]
    pub deployments: Vec<DeploymentConfig>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Settings {
    pub strategy: Strategy,
    /// Retries after the first attempt, within a model group.
    pub retries: u32,
    /// First retry delay; doubles each retry, with jitter, up to `max-backoff-ms`.
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Failures within `fail-window-secs` that put a deployment in cooldown.
    pub allowed_fails: u32,
    pub fail_window_secs: u64,
    pub cooldown_secs: u64,
    /// Total time per attempt (a deployment's own `timeout-secs` wins).
    pub timeout_secs: Option<f64>,
    /// For streams: time allowed until the first chunk.
    pub first_token_timeout_secs: Option<f64>,
    /// Skip deployments whose context window cannot hold the request.
    pub pre_call_checks: bool,
    /// Group → groups to try when it fails (any error that survives retries).
    pub fallbacks: IndexMap<String, Vec<String>>,
    /// Group → larger-context groups, on context_window_exceeded.
    pub context_window_fallbacks: IndexMap<String, Vec<String>>,
    /// Group → groups to try on content_policy.
    pub content_policy_fallbacks: IndexMap<String, Vec<String>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            strategy: Strategy::WeightedShuffle,
            retries: 2,
            backoff_ms: 250,
            max_backoff_ms: 8_000,
            allowed_fails: 3,
            fail_window_secs: 60,
            cooldown_secs: 30,
            timeout_secs: None,
            first_token_timeout_secs: None,
            pre_call_checks: true,
            fallbacks: IndexMap::new(),
            context_window_fallbacks: IndexMap::new(),
            content_policy_fallbacks: IndexMap::new(),
        }
    }
}

/// One deployment: a provider model with its own key, base URL and limits.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeploymentConfig {
    /// The model-group name callers use.
    pub group: String,
    /// `provider/model`.
    pub model: String,
    /// A name for logs and errors; defaults to `group:model#n`.
    pub id: Option<String>,
    /// A literal key, or `env:NAME` / `os.environ/NAME`.
    pub api_key: Option<String>,
    pub api_base: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default = "one")]
    pub weight: f64,
    /// Requests per minute allowed.
    pub rpm: Option<u64>,
    /// Tokens per minute allowed.
    pub tpm: Option<u64>,
    pub max_parallel: Option<u64>,
    pub timeout_secs: Option<f64>,
    /// Answer with this text and touch no network (offline runs and tests).
    pub mock_response: Option<String>,
}

fn one() -> f64 {
    1.0
}

impl DeploymentConfig {
    pub fn new(group: impl Into<String>, model: impl Into<String>) -> Self {
        DeploymentConfig {
            group: group.into(),
            model: model.into(),
            id: None,
            api_key: None,
            api_base: None,
            params: BTreeMap::new(),
            weight: 1.0,
            rpm: None,
            tpm: None,
            max_parallel: None,
            timeout_secs: None,
            mock_response: None,
        }
    }

    /// Answers with `text` and touches no network.
    pub fn mock_response(mut self, text: impl Into<String>) -> Self {
        self.mock_response = Some(text.into());
        self
    }

    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = Some(base.into());
        self
    }

    pub fn weight(mut self, w: f64) -> Self {
        self.weight = w;
        self
    }

    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    pub fn limits(mut self, rpm: Option<u64>, tpm: Option<u64>, max_parallel: Option<u64>) -> Self {
        self.rpm = rpm;
        self.tpm = tpm;
        self.max_parallel = max_parallel;
        self
    }

    pub fn timeout_secs(mut self, secs: f64) -> Self {
        self.timeout_secs = Some(secs);
        self
    }

    /// Its id: the one given, else `group:model#n` for the `n`th deployment.
    pub(crate) fn id_at(&self, n: usize) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| format!("{}:{}#{n}", self.group, self.model))
    }

    /// How its calls are made (key resolved; its own timeout, else the
    /// Router's `default_timeout_secs`).
    pub(crate) fn call_options(&self, default_timeout_secs: Option<f64>) -> Result<CallOptions> {
        Ok(CallOptions {
            api_key: self
                .api_key
                .as_deref()
                .map(|k| resolve_secret(k, "an api-key reference"))
                .transpose()?,
            api_base: self.api_base.clone(),
            timeout: self
                .timeout_secs
                .or(default_timeout_secs)
                .map(Duration::from_secs_f64),
            params: self.params.clone(),
            mock_response: self.mock_response.clone(),
        })
    }
}

impl RouterConfig {
    /// Parses a TOML config.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text)
            .map_err(|e| Error::bad_request(format!("router config: {}", e.message().trim())))
    }
}

/// Resolves an `env:NAME` / `os.environ/NAME` reference (an unset or empty
/// variable is an error naming `what`); literals pass through.
pub(crate) fn resolve_secret(raw: &str, what: &str) -> Result<String> {
    let name = raw
        .strip_prefix("env:")
        .or_else(|| raw.strip_prefix("os.environ/"));
    match name {
        None => Ok(raw.to_string()),
        Some(var) => std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Error::bad_request(format!("environment variable {var} ({what}) is not set"))
            }),
    }
}
