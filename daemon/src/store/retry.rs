//! Running a PostgreSQL write transaction again when the server aborted it as a deadlock
//! (SQLSTATE 40P01) or a serialization failure (40001).
//!
//! Such an abort undoes the whole transaction and says nothing about the work itself: the
//! transaction it collided with has gone on, and the same work run again from the start
//! normally succeeds. [`transaction`] does that a bounded number of times, after a short
//! random pause so the two do not meet again in step, and then reports the last error as it
//! came.
//!
//! The work's error type may carry the store's error or only its text, so the cause is noted
//! where it happens: while an attempt runs, diesel's instrumentation hook on the connection
//! keeps the SQLSTATE of a failed statement. SQLite never comes here: it runs one write
//! transaction at a time.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use diesel::Connection;
use diesel::connection::{InstrumentationEvent, get_default_instrumentation};
use diesel::result::{DatabaseErrorKind, Error};
use rand::Rng;

use super::{DbConnection, Tx};

/// How many times a transaction PostgreSQL aborted is run again before its error is reported.
pub(super) const MAX_RETRIES: u32 = 3;

/// Why PostgreSQL aborted a transaction that may simply run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Abort {
    /// SQLSTATE 40P01: the transaction was one of several waiting for each other's locks.
    Deadlock,
    /// SQLSTATE 40001: the transaction could not be ordered with a concurrent one.
    SerializationFailure,
}

impl Abort {
    /// The abort `error` reports, if it reports one. diesel names 40001 by its kind; a
    /// deadlock comes as an unknown kind and is told by its SQLSTATE.
    pub(super) fn of(error: &Error) -> Option<Abort> {
        let Error::DatabaseError(kind, information) = error else {
            return None;
        };
        if *kind == DatabaseErrorKind::SerializationFailure {
            return Some(Abort::SerializationFailure);
        }
        (information.sqlstate() == Some(diesel::pg::sql_state::T_R_DEADLOCK_DETECTED))
            .then_some(Abort::Deadlock)
    }

    fn as_str(self) -> &'static str {
        match self {
            Abort::Deadlock => "deadlock",
            Abort::SerializationFailure => "serialization failure",
        }
    }
}

/// Runs `work` in a transaction on a PostgreSQL connection; while PostgreSQL aborts it as a
/// deadlock or a serialization failure, up to [`MAX_RETRIES`] more times from the start.
pub(super) fn transaction<T, E>(
    conn: &mut DbConnection,
    mut work: impl FnMut(&mut Tx<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<Error>,
{
    let attempt = || {
        let abort = Arc::new(OnceLock::new());
        let noted = Arc::clone(&abort);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } = event
                && let Some(cause) = Abort::of(error)
            {
                let _ = noted.set(cause);
            }
        });
        let result = conn.transaction(|conn| {
            let mut tx = Tx::holding_events(conn);
            let done = work(&mut tx)?;
            tx.append_held_events()?;
            Ok(done)
        });
        // What a connection has when it opens (nothing, unless a default was set).
        conn.set_instrumentation(get_default_instrumentation());
        (result, abort.get().copied())
    };
    run_while_aborted(attempt, |retry| std::thread::sleep(pause(retry)))
}

/// Calls `attempt` until it succeeds, fails for another reason than an [`Abort`], or has
/// been called again [`MAX_RETRIES`] times; calls `wait` with the retry's number (from 1)
/// before each new attempt. Answers the last attempt's result.
fn run_while_aborted<T, E>(
    mut attempt: impl FnMut() -> (Result<T, E>, Option<Abort>),
    mut wait: impl FnMut(u32),
) -> Result<T, E> {
    let mut retries = 0;
    loop {
        let (result, abort) = attempt();
        let Some(abort) = abort.filter(|_| result.is_err()) else {
            return result;
        };
        if retries == MAX_RETRIES {
            tracing::warn!(
                cause = abort.as_str(),
                retries,
                "PostgreSQL aborted a write transaction again; giving up"
            );
            return result;
        }
        retries += 1;
        tracing::warn!(
            cause = abort.as_str(),
            retry = retries,
            "PostgreSQL aborted a write transaction; running it again"
        );
        wait(retries);
    }
}

