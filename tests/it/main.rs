//! All integration tests, in one binary.

mod cli;
mod fixtures;
mod invariants;
mod lint;
mod streams;
mod support;
