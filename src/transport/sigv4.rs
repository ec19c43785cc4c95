//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`): signs one HTTP request for
//! any AWS service, given credentials, a region, a service name and the
//! signing time. Owns the canonical request, the string to sign, the
//! signing-key derivation and the `Authorization` header; knows no service
//! and no provider JSON. Pure: the time is an argument, nothing here reads a
//! clock, the environment or a socket.
//!
//! Reference: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html>.
//! The rules are those of every service but S3: the path is normalized
//! (`.`/`..` segments and empty segments removed) and URI-encoded once more
//! on top of its wire form, so a `%3A` sent on the wire is signed as `%253A`.
//! A query string is decoded (RFC 3986 percent-decoding; `+` stays a `+`)
//! and re-encoded, then sorted by name and value.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::auth::Outgoing;
use crate::error::{Error, ErrorKind, Result};
use crate::spec::compile::Auth;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// An access key pair, with the session token of temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    // Never print the secret or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("session_token", &self.session_token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

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

/// The parts of a request that are signed, as they go on the wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    /// The path as sent, already percent-encoded (e.g. `/model/a%3A0/converse`).
    pub(crate) path: &'a str,
    /// The query string as sent, without `?`; empty when none.
    pub(crate) query: &'a str,
    /// Every header to sign, `host` included; names in any case.
    pub(crate) headers: &'a [(String, String)],
    pub(crate) body: &'a [u8],
}

/// Where the signature is valid: `region` and `service` of the credential scope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

