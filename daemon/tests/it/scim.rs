//! The SCIM server through its routes (`warp::test`), with the bodies Microsoft Entra ID's
//! provisioning service sends (with and without the `aadOptscim062020` flag), and the
//! SCIM-then-SAML same-account path; `keys` holds the identity key and NUL character cases.

use std::sync::Arc;

use provisiond::http::{AppState, routes};
use provisiond::scim::tokens;
use serde_json::{Value, json};
use warp::http::StatusCode;

use super::support::{Fixture, fixed_now};

mod filters;
mod keys;
mod members;
mod writes;

/// A runtime for the async helpers of tests that otherwise run on plain threads.
fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BASE: &str = "/scim/v2/acme";

struct Scim {
    fixture: Fixture,
    state: AppState,
    token: String,
}

struct Reply {
    status: StatusCode,
    headers: warp::http::HeaderMap,
    body: Value,
}

impl Scim {
    /// What the routes give the service for the acme connection, for tests that call the
    /// service from threads of their own.
    fn service_scope(&self) -> provisiond::scim::service::Scope<'_> {
        provisiond::scim::service::Scope {
            connection: "acme",
            config: self.fixture.config.connection("acme").unwrap(),
            base_url: "http://sp.test/scim/v2/acme",
            now: fixed_now(),
        }
    }

    fn new() -> Self {
        let fixture = Fixture::new(false);
        let mut state = AppState::new(
            fixture.config.clone(),
            fixture.store.clone(),
            fixture.providers.clone(),
        );
        state.clock = Arc::new(fixed_now);
        let token = tokens::create_token(&fixture.store, "acme", "entra", fixed_now())
            .unwrap()
            .token;
        Self {
            fixture,
            state,
            token,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call_with(method, path, body, Some(&self.token), None)
            .await
    }

    async fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
        if_match: Option<&str>,
    ) -> Reply {
        let mut request = warp::test::request()
            .method(method)
            .path(&format!("{BASE}{path}"))
            .header("content-type", "application/scim+json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(if_match) = if_match {
            request = request.header("if-match", if_match);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.reply(&routes(self.state.clone())).await;
        let body = if response.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(response.body()).unwrap()
        };
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body,
        }
    }

    /// POSTs the user Entra creates by default (no flag) and answers its id.
    async fn create_entra_user(&self, upn: &str, nickname: &str) -> String {
        let reply = self
            .call("POST", "/Users", Some(entra_user(upn, nickname)))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_string()
    }

    /// Deletes a user's resource, which must succeed (204).
    async fn delete_user(&self, id: &str) {
        let reply = self.call("DELETE", &format!("/Users/{id}"), None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }

    async fn lookup(&self, filter: &str) -> Value {
        let path = format!("/Users?filter={}", urlencode(filter));
        let reply = self.call("GET", &path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body
    }

    fn user_row(&self, id: &str) -> provisiond::store::User {
        self.fixture.store.read(|tx| tx.user(id)).unwrap().unwrap()
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).unwrap()[2..].to_string()
}

/// Entra's create-user body with its default attribute mappings.
fn entra_user(upn: &str, nickname: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": nickname,
        "userName": upn,
        "active": true,
        "emails": [{ "primary": true, "type": "work", "value": upn }],
        "meta": { "resourceType": "User" },
        "name": { "formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice" },
        "roles": []
    })
}

fn without_meta(mut resource: Value) -> Value {
    let meta = resource.as_object_mut().unwrap().remove("meta").unwrap();
    assert_eq!(meta["resourceType"], "User");
    assert!(meta["version"].as_str().unwrap().starts_with("W/\""));
    resource
}

