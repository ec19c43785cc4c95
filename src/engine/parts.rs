//! Content parts as templates see them: an OpenAI message part becomes a
//! canonical block, its media split into what an API asks for.
//!
//! ```text
//! { type: "text", text, cache_control }
//! { type: "image", url | data, media_type, detail, cache_control }
//! { type: "audio", data, format, media_type }
//! { type: "file", data | url | file_id, media_type, filename, name, file (as sent), cache_control }
//! ```
//!
//! A `data:<type>;base64,` URL becomes `data` + `media_type`; an http(s) URL
//! stays `url`, its media type guessed from its extension. A file part
//! (`{"type": "file", "file": {"file_data" | "file_id", "filename", "format"}}`)
//! takes `file_data` (a data URL, or bare base64), or a `file_id` that is a
//! URL (`https://`, `gs://`, `s3://`: `url`) or a provider's file id;
//! `format` (litellm's) names the media type. `name` is the file name
//! without its extension in letters, digits, spaces and hyphens, for APIs
//! that take no more. Knows no provider.

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::types::{Content, ContentPart};

/// Media types by file extension, for URLs and file names.
const BY_EXTENSION: &[(&str, &str)] = &[
    (".png", "image/png"),
    (".gif", "image/gif"),
    (".webp", "image/webp"),
    (".heic", "image/heic"),
    (".jpg", "image/jpeg"),
    (".jpeg", "image/jpeg"),
    (".pdf", "application/pdf"),
    (".txt", "text/plain"),
    (".md", "text/markdown"),
    (".csv", "text/csv"),
    (".html", "text/html"),
    (".json", "application/json"),
    (".doc", "application/msword"),
    (
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (".xls", "application/vnd.ms-excel"),
    (
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (".mp3", "audio/mpeg"),
    (".wav", "audio/wav"),
    (".mp4", "video/mp4"),
];

/// The longest file name kept in `name`.
const MAX_NAME: usize = 128;

/// Appends the canonical blocks of a message's content to `out`.
pub(crate) fn content_blocks(content: Option<&Content>, out: &mut Vec<Value>) -> Result<()> {
    match content {
        None => {}
        Some(Content::Text(t)) if t.is_empty() => {}
        Some(Content::Text(t)) => out.push(json!({ "type": "text", "text": t })),
        Some(Content::Parts(parts)) => {
            for p in parts {
                out.push(match p {
                    ContentPart::Text {
                        text,
                        cache_control,
                    } => {
                        json!({ "type": "text", "text": text, "cache_control": cache_control })
                    }
                    ContentPart::ImageUrl {
                        image_url,
                        cache_control,
                    } => {
                        let mut b = image_block(&image_url.url, image_url.detail.as_deref())?;
                        b["cache_control"] = cache_control.clone().unwrap_or(Value::Null);
                        b
                    }
                    ContentPart::InputAudio { input_audio } => json!({
                        "type": "audio",
                        "data": input_audio.data,
                        "format": input_audio.format,
                        "media_type": format!("audio/{}", input_audio.format),
                    }),
                    ContentPart::File {
                        file,
                        cache_control,
                    } => {
                        let mut b = file_block(file)?;
                        b["cache_control"] = cache_control.clone().unwrap_or(Value::Null);
                        b
                    }
                });
            }
        }
    }
    Ok(())
}

/// An image part: a data URL becomes `data` + `media_type`; an http(s) URL
/// stays a `url`, with the media type guessed from its extension.
pub(crate) fn image_block(url: &str, detail: Option<&str>) -> Result<Value> {
    if url.starts_with("data:") {
        let (media_type, data) = data_url(url, "image")?;
        return Ok(json!({
            "type": "image",
            "data": data,
            "media_type": media_type.unwrap_or("image/png"),
            "detail": detail,
        }));
    }
    let media_type = by_extension(url).unwrap_or("image/jpeg");
    Ok(json!({ "type": "image", "url": url, "media_type": media_type, "detail": detail }))
}

/// A file part (a PDF, a document): see the module doc.
fn file_block(file: &Value) -> Result<Value> {
    let text = |key: &str| {
        file.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let filename = text("filename");
    let mut block = json!({ "type": "file", "file": file, "filename": filename });
    let mut media_type = text("format").map(str::to_string);
    if let Some(data) = text("file_data") {
        if data.starts_with("data:") {
            let (declared, payload) = data_url(data, "file")?;
            media_type = media_type.or(declared.map(str::to_string));
            block["data"] = Value::String(payload.to_string());
        } else {
            block["data"] = Value::String(data.to_string());
        }
    } else if let Some(id) = text("file_id") {
        let is_url = ["https://", "http://", "gs://", "s3://"]
            .iter()
            .any(|s| id.starts_with(s));
        block[if is_url { "url" } else { "file_id" }] = Value::String(id.to_string());
        if is_url {
            media_type = media_type.or_else(|| by_extension(id).map(str::to_string));
        }
    } else {
        return Err(Error::bad_request(
            "a file part needs file.file_data (a base64 data URL) or file.file_id",
        )
        .with_param("messages"));
    }
    let media_type = media_type
        .or_else(|| filename.and_then(by_extension).map(str::to_string))
        .unwrap_or_else(|| "application/pdf".to_string());
    block["media_type"] = Value::String(media_type);
    block["name"] = Value::String(safe_name(filename));
    Ok(block)
}

/// `data:<type>;base64,<data>` → (type, data); `what` names the part in errors.
fn data_url<'u>(url: &'u str, what: &str) -> Result<(Option<&'u str>, &'u str)> {
    let rest = url.strip_prefix("data:").unwrap_or(url);
    let (meta, data) = rest.split_once(',').ok_or_else(|| {
        Error::bad_request(format!("{what} data URL has no comma before its data"))
    })?;
    if !meta.ends_with(";base64") {
        return Err(Error::bad_request(format!(
            "{what} data URLs must be base64 (data:<type>;base64,<data>)"
        )));
    }
    let media_type = meta.split(';').next().filter(|t| !t.is_empty());
    Ok((media_type, data))
}

/// The media type a URL's or file name's extension names.
fn by_extension(name: &str) -> Option<&'static str> {
    let path = name
        .split(['?', '#'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    BY_EXTENSION
        .iter()
        .find(|(ext, _)| path.ends_with(ext))
        .map(|(_, t)| *t)
}

/// The file name without its extension, in letters, digits, single spaces
/// and hyphens (others become a space); `document` when nothing is left.
fn safe_name(filename: Option<&str>) -> String {
    let stem = filename
        .map(|f| f.rsplit_once('.').map_or(f, |(s, _)| s))
        .unwrap_or_default();
    let mut out = String::new();
    for c in stem.chars().take(MAX_NAME) {
        let c = if c.is_ascii_alphanumeric() || c == '-' {
            c
        } else {
            ' '
        };
        if !(c == ' ' && (out.is_empty() || out.ends_with(' '))) {
            out.push(c);
        }
    }
    let out = out.trim_end().to_string();
    if out.is_empty() {
        "document".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_split_into_media_type_and_data() {
        let b = image_block("data:image/webp;base64,AAAA", None).unwrap();
        assert_eq!(b["media_type"], "image/webp");
        assert_eq!(b["data"], "AAAA");
        let u = image_block("https://x.test/cat.PNG?x=1", Some("low")).unwrap();
        assert_eq!(u["media_type"], "image/png");
        assert!(image_block("data:image/png,abc", None).is_err());
    }

    #[test]
    fn a_pdf_part_becomes_data_media_type_and_a_safe_name() {
        let b = file_block(&json!({
            "file_data": "data:application/pdf;base64,JVBERi0xLjQK",
            "filename": "Q3 report_final.v2.pdf"
        }))
        .unwrap();
        assert_eq!(b["type"], "file");
        assert_eq!(b["data"], "JVBERi0xLjQK");
        assert_eq!(b["media_type"], "application/pdf");
        assert_eq!(b["filename"], "Q3 report_final.v2.pdf");
        assert_eq!(b["name"], "Q3 report final v2");
    }

    #[test]
    fn a_file_id_is_a_url_or_a_providers_id() {
        let u = file_block(&json!({"file_id": "gs://bucket/paper.pdf"})).unwrap();
        assert_eq!(u["url"], "gs://bucket/paper.pdf");
        assert_eq!(u["media_type"], "application/pdf");
        assert_eq!(u["name"], "document");
        let f = file_block(&json!({"file_id": "file-abc123", "format": "text/plain"})).unwrap();
        assert_eq!(f["file_id"], "file-abc123");
        assert!(f.get("url").is_none());
        assert_eq!(f["media_type"], "text/plain");
        let csv = file_block(&json!({"file_data": "YSxiCg==", "filename": "t.csv"})).unwrap();
        assert_eq!(csv["data"], "YSxiCg==");
        assert_eq!(csv["media_type"], "text/csv");
    }

    #[test]
    fn a_file_part_with_nothing_in_it_is_refused() {
        assert!(file_block(&json!({"filename": "x.pdf"})).is_err());
        assert!(file_block(&json!({"file_data": "data:application/pdf,plain"})).is_err());
    }
}
