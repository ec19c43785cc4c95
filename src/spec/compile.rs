//! Raw → compiled: every template, JSONPath, regex and table is parsed and
//! checked once here. A compiled `Spec` has no `Option` for anything that
//! is required; if it exists, it is valid. Problems come back as findings
//! keyed by their path in the file, all of them, not just the first.

use std::collections::HashMap;

use regex::Regex;
use serde_json::Value;

use super::jsonpath::{JsonPath, Paths};
use super::raw::*;
use super::template::{Compiler, Tpl};
use crate::engine::stream::Framing;
use crate::error::ErrorKind;

/// A compiled provider spec.
#[derive(Debug)]
pub struct Spec {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) docs: Option<String>,
    pub(crate) base_url: String,
    /// `base_url` as a template over `params` (e.g. a region in the host).
    pub(crate) base_url_tpl: Tpl,
    pub(crate) model_prefixes: Vec<String>,
    pub(crate) auth: Auth,
    pub(crate) headers: Vec<(String, Tpl)>,
    pub(crate) params: Vec<Param>,
    pub(crate) chat: Option<Endpoint>,
    pub(crate) embeddings: Option<EmbedEndpoint>,
    pub(crate) errors: ErrorTable,
}

impl Spec {
    /// The provider id, e.g. `anthropic`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The provider's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Link to the provider's API reference.
    pub fn docs(&self) -> Option<&str> {
        self.docs.as_deref()
    }

    /// The default base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The environment variable holding the API key, if any.
    pub fn key_env(&self) -> Option<&str> {
        self.auth.env.as_deref()
    }

    /// Whether the chat endpoint can stream.
    pub fn streams(&self) -> bool {
        self.chat.as_ref().is_some_and(|c| c.stream.is_some())
    }

    /// Whether the provider has a chat endpoint.
    pub fn chats(&self) -> bool {
        self.chat.is_some()
    }

    /// Whether the provider has an embeddings endpoint.
    pub fn embeds(&self) -> bool {
        self.embeddings.is_some()
    }

    /// Bare model-name prefixes this provider owns.
    pub fn model_prefixes(&self) -> &[String] {
        &self.model_prefixes
    }
}

#[derive(Debug)]
pub(crate) struct Auth {
    pub(crate) scheme: AuthScheme,
    pub(crate) env: Option<String>,
    /// Header or query-parameter name.
    pub(crate) name: String,
    pub(crate) optional: bool,
    /// `aws-sigv4`: the service in the credential scope; empty for other schemes.
    pub(crate) service: String,
    /// `aws-sigv4`: the region in the credential scope, a template over `params`.
    pub(crate) region: Option<Tpl>,
}

#[derive(Debug)]
pub(crate) struct Param {
    pub(crate) name: String,
    pub(crate) env: Option<String>,
    pub(crate) default: Option<String>,
    pub(crate) required: bool,
}

#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) request: RequestTemplate,
    /// Whether any template names `request` (the whole OpenAI request), so it must be built.
    pub(crate) uses_request: bool,
    pub(crate) stream_path: Option<Tpl>,
    pub(crate) roles: HashMap<String, String>,
    pub(crate) merge_roles: bool,
    pub(crate) reasoning_blocks: bool,
    pub(crate) response: Mapping,
    pub(crate) finish_reasons: HashMap<String, String>,
    pub(crate) tool_calls_finish: bool,
    pub(crate) stream: Option<StreamSpec>,
}

/// The HTTP shape shared by every endpoint: method, path, body, parts.
#[derive(Debug)]
pub(crate) struct RequestTemplate {
    pub(crate) method: reqwest::Method,
    pub(crate) path: Tpl,
    pub(crate) body: Tpl,
    pub(crate) parts: Vec<Tpl>,
}

#[derive(Debug)]
pub(crate) struct EmbedEndpoint {
    pub(crate) request: RequestTemplate,
    pub(crate) vectors: Paths,
    pub(crate) model: Option<Paths>,
    pub(crate) usage: UsageMap,
}

