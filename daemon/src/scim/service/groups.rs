//! `/Groups`: create, read, list, replace, patch, delete, and members.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use super::columns::group_columns;
use super::list::{ListParams, list_response};
use super::render::{group_base, group_full, member_values, with_id};
use super::{Answer, Scope, ServiceError, check_if_match, may_exist, not_found, version};
use crate::fold::fold_case;
use crate::scim::error::ScimError;
use crate::scim::filter::{Filter, IndexedAttribute};
use crate::scim::patch::apply_patch;
use crate::scim::projection::Projection;
use crate::scim::resource::{normalize, normalize_replacement};
use crate::scim::schema::ResourceKind;
use crate::store::{GroupKey, MemberRow, ScimGroupRow, Store, Tx};

const KIND: ResourceKind = ResourceKind::Group;

/// `GET /Groups/{id}`; members are not loaded when the projection drops them.
pub fn get_group(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    projection: &Projection,
) -> Result<Answer, ServiceError> {
    store.read(|tx| {
        let row = visible_group(tx, scope, id)?;
        answer(tx, scope, &row, projection)
    })
}

/// `GET /Groups` and `POST /Groups/.search`. `displayName`, `externalId` and `id` `eq`
/// lookups use an index; other filters evaluate every live group of the connection (with
/// its members when the filter names them).
pub fn list_groups(
    store: &Store,
    scope: Scope<'_>,
    params: &ListParams,
) -> Result<Value, ServiceError> {
    let filter = params
        .filter
        .as_deref()
        .map(|text| Filter::parse_for(text, KIND))
        .transpose()?;
    let with_members = !params.projection.excludes_members();

    store.read(|tx| {
        let (total, rows) = match &filter {
            None => {
                let total = tx.scim_groups_count(scope.connection)?;
                params.stored_page(total, |offset, limit| {
                    tx.scim_groups_page(scope.connection, offset, limit)
                })?
            }
            Some(filter) => params.cut_page(filtered(tx, scope, filter, params.filter.as_deref())?),
        };

        let members = if with_members && !rows.is_empty() {
            let ids: Vec<&str> = rows.iter().map(|r| r.group.id.as_str()).collect();
            tx.members_of_groups(&ids)?
        } else {
            Vec::new()
        };
        let resources = rows
            .iter()
            .map(|row| {
                let own: Vec<&MemberRow> = members
                    .iter()
                    .filter(|m| m.group_id == row.group.id)
                    .collect();
                let resource =
                    group_full(row, with_members.then_some(own.as_slice()), scope.base_url);
                params.projection.apply(&resource, KIND)
            })
            .collect();
        Ok(list_response(total, params.start_index, resources))
    })
}

/// `POST /Groups`, with or without members.
pub fn create_group(
    store: &Store,
    scope: Scope<'_>,
    body: &Value,
    projection: &Projection,
) -> Result<Answer, ServiceError> {
    let resource = normalize(KIND, body)?;
    let wanted = member_ids(&resource)?;

    store.write(|tx| {
        check_members(tx, scope, &wanted, &BTreeSet::new())?;
        let id = crate::store::new_id();
        let now = scope.now.naive_utc();
        let row = tx.insert_scim_group(scope.connection, &id, &group_columns(&resource), now)?;
        for user_id in &wanted {
            tx.add_member(&id, user_id)?;
        }
        let mut answer = answer(tx, scope, &row, projection)?;
        answer.created = true;
        Ok(answer)
    })
}

/// `PUT /Groups/{id}`: the body's members replace the group's.
pub fn replace_group(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    projection: &Projection,
) -> Result<Answer, ServiceError> {
    store.write(|tx| {
        let row = writable_group(tx, scope, id)?;
        check_if_match(if_match, version(row.group.version))?;
        let existing = with_id(group_base(&row), &row.group.id);
        let resource = normalize_replacement(KIND, body, &existing)?;
        let row = write_group(tx, scope, &row, &resource)?;
        answer(tx, scope, &row, projection)
    })
}

