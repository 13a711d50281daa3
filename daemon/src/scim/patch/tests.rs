#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::scim::ScimType;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "externalId": "jdoe",
        "userName": "jdoe@contoso.com",
        "active": true,
        "displayName": "John Doe",
        "name": { "givenName": "John", "familyName": "Doe" },
        "emails": [{ "value": "jdoe@contoso.com", "type": "work", "primary": true }],
        "meta": { "resourceType": "User", "version": "W/\"1\"" }
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Sales",
        "members": [{ "value": "u1" }, { "value": "u2" }]
    })
}

fn patch(ops: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops })
}

fn apply(resource: &Value, kind: ResourceKind, ops: Value) -> Result<PatchOutcome, ScimError> {
    apply_patch(resource, kind, &patch(ops))
}

fn error_type(result: Result<PatchOutcome, ScimError>) -> Option<ScimType> {
    result.err().and_then(|e| e.scim_type())
}

#[test]
fn entra_replace_active_with_false_string_stores_a_boolean() {
    let out = apply(
        &user(),
        ResourceKind::User,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .unwrap();
    assert!(out.changed);
    assert_eq!(out.resource["active"], json!(false));

    let out = apply(
        &out.resource,
        ResourceKind::User,
        json!([{"op": "Add", "path": "active", "value": "True"}]),
    )
    .unwrap();
    assert_eq!(out.resource["active"], json!(true));
}

#[test]
fn entra_mixed_case_op_names() {
    for op in ["Add", "add", "ADD", "Replace", "replace"] {
        let out = apply(
            &user(),
            ResourceKind::User,
            json!([{"op": op, "path": "displayName", "value": "Johnny"}]),
        )
        .unwrap();
        assert_eq!(out.resource["displayName"], "Johnny", "{op}");
    }
    let err = apply(
        &user(),
        ResourceKind::User,
        json!([{"op": "Merge", "value": {}}]),
    );
    assert_eq!(error_type(err), Some(ScimType::InvalidSyntax));
}

#[test]
fn entra_no_path_replace_with_dotted_and_urn_keys() {
    // aadOptscim062020: one replace without a path.
    let ops = json!([{
        "op": "replace",
        "value": {
            "displayName": "Johnny Doe",
            "name.givenName": "Johnny",
            "name.familyName": "Doe-Smith",
            "active": false,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m42"
        }
    }]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert_eq!(
        out.resource,
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "id": "u1",
            "externalId": "jdoe",
            "userName": "jdoe@contoso.com",
            "active": false,
            "displayName": "Johnny Doe",
            "name": { "givenName": "Johnny", "familyName": "Doe-Smith" },
            "emails": [{ "value": "jdoe@contoso.com", "type": "work", "primary": true }],
            "meta": { "resourceType": "User", "version": "W/\"1\"" },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Sales",
                "manager": { "value": "m42" }
            }
        })
    );
}

#[test]
fn entra_group_no_path_replace_repeating_the_id() {
    let ops = json!([{"op": "replace", "value": {"id": "g1", "displayName": "Sales EMEA"}}]);
    let out = apply(&group(), ResourceKind::Group, ops).unwrap();
    assert_eq!(out.resource["displayName"], "Sales EMEA");
    assert_eq!(out.resource["id"], "g1");
}

#[test]
fn entra_add_member_and_re_adding_changes_nothing() {
    let ops = json!([{"op": "Add", "path": "members", "value": [{"value": "u3"}]}]);
    let out = apply(&group(), ResourceKind::Group, ops.clone()).unwrap();
    assert!(out.changed);
    assert_eq!(
        out.resource["members"],
        json!([{"value": "u1"}, {"value": "u2"}, {"value": "u3"}])
    );

    let again = apply(&out.resource, ResourceKind::Group, ops).unwrap();
    assert!(!again.changed);
    assert_eq!(again.resource, out.resource);
}

