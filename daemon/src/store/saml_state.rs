//! Outstanding SAML requests and the assertion replay cache, shared by every replica.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{saml_replay, saml_requests};
use super::{DbConnection, StoreError, Tx};

/// An AuthnRequest provisiond issued and has not yet seen answered.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = saml_requests)]
pub struct OutstandingRequest {
    pub id: String,
    pub connection: String,
    pub relay_state: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl Tx<'_> {
    /// Remembers an issued request until it expires.
    pub fn save_request(&mut self, request: &OutstandingRequest) -> Result<(), StoreError> {
        diesel::insert_into(saml_requests::table)
            .values(request)
            .execute(self.conn)?;
        Ok(())
    }

    /// Removes and returns the request `id` of `connection` if it is still outstanding.
    ///
    /// Taking it makes it single-use: a second response to the same request finds nothing.
    pub fn take_request(
        &mut self,
        connection: &str,
        id: &str,
        now: NaiveDateTime,
    ) -> Result<Option<OutstandingRequest>, StoreError> {
        let found: Option<OutstandingRequest> = saml_requests::table
            .find(id)
            .filter(saml_requests::connection.eq(connection))
            .first(self.conn)
            .optional()?;
        let Some(request) = found else {
            return Ok(None);
        };
        diesel::delete(saml_requests::table.find(id)).execute(self.conn)?;
        Ok((request.expires_at > now).then_some(request))
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
        // One statement: a conflict (seen before, here or on another replica) inserts nothing,
        // and on PostgreSQL it does not abort the transaction as a failed insert would.
        let inserted = match &mut *self.conn {
            DbConnection::Sqlite(conn) => diesel::insert_or_ignore_into(saml_replay::table)
                .values(row)
                .execute(conn)?,
            DbConnection::Pg(conn) => diesel::insert_into(saml_replay::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(conn)?,
        };
        Ok(inserted == 1)
    }

    /// Deletes expired requests and replay entries; returns how many rows went.
    pub fn purge_expired_saml_state(&mut self, now: NaiveDateTime) -> Result<usize, StoreError> {
        let requests =
            diesel::delete(saml_requests::table.filter(saml_requests::expires_at.le(now)))
                .execute(self.conn)?;
        let replay = diesel::delete(saml_replay::table.filter(saml_replay::expires_at.le(now)))
            .execute(self.conn)?;
        Ok(requests + replay)
    }
}
