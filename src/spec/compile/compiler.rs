//! Raw → compiled: the spec, its auth, and each endpoint's request
//! templates. Every template, JSONPath and regex is parsed and checked
//! once; problems come back as findings keyed by their path in the file,
//! all of them, not just the first. Deprecated forms compile, with a warning.

use std::collections::HashMap;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::Value;

use super::{
    Auth, CountEndpoint, EmbedEndpoint, Endpoint, Param, RequestTemplate, Shape, Spec, StreamSpec,
};
use crate::jsonpath::{JsonPath, Paths};
use crate::spec::Severity;
use crate::spec::raw::{AuthScheme, RawAuth, RawEndpoint, RawNames, RawPaths, RawSpec};
use crate::template::{self, Compiler, Tpl, parts};

/// One problem found while compiling, located by its key path in the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) at: Vec<String>,
    pub(crate) severity: Severity,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// What one load has compiled already: specs that extend another repeat its
/// templates and paths, which compile the same every time.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    templates: template::Cache,
    paths: HashMap<String, Result<JsonPath, String>>,
    regexes: HashMap<String, Result<Regex, String>>,
}

/// OpenAI's finish reasons: what every mapped finish reason is.
pub(crate) const OPENAI_FINISH: &[&str] = &[
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "function_call",
];

/// A key path in the spec file, for findings.
pub(super) type At = Vec<String>;

/// `at` with `keys` appended.
pub(super) fn sub(at: &[String], keys: &[&str]) -> At {
    let mut v = at.to_vec();
    v.extend(keys.iter().map(|k| k.to_string()));
    v
}

pub(super) struct Ctx<'c> {
    pub(super) findings: Vec<Finding>,
    caches: &'c mut Caches,
}

impl Ctx<'_> {
    pub(super) fn push(&mut self, at: &[String], code: &'static str, message: impl Into<String>) {
        self.add(at, Severity::Error, code, message.into());
    }

    pub(super) fn warn(&mut self, at: &[String], message: impl Into<String>) {
        self.add(at, Severity::Warning, "deprecated", message.into());
    }

    fn add(&mut self, at: &[String], severity: Severity, code: &'static str, message: String) {
        let f = Finding {
            at: at.to_vec(),
            severity,
            code,
            message,
        };
        // A named mapping is compiled where it is written and where it is used.
        if !self.findings.contains(&f) {
            self.findings.push(f);
        }
    }

    /// Parses one JSONPath (once per load).
    pub(super) fn path(&mut self, source: &str) -> Result<JsonPath, String> {
        if let Some(hit) = self.caches.paths.get(source) {
            return hit.clone();
        }
        let parsed = JsonPath::parse(source);
        self.caches.paths.insert(source.to_string(), parsed.clone());
        parsed
    }

    /// Compiles one path or list of paths, written at `at` + `keys` (the
    /// place is built only for a finding); `prefix` is put before each (see `at`).
    pub(super) fn paths_at(
        &mut self,
        at: &[String],
        keys: &[&str],
        raw: Option<&RawPaths>,
        prefix: Option<&str>,
    ) -> Option<Paths> {
        let raw = raw?;
        let many = matches!(raw, RawPaths::Many(_));
        let mut out = Vec::new();
        for (i, s) in raw.list().into_iter().enumerate() {
            let parsed = match prefix {
                Some(p) => self.path(&rooted(p, s)),
                None => self.path(s),
            };
            match parsed {
                Ok(p) => out.push(p),
                Err(e) => {
                    let mut loc = sub(at, keys);
                    if many {
                        loc.push(i.to_string());
                    }
                    self.push(&loc, "jsonpath", e);
                }
            }
        }
        Some(Paths(out))
    }

    pub(super) fn paths(
        &mut self,
        at: &[String],
        keys: &[&str],
        raw: Option<&RawPaths>,
    ) -> Option<Paths> {
        self.paths_at(at, keys, raw, None)
    }

    /// Compiles a regular expression (once per load).
    pub(super) fn regex(&mut self, source: &str) -> Result<Regex, String> {
        if let Some(hit) = self.caches.regexes.get(source) {
            return hit.clone();
        }
        let compiled = Regex::new(source).map_err(|e| e.to_string());
        self.caches
            .regexes
            .insert(source.to_string(), compiled.clone());
        compiled
    }

    fn template(&mut self, at: &[String], parts: &HashMap<String, usize>, value: &Value) -> Tpl {
        let mut c = Compiler::new(parts, &mut self.caches.templates);
        let tpl = c.compile(value);
        let errors = std::mem::take(&mut c.errors);
        for e in errors {
            let mut loc = at.to_vec();
            loc.extend(e.at);
            self.push(&loc, "template", e.message);
        }
        tpl
    }

    /// Method, path, body and parts of one endpoint; also the part index.
    fn request(
        &mut self,
        name: &str,
        method: &Option<String>,
        path: &str,
        body: &Value,
        parts: &IndexMap<String, Value>,
    ) -> (RequestTemplate, HashMap<String, usize>) {
        let ep = vec![name.to_string()];
        let method = method
            .as_deref()
            .unwrap_or("POST")
            .parse::<reqwest::Method>()
            .unwrap_or_else(|_| {
                self.push(&sub(&ep, &["method"]), "spec", "not an HTTP method");
                reqwest::Method::POST
            });
        let index: HashMap<String, usize> = parts
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let names: Vec<&String> = parts.keys().collect();
        let mut broken = Vec::new();
        let parts: Vec<Tpl> = parts
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let before = self.findings.len();
                let tpl = self.template(&sub(&ep, &["parts", k]), &index, v);
                if self.findings.len() > before {
                    broken.push(i);
                }
                tpl
            })
            .collect();
        let graph = parts::check(&parts);
        for problem in &graph.problems {
            // A part that did not compile was cut short where it went wrong.
            if let parts::Problem::Over(i, _) = problem
                && broken.contains(i)
            {
                continue;
            }
            match problem {
                parts::Problem::Cycle(ring) => {
                    let shown: Vec<&str> = ring.iter().map(|&i| names[i].as_str()).collect();
                    let what = if ring.len() == 2 {
                        format!("part `{}` includes itself", shown[0])
                    } else {
                        "parts include each other in a cycle".to_string()
                    };
                    self.push(
                        &sub(&ep, &["parts", shown[0]]),
                        "template",
                        format!(
                            "{what}: {}; a part may not include itself, directly or through other parts",
                            shown.join(" → ")
                        ),
                    );
                }
                parts::Problem::Over(i, e) => self.push(
                    &sub(&ep, &["parts", names[*i]]),
                    "template",
                    format!("part `{}` {}", names[*i], e.describe()),
                ),
            }
        }
        let body_at = sub(&ep, &["body"]);
        let body = self.template(&body_at, &index, body);
        let path = self.template(
            &sub(&ep, &["path"]),
            &index,
            &Value::String(path.to_string()),
        );
        if graph.problems.is_empty() && broken.is_empty() {
            for (at, tpl) in [(&body_at, &body), (&sub(&ep, &["path"]), &path)] {
                let e = graph.expand(tpl);
                if e.over() {
                    self.push(at, "template", format!("the template {}", e.describe()));
                }
            }
        }
        (
            RequestTemplate {
                method,
                path,
                body,
                parts,
            },
            index,
        )
    }
}

