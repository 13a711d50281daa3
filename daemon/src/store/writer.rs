//! The SQLite write queue: one thread applies queued write jobs in arrival order, many to a
//! transaction (group commit).
//!
//! SQLite has one writer. Request threads that each wait for the write lock queue in no
//! order (a mutex is not fair) and hold a thread apiece while they wait; each of their
//! transactions pays its own begin, commit and WAL append. Here jobs wait in a FIFO channel
//! instead; the writer takes every job already queued (up to [`MAX_BATCH`]), runs each inside
//! its own savepoint of one `BEGIN IMMEDIATE` transaction, commits once, and only then
//! answers the jobs. A job that fails rolls back to its savepoint and leaves the others be; a
//! failed commit fails every job of the batch. A job queued in place (logins) writes on the
//! batch's transaction directly: every state it passes through may be committed, so only its
//! panic needs undoing, and that takes back the whole batch. No job's answer leaves before its
//! commit, so an acknowledged write is durable exactly as before, and a change and its event
//! still commit together.
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

/// What a queued write runs: given the batch's store, it does its work and returns how to
/// answer; given an error instead, it answers that error at once (the batch could not start).
pub(super) type Run = Box<dyn FnOnce(Result<&Store, StoreError>) -> Deliver + Send>;

/// A queued write.
pub(super) struct Job {
    pub(super) run: Run,
    /// Writes on the batch's transaction without a savepoint (`Store::run_write_in_place`).
    pub(super) in_place: bool,
}

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

/// One of the store's run slots, taken by the writer for the length of a batch, so that
/// reads (which otherwise fill every slot under load) leave the writer a core: every SCIM
/// write waits in its queue, so its share of the CPU bounds their latency.
///
/// The writer never waits for the slot: it takes a free one at once, or asks for the next
/// one a reader gives back, and returns it when the batch is done.
#[derive(Debug, Default)]
pub(super) struct SlotReserve {
    state: Mutex<ReserveState>,
}

#[derive(Debug, Default)]
struct ReserveState {
    /// The writer is running a batch without a slot and wants the next one freed.
    wanted: bool,
    held: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl SlotReserve {
    /// A reader is done with its slot: hands it to the writer if the writer asked for one.
    pub(super) fn release(&self, permit: tokio::sync::OwnedSemaphorePermit) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.wanted && state.held.is_none() {
            state.wanted = false;
            state.held = Some(permit);
        }
    }

    fn claim(&self, slots: &Arc<tokio::sync::Semaphore>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.held.is_none() {
            match slots.clone().try_acquire_owned() {
                Ok(permit) => state.held = Some(permit),
                Err(_) => state.wanted = true,
            }
        }
    }

    fn give_back(&self) {
        let held = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.wanted = false;
            state.held.take()
        };
        drop(held);
    }
}

/// The connection a batch runs on; jobs reach it through their store's `read` and `write`.
/// Emptied when the batch ends, so a store clone a job kept falls back to the pool.
pub(super) type BatchConnection = Arc<Mutex<Option<DbConnection>>>;

/// The batch connection, taken out of its slot for one `read` or `write` of a job and put
/// back when dropped, also when the job panics (so the writer can roll the job back).
pub(super) struct BatchLease<'a> {
    slot: &'a BatchConnection,
    conn: Option<DbConnection>,
}

impl<'a> BatchLease<'a> {
    /// The connection, unless it is already leased (a nested call) or the batch has ended.
    pub(super) fn take(slot: &'a BatchConnection) -> Option<BatchLease<'a>> {
        let conn = slot.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(BatchLease {
            slot,
            conn: Some(conn),
        })
    }

    /// Runs `work` in a savepoint of the batch's transaction.
    pub(super) fn transaction<T, E>(
        &mut self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        self.read(|conn| conn.transaction(work))
    }

    /// Runs `work`, which only reads, on the batch's connection.
    pub(super) fn read<T, E>(
        &mut self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        match self.conn.as_mut() {
            Some(conn) => work(conn),
            None => Err(diesel::result::Error::BrokenTransactionManager.into()),
        }
    }
}

impl Drop for BatchLease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
        }
    }
}

