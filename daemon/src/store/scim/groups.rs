//! SCIM reads and writes of groups and their members.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::MemberRow;
use crate::store::events::EventKind;
use crate::store::fold::fold_case;
use crate::store::groups::{Group, NewGroup};
use crate::store::schema::{group_members, groups};
use crate::store::{StoreError, Tx};

/// A live group with its SCIM resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupRow {
    /// The group's columns.
    pub group: Group,
    /// The resource JSON (without members) as SCIM last wrote it; `None` for a group sync
    /// created.
    pub resource: Option<String>,
}

/// What a SCIM write sets on a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupColumns {
    /// Display name.
    pub display_name: String,
    /// The display name's key ([`crate::fold::fold_case`]).
    pub display_name_key: String,
    /// SCIM's externalId.
    pub scim_external_id: Option<String>,
    /// The resource JSON, without `id`, `meta` and `members`.
    pub resource: String,
}

/// An indexed lookup of groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKey<'a> {
    /// provisiond's id.
    Id(&'a str),
    /// Display name by its key ([`crate::fold::fold_case`]): the groups SCIM wrote with that
    /// key, and those it never wrote whose display name column has it.
    DisplayName(&'a str),
    /// SCIM externalId, case-exact.
    ExternalId(&'a str),
}

type RowTuple = (Group, Option<String>);

fn row((group, resource): RowTuple) -> ScimGroupRow {
    ScimGroupRow { group, resource }
}

impl Tx<'_> {
    /// Locks a group's row until the transaction ends, as [`Tx::lock_user`] does a user's:
    /// concurrent writes of one group (member changes among them) apply one after another.
    pub fn lock_group(&mut self, id: &str) -> Result<(), StoreError> {
        if let crate::store::DbConnection::Pg(c) = &mut *self.conn {
            groups::table
                .find(id)
                .select(groups::id)
                .for_update()
                .load::<String>(c)?;
        }
        Ok(())
    }

    /// The live group with this id in this connection.
    pub fn scim_group(
        &mut self,
        connection: &str,
        id: &str,
    ) -> Result<Option<ScimGroupRow>, StoreError> {
        Ok(groups::table
            .filter(groups::id.eq(id))
            .filter(groups::connection.eq(connection))
            .filter(groups::deleted_at.is_null())
            .select((Group::as_select(), groups::scim_resource))
            .first::<RowTuple>(self.conn)
            .optional()?
            .map(row))
    }

    /// The live groups an indexed key finds: every group the key can match, and maybe
    /// others; the caller checks each against the full filter. No row limit: a lookup must
    /// find every match full evaluation would. Each query is one index search; a
    /// display-name lookup runs two.
    pub fn scim_groups_by(
        &mut self,
        connection: &str,
        key: GroupKey<'_>,
    ) -> Result<Vec<ScimGroupRow>, StoreError> {
        macro_rules! base {
            () => {
                groups::table
                    .filter(groups::connection.eq(connection))
                    .filter(groups::deleted_at.is_null())
                    .select((Group::as_select(), groups::scim_resource))
            };
        }
        let mut rows: Vec<RowTuple> = match key {
            GroupKey::Id(id) => on_backend!(self.conn, c => base!()
                .filter(groups::id.eq(id))
                .load(c))?,
            GroupKey::ExternalId(value) => on_backend!(self.conn, c => base!()
                .filter(groups::scim_external_id.eq(value))
                .load(c))?,
            // Groups SCIM never wrote (sync created them) have no key and show their display
            // name column.
            GroupKey::DisplayName(key) => {
                let mut rows: Vec<RowTuple> = on_backend!(self.conn, c => base!()
                    .filter(groups::scim_display_name_key.eq(key))
                    .load(c))?;
                let unkeyed: Vec<RowTuple> = on_backend!(self.conn, c => base!()
                    .filter(fold_case(groups::display_name).eq(key))
                    .filter(groups::scim_display_name_key.is_null())
                    .load(c))?;
                rows.extend(unkeyed);
                rows
            }
        };
        rows.sort_by(|a, b| (a.0.created_at, &a.0.id).cmp(&(b.0.created_at, &b.0.id)));
        Ok(rows.into_iter().map(row).collect())
    }

    /// How many live groups a connection has.
    pub fn scim_groups_count(&mut self, connection: &str) -> Result<i64, StoreError> {
        Ok(groups::table
            .filter(groups::connection.eq(connection))
            .filter(groups::deleted_at.is_null())
            .count()
            .get_result(self.conn)?)
    }

    /// One page of a connection's live groups, in creation order.
    pub fn scim_groups_page(
        &mut self,
        connection: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<ScimGroupRow>, StoreError> {
        Ok(groups::table
            .filter(groups::connection.eq(connection))
            .filter(groups::deleted_at.is_null())
            .order((groups::created_at, groups::id))
            .offset(offset)
            .limit(limit)
            .select((Group::as_select(), groups::scim_resource))
            .load::<RowTuple>(self.conn)?
            .into_iter()
            .map(row)
            .collect())
    }

    /// Every live group of a connection (for filters no index answers).
    pub fn scim_groups_all(&mut self, connection: &str) -> Result<Vec<ScimGroupRow>, StoreError> {
        Ok(groups::table
            .filter(groups::connection.eq(connection))
            .filter(groups::deleted_at.is_null())
            .order((groups::created_at, groups::id))
            .select((Group::as_select(), groups::scim_resource))
            .load::<RowTuple>(self.conn)?
            .into_iter()
            .map(row)
            .collect())
    }

    /// Creates a group from a SCIM resource.
    pub fn insert_scim_group(
        &mut self,
        connection: &str,
        id: &str,
        columns: &ScimGroupColumns,
        now: NaiveDateTime,
    ) -> Result<ScimGroupRow, StoreError> {
        let group = NewGroup {
            id: id.to_string(),
            connection: connection.to_string(),
            external_id: None,
            display_name: columns.display_name.clone(),
            source: "scim".to_string(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(groups::table)
            .values((
                &group,
                groups::scim_resource.eq(&columns.resource),
                groups::scim_external_id.eq(&columns.scim_external_id),
                groups::scim_display_name_key.eq(&columns.display_name_key),
            ))
            .execute(self.conn)?;
        if let Some(created) = self.group(id)? {
            self.group_event(EventKind::GroupCreated, &created, now)?;
        }
        self.scim_group(connection, id)?
            .ok_or(StoreError::Query(diesel::result::Error::NotFound))
    }

    /// Writes a SCIM resource over a group, bumping its version.
    pub fn update_scim_group(
        &mut self,
        connection: &str,
        current: &Group,
        columns: &ScimGroupColumns,
        now: NaiveDateTime,
    ) -> Result<ScimGroupRow, StoreError> {
        diesel::update(groups::table.find(&current.id))
            .set((
                groups::display_name.eq(&columns.display_name),
                groups::scim_display_name_key.eq(&columns.display_name_key),
                groups::scim_external_id.eq(&columns.scim_external_id),
                groups::scim_resource.eq(&columns.resource),
                groups::version.eq(current.version + 1),
                groups::updated_at.eq(now),
            ))
            .execute(self.conn)?;
        if let Some(updated) = self.group(&current.id)? {
            self.group_event(EventKind::GroupUpdated, &updated, now)?;
        }
        self.scim_group(connection, &current.id)?
            .ok_or(StoreError::Query(diesel::result::Error::NotFound))
    }

    /// The members of each of `group_ids`.
    pub fn members_of_groups(&mut self, group_ids: &[&str]) -> Result<Vec<MemberRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in group_ids.chunks(500) {
            let rows: Vec<(String, String)> = group_members::table
                .filter(group_members::group_id.eq_any(chunk))
                .order((group_members::group_id, group_members::user_id))
                .select((group_members::group_id, group_members::user_id))
                .load(self.conn)?;
            out.extend(
                rows.into_iter()
                    .map(|(group_id, user_id)| MemberRow { group_id, user_id }),
            );
        }
        Ok(out)
    }
}
