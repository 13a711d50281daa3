//! Bulk reads and writes for reconciliation: a connection's whole state in a few queries, and
//! multi-row inserts and set-based updates so applying a large plan costs a handful of
//! statements per batch rather than several per row.
//!
//! Every write here is idempotent or guarded by the unique indexes (users by connection and
//! external id or email, groups by connection and external id, memberships by their key), so a
//! batch replayed after a crash cannot duplicate anything.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::events::{EventKind, NewEvent};
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
/// Most rows in one multi-row `INSERT` (SQLite binds at most 32,766 values per statement,
/// PostgreSQL 65,535; a user row has 15 columns).
const ROWS_PER_INSERT: usize = 1_000;

/// Membership events for `(group, user)` pairs of `connection`'s groups; the subject is the
/// user.
fn member_events<'a>(
    kind: EventKind,
    connection: &'a str,
    pairs: &'a [(String, String)],
) -> Vec<NewEvent<'a>> {
    pairs
        .iter()
        .map(|(group, user)| NewEvent {
            kind,
            connection,
            subject_id: user,
            data: to_json(&MemberData {
                group_id: group,
                user_id: user,
            }),
        })
        .collect()
}

// Event payloads, serialized straight from borrowed fields. Fields are in alphabetical order,
// the order the payloads always had.

#[derive(Serialize)]
struct UserCreatedData<'a> {
    active: bool,
    connection: &'a str,
    display_name: Option<&'a str>,
    email: &'a str,
    external_id: Option<&'a str>,
    family_name: Option<&'a str>,
    given_name: Option<&'a str>,
    id: &'a str,
    source: &'a str,
    user_name: Option<&'a str>,
}

#[derive(Serialize)]
struct GroupCreatedData<'a> {
    connection: &'a str,
    display_name: &'a str,
    external_id: Option<&'a str>,
    id: &'a str,
    source: &'a str,
}

#[derive(Serialize)]
struct ActiveData<'a> {
    active: bool,
    id: &'a str,
}

#[derive(Serialize)]
struct MemberData<'a> {
    group_id: &'a str,
    user_id: &'a str,
}

/// The values of a membership row.
#[allow(clippy::type_complexity)]
fn member_row(
    (group, user): &(String, String),
) -> (
    diesel::dsl::Eq<group_members::group_id, &String>,
    diesel::dsl::Eq<group_members::user_id, &String>,
) {
    (
        group_members::group_id.eq(group),
        group_members::user_id.eq(user),
    )
}

/// JSON of an event payload; these plain structs always serialize.
fn to_json(data: &impl Serialize) -> String {
    serde_json::to_string(data).unwrap_or_else(|_| "{}".to_owned())
}

