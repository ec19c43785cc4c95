//! Compiles the error table: where the provider's message and code are,
//! and the rules (named, in order) that decide an error's kind.

use super::compiler::{Ctx, sub};
use super::{ErrorRule, ErrorTable};
use crate::spec::raw::{RawErrors, RawStatus};

impl Ctx<'_> {
    pub(super) fn errors(&mut self, raw: &RawErrors) -> ErrorTable {
        let at = vec!["errors".to_string(), "rules".to_string()];
        if raw.rules.is_list() {
            self.warn(
                &at,
                "deprecated: a list of error rules can only be replaced whole by a spec that extends this one; name each rule instead: [errors.rules] <name> = { … }",
            );
        }
        let rules = raw
            .rules
            .iter()
            .into_iter()
            .map(|(key, r)| {
                let rule_at = sub(&at, &[&key]);
                let message = r.message.as_ref().and_then(|m| match self.regex(m) {
                    Ok(re) => Some(re),
                    Err(e) => {
                        let first = e
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or_default()
                            .trim_start_matches("error: ")
                            .to_string();
                        self.push(
                            &sub(&rule_at, &["message"]),
                            "regex",
                            format!("invalid regular expression {m:?}: {first}"),
                        );
                        None
                    }
                });
                if r.status.is_none()
                    && r.code.is_none()
                    && r.message.is_none()
                    && r.body_contains.is_none()
                {
                    self.push(
                        &rule_at,
                        "spec",
                        "a rule needs at least one of status, code, message, body-contains",
                    );
                }
                ErrorRule {
                    status: match &r.status {
                        None => Vec::new(),
                        Some(RawStatus::One(s)) => vec![*s],
                        Some(RawStatus::Many(v)) => v.clone(),
                    },
                    code: r.code.clone(),
                    message,
                    body_contains: r.body_contains.clone(),
                    kind: r.kind,
                }
            })
            .collect();
        let errors_at = vec!["errors".to_string()];
        ErrorTable {
            message: self.paths(&errors_at, &["message"], raw.message.as_ref()),
            code: self.paths(&errors_at, &["code"], raw.code.as_ref()),
            retry_after_header: raw
                .retry_after_header
                .clone()
                .unwrap_or_else(|| "retry-after".to_string())
                .to_ascii_lowercase(),
            rules,
        }
    }
}
