//! User queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::events::EventKind;
use super::models::{NewUser, User, UserChanges, email_key, stored_precision};
use super::schema::users;
use super::{DbConnection, StoreError, Tx};

impl Tx<'_> {
    /// The user with this provisiond id.
    pub fn user(&mut self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(on_backend!(self.conn, c => users::table
            .find(id)
            .select(User::as_select())
            .first(c)
            .optional())?)
    }

    /// The user a connection knows by this external id.
    pub fn user_by_external_id(
        &mut self,
        connection: &str,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        Ok(users::table
            .filter(users::connection.eq(connection))
            .filter(users::external_id.eq(external_id))
            .select(User::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// The user a connection knows by this email's key ([`email_key`]).
    pub fn user_by_email(
        &mut self,
        connection: &str,
        email: &str,
    ) -> Result<Option<User>, StoreError> {
        Ok(users::table
            .filter(users::connection.eq(connection))
            .filter(users::email_key.eq(email_key(email)))
            .select(User::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// The users a connection knows by this external id or by this email's key ([`email_key`]),
    /// in one query: at most two rows.
    pub fn users_by_external_id_or_email(
        &mut self,
        connection: &str,
        external_id: &str,
        email: &str,
    ) -> Result<Vec<User>, StoreError> {
        // Two indexed lookups in one statement: an OR would make the planner scan the
        // connection's users. Each side is unique, so at most two rows.
        let key = email_key(email);
        // Compound queries are written per backend (the multi-backend has no UNION), and the
        // selection's type names the backend, so the query is spelled out in each arm.
        macro_rules! lookup {
            ($conn:expr) => {
                users::table
                    .filter(users::connection.eq(connection))
                    .filter(users::external_id.eq(external_id))
                    .select(User::as_select())
                    .union_all(
                        users::table
                            .filter(users::connection.eq(connection))
                            .filter(users::email_key.eq(&key))
                            .select(User::as_select()),
                    )
                    .load($conn)?
            };
        }
        Ok(match &mut *self.conn {
            DbConnection::Sqlite(conn) => lookup!(conn),
            DbConnection::Pg(conn) => lookup!(conn),
        })
    }

    /// Users, optionally of one connection, ordered by email.
    pub fn users(&mut self, connection: Option<&str>) -> Result<Vec<User>, StoreError> {
        let mut query = users::table.select(User::as_select()).into_boxed();
        if let Some(connection) = connection {
            query = query.filter(users::connection.eq(connection.to_string()));
        }
        Ok(query
            .order((users::connection, users::email_key))
            .load(self.conn)?)
    }

    /// Inserts a new user.
    pub fn insert_user(&mut self, user: &NewUser) -> Result<User, StoreError> {
        let mut row = user.clone();
        row.created_at = stored_precision(row.created_at);
        row.updated_at = stored_precision(row.updated_at);
        row.last_login_at = row.last_login_at.map(stored_precision);
        on_backend!(self.conn, c => diesel::insert_into(users::table)
            .values(&row)
            .execute(c))?;
        // Every column of `User` is set by `NewUser`: the row is what was inserted.
        let created = User::from(row);
        self.user_event(EventKind::UserCreated, &created, user.created_at)?;
        Ok(created)
    }

    /// Records a user event with a snapshot of the user.
    pub(super) fn user_event(
        &mut self,
        kind: EventKind,
        user: &User,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        self.record_event(kind, &user.connection, &user.id, user, now)
    }

    /// Applies `changes` to a user, bumping its version when anything differs.
    pub fn update_user(
        &mut self,
        user: &User,
        changes: &UserChanges,
        now: NaiveDateTime,
    ) -> Result<User, StoreError> {
        if !changes.differs_from(user) {
            return Ok(user.clone());
        }
        let email = changes.email.clone().unwrap_or_else(|| user.email.clone());
        let pick = |new: &Option<String>, old: &Option<String>| new.clone().or_else(|| old.clone());
        diesel::update(users::table.find(&user.id))
            .set((
                users::external_id.eq(pick(&changes.external_id, &user.external_id)),
                users::email_key.eq(email_key(&email)),
                users::email.eq(email),
                users::user_name.eq(pick(&changes.user_name, &user.user_name)),
                users::given_name.eq(pick(&changes.given_name, &user.given_name)),
                users::family_name.eq(pick(&changes.family_name, &user.family_name)),
                users::display_name.eq(pick(&changes.display_name, &user.display_name)),
                users::active.eq(changes.active.unwrap_or(user.active)),
                users::version.eq(user.version + 1),
                users::updated_at.eq(now),
            ))
            .execute(self.conn)?;
        let updated = self
            .user(&user.id)?
            .ok_or(StoreError::Query(diesel::result::Error::NotFound))?;
        let kind = match (user.active, updated.active) {
            (true, false) => {
                self.delete_sessions_of(&[&user.id])?;
                EventKind::UserDeactivated
            }
            (false, true) => EventKind::UserReactivated,
            _ => EventKind::UserUpdated,
        };
        self.user_event(kind, &updated, now)?;
        Ok(updated)
    }

    /// Records a successful sign-in time.
    pub fn touch_login(&mut self, user_id: &str, now: NaiveDateTime) -> Result<(), StoreError> {
        diesel::update(users::table.find(user_id))
            .set(users::last_login_at.eq(Some(now)))
            .execute(self.conn)?;
        Ok(())
    }
}
