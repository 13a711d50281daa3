//! The IdP subjects seen for each user (issuer + NameID), with first and last sighting. Rows
//! are keyed by the user, so a subject seen with two users (an account replaced at the IdP)
//! is on record for each.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::identities;
use super::{DbConnection, StoreError, Tx};

impl Tx<'_> {
    /// Records that `subject` at `issuer` signed in as `user_id`: a first sighting, or the
    /// latest.
    pub fn link_identity(
        &mut self,
        connection: &str,
        issuer: &str,
        subject: &str,
        user_id: &str,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let row = (
            identities::connection.eq(connection),
            identities::issuer.eq(issuer),
            identities::subject.eq(subject),
            identities::user_id.eq(user_id),
            identities::first_seen_at.eq(now),
            identities::last_seen_at.eq(now),
        );
        let seen_again = identities::last_seen_at.eq(now);
        match &mut *self.conn {
            // A first sighting is one insert whose prepared statement is cached (an upsert's
            // is compiled again on every call); a known subject is then updated.
            DbConnection::Sqlite(conn) => {
                let inserted = diesel::insert_or_ignore_into(identities::table)
                    .values(row)
                    .execute(conn)?;
                if inserted == 0 {
                    diesel::update(identities::table.find((user_id, issuer, subject)))
                        .set(seen_again)
                        .execute(conn)?;
                }
            }
            DbConnection::Pg(conn) => {
                let key = (identities::user_id, identities::issuer, identities::subject);
                diesel::insert_into(identities::table)
                    .values(row)
                    .on_conflict(key)
                    .do_update()
                    .set(seen_again)
                    .execute(conn)?;
            }
        };
        Ok(())
    }
}
