//! `/Users`: create, read, list, replace, patch, delete.

use std::collections::HashMap;

use serde_json::Value;

use super::columns::{account_email, user_columns};
use super::list::{ListParams, list_response};
use super::render::{add_groups, user_base, user_full, with_id};
use super::{Answer, Scope, ServiceError, check_if_match, may_exist, not_found, version};
use crate::fold::fold_case;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::{Filter, IndexedAttribute};
use crate::scim::patch::apply_patch;
use crate::scim::projection::Projection;
use crate::scim::resource::{normalize, normalize_replacement};
use crate::scim::schema::ResourceKind;
use crate::store::{
    MembershipRow, ScimUserColumns, ScimUserRow, Store, Tx, User, UserKey, Visibility,
};

const KIND: ResourceKind = ResourceKind::User;

/// `GET /Users/{id}`.
pub fn get_user(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    projection: &Projection,
) -> Result<Answer, ServiceError> {
    store.read(|tx| {
        let row = visible_user(tx, scope, id)?;
        answer(tx, scope, &row, projection, false)
    })
}

/// `GET /Users` and `POST /Users/.search`.
///
/// The lookups Entra makes (`userName`, `externalId`, `id`, work email `eq`) are answered
/// from an index and the few candidates checked against the whole filter (the index finds
/// every resource full evaluation would, so the answer is the same); any other filter
/// loads and evaluates every visible user of the connection, which costs time and memory in
/// proportion to the connection's size.
pub fn list_users(
    store: &Store,
    scope: Scope<'_>,
    params: &ListParams,
) -> Result<Value, ServiceError> {
    let filter = params
        .filter
        .as_deref()
        .map(|text| Filter::parse_for(text, KIND))
        .transpose()?;

    store.read(|tx| {
        let (total, page) = match &filter {
            None => {
                let total = tx.scim_users_count(scope.connection)?;
                let (total, rows) = params.stored_page(total, |offset, limit| {
                    tx.scim_users_page(scope.connection, offset, limit)
                })?;
                let page: Vec<(ScimUserRow, Value)> = rows
                    .into_iter()
                    .map(|row| {
                        let resource = user_full(&row, &[], scope.base_url);
                        (row, resource)
                    })
                    .collect();
                (total, page)
            }
            Some(filter) => params.cut_page(filtered(tx, scope, filter)?),
        };

        let ids: Vec<&str> = page.iter().map(|(row, _)| row.user.id.as_str()).collect();
        let memberships = if ids.is_empty() {
            Vec::new()
        } else {
            tx.memberships_of_users(&ids)?
        };
        let resources = page
            .iter()
            .map(|(row, resource)| {
                let mut resource = resource.clone();
                let own: Vec<&MembershipRow> = memberships
                    .iter()
                    .filter(|m| m.user_id == row.user.id)
                    .collect();
                add_groups(&mut resource, &own, scope.base_url);
                params.projection.apply(&resource, KIND)
            })
            .collect();
        Ok(list_response(total, params.start_index, resources))
    })
}

