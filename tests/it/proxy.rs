//! A proxy in front of mock upstreams, for the server tests: a deployment
//! per mock (OpenAI- or Anthropic-shaped, id `<group>-dep`), a config with
//! a master key and no retries, and the app to send requests through.

use std::sync::Arc;

use switchboard::Client;
use switchboard::router::DeploymentConfig;
use switchboard::server::{AppState, ServerConfig, app};

use crate::support::Mock;

/// Group `group` served by OpenAI's gpt-4o-mini at `mock`.
pub fn openai_dep(group: &str, mock: &Mock) -> DeploymentConfig {
    DeploymentConfig::new(group, "openai/gpt-4o-mini")
        .api_key("upstream-key")
        .api_base(format!("{}/v1", mock.url))
        .id(format!("{group}-dep"))
}

/// Group `group` served by Anthropic's claude-sonnet-4-5 at `mock`.
pub fn anthropic_dep(group: &str, mock: &Mock) -> DeploymentConfig {
    DeploymentConfig::new(group, "anthropic/claude-sonnet-4-5")
        .api_key("upstream-key")
        .api_base(mock.url.clone())
        .id(format!("{group}-dep"))
}

/// These deployments behind master key `master`, with no retries.
pub fn config(master: &str, deployments: Vec<DeploymentConfig>) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.server.master_key = Some(master.into());
    c.router.router.retries = 0;
    c.router.deployments = deployments;
    c
}

/// The proxy's app for `config`, without a database.
pub fn server(config: ServerConfig) -> axum::Router {
    app(Arc::new(
        AppState::new(Client::new().unwrap(), config).unwrap(),
    ))
}
