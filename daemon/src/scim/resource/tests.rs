#![allow(clippy::unwrap_used)]

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::scim::ScimType;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

/// The create-user request Entra ID's provisioning service sends.
fn entra_create_user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": "True",
        "emails": [
            { "primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com" }
        ],
        "meta": { "resourceType": "User" },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "59",
            "manager": { "value": "06cd9a8b-4bd5-4d9f-b6b6-a07bd8a0d40c" }
        }
    })
}

#[test]
fn entra_create_user_body_is_normalised() {
    let stored = normalize(ResourceKind::User, &entra_create_user()).unwrap();
    assert_eq!(
        stored,
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": true,
            "emails": [
                { "primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com" }
            ],
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName"
            },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "59",
                "manager": { "value": "06cd9a8b-4bd5-4d9f-b6b6-a07bd8a0d40c" }
            }
        })
    );
}

#[test]
fn entra_create_group_body_is_normalised() {
    let body = json!({
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "id": "c4b1b1c3-ignored",
        "displayName": "displayName",
        "meta": { "resourceType": "Group" },
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "members": []
    });
    let stored = normalize(ResourceKind::Group, &body).unwrap();
    assert_eq!(
        stored,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName"
        })
    );
}

#[test]
fn attribute_names_become_canonical_and_password_is_dropped() {
    let body = json!({
        "SCHEMAS": ["urn:ietf:params:scim:schemas:core:2.0:user"],
        "USERNAME": "a",
        "Password": "hunter2",
        "name.GivenName": "Ann",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops",
        "unknownThing": 1
    });
    let stored = normalize(ResourceKind::User, &body).unwrap();
    assert_eq!(
        stored,
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "userName": "a",
            "name": { "givenName": "Ann" },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Ops" }
        })
    );
}

#[test]
fn invalid_bodies_are_refused_with_the_right_scim_type() {
    let no_schemas = json!({ "userName": "a" });
    let err = normalize(ResourceKind::User, &no_schemas).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax));

    let no_user_name = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"] });
    let err = normalize(ResourceKind::User, &no_user_name).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));

    let wrong_type = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "a",
        "active": "perhaps"
    });
    let err = normalize(ResourceKind::User, &wrong_type).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));

    let two_primaries = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "a",
        "emails": [{ "value": "a@x", "primary": true }, { "value": "b@x", "primary": "True" }]
    });
    let err = normalize(ResourceKind::User, &two_primaries).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
}

#[test]
fn replacement_keeps_id_and_meta_and_refuses_a_new_id() {
    let existing = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Old",
        "meta": { "version": "W/\"4\"" }
    });
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "New"
    });
    let replaced = normalize_replacement(ResourceKind::Group, &body, &existing).unwrap();
    assert_eq!(replaced["id"], "g1");
    assert_eq!(replaced["meta"]["version"], "W/\"4\"");
    assert_eq!(replaced["displayName"], "New");

    let moved = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g2",
        "displayName": "New"
    });
    let err = normalize_replacement(ResourceKind::Group, &moved, &existing).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::Mutability));
}

#[test]
fn meta_is_built_from_the_arguments() {
    let created = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
    let modified = Utc.with_ymd_and_hms(2024, 6, 7, 8, 9, 10).unwrap();
    let info = MetaInfo {
        base_url: "https://sp.test/scim/v2",
        created,
        last_modified: modified,
        version: 3,
    };
    let user = with_meta(json!({ "userName": "a" }), ResourceKind::User, "u1", &info);
    assert_eq!(
        user,
        json!({
            "userName": "a",
            "id": "u1",
            "meta": {
                "resourceType": "User",
                "created": "2024-01-02T03:04:05.000Z",
                "lastModified": "2024-06-07T08:09:10.000Z",
                "location": "https://sp.test/scim/v2/Users/u1",
                "version": "W/\"3\""
            }
        })
    );
    assert_eq!(parse_etag("W/\"3\""), Some(3));
    assert_eq!(parse_etag("\"12\""), Some(12));
    assert_eq!(parse_etag("3"), None);
    for other in [
        "W/\"03\"", "W/\"+3\"", "w/\"3\"", "W/\" 3\"", "W/\"3 \"", "W/ \"3\"",
    ] {
        assert_eq!(parse_etag(other), None, "{other}");
    }
}

#[test]
fn a_nul_character_anywhere_is_an_invalid_value_naming_its_attribute() {
    let named = |extra: Value| {
        let mut body = json!({ "schemas": [USER_SCHEMA], "userName": "a" });
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        match normalize(ResourceKind::User, &body) {
            Err(ScimError::Bad { scim_type, detail }) => {
                assert_eq!(scim_type, ScimType::InvalidValue);
                assert!(!detail.contains('\0'), "{detail:?}");
                detail
            }
            other => panic!("{other:?}"),
        }
    };
    assert!(named(json!({ "userName": "a\u{0}" })).starts_with("`userName` contains a NUL"));
    assert!(named(json!({ "name": { "givenName": "\u{0}" } })).starts_with("`name.givenName`"));
    assert!(
        named(json!({ "emails": [{ "value": "x" }, { "display": "\u{0}" }] }))
            .starts_with("`emails.display`")
    );
    let department = named(json!({ ENTERPRISE_USER_SCHEMA: { "manager": { "value": "\u{0}" } } }));
    assert!(
        department.starts_with(&format!("`{ENTERPRISE_USER_SCHEMA}:manager.value`")),
        "{department}"
    );
    // Unknown attributes and keys are checked too, and the key is shown escaped.
    assert!(named(json!({ "x": ["\u{0}"] })).starts_with("`x`"));
    assert!(named(json!({ "a\u{0}b": 1 })).starts_with("`a\\0b`"));
}

/// One attribute named twice in a body, in two spellings or whole and in part, is refused as a
/// member named twice is: which value would count depends only on how the keys sort.
#[test]
fn an_attribute_named_twice_in_two_spellings_is_refused() {
    let core = USER_SCHEMA;
    let enterprise = ENTERPRISE_USER_SCHEMA;
    let twice = [
        json!({"schemas": [core], "userName": "a", (format!("{core}:userName")): "b"}),
        json!({
            "schemas": [core],
            "userName": "a",
            "active": true,
            (format!("{core}:ACTIVE")): false,
        }),
        json!({
            "schemas": [core],
            "userName": "a",
            "name": {"givenName": "A"},
            "name.givenName": "B",
        }),
        json!({"schemas": [core], "userName": "a", "name.familyName": "A", "NAME.familyName": "B"}),
        json!({
            "schemas": [core, enterprise],
            "userName": "a",
            (enterprise): {"department": "A"},
            (format!("{enterprise}:department")): "B",
        }),
    ];
    for body in twice {
        let err = normalize(ResourceKind::User, &body).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax), "{body}");
    }

    // Distinct parts of one attribute are not the same attribute twice.
    let parts = json!({
        "schemas": [core],
        "userName": "a",
        "name.givenName": "A",
        "name.familyName": "B",
    });
    let user = normalize(ResourceKind::User, &parts).unwrap();
    assert_eq!(user["name"], json!({"givenName": "A", "familyName": "B"}));
}
