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
                // checkpoint, which would stall the committing writer and every write queued
                // behind it, is only a bound (100,000 pages) for processes that do not; the
                // WAL file is cut back to 64 MiB once emptied.
                // Every commit empties the page cache of the other connections; reading the
                // file through a memory map makes refilling it a copy-free page lookup, and a
                // larger cache keeps a writer's working set (users and their indexes). Savepoints
                // (one per queued write) keep their undo pages in memory, not in a temp file.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 100000; PRAGMA journal_size_limit = 67108864; \
                     PRAGMA mmap_size = 268435456; PRAGMA cache_size = -8000; \
                     PRAGMA temp_store = MEMORY;",
                )
                .map_err(|err| StoreError::Open {
                    target: target.clone(),
                    cause: err.to_string(),
                })?;
                keep_query_plans(&mut conn).map_err(|cause| StoreError::Open { target, cause })?;
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

/// Whether the database still has a transaction open on this connection. SQLite ends one by
/// itself after some errors (an `OR ROLLBACK` conflict, sometimes a full disk or an I/O
/// error) while diesel still counts it as open; PostgreSQL keeps it open, failed, until a
/// rollback, which diesel tracks.
pub(super) fn in_open_transaction(conn: &mut DbConnection) -> bool {
    match conn {
        // SAFETY: the handle is the live connection diesel owns for the duration of the call;
        // sqlite3_get_autocommit only reads the connection's state.
        DbConnection::Sqlite(sqlite) => unsafe {
            sqlite.with_raw_connection(|db| {
                libsqlite3_sys::sqlite3_get_autocommit(db.cast::<libsqlite3_sys::sqlite3>()) == 0
            })
        },
        DbConnection::Pg(_) => true,
    }
}

/// Turns on SQLite's query planner stability guarantee (QPSG) for this connection.
///
/// Without it, SQLite marks a prepared statement for re-preparation whenever a bound value
/// might change its plan (since 3.54 any bound `LIMIT`, and `column = ?` terms), and diesel
/// clears the bindings of a cached statement before every reuse, which always triggers that:
/// every cached statement was parsed and planned again on each execution. With QPSG the plan
/// depends on the schema only, so the statement cache works; our queries do not rely on
/// value-dependent plans (no `LIKE` prefixes, no partial-index lookups by bound value).
fn keep_query_plans(conn: &mut SqliteConnection) -> Result<(), String> {
    let mut enabled: std::ffi::c_int = 0;
    // SAFETY: the handle is the live connection diesel owns for the duration of the call;
    // SQLITE_DBCONFIG_ENABLE_QPSG takes an int and an int pointer, both valid here.
    let rc = unsafe {
        conn.with_raw_connection(|db| {
            libsqlite3_sys::sqlite3_db_config(
                db.cast::<libsqlite3_sys::sqlite3>(),
                libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as std::ffi::c_int,
                &mut enabled as *mut std::ffi::c_int,
            )
        })
    };
    if rc == libsqlite3_sys::SQLITE_OK && enabled == 1 {
        Ok(())
    } else {
        Err(format!(
            "enabling the query planner stability guarantee failed (sqlite code {rc})"
        ))
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

/// Reverts the newest migration applied (for tests of the down migrations).
#[cfg(test)]
pub(super) fn revert_last_migration(conn: &mut DbConnection) -> Result<(), StoreError> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Pg(c) => c.revert_last_migration(POSTGRES_MIGRATIONS).map(|_| ()),
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
