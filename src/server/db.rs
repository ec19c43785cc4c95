//! The database behind virtual keys and the spend log: an embedded SQLite
//! file by default, PostgreSQL when `[server] database-url` says
//! `postgres://…`. One `sqlx::Any` pool speaks to both, so every statement
//! here is written in the SQL the two share (`$1` placeholders, `BIGINT`,
//! `DOUBLE PRECISION`, `TEXT`, `ON CONFLICT … DO NOTHING`).
//!
//! The schema is a list of migrations compiled into the binary, applied in
//! order at connect time and recorded in `switchboard_migrations`.

use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::error::{Error, ErrorKind, Result};

/// The embedded migrations: (version, what it does, its statements).
const MIGRATIONS: &[(i64, &str, &[&str])] = &[
    (
        1,
        "virtual keys and the spend log",
        &[
            "CREATE TABLE IF NOT EXISTS switchboard_keys (
            key_hash TEXT PRIMARY KEY,
            key_name TEXT NOT NULL,
            key_alias TEXT,
            models TEXT NOT NULL,
            max_budget DOUBLE PRECISION,
            rpm_limit BIGINT,
            tpm_limit BIGINT,
            expires_at BIGINT,
            metadata TEXT NOT NULL,
            spend DOUBLE PRECISION NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL
        )",
            "CREATE TABLE IF NOT EXISTS switchboard_spend_logs (
            request_id TEXT PRIMARY KEY,
            key_hash TEXT,
            model_group TEXT NOT NULL,
            deployment TEXT NOT NULL,
            prompt_tokens BIGINT NOT NULL,
            completion_tokens BIGINT NOT NULL,
            total_tokens BIGINT NOT NULL,
            cost DOUBLE PRECISION NOT NULL,
            latency_ms BIGINT NOT NULL,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )",
            "CREATE INDEX IF NOT EXISTS switchboard_spend_logs_key
            ON switchboard_spend_logs (key_hash, created_at)",
        ],
    ),
    (
        2,
        "budgets per period",
        &[
            "ALTER TABLE switchboard_keys ADD COLUMN budget_duration TEXT",
            "ALTER TABLE switchboard_keys ADD COLUMN budget_started_at BIGINT",
        ],
    ),
];

/// A connection pool with the schema in place.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pool: AnyPool,
}

impl Db {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`,
    /// `postgres://…`, or `env:NAME` naming one), creating a SQLite file when missing, and migrates.
    pub(crate) async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let url = super::config::resolve_secret(url, "the database URL")?;
        let url = url.as_str();
        let sqlite = url.starts_with("sqlite:");
        let memory = sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let url = if sqlite && !memory && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let options = if sqlite {
            // One connection: SQLite serialises writers anyway, and an
            // in-memory database lives exactly as long as its connection.
            AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(u32::from(memory))
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            AnyPoolOptions::new().max_connections(8)
        };
        let pool = options
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await
            .map_err(|e| db_error("cannot open the database", e))?;
        let db = Db { pool };
        db.migrate().await?;
        Ok(db)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS switchboard_migrations (
                version BIGINT PRIMARY KEY,
                description TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("cannot create the migrations table", e))?;
        for (version, description, statements) in MIGRATIONS {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM switchboard_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| db_error("cannot read the migrations table", e))?;
            if done.is_some() {
                continue;
            }
            let mut tx = self
                .pool
                .begin()
                .await
                .map_err(|e| db_error("cannot start a migration", e))?;
            // The version row first: a second server migrating the same
            // database at the same moment waits here on the row, then finds
            // it taken and leaves the migration to the first.
            let claimed = sqlx::query(
                "INSERT INTO switchboard_migrations (version, description, applied_at)
                 VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING",
            )
            .bind(*version)
            .bind(*description)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("cannot record a migration", e))?;
            if claimed.rows_affected() == 0 {
                continue;
            }
            for sql in *statements {
                sqlx::query(*sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error(&format!("migration {version} ({description})"), e))?;
            }
            tx.commit()
                .await
                .map_err(|e| db_error("cannot commit a migration", e))?;
        }
        Ok(())
    }
}

/// A database failure, as an internal error naming what was being done.
pub(crate) fn db_error(doing: &str, e: sqlx::Error) -> Error {
    Error::new(ErrorKind::Internal, format!("database: {doing}: {e}"))
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
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
    pub(crate) keys: std::sync::Arc<super::keys::KeyStore>,
    pub(crate) spend: super::spend::SpendLog,
}

impl Store {
    /// How long a spend row may wait in memory before its batch is written.
    pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

    /// Opens (and migrates) the database at `url` and starts the spend
    /// log's writer on the current runtime.
    pub async fn open(url: &str) -> Result<Store> {
        Self::open_with(url, Self::DEFAULT_FLUSH_INTERVAL).await
    }

    /// Same, with the spend log's batching interval.
    pub async fn open_with(url: &str, flush_interval: Duration) -> Result<Store> {
        let db = Db::connect(url).await?;
        Ok(Store {
            keys: std::sync::Arc::new(super::keys::KeyStore::new(db.clone())),
            spend: super::spend::SpendLog::start(db.clone(), flush_interval),
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
    pub async fn spend_logs(
        &self,
        key: Option<&str>,
        limit: i64,
    ) -> Result<Vec<super::spend::SpendRow>> {
        let token = key.map(super::keys::token_of);
        super::spend::rows(&self.db, token.as_deref(), limit).await
    }
}
