//! Leases: a named job (a connection's sync, webhook delivery) held by one replica at a time
//! until it releases it or the lease expires (a crashed holder's lease is taken over).

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::schema::leases;
use super::{StoreError, Tx};

impl Tx<'_> {
    /// Takes or renews the lease `name` for `holder` until `expires_at`; returns whether
    /// `holder` now holds it. Run it in its own short transaction.
    pub fn acquire_lease(
        &mut self,
        name: &str,
        holder: &str,
        now: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        // Renew our own lease, or take over an expired one, in one conditional update.
        let taken = diesel::update(
            leases::table
                .find(name)
                .filter(leases::holder.eq(holder).or(leases::expires_at.le(now))),
        )
        .set((leases::holder.eq(holder), leases::expires_at.eq(expires_at)))
        .execute(self.conn)?;
        if taken > 0 {
            return Ok(true);
        }
        let exists: i64 = leases::table.find(name).count().get_result(self.conn)?;
        if exists > 0 {
            return Ok(false);
        }
        let inserted = diesel::insert_into(leases::table)
            .values((
                leases::name.eq(name),
                leases::holder.eq(holder),
                leases::expires_at.eq(expires_at),
            ))
            .execute(self.conn);
        match inserted {
            Ok(_) => Ok(true),
            // Another replica created it first.
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// [`Tx::acquire_lease`] from now, for `hold_for`.
    pub fn take_lease(
        &mut self,
        name: &str,
        holder: &str,
        hold_for: Duration,
    ) -> Result<bool, StoreError> {
        let now = chrono::Utc::now().naive_utc();
        self.acquire_lease(name, holder, now, expiry(hold_for))
    }

    /// Extends the lease `name` to `hold_for` from now if `holder` still holds it (expired or
    /// not); false when it has been released or another holder has taken it meanwhile, which
    /// taking it again would hide.
    pub fn renew_lease(
        &mut self,
        name: &str,
        holder: &str,
        hold_for: Duration,
    ) -> Result<bool, StoreError> {
        let renewed = diesel::update(leases::table.find(name).filter(leases::holder.eq(holder)))
            .set(leases::expires_at.eq(expiry(hold_for)))
            .execute(self.conn)?;
        Ok(renewed > 0)
    }

    /// Who holds the lease `name` and until when, if anyone has taken it.
    pub fn lease_holder(
        &mut self,
        name: &str,
    ) -> Result<Option<(String, NaiveDateTime)>, StoreError> {
        Ok(leases::table
            .find(name)
            .select((leases::holder, leases::expires_at))
            .first(self.conn)
            .optional()?)
    }

    /// Gives up every lease `holder` holds (graceful shutdown).
    pub fn release_leases_of(&mut self, holder: &str) -> Result<usize, StoreError> {
        Ok(diesel::delete(leases::table.filter(leases::holder.eq(holder))).execute(self.conn)?)
    }

    /// Gives up a lease held by `holder` (graceful shutdown, end of a run).
    pub fn release_lease(&mut self, name: &str, holder: &str) -> Result<(), StoreError> {
        diesel::delete(leases::table.find(name).filter(leases::holder.eq(holder)))
            .execute(self.conn)?;
        Ok(())
    }
}

/// When a lease taken or renewed now for `hold_for` ends.
fn expiry(hold_for: Duration) -> NaiveDateTime {
    (chrono::Utc::now() + chrono::Duration::from_std(hold_for).unwrap_or_default()).naive_utc()
}
