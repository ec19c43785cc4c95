//! All integration tests, in one binary.

mod cli;
mod cost;
mod fixtures;
mod invariants;
mod lint;
mod router;
mod server;
mod streams;
mod support;
