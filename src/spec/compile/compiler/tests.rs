//! The auth checks of the compiler.

use super::*;
use crate::spec::raw::RawSpec;

fn findings(auth: &str) -> Vec<(String, String)> {
    let text = format!(
        "base-url = \"https://example.amazonaws.com\"\nauth = {auth}\n\
         [chat]\npath = \"/x\"\nbody = {{ a = \"{{{{model}}}}\" }}\nresponse = {{ content = \"$.a\" }}\n"
    );
    let raw: RawSpec = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    match compile("x", &raw) {
        Ok(_) => Vec::new(),
        Err(found) => found
            .into_iter()
            .map(|f| (f.at.join("."), f.message))
            .collect(),
    }
}

#[test]
fn aws_sigv4_needs_service_and_region_but_no_env() {
    let found = findings(r#"{ scheme = "aws-sigv4" }"#);
    let at: Vec<&str> = found.iter().map(|(at, _)| at.as_str()).collect();
    assert_eq!(at, ["auth.service", "auth.region"], "{found:?}");
    assert!(
        findings(
            r#"{ scheme = "aws-sigv4", service = "lambda", region = "{{params.aws_region}}" }"#
        )
        .is_empty()
    );
}

#[test]
fn aws_sigv4_region_is_a_checked_template() {
    let found = findings(r#"{ scheme = "aws-sigv4", service = "s", region = "{{nope x}}" }"#);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].0.starts_with("auth.region"), "{found:?}");
}

#[test]
fn service_and_region_belong_to_aws_sigv4_only() {
    let found = findings(r#"{ scheme = "bearer", env = "K", service = "s", region = "r" }"#);
    let at: Vec<&str> = found.iter().map(|(at, _)| at.as_str()).collect();
    assert_eq!(at, ["auth.service", "auth.region"], "{found:?}");
}
