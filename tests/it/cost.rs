//! Costs of recorded responses, checked against prices written out by hand
//! here (USD per million tokens, from the providers' pricing pages), and
//! the catalog's rules: unknown models cost 0 unpriced, streams cost what
//! the same call costs unstreamed.

use std::path::Path;

use futures::StreamExt;
use serde_json::{Value, json};
use switchboard::{CallOptions, Catalog, ChatRequest, Client, Registry, pure, token_counter};

use crate::support::{Mock, Reply};

fn recorded(case: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{case}.json"));
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    rec["response"]["body"].clone()
}

fn cost_of_recorded(provider: &str, case: &str) -> (switchboard::Usage, f64, bool) {
    let registry = Registry::builtin().unwrap();
    let spec = registry.get(provider).unwrap();
    let resp = pure::map(spec, &recorded(case)).unwrap();
    let usage = resp.usage.expect("usage");
    let cost = Catalog::builtin()
        .unwrap()
        .cost(provider, &resp.model, &usage);
    (usage, cost.usd, cost.priced)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn openai_cached_prompt_tokens_cost_the_cached_rate() {
    // gpt-4o-mini: input 0.15, cached input 0.075, output 0.6.
    let (u, usd, priced) = cost_of_recorded("openai", "openai/usage_cached_tokens");
    assert_eq!(
        (u.prompt_tokens, u.cached_tokens(), u.completion_tokens),
        (1149, 1024, 353)
    );
    let want = (125.0 * 0.15 + 1024.0 * 0.075 + 353.0 * 0.6) / 1e6;
    assert!(priced && close(usd, want), "{usd} vs {want}");
}

#[test]
fn openai_reasoning_tokens_are_billed_as_output() {
    // gpt-5-nano: input 0.05, output 0.4; 100 completion tokens, all reasoning.
    let (u, usd, _) = cost_of_recorded("openai", "openai/chat_text_developer_role_length");
    assert_eq!(u.reasoning_tokens(), 100);
    let want = (12.0 * 0.05 + 100.0 * 0.4) / 1e6;
    assert!(close(usd, want), "{usd} vs {want}");
}

#[test]
fn anthropic_cache_writes_cost_the_write_rate() {
    // claude-3-5-sonnet: input 3, cache write 3.75, output 15; 4 + 1163 written prompt tokens.
    let (u, usd, _) = cost_of_recorded("anthropic", "anthropic/usage_cache_creation");
    assert_eq!(
        (u.prompt_tokens, u.cache_write_tokens(), u.completion_tokens),
        (1167, 1163, 187)
    );
    let want = (4.0 * 3.0 + 1163.0 * 3.75 + 187.0 * 15.0) / 1e6;
    assert!(close(usd, want), "{usd} vs {want}");
}

#[test]
fn gemini_thoughts_count_as_output_tokens() {
    // gemini-3-pro-preview (≤200k prompt): input 2, output 12; 736 answer + 1001 thought tokens.
    let (u, usd, _) = cost_of_recorded("gemini", "gemini/thinking_usage_thoughts_tokens");
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.reasoning_tokens()),
        (29, 1737, 1001)
    );
    let want = (29.0 * 2.0 + 1737.0 * 12.0) / 1e6;
    assert!(close(usd, want), "{usd} vs {want}");
}

#[test]
fn an_unknown_model_costs_nothing_and_says_so() {
    let client = Client::new().unwrap();
    let usage = switchboard::Usage {
        prompt_tokens: 10,
        completion_tokens: 10,
        total_tokens: 20,
        ..Default::default()
    };
    let cost = client.cost_per_token("openai/not-a-real-model", &usage);
    assert_eq!((cost.usd, cost.priced), (0.0, false));
}

#[test]
fn every_catalog_model_belongs_to_a_provider_spec() {
    let registry = Registry::builtin().unwrap();
    let catalog = Catalog::builtin().unwrap();
    for (provider, model, _) in catalog.models() {
        assert!(
            registry.get(provider).is_some(),
            "{provider}/{model} has no spec"
        );
    }
    assert!(catalog.priced_count() > 0);
}

