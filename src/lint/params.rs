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

/// A finding for every spec (and endpoint variant) whose declaration and
/// templates disagree.
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
        check_one(spec, None, &mut finding);
        for v in &spec.variants {
            check_one(&v.spec, Some(&v.name), &mut finding);
        }
    }
    out
}

/// The findings of one spec, or of its variant `variant` (whose keys sit
/// under `[chat.variants.<name>]` when it writes them).
fn check_one(
    spec: &Spec,
    variant: Option<&str>,
    finding: &mut impl FnMut(&[&str], Severity, String),
) {
    let read = carried(spec);
    let under = |keys: &[&str]| -> Vec<String> {
        let mut at: Vec<String> = variant
            .map(|v| vec!["chat".to_string(), "variants".to_string(), v.to_string()])
            .unwrap_or_default();
        at.extend(keys.iter().map(|k| k.to_string()));
        at
    };
    let through = variant
        .map(|v| format!(" (through variant `{v}`)"))
        .unwrap_or_default();
    let Some(declared) = spec.openai_params() else {
        if variant.is_none() {
            finding(
                &[],
                Severity::Warning,
                "no `openai-params`: every OpenAI parameter is accepted, and those the templates do not read are dropped silently; declare what the provider carries".into(),
            );
        }
        return;
    };
    for name in declared.iter().filter(|d| !read.contains(d.as_str())) {
        let at = under(&["openai-params", name]);
        let at: Vec<&str> = at.iter().map(String::as_str).collect();
        finding(
            &at,
            Severity::Error,
            format!(
                "`{name}` is declared in [openai-params]{through}, but no template reads it (`{{{{{}}}}}`, or the request passed through with \"$base\" = \"{{{{request}}}}\"); write `{name} = false` there if the provider does not take it",
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
        let at = under(&["body"]);
        let mut at: Vec<&str> = at.iter().map(String::as_str).collect();
        if variant.is_none() {
            at.insert(0, "chat");
        }
        finding(
            &at,
            Severity::Warning,
            format!(
                "the templates{through} read {}, which `openai-params` does not declare: a request using {} is refused",
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::lint::lint_specs;
    use crate::spec::{Diagnostic, Severity, Source, registry};

    /// The `params` findings of `text` as a user file beside the built-in specs.
    fn params_findings(text: &str) -> Vec<Diagnostic> {
        let mut sources = registry::builtin_sources();
        sources.push(Source {
            name: "acme.toml".into(),
            text: text.into(),
        });
        let check: HashSet<usize> = [sources.len() - 1].into();
        lint_specs(&sources, Some(&check))
            .into_iter()
            .filter(|d| d.code == "params")
            .collect()
    }

    const NATIVE: &str = r#"
base-url = "https://acme.example.com"
auth = { scheme = "none" }
openai-params = { temperature = true, n = true }

[chat]
path = "/chat"
body = { t = "{{temperature}}", p = "{{extra.presence_penalty}}", k = "{{extra.top_k}}" }

[chat.response]
content = "$.text"
"#;

    #[test]
    fn a_declared_parameter_no_template_reads_is_an_error_and_an_undeclared_read_a_warning() {
        let f = params_findings(NATIVE);
        assert_eq!(f.len(), 2, "{f:#?}");
        let error = f.iter().find(|d| d.severity == Severity::Error).unwrap();
        assert!(error.message.starts_with("`n` is declared"), "{error}");
        assert_eq!((error.file.as_str(), error.line), ("acme.toml", 4));
        let warning = f.iter().find(|d| d.severity == Severity::Warning).unwrap();
        assert!(
            warning.message.contains("read `presence_penalty`")
                && !warning.message.contains("top_k"),
            "{warning}"
        );
    }

    #[test]
    fn a_child_that_stops_passing_a_parameter_must_stop_declaring_it() {
        let child = "extends = \"openai\"\nbase-url = \"https://acme.example.com/v1\"\n\
                     auth = { scheme = \"bearer\", env = \"ACME_KEY\" }\n[chat.body]\nseed = \"{{null}}\"\n";
        let f = params_findings(child);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.starts_with("`seed` is declared"), "{}", f[0]);
        assert_eq!(f[0].file, "acme.toml", "reported in the child's own file");
        let fixed = format!("{child}[openai-params]\nseed = false\n");
        assert!(params_findings(&fixed).is_empty());
        // A key renamed through the canonical field still carries it.
        let renamed = format!("{child}random_seed = \"{{{{seed}}}}\"\n");
        assert!(
            params_findings(&renamed).is_empty(),
            "{:#?}",
            params_findings(&renamed)
        );
    }

    #[test]
    fn a_chat_spec_without_the_table_is_a_warning() {
        let f = params_findings(
            &NATIVE.replace("openai-params = { temperature = true, n = true }\n", ""),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].message.starts_with("no `openai-params`"));
    }
}
