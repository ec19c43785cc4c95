//! The signer against AWS's published SigV4 test suite and a few rules of
//! its own (session token, encoded paths, normalization, query order).

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
