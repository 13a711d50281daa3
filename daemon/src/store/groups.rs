//! Groups and their members. A deleted group keeps its row (`deleted_at`) and loses its
//! memberships; users are never removed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::events::EventKind;
use super::schema::{group_members, groups};
use super::{StoreError, Tx};

/// A group of one connection.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = groups)]
pub struct Group {
    /// provisiond's own id (a UUID).
    pub id: String,
    /// The connection the group belongs to.
    pub connection: String,
    /// The IdP's id for the group (Entra object id), when known.
    pub external_id: Option<String>,
    /// Display name.
    pub display_name: String,
    /// Which path created it: `scim` or `sync`.
    pub source: String,
    /// Bumped on every change (SCIM ETag).
    pub version: i64,
    /// When it was deleted, if it was.
    pub deleted_at: Option<NaiveDateTime>,
    /// When it was created (UTC).
    pub created_at: NaiveDateTime,
    /// When it last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A group about to be created.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = groups)]
// `None` is NULL (no column has a default), which lets SQLite take many rows per statement.
#[diesel(treat_none_as_default_value = false)]
pub struct NewGroup {
    pub id: String,
    pub connection: String,
    pub external_id: Option<String>,
    pub display_name: String,
    pub source: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Tx<'_> {
    /// The group with this id, deleted or not.
    pub fn group(&mut self, id: &str) -> Result<Option<Group>, StoreError> {
        Ok(groups::table
            .find(id)
            .select(Group::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// The group a connection knows by this external id, deleted or not.
    pub fn group_by_external_id(
        &mut self,
        connection: &str,
        external_id: &str,
    ) -> Result<Option<Group>, StoreError> {
        Ok(groups::table
            .filter(groups::connection.eq(connection))
            .filter(groups::external_id.eq(external_id))
            .select(Group::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// The live (not deleted) groups of a connection, by display name.
    pub fn groups(&mut self, connection: &str) -> Result<Vec<Group>, StoreError> {
        Ok(groups::table
            .filter(groups::connection.eq(connection))
            .filter(groups::deleted_at.is_null())
            .order(groups::display_name)
            .select(Group::as_select())
            .load(self.conn)?)
    }

    /// Inserts a group.
    pub fn insert_group(&mut self, group: &NewGroup) -> Result<Group, StoreError> {
        diesel::insert_into(groups::table)
            .values(group)
            .execute(self.conn)?;
        let created = self
            .group(&group.id)?
            .ok_or(StoreError::Query(diesel::result::Error::NotFound))?;
        self.group_event(EventKind::GroupCreated, &created, group.created_at)?;
        Ok(created)
    }

    pub(super) fn group_event(
        &mut self,
        kind: EventKind,
        group: &Group,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        self.record_event(kind, &group.connection, &group.id, group, now)
    }

    fn member_event(
        &mut self,
        kind: EventKind,
        group_id: &str,
        user_id: &str,
    ) -> Result<(), StoreError> {
        let Some(group) = self.group(group_id)? else {
            return Ok(());
        };
        let data = serde_json::json!({ "group_id": group_id, "user_id": user_id });
        let now = chrono::Utc::now().naive_utc();
        self.record_event(kind, &group.connection, user_id, &data, now)
    }

    /// Renames a group or sets its external id, undeleting it; bumps its version.
    pub fn update_group(
        &mut self,
        group: &Group,
        display_name: &str,
        external_id: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<Group, StoreError> {
        let external_id = external_id
            .map(str::to_string)
            .or_else(|| group.external_id.clone());
        if group.display_name == display_name
            && group.external_id == external_id
            && group.deleted_at.is_none()
        {
            return Ok(group.clone());
        }
        diesel::update(groups::table.find(&group.id))
            .set((
                groups::display_name.eq(display_name),
                groups::external_id.eq(external_id),
                groups::deleted_at.eq(None::<NaiveDateTime>),
                groups::version.eq(group.version + 1),
                groups::updated_at.eq(now),
            ))
            .execute(self.conn)?;
        let updated = self
            .group(&group.id)?
            .ok_or(StoreError::Query(diesel::result::Error::NotFound))?;
        self.group_event(EventKind::GroupUpdated, &updated, now)?;
        Ok(updated)
    }

    /// Marks a group deleted and drops its memberships.
    pub fn delete_group(&mut self, id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
        diesel::delete(group_members::table.filter(group_members::group_id.eq(id)))
            .execute(self.conn)?;
        diesel::update(groups::table.find(id))
            .set((
                groups::deleted_at.eq(Some(now)),
                groups::version.eq(groups::version + 1),
                groups::updated_at.eq(now),
            ))
            .execute(self.conn)?;
        if let Some(group) = self.group(id)? {
            self.group_event(EventKind::GroupDeleted, &group, now)?;
        }
        Ok(())
    }

    /// The user ids in a group.
    pub fn group_member_ids(&mut self, group_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(group_members::table
            .filter(group_members::group_id.eq(group_id))
            .select(group_members::user_id)
            .order(group_members::user_id)
            .load(self.conn)?)
    }

    /// Every (group id, user id) membership of a connection's live groups.
    pub fn memberships(&mut self, connection: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(group_members::table
            .inner_join(groups::table)
            .filter(groups::connection.eq(connection))
            .filter(groups::deleted_at.is_null())
            .select((group_members::group_id, group_members::user_id))
            .load(self.conn)?)
    }

    /// Adds a member; returns false when it was already there.
    pub fn add_member(&mut self, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let present = group_members::table
            .find((group_id, user_id))
            .count()
            .get_result::<i64>(self.conn)?;
        if present > 0 {
            return Ok(false);
        }
        diesel::insert_into(group_members::table)
            .values((
                group_members::group_id.eq(group_id),
                group_members::user_id.eq(user_id),
            ))
            .execute(self.conn)?;
        self.member_event(EventKind::MemberAdded, group_id, user_id)?;
        Ok(true)
    }

    /// Removes a member; returns false when it was not there.
    pub fn remove_member(&mut self, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let removed =
            diesel::delete(group_members::table.find((group_id, user_id))).execute(self.conn)?;
        if removed > 0 {
            self.member_event(EventKind::MemberRemoved, group_id, user_id)?;
        }
        Ok(removed > 0)
    }

    /// Locks the rows of groups whose members are about to change, in id order, until the
    /// transaction ends (PostgreSQL `FOR NO KEY UPDATE`, the lock a version bump takes; SQLite
    /// runs one write at a time already).
    ///
    /// Writes that drop memberships take each group's row before its membership rows, and
    /// several groups in id order: a SCIM group write locks its group first
    /// ([`Tx::lock_group`]); a user's SCIM deletion, and sync's member removals and group
    /// deletions, call this first. A deletion that dropped the user's membership rows first
    /// and then bumped the groups deadlocked with a group write dropping the same member.
    pub fn lock_groups(&mut self, ids: &[String]) -> Result<(), StoreError> {
        if let super::DbConnection::Pg(c) = &mut *self.conn
            && !ids.is_empty()
        {
            // One statement (PostgreSQL binds the ids as one array), so one order for them all.
            groups::table
                .filter(groups::id.eq_any(ids))
                .order(groups::id)
                .select(groups::id)
                .for_no_key_update()
                .load::<String>(c)?;
        }
        Ok(())
    }

    /// Bumps a group's version after its members changed.
    pub fn touch_group(&mut self, group_id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
        diesel::update(groups::table.find(group_id))
            .set((
                groups::version.eq(groups::version + 1),
                groups::updated_at.eq(now),
            ))
            .execute(self.conn)?;
        Ok(())
    }
}
