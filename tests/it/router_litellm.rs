//! What a litellm Router setup says, working here: plain models as
//! fallbacks (in the config and per call), litellm's strategy names, a
//! deployment's own `input_cost_per_token` / `output_cost_per_token`, and
//! `register_model` — against mock upstreams on 127.0.0.1, on a manual clock.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use switchboard::router::{ManualClock, Rng, RouteOptions, Settings, Strategy};
use switchboard::{CallOptions, ChatRequest, Client, ErrorKind, ModelInfo, Router, RouterConfig};

use crate::router::{dep, ok, req, router};
use crate::support::{Mock, Reply};

/// A spec directory with provider `acme` (OpenAI-compatible) served by
/// `mock`, whose key is optional, so a plain `acme/…` model needs no key.
fn acme_specs(mock: &Mock, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sb-acme-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("acme.toml"),
        format!(
            "extends = \"openai\"\nbase-url = \"{}/v1\"\nauth = {{ scheme = \"bearer\", env = \"SWITCHBOARD_TEST_ACME_KEY_NEVER_SET\", optional = true }}\n",
            mock.url
        ),
    )
    .unwrap();
    dir
}

fn routed(client: Client, config: RouterConfig) -> Router {
    Router::with_clock(
        client,
        config,
        Arc::new(ManualClock::default()),
        Rng::seeded(3),
    )
    .unwrap()
}

fn down() -> Reply {
    Reply::json(
        503,
        &json!({"error": {"message": "overloaded", "type": "server_error", "code": null}}),
    )
}

