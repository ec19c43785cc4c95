//! Credential discovery for the `aws-sigv4` auth scheme: the call's key
//! (`ID:SECRET[:TOKEN]` signs; a key with no `:` is an AWS API key sent as a
//! bearer token), else `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
//! `AWS_SESSION_TOKEN` from the environment; then the request is signed by
//! `sigv4`. The environment and the time come in as arguments, so this is
//! testable without either. Knows no provider JSON.

use super::outgoing::Outgoing;
use super::sigv4::{Credentials, Request, Scope, sign};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::display_url;
use crate::spec::compile::Auth;

impl Credentials {
    /// Reads a key written `ACCESS_KEY_ID:SECRET_ACCESS_KEY` or
    /// `ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN`; `None` for any
    /// other shape (no `:`, or an empty id or secret). Secrets are base64
    /// and never hold a `:`; a session token may, so it takes the rest.
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        let mut parts = key.trim().splitn(3, ':');
        let id = parts.next()?.trim();
        let secret = parts.next()?.trim();
        let token = parts.next().map(str::trim).filter(|t| !t.is_empty());
        (!id.is_empty() && !secret.is_empty()).then(|| Credentials {
            access_key_id: id.to_string(),
            secret_access_key: secret.to_string(),
            session_token: token.map(str::to_string),
        })
    }
}

/// How an `aws-sigv4` call authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Credential {
    /// An access key pair: the request is signed.
    Signing(Credentials),
    /// An AWS API key (e.g. a Bedrock API key): sent as a bearer token, unsigned.
    ApiKey(String),
}

/// The call's key when there is one (`ID:SECRET[:TOKEN]` signs; a key with
/// no `:` is an API key), else `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`) from `env`. `None`
/// when there is nothing at all; a half-set pair is an error.
fn credential(
    key: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credential>> {
    if let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) {
        return Ok(Some(match Credentials::from_key(key) {
            Some(creds) => Credential::Signing(creds),
            None if !key.contains(':') => Credential::ApiKey(key.to_string()),
            None => {
                return Err(Error::new(
                    ErrorKind::Authentication,
                    "an AWS key is ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN], with neither part empty",
                ));
            }
        }));
    }
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Ok(Some(Credential::Signing(Credentials {
            access_key_id: id.trim().to_string(),
            secret_access_key: secret.trim().to_string(),
            session_token: var("AWS_SESSION_TOKEN").map(|t| t.trim().to_string()),
        }))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(Error::new(
            ErrorKind::Authentication,
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
        )),
        (None, Some(_)) => Err(Error::new(
            ErrorKind::Authentication,
            "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
        )),
    }
}

