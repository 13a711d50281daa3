//! Rows as Rust values.

use chrono::{NaiveDateTime, Timelike};
use diesel::prelude::*;
use serde::Serialize;

use super::schema::users;

/// A user account of one connection. Never hard-deleted: `active = false` keeps its data.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = users)]
pub struct User {
    /// provisiond's own id (a UUID), stable for the account's life.
    pub id: String,
    /// The connection the account belongs to.
    pub connection: String,
    /// The IdP's stable id for the person (Entra object id), when known.
    pub external_id: Option<String>,
    /// Email address as the IdP last gave it.
    pub email: String,
    /// The email's key ([`email_key`]), unique per connection.
    #[serde(skip)]
    pub email_key: String,
    /// The IdP's user name (Entra UPN, SCIM userName), when known.
    pub user_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Whether the account may sign in.
    pub active: bool,
    /// Which path created it: `saml`, `scim` or `sync`.
    pub source: String,
    /// Bumped on every change (SCIM ETag).
    pub version: i64,
    /// When it was created (UTC).
    pub created_at: NaiveDateTime,
    /// When it last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// Last successful sign-in (UTC).
    pub last_login_at: Option<NaiveDateTime>,
}

/// A user about to be created.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
// `None` is NULL (no column has a default), which lets SQLite take many rows per statement.
#[diesel(treat_none_as_default_value = false)]
pub struct NewUser {
    pub id: String,
    pub connection: String,
    pub external_id: Option<String>,
    pub email: String,
    pub email_key: String,
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub source: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

impl From<NewUser> for User {
    fn from(user: NewUser) -> Self {
        User {
            id: user.id,
            connection: user.connection,
            external_id: user.external_id,
            email: user.email,
            email_key: user.email_key,
            user_name: user.user_name,
            given_name: user.given_name,
            family_name: user.family_name,
            display_name: user.display_name,
            active: user.active,
            source: user.source,
            version: user.version,
            created_at: user.created_at,
            updated_at: user.updated_at,
            last_login_at: user.last_login_at,
        }
    }
}

/// Profile fields an update may set; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub active: Option<bool>,
}

impl UserChanges {
    /// Whether applying these changes to `user` would change anything.
    pub fn differs_from(&self, user: &User) -> bool {
        fn differs(new: &Option<String>, old: &Option<String>) -> bool {
            new.is_some() && new != old
        }
        differs(&self.external_id, &user.external_id)
            || self
                .email
                .as_ref()
                .is_some_and(|email| *email != user.email)
            || differs(&self.user_name, &user.user_name)
            || differs(&self.given_name, &user.given_name)
            || differs(&self.family_name, &user.family_name)
            || differs(&self.display_name, &user.display_name)
            || self.active.is_some_and(|active| active != user.active)
    }
}

/// Normalises an email for uniqueness and matching: trimmed, ASCII letters lowercased
/// ([`crate::fold::fold_case`]).
pub fn email_key(email: &str) -> String {
    crate::fold::fold_case(email.trim())
}

/// `now` as both backends store it (PostgreSQL keeps microseconds), so a row built in memory
/// equals the row read back.
pub(crate) fn stored_precision(now: NaiveDateTime) -> NaiveDateTime {
    let micros = now.and_utc().timestamp_subsec_micros();
    now.with_nanosecond(micros * 1000).unwrap_or(now)
}
