//! A first call through Switchboard: one question to three providers, one
//! streamed answer. With ANTHROPIC_API_KEY / GEMINI_API_KEY / OPENAI_API_KEY
//! set it calls the real APIs; without a key it answers offline with
//! `mock_response`, so it always runs.
//!
//! `cargo run --release --example quickstart`

use futures::StreamExt;
use switchboard::{CallOptions, ChatRequest, Client};

#[tokio::main]
async fn main() -> switchboard::Result<()> {
    let client = Client::new()?;
    for (model, env) in [
        ("openai/gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic/claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
        ("gemini/gemini-2.5-flash", "GEMINI_API_KEY"),
    ] {
        let opts = options(env);
        let req = ChatRequest::new(model)
            .system("Answer in one sentence.")
            .user("What is server-sent events?");
        match client.completion(&req, &opts).await {
            Ok(resp) => {
                let usage = resp.usage.as_ref().map(|u| u.total_tokens).unwrap_or(0);
                println!(
                    "{model}: {} ({usage} tokens)",
                    resp.text().unwrap_or_default()
                );
            }
            Err(e) => println!("{model}: {e}"),
        }
    }

    let req = ChatRequest::new("anthropic/claude-3-5-haiku-latest").user("Count to five.");
    let mut stream = client.stream(&req, &options("ANTHROPIC_API_KEY")).await?;
    print!("streamed: ");
    while let Some(chunk) = stream.next().await {
        if let Some(text) = chunk?.choices.first().and_then(|c| c.delta.content.clone()) {
            print!("{text}");
        }
    }
    println!();
    Ok(())
}

/// Real calls when the key is set, an offline canned answer otherwise.
fn options(key_env: &str) -> CallOptions {
    let mut opts = CallOptions::default();
    if std::env::var(key_env).is_err() {
        opts.mock_response = Some(
            format!(
                "(offline: set {key_env} for a real answer) Server-sent events stream text over HTTP."
            )
            .into(),
        );
    }
    opts
}
