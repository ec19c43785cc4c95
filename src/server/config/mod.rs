//! The proxy's configuration, parsed and checked: a `[server]` table
//! (address, master key, body limit, connection limits and timeouts,
//! whether clients may override a base URL) beside the Router's own
//! `[router]` and `[[deployments]]`, read from Switchboard TOML or imported
//! from a litellm `config.yaml` ([`litellm`]). Parsing only: reads no socket
//! and knows nothing of HTTP handling.
//!
//! ```toml
//! [server]
//! port = 4000
//! master-key = "env:SWITCHBOARD_MASTER_KEY"
//! header-read-timeout-secs = 10
//!
//! [router]
//! retries = 1
//!
//! [[deployments]]
//! group = "gpt-4o-mini"
//! model = "openai/gpt-4o-mini"
//! api-key = "env:OPENAI_API_KEY"
//! ```

mod litellm;

use std::path::Path;

use serde::Deserialize;

use std::net::IpAddr;

use ipnet::IpNet;

use crate::duration::Seconds;
use crate::error::{Error, Result};
pub(crate) use crate::router::resolve_secret;
use crate::router::{DeploymentConfig, RouterConfig, Settings, parse_toml};
#[cfg_attr(not(feature = "python"), allow(unused_imports))]
pub(crate) use litellm::litellm_model;

/// The whole proxy configuration: server settings and the Router's.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    pub server: ServerSettings,
    pub router: RouterConfig,
}

/// The `[server]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ServerSettings {
    /// Address to bind; loopback unless said otherwise.
    pub host: String,
    pub port: u16,
    /// A literal key, or `env:NAME` / `os.environ/NAME`. None: no key asked.
    pub master_key: Option<String>,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// Whether a request may name its own `api_base` / `base_url`.
    pub allow_client_api_base: bool,
    /// Where virtual keys and the spend log live: `sqlite://path` or
    /// `postgres://…` (also `env:NAME`). None: `switchboard.db` beside the
    /// config when a master key is set, else no database.
    pub database_url: Option<String>,
    /// A Redis shared by every instance (`redis://host:port/db`, also
    /// `env:NAME`): rate windows, budgets' running spend and Router
    /// cooldowns become fleet-wide. None: each process on its own.
    pub redis_url: Option<String>,
    /// How long a spend row may wait in memory for its batch, in
    /// milliseconds (at most 60000): a crash (SIGKILL, power) forgets at
    /// most about this much of the calls answered last.
    pub spend_log_flush_ms: u64,
    /// Serving threads, each with its own runtime and listening socket on
    /// the same port (the kernel spreads connections over them); 0: one per
    /// core. One thread is one runtime: no task moves between threads.
    pub workers: usize,
    /// A new connection must send its first request head (request line and
    /// headers) within this, and a later head must arrive whole within this
    /// of its first byte; else the connection is closed (with a 408 when
    /// part of a head had arrived).
    pub header_read_timeout_secs: Seconds,
    /// A kept-alive connection with no request under way is closed when no
    /// new request begins within this.
    pub keep_alive_timeout_secs: Seconds,
    /// A request body must arrive whole within this of the handler's first
    /// read, else 408.
    pub body_read_timeout_secs: Seconds,
    /// Client connections open at once, over all serving threads. At the
    /// limit, new connections wait in the kernel's listen queue until one
    /// closes, and a log line says so.
    pub max_connections: usize,
    /// On SIGTERM or Ctrl-C: how long calls in flight may take to finish
    /// before they are cut (the spend log is written either way).
    pub shutdown_timeout_secs: Seconds,
    /// A directory of user provider specs (`*.toml`), loaded beside the
    /// built-in ones, as `switchboard complete --spec-dir` does; relative
    /// to the config file. `serve --spec-dir` overrides it.
    pub spec_dir: Option<std::path::PathBuf>,
    /// Client addresses (`10.0.0.7`) and ranges (`10.0.0.0/8`) allowed to
    /// connect; any other gets 403. Empty: every address.
    pub allowed_ips: Vec<String>,
}

/// Bounds on `[server]` numbers: beyond them a value is a typo, refused at load.
const MAX_BODY_BYTES: usize = 1 << 30;
const MAX_CONNECTIONS: usize = 1_000_000;
const MAX_WORKERS: usize = 1024;

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            host: "127.0.0.1".into(),
            port: 4000,
            master_key: None,
            max_body_bytes: 4 * 1024 * 1024,
            allow_client_api_base: false,
            database_url: None,
            redis_url: None,
            spend_log_flush_ms: 200,
            workers: 0,
            header_read_timeout_secs: secs(10),
            keep_alive_timeout_secs: secs(75),
            body_read_timeout_secs: secs(30),
            max_connections: 10_000,
            shutdown_timeout_secs: secs(30),
            spec_dir: None,
            allowed_ips: Vec::new(),
        }
    }
}