#[test]
fn entra_remove_member_with_value_list_removes_only_that_member() {
    let ops = json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]);
    let out = apply(&group(), ResourceKind::Group, ops).unwrap();
    assert_eq!(out.resource["members"], json!([{"value": "u2"}]));
}

#[test]
fn entra_remove_member_by_filter_removes_only_that_member() {
    let ops = json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]);
    let out = apply(&group(), ResourceKind::Group, ops).unwrap();
    assert_eq!(out.resource["members"], json!([{"value": "u1"}]));

    let none = json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]);
    let out = apply(&group(), ResourceKind::Group, none).unwrap();
    assert!(!out.changed);
}

#[test]
fn remove_of_an_absent_attribute_is_fine() {
    let ops = json!([{"op": "Remove", "path": "title"}]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert!(!out.changed);
    let ops = json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert!(!out.changed);
}

#[test]
fn filtered_path_creates_the_missing_element() {
    let mut no_email = user();
    no_email.as_object_mut().map(|o| o.remove("emails"));
    let ops = json!([{
        "op": "Add",
        "path": "emails[type eq \"work\"].value",
        "value": "john@contoso.com"
    }]);
    let out = apply(&no_email, ResourceKind::User, ops).unwrap();
    assert_eq!(
        out.resource["emails"],
        json!([{"type": "work", "value": "john@contoso.com"}])
    );

    let ops = json!([{
        "op": "Replace",
        "path": "phoneNumbers[type eq \"mobile\"].value",
        "value": "+1 555 0100"
    }]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert_eq!(
        out.resource["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
}

#[test]
fn filtered_path_replaces_the_matching_element_only() {
    let mut two = user();
    two["emails"] = json!([
        { "value": "jdoe@contoso.com", "type": "work", "primary": true },
        { "value": "jd@home.example", "type": "home" }
    ]);
    let ops = json!([{
        "op": "replace",
        "path": "emails[type eq \"work\"].value",
        "value": "john.doe@contoso.com"
    }]);
    let out = apply(&two, ResourceKind::User, ops).unwrap();
    assert_eq!(
        out.resource["emails"],
        json!([
            { "value": "john.doe@contoso.com", "type": "work", "primary": true },
            { "value": "jd@home.example", "type": "home" }
        ])
    );
}

#[test]
fn removing_the_value_of_a_filtered_element_drops_the_element() {
    let ops = json!([{"op": "Remove", "path": "emails[type eq \"work\"].value"}]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert!(out.resource.get("emails").is_none());
}

#[test]
fn add_on_a_single_valued_attribute_replaces_it() {
    let ops = json!([{"op": "Add", "path": "name.givenName", "value": "Jon"}]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert_eq!(
        out.resource["name"],
        json!({"givenName": "Jon", "familyName": "Doe"})
    );
}

#[test]
fn manager_as_bare_id_and_as_object() {
    let ops = json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "m1"}]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert_eq!(out.resource[ENTERPRISE]["manager"], json!({"value": "m1"}));
    assert_eq!(out.resource["schemas"][1], ENTERPRISE);

    let manager = format!("{ENTERPRISE}:manager");
    let ops = json!([{"op": "Replace", "path": manager, "value": {"value": "m2"}}]);
    let out = apply(&out.resource, ResourceKind::User, ops).unwrap();
    assert_eq!(out.resource[ENTERPRISE]["manager"], json!({"value": "m2"}));

    let ops = json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}]);
    let out = apply(&out.resource, ResourceKind::User, ops).unwrap();
    assert!(out.resource.get(ENTERPRISE).is_none());
    assert_eq!(
        out.resource["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
}

#[test]
fn replacing_id_or_meta_is_a_mutability_error() {
    for path in ["id", "meta", "meta.version", "groups"] {
        let ops = json!([{"op": "replace", "path": path, "value": "x"}]);
        assert_eq!(
            error_type(apply(&user(), ResourceKind::User, ops)),
            Some(ScimType::Mutability)
        );
    }
    let ops = json!([{"op": "replace", "value": {"id": "other"}}]);
    assert_eq!(
        error_type(apply(&user(), ResourceKind::User, ops)),
        Some(ScimType::Mutability)
    );
}

#[test]
fn malformed_requests_get_the_right_scim_type() {
    let bad_path = json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]);
    assert_eq!(
        error_type(apply(&user(), ResourceKind::User, bad_path)),
        Some(ScimType::InvalidPath)
    );
    let no_path_remove = json!([{"op": "remove"}]);
    assert_eq!(
        error_type(apply(&user(), ResourceKind::User, no_path_remove)),
        Some(ScimType::NoTarget)
    );
    let wrong_type = json!([{"op": "replace", "path": "active", "value": "maybe"}]);
    assert_eq!(
        error_type(apply(&user(), ResourceKind::User, wrong_type)),
        Some(ScimType::InvalidValue)
    );
    let no_schema = json!({"Operations": []});
    let err = apply_patch(&user(), ResourceKind::User, &no_schema);
    assert_eq!(error_type(err), Some(ScimType::InvalidSyntax));
    let remove_required = json!([{"op": "remove", "path": "userName"}]);
    assert_eq!(
        error_type(apply(&user(), ResourceKind::User, remove_required)),
        Some(ScimType::InvalidValue)
    );
}

#[test]
fn unknown_attributes_are_ignored() {
    let ops = json!([{"op": "add", "path": "urn:example:custom:2.0:User:badge", "value": "7"}]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert!(!out.changed);
}

#[test]
fn new_primary_email_clears_the_old_primary() {
    let ops = json!([{"op": "add", "path": "emails", "value": [
        {"value": "new@contoso.com", "type": "other", "primary": "True"}
    ]}]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert_eq!(out.resource["emails"][0]["primary"], json!(false));
    assert_eq!(out.resource["emails"][1]["primary"], json!(true));
}

fn arb_op() -> impl Strategy<Value = Value> {
    let op = prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("bogus")];
    let path = prop_oneof![
        Just(Value::Null),
        Just(json!("members")),
        Just(json!("displayName")),
        Just(json!("members[value eq \"u1\"]")),
        Just(json!("members[value eq \"u9\"].value")),
        Just(json!("members.value")),
        Just(json!("id")),
        "[a-z\\[\\]\". ]{0,12}".prop_map(Value::from),
    ];
    let value = prop_oneof![
        Just(Value::Null),
        Just(json!([{"value": "u1"}, {"value": "u9"}])),
        Just(json!({"displayName": "x", "members": [{"value": "u3"}]})),
        Just(json!("True")),
        any::<i32>().prop_map(Value::from),
        "[a-z]{0,5}".prop_map(Value::from),
    ];
    (op, path, value).prop_map(|(op, path, value)| json!({"op": op, "path": path, "value": value}))
}

#[test]
fn a_nul_character_in_a_patch_is_an_invalid_value_naming_the_attribute() {
    let detail = |ops: Value| match apply(&user(), ResourceKind::User, ops) {
        Err(ScimError::Bad { scim_type, detail }) => {
            assert_eq!(scim_type, ScimType::InvalidValue);
            detail
        }
        other => panic!("{other:?}"),
    };
    let ok = json!({"op": "replace", "path": "title", "value": "t"});
    let named = detail(json!([ok, {"op": "add", "path": "name", "value": {"givenName": "\u{0}"}}]));
    assert!(
        named.starts_with("operation 1: `name.givenName` contains a NUL"),
        "{named}"
    );
    let named = detail(json!([{"op": "replace", "value": {"displayName": ["a", "\u{0}"]}}]));
    assert!(named.starts_with("operation 0: `displayName`"), "{named}");
    let path = r#"emails[type eq "work"].value"#;
    let named = detail(json!([{"op": "replace", "path": path, "value": "\u{0}"}]));
    assert!(
        named.starts_with(&format!("operation 0: `{}`", path.escape_debug())),
        "{named}"
    );
    let named = detail(json!([{"op": "remove", "path": "title\u{0}"}]));
    assert!(named.starts_with("operation 0: `path`"), "{named}");
}

proptest! {
    #[test]
    fn patch_engine_never_panics(ops in prop::collection::vec(arb_op(), 0..5)) {
        let _ = apply(&group(), ResourceKind::Group, Value::Array(ops.clone()));
        let _ = apply(&user(), ResourceKind::User, Value::Array(ops));
    }

    #[test]
    fn adding_an_existing_member_is_idempotent(
        ids in prop::collection::vec("[a-z0-9]{1,4}", 1..6)
    ) {
        let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
        let ops = json!([{"op": "Add", "path": "members", "value": members}]);
        let once = apply(&group(), ResourceKind::Group, ops.clone()).unwrap();
        let twice = apply(&once.resource, ResourceKind::Group, ops).unwrap();
        prop_assert!(!twice.changed);
        prop_assert_eq!(twice.resource, once.resource);
    }

    #[test]
    fn adding_then_removing_a_new_member_restores_the_group(id in "[a-z]{3,8}") {
        let add = json!([{"op": "add", "path": "members", "value": [{"value": id}]}]);
        let remove = json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]);
        let added = apply(&group(), ResourceKind::Group, add).unwrap();
        let back = apply(&added.resource, ResourceKind::Group, remove).unwrap();
        prop_assert_eq!(back.resource, group());
    }

    #[test]
    fn replacing_then_restoring_a_string_attribute_round_trips(title in "[ -~]{1,20}") {
        let set = json!([{"op": "replace", "path": "title", "value": title}]);
        let unset = json!([{"op": "remove", "path": "title"}]);
        let with = apply(&user(), ResourceKind::User, set).unwrap();
        prop_assert_eq!(&with.resource["title"], &json!(title));
        let back = apply(&with.resource, ResourceKind::User, unset).unwrap();
        prop_assert_eq!(back.resource, user());
    }
}

