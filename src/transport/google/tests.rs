//! The service-account exchange against a token server on 127.0.0.1, with a
//! test-only RSA key (tests/keys/test_only_rsa_key.pem, made with openssl
//! for these tests; it is no real credential).

use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::{DecodingKey, Validation};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

const PRIVATE_PEM: &str = include_str!("../../../tests/keys/test_only_rsa_key.pem");
const PUBLIC_PEM: &str = include_str!("../../../tests/keys/test_only_rsa_key.pub.pem");
const EMAIL: &str = "switchboard-test@example-project.iam.gserviceaccount.com";
const T0: u64 = 1_700_000_000;

/// A token endpoint: answers each request with the next scripted (status,
/// body), the last one repeating, and keeps every request body.
struct TokenServer {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl TokenServer {
    async fn start(replies: Vec<(u16, Value)>) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/token", listener.local_addr().expect("addr"));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut sock, _)) = listener.accept().await {
                let (status, body) = replies[n.min(replies.len() - 1)].clone();
                n += 1;
                let request = read_request(&mut sock).await;
                seen.lock().expect("lock").push(request);
                let body = body.to_string();
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            }
        });
        TokenServer { url, bodies }
    }

    fn requests(&self) -> Vec<String> {
        self.bodies.lock().expect("lock").clone()
    }
}

/// The request head (lower-cased) and body, as one text.
async fn read_request(sock: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = sock.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(i) = text.find("\r\n\r\n") {
            let len: usize = text[..i]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if buf.len() >= i + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

fn key_json(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "example-project",
        "private_key_id": "test-key-id",
        "private_key": PRIVATE_PEM,
        "client_email": EMAIL,
        "client_id": "1",
        "token_uri": token_uri,
    })
    .to_string()
}

fn tokens_at(now: Arc<AtomicU64>) -> Tokens {
    let clock: Clock = Arc::new(move || now.load(Ordering::SeqCst));
    Tokens::new(reqwest::Client::new(), clock)
}

fn form_value<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    let body = request.split("\r\n\r\n").nth(1)?;
    body.split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn ok(token: &str, expires_in: u64) -> (u16, Value) {
    (
        200,
        json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}),
    )
}

#[tokio::test]
async fn signed_assertion_is_exchanged_for_a_token() {
    let server = TokenServer::start(vec![ok("ya29.first", 3600)]).await;
    let tokens = tokens_at(Arc::new(AtomicU64::new(T0)));
    let token = tokens
        .access_token(&key_json(&server.url))
        .await
        .expect("token");
    assert_eq!(token, "ya29.first");

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].starts_with("POST /token "), "{}", seen[0]);
    assert!(
        seen[0]
            .to_ascii_lowercase()
            .contains("content-type: application/x-www-form-urlencoded")
    );
    assert_eq!(
        form_value(&seen[0], "grant_type"),
        Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
    );
    let assertion = form_value(&seen[0], "assertion").expect("assertion");

    let header = jsonwebtoken::decode_header(assertion).expect("JWT header");
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("test-key-id"));
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&server.url]);
    validation.set_issuer(&[EMAIL]);
    validation.validate_exp = false; // the test clock is in the past
    let public = DecodingKey::from_rsa_pem(PUBLIC_PEM.as_bytes()).expect("public key");
    let claims = jsonwebtoken::decode::<Claims>(assertion, &public, &validation)
        .expect("signature verifies with the public key")
        .claims;
    assert_eq!(
        claims,
        Claims {
            iss: EMAIL.into(),
            scope: "https://www.googleapis.com/auth/cloud-platform".into(),
            aud: server.url.clone(),
            iat: T0,
            exp: T0 + 3600,
        }
    );
}

