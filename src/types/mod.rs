//! Public OpenAI-shaped types: request, response, stream chunk, usage.
//! Knows no provider.

mod request;
mod response;

pub use request::*;
pub use response::*;
