//! What a SCIM resource sets on the `users` and `groups` columns the rest of provisiond
//! reads (SAML matching, the CLI, sync).

use serde_json::{Map, Value};

use crate::config::ConnectionConfig;
use crate::fold::fold_case;
use crate::saml::claims::looks_like_email;
use crate::scim::schema::USER_SCHEMA;
use crate::store::{ScimGroupColumns, ScimUserColumns, User};

/// The columns for a user resource (normalised, without `id`, `meta`, `groups`) of the
/// connection `config`.
///
/// `previous` is the account being written over, if any: its email stays when the resource
/// has none the account may take ([`account_email`]), and an inactive account keeps its
/// user name and email when the new ones look like Entra's soft-delete tombstones.
/// `active_default` applies when the resource has no `active`.
pub fn user_columns(
    resource: &Value,
    config: &ConnectionConfig,
    previous: Option<&User>,
    active_default: bool,
) -> ScimUserColumns {
    let text = |name: &str| {
        resource
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let user_name = text("userName").unwrap_or_default();
    let active = resource
        .get("active")
        .and_then(Value::as_bool)
        .unwrap_or(active_default);
    let name = resource.get("name").and_then(Value::as_object);
    let name_part = |part: &str| {
        name.and_then(|n| n.get(part))
            .and_then(Value::as_str)
            .map(str::to_string)
    };

    let mut user_name_column = Some(user_name.clone());
    let mut email = account_email(resource, config);
    if !active {
        if looks_like_tombstone(&user_name) {
            user_name_column = previous.and_then(|p| p.user_name.clone());
        }
        if email.as_deref().is_some_and(looks_like_tombstone) {
            email = None;
        }
    }
    let email = email
        .or_else(|| previous.map(|p| p.email.clone()))
        .unwrap_or_default();

    ScimUserColumns {
        email,
        user_name: user_name_column,
        given_name: name_part("givenName"),
        family_name: name_part("familyName"),
        display_name: text("displayName"),
        active,
        user_name_key: fold_case(&user_name),
        work_email_key: work_email_key(resource),
        scim_external_id: text("externalId"),
        resource: stored_text(resource, &["id", "meta", "groups"]),
    }
}

/// The columns for a group resource (normalised).
pub fn group_columns(resource: &Value) -> ScimGroupColumns {
    let display_name = resource
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    ScimGroupColumns {
        display_name_key: fold_case(&display_name),
        display_name,
        scim_external_id: resource
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_string),
        resource: stored_text(resource, &["id", "meta", "members"]),
    }
}

/// The email the account takes from `emails[]`: the primary work address, else any work
/// address, else the primary one, else the first.
pub fn work_email(resource: &Value) -> Option<String> {
    let emails = resource.get("emails")?.as_array()?;
    let is_work = |e: &&Value| {
        e.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("work"))
    };
    let is_primary = |e: &&Value| e.get("primary") == Some(&Value::Bool(true));
    let chosen = emails
        .iter()
        .find(|e| is_work(e) && is_primary(e))
        .or_else(|| emails.iter().find(is_work))
        .or_else(|| emails.iter().find(is_primary))
        .or_else(|| emails.first())?;
    chosen
        .get("value")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The email the account takes from a resource of the connection `config`: its
/// [`work_email`], when a sign-in to the connection would accept that address (it looks like
/// one and is in one of the connection's domains), as sync does with the users it lists. The
/// resource itself keeps whatever addresses the client sent.
pub fn account_email(resource: &Value, config: &ConnectionConfig) -> Option<String> {
    work_email(resource).filter(|email| looks_like_email(email) && config.owns_email(email))
}

/// The key the filter `emails[type eq "work"].value eq "…"` finds the resource by: the folded
/// value of its work email ([`fold_case`], as the filter compares), `Some("")` when it has work
/// emails with several different keys (every such lookup checks it), `None` when it has no
/// work email. A resource matches that filter exactly when this is the folded filter value
/// or `""`, so an index on it answers the filter completely.
pub fn work_email_key(resource: &Value) -> Option<String> {
    let emails: Vec<&Value> = match resource.get("emails")? {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let mut keys = emails.into_iter().filter_map(|email| {
        let is_work = email
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| fold_case(t) == "work");
        let value = email.get("value").and_then(Value::as_str);
        value.filter(|_| is_work).map(fold_case)
    });
    let first = keys.next()?;
    if keys.all(|key| key == first) {
        Some(first)
    } else {
        Some(String::new())
    }
}

/// Whether a value looks like the name Entra gives a soft-deleted user: its object id (32 hex
/// digits, or a hyphenated GUID) glued in front of the original name.
pub fn looks_like_tombstone(value: &str) -> bool {
    let hex_run = value.chars().take_while(char::is_ascii_hexdigit).count();
    let guid_prefix = value.len() > 36
        && value.is_char_boundary(36)
        && uuid::Uuid::parse_str(&value[..36]).is_ok();
    (hex_run >= 32 && value.len() > 32) || guid_prefix
}

/// A resource from the columns of an account SCIM never wrote (created by SAML or sync).
pub fn synthesized_user(user: &User) -> Value {
    let mut doc = Map::new();
    doc.insert("schemas".into(), Value::from(vec![USER_SCHEMA]));
    let user_name = user.user_name.clone().unwrap_or_else(|| user.email.clone());
    doc.insert("userName".into(), Value::from(user_name));
    let mut name = Map::new();
    if let Some(given) = &user.given_name {
        name.insert("givenName".into(), Value::from(given.as_str()));
    }
    if let Some(family) = &user.family_name {
        name.insert("familyName".into(), Value::from(family.as_str()));
    }
    if !name.is_empty() {
        doc.insert("name".into(), Value::Object(name));
    }
    if let Some(display) = &user.display_name {
        doc.insert("displayName".into(), Value::from(display.as_str()));
    }
    if !user.email.is_empty() {
        doc.insert(
            "emails".into(),
            serde_json::json!([{ "value": user.email, "type": "work", "primary": true }]),
        );
    }
    doc.insert("active".into(), Value::Bool(user.active));
    Value::Object(doc)
}

