//! `switchboard serve`: the OpenAI-compatible proxy, for one model
//! (`--model gpt-4o-mini`, like `litellm --model`) or for the model groups
//! of a config file (`--config switchboard.toml`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::server::{AppState, ServerConfig, serve};
use crate::{Client, Error, ErrorKind};

/// Read when the config names no master key.
const MASTER_KEY_ENV: &str = "SWITCHBOARD_MASTER_KEY";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Serve this one model (provider/model or a bare name); its key comes
    /// from the provider's environment variable.
    #[arg(long, conflicts_with = "config", required_unless_present = "config")]
    model: Option<String>,
    /// A config file: [server], [router] and [[deployments]].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Port to listen on (0 picks a free one); overrides the config.
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind (default 127.0.0.1); overrides the config.
    #[arg(long)]
    host: Option<String>,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(start(args)),
        Err(e) => Err(Error::new(ErrorKind::Internal, e.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn start(args: Args) -> Result<(), Error> {
    let mut config = match (&args.config, &args.model) {
        (Some(path), _) => ServerConfig::from_file(path)?,
        (None, Some(model)) => ServerConfig::one_model(model),
        (None, None) => return Err(Error::bad_request("give --model or --config")),
    };
    if let Some(port) = args.port {
        config.server.port = port;
    }
    if let Some(host) = args.host {
        config.server.host = host;
    }
    if config.server.master_key.is_none() {
        config.server.master_key = std::env::var(MASTER_KEY_ENV).ok().filter(|k| !k.is_empty());
    }
    let host = config.server.host.clone();
    let keyed = config.server.master_key.is_some();
    let client = Client::new()?;
    for warning in missing_keys(&client, &config) {
        eprintln!("switchboard: warning: {warning}");
    }
    let state = Arc::new(AppState::new(client, config.clone())?);
    let listener = tokio::net::TcpListener::bind((host.as_str(), config.server.port))
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Connection,
                format!("cannot listen on {host}:{}: {e}", config.server.port),
            )
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
    eprintln!(
        "switchboard: serving {} on http://{addr}/v1 ({})",
        state.groups().join(", "),
        if keyed {
            "master key required"
        } else {
            "no master key"
        }
    );
    if !keyed && !addr.ip().is_loopback() {
        eprintln!(
            "switchboard: warning: listening beyond loopback with no master key; set {MASTER_KEY_ENV} or [server] master-key"
        );
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve(listener, state, shutdown)
        .await
        .map_err(|e| Error::new(ErrorKind::Internal, format!("server stopped: {e}")))
}

/// Deployments with no key of their own whose provider variable is unset:
/// each of their calls would fail with 401, so say so at start.
fn missing_keys(client: &Client, config: &ServerConfig) -> Vec<String> {
    config
        .router
        .deployments
        .iter()
        .filter(|d| d.api_key.is_none())
        .filter_map(|d| {
            let (spec, _) = client.registry().resolve(&d.model).ok()?;
            let auth = &spec.auth;
            let env = auth.env.as_deref()?;
            let unset = std::env::var(env).map_or(true, |v| v.is_empty());
            (unset && !auth.optional && auth.scheme.needs_key()).then(|| {
                format!(
                    "{env} is not set: calls to {} (group {:?}) will fail until it is",
                    d.model, d.group
                )
            })
        })
        .collect()
}
