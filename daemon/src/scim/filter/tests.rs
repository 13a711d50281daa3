#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen",
        "userName": "Bjensen@Example.com",
        "name": { "familyName": "Jensen", "givenName": "Barbara" },
        "active": true,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" }
        },
        "meta": {
            "resourceType": "User",
            "created": "2024-01-23T04:56:22Z",
            "lastModified": "2024-05-13T04:42:34Z",
            "version": "W/\"3\""
        }
    })
}

fn matches(filter: &str) -> bool {
    Filter::parse_for(filter, ResourceKind::User)
        .unwrap()
        .matches(&user(), ResourceKind::User)
}

#[test]
fn entra_lookups_match_and_are_recognised_as_indexable() {
    assert!(matches(r#"userName eq "bjensen@example.com""#));
    assert!(matches(r#"externalId eq "bjensen""#));
    assert!(!matches(r#"externalId eq "BJENSEN""#));
    assert!(matches(
        r#"emails[type eq "work"].value eq "bjensen@example.com""#
    ));
    assert!(!matches(
        r#"emails[type eq "home"].value eq "bjensen@example.com""#
    ));

    let f = Filter::parse(r#"emails[type eq "work"].value eq "x@y.z""#).unwrap();
    assert_eq!(
        f.as_simple_eq(),
        Some(SimpleEq {
            attribute: IndexedAttribute::WorkEmail,
            value: "x@y.z".into()
        })
    );
    let f = Filter::parse(r#"USERNAME EQ "a""#).unwrap();
    assert_eq!(
        f.as_simple_eq().map(|s| s.attribute),
        Some(IndexedAttribute::UserName)
    );
    let f = Filter::parse(r#"displayName eq "Sales""#).unwrap();
    assert_eq!(
        f.as_simple_eq().map(|s| s.attribute),
        Some(IndexedAttribute::DisplayName)
    );
    assert_eq!(
        Filter::parse(r#"userName co "a""#).unwrap().as_simple_eq(),
        None
    );
    assert_eq!(
        Filter::parse(r#"userName eq "a" and active eq true"#)
            .unwrap()
            .as_simple_eq(),
        None
    );
}

#[test]
fn id_is_case_exact_user_name_is_not() {
    assert!(matches(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
    assert!(!matches(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
    assert!(matches(r#"userName sw "BJENSEN""#));
}

#[test]
fn operators_and_keywords_ignore_case() {
    assert!(matches(
        r#"userName Eq "bjensen@example.com" AND active EQ TRUE"#
    ));
    assert!(matches(r#"NOT (userName eq "x") Or title PR"#));
    assert!(matches(r#"not(userName eq "x")"#));
    assert!(matches("name.FAMILYNAME co \"ens\""));
}

#[test]
fn every_operator() {
    assert!(matches(r#"name.familyName eq "jensen""#));
    assert!(matches(r#"name.familyName ne "smith""#));
    assert!(matches(r#"name.familyName co "ENS""#));
    assert!(matches(r#"name.familyName sw "jen""#));
    assert!(matches(r#"name.familyName ew "SEN""#));
    assert!(matches(r#"name.familyName gt "A""#));
    assert!(matches(r#"name.familyName ge "jensen""#));
    assert!(matches(r#"name.familyName lt "Z""#));
    assert!(matches(r#"name.familyName le "jensen""#));
    assert!(matches("name pr"));
    assert!(!matches("title pr"));
    assert!(matches("title eq null"));
    assert!(!matches("userName eq null"));
    assert!(matches(r#"title ne "boss""#));
}

#[test]
fn multi_valued_attributes_match_if_any_value_does() {
    assert!(matches(r#"emails.value ew "jensen.org""#));
    assert!(matches(r#"emails co "jensen.org""#));
    assert!(matches(r#"emails[type eq "work" and primary eq true]"#));
    assert!(!matches(r#"emails[type eq "home" and primary eq true]"#));
    assert!(matches(
        r#"emails[not (type eq "work")].value eq "babs@jensen.org""#
    ));
}

#[test]
fn grouping_and_precedence() {
    assert!(matches(r#"title pr or userName sw "b" and active eq true"#));
    assert!(!matches(
        r#"(title pr or userName sw "b") and active eq false"#
    ));
    assert!(matches(r#"((userName sw "b"))"#));
}

#[test]
fn enterprise_and_core_urn_qualified_attributes() {
    let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert!(matches(&format!(r#"{ext}:employeeNumber eq "701984""#)));
    assert!(matches(&format!(
        r#"{ext}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#
    )));
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#
    ));
}

#[test]
fn date_times_compare_as_instants() {
    assert!(matches(r#"meta.lastModified gt "2024-05-13T00:00:00Z""#));
    assert!(matches(
        r#"meta.lastModified ge "2024-05-13T06:42:34+02:00""#
    ));
    assert!(!matches(
        r#"meta.lastModified gt "2024-05-13T06:42:34+02:00""#
    ));
    assert!(matches(r#"meta.created lt "2024-01-23T04:56:22.5Z""#));
}

#[test]
fn ordering_a_boolean_is_an_invalid_filter() {
    let err = Filter::parse_for("active gt true", ResourceKind::User).unwrap_err();
    assert_eq!(err.scim_type(), Some(crate::scim::ScimType::InvalidFilter));
}

#[test]
fn malformed_filters_are_invalid_filter_errors() {
    for input in [
        "",
        "userName",
        "userName eq",
        "userName eq bjensen",
        r#"userName eq "x" and"#,
        r#"(userName eq "x""#,
        r#"userName xx "x""#,
        r#"emails[type eq "work"]]"#,
        r#"emails[type eq "work"].value.x eq "a""#,
        r#"emails[type[value eq "a"] eq "work"]"#,
        "\"unterminated",
        r#"userName eq "x" )"#,
        ".value eq \"x\"",
    ] {
        let err = Filter::parse(input).unwrap_err();
        assert_eq!(
            err.scim_type(),
            Some(crate::scim::ScimType::InvalidFilter),
            "{input}"
        );
    }
}

#[test]
fn hostile_nesting_is_refused_without_overflow() {
    let deep = format!("{}userName pr{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(Filter::parse(&deep).is_err());
    let nots = format!("{}userName pr{}", "not (".repeat(5_000), ")".repeat(5_000));
    assert!(Filter::parse(&nots).is_err());
}

#[test]
fn strings_ignore_the_case_of_ascii_letters_only() {
    assert!(matches(r#"userName eq "BJENSEN@example.COM""#));
    // KELVIN SIGN and a fullwidth letter are not `k`; an accented capital is not its
    // lower-case letter.
    assert!(!matches("name.familyName eq \"\u{212A}ensen\""));
    assert!(!matches("name.familyName sw \"\u{FF2A}\""));
    let resource = json!({ "userName": "\u{C9}mile" });
    let filter = Filter::parse_for("userName eq \"\u{E9}mile\"", ResourceKind::User).unwrap();
    assert!(!filter.matches(&resource, ResourceKind::User));
    let filter = Filter::parse_for("userName eq \"\u{C9}MILE\"", ResourceKind::User).unwrap();
    assert!(filter.matches(&resource, ResourceKind::User));
}

#[test]
fn a_nul_character_is_an_invalid_filter_or_path() {
    let err = Filter::parse("userName eq \"a\u{0}b\"").unwrap_err();
    assert_eq!(err.scim_type(), Some(crate::scim::ScimType::InvalidFilter));
    let err = parse_patch_path("emails[value eq \"\u{0}\"]").unwrap_err();
    assert_eq!(err.scim_type(), Some(crate::scim::ScimType::InvalidPath));
    // Written as an escape inside the string literal, too.
    let err = Filter::parse(r#"userName eq "a\u0000b""#).unwrap_err();
    assert_eq!(err.scim_type(), Some(crate::scim::ScimType::InvalidFilter));
    let err = parse_patch_path(r#"emails[value eq "\u0000"]"#).unwrap_err();
    assert_eq!(err.scim_type(), Some(crate::scim::ScimType::InvalidPath));
}

fn arb_path() -> impl Strategy<Value = AttrPath> {
    prop_oneof![
        Just(AttrPath::new("userName")),
        Just(AttrPath::new("displayName")),
        Just(AttrPath::with_sub("name", "familyName")),
        Just(AttrPath::with_sub("meta", "lastModified")),
        Just(AttrPath {
            uri: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            name: "department".into(),
            sub_attr: None,
        }),
    ]
}

fn arb_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        any::<String>().prop_map(CompValue::Str),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        Just(CompValue::Null),
    ]
}

fn arb_op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

fn arb_test() -> impl Strategy<Value = Test> {
    prop_oneof![
        Just(Test::Present),
        (arb_op(), arb_value()).prop_map(|(op, v)| Test::Compare(op, v)),
    ]
}

fn arb_inner() -> impl Strategy<Value = Filter> {
    let leaf = (
        prop_oneof![Just("type"), Just("value"), Just("primary")],
        arb_test(),
    )
        .prop_map(|(name, test)| {
            Filter::Attr(AttrExp {
                path: AttrPath::new(name),
                test,
            })
        });
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner, 2..4).prop_map(Filter::Or),
        ]
    })
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let attr =
        (arb_path(), arb_test()).prop_map(|(path, test)| Filter::Attr(AttrExp { path, test }));
    let value_path = (arb_inner(), prop::option::of(arb_test())).prop_map(|(inner, then)| {
        Filter::ValuePath(ValuePath {
            attr: AttrPath::new("emails"),
            filter: Box::new(inner),
            then: then.map(|test| SubTest {
                name: "value".into(),
                test,
            }),
        })
    });
    prop_oneof![attr, value_path].prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner, 2..4).prop_map(Filter::Or),
        ]
    })
}

/// The parser flattens `a and (b and c)`; normalise generated trees the
/// same way before comparing.
fn flatten(filter: Filter) -> Filter {
    match filter {
        Filter::And(items) => Filter::And(
            items
                .into_iter()
                .map(flatten)
                .flat_map(|f| match f {
                    Filter::And(inner) => inner,
                    other => vec![other],
                })
                .collect(),
        ),
        Filter::Or(items) => Filter::Or(
            items
                .into_iter()
                .map(flatten)
                .flat_map(|f| match f {
                    Filter::Or(inner) => inner,
                    other => vec![other],
                })
                .collect(),
        ),
        Filter::Not(inner) => Filter::Not(Box::new(flatten(*inner))),
        Filter::ValuePath(mut vp) => {
            vp.filter = Box::new(flatten(*vp.filter));
            Filter::ValuePath(vp)
        }
        other => other,
    }
}

proptest! {
    #[test]
    fn parser_never_panics(input in any::<String>()) {
        let _ = Filter::parse(&input);
        let _ = parse_patch_path(&input);
    }

    #[test]
    fn parser_never_panics_on_filter_like_text(
        input in r#"[a-zA-Z. :\[\]()"0-9\-]{0,80}"#
    ) {
        if let Ok(filter) = Filter::parse(&input) {
            let _ = filter.matches(&user(), ResourceKind::User);
        }
    }

    #[test]
    fn generated_filters_round_trip(filter in arb_filter()) {
        let text = filter.to_string();
        let parsed = Filter::parse(&text);
        prop_assert_eq!(parsed, Ok(flatten(filter)), "text: {}", text);
    }

    #[test]
    fn not_negates(filter in arb_filter()) {
        let negated = Filter::Not(Box::new(filter.clone()));
        prop_assert_eq!(
            negated.matches(&user(), ResourceKind::User),
            !filter.matches(&user(), ResourceKind::User)
        );
    }
}