/// `POST /Users`. A userName or email of an account SCIM deleted, or of one SAML or sync
/// created, takes that account over; of a live SCIM account, answers 409.
pub fn create_user(
    store: &Store,
    scope: Scope<'_>,
    body: &Value,
    projection: &Projection,
) -> Result<Answer, ServiceError> {
    let resource = normalize(KIND, body)?;
    let user_name = text(&resource, "userName");
    let email = account_email(&resource, scope.config);

    store.write(|tx| {
        let mut target = same_user_name(tx, scope, &user_name, None)?;
        if let Some(row) = &target
            && row.deleted_at.is_none()
            && row.resource.is_some()
        {
            return Err(uniqueness(format!(
                "userName {user_name:?} is already in use"
            )));
        }
        // An email held by an account SCIM does not manage (or deleted) is the same person.
        let holder = match &email {
            Some(email) => same_email(tx, scope, email, None)?,
            None => None,
        };
        if target.is_none()
            && let Some(h) = &holder
            && (h.deleted_at.is_some() || h.resource.is_none())
        {
            target = holder.clone();
        }

        let now = scope.now.naive_utc();
        let row = match target {
            Some(found) => {
                // Locked, then read again: another write of the account (a second POST taking
                // it over) commits first, and a resource it made live is this one's conflict.
                tx.lock_user(&found.user.id)?;
                let existing = tx
                    .scim_user(
                        scope.connection,
                        &found.user.id,
                        Visibility::IncludingDeleted,
                    )?
                    .filter(|row| row.deleted_at.is_some() || row.resource.is_none())
                    .ok_or_else(|| {
                        uniqueness(format!(
                            "userName {user_name:?} or its email was just taken by another \
                             resource"
                        ))
                    })?;
                let holders = users_named(tx, scope, &user_name, Some(&existing.user))?;
                release_deleted(tx, &holders)?;
                let mut columns = user_columns(&resource, scope.config, Some(&existing.user), true);
                keep_email_unique(tx, scope, &mut columns, Some(&existing.user))?;
                tx.update_scim_user(scope.connection, &existing.user, &columns, now)?
            }
            None => {
                let mut columns = user_columns(&resource, scope.config, None, true);
                // `holder` already answers the email lookup for the resource's own email.
                if email.as_deref() == Some(columns.email.as_str()) {
                    if holder.is_some() && !columns.email.is_empty() {
                        tracing::debug!(
                            connection = scope.connection,
                            "email already held by another account; the new account has none"
                        );
                        columns.email = String::new();
                    }
                } else {
                    keep_email_unique(tx, scope, &mut columns, None)?;
                }
                let id = crate::store::new_id();
                let row = tx.insert_scim_user(scope.connection, &id, &columns, now)?;
                // A new account belongs to no group yet.
                return Ok(Answer {
                    id: row.user.id.clone(),
                    body: Some(projection.apply(&user_full(&row, &[], scope.base_url), KIND)),
                    version: version(row.user.version),
                    created: true,
                });
            }
        };
        let mut answer = answer(tx, scope, &row, projection, false)?;
        answer.created = true;
        Ok(answer)
    })
}

/// `PUT /Users/{id}`.
pub fn replace_user(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    projection: &Projection,
) -> Result<Answer, ServiceError> {
    store.write(|tx| {
        let row = writable_user(tx, scope, id)?;
        check_if_match(if_match, version(row.user.version))?;
        let existing = with_id(user_base(&row), &row.user.id);
        let mut resource = normalize_replacement(KIND, body, &existing)?;
        if let Some(object) = resource.as_object_mut() {
            object.remove("id");
        }
        write_over(tx, scope, &row, &resource, projection)
    })
}

/// `PATCH /Users/{id}`; answers the resource (200).
pub fn patch_user(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    projection: &Projection,
) -> Result<Answer, ServiceError> {
    store.write(|tx| {
        let row = writable_user(tx, scope, id)?;
        check_if_match(if_match, version(row.user.version))?;
        let outcome = apply_patch(&with_id(user_base(&row), &row.user.id), KIND, body)?;
        if !outcome.changed && row.resource.is_some() {
            return answer(tx, scope, &row, projection, false);
        }
        write_over(tx, scope, &row, &outcome.resource, projection)
    })
}