/// `path` read from the node `prefix` selects: `$.message.usage` and
/// `$.input_tokens` make `$.message.usage.input_tokens`.
pub(super) fn rooted(prefix: &str, path: &str) -> String {
    match path.strip_prefix('$') {
        Some(rest) => format!("{prefix}{rest}"),
        None => path.to_string(),
    }
}

/// Compiles a raw spec; `id` is the resolved provider id. Warnings
/// (deprecated forms) are dropped: only errors fail.
#[cfg(test)]
pub(crate) fn compile(id: &str, raw: &RawSpec) -> Result<Spec, Vec<Finding>> {
    let (spec, findings) = compile_all(id, raw, &mut Caches::default());
    spec.ok_or_else(|| {
        findings
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .collect()
    })
}

/// Compiles a raw spec: the spec when no finding is an error, and every finding.
pub(crate) fn compile_all(
    id: &str,
    raw: &RawSpec,
    caches: &mut Caches,
) -> (Option<Spec>, Vec<Finding>) {
    let mut cx = Ctx {
        findings: Vec::new(),
        caches,
    };
    let no_parts = HashMap::new();
    let at = |keys: &[&str]| sub(&[], keys);

    let auth = auth(&mut cx, &raw.auth);
    if !(raw.base_url.starts_with("http://") || raw.base_url.starts_with("https://")) {
        cx.push(
            &at(&["base-url"]),
            "spec",
            format!(
                "base-url must start with http:// or https://, got {:?}",
                raw.base_url
            ),
        );
    }

    let base_url_tpl = cx.template(
        &at(&["base-url"]),
        &no_parts,
        &Value::String(raw.base_url.trim_end_matches('/').to_string()),
    );
    let headers = raw
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                cx.template(&at(&["headers", k]), &no_parts, &Value::String(v.clone())),
            )
        })
        .collect();
    let params = raw
        .params
        .iter()
        .map(|(name, p)| Param {
            name: name.clone(),
            env: p.env.clone(),
            default: p.default.clone(),
            required: p.required,
        })
        .collect();

    let openai_params = cx.openai_params(raw.openai_params.as_ref());
    let base_url_env = base_url_env(&mut cx, id, raw);
    let chat = raw
        .chat
        .as_ref()
        .map(|c| compile_endpoint(&mut cx, "chat", c));
    let embeddings = raw.embeddings.as_ref().map(|e| {
        let (request, _) = cx.request("embeddings", &e.method, &e.path, &e.body, &e.parts);
        let response = at(&["embeddings", "response"]);
        let vectors = cx.paths(&response, &["vectors"], Some(&e.response.vectors));
        EmbedEndpoint {
            request,
            vectors: vectors.unwrap_or(Paths(Vec::new())),
            model: cx.paths(&response, &["model"], e.response.model.as_ref()),
            usage: cx.usage(&response, &e.response.usage, None),
        }
    });
    let count_tokens = raw.count_tokens.as_ref().map(|c| {
        let (request, _) = cx.request("count-tokens", &c.method, &c.path, &c.body, &c.parts);
        let tokens = cx.paths(&at(&["count-tokens"]), &["tokens"], Some(&c.tokens));
        CountEndpoint {
            request,
            tokens: tokens.unwrap_or(Paths(Vec::new())),
        }
    });
    if raw.count_tokens.is_some() && raw.chat.is_none() {
        cx.push(
            &at(&["count-tokens"]),
            "spec",
            "[count-tokens] counts a chat request: the provider needs a [chat] endpoint",
        );
    }
    if raw.chat.is_none() && raw.embeddings.is_none() {
        cx.push(
            &[],
            "spec",
            "a provider needs a [chat] or an [embeddings] endpoint",
        );
    }
    let errors = cx.errors(&raw.errors);

    let findings = cx.findings;
    if findings.iter().any(|f| f.severity == Severity::Error) {
        return (None, findings);
    }
    let spec = Spec {
        id: id.to_string(),
        name: raw.name.clone().unwrap_or_else(|| id.to_string()),
        docs: raw.docs.clone(),
        base_url: raw.base_url.trim_end_matches('/').to_string(),
        base_url_tpl,
        base_url_env,
        model_prefixes: raw.model_prefixes.clone(),
        auth,
        headers,
        params,
        openai_params,
        chat,
        embeddings,
        count_tokens,
        errors,
        variants: Vec::new(),
    };
    (Some(spec), findings)
}

