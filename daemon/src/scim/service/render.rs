//! Stored rows as SCIM resources: the stored JSON (or one built from the columns), the
//! account's real `active` state, `groups` / `members`, and `meta`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::columns::synthesized_user;
use crate::scim::resource::{MetaInfo, drop_write_only, with_meta};
use crate::scim::schema::{GROUP_SCHEMA, ResourceKind};
use crate::store::{MemberRow, MembershipRow, ScimGroupRow, ScimUserRow};

/// The user resource without `id`, `meta` and `groups`, as PATCH and PUT start from.
///
/// `active` shows the account's state, which SAML, sync or a SCIM DELETE may have changed
/// since SCIM last wrote the resource; a resource without `active` (the client removed it,
/// which makes the account active) shows none while the account is active. A password a
/// resource was stored with earlier is left out, so no filter or write ever sees it.
pub fn user_base(row: &ScimUserRow) -> Value {
    let mut resource = row
        .resource
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| synthesized_user(&row.user));
    if let Some(object) = resource.as_object_mut() {
        drop_write_only(object, ResourceKind::User);
        if object.contains_key("active") || !row.user.active {
            object.insert("active".into(), Value::Bool(row.user.active));
        }
    }
    resource
}

/// `resource` with its `id`, as PUT and PATCH start from: a client that repeats the id it
/// was given (Entra's no-path replace does) changes nothing, and any other id is refused as
/// a change to a read-only attribute. Stored resources never keep it.
pub fn with_id(mut resource: Value, id: &str) -> Value {
    if let Some(object) = resource.as_object_mut() {
        object.insert("id".into(), Value::from(id));
    }
    resource
}

/// The whole user resource: base, `groups` (when it has any) and `meta`.
pub fn user_full(row: &ScimUserRow, memberships: &[&MembershipRow], base_url: &str) -> Value {
    let mut resource = with_meta(
        user_base(row),
        ResourceKind::User,
        &row.user.id,
        &meta(
            base_url,
            row.user.created_at,
            row.user.updated_at,
            row.user.version,
        ),
    );
    add_groups(&mut resource, memberships, base_url);
    resource
}

/// Adds the read-only `groups` attribute to a rendered user, when it has memberships.
pub fn add_groups(resource: &mut Value, memberships: &[&MembershipRow], base_url: &str) {
    let Some(object) = resource.as_object_mut() else {
        return;
    };
    if memberships.is_empty() {
        return;
    }
    let groups: Vec<Value> = memberships
        .iter()
        .map(|m| {
            json!({
                "value": m.group_id,
                "$ref": format!("{base_url}/Groups/{}", m.group_id),
                "display": m.group_display_name,
                "type": "direct",
            })
        })
        .collect();
    object.insert("groups".into(), Value::Array(groups));
}

/// The group resource without `id`, `meta` and `members`.
pub fn group_base(row: &ScimGroupRow) -> Value {
    row.resource
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| {
            json!({
                "schemas": [GROUP_SCHEMA],
                "displayName": row.group.display_name,
            })
        })
}

/// `members` values as PATCH sees them: `value` only.
pub fn member_values(members: &[&MemberRow]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| json!({ "value": m.user_id }))
            .collect(),
    )
}

/// The whole group resource; `members` is `None` when the request excluded them (not loaded).
pub fn group_full(row: &ScimGroupRow, members: Option<&[&MemberRow]>, base_url: &str) -> Value {
    let mut resource = group_base(row);
    if let (Some(members), Some(object)) = (members, resource.as_object_mut()) {
        let members: Vec<Value> = members
            .iter()
            .map(|m| {
                json!({
                    "value": m.user_id,
                    "$ref": format!("{base_url}/Users/{}", m.user_id),
                    "type": "User",
                })
            })
            .collect();
        object.insert("members".into(), Value::Array(members));
    }
    with_meta(
        resource,
        ResourceKind::Group,
        &row.group.id,
        &meta(
            base_url,
            row.group.created_at,
            row.group.updated_at,
            row.group.version,
        ),
    )
}

fn meta(
    base_url: &str,
    created: NaiveDateTime,
    updated: NaiveDateTime,
    version: i64,
) -> MetaInfo<'_> {
    MetaInfo {
        base_url,
        created: DateTime::<Utc>::from_naive_utc_and_offset(created, Utc),
        last_modified: DateTime::<Utc>::from_naive_utc_and_offset(updated, Utc),
        version: super::version(version),
    }
}
