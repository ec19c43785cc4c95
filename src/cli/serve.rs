//! `switchboard serve`: the OpenAI-compatible proxy, for one model
//! (`--model gpt-4o-mini`, like `litellm --model`, with `--api-base` and
//! `--api-key-env` as litellm's `--api_base`) or for the model groups of a
//! config file (`--config switchboard.toml`); user provider specs come from
//! `--spec-dir` or `[server] spec-dir`, as for `complete --spec-dir`. SIGTERM or Ctrl-C
//! drains it: no new connections, calls in flight get `[server]
//! shutdown-timeout-secs` to finish, then the rest are cut, the spend log is
//! written and the process exits 0.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::server::{AppState, ServerConfig, Store, StoreOptions, log, serve_workers};
use crate::{Client, Error, ErrorKind};

/// Read when the config names no master key.
const MASTER_KEY_ENV: &str = "SWITCHBOARD_MASTER_KEY";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Serve this one model (provider/model or a bare name); its key comes
    /// from the provider's environment variable.
    #[arg(long, conflicts_with = "config", required_unless_present = "config")]
    model: Option<String>,
    /// A config file: Switchboard TOML ([server], [router] and
    /// [[deployments]]), or a litellm config.yaml (by its .yaml/.yml extension).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Port to listen on (0 picks a free one); overrides the config.
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind (default 127.0.0.1); overrides the config.
    #[arg(long)]
    host: Option<String>,
    /// Serving threads (default: one per core); overrides the config.
    #[arg(long)]
    workers: Option<usize>,
    /// Also load the provider specs (`*.toml`) in this directory, as
    /// `complete --spec-dir` does; overrides `[server] spec-dir`.
    #[arg(long)]
    spec_dir: Option<PathBuf>,
    /// With --model: the upstream's base URL (litellm's `--api_base`).
    #[arg(long, requires = "model")]
    api_base: Option<String>,
    /// With --model: the environment variable holding the upstream's key
    /// (default: the provider's own variable).
    #[arg(long, requires = "model")]
    api_key_env: Option<String>,
}

pub(crate) fn run(args: Args) -> ExitCode {
    // A server keeps serving when whoever read its stderr goes away (log
    // lines are then lost, not fatal); sockets never raise SIGPIPE.
    #[cfg(unix)]
    // SAFETY: setting a signal disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // The first serving thread; `serve_workers` starts the others.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(rt) => {
            let result = rt.block_on(start(args));
            // A blocking task stuck somewhere (a DNS lookup) must not keep
            // the process alive once the server has stopped.
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
            result
        }
        Err(e) => Err(Error::new(ErrorKind::Internal, e.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::line(format_args!("error: {e}"));
            ExitCode::FAILURE
        }
    }
}