const fn secs(n: u64) -> Seconds {
    Seconds::from_duration(std::time::Duration::from_secs(n))
}

impl ServerSettings {
    /// Refuses values that would make the server useless or unbounded: a
    /// zero timeout (every connection cut at once), no connection allowed,
    /// absurd sizes. Each error names its `[server]` key.
    pub fn check(&self) -> Result<()> {
        let positive = [
            ("header-read-timeout-secs", self.header_read_timeout_secs),
            ("keep-alive-timeout-secs", self.keep_alive_timeout_secs),
            ("body-read-timeout-secs", self.body_read_timeout_secs),
        ];
        for (key, value) in positive {
            if value.get().is_zero() {
                return Err(Error::bad_request(format!(
                    "[server] {key} must be more than 0 seconds"
                )));
            }
        }
        let bounded = [
            ("max-body-bytes", self.max_body_bytes, 1, MAX_BODY_BYTES),
            ("max-connections", self.max_connections, 1, MAX_CONNECTIONS),
            ("workers", self.workers, 0, MAX_WORKERS),
        ];
        for (key, value, min, max) in bounded {
            if !(min..=max).contains(&value) {
                return Err(Error::bad_request(format!(
                    "[server] {key} must be between {min} and {max} (got {value})"
                )));
            }
        }
        parse_allowed_ips(&self.allowed_ips)?;
        Ok(())
    }
}

/// Parses `allowed-ips`: each an address (`10.0.0.7`, `::1`) or a range
/// (`10.0.0.0/8`); a bad one is an error naming it.
pub(crate) fn parse_allowed_ips(list: &[String]) -> Result<Vec<IpNet>> {
    list.iter()
        .map(|text| {
            let t = text.trim();
            t.parse::<IpNet>()
                .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    Error::bad_request(format!(
                        "[server] allowed-ips: {text:?} is neither an IP address nor a CIDR range"
                    ))
                })
        })
        .collect()
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerSettings,
    #[serde(default)]
    router: Settings,
    #[serde(default)]
    deployments: Vec<DeploymentConfig>,
}

impl ServerConfig {
    /// What a proxy does unless a deployment says otherwise: no image URL
    /// is fetched on a client's behalf (`fetch-image-urls`), so a request
    /// cannot make the proxy reach hosts the client names.
    pub fn proxy_defaults(&mut self) {
        for d in &mut self.router.deployments {
            d.fetch_image_urls.get_or_insert(false);
        }
    }

    /// One model, like `litellm --model`: a single deployment whose group is
    /// the model's own name; its key comes from the provider's variable.
    pub fn one_model(model: &str) -> Self {
        ServerConfig {
            server: ServerSettings::default(),
            router: RouterConfig {
                router: Settings::default(),
                deployments: vec![DeploymentConfig::new(model, model)],
            },
        }
    }

    /// Parses a config text; `origin` names it in errors (`origin:line:col: reason`).
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let file: File = parse_toml(text, origin)?;
        file.server
            .check()
            .map_err(|e| Error::bad_request(format!("{origin}: {}", e.message())))?;
        if file.deployments.is_empty() {
            return Err(Error::bad_request(format!(
                "{origin}: no [[deployments]]: the server would have no model to serve"
            )));
        }
        Ok(ServerConfig {
            server: file.server,
            router: RouterConfig {
                router: file.router,
                deployments: file.deployments,
            },
        })
    }

    /// Reads a config file: litellm YAML for `.yaml` / `.yml`, else
    /// Switchboard TOML. Returns the warnings to show (ignored keys).
    pub fn load(path: &Path) -> Result<(Self, Vec<String>)> {
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if !yaml {
            return Ok((Self::from_file(path)?, Vec::new()));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::bad_request(format!("cannot read {}: {e}", path.display())))?;
        Self::from_litellm_yaml(&text, &path.display().to_string())
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::bad_request(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text, &path.display().to_string())
    }
}

/// Words in a parameter's name that make its value a secret.
const SECRET_WORDS: [&str; 5] = ["key", "secret", "token", "password", "credential"];

