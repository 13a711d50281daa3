//! Identity keys through the SCIM routes and sign-in, on the test backend: letters that only
//! look alike are different people, an index answers a filter exactly as full evaluation
//! does, and a NUL character is refused the same way on SQLite and PostgreSQL.

use std::collections::BTreeSet;

use idp_sim::claims;
use provisiond::store::NewGroup;
use serde_json::{Value, json};
use warp::http::StatusCode;

use super::{BASE, ENTERPRISE, GROUP, PATCH, Scim, USER, entra_user, urlencode};
use crate::support::fixed_now;

/// `kim@acme.example` with a KELVIN SIGN (U+212A) for its first letter.
const KELVIN_KIM: &str = "\u{212A}im@acme.example";

impl Scim {
    /// Signs in through the ACS logic as `email` with IdP object id `object_id`.
    fn sign_in(
        &self,
        email: &str,
        object_id: &str,
    ) -> Result<provisiond::saml::login::LoginSuccess, provisiond::saml::LoginError> {
        let mut spec = self.fixture.solicited("alice@acme.example");
        spec.name_id = email.to_string();
        for (name, values) in &mut spec.attributes {
            match name.as_str() {
                claims::EMAIL | claims::NAME => *values = vec![email.to_string()],
                claims::OBJECT_ID => *values = vec![object_id.to_string()],
                _ => {}
            }
        }
        self.fixture.post(&self.fixture.sign(&spec))
    }

