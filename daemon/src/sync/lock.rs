//! One run per connection at a time: in this process (a set of connections) and across
//! replicas (a lease per connection in the database, renewed while the run lasts).
//!
//! A replica that dies mid-run stops renewing; once its lease expires the next
//! trigger on another replica takes the connection over (`sync.lease_seconds`, default
//! [`DEFAULT_LEASE`]), and the crash-safe apply makes that
//! run converge.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::store::{Store, StoreError};

/// How long a sync lease lasts without renewal unless `sync.lease_seconds` says otherwise;
/// it is renewed every third of that.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// The connections with a run in progress, and the database leases behind them.
#[derive(Debug, Clone, Default)]
pub struct RunLocks {
    held: Arc<Mutex<HashSet<String>>>,
    lease: Option<(Store, String)>,
}

/// Proof that this process runs `connection`; released on drop.
#[derive(Debug)]
pub struct RunGuard {
    held: Arc<Mutex<HashSet<String>>>,
    connection: String,
    renewal: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
    lease: Option<(Store, String)>,
    duration: Duration,
}

impl RunLocks {
    /// Locks that also take a database lease per connection, as `holder`.
    pub fn with_lease(store: Store, holder: String) -> Self {
        Self {
            held: Arc::default(),
            lease: Some((store, holder)),
        }
    }

    /// Takes the connection's lock, or `None` when a run of it is in progress here or on
    /// another replica. An error is the store's: whether another replica runs it is unknown.
    pub fn try_acquire(
        &self,
        connection: &str,
        lease: Duration,
    ) -> Result<Option<RunGuard>, StoreError> {
        {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            if !held.insert(connection.to_owned()) {
                return Ok(None);
            }
        }
        let mut guard = RunGuard {
            held: self.held.clone(),
            connection: connection.to_owned(),
            renewal: None,
            lease: self.lease.clone(),
            duration: lease,
        };
        if let Some((store, holder)) = &self.lease {
            // On `None` or an error, the guard's drop frees the local lock.
            if !take_lease(store, connection, holder, lease)? {
                return Ok(None);
            }
            let stop = Arc::new(AtomicBool::new(false));
            let (store, holder, name, flag) = (
                store.clone(),
                holder.clone(),
                connection.to_owned(),
                stop.clone(),
            );
            let handle = std::thread::spawn(move || {
                let step = Duration::from_millis(200);
                let mut waited = Duration::ZERO;
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(step);
                    waited += step;
                    if waited >= lease / 3 {
                        waited = Duration::ZERO;
                        match renew_lease(&store, &name, &holder, lease) {
                            Ok(true) => {}
                            Ok(false) => tracing::warn!(
                                connection = %name,
                                "sync lease lost to another replica"
                            ),
                            Err(err) => tracing::warn!(
                                connection = %name,
                                error = %err,
                                "cannot renew the sync lease"
                            ),
                        }
                    }
                }
            });
            guard.renewal = Some((stop, handle));
        }
        Ok(Some(guard))
    }
}

impl RunGuard {
    /// Renews the connection's database lease now; false when another replica has taken the
    /// connection over since (this process stalled past the lease, or could not reach the
    /// database to renew it), even if that replica has released it again. A run checks it
    /// before it changes anything: the other replica's run reads newer data and does the
    /// work. An error is the store's: the run fails with it, as with any store error.
    pub fn still_held(&self) -> Result<bool, StoreError> {
        match &self.lease {
            Some((store, holder)) => renew_lease(store, &self.connection, holder, self.duration),
            None => Ok(true),
        }
    }
}

/// Extends `holder`'s lease of `connection` by `lease` from now, if it still holds it.
fn renew_lease(
    store: &Store,
    connection: &str,
    holder: &str,
    lease: Duration,
) -> Result<bool, StoreError> {
    let name = lease_name(connection);
    store.write(|tx| tx.renew_lease(&name, holder, lease))
}

fn lease_name(connection: &str) -> String {
    format!("sync:{connection}")
}

