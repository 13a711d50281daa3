//! The SCIM server's domain layer: what each request does to the store.
//!
//! Routes call one function per operation with the connection, the SCIM base URL and `now`
//! (a [`Scope`]); each function runs in one store transaction and answers a resource, a list
//! or a [`ServiceError`] the HTTP layer maps to a response. The rules that tie SCIM to the rest
//! of provisiond live here:
//!
//! - The SCIM view of a connection is every account not deleted through SCIM, including those
//!   SAML or sync created (shown from their columns until SCIM first writes them), so Entra's
//!   lookup finds an account a person already signed in with instead of creating a duplicate.
//! - `users.email` changes only from `emails[]` (work, else primary, else first), never from
//!   `userName`; a resource with no email keeps the stored one, and so does one whose email
//!   a sign-in to the connection would refuse (not an address, or outside its domains). An
//!   inactive user renamed to a tombstone-looking userName (Entra prefixes its object id on
//!   soft delete) keeps its user name and email columns.
//! - `active: false` deactivates the account and ends its sessions; the resource stays
//!   readable. DELETE hides the resource from SCIM (404 afterwards, RFC 7644 §3.6) but keeps
//!   the account, deactivated, with its data; it leaves its groups.
//! - A POST whose userName (or email) names an account SCIM deleted, or one SAML or sync
//!   created, takes that account over (same id, answered 201) instead of answering 409; a
//!   live SCIM account with that userName or email is a 409 `uniqueness`.
//! - Group members must be users SCIM sees in the same connection; any other id is a 400
//!   `invalidValue` (nested groups are not supported).

mod columns;
mod groups;
mod list;
mod render;
mod users;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use groups::{create_group, delete_group, get_group, list_groups, patch_group, replace_group};
pub use list::ListParams;
pub use users::{create_user, delete_user, get_user, list_users, patch_user, replace_user};

use super::error::{ScimError, ScimType};
use super::resource::parse_etag;
use crate::config::ConnectionConfig;
use crate::store::StoreError;

/// Where a request runs: the connection, its SCIM base URL and the time.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The connection named in the URL (already authenticated).
    pub connection: &'a str,
    /// That connection's configuration: its domains decide which addresses an account may
    /// take (those a sign-in to the connection would accept).
    pub config: &'a ConnectionConfig,
    /// `{base_url}/scim/v2/{connection}`, no trailing slash; for `meta.location`.
    pub base_url: &'a str,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A resource as answered: its JSON and version (for the `ETag` header).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The resource's id.
    pub id: String,
    /// The resource after projection; `None` when the answer has no body (204).
    pub body: Option<Value>,
    /// The version the `ETag` header carries.
    pub version: u64,
    /// Whether a POST created (or took over) the account: answer 201.
    pub created: bool,
}

/// Why a SCIM operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A protocol error: answer with its status and RFC 7644 body.
    #[error(transparent)]
    Scim(#[from] ScimError),
    /// The store failed: answer 500 and log it.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ServiceError {
    /// A unique index refusing a write (two writers racing for one userName) is a
    /// `uniqueness` conflict, not a server error.
    fn from(err: StoreError) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            StoreError::Query(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                ServiceError::Scim(ScimError::bad(
                    ScimType::Uniqueness,
                    "another resource already holds this unique value",
                ))
            }
            other => ServiceError::Store(other),
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(err: diesel::result::Error) -> Self {
        StoreError::from(err).into()
    }
}

/// Checks an `If-Match` header against the stored version (RFC 7644 §3.14); `*` matches any.
pub fn check_if_match(if_match: Option<&str>, current: u64) -> Result<(), ScimError> {
    let Some(header) = if_match.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(());
    };
    if header == "*" {
        return Ok(());
    }
    let matches = header
        .split(',')
        .filter_map(parse_etag)
        .any(|version| version == current);
    if matches {
        Ok(())
    } else {
        Err(ScimError::PreconditionFailed {
            expected: header.chars().take(64).collect(),
            current: super::resource::etag(current),
        })
    }
}

/// `POST /.search` at the root (RFC 7644 §3.4.3): Users, then Groups, with one paging.
/// Each kind contributes at most `filter.maxResults` resources before paging.
pub fn search_all(
    store: &crate::store::Store,
    scope: Scope<'_>,
    params: &ListParams,
) -> Result<Value, ServiceError> {
    let mut each = params.clone();
    each.start_index = 1;
    each.count = super::schema::MAX_RESULTS;
    let users = list_users(store, scope, &each)?;
    let groups = list_groups(store, scope, &each)?;
    let total = ["totalResults"]
        .iter()
        .map(|k| users[k].as_u64().unwrap_or(0) + groups[k].as_u64().unwrap_or(0))
        .sum::<u64>();
    let resources: Vec<Value> = [users, groups]
        .into_iter()
        .flat_map(|list| match list.get("Resources") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        })
        .skip(params.offset())
        .take(params.count)
        .collect();
    Ok(list::list_response(
        usize::try_from(total).unwrap_or_default(),
        params.start_index,
        resources,
    ))
}

fn version(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

fn not_found(kind: &str, id: &str) -> ScimError {
    ScimError::NotFound(format!(
        "{kind} {}",
        id.chars().take(64).collect::<String>().escape_debug()
    ))
}

/// Whether `id` can name a stored resource: ids are UUIDs and hold no NUL character, which
/// PostgreSQL could not even compare (it would answer an error, not "no such row").
fn may_exist(id: &str) -> bool {
    !id.contains('\0')
}