/// `DELETE /Users/{id}`: the resource leaves SCIM's view; the account stays, deactivated.
pub fn delete_user(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ServiceError> {
    store.write(|tx| {
        let row = writable_user(tx, scope, id)?;
        check_if_match(if_match, version(row.user.version))?;
        tx.scim_delete_user(&row.user, scope.now.naive_utc())?;
        Ok(())
    })
}

/// Writes a new resource over an existing user after the uniqueness checks.
fn write_over(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    row: &ScimUserRow,
    resource: &Value,
    projection: &Projection,
) -> Result<Answer, ServiceError> {
    // The base a PATCH or PUT starts from carries `active: false` for an inactive account, so
    // a resource without `active` is one whose client removed or never sent it: an unassigned
    // `active` means an active account, as on creation.
    let mut columns: ScimUserColumns = user_columns(resource, scope.config, Some(&row.user), true);
    let user_name = text(resource, "userName");
    let holders = users_named(tx, scope, &user_name, Some(&row.user))?;
    if holders.iter().any(|holder| holder.deleted_at.is_none()) {
        return Err(uniqueness(format!(
            "userName {user_name:?} is already in use"
        )));
    }
    release_deleted(tx, &holders)?;
    keep_email_unique(tx, scope, &mut columns, Some(&row.user))?;
    if holds_already(row, &columns) {
        return answer(tx, scope, row, projection, false);
    }
    let written =
        tx.update_scim_user(scope.connection, &row.user, &columns, scope.now.naive_utc())?;
    answer(tx, scope, &written, projection, false)
}

/// Frees a userName the accounts SCIM deleted among `holders` held (in turn, when a live
/// resource took it and was deleted too): a resource SCIM deleted is gone (RFC 7644 §3.6), so
/// its userName is free for the account a write names.
fn release_deleted(tx: &mut Tx<'_>, holders: &[ScimUserRow]) -> Result<(), ServiceError> {
    for holder in holders.iter().filter(|holder| holder.deleted_at.is_some()) {
        tx.release_scim_user_name(&holder.user.id)?;
    }
    Ok(())
}

/// Whether a visible account already holds exactly these columns (the keys derive from the
/// resource): writing them again would only bump the version and tell the host application
/// of a change that is none, as a client repeating a PUT would.
fn holds_already(row: &ScimUserRow, columns: &ScimUserColumns) -> bool {
    let user = &row.user;
    row.deleted_at.is_none()
        && row.resource.as_deref() == Some(columns.resource.as_str())
        && user.email == columns.email
        && user.user_name == columns.user_name
        && user.given_name == columns.given_name
        && user.family_name == columns.family_name
        && user.display_name == columns.display_name
        && user.active == columns.active
}

/// The account (other than `except`), SCIM-deleted or not, whose SCIM userName is
/// `user_name` (compared without regard to the case of ASCII letters): a live one before one
/// SCIM deleted.
fn same_user_name(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    user_name: &str,
    except: Option<&User>,
) -> Result<Option<ScimUserRow>, ServiceError> {
    let mut holders = users_named(tx, scope, user_name, except)?;
    holders.sort_by_key(|row| row.deleted_at.is_some());
    Ok(holders.into_iter().next())
}

/// Every account (other than `except`), SCIM-deleted or not, whose SCIM userName is
/// `user_name`: one live resource at most, and accounts SCIM deleted.
fn users_named(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    user_name: &str,
    except: Option<&User>,
) -> Result<Vec<ScimUserRow>, ServiceError> {
    let key = fold_case(user_name);
    let candidates = tx.scim_users_by(
        scope.connection,
        UserKey::UserName(&key),
        Visibility::IncludingDeleted,
    )?;
    Ok(candidates
        .into_iter()
        .filter(|row| {
            except.is_none_or(|e| e.id != row.user.id)
                && fold_case(&text(&user_base(row), "userName")) == key
        })
        .collect())
}

/// RFC 7643 does not make emails unique, but sign-in matches accounts by email, so one
/// account per connection holds an address: when another account already holds the new
/// email, the account keeps its previous one (a new account gets none) and the resource
/// still carries the address.
fn keep_email_unique(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    columns: &mut ScimUserColumns,
    previous: Option<&User>,
) -> Result<(), ServiceError> {
    if columns.email.is_empty() || previous.is_some_and(|p| p.email == columns.email) {
        return Ok(());
    }
    if same_email(tx, scope, &columns.email, previous)?.is_some() {
        tracing::debug!(
            connection = scope.connection,
            "email already held by another account; the account keeps its previous email"
        );
        columns.email = previous.map(|p| p.email.clone()).unwrap_or_default();
    }
    Ok(())
}

/// The account (other than `except`) holding this email in its email column.
fn same_email(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    email: &str,
    except: Option<&User>,
) -> Result<Option<ScimUserRow>, ServiceError> {
    let key = crate::store::email_key(email);
    let candidates = tx.scim_users_by(
        scope.connection,
        UserKey::Email(&key),
        Visibility::IncludingDeleted,
    )?;
    Ok(candidates
        .into_iter()
        .find(|row| except.is_none_or(|e| e.id != row.user.id)))
}

fn filtered(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    filter: &Filter,
) -> Result<Vec<(ScimUserRow, Value)>, ServiceError> {
    let simple = filter.as_simple_eq();
    let keys = simple
        .as_ref()
        .map(|eq| (fold_case(&eq.value), crate::store::email_key(&eq.value)));
    let lookup = match (&simple, &keys) {
        (Some(eq), Some((key, email_key))) => match eq.attribute {
            IndexedAttribute::Id => Some(UserKey::Id(&eq.value)),
            IndexedAttribute::ExternalId => Some(UserKey::ExternalId(&eq.value)),
            IndexedAttribute::UserName => Some(UserKey::UserName(key)),
            IndexedAttribute::WorkEmail => Some(UserKey::WorkEmail { key, email_key }),
            IndexedAttribute::DisplayName => None,
        },
        _ => None,
    };
    let rows = match lookup {
        Some(key) => tx.scim_users_by(scope.connection, key, Visibility::Visible)?,
        None => tx.scim_users_all(scope.connection)?,
    };
    // `groups` is read-only and not stored with the resource: a filter on it is evaluated
    // on the resources as a read shows them, memberships included.
    let memberships = if filter.mentions(KIND, "groups") && !rows.is_empty() {
        let ids: Vec<&str> = rows.iter().map(|row| row.user.id.as_str()).collect();
        tx.memberships_of_users(&ids)?
    } else {
        Vec::new()
    };
    let mut by_user: HashMap<&str, Vec<&MembershipRow>> = HashMap::new();
    for membership in &memberships {
        by_user
            .entry(membership.user_id.as_str())
            .or_default()
            .push(membership);
    }
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let own = by_user
                .get(row.user.id.as_str())
                .map_or(&[][..], Vec::as_slice);
            let resource = user_full(&row, own, scope.base_url);
            filter.matches(&resource, KIND).then_some((row, resource))
        })
        .collect())
}

