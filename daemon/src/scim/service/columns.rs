//! What a SCIM resource sets on the `users` and `groups` columns the rest of provisiond
//! reads (SAML matching, the CLI, sync).

use serde_json::{Map, Value};

use crate::scim::schema::USER_SCHEMA;
use crate::store::{ScimGroupColumns, ScimUserColumns, User};

/// The columns for a user resource (normalised, without `id`, `meta`, `groups`).
///
/// `previous` is the account being written over, if any: its email stays when the resource
/// has none, and an inactive account keeps its user name and email when the new ones look
/// like Entra's soft-delete tombstones. `active_default` applies when the resource has no
/// `active`.
pub fn user_columns(
    resource: &Value,
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
    let mut email = work_email(resource);
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
        user_name_key: user_name.to_lowercase(),
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
        display_name_key: display_name.to_lowercase(),
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
    use super::*;

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
