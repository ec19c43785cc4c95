//! `switchboard cost`: what a number of tokens costs on a model, with no call.

use std::process::ExitCode;

use serde_json::json;

use crate::types::{CompletionTokensDetails, PromptTokensDetails, Usage};
use crate::{Client, Error, ErrorKind};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// provider/model, or a bare model name resolved by prefix.
    #[arg(short, long)]
    model: String,
    /// Prompt tokens, cached and cache-write tokens included.
    #[arg(long)]
    prompt_tokens: u64,
    /// Completion tokens, reasoning tokens included.
    #[arg(long)]
    completion_tokens: u64,
    /// Of the prompt tokens, how many were read from the cache.
    #[arg(long, default_value_t = 0)]
    cached_tokens: u64,
    /// Of the prompt tokens, how many were written to the cache.
    #[arg(long, default_value_t = 0)]
    cache_write_tokens: u64,
    /// Of the completion tokens, how many were reasoning.
    #[arg(long, default_value_t = 0)]
    reasoning_tokens: u64,
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let client = match Client::new() {
        Ok(c) => c,
        Err(e) => return fail(args.json, &e),
    };
    if args.cached_tokens + args.cache_write_tokens > args.prompt_tokens
        || args.reasoning_tokens > args.completion_tokens
    {
        return fail(
            args.json,
            &Error::bad_request(
                "cached + cache-write tokens must fit in prompt tokens, reasoning tokens in completion tokens",
            ),
        );
    }
    let usage = Usage {
        prompt_tokens: args.prompt_tokens,
        completion_tokens: args.completion_tokens,
        total_tokens: args.prompt_tokens + args.completion_tokens,
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: Some(args.cached_tokens),
            cache_write_tokens: Some(args.cache_write_tokens),
        }),
        completion_tokens_details: Some(CompletionTokensDetails {
            reasoning_tokens: Some(args.reasoning_tokens),
        }),
        cost: None,
    };
    // A name no spec resolves is an error, not a price of 0.
    if let Err(e) = client.registry().resolve(&args.model) {
        return fail(args.json, &e);
    }
    let cost = client.cost_per_token(&args.model, &usage);
    if !cost.priced {
        return fail(
            args.json,
            &Error::new(
                ErrorKind::NotFound,
                format!(
                    "no price for {}: the catalog does not list it (see `switchboard models --search`)",
                    args.model
                ),
            ),
        );
    }
    let retired = client.model_info(&args.model).is_some_and(|i| i.retired);
    if args.json {
        println!(
            "{}",
            json!({"model": args.model, "usd": cost.usd, "priced": cost.priced, "retired": retired})
        );
    } else if retired {
        println!("${:.6} (retired model: its last published price)", cost.usd);
    } else {
        println!("${:.6}", cost.usd);
    }
    ExitCode::SUCCESS
}

fn fail(json: bool, e: &Error) -> ExitCode {
    if json {
        println!("{}", e.to_openai_json());
    } else {
        eprintln!("error: {e}");
    }
    ExitCode::FAILURE
}