/// The secrets `router`'s deployments will send upstream, as far as the
/// config and the environment name them: each deployment's own key, its
/// provider's key variable, and parameters named like secrets (their own
/// value, or their spec's variable). What cannot be read is left out.
pub(crate) fn deployment_secrets(client: &crate::Client, router: &RouterConfig) -> Vec<String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let secret_name = |name: &str| {
        let name = name.to_ascii_lowercase();
        SECRET_WORDS.iter().any(|w| name.contains(w))
    };
    let mut out = Vec::new();
    for d in &router.deployments {
        out.extend(
            d.api_key
                .as_deref()
                .and_then(|k| resolve_secret(k, "a key").ok()),
        );
        for (name, value) in &d.params {
            if secret_name(name) {
                out.extend(resolve_secret(value, name).ok());
            }
        }
        let Ok((spec, _)) = client.registry().resolve(&d.model) else {
            continue;
        };
        out.extend(spec.auth.env.as_deref().and_then(env));
        for p in spec.params.iter().filter(|p| secret_name(&p.name)) {
            out.extend(p.env.as_deref().and_then(env));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_table_defaults_to_loopback_and_four_mebibytes() {
        let c = ServerConfig::from_toml(
            "[[deployments]]\ngroup = \"g\"\nmodel = \"openai/gpt-4o-mini\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.server.host, "127.0.0.1");
        assert_eq!(c.server.max_body_bytes, 4 * 1024 * 1024);
        assert!(!c.server.allow_client_api_base);
        assert_eq!(c.router.deployments[0].group, "g");
    }

    #[test]
    fn unknown_key_is_reported_with_its_location() {
        let e = ServerConfig::from_toml("[server]\nprot = 1\n", "t.toml").unwrap_err();
        assert!(
            e.message().starts_with("t.toml:2:1: unknown field `prot`"),
            "{e}"
        );
    }

    #[test]
    fn redis_url_is_read_and_absent_by_default() {
        let deps = "[[deployments]]\ngroup = \"g\"\nmodel = \"openai/gpt-4o-mini\"\n";
        let c = ServerConfig::from_toml(deps, "t.toml").unwrap();
        assert_eq!(c.server.redis_url, None);
        let text = format!("[server]\nredis-url = \"env:SB_REDIS\"\n{deps}");
        let c = ServerConfig::from_toml(&text, "t.toml").unwrap();
        assert_eq!(c.server.redis_url.as_deref(), Some("env:SB_REDIS"));
    }

    #[test]
    fn connection_limits_default_to_bounded_values_and_absurd_ones_are_refused() {
        let deps = "[[deployments]]\ngroup = \"g\"\nmodel = \"openai/gpt-4o-mini\"\n";
        let c = ServerConfig::from_toml(deps, "t.toml").unwrap();
        let s = &c.server;
        assert_eq!(s.header_read_timeout_secs.get().as_secs(), 10);
        assert_eq!(s.keep_alive_timeout_secs.get().as_secs(), 75);
        assert_eq!(s.body_read_timeout_secs.get().as_secs(), 30);
        assert_eq!(s.shutdown_timeout_secs.get().as_secs(), 30);
        assert_eq!(s.max_connections, 10_000);
        let text =
            format!("[server]\nheader-read-timeout-secs = 2.5\nshutdown-timeout-secs = 0\n{deps}");
        let c = ServerConfig::from_toml(&text, "t.toml").unwrap();
        assert_eq!(c.server.header_read_timeout_secs.get().as_millis(), 2500);
        assert!(c.server.shutdown_timeout_secs.get().is_zero());
        for (line, reason) in [
            (
                "header-read-timeout-secs = -1",
                "t.toml:2:28: server.header-read-timeout-secs: expected a number of seconds",
            ),
            (
                "keep-alive-timeout-secs = nan",
                "t.toml:2:27: server.keep-alive-timeout-secs: expected a number of seconds",
            ),
            (
                "body-read-timeout-secs = 1e30",
                "t.toml:2:26: server.body-read-timeout-secs: expected a number of seconds",
            ),
            (
                "body-read-timeout-secs = 0",
                "t.toml: [server] body-read-timeout-secs must be more than 0",
            ),
            (
                "max-connections = 0",
                "t.toml: [server] max-connections must be between 1 and",
            ),
            (
                "max-body-bytes = 0",
                "t.toml: [server] max-body-bytes must be between 1 and",
            ),
            (
                "workers = 100000",
                "t.toml: [server] workers must be between 0 and 1024",
            ),
        ] {
            let e = ServerConfig::from_toml(&format!("[server]\n{line}\n{deps}"), "t.toml")
                .unwrap_err();
            assert!(e.message().starts_with(reason), "{line}: {e}");
        }
    }

    #[test]
    fn a_config_without_deployments_is_refused() {
        let e = ServerConfig::from_toml("[server]\nport = 1\n", "t.toml").unwrap_err();
        assert!(e.message().contains("no [[deployments]]"), "{e}");
    }
}
