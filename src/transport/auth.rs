//! Auth schemes. Each adds credentials to an outgoing request — a header,
//! a query parameter, or a signature over the whole request — and knows no
//! provider: the spec names the scheme and its settings.

use reqwest::Method;

use super::google::Tokens;
use crate::error::Result;
use crate::spec::compile::Auth;
use crate::spec::helpers::url_encode;
use crate::spec::raw::AuthScheme;

/// A request about to be sent, as auth schemes see it.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) url: String,
    /// Lower-case names; later entries with the same name replace earlier ones.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The region a signing scheme signs for, rendered from the spec (`aws-sigv4`); not sent.
    pub(crate) auth_region: Option<String>,
}

impl Outgoing {
    pub(crate) fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_ascii_lowercase(), value));
    }
}

/// Applies the spec's scheme with the call's key (if any); `google` holds
/// the transport's cached service-account tokens.
pub(crate) async fn apply(
    auth: &Auth,
    key: Option<&str>,
    out: &mut Outgoing,
    google: &Tokens,
) -> Result<()> {
    if auth.scheme == AuthScheme::AwsSigv4 {
        // Signs the whole request, so it runs last; finds its own credentials.
        let env = |name: &str| std::env::var(name).ok();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        return super::sigv4::apply(auth, key, out, &env, now);
    }
    let Some(key) = key else { return Ok(()) };
    match auth.scheme {
        AuthScheme::Bearer => out.set_header("authorization", format!("Bearer {key}")),
        AuthScheme::Header => out.set_header(&auth.name, key.to_string()),
        AuthScheme::Query => {
            let sep = if out.url.contains('?') { '&' } else { '?' };
            out.url = format!("{}{sep}{}={}", out.url, auth.name, url_encode(key));
        }
        AuthScheme::GoogleServiceAccount => {
            let token = google.access_token(key).await?;
            out.set_header("authorization", format!("Bearer {token}"));
        }
        AuthScheme::AwsSigv4 | AuthScheme::None => {}
    }
    Ok(())
}