    /// The ids a `GET /{endpoint}?filter=` answers.
    async fn ids(&self, endpoint: &str, filter: &str) -> BTreeSet<String> {
        let path = format!("/{endpoint}?count=1000&filter={}", urlencode(filter));
        let reply = self.call("GET", &path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{filter}: {}", reply.body);
        let resources = reply.body["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(reply.body["totalResults"], resources.len(), "{filter}");
        resources
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test]
async fn a_sign_in_with_a_kelvin_sign_never_takes_the_account_of_the_ascii_address() {
    let scim = Scim::new();
    let kim = scim.create_entra_user("kim@acme.example", "kim").await;

    // Another IdP user whose address has a KELVIN SIGN: refused, or an account of its own.
    if let Ok(login) = scim.sign_in(KELVIN_KIM, "other-object-id") {
        assert_ne!(login.user.id, kim);
        assert_eq!(login.user.email, KELVIN_KIM);
    }
    let untouched = scim.user_row(&kim);
    assert_eq!(untouched.external_id, None);
    assert_eq!(untouched.email, "kim@acme.example");

    // The real Kim still signs in to the account SCIM created.
    let login = scim.sign_in("Kim@acme.example", "kim-object-id").unwrap();
    assert_eq!(login.user.id, kim);
    assert!(!login.created);
}

#[tokio::test]
async fn a_user_name_with_a_kelvin_sign_is_its_own_and_filters_tell_them_apart() {
    let scim = Scim::new();
    let kim = scim.create_entra_user("Kim@acme.example", "kim").await;
    let kelvin = scim.create_entra_user(KELVIN_KIM, "kelvin").await;
    assert_ne!(kim, kelvin);

    let again = scim
        .call(
            "POST",
            "/Users",
            Some(entra_user("KIM@ACME.example", "kim2")),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.body["scimType"], "uniqueness");
    let again = scim
        .call(
            "POST",
            "/Users",
            Some(entra_user("\u{212A}IM@acme.example", "k2")),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    let only = |id: &str| BTreeSet::from([id.to_string()]);
    for (filter, expected) in [
        ("userName eq \"KIM@ACME.EXAMPLE\"", only(&kim)),
        ("userName eq \"\u{212A}IM@ACME.EXAMPLE\"", only(&kelvin)),
        ("userName sw \"k\" or userName eq \"x\"", only(&kim)),
        (
            "emails[type eq \"work\"].value eq \"kim@acme.example\"",
            only(&kim),
        ),
        ("emails.value eq \"\u{212A}im@ACME.example\"", only(&kelvin)),
    ] {
        assert_eq!(scim.ids("Users", filter).await, expected, "{filter}");
    }
}

/// Entra creates several users with one work email: one account holds the address, the
/// others keep it in their resource, and every lookup form finds all of them.
#[tokio::test]
async fn a_work_email_lookup_finds_every_user_whose_resource_has_it() {
    let scim = Scim::new();
    let mut ids = BTreeSet::new();
    for i in 0..10 {
        let mut body = entra_user(&format!("shared{i}@acme.example"), &format!("s{i}"));
        body["emails"] = json!([{ "type": "work", "value": "Shared@acme.example" }]);
        let reply = scim.call("POST", "/Users", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        ids.insert(reply.body["id"].as_str().unwrap().to_string());
    }
    for filter in [
        "emails[type eq \"work\"].value eq \"shared@acme.example\"",
        "emails[type eq \"work\" and value eq \"shared@acme.example\"]",
        "emails.value eq \"SHARED@acme.example\"",
    ] {
        assert_eq!(scim.ids("Users", filter).await, ids, "{filter}");
    }
}

/// Generated users and groups with duplicates, ASCII case variants and look-alike letters,
/// written by SCIM, by sign-in and by sync: for every probe value, the indexed form of each
/// indexed lookup answers what an equivalent filter no index answers does.
#[tokio::test]
async fn indexed_lookups_answer_what_full_evaluation_answers() {
    let scim = Scim::new();
    let stems = [
        "kim",
        "Kim",
        "KIM",
        "\u{212A}im",
        "\u{212A}IM",
        "\u{C9}mile",
        "\u{E9}MILE",
    ];
    let address = |i: usize| format!("{}@acme.example", stems[i % stems.len()]);

    // SCIM users: userNames collide by case (those answer 409 and are skipped), externalIds
    // and work emails repeat, some have two work emails or only a home one.
    let mut user_ids = Vec::new();
    for i in 0..21 {
        let emails = match i % 4 {
            0 => json!([{ "type": "work", "value": address(i / 3) }]),
            1 => json!([
                { "type": "Work", "value": address(i) },
                { "type": "work", "value": address(i + 1) },
            ]),
            2 => json!([{ "type": "home", "value": address(i) }]),
            _ => json!([{ "type": "work", "value": address(i + 2), "primary": true }]),
        };
        let body = json!({
            "schemas": [USER],
            "userName": format!("{}{}", stems[i % stems.len()], i / 7),
            "externalId": stems[(i * 2) % stems.len()],
            "emails": emails,
        });
        let reply = scim.call("POST", "/Users", Some(body)).await;
        match reply.status {
            StatusCode::CREATED => user_ids.push(reply.body["id"].as_str().unwrap().to_string()),
            StatusCode::CONFLICT => {}
            other => panic!("{other}: {}", reply.body),
        }
    }

    // Accounts SCIM never wrote: signed in (userName is the user name claim, the address
    // here) and synced (a user name column differing from the email by case).
    for (i, stem) in stems.iter().enumerate().take(3) {
        let email = format!("{stem}.saml{i}@acme.example");
        if let Ok(login) = scim.sign_in(&email, &format!("oid-{i}")) {
            user_ids.push(login.user.id);
        }
    }
    let store = &scim.fixture.store;
    for (i, stem) in stems.iter().enumerate() {
        let mut user = provisiond::testing::new_user(
            "sync",
            Some(&format!("sync-{i}")),
            &format!("s{i}@x.example"),
        );
        user.user_name = Some(format!("{stem}1"));
        user_ids.push(store.write(|tx| tx.insert_user(&user)).unwrap().id);
    }

    // Groups: SCIM-written with repeated names and externalIds, and synced ones.
    let mut group_ids = Vec::new();
    for i in 0..8 {
        let body = json!({
            "schemas": [GROUP],
            "displayName": format!("{} team", stems[i % stems.len()]),
            "externalId": stems[i % 3],
        });
        let reply = scim.call("POST", "/Groups", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        group_ids.push(reply.body["id"].as_str().unwrap().to_string());
    }
    for (i, stem) in stems.iter().enumerate() {
        let at = fixed_now().naive_utc();
        let group = NewGroup {
            id: provisiond::store::new_id(),
            connection: "acme".into(),
            external_id: Some(format!("g-{i}")),
            display_name: format!("{stem} team"),
            source: "sync".into(),
            version: 1,
            created_at: at,
            updated_at: at,
        };
        store.write(|tx| tx.insert_group(&group)).unwrap();
        group_ids.push(group.id);
    }

    let mut values: BTreeSet<String> = BTreeSet::new();
    for (i, stem) in stems.iter().enumerate() {
        for text in [
            stem.to_string(),
            address(i),
            format!("{stem}0"),
            format!("{stem}1"),
            format!("{stem} team"),
            format!("{stem}.saml{i}@acme.example"),
        ] {
            values.insert(text.to_uppercase());
            values.insert(text.to_lowercase());
            values.insert(text);
        }
    }
    for id in user_ids.iter().chain(&group_ids) {
        values.insert(id.clone());
        values.insert(id.to_uppercase());
    }

    let mut matched = 0;
    for value in &values {
        let quoted = Value::from(value.as_str()).to_string();
        let lookups = [
            ("Users", "userName"),
            ("Users", "externalId"),
            ("Users", "id"),
            ("Groups", "displayName"),
            ("Groups", "externalId"),
            ("Groups", "id"),
        ];
        for (endpoint, attribute) in lookups {
            let indexed = format!("{attribute} eq {quoted}");
            let full = format!("{attribute} eq {quoted} or {attribute} eq {quoted}");
            let answer = scim.ids(endpoint, &indexed).await;
            assert_eq!(
                answer,
                scim.ids(endpoint, &full).await,
                "{endpoint} {indexed}"
            );
            matched += answer.len();
        }
        let indexed = format!("emails[type eq \"work\"].value eq {quoted}");
        let full = format!("emails[type eq \"work\" and value eq {quoted}]");
        let answer = scim.ids("Users", &indexed).await;
        assert_eq!(answer, scim.ids("Users", &full).await, "{indexed}");
        matched += answer.len();
    }
    assert!(
        matched > values.len(),
        "the probes must find something: {matched}"
    );
}

#[tokio::test]
async fn a_nul_character_anywhere_in_a_body_is_an_invalid_value_naming_the_attribute() {
    let scim = Scim::new();
    let id = scim.create_entra_user("kim@acme.example", "kim").await;
    let group = scim
        .call(
            "POST",
            "/Groups",
            Some(json!({ "schemas": [GROUP], "displayName": "Staff" })),
        )
        .await;
    let group = group.body["id"].as_str().unwrap().to_string();

    let user = |extra: Value| {
        let mut body = json!({ "schemas": [USER, ENTERPRISE], "userName": "nul@acme.example" });
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let patch = |operation: Value| json!({ "schemas": [PATCH], "Operations": [operation] });
    let cases = [
        (
            "POST",
            "/Users".to_string(),
            user(json!({ "userName": "nul\u{0}x" })),
            "`userName`",
        ),
        (
            "POST",
            "/Users".to_string(),
            user(json!({ "displayName": "a\u{0}b" })),
            "`displayName`",
        ),
        (
            "POST",
            "/Users".to_string(),
            user(json!({ "title": "a\u{0}b" })),
            "`title`",
        ),
        (
            "POST",
            "/Users".to_string(),
            user(json!({ "emails": [{ "type": "work", "value": "a\u{0}@acme.example" }] })),
            "`emails.value`",
        ),
        (
            "POST",
            "/Users".to_string(),
            user(json!({ ENTERPRISE: { "department": "\u{0}" } })),
            "`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`",
        ),
        (
            "POST",
            "/Users".to_string(),
            user(json!({ "x\u{0}": "y" })),
            "`x\\0`",
        ),
        (
            "POST",
            "/Groups".to_string(),
            json!({ "schemas": [GROUP], "displayName": "g\u{0}" }),
            "`displayName`",
        ),
        (
            "PUT",
            format!("/Users/{id}"),
            user(json!({ "nickName": "\u{0}" })),
            "`nickName`",
        ),
        (
            "PATCH",
            format!("/Users/{id}"),
            patch(json!({ "op": "replace", "path": "displayName", "value": "a\u{0}b" })),
            "operation 0: `displayName`",
        ),
        (
            "PATCH",
            format!("/Users/{id}"),
            patch(json!({ "op": "replace", "value": { "name.givenName": "\u{0}" } })),
            "operation 0: `name.givenName`",
        ),
        (
            "PATCH",
            format!("/Users/{id}"),
            patch(json!({ "op": "add", "path": "name", "value": { "familyName": "\u{0}" } })),
            "operation 0: `name.familyName`",
        ),
        (
            "PATCH",
            format!("/Groups/{group}"),
            patch(json!({ "op": "add", "path": "members", "value": [{ "value": "\u{0}" }] })),
            "operation 0: `members.value`",
        ),
    ];
    for (method, path, body, named) in cases {
        let reply = scim.call(method, &path, Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.body["scimType"], "invalidValue", "{method} {path}");
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.contains(named) && detail.contains("NUL"), "{detail}");
        assert!(!detail.contains('\u{0}'), "{detail:?}");
    }

    let reply = scim
        .call(
            "GET",
            &format!("/Users?filter={}", urlencode("userName eq \"a\u{0}b\"")),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.body["scimType"], "invalidFilter");
    let search = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "displayName eq \"\u{0}\"" });
    let reply = scim.call("POST", "/Groups/.search", Some(search)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.body["scimType"], "invalidFilter");

    // Nothing was written: the user and the group are as they were.
    let users = scim.call("GET", "/Users", None).await;
    assert_eq!(users.body["totalResults"], 1);
    assert_eq!(users.body["Resources"][0]["userName"], "kim@acme.example");
    let group = scim.call("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(group.body["displayName"], "Staff");
    assert_eq!(group.body["members"], json!([]), "{}", group.body);
}

#[tokio::test]
async fn a_resource_id_with_a_nul_character_is_not_found() {
    let scim = Scim::new();
    for endpoint in ["Users", "Groups"] {
        let path = format!("{BASE}/{endpoint}/a%00b");
        let response = warp::test::request()
            .method("GET")
            .path(&path)
            .header("authorization", format!("Bearer {}", scim.token))
            .reply(&provisiond::http::routes(scim.state.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