fn stored_text(resource: &Value, drop: &[&str]) -> String {
    let mut doc = resource.as_object().cloned().unwrap_or_default();
    for key in drop {
        doc.remove(*key);
    }
    // Serialising into a buffer directly is several times faster than `Display`.
    serde_json::to_string(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::scim::filter::Filter;
    use crate::scim::resource::normalize;
    use crate::scim::schema::{GROUP_SCHEMA, ResourceKind};

    #[test]
    fn the_work_email_key_is_the_one_folded_work_address_or_empty_for_several() {
        let key = |emails: Value| work_email_key(&serde_json::json!({ "emails": emails }));
        let work = |value: &str| serde_json::json!({ "value": value, "type": "Work" });
        assert_eq!(
            key(serde_json::json!([work("A@x"), work("a@X")])),
            Some("a@x".into())
        );
        assert_eq!(
            key(serde_json::json!([work("a@x"), work("\u{212A}@x")])),
            Some("".into())
        );
        assert_eq!(
            key(serde_json::json!([{ "value": "a@x", "type": "home" }])),
            None
        );
        assert_eq!(key(serde_json::json!([{ "value": "a@x" }])), None);
    }

    /// Text from a few letters, with ASCII case variants and look-alikes (KELVIN SIGN, a
    /// fullwidth k, an accented E in both cases).
    fn text() -> impl Strategy<Value = String> {
        let letters = prop::sample::select(vec![
            "k", "K", "\u{212A}", "\u{FF4B}", "e", "\u{C9}", "\u{E9}",
        ]);
        prop::collection::vec(letters, 1..4).prop_map(|parts| parts.concat())
    }

    fn email() -> impl Strategy<Value = Value> {
        let kind = prop::sample::select(vec!["work", "Work", "WORK", "home"]);
        (text(), kind).prop_map(|(value, kind)| serde_json::json!({ "value": value, "type": kind }))
    }

    proptest! {
        /// The stored keys answer the indexed lookups exactly: a resource matches the lookup
        /// for a value when its key is that value's key (or, for work emails, `""`), and a
        /// single-key resource matches whenever its key is the value's.
        #[test]
        fn stored_keys_agree_with_filter_evaluation(
            user_name in text(),
            emails in prop::collection::vec(email(), 0..4),
            probe in text(),
        ) {
            let body = serde_json::json!({
                "schemas": [USER_SCHEMA],
                "userName": user_name,
                "displayName": user_name,
                "emails": emails,
            });
            let user = normalize(ResourceKind::User, &body).unwrap();
            let config = ConnectionConfig {
                name: "acme".into(),
                domains: Vec::new(),
                saml: None,
                adapter: None,
                sync: None,
            };
            let columns = user_columns(&user, &config, None, true);
            let quoted = Value::from(probe.as_str());
            let matches = |filter: String, kind: ResourceKind, resource: &Value| {
                Filter::parse_for(&filter, kind).unwrap().matches(resource, kind)
            };
            let key = fold_case(&probe);

            let by_name = matches(format!("userName eq {quoted}"), ResourceKind::User, &user);
            prop_assert_eq!(by_name, columns.user_name_key == key);

            let filter = format!("emails[type eq \"work\"].value eq {quoted}");
            let by_email = matches(filter, ResourceKind::User, &user);
            let candidate = matches!(&columns.work_email_key, Some(k) if *k == key || k.is_empty());
            prop_assert!(!by_email || candidate);
            prop_assert!(by_email || columns.work_email_key.as_deref() != Some(key.as_str()));

            let group = serde_json::json!({ "schemas": [GROUP_SCHEMA], "displayName": user_name });
            let group = normalize(ResourceKind::Group, &group).unwrap();
            let filter = format!("displayName eq {quoted}");
            let by_display_name = matches(filter, ResourceKind::Group, &group);
            prop_assert_eq!(by_display_name, group_columns(&group).display_name_key == key);
        }
    }

    #[test]
    fn tombstones_are_recognised_and_ordinary_names_are_not() {
        assert!(looks_like_tombstone(
            "5e7c1b9a2f3d4c5b8a6e7d8f9a0b1c2dalice@acme.example"
        ));
        assert!(looks_like_tombstone(
            "5e7c1b9a-2f3d-4c5b-8a6e-7d8f9a0b1c2dalice@acme.example"
        ));
        assert!(!looks_like_tombstone("alice@acme.example"));
        assert!(!looks_like_tombstone("deadbeef@acme.example"));
    }

    #[test]
    fn work_email_prefers_primary_work_then_work_then_primary() {
        let resource = serde_json::json!({ "emails": [
            { "value": "home@x.example", "type": "home", "primary": true },
            { "value": "work@x.example", "type": "work" },
        ]});
        assert_eq!(work_email(&resource).as_deref(), Some("work@x.example"));
        let resource = serde_json::json!({ "emails": [
            { "value": "other@x.example", "type": "other" },
            { "value": "home@x.example", "type": "home", "primary": true },
        ]});
        assert_eq!(work_email(&resource).as_deref(), Some("home@x.example"));
    }
}
