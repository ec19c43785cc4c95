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
    if paths.is_empty() {
        paths.extend(
            ["providers", "pricing"]
                .map(PathBuf::from)
                .into_iter()
                .filter(|p| p.is_dir()),
        );
    }
    let mut findings = Vec::new();
    let mut pricing = Vec::new();
    for p in &paths {
        let read = if p.is_dir() {
            registry::read_dir_sources(p).map_err(|e| e.message().to_string())
        } else {
            std::fs::read_to_string(p)
                .map(|text| {
                    vec![Source {
                        name: p.display().to_string(),
                        text,
                    }]
                })
                .map_err(|e| e.to_string())
        };
        match read {
            // A file in a directory named `pricing` is a price list; anything else a spec.
            Ok(list) if is_pricing(p) => pricing.extend(list),
            Ok(list) => sources.extend(list),
            Err(e) => findings.push(io_finding(p, &e)),
        }
    }
    // The built-in specs are there to be extended; only the given files are checked.
    let check_set: Option<HashSet<usize>> =
        (!paths.is_empty()).then(|| (builtin..sources.len()).collect());
    if sources.len() > builtin || pricing.is_empty() {
        findings.extend(check::lint(&sources, check_set.as_ref()));
    }
    if !pricing.is_empty() {
        let ids = sources
            .iter()
            .map(Source::id_of)
            .collect::<HashSet<String>>();
        findings.extend(crate::cost::lint_pricing(&pricing, &ids));
    }
    let checked = check_set.as_ref().map_or(builtin, HashSet::len) + pricing.len();
    match args.format {
        Format::Text => {
            for d in &findings {
                println!("{d}");
            }
            eprintln!("{} finding(s) in {checked} file(s)", findings.len());
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

fn is_pricing(path: &Path) -> bool {
    let dir = if path.is_dir() {
        Some(path)
    } else {
        path.parent()
    };
    dir.and_then(|d| d.file_name())
        .is_some_and(|n| n == "pricing")
}
