//! The Router's own overhead: pick + bookkeeping for one request among 50
//! deployments, per strategy (aim: under 2 µs). No network: `pick_for`.
//! And what a plain call's fallbacks cost (litellm's `completion(…,
//! fallbacks=[…])`: an ad-hoc Router per call), on mock answers.

// A benchmark: unwrap, expect and panic are how a test fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use switchboard::router::{DeploymentConfig, ManualClock, Rng, Settings, Strategy};
use switchboard::{CallOptions, ChatRequest, Client, Router, RouterConfig};

fn router(strategy: Strategy) -> Router {
    let deployments = (0..50)
        .map(|i| {
            DeploymentConfig::new(
                "chat",
                if i % 2 == 0 {
                    "openai/gpt-4o-mini"
                } else {
                    "anthropic/claude-haiku-4-5"
                },
            )
            .api_key("k")
            .api_base("http://127.0.0.1:9")
            .weight(1.0 + (i % 5) as f64)
            .limits(Some(1_000_000), Some(1_000_000_000), None)
        })
        .collect();
    let config = RouterConfig {
        router: Settings {
            strategy,
            ..Settings::default()
        },
        deployments,
    };
    Router::with_clock(
        Client::new().expect("client"),
        config,
        Arc::new(ManualClock::default()),
        Rng::seeded(1),
    )
    .expect("router")
}

fn pick(c: &mut Criterion) {
    for (name, strategy) in [
        ("weighted-shuffle", Strategy::WeightedShuffle),
        ("least-busy", Strategy::LeastBusy),
        ("usage-based", Strategy::UsageBased),
        ("latency-based", Strategy::LatencyBased),
        ("lowest-cost", Strategy::LowestCost),
    ] {
        let r = router(strategy);
        c.bench_function(&format!("router_pick_50/{name}"), |b| {
            b.iter(|| r.pick_for("chat", 500).expect("pick"))
        });
    }
}

fn plain_call(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = Client::new().expect("client");
    let req = ChatRequest::new("openai/gpt-4o").user("Summarize this.");
    let plain = CallOptions {
        mock_response: Some("an answer".into()),
        ..Default::default()
    };
    let with_fallbacks = CallOptions {
        fallbacks: vec![
            "anthropic/claude-haiku-4-5".into(),
            "openai/gpt-4o-mini".into(),
        ],
        num_retries: Some(2),
        ..plain.clone()
    };
    for (name, opts) in [("mock", &plain), ("mock_two_fallbacks", &with_fallbacks)] {
        c.bench_function(&format!("plain_call/{name}"), |b| {
            b.iter(|| rt.block_on(client.completion(&req, opts)).expect("answer"))
        });
    }
}

criterion_group!(benches, pick, plain_call);
criterion_main!(benches);
