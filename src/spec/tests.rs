//! The spec language end to end: sources in, compiled specs (or findings) out.

use serde_json::{Value, json};

use super::*;

fn source(name: &str, text: &str) -> Source {
    Source {
        name: format!("{name}.toml"),
        text: text.to_string(),
    }
}

/// Loads the sources; every diagnostic must be a warning.
fn specs(sources: &[Source]) -> (Vec<Spec>, Vec<Diagnostic>) {
    let loaded = load(sources, None);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(Diagnostic::to_string)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    (loaded.specs, loaded.diagnostics)
}

fn spec<'a>(specs: &'a [Spec], id: &str) -> &'a Spec {
    specs
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no spec {id}"))
}

const PARENT: &str = r#"
base-url = "https://parent.example.com"
auth = { scheme = "none" }

[chat]
path = "/chat"
body = { model = "{{model}}" }

[chat.response]
map = "tokens"
at = "$.usage"
content = "$.text"

[chat.mappings.tokens.usage]
prompt-tokens = "$.in"
completion-tokens = "$.out"

[chat.stream]
framing = "sse"

[chat.stream.events.error]
on = { present = ["$.error"] }
error = true

[chat.stream.events.delta]
content = "$.delta.text"
finish-reason = "$.delta.stop"

[errors.rules]
overloaded = { code = "overloaded", kind = "service_unavailable" }
limited = { code = "limited", kind = "rate_limit" }
"#;

/// The content text a stream rule maps from an event.
fn rule_text(spec: &Spec, rule: usize, event: &Value) -> Option<String> {
    let stream = spec.chat.as_ref()?.stream.as_ref()?;
    stream.events.get(rule)?.map.content.as_ref()?.text(event)
}

#[test]
fn a_child_overrides_one_field_of_a_named_rule_and_adds_one_without_copying_the_list() {
    let child = r#"
extends = "parent"
[chat.stream.events.delta]
content = "$.delta.content"
[chat.stream.events.usage]
map = "tokens"
at = "$.meta.usage"
"#;
    let (specs, _) = specs(&[source("parent", PARENT), source("child", child)]);
    let child = spec(&specs, "child");
    let events = &child.chat.as_ref().unwrap().stream.as_ref().unwrap().events;
    assert_eq!(events.len(), 3, "error, delta, usage");
    assert!(events[0].error);
    // The overridden field, and the one kept from the parent.
    let e = json!({"delta": {"text": "old", "content": "new", "stop": "end"}});
    assert_eq!(rule_text(child, 1, &e).as_deref(), Some("new"));
    let finish = events[1].map.finish_reason.as_ref().unwrap().first(&e);
    assert_eq!(finish, Some(&json!("end")));
    // The added rule reads the named mapping one level down.
    let usage = &events[2].map.usage;
    let e = json!({"meta": {"usage": {"in": 3, "out": 4}}});
    assert_eq!(usage.prompt_tokens.as_ref().unwrap().sum(&e), Some(3));
    assert_eq!(usage.completion_tokens.as_ref().unwrap().sum(&e), Some(4));
    // The parent is untouched.
    let parent = spec(&specs, "parent");
    assert_eq!(
        rule_text(parent, 1, &json!({"delta": {"text": "old"}})).as_deref(),
        Some("old")
    );
}

#[test]
fn a_child_removes_an_inherited_rule_with_false_and_error_rules_merge_by_name() {
    let child = r#"
extends = "parent"
[chat.stream.events]
error = false
[errors.rules]
limited = { kind = "service_unavailable" }
quota = { code = "quota", kind = "rate_limit" }
"#;
    let (specs, _) = specs(&[source("parent", PARENT), source("child", child)]);
    let child = spec(&specs, "child");
    let events = &child.chat.as_ref().unwrap().stream.as_ref().unwrap().events;
    assert_eq!(events.len(), 1);
    assert!(!events[0].error);
    let rules: Vec<(Option<&str>, crate::ErrorKind)> = child
        .errors
        .rules
        .iter()
        .map(|r| (r.code.as_deref(), r.kind))
        .collect();
    assert_eq!(
        rules,
        vec![
            (Some("overloaded"), crate::ErrorKind::ServiceUnavailable),
            // One field changed, the code kept from the parent.
            (Some("limited"), crate::ErrorKind::ServiceUnavailable),
            (Some("quota"), crate::ErrorKind::RateLimit),
        ]
    );
}

