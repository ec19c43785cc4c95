//! litellm's proxy `config.yaml`, read into a [`ServerConfig`], so a
//! litellm deployment moves over with its config file as it is:
//! `model_list` (`model_name` → group, `litellm_params` → the deployment,
//! with its request defaults, headers, order, parameter policy and
//! prices), `router_settings` and `litellm_settings` (strategy, retries,
//! cooldowns, timeouts, fallbacks, default fallbacks, max fallbacks, group
//! aliases, drop_params) and `general_settings` (master key, request size,
//! allowed IPs).
//!
//! Every key is accounted for (the tables are in [`keys`]): a key that
//! means something here is mapped; a litellm key with no meaning here
//! (redis, callbacks…) is a warning naming it; a key that protects money or
//! access and cannot be honoured here (guardrails, custom auth, a
//! proxy-wide budget) stops the import with an error naming it; anything
//! else is an error naming it, so a typo never passes silently. Provider prefixes that differ from Switchboard's
//! ids (`together_ai/…` → `together/…`) come from the data file
//! `litellm.toml` beside this file. Parsing only: reads no socket.

use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ServerConfig, ServerSettings};
use crate::duration::Seconds;
use crate::error::{Error, ErrorKind, Result};
use crate::router::{DeploymentConfig, RouterConfig, Settings};

mod keys;

use keys::*;

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

    /// Refuses the first of `refused` that `table` holds, naming it.
    fn refuse(&self, table: &Map<String, Value>, at: &str, refused: &[&str]) -> Result<()> {
        match refused.iter().find(|k| table.contains_key(**k)) {
            Some(key) => Err(self.error(format!("{}: {REFUSED_WHY}", join(at, key)))),
            None => Ok(()),
        }
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
        self.refuse(top, "", &TOP_REFUSED)?;
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
            self.refuse(t, "litellm_settings", &LITELLM_REFUSED)?;
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
            self.refuse(t, "general_settings", &GENERAL_REFUSED)?;
            self.keys(
                t,
                "general_settings",
                &GENERAL_KEYS,
                None,
                "a litellm proxy setting with no meaning in Switchboard",
            )?;
            server.master_key = self.string(t, "general_settings", "master_key")?;
            if let Some(mb) = self.number(t, "general_settings", "max_request_size_mb")? {
                // Bounded by [server] max-body-bytes' own check at start.
                server.max_body_bytes = (mb * 1024.0 * 1024.0).min(usize::MAX as f64) as usize;
            }
            if let Some(ips) = t.get("allowed_ips").filter(|v| !v.is_null()) {
                server.allowed_ips = self.strings(ips, "general_settings.allowed_ips")?;
            }
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
        if let Some(b) = self.boolean(t, at, "enable_pre_call_checks")? {
            s.pre_call_checks = b;
        }
        if let Some(b) = self.boolean(t, at, "drop_params")? {
            s.drop_params = b;
        }
        if let Some(v) = t.get("default_fallbacks").filter(|v| !v.is_null()) {
            s.default_fallbacks = self.strings(v, &join(at, "default_fallbacks"))?;
        }
        if let Some(n) = self.number(t, at, "max_fallbacks")? {
            s.max_fallbacks = Some(n.min(f64::from(u32::MAX)) as u32);
        }
        if let Some(v) = t.get("model_group_alias").filter(|v| !v.is_null()) {
            s.model_group_alias = self.aliases(v, &join(at, "model_group_alias"))?;
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

    /// litellm's `model_group_alias`: `{alias: group}` or
    /// `{alias: {model: group, hidden: bool}}` (aliases are never listed here).
    fn aliases(&self, v: &Value, at: &str) -> Result<IndexMap<String, String>> {
        let mut out = IndexMap::new();
        for (alias, target) in self.table(v, at)? {
            let group = match target {
                Value::String(g) => Some(g.clone()),
                Value::Object(m) => m.get("model").and_then(Value::as_str).map(str::to_string),
                _ => None,
            };
            let group = group.ok_or_else(|| {
                self.error(format!(
                    "{at}.{alias} must be a group name or {{model: group}}"
                ))
            })?;
            out.insert(alias.clone(), group);
        }
        Ok(out)
    }

    /// A list of strings.
    fn strings(&self, v: &Value, at: &str) -> Result<Vec<String>> {
        match v {
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| self.error(format!("{at} must be a list of strings"))),
            _ => Err(self.error(format!("{at} must be a list of strings"))),
        }
    }

    /// true or false; None when absent.
    fn boolean(&self, t: &Map<String, Value>, at: &str, key: &str) -> Result<Option<bool>> {
        match t.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.error(format!("{} must be true or false", join(at, key)))),
        }
    }

    /// A deployment's own settings for its calls: request defaults,
    /// headers, order, parameter policy and prices.
    fn call_settings(
        &self,
        p: &Map<String, Value>,
        at: &str,
        d: &mut DeploymentConfig,
    ) -> Result<()> {
        for key in REQUEST_DEFAULTS {
            if let Some(v) = p.get(key).filter(|v| !v.is_null()) {
                d.defaults.insert(key.to_string(), v.clone());
            }
        }
        for key in ["headers", "extra_headers"] {
            let Some(v) = p.get(key).filter(|v| !v.is_null()) else {
                continue;
            };
            let key_at = join(at, key);
            for (name, value) in self.table(v, &key_at)? {
                let value = value
                    .as_str()
                    .ok_or_else(|| self.error(format!("{key_at}.{name} must be a string")))?;
                // `os.environ/NAME` is read now, as for api_base.
                let value = self.env(value, &join(&key_at, name))?;
                d.headers.insert(name.clone(), value);
            }
        }
        d.order = self
            .number(p, at, "order")?
            .map(|n| n.min(f64::from(u32::MAX)) as u32);
        d.drop_params = self.boolean(p, at, "drop_params")?;
        for (key, slot) in [
            ("additional_drop_params", &mut d.additional_drop_params),
            ("allowed_openai_params", &mut d.allowed_openai_params),
        ] {
            if let Some(v) = p.get(key).filter(|v| !v.is_null()) {
                *slot = self.strings(v, &join(at, key))?;
            }
        }
        d.input_cost_per_token = self.number(p, at, "input_cost_per_token")?;
        d.output_cost_per_token = self.number(p, at, "output_cost_per_token")?;
        Ok(())
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
        known.extend(REQUEST_DEFAULTS);
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
        self.call_settings(p, &params_at, &mut d)?;
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
