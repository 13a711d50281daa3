//! SCIM reads and writes of users.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{MembershipRow, Visibility};
use crate::store::events::EventKind;
use crate::store::fold::fold_case;
use crate::store::models::{NewUser, User};
use crate::store::schema::{group_members, groups, users};
use crate::store::{StoreError, Tx};

/// A user with its SCIM resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserRow {
    /// The account's columns.
    pub user: User,
    /// The resource JSON as SCIM last wrote it; `None` for an account SAML or sync created.
    pub resource: Option<String>,
    /// When SCIM deleted it, if it did.
    pub deleted_at: Option<NaiveDateTime>,
}

/// What a SCIM write sets on a user; every field is written as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserColumns {
    /// Email address (may be empty when the resource has none).
    pub email: String,
    /// The user name column (Entra's UPN).
    pub user_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Whether the account may sign in.
    pub active: bool,
    /// The SCIM userName's key ([`crate::fold::fold_case`]), unique per connection.
    pub user_name_key: String,
    /// The key of the resource's work email, `""` when it has several, `None` when none: the
    /// column the filter `emails[type eq "work"].value eq "…"` is answered from.
    pub work_email_key: Option<String>,
    /// SCIM's externalId (not the IdP object id).
    pub scim_external_id: Option<String>,
    /// The resource JSON, without `id`, `meta` and `groups`.
    pub resource: String,
}

