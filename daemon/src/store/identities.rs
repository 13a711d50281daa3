//! The IdP subjects seen for each user (issuer + NameID), with first and last sighting.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::identities;
use super::{StoreError, Tx};

impl Tx<'_> {
    /// Records that `subject` at `issuer` signed in as `user_id`.
    pub fn link_identity(
        &mut self,
        connection: &str,
        issuer: &str,
        subject: &str,
        user_id: &str,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let key = (connection, issuer, subject);
        let updated = diesel::update(identities::table.find(key))
            .set((
                identities::user_id.eq(user_id),
                identities::last_seen_at.eq(now),
            ))
            .execute(self.conn)?;
        if updated == 0 {
            diesel::insert_into(identities::table)
                .values((
                    identities::connection.eq(connection),
                    identities::issuer.eq(issuer),
                    identities::subject.eq(subject),
                    identities::user_id.eq(user_id),
                    identities::first_seen_at.eq(now),
                    identities::last_seen_at.eq(now),
                ))
                .execute(self.conn)?;
        }
        Ok(())
    }
}