/// The variables that replace `base-url`: those written, else `<ID>_API_BASE`.
fn base_url_env(cx: &mut Ctx, id: &str, raw: &RawSpec) -> Vec<String> {
    let Some(names) = &raw.base_url_env else {
        let upper: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        return vec![format!("{upper}_API_BASE")];
    };
    let names = names.list();
    for (i, name) in names.iter().enumerate() {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            let mut at = sub(&[], &["base-url-env"]);
            if names.len() > 1 || matches!(raw.base_url_env, Some(RawNames::Many(_))) {
                at.push(i.to_string());
            }
            cx.push(
                &at,
                "spec",
                format!("{name:?} is not an environment variable name (A-Z, 0-9 and _)"),
            );
        }
    }
    names.into_iter().cloned().collect()
}

/// The auth scheme, with the names and scope each scheme needs.
fn auth(cx: &mut Ctx, raw: &RawAuth) -> Auth {
    let at = |key: &str| vec!["auth".to_string(), key.to_string()];
    let name = match raw.scheme {
        AuthScheme::Bearer | AuthScheme::GoogleServiceAccount | AuthScheme::AwsSigv4 => {
            "authorization".to_string()
        }
        AuthScheme::Header => raw.header.clone().unwrap_or_else(|| {
            cx.push(
                &at("header"),
                "spec",
                "scheme \"header\" needs `header`: the header's name",
            );
            String::new()
        }),
        AuthScheme::Query => raw.param.clone().unwrap_or_else(|| {
            cx.push(
                &at("param"),
                "spec",
                "scheme \"query\" needs `param`: the query parameter's name",
            );
            String::new()
        }),
        AuthScheme::None => String::new(),
    };
    let (service, region) = aws_scope(cx, raw);
    if raw.scheme.needs_key() && raw.env.is_none() {
        cx.push(
            &at("env"),
            "spec",
            "name the environment variable that holds the key",
        );
    }
    Auth {
        scheme: raw.scheme,
        env: raw.env.clone(),
        name,
        optional: raw.optional,
        service,
        region,
    }
}

