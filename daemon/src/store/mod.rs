//! The store: users, identities, groups, SAML request state, replay cache, sessions, SCIM
//! resources and tokens, sync runs, the change outbox, leases and the audit log.
//!
//! The one place SQL lives. SQLite (bundled, WAL) or PostgreSQL, chosen by the database URL's
//! scheme; migrations are embedded and run at start. The store knows nothing of SAML or SCIM:
//! callers open a [`Tx`] and use its typed operations, each write in one transaction (run
//! again when PostgreSQL aborts it as a deadlock or a serialization failure: see `retry`).
//!
//! Calls block; async callers go through [`Store::run`], which moves the work to tokio's
//! blocking pool, or [`Store::run_write`] for work that writes, which SQLite commits in
//! batches on one writer thread (see `writer`).

/// Runs a query on the concrete connection inside a [`DbConnection`]: `on_backend!(conn, c =>
/// query.load(c))`. The query is written once and compiled for each backend.
///
/// Through the `MultiConnection` wrapper diesel renders a query's SQL text several times on
/// every execution (to check cacheability, count and collect binds), even when the prepared
/// statement is cached; on the concrete connection a cached statement is found by the query's
/// type alone. Hot queries (every SCIM request runs several) use this.
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::DbConnection::Sqlite($c) => $body,
            $crate::store::DbConnection::Pg($c) => $body,
        }
    };
}

/// Inserts `$rows` into `$table`, skipping rows whose key is already there (`INSERT OR IGNORE`
/// on SQLite, `ON CONFLICT DO NOTHING` on PostgreSQL, where a failed insert would abort the
/// transaction); evaluates to the number of rows inserted.
macro_rules! insert_new {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::store::DbConnection::Sqlite(c) => diesel::insert_or_ignore_into($table)
                .values($rows)
                .execute(c),
            $crate::store::DbConnection::Pg(c) => diesel::insert_into($table)
                .values($rows)
                .on_conflict_do_nothing()
                .execute(c),
        }
    };
}

mod audit;
mod bulk;
mod connection;
mod events;
mod fold;
mod groups;
mod identities;
mod leases;
mod models;
mod retry;
mod saml_state;
pub mod schema;
mod scim;
mod scim_tokens;
pub mod serving;
mod sessions;
mod sync_runs;
mod users;
mod writer;

use std::sync::{Arc, Mutex};

use diesel::r2d2::{Pool, PooledConnection};
use diesel::{Connection, RunQueryDsl};

use crate::config::{DatabaseConfig, DatabaseUrl};
pub use audit::{AuditRow, LoginOutcome};

/// A new id for a user, group or event: a UUIDv7 (RFC 9562), unique like a random one but
/// increasing with time, so each primary key and every index on the id (memberships,
/// sessions, identities) grows at its end rather than at random pages, which a burst of
/// creations would otherwise each dirty and write out again.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
pub use bulk::SyncedProfile;
pub use connection::{DbConnection, Manager, check_postgres_url};
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
    /// A batch of queued writes did not commit; none of its changes were kept.
    #[error("the write transaction could not be committed: {0}")]
    Commit(String),
}

/// The longest value (in bytes of UTF-8) a key column may take: external ids, user names,
/// email keys and group names are indexed, and a PostgreSQL B-tree index row holds at most
/// 2704 bytes, so a longer value would fail its whole transaction there. Writers (SCIM,
/// sync) refuse longer values before they reach the store, on every backend alike.
pub const MAX_KEY_BYTES: usize = 1024;

/// How often `serve` checkpoints the WAL. A busy writer appends tens of thousands of pages
/// a second; copying them back in small steps keeps each checkpoint short.
pub const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    /// SQLite allows one writer; taking this lock before a write transaction avoids
    /// "database is locked" upgrades between pooled connections of this process.
    write_lock: Arc<Mutex<()>>,
    kind: Backend,
    /// SQLite: the queue [`Store::run_write`] sends jobs to (group commit).
    writer: Option<Arc<writer::WriteQueue>>,
    /// Set on the store a queued write job sees: the batch transaction's connection.
    batch: Option<writer::BatchConnection>,
    /// The job writes on the batch's transaction itself, with no savepoint of its own (see
    /// [`Store::run_write_in_place`]).
    in_place: bool,
    /// Bounds the blocking tasks [`Store::run`] starts at once, in arrival order, to the
    /// connections they can use; later callers wait without holding a thread.
    slots: Arc<tokio::sync::Semaphore>,
    /// Lets the SQLite writer take one of `slots` while it has a batch to run.
    reserve: Arc<writer::SlotReserve>,
    /// SQLite files: opens the connections of [`Store::write_known_references`], which never
    /// join the pool.
    unpooled: Option<Arc<Manager>>,
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
    /// A PostgreSQL write's events, held back until its work is done (see `events`); `None`
    /// where events go to the outbox at once.
    held_events: Option<Vec<events::OutboxRow>>,
}