/// Signs `req` at `unix_secs` (seconds since the epoch, UTC). Returns the
/// headers to add to the request: `x-amz-date`, `x-amz-security-token`
/// (temporary credentials only; it is signed too) and `authorization`.
/// Headers of `req` with those names are replaced, not signed twice.
pub(crate) fn sign(
    req: &Request<'_>,
    creds: &Credentials,
    scope: Scope<'_>,
    unix_secs: u64,
) -> Vec<(String, String)> {
    let amz_date = amz_date(unix_secs);
    let mut added = vec![("x-amz-date".to_string(), amz_date.clone())];
    if let Some(token) = &creds.session_token {
        added.push(("x-amz-security-token".to_string(), token.clone()));
    }
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case("authorization")
                && !added.iter().any(|(a, _)| name.eq_ignore_ascii_case(a))
        })
        .cloned()
        .collect();
    headers.extend(added.iter().cloned());
    let (creq, signed_headers) = canonical_request(&Request {
        headers: &headers,
        ..*req
    });
    let date = &amz_date[..8];
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex::encode(Sha256::digest(creq.as_bytes()))
    );
    let key = signing_key(&creds.secret_access_key, date, scope);
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    added.push((
        "authorization".to_string(),
        format!(
            "{ALGORITHM} Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    added
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
    let url = reqwest::Url::parse(&out.url)
        .map_err(|e| Error::bad_request(format!("cannot sign {:?}: {e}", out.url)))?;
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => {
            return Err(Error::bad_request(format!(
                "cannot sign {:?}: no host",
                out.url
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

/// The canonical request and its signed-header list (`host;x-amz-date`).
fn canonical_request(req: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = Vec::with_capacity(req.headers.len());
    for (name, value) in req.headers {
        let name = name.to_ascii_lowercase();
        let value = collapse_spaces(value);
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let signed: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    let signed = signed.join(";");
    let mut creq = String::new();
    creq.push_str(&req.method.to_ascii_uppercase());
    creq.push('\n');
    creq.push_str(&canonical_uri(req.path));
    creq.push('\n');
    creq.push_str(&canonical_query(req.query));
    creq.push('\n');
    for (name, value) in &headers {
        creq.push_str(name);
        creq.push(':');
        creq.push_str(value);
        creq.push('\n');
    }
    creq.push('\n');
    creq.push_str(&signed);
    creq.push('\n');
    creq.push_str(&hex::encode(Sha256::digest(req.body)));
    (creq, signed)
}

/// The normalized path, URI-encoded on top of its wire form.
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(
        &segments
            .iter()
            .map(|s| encode(s.as_bytes()))
            .collect::<Vec<_>>()
            .join("/"),
    );
    if !segments.is_empty()
        && (path.ends_with('/') || path.ends_with("/.") || path.ends_with("/.."))
    {
        out.push('/');
    }
    out
}

/// Query pairs decoded, re-encoded, sorted by name then value, joined with `&`.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(k)), encode(&decode(v)))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Trims a header value and collapses each run of whitespace into one space.
fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Percent-encodes every byte but the RFC 3986 unreserved ones, upper-case hex.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes; a `%` not followed by two hex digits stays as it is.
fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|&b| char::from(b).to_digit(16));
        match (bytes[i], hex_at(i + 1), hex_at(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn signing_key(secret: &str, date: &str, scope: Scope<'_>) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time.
pub(crate) fn amz_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-08-30T12:36:00Z, the signing time of the AWS test suite.
    const SUITE_TIME: u64 = 1_440_938_160;

    fn suite_creds() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    const SUITE_SCOPE: Scope<'static> = Scope {
        region: "us-east-1",
        service: "service",
    };

    fn authorization(added: &[(String, String)]) -> &str {
        added
            .iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// Signs one suite request: host `example.amazonaws.com` plus `headers`.
    fn suite_sign(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> String {
        let mut all = vec![("host".to_string(), "example.amazonaws.com".to_string())];
        all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        let req = Request {
            method,
            path,
            query,
            headers: &all,
            body: body.as_bytes(),
        };
        authorization(&sign(&req, &suite_creds(), SUITE_SCOPE, SUITE_TIME)).to_string()
    }

    fn suite_authz(signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders={signed_headers}, Signature={signature}"
        )
    }

    /// Vectors of AWS's published SigV4 test suite ("aws-sig-v4-test-suite",
    /// <https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html>),
    /// as carried in aws/aws-sdk-js-v3 `packages/signature-v4/src/suite.fixture.ts`:
    /// (name, method, wire path, wire query, extra headers, body, signed headers, signature).
    /// Paths and queries are written as they go on the wire (percent-encoded).
    #[allow(clippy::type_complexity)]
    const SUITE: &[(&str, &str, &str, &str, &[(&str, &str)], &str, &str, &str)] = &[
        (
            "get-header-key-duplicate",
            "GET",
            "/",
            "",
            &[("My-Header1", "value2,value2,value1")],
            "",
            "host;my-header1;x-amz-date",
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        ),
        (
            "get-header-key-duplicate (as separate headers)",
            "GET",
            "/",
            "",
            &[
                ("My-Header1", "value2"),
                ("My-Header1", "value2"),
                ("My-Header1", "value1"),
            ],
            "",
            "host;my-header1;x-amz-date",
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        ),
        (
            "get-header-value-multiline",
            "GET",
            "/",
            "",
            &[("My-Header1", "value1,value2,value3")],
            "",
            "host;my-header1;x-amz-date",
            "ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790",
        ),
        (
            "get-header-value-order",
            "GET",
            "/",
            "",
            &[("My-Header1", "value4,value1,value3,value2")],
            "",
            "host;my-header1;x-amz-date",
            "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
        ),
        (
            "get-header-value-trim",
            "GET",
            "/",
            "",
            &[("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")],
            "",
            "host;my-header1;my-header2;x-amz-date",
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        ),
        (
            "get-unreserved",
            "GET",
            "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            "",
            &[],
            "",
            "host;x-amz-date",
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        ),
        (
            "get-utf8",
            "GET",
            "/\u{1234}",
            "",
            &[],
            "",
            "host;x-amz-date",
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
        ),
        (
            "get-vanilla",
            "GET",
            "/",
            "",
            &[],
            "",
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "get-vanilla-empty-query-key",
            "GET",
            "/",
            "Param1=value1",
            &[],
            "",
            "host;x-amz-date",
            "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
        ),
        (
            "get-vanilla-query",
            "GET",
            "/",
            "",
            &[],
            "",
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "get-vanilla-query-order-key-case",
            "GET",
            "/",
            "Param2=value2&Param1=value1",
            &[],
            "",
            "host;x-amz-date",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        (
            "get-vanilla-query-unreserved",
            "GET",
            "/",
            "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            &[],
            "",
            "host;x-amz-date",
            "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        ),
        (
            "get-vanilla-utf8-query",
            "GET",
            "/",
            "%E1%88%B4=bar",
            &[],
            "",
            "host;x-amz-date",
            "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        ),
        (
            "post-header-key-case",
            "POST",
            "/",
            "",
            &[],
            "",
            "host;x-amz-date",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
        (
            "post-header-key-sort",
            "POST",
            "/",
            "",
            &[("My-Header1", "value1")],
            "",
            "host;my-header1;x-amz-date",
            "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        ),
        (
            "post-header-value-case",
            "POST",
            "/",
            "",
            &[("My-Header1", "VALUE1")],
            "",
            "host;my-header1;x-amz-date",
            "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        ),
        (
            "post-vanilla",
            "POST",
            "/",
            "",
            &[],
            "",
            "host;x-amz-date",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
        (
            "post-vanilla-empty-query-value",
            "POST",
            "/",
            "Param1=value1",
            &[],
            "",
            "host;x-amz-date",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        ),
        (
            "post-vanilla-query",
            "POST",
            "/",
            "Param1=value1",
            &[],
            "",
            "host;x-amz-date",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        ),
        (
            "post-vanilla-query-nonunreserved",
            "POST",
            "/",
            "%40%23%24%25%5E=&%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D",
            &[],
            "",
            "host;x-amz-date",
            "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e",
        ),
        (
            "post-vanilla-query-space",
            "POST",
            "/",
            "p=",
            &[],
            "",
            "host;x-amz-date",
            "e71688addb58a26418614085fb730ba3faa623b461c17f48f2fbdb9361b94a9b",
        ),
        (
            "post-x-www-form-urlencoded",
            "POST",
            "/",
            "",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "Param1=value1",
            "content-type;host;x-amz-date",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        ),
        (
            "post-x-www-form-urlencoded-parameters",
            "POST",
            "/",
            "",
            &[(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf8",
            )],
            "Param1=value1",
            "content-type;host;x-amz-date",
            "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
        ),
    ];

    #[test]
    fn aws_test_suite_vectors_sign_as_published() {
        for (name, method, path, query, headers, body, signed, signature) in SUITE {
            assert_eq!(
                suite_sign(method, path, query, headers, body),
                suite_authz(signed, signature),
                "{name}"
            );
        }
    }

    #[test]
    fn session_token_is_a_signed_header() {
        // aws-sig-v4-test-suite post-sts-token/post-sts-header-before: the
        // suite's example token, signed as `x-amz-security-token`.
        let token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
        let creds = Credentials {
            session_token: Some(token.into()),
            ..suite_creds()
        };
        let headers = vec![("host".to_string(), "example.amazonaws.com".to_string())];
        let req = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let added = sign(&req, &creds, SUITE_SCOPE, SUITE_TIME);
        assert_eq!(
            authorization(&added),
            suite_authz(
                "host;x-amz-date;x-amz-security-token",
                "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
            )
        );
        assert!(added.contains(&("x-amz-security-token".to_string(), token.to_string())));
        assert!(added.contains(&("x-amz-date".to_string(), "20150830T123600Z".to_string())));
    }

    #[test]
    fn an_encoded_path_is_encoded_again() {
        // aws-sig-v4-test-suite double-url-encode (awslabs/aws-sdk-rust,
        // sdk/aws-sigv4/aws-sig-v4-test-suite/double-url-encode): a Lambda
        // ARN whose `:` is `%3A` on the wire is signed as `%253A`.
        let headers = vec![(
            "Host".to_string(),
            "lambda.us-east-2.amazonaws.com".to_string(),
        )];
        let req = Request {
            method: "POST",
            path: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A892717189312%3Afunction%3Amy-rusty-fun/invocations",
            query: "",
            headers: &headers,
            body: b"",
        };
        let at = 1_620_747_645; // 2021-05-11T15:40:45Z
        assert!(
            canonical_request(&req)
                .0
                .contains("arn%253Aaws%253Alambda%253Aus-west-2")
        );
        let scope = Scope {
            region: "us-east-2",
            service: "lambda",
        };
        assert_eq!(
            authorization(&sign(&req, &suite_creds(), scope, at)),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20210511/us-east-2/lambda/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=4b93abbcc68be32bd64c18e2c71150660ab4c29bbd6c32a383a7517a88fc1804"
        );
    }

    #[test]
    fn paths_are_normalized() {
        // aws-sig-v4-test-suite normalize-path cases.
        assert_eq!(canonical_uri("/example/.."), "/");
        assert_eq!(canonical_uri("/example1/example2/../.."), "/");
        assert_eq!(canonical_uri("//"), "/");
        assert_eq!(canonical_uri("/./"), "/");
        assert_eq!(canonical_uri("//example//"), "/example/");
        assert_eq!(canonical_uri("/./example"), "/example");
        assert_eq!(canonical_uri("/example space/"), "/example%20space/");
        assert_eq!(canonical_uri(""), "/");
    }

    #[test]
    fn query_pairs_sort_by_name_then_value() {
        assert_eq!(canonical_query("b=2&a=2&a=1&c"), "a=1&a=2&b=2&c=");
        assert_eq!(canonical_query("k=a+b&s=a%20b"), "k=a%2Bb&s=a%20b");
    }

    #[test]
    fn existing_date_and_authorization_headers_are_replaced() {
        let headers = vec![
            ("host".to_string(), "example.amazonaws.com".to_string()),
            ("X-Amz-Date".to_string(), "19990101T000000Z".to_string()),
            ("Authorization".to_string(), "stale".to_string()),
        ];
        let req = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            authorization(&sign(&req, &suite_creds(), SUITE_SCOPE, SUITE_TIME)),
            suite_authz(
                "host;x-amz-date",
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            )
        );
    }

    #[test]
    fn amz_date_formats_utc() {
        assert_eq!(amz_date(SUITE_TIME), "20150830T123600Z");
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(4_102_444_799), "20991231T235959Z");
    }

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
            url: rec["request"]["url"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
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
                .contains("/model/us.amazon.nova-micro-v1%3A0/converse"),
            "{}",
            out.url
        );
        let wire_host = reqwest::Url::parse(&out.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
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
        out.url = "http://127.0.0.1:8123/model/m%3A0/converse".into();
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