/// The `service` and `region` of an `aws-sigv4` scheme, both required
/// there and refused with any other scheme.
fn aws_scope(cx: &mut Ctx, raw: &RawAuth) -> (String, Option<Tpl>) {
    let at = |key: &str| vec!["auth".to_string(), key.to_string()];
    let no_parts = HashMap::new();
    if raw.scheme != AuthScheme::AwsSigv4 {
        for (set, key) in [
            (raw.service.is_some(), "service"),
            (raw.region.is_some(), "region"),
        ] {
            if set {
                cx.push(
                    &at(key),
                    "spec",
                    format!("`{key}` belongs to scheme \"aws-sigv4\" only"),
                );
            }
        }
        return (String::new(), None);
    }
    let service = match raw.service.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => {
            cx.push(
                &at("service"),
                "spec",
                "scheme \"aws-sigv4\" needs `service`: the AWS service name it signs for (e.g. \"lambda\")",
            );
            String::new()
        }
    };
    let region = match raw.region.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => {
            Some(cx.template(&at("region"), &no_parts, &Value::String(r.to_string())))
        }
        _ => {
            cx.push(
                &at("region"),
                "spec",
                "scheme \"aws-sigv4\" needs `region`: the AWS region it signs for, e.g. \"{{params.aws_region}}\"",
            );
            None
        }
    };
    (service, region)
}

fn compile_endpoint(cx: &mut Ctx, name: &str, raw: &RawEndpoint) -> Endpoint {
    let ep = vec![name.to_string()];
    let (request, part_index) = cx.request(name, &raw.method, &raw.path, &raw.body, &raw.parts);
    let stream_path = raw.stream_path.as_ref().map(|p| {
        cx.template(
            &sub(&ep, &["stream-path"]),
            &part_index,
            &Value::String(p.clone()),
        )
    });
    for from in raw.roles.keys() {
        if !["user", "assistant", "tool"].contains(&from.as_str()) {
            cx.push(
                &sub(&ep, &["roles", from]),
                "spec",
                "roles renames user, assistant or tool (system text is always `system`)",
            );
        }
    }
    if raw.json_tool.as_deref().is_some_and(|n| {
        n.is_empty()
            || n.len() > 64
            || !n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }) {
        cx.push(
            &sub(&ep, &["json-tool"]),
            "spec",
            "json-tool names a tool: 1 to 64 letters, digits, _ or -",
        );
    }
    for (from, to) in &raw.finish_reasons {
        if !OPENAI_FINISH.contains(&to.as_str()) {
            cx.push(
                &sub(&ep, &["finish-reasons", from]),
                "spec",
                format!(
                    "{to:?} is not an OpenAI finish reason ({})",
                    OPENAI_FINISH.join(", ")
                ),
            );
        }
    }
    super::variant::check(cx, &ep, &raw.variants);
    let named = super::mapping::Named {
        endpoint: name.to_string(),
        mappings: &raw.mappings,
        response: &raw.response,
    };
    let response = cx.response(&named);
    let stream = raw.stream.as_ref().map(|s| {
        let events = cx.events(&named, &s.events);
        if events.is_empty() {
            cx.push(
                &sub(&ep, &["stream"]),
                "spec",
                "a stream needs at least one rule in [chat.stream.events]",
            );
        }
        StreamSpec {
            framing: s.framing,
            done: s.done.clone(),
            end_on_finish: s.end_on_finish,
            events,
        }
    });
    let mentions_request =
        |v: &Value| serde_json::to_string(v).is_ok_and(|t| t.contains("request"));
    let uses_request = mentions_request(&raw.body) || raw.parts.values().any(mentions_request);
    Endpoint {
        dialect: raw.dialect.clone(),
        request,
        shape: Shape {
            request: uses_request,
            // `system-role` is kept as a rename of `system`, which `roles` itself
            // may not name: the canonical request reads it from there.
            roles: raw
                .roles
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .chain(
                    raw.system_role
                        .iter()
                        .map(|r| ("system".to_string(), r.clone())),
                )
                .collect(),
            merge_roles: raw.merge_roles,
            reasoning_blocks: raw.reasoning_blocks,
            json_tool: raw.json_tool.clone(),
        },
        stream_path,
        response,
        finish_reasons: raw
            .finish_reasons
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        tool_calls_finish: raw.tool_calls_finish,
        json_tool: raw.json_tool.clone(),
        image_bytes: raw.image_bytes,
        stream,
    }
}

#[cfg(test)]
mod tests;
