//! Switchboard: one OpenAI-shaped API over every LLM provider, where a
//! provider is a TOML spec interpreted by one generic runtime.
//!
//! ```no_run
//! # async fn run() -> switchboard::Result<()> {
//! use futures::StreamExt;
//! use switchboard::{CallOptions, ChatRequest, Client};
//!
//! let client = Client::new()?;
//! let req = ChatRequest::new("gemini/gemini-2.5-flash").user("Explain SSE in one line");
//! let mut stream = client.stream(&req, &CallOptions::default()).await?;
//! while let Some(chunk) = stream.next().await {
//!     let chunk = chunk?;
//!     if let Some(text) = chunk.choices.first().and_then(|c| c.delta.content.as_deref()) {
//!         print!("{text}");
//!     }
//! }
//! # Ok(()) }
//! ```

#[cfg(feature = "cli")]
pub mod cli;
mod client;
pub mod cost;
pub mod duration;
pub(crate) mod engine;
mod error;
// Served by the proxy, checked by lint.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) mod ingress;
pub(crate) mod jsonpath;
// Only the `lint` command reads it.
#[cfg(feature = "cli")]
pub(crate) mod lint;
pub mod pure;
// The Python package's native module: a shell above the Router, like the CLI.
#[cfg(feature = "python")]
mod python;
pub mod redact;
pub mod router;
#[cfg(feature = "server")]
pub mod server;
pub mod spec;
mod suggest;
pub(crate) mod template;
pub(crate) mod transport;
pub mod types;

pub use client::{
    CallOptions, ChatStream, Client, Fallback, KeyCheck, MockResponse, Native, NativeFrame,
};
pub use cost::{Catalog, ModelInfo, PriceBook, token_counter};
pub use error::{Attempt, Error, ErrorDetails, ErrorKind, Result};
pub use router::{RouteOptions, Router, RouterConfig};
pub use spec::{Diagnostic, Registry, Severity, Source, Spec};
pub use transport::Limits;
pub use types::*;

/// The README's Rust examples, compiled as doc tests so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
