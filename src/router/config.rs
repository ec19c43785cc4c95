//! The Router's configuration as written (a TOML file the proxy reads too),
//! and the same as a Rust builder. API keys are literals or environment
//! references (`env:NAME`, or litellm's `os.environ/NAME`), read at build.
//! Every duration is a checked [`Seconds`] and every size a non-zero count,
//! so an absurd value is a config error naming its key (with its line and
//! column when the TOML parser gives one), never a panic later.
//!
//! Time limits, from a `[[deployments]]` entry, else `[router]`, else the
//! defaults of [`Limits`]: `connect-timeout-secs`, `first-byte-timeout-secs`
//! (to the response head), `idle-timeout-secs` (the longest silence inside
//! a body: a stream's liveness), `total-timeout-secs` (a whole call, stream
//! included; none by default), and `timeout-secs` (a JSON answer, or a
//! stream's head). In `[router]`, `timeout-secs` is also the deadline of a
//! routed call: its attempts, waits and fallbacks all fit in it.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;

use super::strategy::Strategy;
use crate::client::{CallOptions, MockResponse};
use crate::duration::Seconds;
use crate::error::{Error, Result};
use crate::spec::diagnostic::line_col;
use crate::transport::Limits;

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
    /// The deadline of a routed call (attempts, waits and fallbacks
    /// included; for a stream, up to its first chunk), and each attempt's
    /// `timeout-secs` unless its deployment sets one.
    pub timeout_secs: Option<Seconds>,
    /// For streams: time allowed until the first chunk.
    pub first_token_timeout_secs: Option<Seconds>,
    /// Defaults for every deployment (see the module doc).
    pub connect_timeout_secs: Option<Seconds>,
    pub first_byte_timeout_secs: Option<Seconds>,
    pub idle_timeout_secs: Option<Seconds>,
    pub total_timeout_secs: Option<Seconds>,
    /// Largest response body read whole (default 32 MiB).
    pub max_response_bytes: Option<NonZeroUsize>,
    /// Largest single stream event (default 32 MiB).
    pub max_event_bytes: Option<NonZeroUsize>,
    /// The longest wait the Router sits out before a retry (a Retry-After,
    /// or every deployment cooling down). A longer one — or one longer than
    /// what is left of the call's deadline — ends the call at once as
    /// rate_limit, the wait passed on as its Retry-After.
    pub max_retry_wait_secs: Seconds,
    /// Skip deployments whose context window cannot hold the request.
    pub pre_call_checks: bool,
    /// Group → groups (or plain models) to try when it fails with an error
    /// that survives retries.
    pub fallbacks: IndexMap<String, Vec<String>>,
    /// Group → larger-context groups (or plain models), on
    /// context_window_exceeded; a group with none takes its general fallbacks.
    pub context_window_fallbacks: IndexMap<String, Vec<String>>,
    /// Group → groups (or plain models) to try on content_policy; a group
    /// with none takes its general fallbacks.
    pub content_policy_fallbacks: IndexMap<String, Vec<String>>,
    /// The most fallback groups one call tries after its own group fails
    /// (litellm's `max_fallbacks`); unset: every one listed.
    pub max_fallbacks: Option<u32>,
    /// Groups (or plain models) every group without fallbacks of its own
    /// falls back to (litellm's `default_fallbacks`).
    pub default_fallbacks: Vec<String>,
    /// Other names for model groups (litellm's `model_group_alias`): a call
    /// to an alias is a call to its group. Not listed as groups.
    pub model_group_alias: IndexMap<String, String>,
    /// Every deployment drops OpenAI parameters its provider does not carry
    /// instead of refusing the call (litellm's `drop_params`), unless it says otherwise.
    pub drop_params: bool,
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
            connect_timeout_secs: None,
            first_byte_timeout_secs: None,
            idle_timeout_secs: None,
            total_timeout_secs: None,
            max_response_bytes: None,
            max_event_bytes: None,
            max_retry_wait_secs: Seconds::from_duration(Duration::from_secs(60)),
            pre_call_checks: true,
            fallbacks: IndexMap::new(),
            context_window_fallbacks: IndexMap::new(),
            content_policy_fallbacks: IndexMap::new(),
            max_fallbacks: None,
            default_fallbacks: Vec::new(),
            model_group_alias: IndexMap::new(),
            drop_params: false,
        }
    }
}