#[tokio::test]
async fn token_is_reused_until_shortly_before_it_expires() {
    let server = TokenServer::start(vec![ok("ya29.first", 3600), ok("ya29.second", 3600)]).await;
    let now = Arc::new(AtomicU64::new(T0));
    let tokens = tokens_at(now.clone());
    let key = key_json(&server.url);

    assert_eq!(tokens.access_token(&key).await.expect("1st"), "ya29.first");
    now.store(T0 + 3000, Ordering::SeqCst);
    assert_eq!(tokens.access_token(&key).await.expect("2nd"), "ya29.first");
    assert_eq!(server.requests().len(), 1, "the cached token is reused");

    // Within five minutes of expiry the token is refreshed.
    now.store(T0 + 3600 - 299, Ordering::SeqCst);
    assert_eq!(tokens.access_token(&key).await.expect("3rd"), "ya29.second");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn concurrent_calls_share_one_exchange() {
    let server = TokenServer::start(vec![ok("ya29.shared", 3600)]).await;
    let tokens = Arc::new(tokens_at(Arc::new(AtomicU64::new(T0))));
    let key = key_json(&server.url);
    let calls = (0..8).map(|_| {
        let (tokens, key) = (tokens.clone(), key.clone());
        tokio::spawn(async move { tokens.access_token(&key).await })
    });
    for call in futures::future::join_all(calls).await {
        assert_eq!(call.expect("task").expect("token"), "ya29.shared");
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn refusal_is_an_authentication_error_with_the_endpoint_message() {
    let server = TokenServer::start(vec![(
        400,
        json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
    )])
    .await;
    let tokens = tokens_at(Arc::new(AtomicU64::new(T0)));
    let err = tokens
        .access_token(&key_json(&server.url))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(err.status(), Some(400));
    assert!(
        err.message()
            .contains("invalid_grant: Invalid JWT Signature."),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn key_file_path_is_read() {
    let server = TokenServer::start(vec![ok("ya29.from-file", 3600)]).await;
    let path = std::env::temp_dir().join(format!("sb-sa-{}.json", std::process::id()));
    std::fs::write(&path, key_json(&server.url)).expect("write key file");
    let tokens = tokens_at(Arc::new(AtomicU64::new(T0)));
    let token = tokens
        .access_token(path.to_str().expect("utf-8 path"))
        .await;
    let _ = std::fs::remove_file(&path);
    assert_eq!(token.expect("token"), "ya29.from-file");
}

#[tokio::test]
async fn other_keys_are_ready_tokens_and_missing_files_fail() {
    let tokens = tokens_at(Arc::new(AtomicU64::new(T0)));
    assert_eq!(
        tokens.access_token("test-key").await.expect("ready token"),
        "test-key"
    );
    let err = tokens
        .access_token("/no/such/dir/key.json")
        .await
        .expect_err("missing file");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    let err = tokens
        .access_token(r#"{"type": "authorized_user", "client_email": "a", "private_key": "b", "token_uri": "c"}"#)
        .await
        .expect_err("not a service account");
    assert!(
        err.message().contains("authorized_user"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_call_sends_the_exchanged_token_as_bearer() {
    use crate::{CallOptions, ChatRequest, Client};

    // One server plays the token endpoint (first request) and the API (second).
    let server =
        TokenServer::start(vec![ok("ya29.applied", 3600), (200, json!({"text": "hi"}))]).await;
    let dir = std::env::temp_dir().join(format!("sb-sa-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("spec dir");
    std::fs::write(
        dir.join("acme.toml"),
        r#"
base-url = "http://127.0.0.1:9"
auth = { scheme = "google-service-account", env = "ACME_TEST_CREDENTIALS" }
[chat]
path = "/chat"
body = { model = "{{model}}" }
response = { content = "$.text" }
"#,
    )
    .expect("spec file");
    let client = Client::with_spec_dir(&dir).expect("client");
    let _ = std::fs::remove_dir_all(&dir);
    let opts = CallOptions {
        api_key: Some(key_json(&server.url)),
        api_base: Some(server.url.trim_end_matches("/token").to_string()),
        ..Default::default()
    };
    let resp = client
        .completion(&ChatRequest::new("acme/m").user("hello"), &opts)
        .await
        .expect("completion");
    assert_eq!(resp.text(), Some("hi"));
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].starts_with("POST /chat "), "{}", seen[1]);
    assert!(
        seen[1]
            .to_ascii_lowercase()
            .contains("authorization: bearer ya29.applied"),
        "{}",
        seen[1]
    );
}
