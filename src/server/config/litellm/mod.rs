//! litellm's proxy `config.yaml`, read into a [`ServerConfig`], so a
//! litellm deployment moves over with its config file as it is:
//! `model_list` (`model_name` → group, `litellm_params` → the deployment),
//! `router_settings` and `litellm_settings` (strategy, retries, cooldowns,
//! timeouts, fallbacks) and `general_settings.master_key`.
//!
//! Every key is accounted for: a key that means something here is mapped;
//! a litellm key with no meaning here (redis, callbacks, cost overrides…)
//! is a warning naming it; anything else is an error naming it, so a typo
//! never passes silently. Provider prefixes that differ from Switchboard's
//! ids (`together_ai/…` → `together/…`) come from the data file
//! `litellm.toml` beside this file. Parsing only: reads no socket.

use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ServerConfig, ServerSettings};
use crate::duration::Seconds;
use crate::error::{Error, ErrorKind, Result};
use crate::router::{DeploymentConfig, RouterConfig, Settings, Strategy};

/// litellm's strategy names, and ours.
const STRATEGIES: [(&str, Strategy); 6] = [
    ("simple-shuffle", Strategy::WeightedShuffle),
    ("least-busy", Strategy::LeastBusy),
    ("usage-based-routing", Strategy::UsageBased),
    ("usage-based-routing-v2", Strategy::UsageBased),
    ("latency-based-routing", Strategy::LatencyBased),
    ("cost-based-routing", Strategy::LowestCost),
];

const TOP_KEYS: [&str; 4] = [
    "model_list",
    "router_settings",
    "litellm_settings",
    "general_settings",
];
/// Top-level litellm sections with no meaning here.
const TOP_IGNORED: [&str; 8] = [
    "environment_variables",
    "callback_settings",
    "guardrails",
    "credential_list",
    "mcp_servers",
    "search_tools",
    "vector_store_registry",
    "files_settings",
];

const ENTRY_KEYS: [&str; 3] = ["model_name", "litellm_params", "model_info"];

const PARAM_KEYS: [&str; 10] = [
    "model",
    "api_key",
    "api_base",
    "rpm",
    "tpm",
    "weight",
    "timeout",
    "max_parallel_requests",
    "mock_response",
    "custom_llm_provider",
];
/// `litellm_params` keys litellm knows that change nothing here.
const PARAM_IGNORED: [&str; 24] = [
    "stream_timeout",
    "max_retries",
    "drop_params",
    "additional_drop_params",
    "input_cost_per_token",
    "output_cost_per_token",
    "input_cost_per_second",
    "output_cost_per_second",
    "organization",
    "tags",
    "order",
    "use_in_pass_through",
    "use_litellm_proxy",
    "merge_reasoning_content_in_choices",
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "top_p",
    "seed",
    "stop",
    "extra_headers",
    "headers",
    "cache_control_injection_points",
    "model_info",
];

const ROUTER_KEYS: [&str; 10] = [
    "routing_strategy",
    "num_retries",
    "allowed_fails",
    "cooldown_time",
    "timeout",
    "retry_after",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "enable_pre_call_checks",
];
/// `router_settings` keys litellm knows that change nothing here.
const ROUTER_IGNORED: [&str; 23] = [
    "redis_host",
    "redis_port",
    "redis_password",
    "redis_url",
    "redis_db",
    "cache_responses",
    "cache_kwargs",
    "routing_strategy_args",
    "provider_budget_config",
    "default_litellm_params",
    "retry_policy",
    "allowed_fails_policy",
    "model_group_retry_policy",
    "disable_cooldowns",
    "set_verbose",
    "debug_level",
    "enable_tag_filtering",
    "default_max_parallel_requests",
    "optional_pre_call_checks",
    "polling_interval",
    "model_group_alias",
    "stream_timeout",
    "max_fallbacks",
];

/// `litellm_settings` keys that mean something here; the section's other
/// keys configure the litellm library itself and are warned about.
const LITELLM_KEYS: [&str; 5] = [
    "num_retries",
    "request_timeout",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
];

/// The data file: provider prefixes and parameter names that differ.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Mapping {
    providers: IndexMap<String, String>,
    #[serde(default)]
    by_model: Vec<ByModel>,
    params: IndexMap<String, String>,
    credentials: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ByModel {
    litellm: String,
    model_prefix: String,
    provider: String,
}

