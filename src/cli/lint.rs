//! `switchboard lint`: every finding in the given spec and pricing files,
//! one per line (or as JSON). The checks are the lint room's.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::lint::lint_paths;
use crate::spec::Severity;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Spec files or directories of them; default: ./providers if present, else the built-in specs.
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let report = lint_paths(&args.paths, crate::cost::lint_pricing);
    match args.format {
        Format::Text => {
            for d in &report.findings {
                println!("{d}");
            }
            let unreadable = match report.unreadable {
                0 => String::new(),
                1 => "; 1 path could not be read".to_string(),
                n => format!("; {n} paths could not be read"),
            };
            eprintln!(
                "{} finding(s) in {} file(s){unreadable}",
                report.findings.len(),
                report.files
            );
        }
        Format::Json => {
            let list = serde_json::to_string_pretty(&report.findings).unwrap_or_default();
            println!("{list}");
        }
    }
    let errors = report
        .findings
        .iter()
        .any(|d| d.severity == Severity::Error);
    if errors {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
