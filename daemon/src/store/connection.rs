//! Opening connections to the chosen backend, pooling them, and running migrations.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::ManageConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StoreError;
use crate::config::DatabaseUrl;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// A connection to either backend; queries are written once for both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// SQLite.
    Sqlite(SqliteConnection),
    /// PostgreSQL.
    Pg(PgConnection),
}

/// Opens connections of exactly the backend the URL names (never "try every backend").
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    /// A manager for this database.
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }

    /// Connects once, returning the driver's reason on failure.
    pub fn connect_now(&self) -> Result<DbConnection, StoreError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let target = path.display().to_string();
                let mut conn =
                    SqliteConnection::establish(&target).map_err(|err| StoreError::Open {
                        target: target.clone(),
                        cause: err.to_string(),
                    })?;
                // WAL lets readers run beside the writer; the busy timeout covers the short
                // windows where another process (a CLI command) holds the write lock. The
                // daemon checkpoints in the background (Store::checkpoint), so the automatic
                // checkpoint, which would stall a request with an fsync, rarely triggers.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 10000; PRAGMA temp_store = MEMORY;",
                )
                .map_err(|err| StoreError::Open {
                    target,
                    cause: err.to_string(),
                })?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url.expose())
                .map(DbConnection::Pg)
                .map_err(|err| StoreError::Open {
                    target: redact_password(url.expose()),
                    cause: err.to_string(),
                }),
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.connect_now().map_err(|err| {
            diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                err.to_string(),
            ))
        })
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

pub(super) fn run_migrations(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    result.map_err(|err| StoreError::Migration(err.to_string()))
}

pub(super) fn has_pending_migrations(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConnection::Pg(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    result.map_err(|err| StoreError::Migration(err.to_string()))
}

/// `postgres://user:secret@host/db` -> `postgres://user:[redacted]@host/db`.
fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.password().is_some() => {
            let host = parsed.host_str().unwrap_or_default();
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}:[redacted]@{host}{port}{}",
                parsed.scheme(),
                parsed.username(),
                parsed.path()
            )
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "[unparseable postgres URL]".to_string(),
    }
}
