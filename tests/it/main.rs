//! All integration tests, in one binary.

mod fixtures;
mod support;
