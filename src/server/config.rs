//! The proxy's configuration file: a `[server]` table (address, master key,
//! body limit, whether clients may override a base URL) beside the Router's
//! own `[router]` and `[[deployments]]`. Parsing only; reads no socket.
//!
//! ```toml
//! [server]
//! port = 4000
//! master-key = "env:SWITCHBOARD_MASTER_KEY"
//!
//! [router]
//! retries = 1
//!
//! [[deployments]]
//! group = "gpt-4o-mini"
//! model = "openai/gpt-4o-mini"
//! api-key = "env:OPENAI_API_KEY"
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
pub(crate) use crate::router::resolve_secret;
use crate::router::{DeploymentConfig, RouterConfig, Settings, parse_toml};

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
}

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
        }
    }
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

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::bad_request(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text, &path.display().to_string())
    }
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
    fn a_config_without_deployments_is_refused() {
        let e = ServerConfig::from_toml("[server]\nport = 1\n", "t.toml").unwrap_err();
        assert!(e.message().contains("no [[deployments]]"), "{e}");
    }
}
