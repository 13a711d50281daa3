//! What SCIM writes may put on an account: no cleartext password in any form, no email
//! the connection's sign-in would refuse, and PATCH bodies that repeat the resource's own
//! `id` (as Entra's no-path replace does) for users and groups alike.

use provisiond::store::{ScimUserColumns, Visibility};
use serde_json::{Value, json};
use warp::http::StatusCode;

use super::{GROUP, PATCH, Scim, entra_user, urlencode};
use crate::support::{fixed_now, while_a_write_is_open};

impl Scim {
    /// Renames a user with a PATCH, which must succeed.
    async fn rename_user(&self, id: &str, user_name: &str) {
        let ops = json!([{ "op": "replace", "path": "userName", "value": user_name }]);
        let reply = self
            .call("PATCH", &format!("/Users/{id}"), patch(ops))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    /// The kinds of every event recorded so far, oldest first.
    fn event_kinds(&self) -> Vec<String> {
        let rows = self
            .fixture
            .store
            .read(|tx| tx.events_after(0, 1000))
            .unwrap();
        rows.into_iter().map(|event| event.kind).collect()
    }

    /// The resource JSON stored for a user, as text.
    fn stored_resource(&self, id: &str) -> String {
        self.fixture
            .store
            .read(|tx| tx.scim_user("acme", id, Visibility::IncludingDeleted))
            .unwrap()
            .unwrap()
            .resource
            .unwrap_or_default()
    }

    async fn total(&self, endpoint: &str, filter: &str) -> Value {
        let path = format!("/{endpoint}?filter={}", urlencode(filter));
        let reply = self.call("GET", &path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["totalResults"].clone()
    }
}

fn patch(operations: Value) -> Option<Value> {
    Some(json!({ "schemas": [PATCH], "Operations": operations }))
}

#[tokio::test]
async fn a_password_sent_in_a_patch_is_discarded_as_on_create() {
    let scim = Scim::new();
    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let path = format!("/Users/{id}");
    let bodies = [
        json!([{ "op": "replace", "path": "password", "value": "cleartext-one" }]),
        json!([{ "op": "Add", "path": "PASSWORD", "value": "cleartext-two" }]),
        json!([{ "op": "replace", "value": { "password": "cleartext-three" } }]),
        json!([{ "op": "replace", "value": { "displayName": "A", "password": "cleartext-4" } }]),
    ];
    for operations in bodies {
        let reply = scim.call("PATCH", &path, patch(operations.clone())).await;
        assert_eq!(reply.status, StatusCode::OK, "{operations}: {}", reply.body);
        assert!(
            !reply.body.to_string().contains("cleartext"),
            "{operations}"
        );
        assert!(
            !scim.stored_resource(&id).contains("cleartext"),
            "{operations}: the password was stored"
        );
    }
    assert_eq!(scim.total("Users", "password pr").await, 0);
    let reply = scim.call("GET", &path, None).await;
    assert_eq!(
        reply.body["meta"]["version"], "W/\"2\"",
        "only displayName changed"
    );
}

/// An account stored with a password before passwords were discarded everywhere: no filter
/// can probe it, and the next write drops it.
#[tokio::test]
async fn a_password_stored_earlier_is_never_matched_and_the_next_write_drops_it() {
    let scim = Scim::new();
    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let row = scim
        .fixture
        .store
        .read(|tx| tx.scim_user("acme", &id, Visibility::Visible))
        .unwrap()
        .unwrap();
    let mut resource: Value = serde_json::from_str(row.resource.as_deref().unwrap()).unwrap();
    resource["password"] = json!("cleartext-old");
    let columns = ScimUserColumns {
        email: row.user.email.clone(),
        user_name: row.user.user_name.clone(),
        given_name: row.user.given_name.clone(),
        family_name: row.user.family_name.clone(),
        display_name: row.user.display_name.clone(),
        active: true,
        user_name_key: "alice@acme.example".into(),
        work_email_key: Some("alice@acme.example".into()),
        scim_external_id: Some("alice".into()),
        resource: resource.to_string(),
    };
    scim.fixture
        .store
        .write(|tx| tx.update_scim_user("acme", &row.user, &columns, fixed_now().naive_utc()))
        .unwrap();
    assert!(scim.stored_resource(&id).contains("cleartext-old"));

    for filter in [
        "password pr",
        "password sw \"clear\"",
        "password eq \"cleartext-old\"",
    ] {
        assert_eq!(scim.total("Users", filter).await, 0, "{filter}");
    }
    let ops = json!([{ "op": "replace", "path": "displayName", "value": "Alice" }]);
    let reply = scim
        .call("PATCH", &format!("/Users/{id}"), patch(ops))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(!scim.stored_resource(&id).contains("cleartext"));
}

#[tokio::test]
async fn a_no_path_replace_repeating_the_resources_own_id_is_accepted() {
    let scim = Scim::new();
    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let ops = json!([{ "op": "replace", "value": { "id": id, "displayName": "Alice S" } }]);
    let reply = scim
        .call("PATCH", &format!("/Users/{id}"), patch(ops))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["displayName"], "Alice S");
    assert_eq!(reply.body["id"], id.as_str());
    assert!(
        !scim.stored_resource(&id).contains(&id),
        "the id is not stored in the resource"
    );

    let group = json!({ "schemas": [GROUP], "displayName": "Sales", "externalId": "g-1" });
    let created = scim.call("POST", "/Groups", Some(group)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let group_id = created.body["id"].as_str().unwrap().to_string();
    let ops =
        json!([{ "op": "Replace", "value": { "id": group_id, "displayName": "Sales EMEA" } }]);
    let reply = scim
        .call("PATCH", &format!("/Groups/{group_id}"), patch(ops))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let read = scim.call("GET", &format!("/Groups/{group_id}"), None).await;
    assert_eq!(read.body["displayName"], "Sales EMEA");

    // Another id is still a change to a read-only attribute.
    for path in [format!("/Users/{id}"), format!("/Groups/{group_id}")] {
        let ops = json!([{ "op": "replace", "value": { "id": "someone-else" } }]);
        let reply = scim.call("PATCH", &path, patch(ops)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.body["scimType"], "mutability");
    }
}

/// Sign-in refuses an address outside the connection's domains, and sync skips a user
/// listed with one; SCIM stores the resource as sent, but the account (what sign-in
/// matches and the host application is told) never takes such an address.
#[tokio::test]
async fn an_email_the_sign_in_would_refuse_never_becomes_the_accounts_email() {
    let scim = Scim::new();
    for (user_name, email) in [
        ("one@acme.example", "ceo@globex.example"),
        ("two@acme.example", "not-an-address"),
        ("three@acme.example", "a@other.example@acme.example"),
    ] {
        let mut body = entra_user(user_name, user_name);
        body["emails"] = json!([{ "type": "work", "primary": true, "value": email }]);
        let reply = scim.call("POST", "/Users", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(
            reply.body["emails"][0]["value"], email,
            "the resource keeps it"
        );
        let id = reply.body["id"].as_str().unwrap();
        assert_eq!(
            scim.user_row(id).email,
            "",
            "{email} became the account's email"
        );
    }

    // An account keeps its address when a write would give it one outside the domains.
    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let path = format!("/Users/{id}");
    let changes = [
        json!([{ "op": "Replace", "path": "emails[type eq \"work\"].value",
                 "value": "alice@globex.example" }]),
        json!([{ "op": "remove", "path": "emails[type eq \"work\"]" },
               { "op": "add", "path": "emails",
                 "value": [{ "type": "home", "value": "alice@home.example" }] }]),
    ];
    for operations in changes {
        let reply = scim.call("PATCH", &path, patch(operations.clone())).await;
        assert_eq!(reply.status, StatusCode::OK, "{operations}: {}", reply.body);
        assert_eq!(
            scim.user_row(&id).email,
            "alice@acme.example",
            "{operations}"
        );
    }
    let mut body = entra_user("alice@acme.example", "alice");
    body["emails"] = json!([{ "type": "work", "value": "alice@globex.example" }]);
    let reply = scim.call("PUT", &path, Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(scim.user_row(&id).email, "alice@acme.example");

    // An address in the domains, in any ASCII case, is taken.
    let ops = json!([{ "op": "replace", "path": "emails[type eq \"work\"].value",
                       "value": "Alice.Smith@ACME.example" }]);
    let reply = scim.call("PATCH", &path, patch(ops)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(scim.user_row(&id).email, "Alice.Smith@ACME.example");
}

/// Okta pushes a user with PUT whenever a profile might have changed: a PUT repeating what
/// is stored changes nothing and tells the host application nothing.
#[tokio::test]
async fn a_put_repeating_the_stored_resource_changes_no_version_and_records_no_event() {
    let scim = Scim::new();
    let body = entra_user("alice@acme.example", "alice");
    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let before = scim.event_kinds();

    let path = format!("/Users/{id}");
    for _ in 0..2 {
        let reply = scim.call("PUT", &path, Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["meta"]["version"], "W/\"1\"");
        assert_eq!(reply.headers["etag"], "W/\"1\"");
    }
    assert_eq!(
        scim.event_kinds(),
        before,
        "no event for a write that changed nothing"
    );

    let mut changed = body.clone();
    changed["displayName"] = json!("Alice S");
    let reply = scim.call("PUT", &path, Some(changed)).await;
    assert_eq!(reply.body["meta"]["version"], "W/\"2\"");
    assert_eq!(scim.event_kinds().len(), before.len() + 1);
}

/// PostgreSQL indexes a row of at most 2704 bytes: a longer userName, externalId, email or
/// group name made every write of it a 500 there. Such values are refused on every backend.
#[tokio::test]
async fn a_key_value_longer_than_the_store_indexes_is_an_invalid_value() {
    let scim = Scim::new();
    let long = "x".repeat(provisiond::store::MAX_KEY_BYTES + 1);
    let long_user_name = format!("{long}@acme.example");
    let mut bodies = Vec::new();
    bodies.push(("userName", entra_user(&long_user_name, "n")));
    bodies.push(("externalId", entra_user("e@acme.example", &long)));
    let mut email = entra_user("m@acme.example", "m");
    email["emails"] = json!([{ "type": "work", "value": long_user_name }]);
    bodies.push(("emails.value", email));
    for (attribute, body) in bodies {
        let reply = scim.call("POST", "/Users", Some(body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{attribute}");
        assert_eq!(reply.body["scimType"], "invalidValue", "{attribute}");
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.contains(attribute), "{detail}");
        assert!(detail.len() < 200, "the value is not echoed: {detail}");
    }
    for group in [
        json!({ "schemas": [GROUP], "displayName": long }),
        json!({ "schemas": [GROUP], "displayName": "Sales", "externalId": long }),
    ] {
        let reply = scim.call("POST", "/Groups", Some(group)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    }

    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let ops = json!([{ "op": "replace", "path": "userName", "value": long_user_name }]);
    let reply = scim
        .call("PATCH", &format!("/Users/{id}"), patch(ops))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let at_most = "x".repeat(provisiond::store::MAX_KEY_BYTES - "@acme.example".len());
    let reply = scim
        .call(
            "POST",
            "/Users",
            Some(entra_user(&format!("{at_most}@acme.example"), "k")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

/// A resource SCIM deleted is gone (RFC 7644 §3.6): its userName is free for another
/// resource to be renamed to, while a live resource's userName is still unique.
#[tokio::test]
async fn a_user_may_be_renamed_to_the_user_name_of_a_deleted_resource() {
    let scim = Scim::new();
    let gone = scim.create_entra_user("kim@acme.example", "kim").await;
    let live = scim.create_entra_user("lee@acme.example", "lee").await;
    let other = scim.create_entra_user("max@acme.example", "max").await;
    scim.delete_user(&gone).await;

    scim.rename_user(&live, "KIM@acme.example").await;
    let found = scim.lookup("userName eq \"kim@acme.example\"").await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], live.as_str());
    assert!(
        !scim.user_row(&gone).active,
        "the deleted account stays deactivated"
    );

    // The name is now taken by a live resource: renaming another to it, or creating a user
    // with it, is a conflict.
    let mut body = entra_user("kim@acme.example", "max");
    let reply = scim
        .call("PUT", &format!("/Users/{other}"), Some(body.clone()))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    body["emails"] = json!([]);
    let reply = scim.call("POST", "/Users", Some(body)).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.body["scimType"], "uniqueness");
}

/// A userName a live resource took from a deleted one, and then lost to deletion too, is
/// held by no live resource: a POST with it takes a deleted account over (201), as any
/// other deleted userName does, rather than answering a 409 naming no resource.
#[tokio::test]
async fn a_user_name_two_deleted_resources_held_may_be_created_again() {
    let scim = Scim::new();
    let gone = scim.create_entra_user("kim@acme.example", "kim").await;
    let renamed = scim.create_entra_user("lee@acme.example", "lee").await;
    scim.delete_user(&gone).await;
    scim.rename_user(&renamed, "kim@acme.example").await;
    scim.delete_user(&renamed).await;

    let mut body = entra_user("Kim@acme.example", "kim-again");
    body["emails"] = json!([]);
    let reply = scim.call("POST", "/Users", Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_string();
    assert!(
        id == gone || id == renamed,
        "a deleted account is taken over"
    );
    let found = scim.lookup("userName eq \"kim@acme.example\"").await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
}

/// Two writes of one user at once (two requests, or two replicas on PostgreSQL): the second
/// waits for the first and then sees its version, so an `If-Match` naming the version both
/// read is refused with 412 instead of being written over the first change.
#[test]
fn a_write_waits_for_a_concurrent_one_and_then_checks_if_match_against_it() {
    use provisiond::scim::projection::Projection;
    use provisiond::scim::service;
    use provisiond::store::UserChanges;

    let scim = Scim::new();
    let runtime = super::current_thread_runtime();
    let id = runtime.block_on(scim.create_entra_user("alice@acme.example", "alice"));

    let second = while_a_write_is_open(
        &scim.fixture.store,
        |tx| {
            let user = tx.user(&id)?.unwrap();
            let rename = UserChanges {
                display_name: Some("First".into()),
                ..UserChanges::default()
            };
            tx.update_user(&user, &rename, fixed_now().naive_utc())?;
            Ok(())
        },
        || {
            let body = json!({ "schemas": [PATCH], "Operations": [
                { "op": "replace", "path": "displayName", "value": "Second" }
            ]});
            service::patch_user(
                &scim.fixture.store,
                scim.service_scope(),
                &id,
                &body,
                Some("W/\"1\""),
                &Projection::default(),
            )
        },
    );
    let refused = matches!(
        second,
        Err(service::ServiceError::Scim(
            provisiond::scim::ScimError::PreconditionFailed { .. }
        ))
    );
    assert!(refused, "{second:?}");
    assert_eq!(scim.user_row(&id).display_name.as_deref(), Some("First"));
}

/// Entra deactivates a user, then deletes it: the host hears of the deactivation once, and
/// the deletion of an account already inactive tells it nothing more.
#[tokio::test]
async fn deleting_a_deactivated_user_records_no_second_event() {
    let scim = Scim::new();
    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let path = format!("/Users/{id}");
    let ops = json!([{ "op": "Replace", "path": "active", "value": "False" }]);
    let reply = scim.call("PATCH", &path, patch(ops)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let before = scim.event_kinds();
    assert_eq!(before.last().map(String::as_str), Some("user.deactivated"));

    let reply = scim.call("DELETE", &path, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(scim.event_kinds(), before);
    assert_eq!(
        scim.call("GET", &path, None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A POST taking over a deleted account while another write of that account is under way (a
/// second POST of it, or a replica restoring it): it waits for that write, then sees the
/// account live again and is told the userName is taken, instead of writing over it.
#[test]
fn a_post_taking_over_a_deleted_account_waits_for_a_concurrent_write_of_it() {
    use provisiond::scim::projection::Projection;
    use provisiond::scim::service;

    let scim = Scim::new();
    let runtime = super::current_thread_runtime();
    let id = runtime.block_on(scim.create_entra_user("kim@acme.example", "kim"));
    runtime.block_on(scim.delete_user(&id));
    let resource = scim.stored_resource(&id);

    let second = while_a_write_is_open(
        &scim.fixture.store,
        |tx| {
            tx.lock_user(&id)?;
            let row = tx
                .scim_user("acme", &id, Visibility::IncludingDeleted)?
                .unwrap();
            let live = ScimUserColumns {
                email: row.user.email.clone(),
                user_name: row.user.user_name.clone(),
                given_name: row.user.given_name.clone(),
                family_name: Some("Restored".into()),
                display_name: row.user.display_name.clone(),
                active: true,
                user_name_key: "kim@acme.example".into(),
                work_email_key: Some("kim@acme.example".into()),
                scim_external_id: Some("kim".into()),
                resource: resource.clone(),
            };
            tx.update_scim_user("acme", &row.user, &live, fixed_now().naive_utc())?;
            Ok(())
        },
        || {
            let body = entra_user("kim@acme.example", "kim");
            service::create_user(
                &scim.fixture.store,
                scim.service_scope(),
                &body,
                &Projection::default(),
            )
        },
    );
    let text = format!("{:?}", second.map(|answer| answer.id));
    assert!(text.contains("Uniqueness"), "{text}");
    assert_eq!(scim.user_row(&id).family_name.as_deref(), Some("Restored"));
}

/// A sync run deactivating a user a SCIM write is deactivating at the same moment (on
/// PostgreSQL, where the two run at once): the sync's update waits for the SCIM write and
/// then finds nothing to change, so the host hears of the deactivation once. The sync read
/// which users to flip before its update, recorded an event for each, and then changed none.
#[test]
fn a_sync_deactivating_a_user_a_scim_write_deactivates_meanwhile_records_one_event() {
    use provisiond::store::UserChanges;

    let scim = Scim::new();
    let runtime = super::current_thread_runtime();
    let id = runtime.block_on(scim.create_entra_user("alice@acme.example", "alice"));
    let store = &scim.fixture.store;
    let now = fixed_now().naive_utc();

    let changed = while_a_write_is_open(
        store,
        |tx| {
            tx.lock_user(&id)?;
            let user = tx.user(&id)?.unwrap();
            let off = UserChanges {
                active: Some(false),
                ..UserChanges::default()
            };
            tx.update_user(&user, &off, now)?;
            Ok(())
        },
        || store.write(|tx| tx.set_users_active(std::slice::from_ref(&id), false, now)),
    );
    assert_eq!(
        changed.unwrap(),
        0,
        "the SCIM write had deactivated the user"
    );
    let kinds = scim.event_kinds();
    let deactivations = kinds.iter().filter(|k| *k == "user.deactivated").count();
    assert_eq!(deactivations, 1, "{kinds:?}");
}