#[tokio::test]
async fn a_streamed_call_costs_what_the_same_call_costs_unstreamed() {
    let usage = json!({"input_tokens": 12, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 50, "output_tokens": 30});
    let body = json!({"id": "m1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "usage": usage});
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "m1", "model": "claude-haiku-4-5",
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 50, "output_tokens": 1}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 30}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let sse: String = events
        .iter()
        .map(|(n, d)| format!("event: {n}\ndata: {d}\n\n"))
        .collect();
    let mock = Mock::start(vec![
        Reply::json(200, &body),
        Reply::stream("text/event-stream", sse),
    ])
    .await;
    let client = Client::new().unwrap();
    let opts = CallOptions {
        api_key: Some("k".into()),
        api_base: Some(mock.url.clone()),
        ..Default::default()
    };

    let plain = client
        .completion(
            &ChatRequest::new("anthropic/claude-haiku-4-5").user("hi"),
            &opts,
        )
        .await
        .unwrap();
    let plain_cost = plain
        .usage
        .as_ref()
        .and_then(|u| u.cost)
        .expect("priced response");

    let mut req = ChatRequest::new("anthropic/claude-haiku-4-5").user("hi");
    req.stream = Some(true);
    let mut stream = client.stream(&req, &opts).await.unwrap();
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
    }
    let streamed = stream
        .usage()
        .expect("usage after the stream")
        .cost
        .expect("cost");
    // claude-haiku-4-5: input 1, cached 0.1, write 1.25, output 5.
    let want = (12.0 * 1.0 + 100.0 * 0.1 + 50.0 * 1.25 + 30.0 * 5.0) / 1e6;
    assert!(
        plain_cost.priced && close(plain_cost.usd, want),
        "{plain_cost:?} vs {want}"
    );
    assert_eq!(streamed, plain_cost);
}

#[test]
fn token_counter_is_exact_for_openai_and_an_estimate_elsewhere() {
    let msgs = ChatRequest::new("m")
        .system("You are terse.")
        .user("Hello, world!")
        .messages;
    let exact = token_counter("openai/gpt-4o", &msgs);
    assert!(exact.exact);
    let estimate = token_counter("anthropic/claude-haiku-4-5", &msgs);
    assert!(!estimate.exact);
    assert!(estimate.tokens >= exact.tokens / 2 && estimate.tokens <= exact.tokens * 2);
}

/// Models their provider has retired keep the last prices it published (from
/// Anthropic's and Google's pricing pages at the time: Claude 3 Haiku $0.25 /
/// $1.25, Claude 3.5 Sonnet $3 / $15, Gemini 1.5 Flash $0.075 input up to
/// 128k tokens), so old code, logs and tutorials still cost what they cost.
#[test]
fn retired_models_keep_their_last_published_prices() {
    let client = Client::new().unwrap();
    let usage = switchboard::Usage {
        prompt_tokens: 1_000_000,
        completion_tokens: 1_000_000,
        total_tokens: 2_000_000,
        ..Default::default()
    };
    for (model, want) in [
        ("claude-3-haiku-20240307", 0.25 + 1.25),
        ("anthropic/claude-3-5-sonnet-20241022", 3.0 + 15.0),
    ] {
        let cost = client.cost_per_token(model, &usage);
        assert!(cost.priced && close(cost.usd, want), "{model}: {cost:?}");
        assert!(client.model_info(model).unwrap().retired, "{model}");
    }
    let flash = client.model_info("gemini-1.5-flash").unwrap();
    assert!(flash.retired && flash.input.is_some_and(|p| p > 0.0 && p < 0.2));
    // A current model is not marked.
    assert!(!client.model_info("gpt-4o").unwrap().retired);
}

#[tokio::test]
async fn cost_of_a_model_without_a_price_is_an_error_not_zero() {
    let run = |model: &'static str| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["cost", "--model", model, "--prompt-tokens", "10"])
            .args(["--completion-tokens", "10", "--json"])
            .output()
            .await
            .unwrap()
    };
    for model in ["openai/not-a-real-model", "nosuchprovider/x"] {
        let out = run(model).await;
        assert!(!out.status.success(), "{model}");
        let line: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(line["error"]["kind"], "not_found", "{model}: {line}");
    }
    let out = run("claude-3-haiku-20240307").await;
    assert!(out.status.success());
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (line["priced"].clone(), line["retired"].clone()),
        (json!(true), json!(true))
    );
}
