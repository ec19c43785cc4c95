//! `switchboard lint`: every finding in spec, pricing and front-door files.
//! Sits above the engine: it loads specs (`spec`), renders sample requests
//! for each through the engine (`samples`), and checks that what a spec says
//! it carries is what its templates read (`params`). Price lists are checked
//! by the [`PricingCheck`] the caller passes (the cost room's, which owns
//! the file format), so this room never names one above it. Prints nothing;
//! the CLI does.

mod params;
mod samples;

use std::collections::HashSet;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};

use crate::spec::{Diagnostic, Severity, Source, load, registry};

/// Checks price-list sources against the known spec ids.
pub(crate) type PricingCheck = fn(&[Source], &HashSet<String>) -> Vec<Diagnostic>;

/// What linting some paths found.
pub(crate) struct Report {
    /// Every finding, sorted by file and place.
    pub(crate) findings: Vec<Diagnostic>,
    /// Files checked.
    pub(crate) files: usize,
    /// Paths that could not be read.
    pub(crate) unreadable: usize,
}

/// Lints spec, pricing and front-door files and directories of them; with
/// no paths, `./providers`, `./pricing` and `./ingress` when present, else
/// the built-in specs.
/// Built-in specs are always loaded, so `extends` resolves, but only the
/// given files are checked.
pub(crate) fn lint_paths(paths: &[PathBuf], check_pricing: PricingCheck) -> Report {
    let mut sources = registry::builtin_sources();
    let builtin = sources.len();
    let mut paths = paths.to_vec();
    if paths.is_empty() {
        paths.extend(
            ["providers", "pricing", "ingress"]
                .map(PathBuf::from)
                .into_iter()
                .filter(|p| p.is_dir()),
        );
    }
    let mut findings = Vec::new();
    let mut pricing = Vec::new();
    let mut doors = Vec::new();
    let mut unreadable = 0;
    for p in &paths {
        match read(p) {
            Ok(list) if list.is_empty() => findings.push(whole_file(
                p,
                Severity::Warning,
                "no .toml files in this directory".into(),
            )),
            // A file in a directory named `pricing` is a price list; anything else a spec.
            Ok(list) if is_pricing(p) => pricing.extend(list),
            // …and one in a directory named `ingress` a front door.
            Ok(list) if is_ingress(p) => doors.extend(list),
            Ok(list) => sources.extend(list),
            Err(reason) => {
                unreadable += 1;
                findings.push(whole_file(p, Severity::Error, reason));
            }
        }
    }
    // The built-in specs are there to be extended; only the given files are checked.
    let check: Option<HashSet<usize>> =
        (!paths.is_empty()).then(|| (builtin..sources.len()).collect());
    if sources.len() > builtin || (pricing.is_empty() && paths.is_empty()) {
        findings.extend(lint_specs(&sources, check.as_ref()));
    }
    if !pricing.is_empty() {
        let ids: HashSet<String> = sources.iter().map(Source::id_of).collect();
        findings.extend(check_pricing(&pricing, &ids));
    }
    if !doors.is_empty() {
        findings.extend(crate::ingress::compile_doors(&doors).1);
    }
    findings.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    Report {
        findings,
        files: check.as_ref().map_or(builtin, HashSet::len) + pricing.len() + doors.len(),
        unreadable,
    }
}

/// Every finding for the sources at the `check` indices (all when `None`):
/// loading them, then rendering sample requests for each spec that loads.
/// Other sources are there only to be extended.
pub(crate) fn lint_specs(sources: &[Source], check: Option<&HashSet<usize>>) -> Vec<Diagnostic> {
    let mut loaded = load(sources, check);
    let mut out = std::mem::take(&mut loaded.diagnostics);
    out.extend(samples::render_all(sources, &mut loaded));
    out.extend(params::check_all(sources, &mut loaded));
    out.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    out
}

/// The `.toml` files at a path (the file itself, or those in a directory).
fn read(path: &Path) -> Result<Vec<Source>, String> {
    if path.is_dir() {
        return registry::read_dir_sources(path).map_err(|e| e.message().to_string());
    }
    std::fs::read_to_string(path)
        .map(|text| {
            vec![Source {
                name: path.display().to_string(),
                text,
            }]
        })
        .map_err(|e| match e.kind() {
            IoKind::NotFound => "no such file or directory".to_string(),
            IoKind::PermissionDenied => "permission denied".to_string(),
            _ => format!("cannot read: {e}"),
        })
}

/// A finding about a whole path (no line).
fn whole_file(path: &Path, severity: Severity, message: String) -> Diagnostic {
    Diagnostic {
        file: path.display().to_string(),
        line: 0,
        col: 0,
        severity,
        code: "io".into(),
        message,
    }
}

/// A path in (or of) a directory named `ingress`: front-door files.
fn is_ingress(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "ingress")
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

#[cfg(test)]
mod tests;
