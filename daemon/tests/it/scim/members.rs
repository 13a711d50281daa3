//! Group members and the users they name: a user SCIM deletes leaves every group (at once, or
//! racing a member add or a change of the group's members), and the groups it leaves show a
//! new version.

use std::sync::mpsc;
use std::time::Duration;

use provisiond::config::DatabaseUrl;
use provisiond::scim::projection::Projection;
use provisiond::scim::service;
use serde_json::json;
use warp::http::StatusCode;

use super::{GROUP, PATCH, Scim};
use crate::support::fixed_now;

impl Scim {
    async fn create_group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<_> = members.iter().map(|id| json!({ "value": id })).collect();
        let body = json!({ "schemas": [GROUP], "displayName": name, "members": members });
        let reply = self.call("POST", "/Groups", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_string()
    }
}

/// A group's members are part of its resource (RFC 7643 §4.2): when deleting a user takes it
/// out of a group, the group's version changes, so an `If-Match` naming the version read
/// before is refused rather than written over members it never saw.
#[tokio::test]
async fn a_group_a_deleted_user_leaves_shows_a_new_version() {
    let scim = Scim::new();
    let alice = scim.create_entra_user("alice@acme.example", "alice").await;
    let bob = scim.create_entra_user("bob@acme.example", "bob").await;
    let group = scim.create_group("Sales", &[&alice, &bob]).await;
    let path = format!("/Groups/{group}");
    let before = scim.call("GET", &path, None).await;
    let etag = before.headers["etag"].to_str().unwrap().to_string();

    scim.delete_user(&alice).await;

    let after = scim.call("GET", &path, None).await;
    assert_eq!(after.body["members"].as_array().unwrap().len(), 1);
    assert_ne!(
        after.body["meta"]["version"],
        before.body["meta"]["version"]
    );
    assert_ne!(after.headers["etag"], before.headers["etag"]);
    let ops = json!({ "schemas": [PATCH], "Operations": [
        { "op": "replace", "path": "displayName", "value": "Sales EU" }
    ]});
    let stale = scim
        .call_with("PATCH", &path, Some(ops), Some(&scim.token), Some(&etag))
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
}

/// A member add racing the deletion of that user (two requests, or two replicas on
/// PostgreSQL): whichever commits second sees the first, so the deleted user never stays a
/// member of the group.
#[test]
fn a_member_add_racing_the_users_deletion_leaves_no_deleted_member() {
    let scim = Scim::new();
    let runtime = super::current_thread_runtime();
    let alice = runtime.block_on(scim.create_entra_user("alice@acme.example", "alice"));
    let group = runtime.block_on(scim.create_group("Sales", &[]));
    let store = scim.fixture.store.clone();
    let scope = scim.service_scope();

    let (deleting, delete_started) = mpsc::channel();
    let (finished, add_finished) = mpsc::channel();
    std::thread::scope(|threads| {
        let (store, alice) = (&store, &alice);
        let first = threads.spawn(move || {
            store
                .write(|tx| -> Result<(), provisiond::store::StoreError> {
                    // What `DELETE /Users/{id}` does, held open while the add starts.
                    tx.lock_user(alice)?;
                    let user = tx.user(alice)?.unwrap();
                    tx.scim_delete_user(&user, fixed_now().naive_utc())?;
                    deleting.send(()).unwrap();
                    let _ = add_finished.recv_timeout(Duration::from_millis(300));
                    Ok(())
                })
                .unwrap();
        });
        delete_started.recv().unwrap();
        let body = json!({ "schemas": [PATCH], "Operations": [
            { "op": "add", "path": "members", "value": [{ "value": alice }] }
        ]});
        let added = service::patch_group(store, scope, &group, &body, None);
        let _ = finished.send(());
        first.join().unwrap();
        let refused = matches!(
            added,
            Err(service::ServiceError::Scim(
                provisiond::scim::ScimError::Bad { .. }
            ))
        );
        assert!(refused, "{added:?}");
    });

    let members = store.read(|tx| tx.group_member_ids(&group)).unwrap();
    assert!(
        members.is_empty(),
        "a deleted user is a member: {members:?}"
    );
    let answer = service::get_group(&store, scope, &group, &Projection::default()).unwrap();
    let shown = answer.body.unwrap()["members"].clone();
    assert!(shown.as_array().is_none_or(Vec::is_empty), "{shown}");
}

