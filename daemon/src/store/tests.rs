use chrono::{NaiveDateTime, Utc};

use super::*;
use crate::config::{DatabaseConfig, DatabaseUrl};

pub(crate) fn memory_store() -> Store {
    Store::open(&DatabaseConfig {
        url: DatabaseUrl::Sqlite(":memory:".into()),
        max_connections: 1,
    })
    .unwrap()
}

/// A store of its own: a SQLite file, or a PostgreSQL database when
/// `PROVISIOND_TEST_POSTGRES_URL` is set. The folder holds the file while the test runs.
pub(crate) fn fresh_store(tag: &str) -> (crate::testing::TempDir, Store) {
    let dir = crate::testing::TempDir::new(tag);
    let url = crate::testing::fresh_database_url(&dir.0);
    let url = match url.strip_prefix("sqlite://") {
        Some(path) => DatabaseUrl::Sqlite(path.into()),
        None => DatabaseUrl::Postgres(crate::config::Secret::new(url)),
    };
    let store = Store::open(&DatabaseConfig {
        url,
        max_connections: 2,
    })
    .unwrap();
    (dir, store)
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn new_user(email: &str, external_id: &str) -> NewUser {
    NewUser {
        given_name: Some("A".into()),
        ..crate::testing::new_user("saml", Some(external_id), email)
    }
}

#[test]
fn migrations_apply_once() {
    let store = memory_store();
    assert!(store.is_migrated().unwrap());
    assert_eq!(store.migrate().unwrap(), 0);
}

#[test]
fn users_are_found_by_external_id_and_case_insensitive_email() {
    let store = memory_store();
    let user = store
        .write(|tx| tx.insert_user(&new_user("Alice@Acme.example", "oid-1")))
        .unwrap();
    let by_email = store
        .read(|tx| tx.user_by_email("acme", "alice@ACME.example"))
        .unwrap();
    assert_eq!(by_email.as_ref().map(|u| &u.id), Some(&user.id));
    let by_id = store
        .read(|tx| tx.user_by_external_id("acme", "oid-1"))
        .unwrap();
    assert_eq!(by_id.map(|u| u.id), Some(user.id.clone()));
    assert!(
        store
            .read(|tx| tx.user_by_external_id("other", "oid-1"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn updates_bump_the_version_only_when_something_changes() {
    let store = memory_store();
    let user = store
        .write(|tx| tx.insert_user(&new_user("a@acme.example", "oid-1")))
        .unwrap();
    let same = UserChanges {
        given_name: Some("A".into()),
        ..Default::default()
    };
    let unchanged = store
        .write(|tx| tx.update_user(&user, &same, now()))
        .unwrap();
    assert_eq!(unchanged.version, 1);
    let rename = UserChanges {
        given_name: Some("B".into()),
        ..Default::default()
    };
    let renamed = store
        .write(|tx| tx.update_user(&user, &rename, now()))
        .unwrap();
    assert_eq!(
        (renamed.version, renamed.given_name.as_deref()),
        (2, Some("B"))
    );
}

#[test]
fn a_failed_transaction_leaves_nothing_behind() {
    let store = memory_store();
    let result: Result<(), StoreError> = store.write(|tx| {
        tx.insert_user(&new_user("a@acme.example", "oid-1"))?;
        Err(StoreError::Cancelled)
    });
    assert!(result.is_err());
    assert!(store.read(|tx| tx.users(None)).unwrap().is_empty());
}

#[test]
fn a_request_is_answered_once_and_forgotten_after_it_expires() {
    let store = memory_store();
    let until = now() + chrono::Duration::minutes(15);
    let answer = |id: &'static str| {
        store
            .write(|tx| tx.answer_request("acme", id, until))
            .unwrap()
    };
    assert!(answer("_r1"));
    assert!(!answer("_r1"), "a second answer to one request");
    assert!(answer("_r2"));
    let purge = |at| store.write(|tx| tx.purge_expired_saml_state(at)).unwrap();
    assert_eq!(purge(until - chrono::Duration::seconds(1)), 0);
    assert_eq!(purge(until), 2);
}

#[test]
fn an_assertion_id_is_accepted_once() {
    let store = memory_store();
    let until = now() + chrono::Duration::minutes(5);
    assert!(
        store
            .write(|tx| tx.remember_assertion("acme", "_a1", until))
            .unwrap()
    );
    assert!(
        !store
            .write(|tx| tx.remember_assertion("acme", "_a1", until))
            .unwrap()
    );
    assert!(
        store
            .write(|tx| tx.remember_assertion("beta", "_a1", until))
            .unwrap()
    );
    assert_eq!(
        store
            .write(|tx| tx.purge_expired_saml_state(until))
            .unwrap(),
        2
    );
}

#[test]
fn sessions_of_deactivated_users_do_not_authenticate() {
    let store = memory_store();
    let user = store
        .write(|tx| tx.insert_user(&new_user("a@acme.example", "oid-1")))
        .unwrap();
    let t = now();
    store
        .write(|tx| tx.create_session("h1", &user.id, "acme", t, t + chrono::Duration::hours(1)))
        .unwrap();
    assert!(store.read(|tx| tx.session_user("h1", t)).unwrap().is_some());
    assert!(
        store
            .read(|tx| tx.session_user("h1", t + chrono::Duration::hours(2)))
            .unwrap()
            .is_none()
    );
    let off = UserChanges {
        active: Some(false),
        ..Default::default()
    };
    store.write(|tx| tx.update_user(&user, &off, t)).unwrap();
    assert!(store.read(|tx| tx.session_user("h1", t)).unwrap().is_none());
}

/// A deactivation ends the account's sessions, whichever path made it (a sync run, an update):
/// reactivating the account later must not bring an old cookie back to life.
#[test]
fn sessions_end_at_deactivation_and_stay_ended_after_reactivation() {
    let store = memory_store();
    let t = now();
    let hour = chrono::Duration::hours(1);
    let user = store
        .write(|tx| tx.insert_user(&new_user("a@acme.example", "oid-1")))
        .unwrap();
    let ids = [user.id.clone()];
    let signed_in = |hash: &str| store.read(|tx| tx.session_user(hash, t)).unwrap().is_some();

    // Sync: set_users_active.
    store
        .write(|tx| tx.create_session("sync", &user.id, "acme", t, t + hour))
        .unwrap();
    store
        .write(|tx| tx.set_users_active(&ids, false, t))
        .unwrap();
    store
        .write(|tx| tx.set_users_active(&ids, true, t))
        .unwrap();
    assert!(!signed_in("sync"), "a sync deactivation left a session");

    // An update that deactivates.
    store
        .write(|tx| tx.create_session("update", &user.id, "acme", t, t + hour))
        .unwrap();
    let current = store.read(|tx| tx.user(&user.id)).unwrap().unwrap();
    let active = |on: bool| UserChanges {
        active: Some(on),
        ..Default::default()
    };
    let off = store
        .write(|tx| tx.update_user(&current, &active(false), t))
        .unwrap();
    store
        .write(|tx| tx.update_user(&off, &active(true), t))
        .unwrap();
    assert!(!signed_in("update"), "a deactivating update left a session");

    // Changes that leave the account active keep its sessions.
    store
        .write(|tx| tx.create_session("kept", &user.id, "acme", t, t + hour))
        .unwrap();
    store
        .write(|tx| tx.set_users_active(&ids, true, t))
        .unwrap();
    assert!(signed_in("kept"));
}

#[test]
fn a_bad_postgres_url_reports_the_cause_without_the_password() {
    let url = "postgres://app:topsecret@127.0.0.1:1/provisiond";
    let err = Store::open(&DatabaseConfig {
        url: DatabaseUrl::Postgres(crate::config::Secret::new(url)),
        max_connections: 1,
    })
    .err()
    .unwrap()
    .to_string();
    assert!(!err.contains("topsecret"), "{err}");
    assert!(err.contains("127.0.0.1"), "{err}");
}

#[test]
fn group_membership_is_idempotent_and_deleting_a_group_keeps_its_users() {
    let store = memory_store();
    let user = store
        .write(|tx| tx.insert_user(&new_user("a@acme.example", "oid-1")))
        .unwrap();
    let group = crate::testing::new_group("g1", "gid-1", "Engineering");
    store.write(|tx| tx.insert_group(&group)).unwrap();
    assert!(store.write(|tx| tx.add_member("g1", &user.id)).unwrap());
    assert!(!store.write(|tx| tx.add_member("g1", &user.id)).unwrap());
    assert_eq!(
        store.read(|tx| tx.memberships("acme")).unwrap(),
        vec![("g1".into(), user.id.clone())]
    );
    store.write(|tx| tx.delete_group("g1", now())).unwrap();
    assert!(store.read(|tx| tx.groups("acme")).unwrap().is_empty());
    assert!(store.read(|tx| tx.memberships("acme")).unwrap().is_empty());
    assert!(store.read(|tx| tx.user(&user.id)).unwrap().is_some());
    let deleted = store.read(|tx| tx.group("g1")).unwrap().unwrap();
    assert!(deleted.deleted_at.is_some());
    let back = store
        .write(|tx| tx.update_group(&deleted, "Engineering", None, now()))
        .unwrap();
    assert!(back.deleted_at.is_none());
}

#[test]
fn a_lease_has_one_holder_until_it_expires_or_is_released() {
    let store = memory_store();
    let t = now();
    let later = t + chrono::Duration::seconds(30);
    assert!(
        store
            .write(|tx| tx.acquire_lease("sync:acme", "a", t, later))
            .unwrap()
    );
    assert!(
        !store
            .write(|tx| tx.acquire_lease("sync:acme", "b", t, later))
            .unwrap()
    );
    assert!(
        store
            .write(|tx| tx.acquire_lease("sync:acme", "a", t, later))
            .unwrap(),
        "renewal"
    );
    // A crashed holder stops renewing: after expiry another replica takes over.
    let expired = later + chrono::Duration::seconds(1);
    let until = expired + chrono::Duration::seconds(30);
    assert!(
        store
            .write(|tx| tx.acquire_lease("sync:acme", "b", expired, until))
            .unwrap()
    );
    assert!(
        !store
            .write(|tx| tx.acquire_lease("sync:acme", "a", expired, until))
            .unwrap()
    );
    assert_eq!(store.write(|tx| tx.release_leases_of("b")).unwrap(), 1);
    assert!(
        store
            .write(|tx| tx.acquire_lease("sync:acme", "a", expired, until))
            .unwrap()
    );
}

#[test]
fn changes_write_their_events_in_the_same_transaction() {
    let store = memory_store();
    let failed: Result<(), StoreError> = store.write(|tx| {
        tx.insert_user(&new_user("a@acme.example", "oid-1"))?;
        Err(StoreError::Cancelled)
    });
    assert!(failed.is_err());
    assert!(
        store.read(|tx| tx.events_after(0, 10)).unwrap().is_empty(),
        "rolled back too"
    );

    let user = store
        .write(|tx| tx.insert_user(&new_user("a@acme.example", "oid-1")))
        .unwrap();
    let off = UserChanges {
        active: Some(false),
        ..Default::default()
    };
    let user = store
        .write(|tx| tx.update_user(&user, &off, now()))
        .unwrap();
    let on = UserChanges {
        active: Some(true),
        ..Default::default()
    };
    store.write(|tx| tx.update_user(&user, &on, now())).unwrap();
    let kinds: Vec<String> = store
        .read(|tx| tx.events_after(0, 10))
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["user.created", "user.deactivated", "user.reactivated"]
    );
}

#[test]
fn sqlite_connections_keep_their_query_plans_across_bindings() {
    let store = memory_store();
    let mut conn = store.connection().unwrap();
    let DbConnection::Sqlite(sqlite) = &mut *conn else {
        panic!("the memory store is SQLite");
    };
    let mut enabled: std::ffi::c_int = -1;
    // SAFETY: the live handle diesel owns; -1 only reads the setting into `enabled`.
    let rc = unsafe {
        sqlite.with_raw_connection(|db| {
            libsqlite3_sys::sqlite3_db_config(
                db.cast::<libsqlite3_sys::sqlite3>(),
                libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                -1 as std::ffi::c_int,
                &mut enabled as *mut std::ffi::c_int,
            )
        })
    };
    assert_eq!(rc, libsqlite3_sys::SQLITE_OK);
    assert_eq!(
        enabled, 1,
        "a statement re-prepared on every rebind defeats the cache"
    );
}

#[test]
fn a_subject_is_recorded_for_each_user_with_its_first_and_latest_sighting() {
    use super::schema::identities;
    use diesel::prelude::*;

    let store = memory_store();
    let (first, second) = store
        .write(|tx| {
            let first = tx.insert_user(&new_user("a@acme.example", "oid-1"))?;
            let second = tx.insert_user(&new_user("b@acme.example", "oid-2"))?;
            Ok::<_, StoreError>((first, second))
        })
        .unwrap();
    let times: Vec<NaiveDateTime> = (0..3)
        .map(|minutes| now() + chrono::Duration::minutes(minutes))
        .collect();
    for (user, at) in [(&first, times[0]), (&first, times[1]), (&second, times[2])] {
        store
            .write(|tx| tx.link_identity("acme", "https://idp", "a@acme.example", &user.id, at))
            .unwrap();
    }
    let mut rows: Vec<(String, NaiveDateTime, NaiveDateTime)> = store
        .read(|tx| {
            identities::table
                .select((
                    identities::user_id,
                    identities::first_seen_at,
                    identities::last_seen_at,
                ))
                .load(tx.conn)
                .map_err(StoreError::from)
        })
        .unwrap();
    rows.sort_by_key(|row| row.1);
    assert_eq!(
        rows,
        vec![
            (first.id, times[0], times[1]),
            (second.id, times[2], times[2])
        ]
    );
}

/// The migrations since the leaner login tables revert on a store with logins in it (on
/// PostgreSQL when `PROVISIOND_TEST_POSTGRES_URL` is set), the login tables one keeping one
/// identity per subject also when two users had it last seen at the same instant, and apply
/// again.
#[test]
fn the_newest_migrations_revert_and_apply_again_with_logins_stored() {
    use super::schema::identities;
    use diesel::prelude::*;

    let (_dir, store) = fresh_store("revert");
    let at = super::models::stored_precision(now());
    store
        .write(|tx| {
            for (email, oid) in [("a@acme.example", "oid-1"), ("b@acme.example", "oid-2")] {
                let user = tx.insert_user(&new_user(email, oid))?;
                tx.link_identity("acme", "https://idp", "subject", &user.id, at)?;
                tx.create_session(&format!("hash-{oid}"), &user.id, "acme", at, at)?;
            }
            tx.remember_assertion("acme", "assertion-1", at)?;
            tx.answer_request("acme", "_request-1", at)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();

    let mut conn = store.connection().unwrap();
    let reverted =
        super::connection::revert_through(&mut conn, "2026-12-05-000001_leaner_login_tables")
            .unwrap();
    let kept: i64 = identities::table.count().get_result(&mut *conn).unwrap();
    assert_eq!(kept, 1, "one identity per subject after the revert");
    drop(conn);

    assert_eq!(store.migrate().unwrap(), reverted);
    let kept: Vec<String> = store
        .read(|tx| {
            identities::table
                .select(identities::user_id)
                .load(tx.conn)
                .map_err(StoreError::from)
        })
        .unwrap();
    assert_eq!(kept.len(), 1);
    for oid in ["oid-1", "oid-2"] {
        let hash = format!("hash-{oid}");
        let earlier = at - chrono::Duration::seconds(1);
        assert!(
            store
                .read(|tx| tx.session_user(&hash, earlier))
                .unwrap()
                .is_some()
        );
    }
    assert!(
        !store
            .write(|tx| tx.remember_assertion("acme", "assertion-1", at))
            .unwrap()
    );
}

#[test]
fn email_keys_are_unique_per_connection_except_the_empty_one() {
    let store = memory_store();
    let mut without = [new_user("", "oid-1"), new_user("", "oid-2")];
    for user in &mut without {
        user.email_key = String::new();
    }
    for user in &without {
        store.write(|tx| tx.insert_user(user)).unwrap();
    }
    store
        .write(|tx| tx.insert_user(&new_user("a@acme.example", "oid-3")))
        .unwrap();
    let again = store.write(|tx| tx.insert_user(&new_user("A@acme.example", "oid-4")));
    assert!(again.is_err(), "a second account took an address");
    let elsewhere = NewUser {
        connection: "other".into(),
        ..new_user("a@acme.example", "oid-5")
    };
    store.write(|tx| tx.insert_user(&elsewhere)).unwrap();
}

/// The lookups a login and a SCIM request make use an index, not a scan of the users.
#[test]
fn user_lookups_use_indexes() {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    let store = memory_store();
    for condition in [
        // Two bound values each, as the store's queries have them (a partial index must
        // serve `= ?`).
        "connection = ? AND email_key = ?",
        "connection = ? AND external_id = ?",
        "connection = ? AND scim_user_name_key = ?",
        "connection = ? AND scim_external_id = ?",
        "connection = ? AND lower(user_name) = ? AND scim_user_name_key IS NULL",
        "connection = ? AND scim_work_email_key = ?",
    ] {
        let plan: Vec<Step> = store
            .read(|tx| {
                diesel::sql_query(format!(
                    "EXPLAIN QUERY PLAN SELECT id FROM users WHERE {condition}"
                ))
                .bind::<Text, _>("acme")
                .bind::<Text, _>("a")
                .load(tx.conn)
                .map_err(StoreError::from)
            })
            .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|step| step.detail).collect();
        assert!(
            plan.iter().all(|step| step.contains("USING INDEX")),
            "{condition}: {plan:?}"
        );
    }
}

/// A run's message may quote an adapter's error, NUL and all: both backends keep the run.
#[test]
fn a_sync_run_message_with_a_nul_is_stored_on_every_backend() {
    let (_dir, store) = fresh_store("nul-message");
    let at = super::models::stored_precision(now());
    let run = SyncRunRow {
        id: new_id(),
        connection: "acme".into(),
        trigger: "cli".into(),
        mode: "full".into(),
        status: "running".into(),
        started_at: at,
        finished_at: None,
        counts: "{}".into(),
        message: Some("starting\0".into()),
    };
    store
        .write(|tx| {
            tx.insert_sync_run(&run)?;
            tx.finish_sync_run(
                &run.id,
                "full",
                "failed",
                "{}",
                Some("adapter said \0x"),
                at,
            )
        })
        .unwrap();
    let stored = store.read(|tx| tx.sync_runs(Some("acme"), 5)).unwrap();
    assert_eq!(stored[0].message.as_deref(), Some("adapter said \u{fffd}x"));
    assert_eq!(stored[0].status, "failed");
}

/// A sync adding members some of which a SCIM write added since the plan was made (or which
/// the plan names twice): only the memberships it adds are answered and told as events.
#[test]
fn adding_members_already_there_answers_and_tells_only_the_new_ones() {
    let (_dir, store) = fresh_store("add-members-present");
    let users = ["a@acme.example", "b@acme.example"].map(|email| {
        store
            .write(|tx| tx.insert_user(&new_user(email, email)))
            .unwrap()
    });
    let group = crate::testing::new_group("g1", "gid-1", "Engineering");
    store.write(|tx| tx.insert_group(&group)).unwrap();
    assert!(store.write(|tx| tx.add_member("g1", &users[0].id)).unwrap());

    let pairs = [&users[0], &users[1], &users[1]].map(|user| ("g1".to_owned(), user.id.clone()));
    let added = store
        .write_known_references(|tx| tx.add_members("acme", &pairs, now()))
        .unwrap();
    assert_eq!(added, [("g1".to_owned(), users[1].id.clone())]);

    let events = store.read(|tx| tx.events_after(0, 100)).unwrap();
    let added_events: Vec<&str> = events
        .iter()
        .filter(|event| event.kind == "member.added")
        .map(|event| event.subject_id.as_str())
        .collect();
    assert_eq!(added_events, [users[0].id.as_str(), users[1].id.as_str()]);
}

/// Runs `first` in a PostgreSQL write on another thread, which signals once `first` is done
/// and then stays open until `release` is sent.
fn held_write<'scope>(
    threads: &'scope std::thread::Scope<'scope, '_>,
    store: &'scope Store,
    first: impl Fn(&mut Tx<'_>) -> Result<(), StoreError> + Send + 'scope,
) -> (
    std::sync::mpsc::Receiver<()>,
    std::sync::mpsc::Sender<()>,
    std::thread::ScopedJoinHandle<'scope, ()>,
) {
    let (done, first_done) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let handle = threads.spawn(move || {
        store
            .write(|tx| {
                first(tx)?;
                let _ = done.send(());
                let _ = released.recv();
                Ok::<_, StoreError>(())
            })
            .unwrap();
    });
    (first_done, release, handle)
}

/// Of two PostgreSQL writes, the one that recorded its event first commits last; a reader
/// reads between the two commits and moves its cursor past what it saw. The event of the
/// write committing last must still come after that cursor: its id was drawn when it was
/// recorded, before the other's, and the reader never saw it.
#[test]
fn an_event_committed_after_a_later_one_was_read_is_not_skipped() {
    let (_dir, store) = fresh_store("event-commit-order");
    if store.backend() != Backend::Postgres {
        return;
    }
    let cursor = std::thread::scope(|threads| {
        let (first_done, release, first) = held_write(threads, &store, |tx| {
            tx.insert_user(&new_user("first@acme.example", "oid-first"))?;
            Ok(())
        });
        first_done.recv().unwrap();
        store
            .write(|tx| tx.insert_user(&new_user("second@acme.example", "oid-second")))
            .unwrap();
        let seen = store.read(|tx| tx.events_after(0, 10)).unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        release.send(()).unwrap();
        first.join().unwrap();
        seen[0].id
    });

    let later = store.read(|tx| tx.events_after(cursor, 10)).unwrap();
    let emails: Vec<String> = later
        .iter()
        .map(|event| serde_json::from_str::<serde_json::Value>(&event.data).unwrap())
        .map(|data| data["email"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(emails, ["first@acme.example"]);
}

/// A reader on PostgreSQL meeting events appended but not yet committed waits for their
/// write: reading past it would skip them (their ids are smaller than a later commit's).
#[test]
fn a_reader_waits_for_events_appended_but_not_committed() {
    let (_dir, store) = fresh_store("event-reader-waits");
    if store.backend() != Backend::Postgres {
        return;
    }
    std::thread::scope(|threads| {
        let (first_done, release, first) = held_write(threads, &store, |tx| {
            tx.insert_user(&new_user("first@acme.example", "oid-first"))?;
            Ok(tx.append_held_events()?)
        });
        first_done.recv().unwrap();
        store
            .write(|tx| tx.insert_user(&new_user("second@acme.example", "oid-second")))
            .unwrap();

        let (read, answered) = std::sync::mpsc::channel();
        let store = &store;
        threads.spawn(move || {
            let _ = read.send(store.read(|tx| tx.events_after(0, 10)).unwrap());
        });
        let early = answered.recv_timeout(std::time::Duration::from_millis(500));
        assert!(early.is_err(), "the reader did not wait: {early:?}");
        release.send(()).unwrap();
        first.join().unwrap();
        let seen = answered.recv().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
    });
}