#[test]
fn a_mapping_reads_a_named_mapping_at_a_node_and_its_own_keys_win() {
    let child = r#"
extends = "parent"
[chat.response.usage]
completion-tokens = "$.usage.generated"
"#;
    let (specs, _) = specs(&[source("parent", PARENT), source("child", child)]);
    let usage = |id: &str| {
        let m = &spec(&specs, id).chat.as_ref().unwrap().response;
        let doc = json!({"usage": {"in": 1, "out": 2, "generated": 5}});
        (
            m.usage.prompt_tokens.as_ref().and_then(|p| p.sum(&doc)),
            m.usage.completion_tokens.as_ref().and_then(|p| p.sum(&doc)),
        )
    };
    assert_eq!(usage("parent"), (Some(1), Some(2)));
    assert_eq!(usage("child"), (Some(1), Some(5)));
}

#[test]
fn a_stream_rule_can_map_the_response_itself() {
    let text = PARENT.replace(
        "[chat.stream.events.delta]\ncontent = \"$.delta.text\"\nfinish-reason = \"$.delta.stop\"",
        "[chat.stream.events.chunk]\nmap = \"response\"",
    );
    let (specs, _) = specs(&[source("p", &text)]);
    let p = spec(&specs, "p");
    assert_eq!(
        rule_text(p, 1, &json!({"text": "hi"})).as_deref(),
        Some("hi")
    );
    let events = &p.chat.as_ref().unwrap().stream.as_ref().unwrap().events;
    let doc = json!({"usage": {"in": 7}});
    assert_eq!(
        events[1]
            .map
            .usage
            .prompt_tokens
            .as_ref()
            .unwrap()
            .sum(&doc),
        Some(7)
    );
}

/// Every field the mapping finds in `doc`, as text, for comparing two mappings.
fn read(m: &compile::Mapping, doc: &Value) -> Vec<String> {
    let text = |p: &Option<crate::jsonpath::Paths>| p.as_ref().and_then(|p| p.text(doc));
    let nodes = |p: &Option<crate::jsonpath::Paths>| {
        p.as_ref()
            .map(|p| p.0.iter().flat_map(|q| q.all(doc)).count())
    };
    let node_field = |each: &Option<crate::jsonpath::Paths>,
                      field: &Option<crate::jsonpath::Paths>| {
        let nodes: Vec<&Value> = each
            .as_ref()
            .map(|p| p.0.iter().flat_map(|q| q.all(doc)).collect())
            .unwrap_or_default();
        nodes
            .iter()
            .map(|n| field.as_ref().and_then(|f| f.first(n)).cloned())
            .collect::<Vec<_>>()
    };
    vec![
        format!("{:?}", text(&m.content)),
        format!("{:?}", nodes(&m.tool_calls)),
        format!("{:?}", node_field(&m.tool_calls, &m.tool_call.id)),
        format!("{:?}", node_field(&m.tool_calls, &m.tool_call.arguments)),
        format!("{:?}", nodes(&m.thinking_blocks)),
        format!(
            "{:?}",
            node_field(&m.thinking_blocks, &m.thinking_block.signature)
        ),
    ]
}

#[test]
fn the_deprecated_forms_read_what_the_new_forms_read() {
    let base = "base-url = \"https://x.example.com\"\nauth = { scheme = \"none\" }\n[chat]\npath = \"/c\"\nbody = { m = \"{{model}}\" }\n";
    let old = format!(
        "{base}[chat.response]\ncontent = \"$.text\"\ntool-calls = \"$.calls[*]\"\ntool-call = {{ id = \"$.id\", arguments = \"$.args\" }}\nthinking-blocks = \"$.blocks[*]\"\nthinking-block = {{ signature = \"$.sig\" }}\n"
    );
    let new = format!(
        "{base}[chat.response]\ncontent = \"$.text\"\ntool-calls = {{ each = \"$.calls[*]\", id = \"$.id\", arguments = \"$.args\" }}\nthinking-blocks = {{ each = \"$.blocks[*]\", signature = \"$.sig\" }}\n"
    );
    let (specs, found) = specs(&[source("old", &old), source("new", &new)]);
    let deprecated: Vec<&str> = found
        .iter()
        .filter(|d| d.code == "deprecated")
        .map(|d| d.file.as_str())
        .collect();
    assert_eq!(deprecated, ["old.toml", "old.toml"], "{found:#?}");
    let doc = json!({"text": "hi", "calls": [{"id": "c1", "args": "{}"}, {"id": "c2", "args": "[]"}],
        "blocks": [{"sig": "s1"}]});
    let old = read(&spec(&specs, "old").chat.as_ref().unwrap().response, &doc);
    let new = read(&spec(&specs, "new").chat.as_ref().unwrap().response, &doc);
    assert_eq!(old, new);
    assert!(new[2].contains("c2"), "{new:?}");
}