fn take_lease(
    store: &Store,
    connection: &str,
    holder: &str,
    lease: Duration,
) -> Result<bool, StoreError> {
    let name = lease_name(connection);
    store.write(|tx| tx.take_lease(&name, holder, lease))
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.renewal.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = handle.join();
            if let Some((store, holder)) = &self.lease {
                let name = lease_name(&self.connection);
                if let Err(err) = store.write(|tx| tx.release_lease(&name, holder)) {
                    tracing::warn!(error = %err, "cannot release the sync lease; it expires");
                }
            }
        }
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.connection);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_of_the_same_connection_waits_for_the_first() {
        let locks = RunLocks::default();
        let first = locks.try_acquire("acme", DEFAULT_LEASE).unwrap();
        assert!(first.is_some());
        assert!(locks.try_acquire("acme", DEFAULT_LEASE).unwrap().is_none());
        assert!(
            locks
                .try_acquire("globex", DEFAULT_LEASE)
                .unwrap()
                .is_some()
        );
        drop(first);
        assert!(locks.try_acquire("acme", DEFAULT_LEASE).unwrap().is_some());
    }

    #[test]
    fn a_lease_keeps_another_replica_out_until_released() {
        let store = crate::store::tests::memory_store();
        let replica_a = RunLocks::with_lease(store.clone(), "a".into());
        let replica_b = RunLocks::with_lease(store, "b".into());
        let held = replica_a.try_acquire("acme", DEFAULT_LEASE).unwrap();
        assert!(held.is_some());
        assert!(
            replica_b
                .try_acquire("acme", DEFAULT_LEASE)
                .unwrap()
                .is_none(),
            "another replica holds it"
        );
        assert!(
            replica_b
                .try_acquire("globex", DEFAULT_LEASE)
                .unwrap()
                .is_some()
        );
        drop(held);
        assert!(
            replica_b
                .try_acquire("acme", DEFAULT_LEASE)
                .unwrap()
                .is_some(),
            "released on drop"
        );
    }

    #[test]
    fn a_lease_another_replica_took_over_is_not_held_even_once_it_is_released() {
        let store = crate::store::tests::memory_store();
        let replica_a = RunLocks::with_lease(store.clone(), "a".into());
        let held = replica_a
            .try_acquire("acme", DEFAULT_LEASE)
            .unwrap()
            .unwrap();
        assert!(held.still_held().unwrap());

        // Replica a stalls past its lease; b takes the connection over, runs and releases it.
        let later = chrono::Utc::now().naive_utc() + chrono::Duration::hours(1);
        let until = later + chrono::Duration::minutes(1);
        store
            .write(|tx| {
                assert!(tx.acquire_lease("sync:acme", "b", later, until)?);
                tx.release_lease("sync:acme", "b")
            })
            .unwrap();
        assert!(!held.still_held().unwrap(), "b's run happened meanwhile");
        assert!(!held.still_held().unwrap());
    }

    #[test]
    fn a_lease_the_database_cannot_take_or_renew_is_a_store_error() {
        use diesel::{Connection, RunQueryDsl};

        let dir = crate::testing::TempDir::new("lease-error");
        let path = dir.0.join("store.db");
        let store = crate::store::Store::open(&crate::config::DatabaseConfig {
            url: crate::config::DatabaseUrl::Sqlite(path.clone()),
            max_connections: 1,
        })
        .unwrap();
        let locks = RunLocks::with_lease(store, "a".into());
        let held = locks.try_acquire("acme", DEFAULT_LEASE).unwrap().unwrap();

        // The table goes away under the store: no replica has taken anything over.
        let mut other = diesel::SqliteConnection::establish(&path.display().to_string()).unwrap();
        diesel::sql_query("ALTER TABLE leases RENAME TO leases_elsewhere")
            .execute(&mut other)
            .unwrap();
        let renewed = held.still_held();
        assert!(renewed.is_err(), "{renewed:?}");
        let taken = locks.try_acquire("globex", DEFAULT_LEASE);
        assert!(taken.is_err(), "{taken:?}");
    }
}