/// Applies `aws-sigv4` to `out`: signs it with the credentials found (see
/// `credential`), or sends an API key as `Authorization: Bearer`. `env`
/// reads an environment variable and `unix_secs` is the signing time, both
/// injected so this stays testable. No credentials at all is an
/// `authentication` error unless the spec's auth is `optional`.
pub(crate) fn apply(
    auth: &Auth,
    key: Option<&str>,
    out: &mut Outgoing,
    env: &dyn Fn(&str) -> Option<String>,
    unix_secs: u64,
) -> Result<()> {
    let creds = match credential(key, env)? {
        Some(Credential::Signing(creds)) => creds,
        Some(Credential::ApiKey(key)) => {
            out.set_header("authorization", format!("Bearer {key}"));
            return Ok(());
        }
        None if auth.optional => return Ok(()),
        None => {
            let api_key = auth
                .env
                .as_deref()
                .map(|e| format!(", or an API key in {e}"))
                .unwrap_or_default();
            return Err(Error::new(
                ErrorKind::Authentication,
                format!(
                    "no AWS credentials: pass an api_key ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN], \
                     or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY{api_key}"
                ),
            ));
        }
    };
    let region = out.auth_region.clone().unwrap_or_default();
    if region.trim().is_empty() {
        return Err(Error::bad_request(
            "aws-sigv4 needs a region to sign for: the spec's auth `region` rendered empty",
        ));
    }
    let url = out.url.clone();
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => {
            return Err(Error::bad_request(format!(
                "cannot sign {}: no host",
                display_url(url.as_str())
            )));
        }
    };
    // Sign exactly what goes on the wire: the parsed URL's path and query,
    // and a Host header set here rather than left to the HTTP client.
    out.set_header("host", host);
    let method = out.method.as_str().to_string();
    let req = Request {
        method: &method,
        path: url.path(),
        query: url.query().unwrap_or_default(),
        headers: &out.headers,
        body: &out.body,
    };
    let scope = Scope {
        region: region.trim(),
        service: &auth.service,
    };
    for (name, value) in sign(&req, &creds, scope, unix_secs) {
        out.set_header(&name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-08-30T12:36:00Z, the signing time of the AWS test suite.
    const SUITE_TIME: u64 = 1_440_938_160;

    #[test]
    fn keys_read_as_id_secret_and_optional_token() {
        let c = Credentials::from_key("AKID:SECRET").unwrap_or_else(|| panic!("parses"));
        assert_eq!(
            (c.access_key_id.as_str(), c.secret_access_key.as_str()),
            ("AKID", "SECRET")
        );
        assert_eq!(c.session_token, None);
        let c = Credentials::from_key("AKID:SECRET:to:ken").unwrap_or_else(|| panic!("parses"));
        assert_eq!(c.session_token.as_deref(), Some("to:ken"));
        assert_eq!(Credentials::from_key("test-key"), None);
        assert_eq!(Credentials::from_key(":SECRET"), None);
        assert_eq!(Credentials::from_key("AKID:"), None);
    }

    /// The built-in spec that signs with `aws-sigv4` (found by its scheme,
    /// so no provider is named here), and its recorded `converse_text` call
    /// (tests/fixtures/<id>/converse_text.json) as the transport hands it to
    /// the auth scheme: URL, content-type and the exact JSON body bytes.
    fn recorded_call() -> (std::sync::Arc<crate::spec::Spec>, Outgoing) {
        let registry = crate::spec::Registry::builtin().unwrap_or_else(|e| panic!("{e}"));
        let signing: Vec<_> = registry
            .specs()
            .iter()
            .filter(|s| s.auth.scheme == crate::spec::raw::AuthScheme::AwsSigv4)
            .cloned()
            .collect();
        assert_eq!(signing.len(), 1, "one built-in spec signs with aws-sigv4");
        let spec = signing[0].clone();
        let path = format!(
            "{}/tests/fixtures/{}/converse_text.json",
            env!("CARGO_MANIFEST_DIR"),
            spec.id()
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let rec: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let out = Outgoing {
            method: reqwest::Method::POST,
            url: reqwest::Url::parse(rec["request"]["url"].as_str().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}")),
            headers: vec![("content-type".into(), "application/json".into())],
            // The recorded body with sorted keys, as literal bytes: the signature
            // covers the exact payload, so it must not depend on serializer settings.
            body: br#"{"inferenceConfig":{},"messages":[{"content":[{"text":"Hello!"}],"role":"user"}],"system":[{"text":"You are a chatbot."}]}"#.to_vec(),
            auth_region: Some("us-east-1".into()),
        };
        (spec, out)
    }

    fn header<'a>(out: &'a Outgoing, name: &str) -> Option<&'a str> {
        out.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_spec_region_renders_from_its_param() {
        let (spec, _) = recorded_call();
        let tpl = spec
            .auth
            .region
            .as_ref()
            .unwrap_or_else(|| panic!("a region"));
        let root = serde_json::json!({ "params": { "aws_region": "eu-central-1" } });
        let region = crate::template::Renderer { parts: &[] }.render(tpl, &root);
        assert_eq!(region.ok(), Some(serde_json::json!("eu-central-1")));
    }

    #[test]
    fn a_recorded_call_is_signed_for_its_service_and_region() {
        // Expected signature computed independently, and identical from
        // botocore's own SigV4Auth (1.43) for the same request and time: the
        // canonical path is the wire path `/model/us.amazon.nova-micro-v1%3A0/converse`
        // encoded once more (`%253A`); signed headers content-type, host, x-amz-date.
        let (spec, mut out) = recorded_call();
        assert!(
            out.url
                .as_str()
                .contains("/model/us.amazon.nova-micro-v1%3A0/converse"),
            "{}",
            out.url
        );
        let wire_host = out.url.host_str().unwrap_or_default().to_string();
        let key = "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let result = apply(&spec.auth, Some(key), &mut out, &no_env, SUITE_TIME);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            header(&out, "authorization").map(str::to_string),
            Some(format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/{}/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, \
                 Signature=0e1d0d16626a42d25cddacff615266fa1aab7f5c7388b4f3b99701161778a61e",
                spec.auth.service
            ))
        );
        assert_eq!(header(&out, "host"), Some(wire_host.as_str()));
        assert_eq!(header(&out, "x-amz-date"), Some("20150830T123600Z"));
        assert_eq!(header(&out, "x-amz-security-token"), None);
    }

    #[test]
    fn temporary_credentials_from_the_environment_sign_their_token() {
        // Signature cross-checked with botocore's SigV4Auth, as above.
        let (spec, mut out) = recorded_call();
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string()),
            "AWS_SESSION_TOKEN" => Some("TOKEN/with+chars==".to_string()),
            _ => None,
        };
        let result = apply(&spec.auth, None, &mut out, &env, SUITE_TIME);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            header(&out, "authorization").map(str::to_string),
            Some(format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/{}/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
                 Signature=e25f0e1d67841a52fd9e71b6fab1985181c769d81b124c99301a08dd1a246fd6",
                spec.auth.service
            ))
        );
        assert_eq!(
            header(&out, "x-amz-security-token"),
            Some("TOKEN/with+chars==")
        );
    }

    #[test]
    fn a_local_endpoint_is_signed_with_its_port() {
        let (spec, mut out) = recorded_call();
        out.url = reqwest::Url::parse("http://127.0.0.1:8123/model/m%3A0/converse")
            .unwrap_or_else(|e| panic!("{e}"));
        let result = apply(&spec.auth, Some("A:B"), &mut out, &no_env, SUITE_TIME);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(header(&out, "host"), Some("127.0.0.1:8123"));
        let authz = header(&out, "authorization").unwrap_or_default();
        assert!(
            authz.starts_with("AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/"),
            "{authz}"
        );
    }

    #[test]
    fn a_key_without_a_colon_is_an_api_key_sent_as_bearer() {
        let (spec, mut out) = recorded_call();
        let result = apply(&spec.auth, Some("test-key"), &mut out, &no_env, SUITE_TIME);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(header(&out, "authorization"), Some("Bearer test-key"));
        assert_eq!(header(&out, "x-amz-date"), None);
    }

    #[test]
    fn no_credentials_is_an_authentication_error() {
        let (spec, mut out) = recorded_call();
        let err = apply(&spec.auth, None, &mut out, &no_env, SUITE_TIME)
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(err.kind(), ErrorKind::Authentication);
        let msg = err.to_string();
        let api_key_env = spec.auth.env.as_deref().unwrap_or("AWS_ACCESS_KEY_ID");
        assert!(
            msg.contains("AWS_ACCESS_KEY_ID") && msg.contains(api_key_env),
            "{msg}"
        );
        // …unless the auth is optional: then nothing is added.
        let optional = Auth {
            scheme: spec.auth.scheme,
            env: None,
            name: spec.auth.name.clone(),
            optional: true,
            service: spec.auth.service.clone(),
            region: None,
        };
        let (_, mut out) = recorded_call();
        assert!(apply(&optional, None, &mut out, &no_env, SUITE_TIME).is_ok());
        assert_eq!(header(&out, "authorization"), None);
    }

    #[test]
    fn half_credentials_are_an_authentication_error() {
        let (spec, mut out) = recorded_call();
        let env = |name: &str| (name == "AWS_ACCESS_KEY_ID").then(|| "AKID".to_string());
        let err = apply(&spec.auth, None, &mut out, &env, SUITE_TIME)
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(err.kind(), ErrorKind::Authentication);
        assert!(err.to_string().contains("AWS_SECRET_ACCESS_KEY"));
        let err = apply(&spec.auth, Some("AKID:"), &mut out, &no_env, SUITE_TIME)
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(err.kind(), ErrorKind::Authentication);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!("{:?}", Credentials::from_key("AKID:SECRET:TOKEN"));
        assert!(shown.contains("AKID") && !shown.contains("SECRET") && !shown.contains("TOKEN"));
    }
}