#[test]
fn a_part_is_taken_from_another_provider_as_it_writes_it() {
    let lender = r#"
base-url = "https://lender.example.com"
auth = { scheme = "none" }
[chat]
path = "/c"
body = { t = "{{> effort}}" }
response = { content = "$.text" }
[chat.parts]
effort = { "$match" = "{{extra.reasoning_effort}}", low = 1, high = 2 }
"#;
    let borrower = r#"
base-url = "https://borrower.example.com"
auth = { scheme = "none" }
[chat]
path = "/c"
body = { budget = "{{> effort}}" }
response = { content = "$.text" }
[chat.parts]
effort = { "$from" = "lender" }
"#;
    let (specs, _) = specs(&[source("lender", lender), source("borrower", borrower)]);
    let b = spec(&specs, "borrower");
    let ep = b.chat.as_ref().unwrap();
    let out = crate::template::Renderer {
        parts: &ep.request.parts,
    }
    .render(
        &ep.request.body,
        &json!({"extra": {"reasoning_effort": "high"}}),
    );
    assert_eq!(out, Ok(json!({"budget": 2})));
}

#[test]
fn shipped_specs_load_with_no_warning() {
    let loaded = load(&registry::builtin_sources(), None);
    let shown: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect();
    assert!(shown.is_empty(), "{shown:#?}");
}

/// The findings of loading `sources`, as `file:line:col: …` lines.
fn findings(sources: &[Source]) -> Vec<String> {
    load(sources, None)
        .diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect()
}

#[test]
fn openai_params_merge_under_extends_and_a_child_takes_one_away() {
    let parent =
        format!("openai-params = {{ temperature = true, n = true, seed = true }}\n{PARENT}");
    let child = "extends = \"parent\"\n[openai-params]\nn = false\ntop_p = true\n";
    let (loaded, _) = specs(&[source("parent", &parent), source("child", child)]);
    assert_eq!(
        spec(&loaded, "parent").openai_params(),
        Some(&["temperature".to_string(), "seed".into(), "n".into()][..])
    );
    assert_eq!(
        spec(&loaded, "child").openai_params(),
        Some(&["temperature".to_string(), "top_p".into(), "seed".into()][..])
    );
    assert!(spec(&loaded, "child").carries("top_p") && !spec(&loaded, "child").carries("n"));
    // No table: every parameter is carried.
    let (loaded, _) = specs(&[source("plain", PARENT)]);
    assert!(spec(&loaded, "plain").carries("logit_bias"));
}

#[test]
fn a_name_that_is_no_openai_parameter_is_refused_with_a_hint() {
    let text =
        format!("openai-params = {{ temprature = true, top_k = true, stream = true }}\n{PARENT}");
    let f = findings(&[source("acme", &text)]).join("\n");
    assert!(
        f.contains("`temprature` is not an OpenAI chat parameter; did you mean \"temperature\"?"),
        "{f}"
    );
    assert!(f.contains("read it as `extra.top_k`"), "{f}");
    assert!(
        f.contains("`stream` is not an OpenAI chat parameter; every provider takes it"),
        "{f}"
    );
}

#[test]
fn base_url_env_defaults_to_the_id_and_is_not_inherited_past_a_new_base_url() {
    let parent = format!("base-url-env = [\"PARENT_BASE\", \"PARENT_URL\"]\n{PARENT}");
    let same = "extends = \"parent\"\n";
    let moved = "extends = \"parent\"\nbase-url = \"https://elsewhere.example.com\"\n";
    let (loaded, _) = specs(&[
        source("parent", &parent),
        source("same-host", same),
        source("moved", moved),
        source("plain", PARENT),
    ]);
    assert_eq!(
        spec(&loaded, "parent").base_url_env(),
        ["PARENT_BASE", "PARENT_URL"]
    );
    assert_eq!(
        spec(&loaded, "same-host").base_url_env(),
        ["PARENT_BASE", "PARENT_URL"]
    );
    assert_eq!(spec(&loaded, "moved").base_url_env(), ["MOVED_API_BASE"]);
    assert_eq!(spec(&loaded, "plain").base_url_env(), ["PLAIN_API_BASE"]);
    let bad = format!("base-url-env = [\"OK_NAME\", \"not a name\"]\n{PARENT}");
    let f = findings(&[source("acme", &bad)]).join("\n");
    assert!(
        f.contains("\"not a name\" is not an environment variable name"),
        "{f}"
    );
}

