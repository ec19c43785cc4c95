//! Image URLs fetched for a provider that takes image bytes only
//! (`image-bytes` in its spec: Bedrock, Ollama): each http(s) image of the
//! request is downloaded with the call's limits, at most [`MAX_IMAGE_BYTES`]
//! each and [`MAX_IMAGES`] a request, and sent as a base64 data URL. Only
//! when the call allows it (`CallOptions::fetch_image_urls`, on unless set
//! off; the proxy sets it off unless a deployment allows it): a request a
//! client sends must not make a server reach hosts the client names.

use std::borrow::Cow;

use base64::Engine as _;

use super::CallOptions;
use crate::error::{Error, Result};
use crate::redact::display_url;
use crate::spec::Spec;
use crate::transport::Transport;
use crate::types::{ChatRequest, Content, ContentPart};

/// The largest image fetched (Bedrock takes up to 3.75 MB an image).
pub(crate) const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// The most images one request may have fetched.
pub(crate) const MAX_IMAGES: usize = 20;

fn is_web(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// `req` with its http(s) image URLs replaced by their bytes when `spec`
/// takes bytes only; borrowed when there is nothing to fetch.
pub(super) async fn inline_images<'r>(
    transport: &Transport,
    spec: &Spec,
    req: &'r ChatRequest,
    opts: &CallOptions,
) -> Result<Cow<'r, ChatRequest>> {
    if !spec.chat.as_ref().is_some_and(|c| c.image_bytes) {
        return Ok(Cow::Borrowed(req));
    }
    let urls: Vec<&str> = req
        .messages
        .iter()
        .filter_map(|m| match &m.content {
            Some(Content::Parts(parts)) => Some(parts),
            _ => None,
        })
        .flatten()
        .filter_map(|p| match p {
            ContentPart::ImageUrl { image_url, .. } if is_web(&image_url.url) => {
                Some(image_url.url.as_str())
            }
            _ => None,
        })
        .collect();
    if urls.is_empty() {
        return Ok(Cow::Borrowed(req));
    }
    if opts.fetch_image_urls == Some(false) {
        return Err(Error::bad_request(format!(
            "{} takes image bytes only, and this call may not fetch image URLs \
             (fetch_image_urls; a proxy deployment allows it with fetch-image-urls = true): \
             send the image as a base64 data URL",
            spec.name()
        )));
    }
    if urls.len() > MAX_IMAGES {
        return Err(Error::bad_request(format!(
            "{} image URLs to fetch; at most {MAX_IMAGES} a request",
            urls.len()
        )));
    }
    let mut fetched = Vec::with_capacity(urls.len());
    for url in &urls {
        fetched.push((url.to_string(), data_url(transport, url, opts).await?));
    }
    let mut owned = req.clone();
    for m in &mut owned.messages {
        let Some(Content::Parts(parts)) = &mut m.content else {
            continue;
        };
        for p in parts {
            if let ContentPart::ImageUrl { image_url, .. } = p
                && let Some((_, data)) = fetched.iter().find(|(u, _)| *u == image_url.url)
            {
                image_url.url = data.clone();
            }
        }
    }
    Ok(Cow::Owned(owned))
}

/// One image as a `data:` URL.
async fn data_url(transport: &Transport, url: &str, opts: &CallOptions) -> Result<String> {
    let shown = display_url(url);
    let got = transport
        .fetch(url, &opts.limits, MAX_IMAGE_BYTES)
        .await
        .map_err(|e| {
            Error::bad_request(format!(
                "could not fetch the image {shown}: {}",
                e.message()
            ))
        })?;
    let media_type = got
        .content_type
        .filter(|t| t.starts_with("image/"))
        .ok_or_else(|| Error::bad_request(format!("{shown} is not an image (its content-type)")))?;
    let data = base64::engine::general_purpose::STANDARD.encode(&got.bytes);
    Ok(format!("data:{media_type};base64,{data}"))
}
