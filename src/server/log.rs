//! The server's log lines, on stderr: one line each, prefixed
//! `switchboard:`, with every known secret and credential-looking text
//! replaced. Writing never panics: a server whose stderr reader went away
//! keeps serving (the `serve` command ignores SIGPIPE for the same reason).

use std::fmt::Display;
use std::io::Write;

use crate::redact::Redactor;

/// Logs `text`, with credential-looking text replaced.
pub(crate) fn line(text: impl Display) {
    with(&Redactor::default(), text);
}

/// Logs `text`, with `redactor`'s secrets and credential-looking text replaced.
pub(crate) fn with(redactor: &Redactor, text: impl Display) {
    let text = text.to_string();
    let clean = redactor.redact(&text);
    let _ = writeln!(std::io::stderr().lock(), "switchboard: {clean}");
}
