//! Embeddings: the canonical embedding request templates see, and the
//! mapping of a provider's vectors to OpenAI's `list` object. Pure.
//!
//! ```text
//! model, input (always a list: of texts, or of token-id lists), dimensions, encoding_format,
//! user, extra (unknown request fields), request (the whole OpenAI request), params.{…}
//! ```

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::map::UsageParts;
use crate::error::{Error, ErrorKind, Result};
use crate::spec::compile::EmbedEndpoint;
use crate::types::{Embedding, EmbeddingRequest, EmbeddingResponse};

pub(crate) fn canonical_embedding(
    req: &EmbeddingRequest,
    model: &str,
    params: Map<String, Value>,
) -> Result<Value> {
    let request = serde_json::to_value(req).map_err(|e| Error::bad_request(e.to_string()))?;
    Ok(json!({
        "model": model,
        "input": req.input.as_list(),
        "dimensions": req.dimensions,
        "encoding_format": req.encoding_format,
        "user": req.user,
        "extra": req.extra,
        "request": request,
        "params": params,
    }))
}

/// Maps vectors; `base64` asks for little-endian f32 base64 text.
pub(crate) fn map_embeddings(
    ep: &EmbedEndpoint,
    body: &Value,
    model: &str,
    base64: bool,
) -> Result<EmbeddingResponse> {
    let vectors: Vec<&Value> = ep.vectors.0.iter().flat_map(|p| p.all(body)).collect();
    if vectors.is_empty() {
        return Err(Error::new(
            ErrorKind::Internal,
            "the response holds no embedding vectors",
        ));
    }
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = match (v, base64) {
                (Value::Array(nums), true) => Value::String(encode_f32(nums)),
                (Value::String(text), false) => Value::Array(decode_f32(text)?),
                (other, _) => other.clone(),
            };
            Ok(Embedding {
                object: "embedding".into(),
                index: i as u32,
                embedding,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EmbeddingResponse {
        object: "list".into(),
        data,
        model: ep
            .model
            .as_ref()
            .and_then(|p| p.first(body))
            .and_then(Value::as_str)
            .unwrap_or(model)
            .to_string(),
        usage: UsageParts::read(&ep.usage, body).into_usage(),
    })
}

fn encode_f32(nums: &[Value]) -> String {
    let mut bytes = Vec::with_capacity(nums.len() * 4);
    for n in nums {
        bytes.extend_from_slice(&(n.as_f64().unwrap_or(0.0) as f32).to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decode_f32(text: &str) -> Result<Vec<Value>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("embedding is not base64: {e}")))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| json!(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_f32() {
        let nums = vec![json!(0.5), json!(-1.25)];
        let text = encode_f32(&nums);
        assert_eq!(decode_f32(&text).unwrap(), vec![json!(0.5), json!(-1.25)]);
    }
}