#[derive(Debug, Default)]
pub(crate) struct Mapping {
    pub(crate) id: Option<Paths>,
    pub(crate) model: Option<Paths>,
    pub(crate) created: Option<Paths>,
    pub(crate) content: Option<Paths>,
    pub(crate) reasoning: Option<Paths>,
    pub(crate) tool_calls: Option<Paths>,
    pub(crate) tool_call: ToolCallMap,
    pub(crate) thinking_blocks: Option<Paths>,
    pub(crate) thinking_block: ThinkingBlockMap,
    pub(crate) finish_reason: Option<Paths>,
    pub(crate) usage: UsageMap,
}

#[derive(Debug, Default)]
pub(crate) struct ThinkingBlockMap {
    pub(crate) thinking: Option<Paths>,
    pub(crate) signature: Option<Paths>,
    pub(crate) data: Option<Paths>,
}

#[derive(Debug, Default)]
pub(crate) struct ToolCallMap {
    pub(crate) key: Option<Paths>,
    pub(crate) id: Option<Paths>,
    pub(crate) name: Option<Paths>,
    pub(crate) arguments: Option<Paths>,
    pub(crate) signature: Option<Paths>,
}

#[derive(Debug, Default)]
pub(crate) struct UsageMap {
    pub(crate) prompt_tokens: Option<Paths>,
    pub(crate) completion_tokens: Option<Paths>,
    pub(crate) total_tokens: Option<Paths>,
    pub(crate) cached_tokens: Option<Paths>,
    pub(crate) cache_write_tokens: Option<Paths>,
    pub(crate) reasoning_tokens: Option<Paths>,
}

impl UsageMap {
    pub(crate) fn is_empty(&self) -> bool {
        self.prompt_tokens.is_none()
            && self.completion_tokens.is_none()
            && self.total_tokens.is_none()
            && self.cached_tokens.is_none()
            && self.cache_write_tokens.is_none()
            && self.reasoning_tokens.is_none()
    }
}

#[derive(Debug)]
pub(crate) struct StreamSpec {
    pub(crate) framing: Framing,
    pub(crate) done: Option<String>,
    pub(crate) end_on_finish: bool,
    pub(crate) events: Vec<EventRule>,
}

#[derive(Debug)]
pub(crate) struct EventRule {
    pub(crate) event: Option<String>,
    pub(crate) present: Vec<JsonPath>,
    pub(crate) equals: Vec<(JsonPath, Value)>,
    pub(crate) error: bool,
    pub(crate) end: bool,
    pub(crate) map: Mapping,
}

#[derive(Debug)]
pub(crate) struct ErrorTable {
    pub(crate) message: Option<Paths>,
    pub(crate) code: Option<Paths>,
    pub(crate) retry_after_header: String,
    pub(crate) rules: Vec<ErrorRule>,
}

#[derive(Debug)]
pub(crate) struct ErrorRule {
    pub(crate) status: Vec<u16>,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<Regex>,
    pub(crate) body_contains: Option<String>,
    pub(crate) kind: ErrorKind,
}

/// One problem found while compiling, located by its key path in the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) at: Vec<String>,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

const OPENAI_FINISH: &[&str] = &[
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "function_call",
];

struct Ctx {
    findings: Vec<Finding>,
}

impl Ctx {
    fn push(&mut self, at: &[&str], code: &'static str, message: impl Into<String>) {
        self.findings.push(Finding {
            at: at.iter().map(|s| s.to_string()).collect(),
            code,
            message: message.into(),
        });
    }

    fn paths(&mut self, at: &[&str], raw: &Option<RawPaths>) -> Option<Paths> {
        let raw = raw.as_ref()?;
        let list: Vec<&String> = match raw {
            RawPaths::One(s) => vec![s],
            RawPaths::Many(v) => v.iter().collect(),
        };
        let mut out = Vec::new();
        for (i, s) in list.into_iter().enumerate() {
            match JsonPath::parse(s) {
                Ok(p) => out.push(p),
                Err(e) => {
                    let idx = i.to_string();
                    let mut loc = at.to_vec();
                    if matches!(raw, RawPaths::Many(_)) {
                        loc.push(&idx);
                    }
                    self.push(&loc, "jsonpath", e);
                }
            }
        }
        Some(Paths(out))
    }