impl Settings {
    /// Refuses a zero where a zero would fail every call, naming the key.
    pub(crate) fn check(&self) -> Result<()> {
        for (key, value) in [
            ("timeout-secs", self.timeout_secs),
            ("first-token-timeout-secs", self.first_token_timeout_secs),
        ] {
            if value.is_some_and(|s| s.get().is_zero()) {
                return Err(Error::bad_request(format!(
                    "[router] {key} must be more than 0 seconds"
                )));
            }
        }
        Ok(())
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
    /// Time for one attempt's answer: a JSON answer whole, a stream's head.
    pub timeout_secs: Option<Seconds>,
    /// This deployment's own limits (see the module doc); else `[router]`'s.
    pub connect_timeout_secs: Option<Seconds>,
    pub first_byte_timeout_secs: Option<Seconds>,
    pub idle_timeout_secs: Option<Seconds>,
    pub total_timeout_secs: Option<Seconds>,
    pub max_response_bytes: Option<NonZeroUsize>,
    pub max_event_bytes: Option<NonZeroUsize>,
    /// Answer without touching the network (offline runs and tests): a
    /// text, or a litellm exception name (`"litellm.RateLimitError"`) to
    /// fail as that kind.
    pub mock_response: Option<String>,
    /// Its own price, USD per input token (litellm's key; the catalog's
    /// other rates for its model still apply). Also spelled `input_cost_per_token`.
    #[serde(alias = "input_cost_per_token")]
    pub input_cost_per_token: Option<f64>,
    /// Its own price, USD per output token. Also spelled `output_cost_per_token`.
    #[serde(alias = "output_cost_per_token")]
    pub output_cost_per_token: Option<f64>,
    /// Drop OpenAI parameters the provider does not carry instead of
    /// refusing the call; else `[router] drop-params`.
    pub drop_params: Option<bool>,
    /// Parameters always dropped (litellm's `additional_drop_params`).
    #[serde(default)]
    pub additional_drop_params: Vec<String>,
    /// Parameters sent even where the provider does not carry them
    /// (litellm's `allowed_openai_params`).
    #[serde(default)]
    pub allowed_openai_params: Vec<String>,
    /// Whether http(s) image URLs may be fetched for a provider that takes
    /// image bytes only; unset: yes in the library, no in the proxy.
    pub fetch_image_urls: Option<bool>,
    /// Request fields its calls get when they do not set them
    /// (`defaults = { temperature = 0.2, max-tokens = 512 }` takes the
    /// OpenAI names: `max_tokens`); a caller's own values win.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, serde_json::Value>")]
    pub defaults: serde_json::Map<String, serde_json::Value>,
    /// HTTP headers added to its provider requests (litellm's `extra_headers`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Priority within its group (litellm's `order`): a call goes to a ready
    /// deployment of the lowest order first, the others only when none of
    /// those can take it. Unset: after every ordered one.
    pub order: Option<u32>,
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
            connect_timeout_secs: None,
            first_byte_timeout_secs: None,
            idle_timeout_secs: None,
            total_timeout_secs: None,
            max_response_bytes: None,
            max_event_bytes: None,
            mock_response: None,
            input_cost_per_token: None,
            output_cost_per_token: None,
            drop_params: None,
            additional_drop_params: Vec::new(),
            allowed_openai_params: Vec::new(),
            fetch_image_urls: None,
            defaults: serde_json::Map::new(),
            headers: BTreeMap::new(),
            order: None,
        }
    }

    /// Answers with `text` (or fails as a litellm exception name says) and touches no network.
    pub fn mock_response(mut self, text: impl Into<String>) -> Self {
        self.mock_response = Some(text.into());
        self
    }

    /// Its own prices, USD per input and output token (litellm's
    /// `input_cost_per_token` / `output_cost_per_token`).
    pub fn token_prices(mut self, input: f64, output: f64) -> Self {
        self.input_cost_per_token = Some(input);
        self.output_cost_per_token = Some(output);
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

    /// Time for one attempt's answer (a JSON answer whole, a stream's head).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout_secs = Some(Seconds::from_duration(d));
        self
    }

    /// The longest silence inside a response body (a stream's liveness).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout_secs = Some(Seconds::from_duration(d));
        self
    }

    /// Drops OpenAI parameters the provider does not carry instead of
    /// refusing the call (litellm's `drop_params`).
    pub fn drop_params(mut self, drop: bool) -> Self {
        self.drop_params = Some(drop);
        self
    }

    /// Time to the response head.
    pub fn first_byte_timeout(mut self, d: Duration) -> Self {
        self.first_byte_timeout_secs = Some(Seconds::from_duration(d));
        self
    }

    /// Its id: the one given, else `group:model#n` for the `n`th deployment.
    pub(crate) fn id_at(&self, n: usize) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| format!("{}:{}#{n}", self.group, self.model))
    }

    /// How its calls are made: key resolved; each limit its own, else the
    /// Router's, else the default. A zero timeout is refused, naming its key.
    pub(crate) fn call_options(&self, router: &Settings) -> Result<CallOptions> {
        let who = self.id.as_deref().unwrap_or(&self.model);
        let secs = |own: Option<Seconds>, shared: Option<Seconds>, key: &str| match own.or(shared) {
            Some(s) if s.get().is_zero() => Err(Error::bad_request(format!(
                "{key} of deployment {who:?} must be more than 0 seconds"
            ))),
            other => Ok(other.map(Seconds::get)),
        };
        let bytes = |own: Option<NonZeroUsize>, shared: Option<NonZeroUsize>, default| {
            own.or(shared).map_or(default, NonZeroUsize::get)
        };
        crate::client::check_defaults(&self.defaults, who)?;
        crate::client::check_headers(&self.headers, who)?;
        let d = Limits::default();
        let limits = Limits {
            connect: secs(
                self.connect_timeout_secs,
                router.connect_timeout_secs,
                "connect-timeout-secs",
            )?
            .unwrap_or(d.connect),
            first_byte: secs(
                self.first_byte_timeout_secs,
                router.first_byte_timeout_secs,
                "first-byte-timeout-secs",
            )?
            .unwrap_or(d.first_byte),
            idle: secs(
                self.idle_timeout_secs,
                router.idle_timeout_secs,
                "idle-timeout-secs",
            )?
            .unwrap_or(d.idle),
            total: secs(
                self.total_timeout_secs,
                router.total_timeout_secs,
                "total-timeout-secs",
            )?,
            max_body_bytes: bytes(
                self.max_response_bytes,
                router.max_response_bytes,
                d.max_body_bytes,
            ),
            max_event_bytes: bytes(
                self.max_event_bytes,
                router.max_event_bytes,
                d.max_event_bytes,
            ),
        };
        Ok(CallOptions {
            api_key: self
                .api_key
                .as_deref()
                .map(|k| resolve_secret(k, "an api-key reference"))
                .transpose()?,
            api_base: self.api_base.clone(),
            timeout: secs(self.timeout_secs, router.timeout_secs, "timeout-secs")?,
            limits,
            params: self.params.clone(),
            mock_response: self.mock_response.as_deref().map(MockResponse::from),
            drop_params: Some(self.drop_params.unwrap_or(router.drop_params)),
            additional_drop_params: self.additional_drop_params.clone(),
            allowed_openai_params: self.allowed_openai_params.clone(),
            fetch_image_urls: self.fetch_image_urls,
            defaults: self.defaults.clone(),
            extra_headers: self.headers.clone(),
            ..CallOptions::default()
        })
    }
}

