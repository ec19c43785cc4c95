//! The `switchboard` command line: parses arguments, calls the library,
//! prints. Holds no business logic.

mod check_key;
mod complete;
mod cost;
mod embed;
mod lint;
mod logger;
mod models;
mod providers;
mod serve;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::duration::Seconds;
use crate::{CallOptions, Client, Error, ErrorKind, Limits};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "One OpenAI-shaped API over every LLM provider; providers are TOML specs."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check provider spec files; prints `file:line:col: error[code]: reason` per finding.
    Lint(lint::Args),
    /// Print the JSON Schema of a provider spec file (or, with --ingress, of a front-door file).
    Schema {
        /// The schema of `ingress/<id>.toml` front-door files instead.
        #[arg(long)]
        ingress: bool,
    },
    /// Send a chat completion; streams text to the terminal, or prints JSON with --json.
    Complete(complete::Args),
    /// Create embeddings; prints the OpenAI `list` object with --json.
    Embed(embed::Args),
    /// List models with prices, context window and capabilities.
    Models(models::Args),
    /// What tokens cost on a model, with no call made.
    Cost(cost::Args),
    /// List provider specs: key variable, endpoints, streaming.
    Providers(providers::Args),
    /// Check an API key with the cheapest call the provider allows: valid, invalid or unknown.
    CheckKey(check_key::Args),
    /// Run the OpenAI-compatible proxy for one model (--model) or a config file (--config).
    Serve(serve::Args),
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    // Behave like other Unix tools when the reader goes away (`| head`): end, don't panic.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    logger::init();
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Schema { ingress } => {
            let schema = if ingress {
                crate::ingress::schema()
            } else {
                crate::spec::schema()
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Command::Complete(args) => complete::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Models(args) => models::run(args),
        Command::Cost(args) => cost::run(args),
        Command::Providers(args) => providers::run(args),
        Command::CheckKey(args) => check_key::run(args),
        Command::Serve(args) => serve::run(args),
    }
}

/// A single-threaded runtime for one command.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Options every calling command shares.
#[derive(clap::Args)]
struct CallArgs {
    /// provider/model, or a bare model name resolved by prefix.
    #[arg(short, long)]
    model: Option<String>,
    /// Replaces the provider's base URL (everything before the endpoint path).
    #[arg(long)]
    api_base: Option<String>,
    /// API key; otherwise the provider's environment variable.
    #[arg(long)]
    api_key: Option<String>,
    /// A full OpenAI request as JSON; `-` reads stdin.
    #[arg(long)]
    request_file: Option<PathBuf>,
    /// Print OpenAI-shaped JSON (errors as `{"error":{…}}` on the last line).
    #[arg(long)]
    json: bool,
    /// Provider parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// A directory of extra or overriding provider specs.
    #[arg(long)]
    spec_dir: Option<PathBuf>,
    /// Time allowed for the answer, in seconds (a stream: until it starts;
    /// then it lives while its events keep coming).
    #[arg(long, value_parser = parse_seconds)]
    timeout: Option<Seconds>,
    /// Longest silence allowed inside a streamed answer, in seconds.
    #[arg(long, value_parser = parse_seconds)]
    idle_timeout: Option<Seconds>,
    /// Drop OpenAI parameters the provider does not carry instead of
    /// refusing the call (litellm's drop_params).
    #[arg(long)]
    drop_params: bool,
}

impl CallArgs {
    /// `--model` wins over the request's own model.
    fn model_or(&self, from_request: &str) -> Result<String, Error> {
        let model = self.model.as_deref().unwrap_or(from_request);
        if model.is_empty() {
            return Err(Error::bad_request("give --model (provider/model)"));
        }
        Ok(model.to_string())
    }

    fn client(&self) -> Result<(Client, CallOptions), Error> {
        let client = match &self.spec_dir {
            Some(dir) => Client::with_spec_dir(dir)?,
            None => Client::new()?,
        };
        let mut limits = Limits::default();
        if let Some(idle) = self.idle_timeout {
            limits.idle = idle.get();
        }
        let opts = CallOptions {
            api_key: self.api_key.clone(),
            api_base: self.api_base.clone(),
            timeout: self.timeout.map(Seconds::get),
            limits,
            params: self.params.iter().cloned().collect::<BTreeMap<_, _>>(),
            drop_params: self.drop_params.then_some(true),
            ..CallOptions::default()
        };
        Ok((client, opts))
    }
}

/// A positive, finite number of seconds (`2.5`); anything else is a usage error.
fn parse_seconds(s: &str) -> Result<Seconds, String> {
    Seconds::parse(s, "the value").map_err(|e| e.message().to_string())
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))
}

/// Reads a JSON file (`-` for stdin) as `T`.
fn read_json<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T, Error> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| Error::bad_request(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::bad_request(format!("{} is not {what}: {e}", path.display())))
}

fn io(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Internal, format!("cannot write output: {e}"))
}

/// Prints one JSON object on its own line.
fn print_json<T: Serialize>(value: &T) -> Result<(), Error> {
    let line =
        serde_json::to_string(value).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
    println!("{line}");
    Ok(())
}

/// Runs a command's future; on error prints it (as JSON with `json`) and exits 1.
fn run_async(json: bool, fut: impl std::future::Future<Output = Result<(), Error>>) -> ExitCode {
    let result = match runtime() {
        Ok(rt) => rt.block_on(fut),
        Err(e) => Err(Error::new(ErrorKind::Internal, e.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                println!("{}", e.to_openai_json());
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
