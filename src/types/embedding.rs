//! OpenAI-shaped embeddings: request, response.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Usage;

/// An OpenAI embeddings request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    #[serde(default)]
    pub model: String,
    pub input: EmbeddingInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<i64>,
    /// `float` (default) or `base64` (little-endian f32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One text, a list of texts, or (OpenAI) token ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    One(String),
    Many(Vec<String>),
    Tokens(Vec<i64>),
    TokenLists(Vec<Vec<i64>>),
}

impl Default for EmbeddingInput {
    fn default() -> Self {
        EmbeddingInput::Many(Vec::new())
    }
}

impl EmbeddingInput {
    /// The inputs as a list: texts, or token-id lists.
    pub fn as_list(&self) -> Value {
        match self {
            EmbeddingInput::One(s) => Value::from(vec![s.clone()]),
            EmbeddingInput::Many(v) => Value::from(v.clone()),
            EmbeddingInput::Tokens(t) => Value::from(vec![Value::from(t.clone())]),
            EmbeddingInput::TokenLists(t) => {
                Value::from(t.iter().map(|l| Value::from(l.clone())).collect::<Vec<_>>())
            }
        }
    }
}

/// The OpenAI `list` object of embeddings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    pub object: String,
    pub data: Vec<Embedding>,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    pub object: String,
    pub index: u32,
    /// A list of floats, or base64 text when `encoding_format` is `base64`.
    pub embedding: Value,
}