async fn start(args: Args) -> Result<(), Error> {
    let mut config = match (&args.config, &args.model) {
        (Some(path), _) => {
            let (config, warnings) = ServerConfig::load(path)?;
            for warning in warnings {
                log::line(format_args!("warning: {warning}"));
            }
            config
        }
        (None, Some(model)) => {
            let mut config = ServerConfig::one_model(model);
            for d in &mut config.router.deployments {
                d.api_base = args.api_base.clone();
                d.api_key = args.api_key_env.as_ref().map(|v| format!("env:{v}"));
            }
            config
        }
        (None, None) => return Err(Error::bad_request("give --model or --config")),
    };
    let spec_dir = match (&args.spec_dir, &config.server.spec_dir) {
        (Some(dir), _) => Some(dir.clone()),
        // A config's directory is relative to the config file.
        (None, Some(dir)) => Some(
            args.config
                .as_deref()
                .and_then(|p| p.parent())
                .map_or_else(|| dir.clone(), |base| base.join(dir)),
        ),
        (None, None) => None,
    };
    if let Some(port) = args.port {
        config.server.port = port;
    }
    if let Some(host) = args.host {
        config.server.host = host;
    }
    if let Some(workers) = args.workers {
        config.server.workers = workers;
    }
    if config.server.master_key.is_none() {
        config.server.master_key = std::env::var(MASTER_KEY_ENV).ok().filter(|k| !k.is_empty());
    }
    let host = config.server.host.clone();
    let keyed = config.server.master_key.is_some();
    let client = match &spec_dir {
        Some(dir) => Client::with_spec_dir(dir)?,
        None => Client::new()?,
    };
    for warning in missing_keys(&client, &config) {
        log::line(format_args!("warning: {warning}"));
    }
    if let Some(warning) = file_limit(config.server.max_connections) {
        log::line(format_args!("warning: {warning}"));
    }
    let mut state = AppState::new(client, config.clone())?;
    if let Some(url) = database_url(&config, args.config.as_deref())? {
        let options = StoreOptions::with_flush_ms(config.server.spend_log_flush_ms)?;
        let store = Store::open_with(&url, options).await?;
        log::line(format_args!(
            "virtual keys and spend logs in {}",
            url.split('@').next_back().unwrap_or_default()
        ));
        state = state.with_store(store);
    }
    if let Some(url) = config.server.redis_url.as_deref().filter(|u| !u.is_empty()) {
        state = state.with_redis(url).await?;
        log::line("rate limits, budgets and cooldowns shared through Redis");
    }
    let state = Arc::new(state);
    // A panic is logged like every other line: with no secret in it.
    let redactor = state.redactor().clone();
    std::panic::set_hook(Box::new(move |info| {
        let text = info.to_string().replace('\n', " ");
        log::with(&redactor, format_args!("panic: {text}"));
    }));
    let port = config.server.port;
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Connection,
                format!("cannot listen on {host}:{port}: the host does not resolve"),
            )
        })?;
    let workers = match config.server.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let groups = state.groups().join(", ");
    let bound = move |addr: std::net::SocketAddr| {
        log::line(format_args!(
            "serving {groups} on http://{addr}/v1 ({}, {workers} worker thread{})",
            if keyed {
                "master key required"
            } else {
                "no master key"
            },
            if workers == 1 { "" } else { "s" }
        ));
        if !keyed && !addr.ip().is_loopback() {
            log::line(format_args!(
                "warning: listening beyond loopback with no master key; set {MASTER_KEY_ENV} or [server] master-key"
            ));
        }
    };
    // Ctrl-C or SIGTERM: stop taking connections, let the calls in flight
    // finish within the drain deadline, then write the spend log's pending
    // rows (in `serve_workers`).
    let shutdown = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    };
    serve_workers(addr, workers, state, shutdown, bound)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse | std::io::ErrorKind::AddrNotAvailable => Error::new(
                ErrorKind::Connection,
                format!("cannot listen on {addr}: {e}"),
            ),
            _ => Error::new(ErrorKind::Internal, format!("server stopped: {e}")),
        })
}

/// The database for virtual keys and spend logs: `[server] database-url`,
/// else `switchboard.db` beside the config (or in the working directory)
/// when a master key is set; None without either.
fn database_url(
    config: &ServerConfig,
    config_path: Option<&std::path::Path>,
) -> Result<Option<String>, Error> {
    if let Some(url) = config
        .server
        .database_url
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        return Ok(Some(url.to_string()));
    }
    if config.server.master_key.is_none() {
        return Ok(None);
    }
    let dir = config_path
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    Ok(Some(format!(
        "sqlite://{}",
        dir.join("switchboard.db").display()
    )))
}

/// Raises this process's open-file limit to its hard limit, and says when
/// even that leaves too few descriptors for `max_connections` clients (each
/// may need one more socket upstream).
fn file_limit(max_connections: usize) -> Option<String> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: reads and writes this process's own limit through a valid pointer.
        let files = unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
            lim.rlim_cur
        };
        let needed = (max_connections as u64)
            .saturating_mul(2)
            .saturating_add(64);
        (files < needed).then(|| {
            format!(
                "[server] max-connections = {max_connections} needs about {needed} open files, but this process may open {files}: lower it, or raise the limit (ulimit -n)"
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = max_connections;
        None
    }
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
