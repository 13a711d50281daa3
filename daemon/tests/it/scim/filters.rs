//! Filters over what a resource shows when read: a user's read-only `groups` can be
//! filtered on, as RFC 7643 §4.1.2 lets clients do.

use serde_json::json;
use warp::http::StatusCode;

use super::{GROUP, Scim};

#[tokio::test]
async fn users_are_found_by_the_groups_they_show() {
    let scim = Scim::new();
    let alice = scim.create_entra_user("alice@acme.example", "alice").await;
    let bob = scim.create_entra_user("bob@acme.example", "bob").await;
    let group = json!({
        "schemas": [GROUP],
        "displayName": "Sales",
        "members": [{ "value": alice }],
    });
    let created = scim.call("POST", "/Groups", Some(group)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let group_id = created.body["id"].as_str().unwrap().to_string();

    let read = scim.call("GET", &format!("/Users/{alice}"), None).await;
    assert_eq!(read.body["groups"][0]["value"], group_id.as_str());
    for filter in [
        format!("groups.value eq \"{group_id}\""),
        format!("groups[value eq \"{group_id}\"]"),
        "groups.display eq \"sales\"".to_string(),
        format!("userName pr and groups[value eq \"{group_id}\"]"),
    ] {
        let found = scim.lookup(&filter).await;
        assert_eq!(found["totalResults"], 1, "{filter}");
        assert_eq!(found["Resources"][0]["id"], alice.as_str(), "{filter}");
        assert_eq!(found["Resources"][0]["groups"][0]["display"], "Sales");
    }
    let found = scim.lookup("not (groups pr)").await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], bob.as_str());
}