impl<'a> Tx<'a> {
    /// A transaction whose events go to the outbox as they are recorded.
    fn new(conn: &'a mut DbConnection) -> Self {
        Tx {
            conn,
            held_events: None,
        }
    }
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
            // Connections open when a caller needs one, never in the background: a pool
            // topping itself up could be inside libpq (and Kerberos) on another thread when a
            // CLI command returns, and the process's exit handlers then pull libraries out
            // from under it (an abort in k5_mutex_lock). Idle ones are kept.
            .min_idle(Some(0))
            .idle_timeout(None)
            // A broken connection fails its query and is replaced then; a ping on every
            // checkout would double the statements of a short transaction.
            .test_on_check_out(false)
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(manager)
            .map_err(|err| StoreError::Pool(err.to_string()))?;
        let mut store = Store {
            pool,
            write_lock: Arc::new(Mutex::new(())),
            kind,
            writer: None,
            batch: None,
            in_place: false,
            slots: Arc::new(tokio::sync::Semaphore::new(run_slots(kind, size))),
            reserve: Arc::default(),
            unpooled: None,
        };
        // An in-memory database exists per connection: the writer's own would be another one.
        if matches!(&config.url, DatabaseUrl::Sqlite(path) if path.as_os_str() != ":memory:") {
            let manager = Manager::new(config.url.clone());
            store.writer = Some(writer::WriteQueue::start(store.clone(), manager)?);
            store.unpooled = Some(Arc::new(Manager::new(config.url.clone())));
        }
        Ok(store)
    }

    /// The store a queued write job sees: `read` and `write` use the batch's connection.
    fn with_batch(&self, batch: writer::BatchConnection, in_place: bool) -> Store {
        Store {
            writer: None,
            batch: Some(batch),
            in_place,
            ..self.clone()
        }
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
    /// (a passive checkpoint); nothing on PostgreSQL. The daemon calls it often enough
    /// ([`CHECKPOINT_INTERVAL`]) that the WAL stays far below the size at which a committing
    /// writer would checkpoint itself, so request transactions never pay for one.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        if self.kind == Backend::Sqlite {
            let mut conn = self.connection()?;
            diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *conn)?;
        }
        Ok(())
    }

    /// Checkpoints the WAL every [`CHECKPOINT_INTERVAL`] on a background task (SQLite;
    /// nothing to do on PostgreSQL). Needs a tokio runtime; the task ends with the runtime.
    pub fn spawn_checkpoints(&self) {
        if self.kind != Backend::Sqlite {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
            loop {
                tick.tick().await;
                // Not through `run`: a checkpoint waits on the disk, not the CPU, and must not
                // hold one of the slots requests are admitted by.
                let checkpointing = store.clone();
                let outcome = tokio::task::spawn_blocking(move || checkpointing.checkpoint())
                    .await
                    .unwrap_or(Err(StoreError::Cancelled));
                if let Err(err) = outcome {
                    tracing::warn!(error = %err, "WAL checkpoint failed");
                }
            }
        });
    }

    /// Runs `work` in one write transaction; an error rolls everything back.
    ///
    /// On PostgreSQL, a transaction the server aborts as a deadlock or a serialization failure
    /// is rolled back and `work` runs again from the start, up to three more times (see
    /// `retry`): `work` must leave nothing behind it outside the transaction that a second
    /// run would trip over.
    ///
    /// Inside a queued write job ([`Store::run_write`]) the transaction is a savepoint of the
    /// batch's transaction, committed with the batch; inside an in-place job
    /// ([`Store::run_write_in_place`]) it is the batch's transaction itself, and an error
    /// keeps what `work` wrote before it.
    pub fn write<T, E>(&self, mut work: impl FnMut(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError> + From<diesel::result::Error>,
    {
        if let Some(batch) = &self.batch {
            // A write nested in another, or through a store a job kept after its batch: the
            // writer holds the write lock, so waiting for it here would never end.
            let mut lease = writer::BatchLease::take(batch).ok_or(StoreError::Pool(
                "a write inside a queued write must use the job's own transaction".into(),
            ))?;
            if self.in_place {
                return lease.read(|conn| work(&mut Tx::new(conn)));
            }
            return lease.transaction(|conn| work(&mut Tx::new(conn)));
        }
        // The lock comes before the pooled connection, so writers queueing for SQLite's one
        // write slot do not hold connections that readers need.
        let _guard = match self.kind {
            Backend::Sqlite => Some(self.write_lock.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Postgres => None,
        };
        let mut conn = self.connection()?;
        match self.kind {
            Backend::Sqlite => conn.transaction(|conn| work(&mut Tx::new(conn))),
            Backend::Postgres => retry::transaction(&mut conn, work),
        }
    }

    /// Like [`Store::write`], for bulk work whose rows only reference users and groups the
    /// caller read from the store or created itself: on SQLite it runs without the per-row
    /// foreign key lookups, which cost as much as the inserts themselves. Users and groups are
    /// never deleted (only deactivated or marked deleted), so such references cannot dangle.
    /// The connection doing it is opened for it and closed after, so no pooled connection
    /// ever skips the checks. PostgreSQL, an in-memory SQLite database and a write nested in
    /// a queued write job check as usual, and PostgreSQL runs `work` again as [`Store::write`]
    /// does.
    pub fn write_known_references<T, E>(
        &self,
        mut work: impl FnMut(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError> + From<diesel::result::Error>,
    {
        let Some(manager) = self.unpooled.as_ref().filter(|_| self.batch.is_none()) else {
            return self.write(work);
        };
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut conn = manager.connect_now()?;
        diesel::sql_query("PRAGMA foreign_keys = OFF").execute(&mut conn)?;
        conn.transaction(|conn| work(&mut Tx::new(conn)))
    }

    /// Runs `work` in a read transaction (a savepoint inside a queued write job).
    pub fn read<T, E>(&self, work: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError> + From<diesel::result::Error>,
    {
        // Inside a queued write job a read needs no savepoint of its own: it changes nothing
        // and already sees one consistent state. Nested in the job's transaction, it falls
        // back to a pooled connection.
        if let Some(mut lease) = self.batch.as_ref().and_then(writer::BatchLease::take) {
            return lease.read(|conn| work(&mut Tx::new(conn)));
        }
        let mut conn = self.connection()?;
        conn.transaction(|conn| work(&mut Tx::new(conn)))
    }

    /// Runs blocking store work on tokio's blocking pool, at most one task per spare pooled
    /// connection at a time; callers beyond that wait their turn in arrival order.
    pub async fn run<T, E>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Cancelled)?;
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = work(&store);
            store.reserve.release(permit);
            result
        })
        .await
        .unwrap_or_else(|_| Err(StoreError::Cancelled.into()))
    }

    /// Runs work that writes: on SQLite, queued for the writer, which commits many such jobs
    /// in one transaction and answers each after the commit (see `writer`); elsewhere like
    /// [`Store::run`]. `work` uses the store it is given as usual.
    pub async fn run_write<T, E>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.queue_write(work, false).await
    }

    /// Like [`Store::run_write`], for work written so that every state its writes pass
    /// through may be committed: an error after some of its writes keeps them (SQLite undoes
    /// a failed statement by itself). On SQLite the job then needs no savepoint of its own,
    /// whose copies of the pages earlier jobs of the batch changed cost as much as a
    /// statement. Should the work panic, or a failed statement undo the whole transaction
    /// (SQLite does for some errors), the whole batch is rolled back, its jobs are answered
    /// with an error, and the jobs not yet run go to the next batch.
    pub async fn run_write_in_place<T, E>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.queue_write(work, true).await
    }

    async fn queue_write<T, E>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
        in_place: bool,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let Some(queue) = &self.writer else {
            return self.run(work).await;
        };
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let run: writer::Run = Box::new(move |batch| -> writer::Deliver {
            match batch {
                Ok(store) => {
                    let result = work(store);
                    Box::new(move |committed: Result<(), StoreError>| {
                        let _ = answer.send(committed.map_err(E::from).and(result));
                    })
                }
                Err(err) => {
                    let _ = answer.send(Err(err.into()));
                    Box::new(|_| {})
                }
            }
        });
        queue.submit(writer::Job { run, in_place })?;
        answered
            .await
            .unwrap_or_else(|_| Err(StoreError::Cancelled.into()))
    }

    fn connection(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .get()
            .map_err(|err| StoreError::Pool(err.to_string()))
    }
}

/// How many [`Store::run`] tasks may run at once. One pooled connection stays free for the
/// write queue and other writers. SQLite work is CPU-bound (pages come from memory), so more
/// tasks than cores only time-slice each other; while the writer runs a batch it holds one of
/// these slots (see `writer::SlotReserve`), so readers leave it a core. PostgreSQL work mostly
/// waits on the server, so it may use every spare connection.
fn run_slots(kind: Backend, pool_size: u32) -> usize {
    let spare = usize::try_from(pool_size)
        .unwrap_or(1)
        .saturating_sub(1)
        .max(1);
    match kind {
        Backend::Sqlite => {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            spare.min(cores)
        }
        Backend::Postgres => spare,
    }
}

#[cfg(test)]
mod key_tests;
#[cfg(test)]
pub(crate) mod tests;