/// A member change of a group racing the deletion of one of its members (two requests, or
/// two replicas, on PostgreSQL): the group write locks the group and then drops the member's
/// row. The deletion locked the user, dropped the same row and then bumped the group's version:
/// each waited for the other, PostgreSQL aborted one as a deadlock and its client got a 500.
/// Both must succeed, and the group must end without the deleted user.
///
/// Deterministic: a third transaction holds the user the group write adds, so the group write
/// stops right after locking the group; the deletion is started and runs until it waits for the
/// group; only then is the third transaction let go. SQLite runs one write at a time, so there
/// is no such race there and the test has nothing to do.
#[test]
fn a_member_change_racing_the_deletion_of_a_member_is_not_a_deadlock() {
    let scim = Scim::new();
    let store = scim.fixture.store.clone();
    let DatabaseUrl::Postgres(url) = &scim.fixture.config.database.url else {
        return;
    };
    let runtime = super::current_thread_runtime();
    let alice = runtime.block_on(scim.create_entra_user("alice@acme.example", "alice"));
    let bob = runtime.block_on(scim.create_entra_user("bob@acme.example", "bob"));
    let group = runtime.block_on(scim.create_group("Sales", &[&alice]));
    let scope = scim.service_scope();
    let mut waiters = LockWaiters::new(url.expose());

    let (held, bob_held) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    std::thread::scope(|threads| {
        let (store, alice, bob, group) = (&store, &alice, &bob, &group);
        let holder = threads.spawn(move || {
            store
                .write(|tx| -> Result<(), provisiond::store::StoreError> {
                    tx.lock_user(bob)?;
                    held.send(()).unwrap();
                    let _ = released.recv();
                    Ok(())
                })
                .unwrap();
        });
        bob_held.recv().unwrap();

        // The group write takes Sales and waits for bob.
        let replaced = threads.spawn(move || {
            let body = json!({ "schemas": [PATCH], "Operations": [
                { "op": "replace", "path": "members", "value": [{ "value": bob }] }
            ]});
            service::patch_group(store, scope, group, &body, None)
        });
        waiters.wait_for(1);

        // The deletion takes alice, then waits for Sales.
        let deleted = threads.spawn(move || service::delete_user(store, scope, alice, None));
        waiters.wait_for(2);

        release.send(()).unwrap();
        holder.join().unwrap();
        let replaced = replaced.join().unwrap();
        let deleted = deleted.join().unwrap();
        assert!(replaced.is_ok(), "the group write failed: {replaced:?}");
        assert!(deleted.is_ok(), "the deletion failed: {deleted:?}");
    });

    let members = store.read(|tx| tx.group_member_ids(&group)).unwrap();
    assert_eq!(members, vec![bob.clone()]);
    assert!(!scim.user_row(&alice).active);
}

/// Watches a PostgreSQL database for sessions waiting on a lock.
struct LockWaiters {
    conn: diesel::PgConnection,
}

impl LockWaiters {
    fn new(url: &str) -> Self {
        use diesel::Connection;
        Self {
            conn: diesel::PgConnection::establish(url).unwrap(),
        }
    }

    /// Returns once at least `count` sessions of the database wait for a lock.
    fn wait_for(&mut self, count: i64) {
        use diesel::RunQueryDsl;
        use diesel::sql_types::BigInt;

        #[derive(diesel::QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = BigInt)]
            waiting: i64,
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let found: Waiting = diesel::sql_query(
                "SELECT count(*) AS waiting FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .get_result(&mut self.conn)
            .unwrap();
            if found.waiting >= count {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} of {count} sessions wait for a lock",
                found.waiting
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