/// The pause before retry `retry` (from 1): a random time up to 10 ms, doubled on each retry,
/// so that the transactions which collided do not start again together.
fn pause(retry: u32) -> Duration {
    let ceiling = 10_u64 << retry.saturating_sub(1).min(4);
    Duration::from_millis(rand::thread_rng().gen_range(1..=ceiling))
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicU32, Ordering};

    use diesel::RunQueryDsl;
    use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error};

    use super::*;
    use crate::store::{Backend, Store, StoreError};

    /// A database error carrying a SQLSTATE, as PostgreSQL's do.
    struct Coded(&'static str);

    impl DatabaseErrorInformation for Coded {
        fn message(&self) -> &str {
            "coded"
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
        fn sqlstate(&self) -> Option<diesel::result::SqlState> {
            self.0.parse().ok()
        }
    }

    fn database_error(kind: DatabaseErrorKind, code: &'static str) -> Error {
        Error::DatabaseError(kind, Box::new(Coded(code)))
    }

    /// Runs `run_while_aborted` over scripted attempts; answers its result, how many
    /// attempts it made and the retry numbers it waited before.
    fn scripted(
        outcomes: &[(Result<u32, &'static str>, Option<Abort>)],
    ) -> (Result<u32, &'static str>, usize, Vec<u32>) {
        let mut made = 0;
        let mut waited = Vec::new();
        let result = run_while_aborted(
            || {
                let outcome = outcomes[made.min(outcomes.len() - 1)];
                made += 1;
                outcome
            },
            |retry| waited.push(retry),
        );
        (result, made, waited)
    }

    #[test]
    fn deadlocks_and_serialization_failures_are_told_by_their_code() {
        use DatabaseErrorKind::{SerializationFailure, UniqueViolation, Unknown};
        let cases = [
            (
                database_error(SerializationFailure, "40001"),
                Some(Abort::SerializationFailure),
            ),
            (database_error(Unknown, "40P01"), Some(Abort::Deadlock)),
            (database_error(Unknown, "40000"), None),
            (database_error(Unknown, "55P03"), None),
            (database_error(UniqueViolation, "23505"), None),
            (Error::NotFound, None),
        ];
        for (error, expected) in cases {
            assert_eq!(Abort::of(&error), expected, "{error:?}");
        }
    }

    #[test]
    fn a_transaction_aborted_once_runs_again_and_answers_the_next_outcome() {
        let aborted = (Err("aborted"), Some(Abort::SerializationFailure));
        let (result, made, waited) = scripted(&[aborted, (Ok(7), None)]);
        assert_eq!(result, Ok(7));
        assert_eq!(made, 2);
        assert_eq!(waited, [1]);
    }

    #[test]
    fn a_transaction_aborted_every_time_gives_up_after_three_retries() {
        let (result, made, waited) = scripted(&[(Err("deadlock"), Some(Abort::Deadlock))]);
        assert_eq!(result, Err("deadlock"));
        assert_eq!(made, 1 + MAX_RETRIES as usize);
        assert_eq!(waited, [1, 2, 3]);
    }

    #[test]
    fn other_failures_and_successes_run_once() {
        for outcome in [
            (Err("refused"), None),
            (Ok(1), None),
            (Ok(2), Some(Abort::Deadlock)),
        ] {
            let (result, made, waited) = scripted(&[outcome]);
            assert_eq!(result, outcome.0);
            assert_eq!((made, waited.len()), (1, 0), "{outcome:?}");
        }
    }

    #[test]
    fn pauses_stay_short() {
        for retry in 1..=MAX_RETRIES {
            let ceiling = Duration::from_millis(10 << (retry - 1));
            for _ in 0..50 {
                let pause = pause(retry);
                assert!(
                    pause > Duration::ZERO && pause <= ceiling,
                    "{retry}: {pause:?}"
                );
            }
        }
    }

    /// A store on PostgreSQL (`PROVISIOND_TEST_POSTGRES_URL`); `None` on SQLite, where a
    /// write transaction is never aborted this way.
    fn postgres_store(tag: &str) -> Option<(crate::testing::TempDir, Store)> {
        let (dir, store) = crate::store::tests::fresh_store(tag);
        (store.backend() == Backend::Postgres).then_some((dir, store))
    }

    /// Fails the statement the way PostgreSQL fails it with this condition.
    fn raise(tx: &mut Tx<'_>, condition: &str) -> Result<(), StoreError> {
        diesel::sql_query(format!(
            "DO $$ BEGIN RAISE EXCEPTION 'raised by a test' USING ERRCODE = '{condition}'; \
             END $$"
        ))
        .execute(tx.conn)?;
        Ok(())
    }

    #[test]
    fn a_write_failing_with_a_serialization_failure_runs_again_from_the_start() {
        let Some((_dir, store)) = postgres_store("retry-serialization") else {
            return;
        };
        let user = crate::testing::new_user("scim", None, "kim@acme.example");
        let mut attempts = 0;
        let written = store.write(|tx| {
            attempts += 1;
            let inserted = tx.insert_user(&user)?;
            if attempts == 1 {
                raise(tx, "serialization_failure")?;
            }
            Ok::<_, StoreError>(inserted.id)
        });
        assert_eq!(written.unwrap(), user.id);
        assert_eq!(attempts, 2);
        let found = store.read(|tx| tx.user_by_email("acme", "kim@acme.example"));
        assert_eq!(found.unwrap().map(|u| u.id), Some(user.id));
    }

    #[test]
    fn a_write_deadlocked_every_time_reports_the_deadlock_after_three_retries() {
        let Some((_dir, store)) = postgres_store("retry-deadlock") else {
            return;
        };
        let mut attempts = 0;
        let failed = store.write(|tx| {
            attempts += 1;
            raise(tx, "deadlock_detected")
        });
        assert_eq!(attempts, 1 + MAX_RETRIES);
        let abort = match &failed {
            Err(StoreError::Query(error)) => Abort::of(error),
            _ => None,
        };
        assert_eq!(abort, Some(Abort::Deadlock), "{failed:?}");

        // Any other failure is reported at once.
        let mut attempts = 0;
        let failed = store.write(|tx| {
            attempts += 1;
            raise(tx, "lock_not_available")
        });
        assert!(failed.is_err());
        assert_eq!(attempts, 1);
    }

    /// Two writes locking two users in opposite orders, each holding its first lock when it
    /// asks for the second: PostgreSQL aborts one as a deadlock, which then runs again and
    /// succeeds once the other has committed.
    #[test]
    fn of_two_deadlocked_writes_the_aborted_one_runs_again_and_both_succeed() {
        let Some((_dir, store)) = postgres_store("retry-real-deadlock") else {
            return;
        };
        let users = ["a@acme.example", "b@acme.example"]
            .map(|email| crate::testing::new_user("scim", None, email));
        for user in &users {
            store.write(|tx| tx.insert_user(user)).unwrap();
        }
        let both_hold_one = Barrier::new(2);
        let attempts = AtomicU32::new(0);

        std::thread::scope(|threads| {
            let writes = [(0, 1), (1, 0)].map(|(first, second)| {
                let (store, users, both_hold_one, attempts) =
                    (&store, &users, &both_hold_one, &attempts);
                threads.spawn(move || {
                    let mut own_attempts = 0;
                    store.write(|tx| {
                        own_attempts += 1;
                        attempts.fetch_add(1, Ordering::SeqCst);
                        tx.lock_user(&users[first].id)?;
                        if own_attempts == 1 {
                            both_hold_one.wait();
                        }
                        tx.lock_user(&users[second].id)
                    })
                })
            });
            for write in writes {
                let outcome = write.join().unwrap();
                assert!(outcome.is_ok(), "{outcome:?}");
            }
        });
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            3,
            "one of the two ran twice"
        );
    }
}