impl Tx<'_> {
    /// Every group of a connection, deleted ones included.
    pub fn all_groups(&mut self, connection: &str) -> Result<Vec<Group>, StoreError> {
        Ok(groups::table
            .filter(groups::connection.eq(connection))
            .select(Group::as_select())
            .load(self.conn)?)
    }

    /// Whether a connection has any user, active or not.
    pub fn connection_has_users(&mut self, connection: &str) -> Result<bool, StoreError> {
        let found: Option<String> = users::table
            .filter(users::connection.eq(connection))
            .select(users::id)
            .first(self.conn)
            .optional()?;
        Ok(found.is_some())
    }

    /// Inserts users with one multi-row statement.
    pub fn insert_users(&mut self, rows: &[NewUser]) -> Result<usize, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut inserted = 0;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let insert = diesel::insert_into(users::table).values(chunk);
            inserted += on_backend!(&mut *self.conn, c => insert.execute(c))?;
        }
        let events: Vec<NewEvent<'_>> = rows
            .iter()
            .map(|user| NewEvent {
                kind: EventKind::UserCreated,
                connection: &user.connection,
                subject_id: &user.id,
                data: to_json(&UserCreatedData {
                    active: user.active,
                    connection: &user.connection,
                    display_name: user.display_name.as_deref(),
                    email: &user.email,
                    external_id: user.external_id.as_deref(),
                    family_name: user.family_name.as_deref(),
                    given_name: user.given_name.as_deref(),
                    id: &user.id,
                    source: &user.source,
                    user_name: user.user_name.as_deref(),
                }),
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
        let mut inserted = 0;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let insert = diesel::insert_into(groups::table).values(chunk);
            inserted += on_backend!(&mut *self.conn, c => insert.execute(c))?;
        }
        let events: Vec<NewEvent<'_>> = rows
            .iter()
            .map(|group| NewEvent {
                kind: EventKind::GroupCreated,
                connection: &group.connection,
                subject_id: &group.id,
                data: to_json(&GroupCreatedData {
                    connection: &group.connection,
                    display_name: &group.display_name,
                    external_id: group.external_id.as_deref(),
                    id: &group.id,
                    source: &group.source,
                }),
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
    /// changed. Data stays: nothing is deleted but the sessions of the users deactivated.
    ///
    /// Each user the update changes gets its event, and only those: the update answers the
    /// rows it changed (`RETURNING`), as a concurrent write of a user (on PostgreSQL, waited
    /// for, then checked again) left them, rather than a list read before it.
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
            let flipping = users::table
                .filter(users::id.eq_any(chunk))
                .filter(users::active.ne(active));
            let update = diesel::update(flipping).set((
                users::active.eq(active),
                users::version.eq(users::version + 1),
                users::updated_at.eq(now),
            ));
            let flipped: Vec<(String, String)> = on_backend!(&mut *self.conn, c => update
                .returning((users::id, users::connection))
                .get_results(c))?;
            changed += flipped.len();
            let events: Vec<NewEvent<'_>> = flipped
                .iter()
                .map(|(id, connection)| NewEvent {
                    kind,
                    connection,
                    subject_id: id,
                    data: to_json(&ActiveData { active, id }),
                })
                .collect();
            self.record_events(&events, now)?;
            if !active {
                let ids: Vec<&str> = flipped.iter().map(|(id, _)| id.as_str()).collect();
                self.delete_sessions_of(&ids)?;
            }
        }
        Ok(changed)
    }

    /// Adds memberships of `connection`'s groups, skipping ones already present (and repeats
    /// in `pairs`); answers the pairs added, in the order given. Each of them, and only they,
    /// get a `member.added` event: a member a SCIM write added since the plan was made has
    /// had its event.
    pub fn add_members(
        &mut self,
        connection: &str,
        pairs: &[(String, String)],
        now: NaiveDateTime,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut added = Vec::new();
        for chunk in pairs.chunks(ROWS_PER_INSERT) {
            let rows: Vec<_> = chunk.iter().map(member_row).collect();
            let insert = diesel::insert_into(group_members::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .returning((group_members::group_id, group_members::user_id));
            let inserted: Vec<(String, String)> =
                on_backend!(&mut *self.conn, c => insert.get_results(c))?;
            let mut new: HashSet<&(String, String)> = inserted.iter().collect();
            // In the order given, each pair once.
            for pair in chunk {
                if new.remove(pair) {
                    added.push(pair.clone());
                }
            }
        }
        let events = member_events(EventKind::MemberAdded, connection, &added);
        self.record_events(&events, now)?;
        Ok(added)
    }

    /// Removes memberships of `connection`'s groups; answers the pairs that were there. Each
    /// one removed gets its `member.removed` event.
    pub fn remove_members(
        &mut self,
        connection: &str,
        pairs: &[(String, String)],
        now: NaiveDateTime,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut gone = Vec::new();
        for (group, user) in pairs {
            let count =
                diesel::delete(group_members::table.find((group, user))).execute(self.conn)?;
            if count > 0 {
                gone.push((group.clone(), user.clone()));
            }
        }
        let events = member_events(EventKind::MemberRemoved, connection, &gone);
        self.record_events(&events, now)?;
        Ok(gone)
    }

    /// Bumps the version of groups whose members changed, taking their locks in id order
    /// ([`Tx::lock_groups`]) rather than in whatever order the update finds the rows.
    pub fn touch_groups(
        &mut self,
        group_ids: &[String],
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        self.lock_groups(group_ids)?;
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