/// An indexed lookup of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKey<'a> {
    /// provisiond's id.
    Id(&'a str),
    /// SCIM userName by its key ([`crate::fold::fold_case`]): the accounts SCIM wrote with
    /// that key, and those it never wrote whose user name column (else email) has it.
    UserName(&'a str),
    /// SCIM externalId, case-exact.
    ExternalId(&'a str),
    /// The account holding this email key ([`crate::store::email_key`]) in its email column.
    Email(&'a str),
    /// Every account whose resource may have a work email with this key: the accounts whose
    /// work email key is `key` or `""` (several), and the holder of `email_key` (whose
    /// resource, if SCIM never wrote it, shows its email column as its work email).
    WorkEmail {
        /// The folded value ([`crate::fold::fold_case`]).
        key: &'a str,
        /// The value's email key ([`crate::store::email_key`]).
        email_key: &'a str,
    },
}

type RowTuple = (User, Option<String>, Option<NaiveDateTime>);

fn row((user, resource, deleted_at): RowTuple) -> ScimUserRow {
    ScimUserRow {
        user,
        resource,
        deleted_at,
    }
}

macro_rules! select_row {
    () => {
        (
            User::as_select(),
            users::scim_resource,
            users::scim_deleted_at,
        )
    };
}

impl Tx<'_> {
    /// Locks a user's row until the transaction ends, so that a write which reads the row,
    /// checks it (its version against `If-Match`, its resource for a PATCH) and writes it is
    /// not overtaken by another transaction writing the row in between: that one commits
    /// first and this read sees it. PostgreSQL takes a row lock (`FOR UPDATE`); SQLite runs
    /// one write transaction at a time already.
    pub fn lock_user(&mut self, id: &str) -> Result<(), StoreError> {
        self.lock_users(&[id]).map(|_| ())
    }

    /// [`Tx::lock_user`] for several users, taken in the order of their ids. Says whether
    /// rows were locked (PostgreSQL): only then may what was read of them before the call
    /// have changed since, and need reading again.
    pub fn lock_users(&mut self, ids: &[&str]) -> Result<bool, StoreError> {
        let crate::store::DbConnection::Pg(c) = &mut *self.conn else {
            return Ok(false);
        };
        users::table
            .filter(users::id.eq_any(ids))
            .order(users::id)
            .select(users::id)
            .for_update()
            .load::<String>(c)?;
        Ok(true)
    }

    /// The user with this id in this connection.
    pub fn scim_user(
        &mut self,
        connection: &str,
        id: &str,
        visibility: Visibility,
    ) -> Result<Option<ScimUserRow>, StoreError> {
        let found = on_backend!(self.conn, c => users::table
            .filter(users::id.eq(id))
            .filter(users::connection.eq(connection))
            .select(select_row!())
            .first::<RowTuple>(c)
            .optional())?
        .map(row);
        Ok(found.filter(|r| visibility.admits(r)))
    }

    /// The users an indexed key finds: every user the key can match, and maybe others; the
    /// caller checks each against the full filter. No row limit: a lookup must find every
    /// match full evaluation would.
    ///
    /// Every query here is a single index search (an `OR` across columns would make SQLite
    /// scan the connection instead), so a userName or work email lookup runs three.
    pub fn scim_users_by(
        &mut self,
        connection: &str,
        key: UserKey<'_>,
        visibility: Visibility,
    ) -> Result<Vec<ScimUserRow>, StoreError> {
        // Statements are written out per key (not boxed) so the driver caches them; deleted
        // rows are dropped here rather than in SQL for the same reason.
        macro_rules! base {
            () => {
                users::table
                    .filter(users::connection.eq(connection))
                    .select(select_row!())
            };
        }
        let mut rows: Vec<RowTuple> = match key {
            UserKey::Id(id) => on_backend!(self.conn, c => base!()
                .filter(users::id.eq(id))
                .load(c))?,
            UserKey::ExternalId(value) => on_backend!(self.conn, c => base!()
                .filter(users::scim_external_id.eq(value))
                .load(c))?,
            UserKey::Email(email_key) => on_backend!(self.conn, c => base!()
                .filter(users::email_key.eq(email_key))
                .load(c))?,
            // Accounts SCIM never wrote have no key: their SCIM userName is the user name
            // column, else the email.
            UserKey::UserName(key) => {
                let rows: Vec<RowTuple> = on_backend!(self.conn, c => base!()
                    .filter(users::scim_user_name_key.eq(key))
                    .load(c))?;
                let by_email: Vec<RowTuple> = on_backend!(self.conn, c => base!()
                    .filter(users::email_key.eq(crate::store::email_key(key)))
                    .filter(users::scim_user_name_key.is_null())
                    .load(c))?;
                let by_name: Vec<RowTuple> = on_backend!(self.conn, c => base!()
                    .filter(fold_case(users::user_name).eq(key))
                    .filter(users::scim_user_name_key.is_null())
                    .load(c))?;
                union(rows, by_email.into_iter().chain(by_name))
            }
            UserKey::WorkEmail { key, email_key } => {
                let rows: Vec<RowTuple> = on_backend!(self.conn, c => base!()
                    .filter(users::scim_work_email_key.eq(key))
                    .load(c))?;
                let several: Vec<RowTuple> = on_backend!(self.conn, c => base!()
                    .filter(users::scim_work_email_key.eq(""))
                    .load(c))?;
                let holder: Vec<RowTuple> = on_backend!(self.conn, c => base!()
                    .filter(users::email_key.eq(email_key))
                    .load(c))?;
                union(rows, several.into_iter().chain(holder))
            }
        };
        rows.sort_by(|a, b| (a.0.created_at, &a.0.id).cmp(&(b.0.created_at, &b.0.id)));
        Ok(rows
            .into_iter()
            .map(row)
            .filter(|r| visibility.admits(r))
            .collect())
    }

    /// How many users SCIM sees in a connection.
    pub fn scim_users_count(&mut self, connection: &str) -> Result<i64, StoreError> {
        Ok(users::table
            .filter(users::connection.eq(connection))
            .filter(users::scim_deleted_at.is_null())
            .count()
            .get_result(self.conn)?)
    }

    /// One page of the users SCIM sees, in creation order.
    pub fn scim_users_page(
        &mut self,
        connection: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<ScimUserRow>, StoreError> {
        Ok(users::table
            .filter(users::connection.eq(connection))
            .filter(users::scim_deleted_at.is_null())
            .order((users::created_at, users::id))
            .offset(offset)
            .limit(limit)
            .select(select_row!())
            .load::<RowTuple>(self.conn)?
            .into_iter()
            .map(row)
            .collect())
    }

    /// Every user SCIM sees in a connection, in creation order (for filters no index answers).
    pub fn scim_users_all(&mut self, connection: &str) -> Result<Vec<ScimUserRow>, StoreError> {
        Ok(users::table
            .filter(users::connection.eq(connection))
            .filter(users::scim_deleted_at.is_null())
            .order((users::created_at, users::id))
            .select(select_row!())
            .load::<RowTuple>(self.conn)?
            .into_iter()
            .map(row)
            .collect())
    }

    /// Which of `ids` are users SCIM sees in this connection.
    pub fn scim_user_ids_present(
        &mut self,
        connection: &str,
        ids: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        self.present_users(connection, ids, false)
    }

    /// Which of `ids` are users SCIM sees in this connection, each found one locked against
    /// a concurrent write until this transaction ends (PostgreSQL `FOR KEY SHARE`; SQLite runs
    /// one write at a time already), so that a user being deleted meanwhile is either seen
    /// deleted here or, once this commits, sees the membership this adds and removes it.
    /// A user row another write has locked is waited for and then checked as it committed.
    pub fn hold_scim_users_present(
        &mut self,
        connection: &str,
        ids: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        self.present_users(connection, ids, true)
    }

    fn present_users(
        &mut self,
        connection: &str,
        ids: &[&str],
        hold: bool,
    ) -> Result<HashSet<String>, StoreError> {
        let mut present = HashSet::new();
        for chunk in ids.chunks(500) {
            let query = users::table
                .filter(users::connection.eq(connection))
                .filter(users::scim_deleted_at.is_null())
                .filter(users::id.eq_any(chunk))
                .select(users::id);
            let found: Vec<String> = match &mut *self.conn {
                crate::store::DbConnection::Pg(c) if hold => query.for_key_share().load(c)?,
                conn => query.load(conn)?,
            };
            present.extend(found);
        }
        Ok(present)
    }

    /// Creates an account from a SCIM resource.
    pub fn insert_scim_user(
        &mut self,
        connection: &str,
        id: &str,
        columns: &ScimUserColumns,
        now: NaiveDateTime,
    ) -> Result<ScimUserRow, StoreError> {
        let now = crate::store::models::stored_precision(now);
        let user = NewUser {
            id: id.to_string(),
            connection: connection.to_string(),
            external_id: None,
            email: columns.email.clone(),
            email_key: crate::store::models::email_key(&columns.email),
            user_name: columns.user_name.clone(),
            given_name: columns.given_name.clone(),
            family_name: columns.family_name.clone(),
            display_name: columns.display_name.clone(),
            active: columns.active,
            source: "scim".to_string(),
            version: 1,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        };
        let insert = diesel::insert_into(users::table).values((
            &user,
            users::scim_resource.eq(&columns.resource),
            users::scim_external_id.eq(&columns.scim_external_id),
            users::scim_user_name_key.eq(&columns.user_name_key),
            users::scim_work_email_key.eq(&columns.work_email_key),
        ));
        on_backend!(self.conn, c => insert.execute(c))?;

        // The row is exactly what was inserted; reading it back would only cost a query.
        let created = User::from(user);
        self.user_event(EventKind::UserCreated, &created, now)?;
        Ok(ScimUserRow {
            user: created,
            resource: Some(columns.resource.clone()),
            deleted_at: None,
        })
    }

    /// Records the event of a user write: created, or updated / deactivated / reactivated
    /// by comparing with the account before the write.
    fn user_changed_event(
        &mut self,
        id: &str,
        before: Option<&User>,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let Some(after) = self.user(id)? else {
            return Ok(());
        };
        let kind = match before {
            None => EventKind::UserCreated,
            Some(before) => change_kind(before, &after),
        };
        self.user_event(kind, &after, now)
    }

    /// Writes a SCIM resource over an account (update, adoption of an account SAML created,
    /// or restoring one SCIM deleted), bumping its version. A deactivation ends the account's
    /// sessions.
    pub fn update_scim_user(
        &mut self,
        connection: &str,
        current: &User,
        columns: &ScimUserColumns,
        now: NaiveDateTime,
    ) -> Result<ScimUserRow, StoreError> {
        let now = crate::store::models::stored_precision(now);
        let email_key = crate::store::models::email_key(&columns.email);
        let update = diesel::update(users::table.find(&current.id)).set((
            users::email.eq(&columns.email),
            users::email_key.eq(&email_key),
            users::user_name.eq(&columns.user_name),
            users::given_name.eq(&columns.given_name),
            users::family_name.eq(&columns.family_name),
            users::display_name.eq(&columns.display_name),
            users::active.eq(columns.active),
            users::scim_resource.eq(&columns.resource),
            users::scim_external_id.eq(&columns.scim_external_id),
            users::scim_user_name_key.eq(&columns.user_name_key),
            users::scim_work_email_key.eq(&columns.work_email_key),
            users::scim_deleted_at.eq(None::<NaiveDateTime>),
            users::version.eq(current.version + 1),
            users::updated_at.eq(now),
        ));
        on_backend!(self.conn, c => update.execute(c))?;
        if !columns.active {
            self.delete_sessions_of(&[&current.id])?;
        }

        // The row is `current` (read in this transaction) with what the update set.
        let updated = User {
            email: columns.email.clone(),
            email_key,
            user_name: columns.user_name.clone(),
            given_name: columns.given_name.clone(),
            family_name: columns.family_name.clone(),
            display_name: columns.display_name.clone(),
            active: columns.active,
            version: current.version + 1,
            updated_at: now,
            ..current.clone()
        };
        debug_assert_eq!(connection, updated.connection);
        self.user_event(change_kind(current, &updated), &updated, now)?;
        Ok(ScimUserRow {
            user: updated,
            resource: Some(columns.resource.clone()),
            deleted_at: None,
        })
    }

    /// Frees the SCIM userName a SCIM-deleted account held, so that a live resource may take
    /// it; the account and its resource are left as they are (nothing the host application
    /// sees changes). Without its key the account is found by its user name column, as one
    /// SCIM never wrote is.
    pub fn release_scim_user_name(&mut self, user_id: &str) -> Result<(), StoreError> {
        let release = diesel::update(
            users::table
                .find(user_id)
                .filter(users::scim_deleted_at.is_not_null()),
        )
        .set(users::scim_user_name_key.eq(None::<String>));
        on_backend!(self.conn, c => release.execute(c))?;
        Ok(())
    }

    /// SCIM DELETE: the account stays, deactivated, with its data; it leaves its groups (each
    /// of which shows a new version), its sessions end, and SCIM no longer sees it.
    pub fn scim_delete_user(
        &mut self,
        current: &User,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        diesel::update(users::table.find(&current.id))
            .set((
                users::scim_deleted_at.eq(Some(now)),
                users::active.eq(false),
                users::version.eq(current.version + 1),
                users::updated_at.eq(now),
            ))
            .execute(self.conn)?;
        let groups: Vec<String> = group_members::table
            .filter(group_members::user_id.eq(&current.id))
            .select(group_members::group_id)
            .load(self.conn)?;
        // The groups before their membership rows, as every write changing members takes them.
        self.lock_groups(&groups)?;
        // A group's members are part of its resource: each group left shows a new version.
        let mut left = Vec::new();
        for group_id in groups {
            if self.remove_member(&group_id, &current.id)? {
                left.push(group_id);
            }
        }
        self.touch_groups(&left, now)?;
        self.delete_sessions_of(&[&current.id])?;
        // The host application sees accounts, not SCIM resources: deleting the resource of an
        // account already deactivated changes nothing it knows of.
        if current.active {
            self.user_changed_event(&current.id, Some(current), now)?;
        }
        Ok(())
    }

    /// The live groups each of `user_ids` belongs to.
    pub fn memberships_of_users(
        &mut self,
        user_ids: &[&str],
    ) -> Result<Vec<MembershipRow>, StoreError> {
        let mut out = Vec::new();
        if let [user_id] = user_ids {
            // One user (a GET or a write): a statement the driver can cache.
            let query = group_members::table
                .inner_join(groups::table)
                .filter(group_members::user_id.eq(*user_id))
                .filter(groups::deleted_at.is_null())
                .order(groups::display_name)
                .select((
                    group_members::user_id,
                    group_members::group_id,
                    groups::display_name,
                ));
            let rows: Vec<(String, String, String)> = on_backend!(self.conn, c => query.load(c))?;
            return Ok(rows
                .into_iter()
                .map(|(user_id, group_id, group_display_name)| MembershipRow {
                    user_id,
                    group_id,
                    group_display_name,
                })
                .collect());
        }
        for chunk in user_ids.chunks(500) {
            let rows: Vec<(String, String, String)> = group_members::table
                .inner_join(groups::table)
                .filter(group_members::user_id.eq_any(chunk))
                .filter(groups::deleted_at.is_null())
                .order((group_members::user_id, groups::display_name))
                .select((
                    group_members::user_id,
                    group_members::group_id,
                    groups::display_name,
                ))
                .load(self.conn)?;
            out.extend(
                rows.into_iter()
                    .map(|(user_id, group_id, group_display_name)| MembershipRow {
                        user_id,
                        group_id,
                        group_display_name,
                    }),
            );
        }
        Ok(out)
    }
}

/// `rows` and those of `more` not among them.
fn union(mut rows: Vec<RowTuple>, more: impl Iterator<Item = RowTuple>) -> Vec<RowTuple> {
    let mut seen: HashSet<String> = rows.iter().map(|r| r.0.id.clone()).collect();
    rows.extend(more.filter(|r| seen.insert(r.0.id.clone())));
    rows
}

/// The event a change of an account makes.
fn change_kind(before: &User, after: &User) -> EventKind {
    match (before.active, after.active) {
        (true, false) => EventKind::UserDeactivated,
        (false, true) => EventKind::UserReactivated,
        _ => EventKind::UserUpdated,
    }
}
