//! All integration tests, in one binary.

mod fixtures;
mod invariants;
mod streams;
mod support;
