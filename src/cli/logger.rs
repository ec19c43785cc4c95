//! The library's `log` records on stderr, for the command line and the
//! proxy: `SWITCHBOARD_LOG=debug` (or `info`, `warn`, `error`, `trace`)
//! turns them on, one line each, `switchboard: <level>: <message>`, with
//! credential-looking text replaced. Off by default.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::redact::Redactor;

struct Stderr(LevelFilter);

impl Log for Stderr {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= self.0 && m.target().starts_with("switchboard")
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = record.args().to_string();
        let clean = Redactor::default().redact(&text).into_owned();
        let level = match record.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        let _ = writeln!(std::io::stderr().lock(), "switchboard: {level}: {clean}");
    }

    fn flush(&self) {}
}

/// Installs the logger at the level `SWITCHBOARD_LOG` names (nothing when unset or unknown).
pub(super) fn init() {
    let level = match std::env::var("SWITCHBOARD_LOG")
        .ok()
        .as_deref()
        .map(str::trim)
    {
        Some("trace") => LevelFilter::Trace,
        Some("debug") => LevelFilter::Debug,
        Some("info") => LevelFilter::Info,
        Some("warn") => LevelFilter::Warn,
        Some("error") => LevelFilter::Error,
        _ => return,
    };
    if log::set_logger(Box::leak(Box::new(Stderr(level)))).is_ok() {
        log::set_max_level(level);
    }
}
