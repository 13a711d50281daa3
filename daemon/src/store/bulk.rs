//! Bulk reads and writes for reconciliation: a connection's whole state in a few queries, and
//! multi-row inserts and set-based updates so applying a large plan costs a handful of
//! statements per batch rather than several per row.
//!
//! Every write here is idempotent or guarded by the unique indexes (users by connection and
//! external id or email, groups by connection and external id, memberships by their key), so a
//! batch replayed after a crash cannot duplicate anything.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::DbConnection;
use super::events::EventKind;
use super::groups::{Group, NewGroup};
use super::models::{NewUser, email_key};
use super::schema::{group_members, groups, users};
use super::{StoreError, Tx};

/// Profile values a sync sets on a user, every column as the IdP gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedProfile {
    /// The IdP's stable id.
    pub external_id: String,
    /// Email address.
    pub email: String,
    /// Sign-in name.
    pub user_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
}

/// Most ids bound in one `IN (...)` list.
const IN_CHUNK: usize = 500;

impl Tx<'_> {
    /// Every group of a connection, deleted ones included.
    pub fn all_groups(&mut self, connection: &str) -> Result<Vec<Group>, StoreError> {
        Ok(groups::table
            .filter(groups::connection.eq(connection))
            .select(Group::as_select())
            .load(self.conn)?)
    }

    /// How many active users a connection has.
    pub fn count_active_users(&mut self, connection: &str) -> Result<u64, StoreError> {
        let count: i64 = users::table
            .filter(users::connection.eq(connection))
            .filter(users::active.eq(true))
            .count()
            .get_result(self.conn)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Inserts users with one multi-row statement.
    pub fn insert_users(&mut self, rows: &[NewUser]) -> Result<usize, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let inserted = match &mut *self.conn {
            DbConnection::Sqlite(conn) => diesel::insert_into(users::table)
                .values(rows)
                .execute(conn)?,
            DbConnection::Pg(conn) => diesel::insert_into(users::table)
                .values(rows)
                .execute(conn)?,
        };
        let events: Vec<_> = rows
            .iter()
            .map(|user| {
                let data = serde_json::json!({
                    "id": user.id, "connection": user.connection, "external_id": user.external_id,
                    "email": user.email, "user_name": user.user_name,
                    "given_name": user.given_name, "family_name": user.family_name,
                    "display_name": user.display_name, "active": user.active,
                    "source": user.source,
                });
                (
                    EventKind::UserCreated,
                    user.connection.clone(),
                    user.id.clone(),
                    data,
                )
            })
            .collect();
        let now = rows.first().map(|user| user.created_at).unwrap_or_default();
        self.record_events(&events, now)?;
        Ok(inserted)
    }

    /// Inserts groups with one multi-row statement.
    pub fn insert_groups(&mut self, rows: &[NewGroup]) -> Result<usize, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let inserted = match &mut *self.conn {
            DbConnection::Sqlite(conn) => diesel::insert_into(groups::table)
                .values(rows)
                .execute(conn)?,
            DbConnection::Pg(conn) => diesel::insert_into(groups::table)
                .values(rows)
                .execute(conn)?,
        };
        let events: Vec<_> = rows
            .iter()
            .map(|group| {
                let data = serde_json::json!({
                    "id": group.id, "connection": group.connection,
                    "external_id": group.external_id, "display_name": group.display_name,
                    "source": group.source,
                });
                (
                    EventKind::GroupCreated,
                    group.connection.clone(),
                    group.id.clone(),
                    data,
                )
            })
            .collect();
        let now = rows
            .first()
            .map(|group| group.created_at)
            .unwrap_or_default();
        self.record_events(&events, now)?;
        Ok(inserted)
    }

    /// Sets every profile column of a user as the IdP gives it, bumping its version.
    pub fn set_synced_profile(
        &mut self,
        user_id: &str,
        profile: &SyncedProfile,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        diesel::update(users::table.find(user_id))
            .set((
                users::external_id.eq(Some(&profile.external_id)),
                users::email_key.eq(email_key(&profile.email)),
                users::email.eq(&profile.email),
                users::user_name.eq(&profile.user_name),
                users::given_name.eq(&profile.given_name),
                users::family_name.eq(&profile.family_name),
                users::display_name.eq(&profile.display_name),
                users::version.eq(users::version + 1),
                users::updated_at.eq(now),
            ))
            .execute(self.conn)?;
        if let Some(user) = self.user(user_id)? {
            self.user_event(EventKind::UserUpdated, &user, now)?;
        }
        Ok(())
    }

    /// Activates or deactivates users that are not already in that state; returns how many
    /// changed. Data stays: nothing is deleted.
    pub fn set_users_active(
        &mut self,
        user_ids: &[String],
        active: bool,
        now: NaiveDateTime,
    ) -> Result<usize, StoreError> {
        let mut changed = 0;
        let kind = if active {
            EventKind::UserReactivated
        } else {
            EventKind::UserDeactivated
        };
        for chunk in user_ids.chunks(IN_CHUNK) {
            let flipping: Vec<(String, String)> = users::table
                .filter(users::id.eq_any(chunk))
                .filter(users::active.ne(active))
                .select((users::id, users::connection))
                .load(self.conn)?;
            let events: Vec<_> = flipping
                .into_iter()
                .map(|(id, connection)| {
                    let data = serde_json::json!({ "id": id, "active": active });
                    (kind, connection, id, data)
                })
                .collect();
            self.record_events(&events, now)?;
            changed += diesel::update(users::table)
                .filter(users::id.eq_any(chunk))
                .filter(users::active.ne(active))
                .set((
                    users::active.eq(active),
                    users::version.eq(users::version + 1),
                    users::updated_at.eq(now),
                ))
                .execute(self.conn)?;
        }
        Ok(changed)
    }

    /// Adds memberships, ignoring ones already present; returns how many were new.
    pub fn add_members(&mut self, pairs: &[(String, String)]) -> Result<usize, StoreError> {
        if pairs.is_empty() {
            return Ok(0);
        }
        let rows: Vec<_> = pairs
            .iter()
            .map(|(group, user)| {
                (
                    group_members::group_id.eq(group),
                    group_members::user_id.eq(user),
                )
            })
            .collect();
        let added = match &mut *self.conn {
            DbConnection::Sqlite(conn) => diesel::insert_or_ignore_into(group_members::table)
                .values(&rows)
                .execute(conn)?,
            DbConnection::Pg(conn) => diesel::insert_into(group_members::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .execute(conn)?,
        };
        let events = self.member_events(EventKind::MemberAdded, pairs)?;
        self.record_events(&events, chrono::Utc::now().naive_utc())?;
        Ok(added)
    }

    /// Membership events for `(group, user)` pairs, with each group's connection.
    fn member_events(
        &mut self,
        kind: EventKind,
        pairs: &[(String, String)],
    ) -> Result<Vec<(EventKind, String, String, serde_json::Value)>, StoreError> {
        let mut connections = std::collections::HashMap::new();
        let group_ids: Vec<&String> = pairs.iter().map(|(group, _)| group).collect();
        for chunk in group_ids.chunks(IN_CHUNK) {
            let rows: Vec<(String, String)> = groups::table
                .filter(groups::id.eq_any(chunk))
                .select((groups::id, groups::connection))
                .load(self.conn)?;
            connections.extend(rows);
        }
        Ok(pairs
            .iter()
            .filter_map(|(group, user)| {
                let connection = connections.get(group)?.clone();
                let data = serde_json::json!({ "group_id": group, "user_id": user });
                Some((kind, connection, user.clone(), data))
            })
            .collect())
    }

    /// Removes memberships; returns how many were there.
    pub fn remove_members(&mut self, pairs: &[(String, String)]) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut gone = Vec::new();
        for (group, user) in pairs {
            let count =
                diesel::delete(group_members::table.find((group, user))).execute(self.conn)?;
            if count > 0 {
                gone.push((group.clone(), user.clone()));
            }
            removed += count;
        }
        let events = self.member_events(EventKind::MemberRemoved, &gone)?;
        self.record_events(&events, chrono::Utc::now().naive_utc())?;
        Ok(removed)
    }

    /// Bumps the version of groups whose members changed.
    pub fn touch_groups(
        &mut self,
        group_ids: &[String],
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        for chunk in group_ids.chunks(IN_CHUNK) {
            diesel::update(groups::table)
                .filter(groups::id.eq_any(chunk))
                .set((
                    groups::version.eq(groups::version + 1),
                    groups::updated_at.eq(now),
                ))
                .execute(self.conn)?;
        }
        Ok(())
    }

    /// Renames a group and brings it back if it was deleted, bumping its version.
    pub fn set_group_name(
        &mut self,
        group_id: &str,
        display_name: &str,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        diesel::update(groups::table.find(group_id))
            .set((
                groups::display_name.eq(display_name),
                groups::deleted_at.eq(None::<NaiveDateTime>),
                groups::version.eq(groups::version + 1),
                groups::updated_at.eq(now),
            ))
            .execute(self.conn)?;
        if let Some(group) = self.group(group_id)? {
            self.group_event(EventKind::GroupUpdated, &group, now)?;
        }
        Ok(())
    }
}