/// The user a write is about, its row locked until the write commits ([`Tx::lock_user`]): a
/// concurrent write of it commits first, and this one then checks `If-Match` against, and
/// builds on, what that one wrote.
fn writable_user(tx: &mut Tx<'_>, scope: Scope<'_>, id: &str) -> Result<ScimUserRow, ServiceError> {
    if may_exist(id) {
        tx.lock_user(id)?;
    }
    visible_user(tx, scope, id)
}

fn visible_user(tx: &mut Tx<'_>, scope: Scope<'_>, id: &str) -> Result<ScimUserRow, ServiceError> {
    let row = if may_exist(id) {
        tx.scim_user(scope.connection, id, Visibility::Visible)?
    } else {
        None
    };
    row.ok_or_else(|| not_found("User", id).into())
}

fn answer(
    tx: &mut Tx<'_>,
    scope: Scope<'_>,
    row: &ScimUserRow,
    projection: &Projection,
    created: bool,
) -> Result<Answer, ServiceError> {
    let memberships = tx.memberships_of_users(&[row.user.id.as_str()])?;
    let own: Vec<&MembershipRow> = memberships.iter().collect();
    let resource = user_full(row, &own, scope.base_url);
    Ok(Answer {
        id: row.user.id.clone(),
        body: Some(projection.apply(&resource, KIND)),
        version: version(row.user.version),
        created,
    })
}

fn text(resource: &Value, name: &str) -> String {
    resource
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn uniqueness(detail: String) -> ServiceError {
    ScimError::bad(ScimType::Uniqueness, detail).into()
}
