//! A plain GET for content a call refers to by URL (an image a provider
//! cannot fetch itself): no auth, the call's connect, first-byte and idle
//! limits, and a size cap checked before and while reading. Knows no
//! provider.

use bytes::Bytes;
use tokio::time::Instant;

use super::body::{after, earliest, read_body};
use super::failure::transport_error;
use super::{Limits, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::display_url;

/// A fetched body and its content type.
pub(crate) struct Fetched {
    pub(crate) bytes: Bytes,
    pub(crate) content_type: Option<String>,
}

impl Transport {
    /// GETs `url` (http or https only) within `limits`, reading at most
    /// `max_bytes`; a status other than 2xx is an error naming it.
    pub(crate) async fn fetch(
        &self,
        url: &str,
        limits: &Limits,
        max_bytes: usize,
    ) -> Result<Fetched> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                Error::bad_request(format!("not an http(s) URL: {}", display_url(url)))
            })?;
        let shown = display_url(url);
        let sending = self.client(limits.connect)?.get(parsed).send();
        let head_by = after(Instant::now(), Some(limits.first_byte));
        let mut resp = match head_by {
            Some(by) => tokio::time::timeout_at(by, sending).await.map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "no response from {shown} within {}s",
                        limits.first_byte.as_secs_f64()
                    ),
                )
            })?,
            None => sending.await,
        }
        .map_err(transport_error)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Error::bad_request(format!("{shown} answered {status}")));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase());
        let capped = Limits {
            max_body_bytes: max_bytes.min(limits.max_body_bytes),
            ..*limits
        };
        let bytes = read_body(&mut resp, &capped, earliest(None, None)).await?;
        Ok(Fetched {
            bytes,
            content_type,
        })
    }
}
