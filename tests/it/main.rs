//! All integration tests, in one binary.

// A test binary: unwrap, expect and panic are how a test fails, and its helpers are `pub` to its modules.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod cli;
mod cli_litellm;
mod cost;
mod count_tokens;
mod faults;
mod fixtures;
mod invariants;
mod lint;
mod params;
mod plain_call;
mod proxy;
mod reasoning_state;
mod responses_variant;
mod router;
mod router_deadline;
mod router_litellm;
mod serve_cli;
mod server;
mod server_budget;
mod server_crash;
mod server_keys;
mod server_keys_litellm;
mod server_litellm;
mod server_litellm_config;
mod server_messages;
mod server_metrics;
mod server_redis;
mod server_responses;
mod server_shutdown;
mod server_surface;
mod streams;
mod support;