#[tokio::test]
async fn requests_without_a_valid_token_of_this_connection_are_401() {
    let scim = Scim::new();
    let other = tokens::create_token(&scim.fixture.store, "other", "", fixed_now())
        .unwrap()
        .token;
    for token in [None, Some("scim_not-a-token"), Some(other.as_str())] {
        let reply = scim.call_with("GET", "/Users", None, token, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
        assert_eq!(reply.headers["content-type"], "application/scim+json");
        assert_eq!(reply.body["status"], "401");
        assert!(!reply.body.to_string().contains("scim_"));
    }
    let revoked_id = scim
        .fixture
        .store
        .read(|tx| tx.scim_tokens(Some("acme")))
        .unwrap()[0]
        .id
        .clone();
    scim.fixture
        .store
        .write(|tx| tx.revoke_scim_token(&revoked_id, fixed_now().naive_utc()))
        .unwrap();
    let reply = scim.call("GET", "/Users", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

/// A request without a valid bearer token is refused before its body is read: a malformed
/// body gets 401, not a parse error.
#[tokio::test]
async fn a_request_without_a_valid_token_is_refused_before_its_body_is_read() {
    let scim = Scim::new();
    for (method, path) in [
        ("POST", "/Users"),
        ("PATCH", "/Groups/x"),
        ("PUT", "/Users/x"),
    ] {
        let unknown = Some("Bearer no-such-token");
        for authorization in [None, Some("Basic abc"), Some("Bearer "), unknown] {
            let mut request = warp::test::request()
                .method(method)
                .path(&format!("{BASE}{path}"))
                .header("content-type", "application/scim+json")
                .body("{not json");
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            let response = request.reply(&routes(scim.state.clone())).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} {authorization:?}"
            );
        }
    }
}

#[tokio::test]
async fn entra_create_stores_the_resource_and_the_columns_saml_matches_on() {
    let scim = Scim::new();
    let reply = scim
        .call(
            "POST",
            "/Users",
            Some(entra_user("alice@acme.example", "alice")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.headers["content-type"], "application/scim+json");
    assert_eq!(reply.headers["etag"], "W/\"1\"");
    let id = reply.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        reply.headers["location"],
        format!("http://sp.test/scim/v2/acme/Users/{id}").as_str()
    );
    assert_eq!(
        without_meta(reply.body),
        json!({
            "schemas": [USER],
            "id": id,
            "externalId": "alice",
            "userName": "alice@acme.example",
            "active": true,
            "emails": [{ "primary": true, "type": "work", "value": "alice@acme.example" }],
            "name": { "formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice" },
        })
    );

    let row = scim.user_row(&id);
    assert_eq!(row.email, "alice@acme.example");
    assert_eq!(row.user_name.as_deref(), Some("alice@acme.example"));
    assert_eq!(row.given_name.as_deref(), Some("Alice"));
    assert_eq!(
        row.external_id, None,
        "a SCIM externalId is not the IdP object id"
    );
    assert_eq!(row.source, "scim");

    for filter in [
        "userName eq \"ALICE@acme.example\"".to_string(),
        "externalId eq \"alice\"".to_string(),
        "emails[type eq \"work\"].value eq \"alice@acme.example\"".to_string(),
        format!("id eq \"{id}\""),
    ] {
        let list = scim.lookup(&filter).await;
        assert_eq!(list["totalResults"], 1, "{filter}");
        assert_eq!(list["Resources"][0]["id"], id.as_str());
    }
    assert_eq!(
        scim.lookup("externalId eq \"ALICE\"").await["totalResults"],
        0
    );

    let again = scim
        .call(
            "POST",
            "/Users",
            Some(entra_user("Alice@acme.example", "x")),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["scimType"], "uniqueness");
}

#[tokio::test]
async fn entra_deactivation_in_both_patch_styles_keeps_the_user_readable() {
    let scim = Scim::new();
    let bodies = [
        // Without the flag: capitalised op, boolean as a string.
        json!({ "schemas": [PATCH], "Operations": [
            { "op": "Replace", "path": "active", "value": "False" }
        ]}),
        // With aadOptscim062020: lowercase op, no path, a real boolean.
        json!({ "schemas": [PATCH], "Operations": [
            { "op": "replace", "value": { "active": false } }
        ]}),
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        let id = scim
            .create_entra_user(&format!("user{i}@acme.example"), &format!("user{i}"))
            .await;
        let reply = scim
            .call("PATCH", &format!("/Users/{id}"), Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["active"], false);
        assert_eq!(reply.headers["etag"], "W/\"2\"");
        let read = scim.call("GET", &format!("/Users/{id}"), None).await;
        assert_eq!(read.status, StatusCode::OK);
        assert_eq!(read.body["active"], false);
        assert_eq!(read.body["name"]["givenName"], "Alice");
        let row = scim.user_row(&id);
        assert!(!row.active);
        assert_eq!(row.email, format!("user{i}@acme.example"));
    }
}

#[tokio::test]
async fn entra_flagged_replace_with_dotted_and_urn_keys_updates_the_resource() {
    let scim = Scim::new();
    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let body = json!({ "schemas": [PATCH], "Operations": [{
        "op": "replace",
        "value": {
            "name.givenName": "Alicia",
            "displayName": "Alicia Smith",
            "emails[type eq \"work\"].value": "alicia@acme.example",
            format!("{ENTERPRISE}:department"): "Research",
        }
    }]});
    let reply = scim
        .call("PATCH", &format!("/Users/{id}"), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        without_meta(reply.body),
        json!({
            "schemas": [USER, ENTERPRISE],
            "id": id,
            "externalId": "alice",
            "userName": "alice@acme.example",
            "active": true,
            "displayName": "Alicia Smith",
            "emails": [{ "primary": true, "type": "work", "value": "alicia@acme.example" }],
            "name": { "formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alicia" },
            ENTERPRISE: { "department": "Research" },
        })
    );
    let row = scim.user_row(&id);
    assert_eq!(row.email, "alicia@acme.example");
    assert_eq!(row.given_name.as_deref(), Some("Alicia"));
    assert_eq!(row.display_name.as_deref(), Some("Alicia Smith"));
}

#[tokio::test]
async fn delete_hides_the_resource_keeps_the_account_and_a_new_post_restores_it() {
    let scim = Scim::new();
    let id = scim.create_entra_user("alice@acme.example", "alice").await;

    let deleted = scim.call("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, Value::Null);
    let gone = scim.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["status"], "404");
    assert_eq!(
        scim.lookup("userName eq \"alice@acme.example\"").await["totalResults"],
        0
    );
    let row = scim.user_row(&id);
    assert!(!row.active);
    assert_eq!(row.email, "alice@acme.example");

    let again = scim
        .call(
            "POST",
            "/Users",
            Some(entra_user("alice@acme.example", "alice")),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body["id"], id.as_str(), "the same account comes back");
    assert_eq!(again.body["active"], true);
    assert!(scim.user_row(&id).active);
}

#[tokio::test]
async fn a_tombstone_rename_of_a_deactivated_user_leaves_its_email_and_user_name() {
    let scim = Scim::new();
    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let tombstone = "5e7c1b9a2f3d4c5b8a6e7d8f9a0b1c2dalice@acme.example";
    let body = json!({ "schemas": [PATCH], "Operations": [
        { "op": "Replace", "path": "active", "value": "False" },
        { "op": "Replace", "path": "userName", "value": tombstone },
    ]});
    let reply = scim
        .call("PATCH", &format!("/Users/{id}"), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["userName"], tombstone);
    let row = scim.user_row(&id);
    assert!(!row.active);
    assert_eq!(row.email, "alice@acme.example");
    assert_eq!(row.user_name.as_deref(), Some("alice@acme.example"));
}

#[tokio::test]
async fn entra_group_lifecycle_with_both_member_removal_styles() {
    let scim = Scim::new();
    let alice = scim.create_entra_user("alice@acme.example", "alice").await;
    let bob = scim.create_entra_user("bob@acme.example", "bob").await;

    let created = scim
        .call(
            "POST",
            "/Groups",
            Some(json!({
                "schemas": [GROUP],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Engineering",
                "meta": { "resourceType": "Group" }
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let group = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["members"], json!([]));

    let lookup = scim
        .call(
            "GET",
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22engineering%22",
            None,
        )
        .await;
    assert_eq!(lookup.body["totalResults"], 1);
    assert!(lookup.body["Resources"][0].get("members").is_none());

    let add = json!({ "schemas": [PATCH], "Operations": [{
        "op": "Add", "path": "members",
        "value": [{ "value": alice }, { "value": bob }]
    }]});
    let reply = scim
        .call("PATCH", &format!("/Groups/{group}"), Some(add))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let read = scim.call("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(read.body["members"].as_array().unwrap().len(), 2);
    let user = scim.call("GET", &format!("/Users/{alice}"), None).await;
    assert_eq!(user.body["groups"][0]["value"], group.as_str());

    // Without the flag: path `members` and a value list.
    let remove = json!({ "schemas": [PATCH], "Operations": [{
        "op": "Remove", "path": "members", "value": [{ "value": alice }]
    }]});
    let reply = scim
        .call("PATCH", &format!("/Groups/{group}"), Some(remove))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    // With the flag: a value filter in the path.
    let remove = json!({ "schemas": [PATCH], "Operations": [{
        "op": "remove", "path": format!("members[value eq \"{bob}\"]")
    }]});
    let reply = scim
        .call("PATCH", &format!("/Groups/{group}"), Some(remove))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let read = scim.call("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(read.body["members"], json!([]));
    assert_eq!(read.body["displayName"], "Engineering");
    assert_eq!(
        read.body["externalId"],
        "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    );

    let unknown = json!({ "schemas": [PATCH], "Operations": [{
        "op": "add", "path": "members", "value": [{ "value": "no-such-user" }]
    }]});
    let reply = scim
        .call("PATCH", &format!("/Groups/{group}"), Some(unknown))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["scimType"], "invalidValue");

    let deleted = scim.call("DELETE", &format!("/Groups/{group}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = scim.call("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn if_match_with_a_stale_version_is_412() {
    let scim = Scim::new();
    let id = scim.create_entra_user("alice@acme.example", "alice").await;
    let body = json!({ "schemas": [PATCH], "Operations": [
        { "op": "replace", "path": "displayName", "value": "A" }
    ]});
    let stale = scim
        .call_with(
            "PATCH",
            &format!("/Users/{id}"),
            Some(body.clone()),
            Some(&scim.token),
            Some("W/\"7\""),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    // Another spelling of the current version is another entity tag.
    for other in ["W/\"01\"", "W/\"+1\""] {
        let reply = scim
            .call_with(
                "PATCH",
                &format!("/Users/{id}"),
                Some(body.clone()),
                Some(&scim.token),
                Some(other),
            )
            .await;
        assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED, "{other}");
    }
    let fresh = scim
        .call_with(
            "PATCH",
            &format!("/Users/{id}"),
            Some(body),
            Some(&scim.token),
            Some("W/\"1\""),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK);
    let delete = scim
        .call_with(
            "DELETE",
            &format!("/Users/{id}"),
            None,
            Some(&scim.token),
            Some("W/\"1\""),
        )
        .await;
    assert_eq!(delete.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn lists_page_with_start_index_and_count_and_evaluate_other_filters() {
    let scim = Scim::new();
    for i in 0..5 {
        scim.create_entra_user(&format!("user{i}@acme.example"), &format!("u{i}"))
            .await;
    }
    let page = scim.call("GET", "/Users?startIndex=2&count=2", None).await;
    assert_eq!(page.body["totalResults"], 5);
    assert_eq!(page.body["itemsPerPage"], 2);
    assert_eq!(page.body["startIndex"], 2);
    let all = scim.call("GET", "/Users", None).await;
    assert_eq!(
        page.body["Resources"][0]["id"],
        all.body["Resources"][1]["id"]
    );
    assert_eq!(
        page.body["Resources"][1]["id"],
        all.body["Resources"][2]["id"]
    );

    let filtered = scim
        .lookup("userName sw \"user\" and not (externalId eq \"u3\")")
        .await;
    assert_eq!(filtered["totalResults"], 4);

    let projected = scim
        .call("GET", "/Users?attributes=userName&count=1", None)
        .await;
    let first = projected.body["Resources"][0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["id", "schemas", "userName"]);

    let bad = scim.call("GET", "/Users?filter=userName+eq", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["scimType"], "invalidFilter");
}

#[tokio::test]
async fn oversized_and_non_json_bodies_are_refused_with_scim_errors() {
    let scim = Scim::new();
    let mut big = entra_user("big@acme.example", "big");
    big["displayName"] = Value::from("x".repeat(1024 * 1024 + 1));
    let reply = scim.call("POST", "/Users", Some(big)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.body["status"], "413");

    let response = warp::test::request()
        .method("POST")
        .path(&format!("{BASE}/Users"))
        .header("authorization", format!("Bearer {}", scim.token))
        .header("content-type", "application/json")
        .body("{not json")
        .reply(&routes(scim.state.clone()))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["scimType"], "invalidSyntax");
}

/// `body` sent as written (a `Value` cannot hold a member twice) to `path`.
async fn call_raw(scim: &Scim, method: &str, path: &str, body: &str) -> (StatusCode, Value) {
    let response = warp::test::request()
        .method(method)
        .path(&format!("{BASE}{path}"))
        .header("authorization", format!("Bearer {}", scim.token))
        .header("content-type", "application/scim+json")
        .body(body)
        .reply(&routes(scim.state.clone()))
        .await;
    let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (response.status(), body)
}

#[tokio::test]
async fn a_body_naming_one_member_twice_is_refused_whatever_its_letter_case() {
    let scim = Scim::new();
    let user = |rest: &str| {
        format!(r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],{rest}}}"#)
    };

    // RFC 7643 §2.1: attribute names ignore case, so each of these gives one attribute two
    // values, and which one counted depended on how the keys sorted.
    for rest in [
        r#""userName":"a@acme.example","userName":"b@acme.example""#,
        r#""userName":"c@acme.example","active":true,"Active":false"#,
        r#""userName":"d@acme.example","name":{"givenName":"D","GivenName":"E"}"#,
        r#""userName":"e@acme.example","emails":[{"value":"e@acme.example","VALUE":"x"}]"#,
    ] {
        let (status, body) = call_raw(&scim, "POST", "/Users", &user(rest)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{rest}: {body}");
        assert_eq!(body["scimType"], "invalidSyntax", "{rest}");
    }
    let (status, body) = call_raw(&scim, "GET", "/Users?count=10", "").await;
    assert_eq!((status, &body["totalResults"]), (StatusCode::OK, &json!(0)));

    let (status, created) = call_raw(
        &scim,
        "POST",
        "/Users",
        &user(r#""userName":"f@acme.example","active":true"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let patch = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"replace","value":{"active":false,"ACTIVE":true}}]}"#;
    let (status, body) = call_raw(&scim, "PATCH", &format!("/Users/{id}"), patch).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["scimType"], "invalidSyntax");
    assert_eq!(
        scim.call("GET", &format!("/Users/{id}"), None).await.body["active"],
        true
    );
}

#[tokio::test]
async fn a_user_pushed_by_scim_who_signs_in_with_saml_is_the_same_account() {
    let scim = Scim::new();
    let id = scim.create_entra_user("alice@acme.example", "alice").await;

    let spec = scim.fixture.solicited("alice@acme.example");
    let login = scim.fixture.post(&scim.fixture.sign(&spec)).unwrap();
    assert_eq!(login.user.id, id);
    assert!(!login.created);
    let object_id = scim.fixture.user("alice@acme.example").id.to_string();
    assert_eq!(login.user.external_id.as_deref(), Some(object_id.as_str()));

    // SCIM still sees one user, with its SCIM externalId.
    let list = scim.lookup("userName eq \"alice@acme.example\"").await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["externalId"], "alice");

    // Deactivated through SCIM, the account can no longer sign in.
    let body = json!({ "schemas": [PATCH], "Operations": [
        { "op": "replace", "path": "active", "value": false }
    ]});
    scim.call("PATCH", &format!("/Users/{id}"), Some(body))
        .await;
    let spec = scim.fixture.solicited("alice@acme.example");
    assert!(scim.fixture.post(&scim.fixture.sign(&spec)).is_err());
}

#[tokio::test]
async fn an_account_saml_created_is_found_and_taken_over_by_scim() {
    let scim = Scim::new();
    let spec = scim.fixture.solicited("bob@acme.example");
    let login = scim.fixture.post(&scim.fixture.sign(&spec)).unwrap();

    let list = scim.lookup("userName eq \"bob@acme.example\"").await;
    assert_eq!(list["totalResults"], 1, "{list}");
    assert_eq!(list["Resources"][0]["id"], login.user.id.as_str());

    let created = scim
        .call(
            "POST",
            "/Users",
            Some(entra_user("bob@acme.example", "bob")),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["id"], login.user.id.as_str());
}

#[tokio::test]
async fn discovery_documents_are_served() {
    let scim = Scim::new();
    let config = scim.call("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(config.body["patch"]["supported"], true);
    let types = scim.call("GET", "/ResourceTypes", None).await;
    assert_eq!(types.body["totalResults"], 2);
    let user_type = scim.call("GET", "/ResourceTypes/User", None).await;
    assert_eq!(user_type.body["endpoint"], "/Users");
    let schemas = scim.call("GET", "/Schemas", None).await;
    assert_eq!(schemas.body["totalResults"], 3);
    let one = scim.call("GET", &format!("/Schemas/{}", USER), None).await;
    assert_eq!(one.body["id"], USER);
    let missing = scim.call("GET", "/Nothing", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn removing_active_from_an_inactive_user_unassigns_it_and_activates_the_account() {
    let scim = Scim::new();
    let id = scim.create_entra_user("dora@acme.example", "dora").await;
    let off = json!({ "schemas": [PATCH], "Operations": [
        { "op": "replace", "path": "active", "value": false }
    ]});
    assert_eq!(
        scim.call("PATCH", &format!("/Users/{id}"), Some(off))
            .await
            .status,
        StatusCode::OK
    );
    let remove = json!({ "schemas": [PATCH], "Operations": [{ "op": "remove", "path": "active" }]});
    let reply = scim
        .call("PATCH", &format!("/Users/{id}"), Some(remove))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.get("active").is_none(), "{}", reply.body);
    let read = scim.call("GET", &format!("/Users/{id}"), None).await;
    assert!(read.body.get("active").is_none(), "{}", read.body);
    assert!(scim.user_row(&id).active);
}