#[tokio::test]
async fn a_plain_model_in_the_fallback_table_is_an_implicit_group() {
    let main = Mock::start(vec![down()]).await;
    let acme = Mock::start(vec![ok("from acme")]).await;
    let client = Client::with_spec_dir(acme_specs(&acme, "table")).unwrap();
    let config = RouterConfig::from_toml(&format!(
        "[router]\nretries = 0\nfallbacks = {{ chat = [\"acme/small\"] }}\n\
         [[deployments]]\ngroup = \"chat\"\nmodel = \"openai/gpt-4o\"\napi-key = \"k\"\napi-base = \"{}/v1\"\n",
        main.url
    ))
    .unwrap();
    let r = routed(client, config);
    assert_eq!(
        r.groups(),
        ["chat"],
        "an implicit group is no model to call by name"
    );
    let s = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(s.response.text(), Some("from acme"));
    assert_eq!(s.deployment, "acme/small");
    assert_eq!(acme.requests()[0].json()["model"], "small");
    let direct = r
        .completion(&req("acme/small"), &RouteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(direct.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_plain_model_named_by_one_call_is_tried_too() {
    let main = Mock::start(vec![down()]).await;
    let acme = Mock::start(vec![ok("from acme")]).await;
    let client = Client::with_spec_dir(acme_specs(&acme, "per-call")).unwrap();
    let r = routed(
        client,
        RouterConfig {
            router: Settings {
                retries: 0,
                ..Settings::default()
            },
            deployments: vec![dep("chat", "openai/gpt-4o", &main, "main")],
        },
    );
    let route = RouteOptions {
        fallbacks: Some(vec!["nosuch/model-x".into(), "acme/small".into()]),
        ..Default::default()
    };
    let s = r.completion(&req("chat"), &route).await.unwrap();
    assert_eq!(s.response.text(), Some("from acme"));
    let trail: Vec<_> = s.attempts.iter().map(|a| a.deployment.as_str()).collect();
    assert_eq!(trail, ["main", "acme/small"]);
}

#[tokio::test]
async fn a_fallback_that_is_neither_a_group_nor_a_model_is_a_config_error() {
    let main = Mock::start(vec![ok("x")]).await;
    for (table, says) in [
        (
            "fallbacks = { chat = [\"nosuch/model\"] }",
            "\"nosuch/model\" is neither a model group nor a model",
        ),
        (
            "context-window-fallbacks = { nope = [\"chat\"] }",
            "no deployments in group \"nope\"",
        ),
    ] {
        let config = RouterConfig::from_toml(&format!(
            "[router]\n{table}\n[[deployments]]\ngroup = \"chat\"\nmodel = \"openai/gpt-4o\"\napi-base = \"{}\"\n",
            main.url
        ))
        .unwrap();
        let e = Router::new(Client::new().unwrap(), config).err().unwrap();
        assert!(e.message().contains(says), "{e}");
    }
}

#[test]
fn litellms_strategy_names_work_in_toml_and_odd_ones_are_named() {
    for (name, want) in [
        ("simple-shuffle", Strategy::WeightedShuffle),
        ("usage-based-routing-v2", Strategy::UsageBased),
        ("latency-based-routing", Strategy::LatencyBased),
        ("cost-based-routing", Strategy::LowestCost),
        ("least-busy", Strategy::LeastBusy),
    ] {
        let c = RouterConfig::from_toml(&format!("[router]\nstrategy = \"{name}\"\n")).unwrap();
        assert_eq!(c.router.strategy, want, "{name}");
    }
    let e = RouterConfig::from_toml("[router]\nstrategy = \"fastest\"\n").unwrap_err();
    assert!(
        e.message().starts_with("router config:2:12: ")
            && e.message().contains("\"fastest\"")
            && e.message().contains("usage-based-routing"),
        "{e}"
    );
}

#[tokio::test]
async fn a_deployments_own_prices_steer_lowest_cost_and_price_its_answers() {
    let dear = Mock::start(vec![ok("dear")]).await;
    let cheap = Mock::start(vec![ok("cheap")]).await;
    let config = RouterConfig::from_toml(&format!(
        "[router]\nstrategy = \"cost-based-routing\"\n\
         [[deployments]]\ngroup = \"chat\"\nmodel = \"openai/gpt-4o\"\nid = \"dear\"\napi-key = \"k\"\n\
         api-base = \"{}/v1\"\ninput-cost-per-token = 0.00001\noutput-cost-per-token = 0.00003\n\
         [[deployments]]\ngroup = \"chat\"\nmodel = \"openai/gpt-4o\"\nid = \"cheap\"\napi-key = \"k\"\n\
         api-base = \"{}/v1\"\ninput_cost_per_token = 0.0000001\noutput_cost_per_token = 0.0000002\n",
        dear.url, cheap.url
    ))
    .unwrap();
    let r = routed(Client::new().unwrap(), config);
    let s = r
        .completion(&req("chat"), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(s.deployment, "cheap");
    // The mock's usage: 5 prompt and 2 completion tokens, at the deployment's own rates.
    let cost = s.response.usage.unwrap().cost.unwrap();
    assert!(cost.priced);
    assert!(
        (cost.usd - (5.0 * 1e-7 + 2.0 * 2e-7)).abs() < 1e-15,
        "{cost:?}"
    );
    // What a budget reserves against: each deployment's own price, the rest of the catalog entry kept.
    let prices = r.deployment_prices("chat").unwrap();
    let inputs: Vec<_> = prices
        .iter()
        .map(|(_, i)| i.unwrap().input.unwrap())
        .collect();
    assert!(
        (inputs[0] - 10.0).abs() < 1e-9 && (inputs[1] - 0.1).abs() < 1e-9,
        "{inputs:?}"
    );
    assert_eq!(
        prices[0].1.unwrap().context_window,
        Client::new()
            .unwrap()
            .model_info("openai/gpt-4o")
            .unwrap()
            .context_window
    );
}

#[test]
fn an_absurd_deployment_price_is_refused_naming_it() {
    let config = RouterConfig::from_toml(
        "[[deployments]]\ngroup = \"g\"\nmodel = \"openai/gpt-4o\"\nid = \"d\"\ninput-cost-per-token = -1\n",
    )
    .unwrap();
    let e = Router::new(Client::new().unwrap(), config).err().unwrap();
    assert!(
        e.message().contains("\"d\"") && e.message().contains("input_cost_per_token"),
        "{e}"
    );
}

#[tokio::test]
async fn register_model_prices_a_model_the_catalog_lacks_for_calls_and_routers() {
    // It answers as its own model, as OpenAI does for a fine-tune.
    let m = Mock::start(vec![Reply::json(
        200,
        &json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "ft:gpt-4o-mini:acme",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "tuned"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}),
    )])
    .await;
    let mut client = Client::new().unwrap();
    let opts = CallOptions {
        api_key: Some("k".into()),
        api_base: Some(format!("{}/v1", m.url)),
        ..Default::default()
    };
    let tuned = ChatRequest::new("openai/ft:gpt-4o-mini:acme").user("hi");
    let before = client.completion(&tuned, &opts).await.unwrap();
    assert!(!before.usage.unwrap().cost.unwrap().priced);
    let info = ModelInfo {
        context_window: Some(16_000),
        ..Default::default()
    }
    .with_token_prices(Some(0.000_001), Some(0.000_004))
    .unwrap();
    client
        .register_model("openai/ft:gpt-4o-mini:acme", info)
        .unwrap();
    let after = client.completion(&tuned, &opts).await.unwrap();
    let cost = after.usage.unwrap().cost.unwrap();
    assert!(
        cost.priced && (cost.usd - (5.0 * 1e-6 + 2.0 * 4e-6)).abs() < 1e-15,
        "{cost:?}"
    );
    let (r, _) = {
        let config = RouterConfig {
            router: Settings::default(),
            deployments: vec![dep("tuned", "openai/ft:gpt-4o-mini:acme", &m, "t")],
        };
        let clock = Arc::new(ManualClock::default());
        (
            Router::with_clock(client.clone(), config, clock.clone(), Rng::seeded(1)).unwrap(),
            clock,
        )
    };
    let prices = r.deployment_prices("tuned").unwrap();
    assert_eq!(prices[0].1.unwrap().context_window, Some(16_000));
    let bad = ModelInfo {
        input: Some(f64::NAN),
        ..Default::default()
    };
    assert!(client.register_model("openai/x", bad).is_err());
    // The router of the shared tests' helper builds on a fresh client: no such entry there.
    let (plain, _) = router(
        vec![dep("tuned", "openai/ft:gpt-4o-mini:acme", &m, "t")],
        Settings::default(),
    );
    assert_eq!(plain.deployment_prices("tuned").unwrap()[0].1, None);
}

#[tokio::test]
async fn a_calls_mock_answers_every_attempt_without_calling_any_upstream() {
    let m = Mock::start(vec![ok("never")]).await;
    let (r, _) = router(
        vec![dep("chat", "openai/gpt-4o", &m, "d")],
        Settings {
            retries: 1,
            ..Settings::default()
        },
    );
    // The proxy's per-request form: litellm's fields taken out of the body, then routed.
    let mut body = req("chat");
    body.extra
        .insert("mock_response".into(), json!("a mocked answer"));
    let mut taken = CallOptions::default();
    taken.take_litellm_args(&mut body.extra).unwrap();
    assert!(body.extra.is_empty());
    let route = RouteOptions {
        mock_response: taken.mock_response,
        ..Default::default()
    };
    let s = r.completion(&body, &route).await.unwrap();
    assert_eq!(s.response.text(), Some("a mocked answer"));
    let failing = RouteOptions {
        mock_response: Some("litellm.InternalServerError".into()),
        ..Default::default()
    };
    let e = r.completion(&body, &failing).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert_eq!(e.attempts().len(), 2, "retried like a real failure");
    assert_eq!(m.requests().len(), 0);
}
