//! Browser sessions, stored by a keyed hash of the cookie value.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::models::User;
use super::schema::{sessions, users};
use super::{StoreError, Tx};

impl Tx<'_> {
    /// Stores a new session.
    pub fn create_session(
        &mut self,
        token_hash: &str,
        user_id: &str,
        connection: &str,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let insert = diesel::insert_into(sessions::table).values((
            sessions::token_hash.eq(token_hash),
            sessions::user_id.eq(user_id),
            sessions::connection.eq(connection),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ));
        on_backend!(self.conn, c => insert.execute(c))?;
        Ok(())
    }

    /// The active user of an unexpired session.
    pub fn session_user(
        &mut self,
        token_hash: &str,
        now: NaiveDateTime,
    ) -> Result<Option<User>, StoreError> {
        Ok(sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::expires_at.gt(now))
            .filter(users::active.eq(true))
            .select(User::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// Ends one session.
    pub fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        diesel::delete(sessions::table.find(token_hash)).execute(self.conn)?;
        Ok(())
    }

    /// Ends every session of the users `user_ids` (their deactivation, or a SCIM delete).
    pub fn delete_sessions_of(&mut self, user_ids: &[&str]) -> Result<usize, StoreError> {
        if user_ids.is_empty() {
            return Ok(0);
        }
        Ok(
            diesel::delete(sessions::table.filter(sessions::user_id.eq_any(user_ids)))
                .execute(self.conn)?,
        )
    }

    /// Deletes expired sessions.
    pub fn purge_expired_sessions(&mut self, now: NaiveDateTime) -> Result<usize, StoreError> {
        Ok(
            diesel::delete(sessions::table.filter(sessions::expires_at.le(now)))
                .execute(self.conn)?,
        )
    }
}