    fn template(&mut self, at: &[&str], parts: &HashMap<String, usize>, value: &Value) -> Tpl {
        let mut c = Compiler::new(parts);
        let tpl = c.compile(value);
        for e in c.errors {
            let mut loc: Vec<&str> = at.to_vec();
            loc.extend(e.at.iter().map(String::as_str));
            self.push(&loc, "template", e.message);
        }
        tpl
    }

    fn mapping(&mut self, at: &[&str], raw: &RawMapping, in_stream: bool) -> Mapping {
        let sub = |k: &'static str| -> Vec<&str> {
            let mut v = at.to_vec();
            v.push(k);
            v
        };
        if !in_stream {
            for (set, key) in [
                (raw.on.is_some(), "on"),
                (raw.error, "error"),
                (raw.end, "end"),
            ] {
                if set {
                    self.push(
                        &sub(key),
                        "spec",
                        format!("`{key}` belongs to stream events only"),
                    );
                }
            }
        }
        let tc = &raw.tool_call;
        let tc_at = |k: &'static str| -> Vec<&str> {
            let mut v = at.to_vec();
            v.extend(["tool-call", k]);
            v
        };
        let tb = &raw.thinking_block;
        let tb_at = |k: &'static str| -> Vec<&str> {
            let mut v = at.to_vec();
            v.extend(["thinking-block", k]);
            v
        };
        if raw.thinking_blocks.is_none()
            && (tb.thinking.is_some() || tb.signature.is_some() || tb.data.is_some())
        {
            self.push(
                &sub("thinking-block"),
                "spec",
                "`thinking-block` reads nodes that `thinking-blocks` selects, and there is no `thinking-blocks`",
            );
        }
        Mapping {
            id: self.paths(&sub("id"), &raw.id),
            model: self.paths(&sub("model"), &raw.model),
            created: self.paths(&sub("created"), &raw.created),
            content: self.paths(&sub("content"), &raw.content),
            reasoning: self.paths(&sub("reasoning"), &raw.reasoning),
            tool_calls: self.paths(&sub("tool-calls"), &raw.tool_calls),
            tool_call: ToolCallMap {
                key: self.paths(&tc_at("key"), &tc.key),
                id: self.paths(&tc_at("id"), &tc.id),
                name: self.paths(&tc_at("name"), &tc.name),
                arguments: self.paths(&tc_at("arguments"), &tc.arguments),
                signature: self.paths(&tc_at("signature"), &tc.signature),
            },
            thinking_blocks: self.paths(&sub("thinking-blocks"), &raw.thinking_blocks),
            thinking_block: ThinkingBlockMap {
                thinking: self.paths(&tb_at("thinking"), &tb.thinking),
                signature: self.paths(&tb_at("signature"), &tb.signature),
                data: self.paths(&tb_at("data"), &tb.data),
            },
            finish_reason: self.paths(&sub("finish-reason"), &raw.finish_reason),
            usage: self.usage(&sub("usage"), &raw.usage),
        }
    }

    fn usage(&mut self, at: &[&str], u: &RawUsage) -> UsageMap {
        let u_at = |k: &'static str| -> Vec<&str> {
            let mut v = at.to_vec();
            v.push(k);
            v
        };
        UsageMap {
            prompt_tokens: self.paths(&u_at("prompt-tokens"), &u.prompt_tokens),
            completion_tokens: self.paths(&u_at("completion-tokens"), &u.completion_tokens),
            total_tokens: self.paths(&u_at("total-tokens"), &u.total_tokens),
            cached_tokens: self.paths(&u_at("cached-tokens"), &u.cached_tokens),
            cache_write_tokens: self.paths(&u_at("cache-write-tokens"), &u.cache_write_tokens),
            reasoning_tokens: self.paths(&u_at("reasoning-tokens"), &u.reasoning_tokens),
        }
    }

    /// Method, path, body and parts of one endpoint; also the part index.
    fn request(
        &mut self,
        name: &'static str,
        method: &Option<String>,
        path: &str,
        body: &Value,
        parts: &indexmap::IndexMap<String, Value>,
    ) -> (RequestTemplate, HashMap<String, usize>) {
        let method = method
            .as_deref()
            .unwrap_or("POST")
            .parse::<reqwest::Method>()
            .unwrap_or_else(|_| {
                self.push(&[name, "method"], "spec", "not an HTTP method");
                reqwest::Method::POST
            });
        let index: HashMap<String, usize> = parts
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let parts = parts
            .iter()
            .map(|(k, v)| self.template(&[name, "parts", k], &index, v))
            .collect();
        let body = self.template(&[name, "body"], &index, body);
        let path = self.template(&[name, "path"], &index, &Value::String(path.to_string()));
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

/// Compiles a raw spec; `id` is the resolved provider id.
pub(crate) fn compile(id: &str, raw: &RawSpec) -> Result<Spec, Vec<Finding>> {
    let mut cx = Ctx {
        findings: Vec::new(),
    };
    let no_parts = HashMap::new();

    let auth_name = match raw.auth.scheme {
        AuthScheme::Bearer => "authorization".to_string(),
        AuthScheme::GoogleServiceAccount => "authorization".to_string(),
        AuthScheme::Header => raw.auth.header.clone().unwrap_or_else(|| {
            cx.push(
                &["auth", "header"],
                "spec",
                "scheme \"header\" needs `header`: the header's name",
            );
            String::new()
        }),
        AuthScheme::Query => raw.auth.param.clone().unwrap_or_else(|| {
            cx.push(
                &["auth", "param"],
                "spec",
                "scheme \"query\" needs `param`: the query parameter's name",
            );
            String::new()
        }),
        AuthScheme::AwsSigv4 => "authorization".to_string(),
        AuthScheme::None => String::new(),
    };
    let (auth_service, auth_region) = aws_scope(&mut cx, &raw.auth);
    if raw.auth.scheme.needs_key() && raw.auth.env.is_none() {
        cx.push(
            &["auth", "env"],
            "spec",
            "name the environment variable that holds the key",
        );
    }
    if !(raw.base_url.starts_with("http://") || raw.base_url.starts_with("https://")) {
        cx.push(
            &["base-url"],
            "spec",
            format!(
                "base-url must start with http:// or https://, got {:?}",
                raw.base_url
            ),
        );
    }

    let base_url_tpl = cx.template(
        &["base-url"],
        &no_parts,
        &Value::String(raw.base_url.trim_end_matches('/').to_string()),
    );
    let headers = raw
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                cx.template(&["headers", k], &no_parts, &Value::String(v.clone())),
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

    let chat = raw
        .chat
        .as_ref()
        .map(|c| compile_endpoint(&mut cx, "chat", c));
    let embeddings = raw.embeddings.as_ref().map(|e| {
        let (request, _) = cx.request("embeddings", &e.method, &e.path, &e.body, &e.parts);
        let vectors = cx.paths(
            &["embeddings", "response", "vectors"],
            &Some(e.response.vectors.clone()),
        );
        EmbedEndpoint {
            request,
            vectors: vectors.unwrap_or(Paths(Vec::new())),
            model: cx.paths(&["embeddings", "response", "model"], &e.response.model),
            usage: cx.usage(&["embeddings", "response", "usage"], &e.response.usage),
        }
    });
    if raw.chat.is_none() && raw.embeddings.is_none() {
        cx.push(
            &[],
            "spec",
            "a provider needs a [chat] or an [embeddings] endpoint",
        );
    }
    let errors = compile_errors(&mut cx, &raw.errors);

    if !cx.findings.is_empty() {
        return Err(cx.findings);
    }
    Ok(Spec {
        id: id.to_string(),
        name: raw.name.clone().unwrap_or_else(|| id.to_string()),
        docs: raw.docs.clone(),
        base_url: raw.base_url.trim_end_matches('/').to_string(),
        base_url_tpl,
        model_prefixes: raw.model_prefixes.clone(),
        auth: Auth {
            scheme: raw.auth.scheme,
            env: raw.auth.env.clone(),
            name: auth_name,
            optional: raw.auth.optional,
            service: auth_service,
            region: auth_region,
        },
        headers,
        params,
        chat,
        embeddings,
        errors,
    })
}

/// The `service` and `region` of an `aws-sigv4` scheme, both required
/// there and refused with any other scheme.
fn aws_scope(cx: &mut Ctx, raw: &RawAuth) -> (String, Option<Tpl>) {
    let no_parts = HashMap::new();
    if raw.scheme != AuthScheme::AwsSigv4 {
        for (set, key) in [
            (raw.service.is_some(), "service"),
            (raw.region.is_some(), "region"),
        ] {
            if set {
                cx.push(
                    &["auth", key],
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
                &["auth", "service"],
                "spec",
                "scheme \"aws-sigv4\" needs `service`: the AWS service name it signs for (e.g. \"lambda\")",
            );
            String::new()
        }
    };
    let region = match raw.region.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => Some(cx.template(
            &["auth", "region"],
            &no_parts,
            &Value::String(r.to_string()),
        )),
        _ => {
            cx.push(
                &["auth", "region"],
                "spec",
                "scheme \"aws-sigv4\" needs `region`: the AWS region it signs for, e.g. \"{{params.aws_region}}\"",
            );
            None
        }
    };
    (service, region)
}

fn compile_endpoint(cx: &mut Ctx, name: &'static str, raw: &RawEndpoint) -> Endpoint {
    let (request, part_index) = cx.request(name, &raw.method, &raw.path, &raw.body, &raw.parts);
    let stream_path = raw.stream_path.as_ref().map(|p| {
        cx.template(
            &[name, "stream-path"],
            &part_index,
            &Value::String(p.clone()),
        )
    });
    for (from, _) in &raw.roles {
        if !["user", "assistant", "tool"].contains(&from.as_str()) {
            cx.push(
                &[name, "roles", from],
                "spec",
                "roles renames user, assistant or tool (system text is always `system`)",
            );
        }
    }
    for (from, to) in &raw.finish_reasons {
        if !OPENAI_FINISH.contains(&to.as_str()) {
            cx.push(
                &[name, "finish-reasons", from],
                "spec",
                format!(
                    "{to:?} is not an OpenAI finish reason ({})",
                    OPENAI_FINISH.join(", ")
                ),
            );
        }
    }
    let response = cx.mapping(&[name, "response"], &raw.response, false);
    let stream = raw.stream.as_ref().map(|s| {
        let events = s
            .events
            .iter()
            .enumerate()
            .map(|(i, ev)| {
                let idx = i.to_string();
                let at = [name, "stream", "events", idx.as_str()];
                compile_event(cx, &at, ev)
            })
            .collect::<Vec<_>>();
        if events.is_empty() {
            cx.push(
                &[name, "stream"],
                "spec",
                "a stream needs at least one [[events]] rule",
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
        request,
        uses_request,
        stream_path,
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
        response,
        finish_reasons: raw
            .finish_reasons
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        tool_calls_finish: raw.tool_calls_finish,
        stream,
    }
}

fn compile_event(cx: &mut Ctx, at: &[&str], raw: &RawMapping) -> EventRule {
    let mut equals = Vec::new();
    let mut present = Vec::new();
    let mut event = None;
    if let Some(on) = &raw.on {
        event = on.event.clone();
        for (i, p) in on.present.iter().enumerate() {
            let idx = i.to_string();
            let mut loc = at.to_vec();
            loc.extend(["on", "present", idx.as_str()]);
            match JsonPath::parse(p) {
                Ok(p) => present.push(p),
                Err(e) => cx.push(&loc, "jsonpath", e),
            }
        }
        for (k, v) in &on.equals {
            let mut loc = at.to_vec();
            loc.extend(["on", k.as_str()]);
            if !k.starts_with('$') {
                cx.push(
                    &loc,
                    "spec",
                    format!(
                        "`{k}`: keys of `on` are `event`, `present` or a JSONPath starting with `$`"
                    ),
                );
                continue;
            }
            match JsonPath::parse(k) {
                Ok(p) => equals.push((p, v.clone())),
                Err(e) => cx.push(&loc, "jsonpath", e),
            }
        }
    }
    EventRule {
        event,
        present,
        equals,
        error: raw.error,
        end: raw.end,
        map: cx.mapping(at, raw, true),
    }
}

fn compile_errors(cx: &mut Ctx, raw: &RawErrors) -> ErrorTable {
    let rules = raw
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let idx = i.to_string();
            let message = r.message.as_ref().and_then(|m| match Regex::new(m) {
                Ok(re) => Some(re),
                Err(e) => {
                    let first = e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim_start_matches("error: ")
                        .to_string();
                    cx.push(
                        &["errors", "rules", &idx, "message"],
                        "regex",
                        format!("invalid regular expression {m:?}: {first}"),
                    );
                    None
                }
            });
            if r.status.is_none()
                && r.code.is_none()
                && r.message.is_none()
                && r.body_contains.is_none()
            {
                cx.push(
                    &["errors", "rules", &idx],
                    "spec",
                    "a rule needs at least one of status, code, message, body-contains",
                );
            }
            ErrorRule {
                status: match &r.status {
                    None => Vec::new(),
                    Some(RawStatus::One(s)) => vec![*s],
                    Some(RawStatus::Many(v)) => v.clone(),
                },
                code: r.code.clone(),
                message,
                body_contains: r.body_contains.clone(),
                kind: r.kind,
            }
        })
        .collect();
    ErrorTable {
        message: cx.paths(&["errors", "message"], &raw.message),
        code: cx.paths(&["errors", "code"], &raw.code),
        retry_after_header: raw
            .retry_after_header
            .clone()
            .unwrap_or_else(|| "retry-after".to_string())
            .to_ascii_lowercase(),
        rules,
    }
}

#[cfg(test)]
mod aws_sigv4_tests {
    use super::*;

    fn findings(auth: &str) -> Vec<(String, String)> {
        let text = format!(
            "base-url = \"https://example.amazonaws.com\"\nauth = {auth}\n\
             [chat]\npath = \"/x\"\nbody = {{ a = \"{{{{model}}}}\" }}\nresponse = {{ content = \"$.a\" }}\n"
        );
        let raw: RawSpec = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        match compile("x", &raw) {
            Ok(_) => Vec::new(),
            Err(found) => found
                .into_iter()
                .map(|f| (f.at.join("."), f.message))
                .collect(),
        }
    }

    #[test]
    fn aws_sigv4_needs_service_and_region_but_no_env() {
        let found = findings(r#"{ scheme = "aws-sigv4" }"#);
        let at: Vec<&str> = found.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["auth.service", "auth.region"], "{found:?}");
        assert!(
            findings(
                r#"{ scheme = "aws-sigv4", service = "lambda", region = "{{params.aws_region}}" }"#
            )
            .is_empty()
        );
    }

    #[test]
    fn aws_sigv4_region_is_a_checked_template() {
        let found = findings(r#"{ scheme = "aws-sigv4", service = "s", region = "{{nope x}}" }"#);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.starts_with("auth.region"), "{found:?}");
    }

    #[test]
    fn service_and_region_belong_to_aws_sigv4_only() {
        let found = findings(r#"{ scheme = "bearer", env = "K", service = "s", region = "r" }"#);
        let at: Vec<&str> = found.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["auth.service", "auth.region"], "{found:?}");
    }
}
