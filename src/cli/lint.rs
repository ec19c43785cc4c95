//! `switchboard lint`: every finding in the given spec files, one per line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::spec::{Diagnostic, Severity, Source, check, registry};

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
    let mut sources = registry::builtin_sources();
    let builtin = sources.len();
    let mut paths = args.paths.clone();
    if paths.is_empty() && Path::new("providers").is_dir() {
        paths.push(PathBuf::from("providers"));
    }
    let mut unreadable = Vec::new();
    for p in &paths {
        if p.is_dir() {
            match registry::read_dir_sources(p) {
                Ok(list) => sources.extend(list),
                Err(e) => unreadable.push(io_finding(p, e.message())),
            }
        } else {
            match std::fs::read_to_string(p) {
                Ok(text) => sources.push(Source {
                    name: p.display().to_string(),
                    text,
                }),
                Err(e) => unreadable.push(io_finding(p, &e.to_string())),
            }
        }
    }
    let check_set: Option<HashSet<usize>> =
        (!paths.is_empty()).then(|| (builtin..sources.len()).collect());
    let mut findings = unreadable;
    findings.extend(check::lint(&sources, check_set.as_ref()));
    let checked = check_set.as_ref().map_or(builtin, HashSet::len);
    match args.format {
        Format::Text => {
            for d in &findings {
                println!("{d}");
            }
            eprintln!("{} finding(s) in {checked} spec file(s)", findings.len());
        }
        Format::Json => {
            let list = serde_json::to_string_pretty(&findings).unwrap_or_default();
            println!("{list}");
        }
    }
    let errors = findings.iter().any(|d| d.severity == Severity::Error);
    if errors {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn io_finding(path: &Path, reason: &str) -> Diagnostic {
    Diagnostic {
        file: path.display().to_string(),
        line: 1,
        col: 1,
        severity: Severity::Error,
        code: "io".into(),
        message: reason.to_string(),
    }
}