/// The writer keeps one connection of its own (not pooled), so its page cache stays warm:
/// only its own commits change the pages it reads.
fn run_writer(store: &Store, manager: &Manager, receiver: &Receiver<Job>) {
    let mut conn: Option<DbConnection> = None;
    // Jobs a failed batch did not get to run.
    let mut carried: Vec<Job> = Vec::new();
    loop {
        let mut jobs = std::mem::take(&mut carried);
        if jobs.is_empty() {
            match receiver.recv() {
                Ok(first) => jobs.push(first),
                Err(_) => break,
            }
        }
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
        let (kept, rest) = run_batch(store, current, jobs);
        conn = kept.and_then(|mut kept| (!broken(&mut kept)).then_some(kept));
        carried = rest;
    }
}

/// Runs one batch: begin, every job in its savepoint (or in place), commit, then answer every
/// job. Hands the connection back unless a job kept it, and the jobs a failed batch did not
/// get to run.
fn run_batch(
    store: &Store,
    conn: DbConnection,
    jobs: Vec<Job>,
) -> (Option<DbConnection>, Vec<Job>) {
    // Other writers of this process (sync runs, SAML logins) take the same lock.
    let _guard = store.write_lock.lock().unwrap_or_else(|p| p.into_inner());
    store.reserve.claim(&store.slots);
    let conn = run_locked_batch(store, conn, jobs);
    store.reserve.give_back();
    conn
}

