//! SCIM bearer tokens of connections, stored only as hashes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::scim_tokens;
use super::{StoreError, Tx};

/// A SCIM token's record; the token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = scim_tokens)]
pub struct ScimToken {
    /// The token's id (a UUID), for listing and revoking.
    pub id: String,
    /// The connection whose SCIM endpoint it opens.
    pub connection: String,
    /// The hash the token is found by.
    #[serde(skip)]
    pub token_hash: String,
    /// A note saying what it is for.
    pub label: String,
    /// When it was created (UTC).
    pub created_at: NaiveDateTime,
    /// When it was last used, to the minute (UTC).
    pub last_used_at: Option<NaiveDateTime>,
    /// When it was revoked, if it was (UTC).
    pub revoked_at: Option<NaiveDateTime>,
}

/// `last_used_at` is written at most this often per token, so verifying stays a read.
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

impl Tx<'_> {
    /// Stores a new token's hash.
    pub fn insert_scim_token(
        &mut self,
        id: &str,
        connection: &str,
        token_hash: &str,
        label: &str,
        now: NaiveDateTime,
    ) -> Result<ScimToken, StoreError> {
        diesel::insert_into(scim_tokens::table)
            .values((
                scim_tokens::id.eq(id),
                scim_tokens::connection.eq(connection),
                scim_tokens::token_hash.eq(token_hash),
                scim_tokens::label.eq(label),
                scim_tokens::created_at.eq(now),
            ))
            .execute(self.conn)?;
        Ok(scim_tokens::table
            .find(id)
            .select(ScimToken::as_select())
            .first(self.conn)?)
    }

    /// Tokens, optionally of one connection, oldest first.
    pub fn scim_tokens(&mut self, connection: Option<&str>) -> Result<Vec<ScimToken>, StoreError> {
        let mut query = scim_tokens::table
            .select(ScimToken::as_select())
            .into_boxed();
        if let Some(connection) = connection {
            query = query.filter(scim_tokens::connection.eq(connection.to_string()));
        }
        Ok(query
            .order((scim_tokens::created_at, scim_tokens::id))
            .load(self.conn)?)
    }

    /// Revokes a token; returns false when no unrevoked token has this id.
    pub fn revoke_scim_token(&mut self, id: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
        let changed = diesel::update(
            scim_tokens::table
                .filter(scim_tokens::id.eq(id))
                .filter(scim_tokens::revoked_at.is_null()),
        )
        .set(scim_tokens::revoked_at.eq(Some(now)))
        .execute(self.conn)?;
        Ok(changed > 0)
    }

    /// The unrevoked token with this hash.
    pub fn scim_token_by_hash(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<ScimToken>, StoreError> {
        Ok(on_backend!(self.conn, c => scim_tokens::table
            .filter(scim_tokens::token_hash.eq(token_hash))
            .filter(scim_tokens::revoked_at.is_null())
            .select(ScimToken::as_select())
            .first(c)
            .optional())?)
    }

    /// Records a use of a token, unless one was recorded less than a minute ago; returns
    /// whether it wrote.
    pub fn touch_scim_token(
        &mut self,
        token: &ScimToken,
        now: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        let fresh = token
            .last_used_at
            .is_some_and(|last| (now - last).num_seconds().abs() < LAST_USED_GRANULARITY_SECONDS);
        if fresh {
            return Ok(false);
        }
        diesel::update(scim_tokens::table.find(&token.id))
            .set(scim_tokens::last_used_at.eq(Some(now)))
            .execute(self.conn)?;
        Ok(true)
    }
}