#[test]
fn no_path_value_may_hold_value_paths_and_extension_objects() {
    let ops = json!([{
        "op": "replace",
        "value": {
            "emails[type eq \"work\"].value": "john@contoso.com",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "costCenter": "CC-7" }
        }
    }]);
    let out = apply(&user(), ResourceKind::User, ops).unwrap();
    assert_eq!(
        out.resource["emails"],
        json!([{ "value": "john@contoso.com", "type": "work", "primary": true }])
    );
    assert_eq!(out.resource[ENTERPRISE], json!({ "costCenter": "CC-7" }));
}

/// A value without a path that names one attribute twice, in two spellings or whole and in
/// part, is refused: applied key by key, whichever sorted last would win.
#[test]
fn a_no_path_value_naming_an_attribute_twice_is_refused() {
    let core = "urn:ietf:params:scim:schemas:core:2.0:User";
    for value in [
        json!({"active": false, (format!("{core}:active")): true}),
        json!({"name": {"givenName": "A"}, "name.givenName": "B"}),
        json!({(ENTERPRISE): {"department": "A"}, (format!("{ENTERPRISE}:department")): "B"}),
    ] {
        let ops = json!([{"op": "replace", "value": value}]);
        let outcome = apply(&user(), ResourceKind::User, ops);
        assert_eq!(
            error_type(outcome),
            Some(ScimType::InvalidSyntax),
            "{value}"
        );
    }

    let ops = json!([{
        "op": "replace",
        "value": {"name.givenName": "A", "name.familyName": "B", "active": false},
    }]);
    let patched = apply(&user(), ResourceKind::User, ops).unwrap();
    assert_eq!(patched.resource["name"]["familyName"], "B");
}
