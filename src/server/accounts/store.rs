//! [`Store`]: what the server keeps in its database — virtual keys and the
//! spend log — opened with its options (flush interval, backlog, clock).
//! The public handle of the accounts' storage; holds no policy.

use std::sync::Arc;
use std::time::Duration;

use super::clock::WallClock;
use super::db::Db;
use super::keys::KeyStore;
use super::record::token_of;
use super::spend_log::{self, SpendLog, SpendRow};
use crate::error::{Error, Result};

/// How a [`Store`] runs.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a spend row may wait for its batch: rows are durable
    /// within about this long of their call's answer (`[server]
    /// spend-log-flush-ms`).
    pub flush_interval: Duration,
    /// Spend rows (calls in flight included) held in memory at most;
    /// past it, calls are refused with a 503 until the database catches up.
    pub backlog: usize,
    /// Where time comes from (expiry, budget periods, rate windows, rows).
    pub clock: WallClock,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            flush_interval: spend_log::DEFAULT_FLUSH_INTERVAL,
            backlog: spend_log::DEFAULT_BACKLOG,
            clock: WallClock::system(),
        }
    }
}

impl StoreOptions {
    /// The longest flush interval accepted.
    pub const MAX_FLUSH_INTERVAL: Duration = Duration::from_secs(60);

    /// The defaults, with the spend log's flush interval in milliseconds
    /// (as `[server] spend-log-flush-ms` writes it), checked.
    pub fn with_flush_ms(ms: u64) -> Result<StoreOptions> {
        let interval = Duration::from_millis(ms);
        if interval > Self::MAX_FLUSH_INTERVAL {
            return Err(Error::bad_request(format!(
                "spend-log-flush-ms must be at most {} (got {ms}): rows wait that long in memory, and a crash forgets them",
                Self::MAX_FLUSH_INTERVAL.as_millis()
            )));
        }
        Ok(StoreOptions {
            flush_interval: interval,
            ..StoreOptions::default()
        })
    }
}

/// What the server keeps in its database: virtual keys and the spend log.
///
/// ```no_run
/// # async fn run() -> switchboard::Result<()> {
/// use switchboard::Client;
/// use switchboard::server::{AppState, ServerConfig, Store};
///
/// let mut config = ServerConfig::one_model("gpt-4o-mini");
/// config.server.master_key = Some("env:SWITCHBOARD_MASTER_KEY".into());
/// let store = Store::open("sqlite://switchboard.db").await?;
/// let state = AppState::new(Client::new()?, config)?.with_store(store);
/// # let _ = state; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    pub(crate) keys: Arc<KeyStore>,
    pub(crate) spend: SpendLog,
}

impl Store {
    /// Opens (and migrates) the database at `url` and starts the spend
    /// log's writer on the current runtime.
    pub async fn open(url: &str) -> Result<Store> {
        Self::open_with(url, StoreOptions::default()).await
    }

    /// Same, with these options.
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Store> {
        let db = Db::connect(url).await?;
        Ok(Store {
            keys: Arc::new(KeyStore::new(db.clone(), options.clock)),
            spend: SpendLog::start(db.clone(), options.flush_interval, options.backlog)?,
            db,
        })
    }

    /// A fresh in-memory SQLite store.
    pub async fn memory() -> Result<Store> {
        Self::open("sqlite::memory:").await
    }

    /// Writes every spend row recorded so far.
    pub async fn flush(&self) {
        self.spend.flush().await;
    }

    /// The spend rows already written (no flush), oldest first: all, or
    /// those of one key (the key itself or its token).
    pub async fn spend_logs(&self, key: Option<&str>, limit: i64) -> Result<Vec<SpendRow>> {
        let token = key.map(token_of);
        spend_log::rows(&self.db, token.as_deref(), limit).await
    }

    pub(crate) fn clock(&self) -> &WallClock {
        self.keys.clock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flush_interval_is_bounded() {
        let o = StoreOptions::with_flush_ms(200).unwrap();
        assert_eq!(o.flush_interval, Duration::from_millis(200));
        assert!(StoreOptions::with_flush_ms(0).is_ok());
        let e = StoreOptions::with_flush_ms(u64::MAX).unwrap_err();
        assert!(e.message().starts_with("spend-log-flush-ms"), "{e}");
    }
}
