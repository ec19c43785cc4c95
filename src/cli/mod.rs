//! The `switchboard` command line: parses arguments, calls the library,
//! prints. Holds no business logic.

mod complete;
mod lint;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "switchboard", version, about = "One OpenAI-shaped API over every LLM provider; providers are TOML specs.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check provider spec files; prints `file:line:col: error[code]: reason` per finding.
    Lint(lint::Args),
    /// Print the JSON Schema of a provider spec file.
    Schema,
    /// Send a chat completion; streams text to the terminal, or prints JSON with --json.
    Complete(complete::Args),
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Schema => {
            let schema = crate::spec::schema();
            println!("{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Command::Complete(args) => complete::run(args),
    }
}

/// A single-threaded runtime for one command.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}
