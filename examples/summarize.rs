//! A multi-provider summarization service: one model name, "summarizer",
//! backed by three providers (weighted shuffle, 2 retries, fallback on
//! failure). For each text it prints the summary, the deployment that
//! served it, its tokens and its cost, then the total cost.
//!
//! With OPENAI_API_KEY / ANTHROPIC_API_KEY / GEMINI_API_KEY set, those
//! deployments call the real APIs; a deployment without its key answers
//! offline (`mock_response`), so the example always runs:
//! `cargo run --release --example summarize`

use switchboard::router::{DeploymentConfig, RouteOptions, Settings, Strategy};
use switchboard::{ChatRequest, Client, Router, RouterConfig};

const TEXTS: &[&str] = &[
    "Server-sent events let a server push a stream of text events to a client over one long-lived HTTP response. \
     Each event is a few `field: value` lines ended by a blank line; browsers reconnect by themselves.",
    "A token bucket refills at a fixed rate up to a capacity; each request takes a token or waits. \
     It allows short bursts while holding the average rate to the refill rate.",
    "Prompt caching stores the processed prefix of a long prompt so later requests that share it are cheaper \
     and faster; providers bill cache reads at a fraction of the input price.",
];

fn deployment(model: &str, key_env: &str, weight: f64) -> DeploymentConfig {
    let d = DeploymentConfig::new("summarizer", model)
        .weight(weight)
        .id(model);
    match std::env::var(key_env) {
        Ok(_) => d.api_key(format!("env:{key_env}")),
        Err(_) => d.mock_response(format!(
            "(offline answer from {model}; set {key_env} for a real one) A short summary."
        )),
    }
}

#[tokio::main]
async fn main() -> switchboard::Result<()> {
    let config = RouterConfig {
        router: Settings {
            strategy: Strategy::WeightedShuffle,
            retries: 2,
            ..Settings::default()
        },
        deployments: vec![
            deployment("openai/gpt-4o-mini", "OPENAI_API_KEY", 2.0),
            deployment("anthropic/claude-haiku-4-5", "ANTHROPIC_API_KEY", 1.0),
            deployment("gemini/gemini-2.5-flash", "GEMINI_API_KEY", 1.0),
        ],
    };
    let router = Router::new(Client::new()?, config)?;
    let mut total = 0.0;
    for (i, text) in TEXTS.iter().enumerate() {
        let req = ChatRequest::new("summarizer")
            .system("Summarize in one sentence.")
            .user(*text);
        match router.completion(&req, &RouteOptions::default()).await {
            Ok(routed) => {
                let usage = routed.response.usage.clone().unwrap_or_default();
                let cost = usage.cost.unwrap_or_default();
                total += cost.usd;
                println!("#{} {}", i + 1, routed.response.text().unwrap_or_default());
                println!(
                    "   served by {} — {} prompt + {} completion tokens — ${:.6}{}",
                    routed.deployment,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    cost.usd,
                    if cost.priced { "" } else { " (no known price)" }
                );
            }
            Err(e) => println!("#{} failed: {e}", i + 1),
        }
    }
    println!("total cost: ${total:.6}");
    Ok(())
}
