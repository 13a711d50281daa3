//! The SQLite write queue: one thread applies queued write jobs in arrival order, many to a
//! transaction (group commit).
//!
//! SQLite has one writer. Request threads that each wait for the write lock queue in no
//! order (a mutex is not fair) and hold a thread apiece while they wait; each of their
//! transactions pays its own begin, commit and WAL append. Here jobs wait in a FIFO channel
//! instead; the writer takes every job already queued (up to [`MAX_BATCH`]), runs each inside
//! its own savepoint of one `BEGIN IMMEDIATE` transaction, commits once, and only then
//! answers the jobs. A job that fails rolls back to its savepoint and leaves the others be; a
//! failed commit fails every job of the batch. No job's answer leaves before its commit, so
//! an acknowledged write is durable exactly as before, and a change and its event still
//! commit together.
//!
//! Jobs see a [`Store`] whose `read` and `write` run on the batch's connection, so reads
//! inside a job see the batch's earlier writes. PostgreSQL needs none of this (it has row
//! locks): there the store has no queue and writes run like any other work.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::{DbConnection, Manager, Store, StoreError};

/// The most jobs committed together; a longer queue is served by the next batch.
pub(super) const MAX_BATCH: usize = 64;

/// What a job hands back after running: a function that answers its caller once the batch's
/// commit outcome is known.
pub(super) type Deliver = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A queued write: runs against the batch's store and returns how to answer; given an error
/// instead of a store, it answers that error at once (the batch could not start).
pub(super) type Job = Box<dyn FnOnce(Result<&Store, StoreError>) -> Deliver + Send>;

/// The sending end of the queue, shared by every clone of a store.
#[derive(Debug)]
pub(super) struct WriteQueue {
    sender: Mutex<Sender<Job>>,
}

impl WriteQueue {
    /// Starts the writer thread for `store` (which must have no queue of its own); the
    /// thread ends when the last clone of the returned queue is dropped.
    pub(super) fn start(store: Store, manager: Manager) -> Result<Arc<WriteQueue>, StoreError> {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("provisiond-sqlite-writer".into())
            .spawn(move || run_writer(&store, &manager, &receiver))
            .map_err(|err| StoreError::Open {
                target: "the SQLite writer thread".into(),
                cause: err.to_string(),
            })?;
        Ok(Arc::new(WriteQueue {
            sender: Mutex::new(sender),
        }))
    }

    /// Queues a job; fails only when the writer thread is gone.
    pub(super) fn submit(&self, job: Job) -> Result<(), StoreError> {
        self.sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| StoreError::Cancelled)
    }
}

/// The connection a batch runs on; jobs reach it through their store's `read` and `write`.
/// Emptied when the batch ends, so a store clone a job kept falls back to the pool.
pub(super) type BatchConnection = Arc<Mutex<Option<DbConnection>>>;

/// The writer keeps one connection of its own (not pooled), so its page cache stays warm:
/// only its own commits change the pages it reads.
fn run_writer(store: &Store, manager: &Manager, receiver: &Receiver<Job>) {
    let mut conn: Option<DbConnection> = None;
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let current = match conn.take() {
            Some(current) => current,
            None => match manager.connect_now() {
                Ok(fresh) => fresh,
                Err(err) => {
                    fail_all(jobs, &err);
                    continue;
                }
            },
        };
        // A connection left inside a transaction (a rollback that failed) is replaced.
        conn = run_batch(store, current, jobs)
            .and_then(|mut kept| (!broken(&mut kept)).then_some(kept));
    }
}

/// Runs one batch: begin, every job in its savepoint, commit, then answer every job. Hands
/// the connection back unless a job kept it.
fn run_batch(store: &Store, mut conn: DbConnection, jobs: Vec<Job>) -> Option<DbConnection> {
    // Other writers of this process (sync runs, SAML logins) take the same lock.
    let _guard = store.write_lock.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(err) = begin_immediate(&mut conn) {
        fail_all(jobs, &StoreError::Query(err));
        return Some(conn);
    }

    let batch: BatchConnection = Arc::new(Mutex::new(Some(conn)));
    let batch_store = store.with_batch(batch.clone());
    let mut answers: Vec<Deliver> = Vec::with_capacity(jobs.len());
    let mut intact = true;
    for job in jobs {
        match catch_unwind(AssertUnwindSafe(|| job(Ok(&batch_store)))) {
            Ok(deliver) => answers.push(deliver),
            // The job's caller sees its answer channel closed (a cancelled task); whatever
            // savepoints the job left open are rolled back below.
            Err(_) => {
                tracing::error!("a queued write panicked; its changes are rolled back");
                intact &= close_savepoints(&batch);
            }
        }
    }

    let conn = batch.lock().unwrap_or_else(|p| p.into_inner()).take();
    let Some(mut conn) = conn else {
        deliver_all(answers, Err(StoreError::Cancelled));
        return None;
    };
    let outcome = if intact {
        <DbConnection as Connection>::TransactionManager::commit_transaction(&mut conn)
            .map_err(StoreError::Query)
    } else {
        Err(StoreError::Cancelled)
    };
    if outcome.is_err() && in_transaction(&mut conn) {
        let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(&mut conn);
    }
    deliver_all(answers, outcome);
    Some(conn)
}

/// Still inside a transaction after a batch (a rollback failed), or unusable.
fn broken(conn: &mut DbConnection) -> bool {
    in_transaction(conn)
        || <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
}

fn begin_immediate(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    match conn {
        // IMMEDIATE takes SQLite's write lock now (waiting out the busy timeout when another
        // process holds it) rather than failing on the first write of a stale snapshot.
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
        }
        other => <DbConnection as Connection>::TransactionManager::begin_transaction(other),
    }
}

/// Rolls back savepoints a panicking job left open; false when the batch cannot go on.
fn close_savepoints(batch: &BatchConnection) -> bool {
    let mut slot = batch.lock().unwrap_or_else(|p| p.into_inner());
    let Some(conn) = slot.as_mut() else {
        return false;
    };
    loop {
        match depth(conn) {
            Some(1) => return true,
            Some(_) => {
                let rolled_back =
                    <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
                if rolled_back.is_err() {
                    return false;
                }
            }
            None => return false,
        }
    }
}

fn depth(conn: &mut DbConnection) -> Option<u32> {
    <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .flatten()
        .map(std::num::NonZeroU32::get)
}

fn in_transaction(conn: &mut DbConnection) -> bool {
    depth(conn).is_some()
}

fn deliver_all(answers: Vec<Deliver>, outcome: Result<(), StoreError>) {
    for deliver in answers {
        deliver(match &outcome {
            Ok(()) => Ok(()),
            Err(err) => Err(copy_error(err)),
        });
    }
}

fn fail_all(jobs: Vec<Job>, err: &StoreError) {
    tracing::error!(error = %err, jobs = jobs.len(), "a batch of queued writes could not start");
    for job in jobs {
        job(Err(copy_error(err)))(Err(StoreError::Cancelled));
    }
}

/// Each job of a failed batch gets its own error value.
fn copy_error(err: &StoreError) -> StoreError {
    match err {
        StoreError::Cancelled => StoreError::Cancelled,
        other => StoreError::Commit(other.to_string()),
    }
}
