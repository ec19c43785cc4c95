//! Public OpenAI-shaped types: request, response, stream chunk, usage.
//! Knows no provider.

mod embedding;
mod request;
mod response;

pub use embedding::*;
pub use request::*;
pub use response::*;
