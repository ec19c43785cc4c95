//! All integration tests, in one binary.

mod cli;
mod cost;
mod fixtures;
mod invariants;
mod lint;
mod reasoning_state;
mod router;
mod server;
mod server_conn;
mod server_keys;
mod server_metrics;
mod server_redis;
mod server_surface;
mod streams;
mod support;