fn run_locked_batch(
    store: &Store,
    mut conn: DbConnection,
    jobs: Vec<Job>,
) -> (Option<DbConnection>, Vec<Job>) {
    if let Err(err) = begin_immediate(&mut conn) {
        fail_all(jobs, &StoreError::Query(err));
        return (Some(conn), Vec::new());
    }

    let batch: BatchConnection = Arc::new(Mutex::new(Some(conn)));
    let guarded = store.with_batch(batch.clone(), false);
    let in_place = store.with_batch(batch.clone(), true);
    let mut answers: Vec<Deliver> = Vec::with_capacity(jobs.len());
    let mut intact = true;
    let mut jobs = jobs.into_iter();
    for job in jobs.by_ref() {
        let job_store = if job.in_place { &in_place } else { &guarded };
        match catch_unwind(AssertUnwindSafe(|| (job.run)(Ok(job_store)))) {
            Ok(deliver) => answers.push(deliver),
            // The job's caller sees its answer channel closed (a cancelled task). Whatever
            // savepoints the job left open are rolled back; a job in place may have left
            // writes anywhere in the batch, which then fails as a whole.
            Err(_) => {
                tracing::error!("a queued write panicked; its changes are rolled back");
                intact &= !job.in_place && close_savepoints(&batch);
            }
        }
        // Some failed statements undo the whole transaction (`OR ROLLBACK`; a full disk or an
        // I/O error may): the jobs after would write outside any batch, each statement
        // committed at once, and the commit below would fail.
        if intact && !transaction_open(&batch) {
            tracing::error!("a queued write ended the batch's transaction; the batch fails");
            intact = false;
        }
        if !intact {
            break;
        }
    }
    let rest: Vec<Job> = jobs.collect();

    let conn = batch.lock().unwrap_or_else(|p| p.into_inner()).take();
    let Some(mut conn) = conn else {
        deliver_all(answers, Err(StoreError::Cancelled));
        return (None, rest);
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
    (Some(conn), rest)
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

/// Whether the batch's transaction is still open on the database side (true when a job kept
/// the connection: the batch fails then anyway).
fn transaction_open(batch: &BatchConnection) -> bool {
    let mut slot = batch.lock().unwrap_or_else(|p| p.into_inner());
    slot.as_mut()
        .is_none_or(super::connection::in_open_transaction)
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
        (job.run)(Err(copy_error(err)))(Err(StoreError::Cancelled));
    }
}

/// Each job of a failed batch gets its own error value.
fn copy_error(err: &StoreError) -> StoreError {
    match err {
        StoreError::Cancelled => StoreError::Cancelled,
        other => StoreError::Commit(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatabaseConfig, DatabaseUrl};
    use crate::store::{NewUser, User};

    struct FileStore {
        store: Store,
        dir: std::path::PathBuf,
    }

    impl Drop for FileStore {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn file_store() -> FileStore {
        let dir = std::env::temp_dir().join(format!("provisiond-writer-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&DatabaseConfig {
            url: DatabaseUrl::Sqlite(dir.join("test.db")),
            max_connections: 4,
        })
        .unwrap();
        assert!(store.writer.is_some(), "a file database gets a write queue");
        FileStore { store, dir }
    }

    /// The connection that skips foreign key lookups is never a pooled one: afterwards a
    /// write naming a user that does not exist still fails.
    #[test]
    fn writes_with_known_references_leave_pooled_connections_checking() {
        let file = file_store();
        let store = &file.store;
        let user = store
            .write(|tx| tx.insert_user(&new_user("a@acme.example")))
            .unwrap();
        let added = store
            .write_known_references(|tx| {
                let now = user.created_at;
                tx.add_members("acme", &[("group-1".to_owned(), user.id.clone())], now)
            })
            .unwrap();
        assert_eq!(added.len(), 1, "the unchecked connection wrote");
        for _ in 0..8 {
            let dangling = store.write(|tx| tx.add_member("group-2", "no-such-user"));
            assert!(dangling.is_err(), "a pooled connection skipped the check");
        }
    }

    fn new_user(email: &str) -> NewUser {
        crate::testing::new_user("scim", Some(email), email)
    }

    fn insert(user: NewUser) -> impl FnOnce(&Store) -> Result<User, StoreError> + Send + 'static {
        move |store: &Store| store.write(|tx| tx.insert_user(&user))
    }

    /// Holds the write lock (the writer's, taken by a blocking thread: holding it across the
    /// await is the point) so that the jobs queued meanwhile wait and run as one batch.
    #[allow(clippy::await_holding_lock)]
    async fn batched<T: Send + 'static>(
        store: &Store,
        jobs: Vec<tokio::task::JoinHandle<T>>,
    ) -> Vec<T> {
        let lock = store.write_lock.clone();
        let guard = lock.lock().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(guard);
        let mut results = Vec::new();
        for job in jobs {
            results.push(job.await.unwrap());
        }
        results
    }

    #[test]
    fn the_writer_gets_the_next_slot_a_reader_frees_and_returns_it_after_its_batch() {
        let slots = Arc::new(tokio::sync::Semaphore::new(2));
        let reserve = SlotReserve::default();
        let first = slots.clone().try_acquire_owned().unwrap();
        let second = slots.clone().try_acquire_owned().unwrap();

        reserve.claim(&slots);
        reserve.release(first);
        assert_eq!(
            slots.available_permits(),
            0,
            "the freed slot went to the writer"
        );
        reserve.release(second);
        assert_eq!(
            slots.available_permits(),
            1,
            "one slot is all the writer takes"
        );
        reserve.give_back();
        assert_eq!(slots.available_permits(), 2);

        // An idle slot is taken at once; nothing is wanted afterwards.
        reserve.claim(&slots);
        assert_eq!(slots.available_permits(), 1);
        reserve.give_back();
        let reader = slots.clone().try_acquire_owned().unwrap();
        reserve.release(reader);
        assert_eq!(slots.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_alone_and_the_batch_commits_the_others() {
        let fixture = file_store();
        let store = fixture.store.clone();
        let first = new_user("a@acme.example");
        let mut duplicate = new_user("a@acme.example");
        duplicate.external_id = Some("other".into());
        let third = new_user("c@acme.example");

        let jobs = [first.clone(), duplicate, third.clone()]
            .into_iter()
            .map(|user| {
                let store = store.clone();
                tokio::spawn(async move { store.run_write(insert(user)).await })
            })
            .collect();
        let results = batched(&store, jobs).await;

        assert!(results[0].is_ok(), "{:?}", results[0]);
        assert!(
            matches!(results[1], Err(StoreError::Query(_))),
            "{:?}",
            results[1]
        );
        assert!(results[2].is_ok(), "{:?}", results[2]);
        for id in [&first.id, &third.id] {
            assert!(store.read(|tx| tx.user(id)).unwrap().is_some());
        }
        let events = store.read(|tx| tx.events_after(0, 10)).unwrap();
        assert_eq!(events.len(), 2, "one event per committed user");
    }

    /// A job for [`run_locked_batch`] and where its answer arrives (disconnected when the
    /// job panicked).
    fn direct_job(
        in_place: bool,
        work: impl FnOnce(&Store) -> Result<(), StoreError> + Send + 'static,
    ) -> (Job, std::sync::mpsc::Receiver<Result<(), StoreError>>) {
        let (answer, answered) = std::sync::mpsc::channel();
        let run: Run = Box::new(move |batch| -> Deliver {
            let result = batch.and_then(work);
            Box::new(move |committed| {
                let _ = answer.send(committed.and(result));
            })
        });
        (Job { run, in_place }, answered)
    }

    fn run_directly(store: &Store, jobs: Vec<Job>) -> Vec<Job> {
        let conn = store.unpooled.as_ref().unwrap().connect_now().unwrap();
        let (conn, rest) = run_locked_batch(store, conn, jobs);
        assert!(conn.is_some());
        rest
    }

    fn insert_job(
        in_place: bool,
        user: &NewUser,
    ) -> (Job, std::sync::mpsc::Receiver<Result<(), StoreError>>) {
        let user = user.clone();
        direct_job(in_place, move |s| {
            s.write(|tx| tx.insert_user(&user)).map(|_| ())
        })
    }

    /// An in-place job keeps the writes it made before its error; the batch commits them
    /// with the other jobs.
    #[test]
    fn an_in_place_job_keeps_its_writes_before_an_error() {
        let fixture = file_store();
        let store = &fixture.store;
        let kept = new_user("kept@acme.example");
        let other = new_user("other@acme.example");
        let (failing, failed) = {
            let kept = kept.clone();
            direct_job(true, move |s| {
                s.write(|tx| {
                    tx.insert_user(&kept)?;
                    // The same id again: a failed statement.
                    tx.insert_user(&kept)?;
                    Ok(())
                })
            })
        };
        let (after, answered) = insert_job(false, &other);

        let rest = run_directly(store, vec![failing, after]);

        assert!(rest.is_empty());
        let failed = failed.recv().unwrap();
        assert!(matches!(failed, Err(StoreError::Query(_))), "{failed:?}");
        answered.recv().unwrap().unwrap();
        for id in [&kept.id, &other.id] {
            assert!(store.read(|tx| tx.user(id)).unwrap().is_some());
        }
    }

    /// An in-place job that panics takes its whole batch back: the jobs before it are
    /// answered with an error and keep nothing; the jobs after it are left for the next batch.
    #[test]
    fn an_in_place_job_that_panics_fails_its_batch_and_leaves_the_rest() {
        let fixture = file_store();
        let store = &fixture.store;
        let before = new_user("before@acme.example");
        let lost = new_user("lost@acme.example");
        let after = new_user("after@acme.example");
        let (first, first_answer) = insert_job(false, &before);
        let (panicking, panicked) = {
            let lost = lost.clone();
            direct_job(true, move |s| {
                s.write(|tx| {
                    tx.insert_user(&lost)?;
                    panic!("a bug inside a write");
                })
            })
        };
        let (last, last_answer) = insert_job(false, &after);

        let rest = run_directly(store, vec![first, panicking, last]);

        assert!(matches!(
            first_answer.recv().unwrap(),
            Err(StoreError::Cancelled)
        ));
        assert!(panicked.recv().is_err(), "the panicking job was answered");
        assert!(last_answer.try_recv().is_err(), "the job after it ran");
        assert_eq!(rest.len(), 1);
        assert!(run_directly(store, rest).is_empty());
        last_answer.recv().unwrap().unwrap();
        assert!(store.read(|tx| tx.user(&before.id)).unwrap().is_none());
        assert!(store.read(|tx| tx.user(&lost.id)).unwrap().is_none());
        assert!(store.read(|tx| tx.user(&after.id)).unwrap().is_some());
    }

    /// Some failed statements make SQLite undo the whole transaction, not just themselves
    /// (`OR ROLLBACK`, and a full disk or an I/O error may): the batch is then gone, so the jobs
    /// after such an in-place job must not write outside it and be answered with an error
    /// while their writes stay.
    #[test]
    fn a_statement_that_undoes_the_batch_fails_it_and_leaves_the_rest() {
        use diesel::RunQueryDsl;

        let fixture = file_store();
        let store = &fixture.store;
        let existing = new_user("existing@acme.example");
        store.write(|tx| tx.insert_user(&existing)).unwrap();
        let before = new_user("before@acme.example");
        let after = new_user("after@acme.example");
        let (first, first_answer) = insert_job(false, &before);
        let (undoing, undone) = {
            let id = existing.id.clone();
            direct_job(true, move |s| {
                s.write(|tx| {
                    diesel::sql_query(
                        "INSERT OR ROLLBACK INTO users SELECT * FROM users WHERE id = ?",
                    )
                    .bind::<diesel::sql_types::Text, _>(&id)
                    .execute(tx.conn)?;
                    Ok(())
                })
            })
        };
        let (last, last_answer) = insert_job(false, &after);

        let rest = run_directly(store, vec![first, undoing, last]);
        for job in rest {
            let _ = run_directly(store, vec![job]);
        }

        assert!(undone.recv().unwrap().is_err());
        assert!(first_answer.recv().unwrap().is_err());
        assert!(store.read(|tx| tx.user(&before.id)).unwrap().is_none());
        let answered = last_answer.recv().unwrap();
        let stored = store.read(|tx| tx.user(&after.id)).unwrap().is_some();
        assert_eq!(
            answered.is_ok(),
            stored,
            "answered {answered:?}, stored: {stored}"
        );
        assert!(stored, "the job after the failed batch was not run again");
    }

    #[tokio::test]
    async fn an_answered_write_is_visible_to_every_connection() {
        let fixture = file_store();
        let store = fixture.store.clone();
        for i in 0..20 {
            let user = new_user(&format!("u{i}@acme.example"));
            let id = user.id.clone();
            store.run_write(insert(user)).await.unwrap();
            // A plain read on a pooled connection, not the writer's.
            let found = store.run(move |s| s.read(|tx| tx.user(&id))).await.unwrap();
            assert!(found.is_some());
        }
    }

    #[tokio::test]
    async fn a_panicking_job_is_rolled_back_and_its_caller_sees_a_cancelled_write() {
        let fixture = file_store();
        let store = fixture.store.clone();
        let kept = new_user("kept@acme.example");
        let lost = new_user("lost@acme.example");
        let lost_id = lost.id.clone();

        let panicking = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .run_write(move |s: &Store| -> Result<(), StoreError> {
                        s.write(|tx| {
                            tx.insert_user(&lost)?;
                            panic!("a bug inside a write");
                        })
                    })
                    .await
            })
        };
        let after = {
            let store = store.clone();
            let kept = kept.clone();
            tokio::spawn(async move { store.run_write(insert(kept)).await.map(|_| ()) })
        };
        let results = batched(&store, vec![panicking, after]).await;

        assert!(
            matches!(results[0], Err(StoreError::Cancelled)),
            "{:?}",
            results[0]
        );
        assert!(results[1].is_ok(), "{:?}", results[1]);
        assert!(store.read(|tx| tx.user(&lost_id)).unwrap().is_none());
        assert!(store.read(|tx| tx.user(&kept.id)).unwrap().is_some());
    }
}