impl RouterConfig {
    /// Parses a TOML config; an error says where and which key
    /// (`router config:4:16: deployments[0].timeout-secs: …`).
    pub fn from_toml(text: &str) -> Result<Self> {
        parse_toml(text, "router config")
    }
}

/// Parses a TOML text as `T`; an error reads `origin:line:col: key.path: reason`
/// (line, column and key where the parser knows them).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let located = |e: &toml::de::Error, key: Option<String>| {
        let at = e.span().map_or(String::new(), |s| {
            let (line, col) = line_col(text, s.start);
            format!(":{line}:{col}")
        });
        let message = e.message().trim();
        // An unknown key is named by the message itself.
        let named = |k: &str| message.contains(&format!("`{}`", k.rsplit('.').next().unwrap_or(k)));
        let key = key
            .filter(|k| !named(k))
            .map(|k| format!("{k}: "))
            .unwrap_or_default();
        Error::bad_request(format!("{origin}{at}: {key}{message}"))
    };
    let de = toml::Deserializer::parse(text).map_err(|e| located(&e, None))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        located(e.inner(), (key != ".").then_some(key))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config_error(text: &str) -> String {
        RouterConfig::from_toml(text)
            .err()
            .map(|e| e.message().to_string())
            .unwrap_or_else(|| panic!("{text} must be refused"))
    }

    #[test]
    fn absurd_timeouts_are_refused_at_load_with_their_place() {
        let dep = "[[deployments]]\ngroup = \"g\"\nmodel = \"openai/gpt-4o\"\n";
        for bad in ["-1", "nan", "inf", "1e30"] {
            let e = config_error(&format!("{dep}timeout-secs = {bad}\n"));
            assert!(
                e.starts_with("router config:4:16: deployments[0].timeout-secs: "),
                "{bad}: {e}"
            );
            assert!(e.contains("number of seconds"), "{bad}: {e}");
        }
        let e = config_error("[router]\nfirst-token-timeout-secs = -1\n");
        assert!(
            e.starts_with("router config:2:28: router.first-token-timeout-secs: "),
            "{e}"
        );
        let e = config_error(&format!("{dep}max-event-bytes = 0\n"));
        assert!(e.starts_with("router config:4:19: "), "{e}");
    }

    #[test]
    fn a_zero_router_timeout_is_refused_naming_its_key() {
        let cfg = RouterConfig::from_toml("[router]\nfirst-token-timeout-secs = 0\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let e = cfg.router.check().unwrap_err();
        assert_eq!(
            e.message(),
            "[router] first-token-timeout-secs must be more than 0 seconds"
        );
    }

    #[test]
    fn a_zero_timeout_is_refused_naming_its_key() {
        let mut d = DeploymentConfig::new("g", "openai/gpt-4o").id("d1");
        d.idle_timeout_secs = Some(Seconds::from_duration(Duration::ZERO));
        let e = d.call_options(&Settings::default()).unwrap_err();
        assert_eq!(
            e.message(),
            "idle-timeout-secs of deployment \"d1\" must be more than 0 seconds"
        );
    }

    #[test]
    fn limits_come_from_the_deployment_else_the_router_else_the_defaults() {
        let cfg = RouterConfig::from_toml(
            "[router]\nidle-timeout-secs = 30\nconnect-timeout-secs = 2\ntimeout-secs = 50\n\
             max-event-bytes = 1024\n\
             [[deployments]]\ngroup = \"g\"\nmodel = \"openai/gpt-4o\"\nidle-timeout-secs = 5.5\n\
             timeout-secs = 20\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let o = cfg.deployments[0]
            .call_options(&cfg.router)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.limits.idle, Duration::from_millis(5500));
        assert_eq!(o.limits.connect, Duration::from_secs(2));
        assert_eq!(o.limits.first_byte, Limits::default().first_byte);
        assert_eq!(o.limits.total, None);
        assert_eq!(o.limits.max_event_bytes, 1024);
        assert_eq!(o.limits.max_body_bytes, Limits::default().max_body_bytes);
        assert_eq!(o.timeout, Some(Duration::from_secs(20)));
    }
}
