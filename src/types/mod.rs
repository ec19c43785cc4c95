//! Public OpenAI-shaped types: request (and its validation), response,
//! stream chunk, usage.
//! Knows no provider.

mod embedding;
mod request;
mod response;
mod validate;

pub use embedding::*;
pub use request::*;
pub use response::*;
pub use validate::InvalidField;
