//! The store: users, identities, groups, SAML request state, replay cache, sessions, SCIM
//! resources and tokens, sync runs, the change outbox, leases and the audit log.
//!
//! The one place SQL lives. SQLite (bundled, WAL) or PostgreSQL, chosen by the database URL's
//! scheme; migrations are embedded and run at start. The store knows nothing of SAML or SCIM:
//! callers open a [`Tx`] and use its typed operations, each write in one transaction.
//!
//! Calls block; async callers go through [`Store::run`], which moves the work to tokio's
//! blocking pool.

mod audit;
mod bulk;
mod connection;
mod events;
mod groups;
mod identities;
mod leases;
mod models;
mod saml_state;
pub use saml_state::OutstandingRequest;
pub mod schema;
mod scim;
mod scim_tokens;
mod sessions;
mod sync_runs;
mod users;

use std::sync::{Arc, Mutex};

use diesel::r2d2::{Pool, PooledConnection};
use diesel::{Connection, RunQueryDsl};

use crate::config::{DatabaseConfig, DatabaseUrl};
pub use audit::{AuditRow, LoginOutcome};
pub use bulk::SyncedProfile;
pub use connection::{DbConnection, Manager};
pub use events::{EventKind, EventRow, NewEvent};
pub use groups::{Group, NewGroup};
pub use models::{NewUser, User, UserChanges, email_key};
pub use scim::{
    GroupKey, MemberRow, MembershipRow, ScimGroupColumns, ScimGroupRow, ScimUserColumns,
    ScimUserRow, UserKey, Visibility,
};
pub use scim_tokens::ScimToken;
pub use sync_runs::{SyncRunRow, SyncStateRow};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached; the cause is the driver's message.
    #[error("cannot open database {target}: {cause}")]
    Open { target: String, cause: String },
    /// Migrations failed; the database is left as the last good migration made it.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    /// No pooled connection came free in time.
    #[error("database pool: {0}")]
    Pool(String),
    /// A blocking task was lost (the runtime is shutting down).
    #[error("database task was cancelled")]
    Cancelled,
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    /// SQLite allows one writer; taking this lock before a write transaction avoids
    /// "database is locked" upgrades between pooled connections of this process.
    write_lock: Arc<Mutex<()>>,
    kind: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.kind)
    }
}

/// Which database backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A connection inside a transaction; every store operation hangs off it.
pub struct Tx<'a> {
    conn: &'a mut DbConnection,
}

impl Store {
    /// Opens the database, creating a SQLite file if needed, and runs pending migrations.
    pub fn open(config: &DatabaseConfig) -> Result<Store, StoreError> {
        let store = Self::open_without_migrating(config)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens the database without touching its schema.
    pub fn open_without_migrating(config: &DatabaseConfig) -> Result<Store, StoreError> {
        let (kind, size) = match &config.url {
            // An in-memory database exists per connection: keep exactly one.
            DatabaseUrl::Sqlite(path) if path.as_os_str() == ":memory:" => (Backend::Sqlite, 1),
            DatabaseUrl::Sqlite(_) => (Backend::Sqlite, config.max_connections),
            DatabaseUrl::Postgres(_) => (Backend::Postgres, config.max_connections),
        };
        let manager = Manager::new(config.url.clone());
        // Connect once up front so a bad URL is reported with the driver's own reason.
        manager.connect_now()?;
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            // A broken connection fails its query and is replaced then; a ping on every
            // checkout would double the statements of a short transaction.
            .test_on_check_out(false)
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(manager)
            .map_err(|err| StoreError::Pool(err.to_string()))?;
        Ok(Store {
            pool,
            write_lock: Arc::new(Mutex::new(())),
            kind,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.kind
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let mut conn = self.connection()?;
        connection::run_migrations(&mut conn)
    }

    /// Whether every embedded migration has been applied (for readiness checks).
    pub fn is_migrated(&self) -> Result<bool, StoreError> {
        let mut conn = self.connection()?;
        connection::has_pending_migrations(&mut conn).map(|pending| !pending)
    }

    /// Copies committed WAL pages into the SQLite file without blocking readers or writers
    /// (a passive checkpoint); nothing on PostgreSQL. The daemon calls it every second so
    /// that request transactions never pay for a checkpoint.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        if self.kind == Backend::Sqlite {
            let mut conn = self.connection()?;
            diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *conn)?;
        }
        Ok(())
    }

    /// Runs `work` in one write transaction; an error rolls everything back.
    pub fn write<T, E>(&self, work: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError> + From<diesel::result::Error>,
    {
        // The lock comes before the pooled connection, so writers queueing for SQLite's one
        // write slot do not hold connections that readers need.
        let _guard = match self.kind {
            Backend::Sqlite => Some(self.write_lock.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Postgres => None,
        };
        let mut conn = self.connection()?;
        conn.transaction(|conn| work(&mut Tx { conn }))
    }

    /// Runs `work` in a read transaction.
    pub fn read<T, E>(&self, work: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError> + From<diesel::result::Error>,
    {
        let mut conn = self.connection()?;
        conn.transaction(|conn| work(&mut Tx { conn }))
    }

    /// Runs blocking store work on tokio's blocking pool.
    pub async fn run<T, E>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .unwrap_or_else(|_| Err(StoreError::Cancelled.into()))
    }

    fn connection(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .get()
            .map_err(|err| StoreError::Pool(err.to_string()))
    }
}

#[cfg(test)]
pub(crate) mod tests;