fn mapping() -> Result<&'static Mapping> {
    static MAPPING: OnceLock<std::result::Result<Mapping, Error>> = OnceLock::new();
    MAPPING
        .get_or_init(|| {
            toml::from_str(include_str!("litellm.toml")).map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("src/server/config/litellm/litellm.toml: {}", e.message()),
                )
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

impl ServerConfig {
    /// Parses a litellm proxy `config.yaml`; `origin` names it in messages.
    /// Returns the config and a warning per ignored litellm key.
    pub fn from_litellm_yaml(text: &str, origin: &str) -> Result<(Self, Vec<String>)> {
        let mut yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)
            .map_err(|e| Error::bad_request(format!("{origin}: {e}")))?;
        yaml.apply_merge()
            .map_err(|e| Error::bad_request(format!("{origin}: {e}")))?;
        let value: Value = serde_json::to_value(&yaml)
            .map_err(|e| Error::bad_request(format!("{origin}: {e}")))?;
        let mut reader = Reader {
            origin,
            warnings: Vec::new(),
        };
        let config = reader.file(&value)?;
        Ok((config, reader.warnings))
    }
}

/// Walks the file, collecting warnings.
struct Reader<'a> {
    origin: &'a str,
    warnings: Vec<String>,
}

impl Reader<'_> {
    fn error(&self, message: String) -> Error {
        Error::bad_request(format!("{}: {message}", self.origin))
    }

    fn warn(&mut self, at: &str, why: &str) {
        self.warnings
            .push(format!("{}: {at} ignored: {why}", self.origin));
    }

    fn table<'v>(&self, v: &'v Value, at: &str) -> Result<&'v Map<String, Value>> {
        match v {
            Value::Object(m) => Ok(m),
            _ => Err(self.error(format!("{at} must be a mapping"))),
        }
    }

    /// Errors on keys neither `known` nor `ignored`; warns on `ignored` ones
    /// (all others, when `ignored` is None).
    fn keys(
        &mut self,
        table: &Map<String, Value>,
        at: &str,
        known: &[&str],
        ignored: Option<&[&str]>,
        why: &str,
    ) -> Result<()> {
        let mut unknown = Vec::new();
        for key in table.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let path = join(at, key);
            match ignored {
                Some(list) if !list.contains(&key.as_str()) => unknown.push(path),
                _ => self.warn(&path, why),
            }
        }
        if unknown.is_empty() {
            return Ok(());
        }
        Err(self.error(format!(
            "unknown key{} {} (accepted here: {})",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            known.join(", ")
        )))
    }

    fn file(&mut self, value: &Value) -> Result<ServerConfig> {
        let top = self.table(value, "the file")?;
        self.keys(
            top,
            "",
            &TOP_KEYS,
            Some(&TOP_IGNORED),
            "a litellm section with no meaning in Switchboard",
        )?;
        let mut settings = Settings::default();
        let null = Value::Null;
        // litellm_settings first: router_settings wins where both speak.
        let litellm = top.get("litellm_settings").unwrap_or(&null);
        if !litellm.is_null() {
            let t = self.table(litellm, "litellm_settings")?;
            self.keys(
                t,
                "litellm_settings",
                &LITELLM_KEYS,
                None,
                "a litellm library setting with no meaning in Switchboard",
            )?;
            self.routing(t, "litellm_settings", &mut settings)?;
        }
        let router = top.get("router_settings").unwrap_or(&null);
        if !router.is_null() {
            let t = self.table(router, "router_settings")?;
            self.keys(
                t,
                "router_settings",
                &ROUTER_KEYS,
                Some(&ROUTER_IGNORED),
                "a litellm router setting with no meaning in Switchboard",
            )?;
            self.routing(t, "router_settings", &mut settings)?;
        }
        let mut server = ServerSettings::default();
        let general = top.get("general_settings").unwrap_or(&null);
        if !general.is_null() {
            let t = self.table(general, "general_settings")?;
            self.keys(
                t,
                "general_settings",
                &["master_key", "database_url"],
                None,
                "a litellm proxy setting with no meaning in Switchboard",
            )?;
            server.master_key = self.string(t, "general_settings", "master_key")?;
            if t.contains_key("database_url") {
                // Not taken: its tables are litellm's, and ours would land beside them.
                self.warn(
                    "general_settings.database_url",
                    "it holds litellm's own tables; with a master key, virtual keys and spend go to switchboard.db beside the config ([server] database-url in a TOML config chooses another)",
                );
            }
        }
        let deployments = match top.get("model_list") {
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .enumerate()
                .map(|(i, entry)| self.deployment(entry, &format!("model_list[{i}]")))
                .collect::<Result<Vec<_>>>()?,
            Some(Value::Array(_)) | None | Some(Value::Null) => {
                return Err(self.error(
                    "no model_list entries: the server would have no model to serve".into(),
                ));
            }
            Some(_) => return Err(self.error("model_list must be a list".into())),
        };
        Ok(ServerConfig {
            server,
            router: RouterConfig {
                router: settings,
                deployments,
            },
        })
    }

    /// The routing keys `router_settings` and `litellm_settings` share.
    fn routing(&self, t: &Map<String, Value>, at: &str, s: &mut Settings) -> Result<()> {
        if let Some(name) = self.string(t, at, "routing_strategy")? {
            s.strategy = STRATEGIES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, st)| *st)
                .ok_or_else(|| {
                    let names: Vec<&str> = STRATEGIES.iter().map(|(n, _)| *n).collect();
                    self.error(format!(
                        "{at}.routing_strategy {name:?} is not one of {}",
                        names.join(", ")
                    ))
                })?;
        }
        if let Some(n) = self.number(t, at, "num_retries")? {
            s.retries = n as u32;
        }
        if let Some(n) = self.number(t, at, "allowed_fails")? {
            s.allowed_fails = n as u32;
        }
        if let Some(secs) = self.number(t, at, "cooldown_time")? {
            s.cooldown_secs = secs.ceil() as u64;
        }
        for key in ["timeout", "request_timeout"] {
            if let Some(secs) = self.number(t, at, key)? {
                s.timeout_secs = Some(self.seconds(secs, &join(at, key))?);
            }
        }
        if let Some(secs) = self.number(t, at, "retry_after")? {
            s.backoff_ms = (secs * 1000.0).round() as u64;
        }
        if let Some(b) = t.get("enable_pre_call_checks") {
            s.pre_call_checks = b.as_bool().ok_or_else(|| {
                self.error(format!("{at}.enable_pre_call_checks must be true or false"))
            })?;
        }
        for (key, target) in [
            ("fallbacks", &mut s.fallbacks),
            ("context_window_fallbacks", &mut s.context_window_fallbacks),
            ("content_policy_fallbacks", &mut s.content_policy_fallbacks),
        ] {
            if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                *target = self.fallbacks(v, &join(at, key))?;
            }
        }
        Ok(())
    }

    /// litellm writes fallbacks as a list of one-key maps:
    /// `[{"gpt-4o": ["gpt-4o-mini"]}, …]` (a plain map is taken too).
    fn fallbacks(&self, v: &Value, at: &str) -> Result<IndexMap<String, Vec<String>>> {
        let maps: Vec<&Map<String, Value>> = match v {
            Value::Array(items) => items
                .iter()
                .map(|item| self.table(item, at))
                .collect::<Result<_>>()?,
            Value::Object(m) => vec![m],
            _ => return Err(self.error(format!("{at} must be a list of {{group: [groups]}}"))),
        };
        let mut out = IndexMap::new();
        for m in maps {
            for (group, targets) in m {
                let list = match targets {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a
                        .iter()
                        .map(|t| t.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| {
                            self.error(format!("{at}.{group} must be a list of group names"))
                        })?,
                    _ => {
                        return Err(
                            self.error(format!("{at}.{group} must be a list of group names"))
                        );
                    }
                };
                out.insert(group.clone(), list);
            }
        }
        Ok(out)
    }

    fn deployment(&mut self, entry: &Value, at: &str) -> Result<DeploymentConfig> {
        let map = mapping()?;
        let e = self.table(entry, at)?;
        self.keys(e, at, &ENTRY_KEYS, Some(&[]), "")?;
        let group = self
            .string(e, at, "model_name")?
            .ok_or_else(|| self.error(format!("{at}.model_name is missing")))?;
        let params_at = format!("{at}.litellm_params");
        let p = match e.get("litellm_params") {
            Some(v) => self.table(v, &params_at)?,
            None => return Err(self.error(format!("{params_at} is missing"))),
        };
        if let Some(key) = p.keys().find(|k| map.credentials.contains(k)) {
            return Err(self.error(format!(
                "{params_at}.{key}: credentials are not read from the config here; set the provider's environment variables instead"
            )));
        }
        let mut known: Vec<&str> = PARAM_KEYS.to_vec();
        known.extend(map.params.keys().map(String::as_str));
        self.keys(
            p,
            &params_at,
            &known,
            Some(&PARAM_IGNORED),
            "a litellm setting with no meaning in Switchboard",
        )?;
        let model = self
            .string(p, &params_at, "model")?
            .ok_or_else(|| self.error(format!("{params_at}.model is missing")))?;
        let provider = self.string(p, &params_at, "custom_llm_provider")?;
        let mut d =
            DeploymentConfig::new(group, switchboard_model(map, &model, provider.as_deref()));
        d.api_key = self.string(p, &params_at, "api_key")?;
        d.api_base = self
            .string(p, &params_at, "api_base")?
            .map(|b| self.env(&b, &join(&params_at, "api_base")))
            .transpose()?;
        for (theirs, ours) in &map.params {
            if let Some(v) = self.string(p, &params_at, theirs)? {
                let v = self.env(&v, &join(&params_at, theirs))?;
                d.params.insert(ours.clone(), v);
            }
        }
        d.rpm = self.number(p, &params_at, "rpm")?.map(|n| n as u64);
        d.tpm = self.number(p, &params_at, "tpm")?.map(|n| n as u64);
        d.max_parallel = self
            .number(p, &params_at, "max_parallel_requests")?
            .map(|n| n as u64);
        if let Some(w) = self.number(p, &params_at, "weight")? {
            d.weight = w;
        }
        d.timeout_secs = match self.number(p, &params_at, "timeout")? {
            Some(secs) => Some(self.seconds(secs, &join(&params_at, "timeout"))?),
            None => None,
        };
        d.mock_response = self.string(p, &params_at, "mock_response")?;
        if let Some(info) = e.get("model_info").filter(|v| !v.is_null()) {
            let info_at = join(at, "model_info");
            let t = self.table(info, &info_at)?;
            self.keys(
                t,
                &info_at,
                &["id"],
                None,
                "model facts come from Switchboard's catalog",
            )?;
            d.id = self.string(t, &info_at, "id")?;
        }
        Ok(d)
    }

    /// A string (numbers are taken as written); None when absent or null.
    fn string(&self, t: &Map<String, Value>, at: &str, key: &str) -> Result<Option<String>> {
        match t.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.error(format!("{} must be a string", join(at, key)))),
        }
    }

    /// A non-negative number (or a string holding one); None when absent.
    fn number(&self, t: &Map<String, Value>, at: &str, key: &str) -> Result<Option<f64>> {
        let n = match t.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match n {
            Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
            _ => Err(self.error(format!("{} must be a non-negative number", join(at, key)))),
        }
    }

    /// A number of seconds, checked (`1e30` is refused, naming `at`).
    fn seconds(&self, secs: f64, at: &str) -> Result<Seconds> {
        Seconds::new(secs, at).map_err(|e| self.error(e.message().to_string()))
    }

    /// Resolves an `os.environ/NAME` value now (keys are resolved later).
    fn env(&self, value: &str, at: &str) -> Result<String> {
        match value.strip_prefix("os.environ/") {
            None => Ok(value.to_string()),
            Some(var) => std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| self.error(format!("{at}: environment variable {var} is not set"))),
        }
    }
}

/// A model as litellm names it (`together_ai/…`, `vertex_ai/claude-…`)
/// in Switchboard's naming, from the same data file as a config's
/// `model_list`; a name with no litellm prefix comes back as it is. For
/// callers that take litellm's names directly (the Python package).
#[cfg_attr(not(feature = "python"), allow(dead_code))]
pub(crate) fn litellm_model(model: &str) -> Result<String> {
    Ok(switchboard_model(mapping()?, model, None))
}

/// `prefix/model` with litellm's prefix replaced by Switchboard's id.
fn switchboard_model(map: &Mapping, model: &str, custom_provider: Option<&str>) -> String {
    let (prefix, rest) = match custom_provider {
        Some(p) => (p, model),
        None => match model.split_once('/') {
            Some(split) => split,
            None => return model.to_string(),
        },
    };
    let by_model = map
        .by_model
        .iter()
        .find(|b| b.litellm == prefix && rest.starts_with(&b.model_prefix));
    let provider = match by_model {
        Some(b) => b.provider.as_str(),
        None => map.providers.get(prefix).map_or(prefix, String::as_str),
    };
    format!("{provider}/{rest}")
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

#[cfg(test)]
mod tests;
