//! The checks `switchboard lint` runs on `pricing/*.toml`: shape, a provider
//! that has a spec, plausible prices (the bounds the price book enforces at
//! run time), a known mode, and a warning for models with no price. Findings
//! are located like spec findings (`file:line:col`). Here, beside the file
//! format it checks, so the lint room (below cost) is handed this function
//! by the CLI instead of importing upward.

use std::collections::HashSet;

use super::RawPricing;
use super::book::{MAX_FEE, MAX_PER_MILLION};
use crate::spec::compile::MODES;
use crate::spec::diagnostic::{line_col, locate};
use crate::spec::{Diagnostic, Severity, Source};

/// Every finding in the pricing `sources`; `providers` are the known spec ids.
pub(crate) fn lint_pricing(sources: &[Source], providers: &HashSet<String>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for src in sources {
        let finding = |at: &[&str], severity: Severity, code: &str, message: String| {
            let path: Vec<String> = at.iter().map(|s| s.to_string()).collect();
            let (line, col) = line_col(&src.text, locate(&src.text, &path).unwrap_or(0));
            Diagnostic {
                file: src.name.clone(),
                line,
                col,
                severity,
                code: code.into(),
                message,
            }
        };
        let raw: RawPricing = match toml::from_str::<toml::Table>(&src.text)
            .map_err(|e| {
                (
                    e.span().map_or(0, |r| r.start),
                    e.message().trim().to_string(),
                )
            })
            .and_then(|t| {
                serde_path_to_error::deserialize(toml::Value::Table(t)).map_err(|e| {
                    let path = e.path().to_string();
                    let msg = e.inner().to_string();
                    let first = msg.lines().next().unwrap_or_default().replace('`', "\"");
                    let at: Vec<String> = path.split('.').map(String::from).collect();
                    (
                        locate(&src.text, &at).unwrap_or(0),
                        format!("{path}: {first}"),
                    )
                })
            }) {
            Ok(raw) => raw,
            Err((offset, message)) => {
                let (line, col) = line_col(&src.text, offset);
                out.push(Diagnostic {
                    file: src.name.clone(),
                    line,
                    col,
                    severity: Severity::Error,
                    code: "pricing".into(),
                    message,
                });
                continue;
            }
        };
        if !providers.contains(&raw.provider) {
            out.push(finding(
                &["provider"],
                Severity::Error,
                "pricing",
                format!("unknown provider {:?}: no spec has that id", raw.provider),
            ));
        }
        for (model, info) in &raw.models {
            let at = ["models", model.as_str()];
            if !info.is_priced() {
                out.push(finding(
                    &at,
                    Severity::Warning,
                    "pricing",
                    format!("model {model:?} has no price"),
                ));
            }
            for (name, value) in info.rates() {
                if let Some(v) = value
                    && (!(0.0..=MAX_PER_MILLION).contains(&v) || v.is_nan())
                {
                    let key = name.rsplit('.').next().unwrap_or(name);
                    let mut path = at.to_vec();
                    path.push(key);
                    out.push(finding(&path, Severity::Error, "pricing", format!("{model}: {name} = {v} USD per million tokens is not plausible (0 to {MAX_PER_MILLION})")));
                }
            }
            for (name, value) in info.fees() {
                if let Some(v) = value
                    && (!(0.0..=MAX_FEE).contains(&v) || v.is_nan())
                {
                    let mut path = at.to_vec();
                    path.push(name);
                    out.push(finding(
                        &path,
                        Severity::Error,
                        "pricing",
                        format!("{model}: {name} = {v} USD is not plausible (0 to {MAX_FEE})"),
                    ));
                }
            }
            // A spec's endpoint variant is picked by this mode (`when-mode`).
            if let Some(mode) = &info.mode
                && !MODES.contains(&mode.as_str())
            {
                let mut path = at.to_vec();
                path.push("mode");
                out.push(finding(
                    &path,
                    Severity::Error,
                    "pricing",
                    format!(
                        "{model}: unknown mode {mode:?} (known: {})",
                        MODES.join(", ")
                    ),
                ));
            }
            if info.tiers.windows(2).any(|w| w[0].above >= w[1].above) {
                out.push(finding(
                    &at,
                    Severity::Error,
                    "pricing",
                    format!("{model}: tiers must be in increasing order of `above`"),
                ));
            }
        }
    }
    out
}
