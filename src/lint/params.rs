//! Lint of `openai-params`: a spec declares the OpenAI parameters it
//! carries, and its templates must read each one (through a field such as
//! `{{temperature}}` or `{{extra.n}}`, or by passing the caller's request
//! through with `"$base" = "{{request}}"`); a template that reads a
//! parameter the spec does not declare is a warning, since a request using
//! it is refused before rendering. A chat spec with no declaration at all
//! is a warning too: it accepts every parameter and silently drops those
//! its templates do not read.

use std::collections::BTreeSet;

use crate::engine::canonical::FROM_PARAMS;
use crate::spec::{Diagnostic, Loaded, Severity, Source, Spec};
use crate::template::reads::{Reads, root_reads};
use crate::types::{OPENAI_PARAMS, is_openai_param};

/// A finding for every spec whose declaration and templates disagree.
pub(super) fn check_all(sources: &[Source], loaded: &mut Loaded) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for spec in &loaded.specs {
        let (Some(_), Some(chain)) = (spec.chat.as_ref(), loaded.chains.get(&spec.id)) else {
            continue;
        };
        let own = chain
            .first()
            .and_then(|&i| sources.get(i))
            .map(|s| s.name.clone());
        let mut finding = |at: &[&str], severity, message: String| {
            let at: Vec<String> = at.iter().map(|s| s.to_string()).collect();
            let (mut file, mut line, mut col) = loaded.places.place(sources, chain, &at);
            // A spec that inherits what is wrong for it hears of it in its own file.
            if let Some(own) = own.as_ref().filter(|own| **own != file) {
                (file, line, col) = (own.clone(), 1, 1);
            }
            out.push(Diagnostic {
                file,
                line,
                col,
                severity,
                code: "params".into(),
                message,
            });
        };
        let read = carried(spec);
        let Some(declared) = spec.openai_params() else {
            finding(
                &[],
                Severity::Warning,
                "no `openai-params`: every OpenAI parameter is accepted, and those the templates do not read are dropped silently; declare what the provider carries".into(),
            );
            continue;
        };
        for name in declared.iter().filter(|d| !read.contains(d.as_str())) {
            finding(
                &["openai-params", name],
                Severity::Error,
                format!(
                    "`{name}` is declared in [openai-params], but no template reads it (`{{{{{}}}}}`, or the request passed through with \"$base\" = \"{{{{request}}}}\"); write `{name} = false` there if the provider does not take it",
                    field_of(name)
                ),
            );
        }
        let undeclared: Vec<&str> = OPENAI_PARAMS
            .iter()
            .copied()
            .filter(|p| read.contains(p) && !declared.iter().any(|d| d == p))
            .collect();
        if !undeclared.is_empty() {
            finding(
                &["chat", "body"],
                Severity::Warning,
                format!(
                    "the templates read {}, which `openai-params` does not declare: a request using {} is refused",
                    undeclared
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if undeclared.len() == 1 { "it" } else { "one" }
                ),
            );
        }
    }
    out
}

/// The canonical field a template reads a parameter from.
fn field_of(param: &str) -> String {
    FROM_PARAMS
        .iter()
        .find(|(_, params)| params.contains(&param))
        .map_or_else(|| format!("extra.{param}"), |(field, _)| field.to_string())
}

/// The OpenAI parameters the chat templates of `spec` read.
fn carried(spec: &Spec) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    let Some(ep) = spec.chat.as_ref() else {
        return out;
    };
    let parts = &ep.request.parts;
    let mut all = vec![
        root_reads(&ep.request.body, parts),
        root_reads(&ep.request.path, parts),
    ];
    if let Some(p) = &ep.stream_path {
        all.push(root_reads(p, parts));
    }
    for reads in &all {
        add(reads, &mut out);
    }
    out
}

fn add(reads: &Reads, out: &mut BTreeSet<&'static str>) {
    let param = |name: &str| OPENAI_PARAMS.iter().copied().find(|p| *p == name);
    for path in &reads.paths {
        match path.as_slice() {
            // The whole request read as a value: every parameter in it.
            [whole] if whole == "request" => out.extend(OPENAI_PARAMS),
            [root, name] if root == "extra" || root == "request" => out.extend(param(name)),
            [field, ..] => {
                if let Some((_, params)) = FROM_PARAMS.iter().find(|(f, _)| f == field) {
                    out.extend(params.iter().copied());
                }
            }
            [] => {}
        }
    }
    for (path, overridden) in &reads.bases {
        let whole = match path.as_slice() {
            [r] if r == "request" => true,
            [e] if e == "extra" => false,
            _ => continue,
        };
        let typed = |p: &str| FROM_PARAMS.iter().any(|(_, ps)| ps.contains(&p));
        out.extend(
            OPENAI_PARAMS
                .iter()
                .copied()
                .filter(|p| is_openai_param(p) && !overridden.contains(*p))
                .filter(|p| whole || !typed(p)),
        );
    }
}
