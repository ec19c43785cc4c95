//! Auth schemes. Each adds credentials to an outgoing request — a header,
//! a query parameter, or a signature over the whole request — and knows no
//! provider: the spec names the scheme and its settings.

use super::google::Tokens;
use super::outgoing::Outgoing;
use crate::error::Result;
use crate::spec::compile::Auth;
use crate::spec::raw::AuthScheme;

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
        return super::aws_credentials::apply(auth, key, out, &env, now);
    }
    let Some(key) = key else { return Ok(()) };
    match auth.scheme {
        AuthScheme::Bearer => out.set_header("authorization", format!("Bearer {key}")),
        AuthScheme::Header => out.set_header(&auth.name, key.to_string()),
        AuthScheme::Query => out.add_query(&auth.name, key),
        AuthScheme::GoogleServiceAccount => {
            let token = google.access_token(key).await?;
            out.set_header("authorization", format!("Bearer {token}"));
        }
        AuthScheme::AwsSigv4 | AuthScheme::None => {}
    }
    Ok(())
}
