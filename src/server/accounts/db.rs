//! The database behind virtual keys and the spend log: an embedded SQLite
//! file by default, PostgreSQL when `[server] database-url` says
//! `postgres://…`. One `sqlx::Any` pool speaks to both, so every statement
//! here is written in the SQL the two share (`$1` placeholders, `BIGINT`,
//! `DOUBLE PRECISION`, `TEXT`, `ON CONFLICT … DO NOTHING`).
//!
//! The schema is a list of migrations compiled into the binary, applied in
//! order at connect time and recorded in `switchboard_migrations`. A SQLite
//! file runs in WAL mode with `synchronous = NORMAL`: a committed
//! transaction survives the process being killed (an OS crash or power cut
//! may lose the last ones), and readers never wait for the spend log's
//! writer. Owns the connection and the schema; knows no key or row.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use super::clock::WallClock;
use crate::error::{Error, ErrorKind, Result};

/// Opens a pool on a resolved URL.
async fn pool(url: &str, sqlite: bool, memory: bool) -> Result<AnyPool> {
    let options = if sqlite {
        // One connection: SQLite serialises writers anyway, and an
        // in-memory database lives exactly as long as its connection.
        AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(u32::from(memory))
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if !memory {
                        use sqlx::Executor;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
    } else {
        AnyPoolOptions::new().max_connections(8)
    };
    options
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|e| db_error("cannot open the database", e))
}

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
    (
        3,
        "a cap on each key's calls in flight",
        &["ALTER TABLE switchboard_keys ADD COLUMN max_parallel_requests BIGINT"],
    ),
];

/// A connection pool with the schema in place.
#[derive(Clone)]
pub(crate) struct Db {
    pool: AnyPool,
    /// The resolved URL (it may hold a password: never shown).
    url: Arc<str>,
    sqlite: bool,
    memory: bool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match (self.sqlite, self.memory) {
            (true, true) => "SQLite in memory",
            (true, false) => "SQLite",
            (false, _) => "PostgreSQL",
        };
        write!(f, "Db({kind})")
    }
}

impl Db {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`,
    /// `postgres://…`, or `env:NAME` naming one), creating a SQLite file when missing, and migrates.
    pub(crate) async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let url = crate::router::resolve_secret(url, "the database URL")?;
        let sqlite = url.starts_with("sqlite:");
        let memory = sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let url = if sqlite && !memory && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url
        };
        let db = Db {
            pool: pool(&url, sqlite, memory).await?,
            url: url.into(),
            sqlite,
            memory,
        };
        db.migrate().await?;
        Ok(db)
    }

    /// A pool of its own on the same database, for a task on another
    /// runtime (the spend log's writer); None for an in-memory database,
    /// which lives in its one connection.
    pub(crate) async fn another(&self) -> Option<Result<Db>> {
        if self.memory {
            return None;
        }
        Some(pool(&self.url, self.sqlite, false).await.map(|pool| Db {
            pool,
            ..self.clone()
        }))
    }

    pub(crate) fn is_memory(&self) -> bool {
        self.memory
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The `n`th (from 1) bind parameter of a statement: `?` on SQLite,
    /// whose parser looks each `$n` up among the names before it (slow for
    /// a statement with thousands), `$n` on PostgreSQL.
    pub(crate) fn param(&self, n: usize) -> String {
        if self.sqlite {
            "?".into()
        } else {
            format!("${n}")
        }
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
            .bind(WallClock::system().now_ms())
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
    let e = e.to_string();
    Error::new(
        ErrorKind::Internal,
        format!(
            "database: {doing}: {}",
            crate::redact::redact_credentials(&e)
        ),
    )
}