#[test]
fn choices_annotations_and_logprobs_tables_need_each_and_json_tool_a_name() {
    let text = PARENT
        .replacen("[chat]\n", "[chat]\njson-tool = \"bad name\"\n", 1)
        .replacen(
        "content = \"$.text\"\n",
        "content = \"$.text\"\nchoices = { index = \"$.i\", map = \"tokens\" }\nannotations = { url = \"$.u\" }\nlogprobs = { token = \"$.t\" }\n",
        1,
    );
    let f = findings(&[source("acme", &text)]).join("\n");
    for want in [
        "json-tool names a tool",
        "`choices` needs `each`",
        "`annotations` needs `each`",
        "`logprobs` needs `each`",
    ] {
        assert!(f.contains(want), "{want}: {f}");
    }
}

#[test]
fn a_variant_replaces_what_it_writes_and_inherits_the_rest() {
    let child = r#"
extends = "parent"

[chat.variants.v2]
when-mode = ["responses"]
path = "/v2"
response = { content = "$.output" }

[chat.variants.v2.errors.rules]
busy = { code = "busy", kind = "rate_limit" }

[chat.variants.v2.openai-params]
seed = false

[chat.variants.gone]
path = "/gone"
"#;
    let grandchild = "extends = \"child\"\n\n[chat.variants]\ngone = false\n";
    let (all, _) = specs(&[
        source("parent", PARENT),
        source("child", child),
        source("grandchild", grandchild),
    ]);
    let c = spec(&all, "child");
    let mut names = c.variant_names();
    names.sort();
    assert_eq!(names, ["gone", "v2"]);
    let v = c.variant("v2").unwrap();
    assert!(
        c.variant_for_mode("responses")
            .is_some_and(|s| std::sync::Arc::ptr_eq(s, v))
    );
    assert!(c.variant_for_mode("chat").is_none());
    assert_eq!(v.id, "child");
    assert_eq!(v.name, "child (v2)");
    assert!(v.variants.is_empty() && v.embeddings.is_none());
    // Its own response mapping; the endpoint's stream rules, inherited.
    let content = v.chat.as_ref().unwrap().response.content.as_ref().unwrap();
    assert_eq!(
        content
            .text(&json!({"output": "o", "text": "t"}))
            .as_deref(),
        Some("o")
    );
    assert_eq!(
        rule_text(v, 1, &json!({"delta": {"text": "d"}})).as_deref(),
        Some("d")
    );
    // Error rules merged by name over the spec's; parameters key by key.
    let kinds: Vec<_> = v.errors.rules.iter().map(|r| r.code.clone()).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert!(!v.carries("seed") && c.carries("seed"));
    // A child removes an inherited variant by name.
    assert_eq!(spec(&all, "grandchild").variant_names(), ["v2"]);
}

#[test]
fn count_tokens_is_inherited_merged_table_by_table_and_can_be_dropped() {
    let parent = format!(
        "{PARENT}\n[count-tokens]\npath = \"/count\"\ntokens = \"$.n\"\n\
         [count-tokens.body]\nmodel = \"{{{{chat.model}}}}\"\nkeep = true\n"
    );
    let moved = "extends = \"parent\"\n[count-tokens]\npath = \"/elsewhere\"\n\
                 [count-tokens.body]\nmodel = \"{{model}}\"\n";
    let dropped = "extends = \"parent\"\ncount-tokens = false\n";
    let (all, _) = specs(&[
        source("parent", &parent),
        source("moved", moved),
        source("dropped", dropped),
    ]);
    let req = crate::types::ChatRequest::new("m").user("hi");
    let body = |id: &str| {
        crate::engine::count::prepare_count(spec(&all, id), &req, "m1", Default::default(), None)
            .map(|r| (r.path, r.body))
    };
    let (path, b) = body("parent").unwrap();
    assert_eq!(
        (path.as_str(), b),
        ("/count", json!({"model": "m1", "keep": true}))
    );
    let (path, b) = body("moved").unwrap();
    assert_eq!(
        (path.as_str(), b),
        ("/elsewhere", json!({"model": "m1", "keep": true}))
    );
    assert!(!spec(&all, "dropped").counts_tokens());
    assert!(body("dropped").is_err());
}