/// `PATCH /Groups/{id}`; answers no body (204), as Entra expects for groups.
pub fn patch_group(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Answer, ServiceError> {
    store.write(|tx| {
        let row = writable_group(tx, scope, id)?;
        check_if_match(if_match, version(row.group.version))?;
        let members = tx.members_of_groups(&[row.group.id.as_str()])?;
        let members: Vec<&MemberRow> = members.iter().collect();
        let mut current = with_id(group_base(&row), &row.group.id);
        if let Some(object) = current.as_object_mut()
            && !members.is_empty()
        {
            object.insert("members".into(), member_values(&members));
        }

        let outcome = apply_patch(&current, KIND, body)?;
        let row = if outcome.changed {
            write_group(tx, scope, &row, &outcome.resource)?
        } else {
            row
        };
        Ok(Answer {
            id: row.group.id.clone(),
            body: None,
            version: version(row.group.version),
            created: false,
        })
    })
}

/// `DELETE /Groups/{id}`: the group is marked deleted and loses its members; users stay.
pub fn delete_group(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ServiceError> {
    store.write(|tx| {
        let row = writable_group(tx, scope, id)?;
        check_if_match(if_match, version(row.group.version))?;
        tx.delete_group(&row.group.id, scope.now.naive_utc())?;
        Ok(())
    })
}

/// Stores `resource` over a group and makes its member set equal the resource's.
fn write_group(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    row: &ScimGroupRow,
    resource: &Value,
) -> Result<ScimGroupRow, ServiceError> {
    let wanted = member_ids(resource)?;
    let current: BTreeSet<String> = tx.group_member_ids(&row.group.id)?.into_iter().collect();
    check_members(tx, scope, &wanted, &current)?;
    let now = scope.now.naive_utc();

    let mut members_changed = false;
    for gone in current.difference(&wanted) {
        members_changed |= tx.remove_member(&row.group.id, gone)?;
    }
    for new in wanted.difference(&current) {
        members_changed |= tx.add_member(&row.group.id, new)?;
    }

    let columns = group_columns(resource);
    let same_resource = row.resource.as_deref() == Some(columns.resource.as_str())
        && row.group.display_name == columns.display_name;
    if same_resource && !members_changed {
        return Ok(row.clone());
    }
    Ok(tx.update_scim_group(scope.connection, &row.group, &columns, now)?)
}

/// The user ids a resource's `members` name.
fn member_ids(resource: &Value) -> Result<BTreeSet<String>, ScimError> {
    let Some(members) = resource.get("members").and_then(Value::as_array) else {
        return Ok(BTreeSet::new());
    };
    members
        .iter()
        .map(|m| {
            m.get("value")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| ScimError::invalid_value("every member needs a string `value`"))
        })
        .collect()
}

/// Every member must be a user SCIM sees in this connection (RFC 7644 §3.5.2: an unknown
/// reference is `invalidValue`).
///
/// The users joining (those of `wanted` not in `current`) are locked against a concurrent
/// write ([`Tx::hold_scim_users_present`]): a user deleted meanwhile is refused here, or its
/// deletion, waiting for this write, then takes it out of the group. Only joining users are
/// locked: a user already a member may be deleted concurrently, and that deletion locks its
/// groups after its own row, so locking it here (after the group) could deadlock.
fn check_members(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    wanted: &BTreeSet<String>,
    current: &BTreeSet<String>,
) -> Result<(), ServiceError> {
    if wanted.is_empty() {
        return Ok(());
    }
    let joining: Vec<&str> = wanted.difference(current).map(String::as_str).collect();
    let staying: Vec<&str> = wanted.intersection(current).map(String::as_str).collect();
    let mut present: HashSet<String> = tx.hold_scim_users_present(scope.connection, &joining)?;
    if !staying.is_empty() {
        present.extend(tx.scim_user_ids_present(scope.connection, &staying)?);
    }
    match wanted.iter().find(|id| !present.contains(*id)) {
        None => Ok(()),
        Some(unknown) => Err(ScimError::invalid_value(format!(
            "member {:?} is not a user of this connection (nested groups are not supported)",
            unknown.chars().take(64).collect::<String>()
        ))
        .into()),
    }
}

fn filtered(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    filter: &Filter,
    text: Option<&str>,
) -> Result<Vec<ScimGroupRow>, ServiceError> {
    let simple = filter.as_simple_eq();
    let rows = match &simple {
        Some(eq) if eq.attribute == IndexedAttribute::Id => {
            tx.scim_groups_by(scope.connection, GroupKey::Id(&eq.value))?
        }
        Some(eq) if eq.attribute == IndexedAttribute::ExternalId => {
            tx.scim_groups_by(scope.connection, GroupKey::ExternalId(&eq.value))?
        }
        Some(eq) if eq.attribute == IndexedAttribute::DisplayName => {
            let key = fold_case(&eq.value);
            tx.scim_groups_by(scope.connection, GroupKey::DisplayName(&key))?
        }
        _ => tx.scim_groups_all(scope.connection)?,
    };
    // Members are loaded only when the filter could test them.
    let needs_members = text.is_some_and(|t| t.to_ascii_lowercase().contains("members"));
    let members = if needs_members && !rows.is_empty() {
        let ids: Vec<&str> = rows.iter().map(|r| r.group.id.as_str()).collect();
        tx.members_of_groups(&ids)?
    } else {
        Vec::new()
    };
    Ok(rows
        .into_iter()
        .filter(|row| {
            let own: Vec<&MemberRow> = members
                .iter()
                .filter(|m| m.group_id == row.group.id)
                .collect();
            let resource = group_full(row, Some(own.as_slice()), scope.base_url);
            filter.matches(&resource, KIND)
        })
        .collect())
}

/// The group a write is about, its row locked until the write commits ([`Tx::lock_group`]),
/// so that concurrent member changes of one group apply one after another.
fn writable_group(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    id: &str,
) -> Result<ScimGroupRow, ServiceError> {
    if may_exist(id) {
        tx.lock_group(id)?;
    }
    visible_group(tx, scope, id)
}

fn visible_group(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    id: &str,
) -> Result<ScimGroupRow, ServiceError> {
    let row = if may_exist(id) {
        tx.scim_group(scope.connection, id)?
    } else {
        None
    };
    row.ok_or_else(|| not_found("Group", id).into())
}

fn answer(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    row: &ScimGroupRow,
    projection: &Projection,
) -> Result<Answer, ServiceError> {
    let members = if projection.excludes_members() {
        None
    } else {
        Some(tx.members_of_groups(&[row.group.id.as_str()])?)
    };
    let own: Option<Vec<&MemberRow>> = members.as_ref().map(|m| m.iter().collect());
    let resource = group_full(row, own.as_deref(), scope.base_url);
    Ok(Answer {
        id: row.group.id.clone(),
        body: Some(projection.apply(&resource, KIND)),
        version: version(row.group.version),
        created: false,
    })
}
