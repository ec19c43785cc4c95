//! Public OpenAI-shaped types: request (its validation, and the OpenAI
//! parameters it sets), response, stream chunk, usage.
//! Knows no provider.

mod embedding;
mod params;
mod request;
mod response;
mod validate;

pub use embedding::*;
pub use params::{OPENAI_PARAMS, is_openai_param};
pub use request::*;
pub use response::*;
pub use validate::InvalidField;
