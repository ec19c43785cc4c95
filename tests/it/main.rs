//! All integration tests, in one binary.

mod cli;
mod cost;
mod fixtures;
mod invariants;
mod lint;
mod router;
mod streams;
mod support;
