//! Answered SAML requests and the assertion replay cache, shared by every replica.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{saml_answered_requests, saml_replay};
use super::{StoreError, Tx};

impl Tx<'_> {
    /// Records that request `id` of `connection` has been answered; returns false when it
    /// already was. Kept until `expires_at`, after which the ID itself is refused.
    pub fn answer_request(
        &mut self,
        connection: &str,
        id: &str,
        expires_at: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        let row = (
            saml_answered_requests::id.eq(id),
            saml_answered_requests::connection.eq(connection),
            saml_answered_requests::expires_at.eq(expires_at),
        );
        let inserted = insert_new!(&mut *self.conn, saml_answered_requests::table, row)?;
        Ok(inserted == 1)
    }

    /// Records an assertion id; returns false when it was already seen (a replay).
    pub fn remember_assertion(
        &mut self,
        connection: &str,
        assertion_id: &str,
        expires_at: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        let row = (
            saml_replay::connection.eq(connection),
            saml_replay::assertion_id.eq(assertion_id),
            saml_replay::expires_at.eq(expires_at),
        );
        // One statement: a conflict (seen before, here or on another replica) inserts nothing.
        let inserted = insert_new!(&mut *self.conn, saml_replay::table, row)?;
        Ok(inserted == 1)
    }

    /// Deletes expired answered requests and replay entries; returns how many rows went.
    pub fn purge_expired_saml_state(&mut self, now: NaiveDateTime) -> Result<usize, StoreError> {
        let answered = saml_answered_requests::expires_at.le(now);
        let requests =
            diesel::delete(saml_answered_requests::table.filter(answered)).execute(self.conn)?;
        let replay = diesel::delete(saml_replay::table.filter(saml_replay::expires_at.le(now)))
            .execute(self.conn)?;
        Ok(requests + replay)
    }
}
