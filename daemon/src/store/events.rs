//! The change outbox: one row per change, written in the transaction that makes the change,
//! so an event exists exactly when its change was committed. Delivery (webhook, polling) reads
//! it by increasing `id`, which is also the order of the changes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{delivery_cursors, events};
use super::{StoreError, Tx};

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A user account was created.
    UserCreated,
    /// A user's profile changed.
    UserUpdated,
    /// A user was deactivated.
    UserDeactivated,
    /// A deactivated user became active again.
    UserReactivated,
    /// A group was created.
    GroupCreated,
    /// A group was renamed (or otherwise changed).
    GroupUpdated,
    /// A group was deleted.
    GroupDeleted,
    /// A user joined a group.
    MemberAdded,
    /// A user left a group.
    MemberRemoved,
    /// A user signed in.
    Login,
}

impl EventKind {
    /// The wire name, e.g. `user.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserDeactivated => "user.deactivated",
            Self::UserReactivated => "user.reactivated",
            Self::GroupCreated => "group.created",
            Self::GroupUpdated => "group.updated",
            Self::GroupDeleted => "group.deleted",
            Self::MemberAdded => "member.added",
            Self::MemberRemoved => "member.removed",
            Self::Login => "login",
        }
    }
}

/// An event to append with [`Tx::record_events`]; `data` is its JSON already serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent<'a> {
    /// What changed.
    pub kind: EventKind,
    /// The connection the subject belongs to.
    pub connection: &'a str,
    /// The user (or group) the event is about.
    pub subject_id: &'a str,
    /// JSON details.
    pub data: String,
}

/// One stored event, as delivered.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Serialize)]
pub struct EventRow {
    /// Position in the outbox; the polling cursor.
    #[serde(rename = "cursor")]
    pub id: i64,
    /// Globally unique id, for receivers that deduplicate.
    #[serde(rename = "id")]
    pub event_id: String,
    /// `user.created`, `member.added`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The connection the subject belongs to.
    pub connection: String,
    /// The user (or group) the event is about; per-subject order is outbox order.
    pub subject_id: String,
    /// JSON details (a snapshot of the user or group, the member ids).
    #[serde(skip)]
    pub data: String,
    /// When the change was committed (UTC).
    pub created_at: NaiveDateTime,
}

impl EventRow {
    /// The event as JSON, with `data` inlined.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        let data = serde_json::from_str(&self.data).unwrap_or(serde_json::Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert("data".into(), data);
        }
        value
    }
}

impl Tx<'_> {
    /// Appends an event to the outbox; `data` is stored as its JSON.
    pub fn record_event(
        &mut self,
        kind: EventKind,
        connection: &str,
        subject_id: &str,
        data: &impl Serialize,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let insert = diesel::insert_into(events::table).values((
            events::event_id.eq(super::new_id()),
            events::kind.eq(kind.as_str()),
            events::connection.eq(connection),
            events::subject_id.eq(subject_id),
            events::data.eq(serde_json::to_string(data).unwrap_or_default()),
            events::created_at.eq(now),
        ));
        on_backend!(self.conn, c => insert.execute(c))?;
        Ok(())
    }

    /// Appends many events with multi-row inserts (bulk sync), in the given order.
    pub fn record_events(
        &mut self,
        batch: &[NewEvent<'_>],
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        for chunk in batch.chunks(1000) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|event| {
                    (
                        events::event_id.eq(super::new_id()),
                        events::kind.eq(event.kind.as_str()),
                        events::connection.eq(event.connection),
                        events::subject_id.eq(event.subject_id),
                        events::data.eq(&event.data),
                        events::created_at.eq(now),
                    )
                })
                .collect();
            match &mut *self.conn {
                super::DbConnection::Sqlite(conn) => diesel::insert_into(events::table)
                    .values(&rows)
                    .execute(conn)?,
                super::DbConnection::Pg(conn) => diesel::insert_into(events::table)
                    .values(&rows)
                    .execute(conn)?,
            };
        }
        Ok(())
    }

    /// Events after `cursor`, oldest first, at most `limit`.
    pub fn events_after(&mut self, cursor: i64, limit: i64) -> Result<Vec<EventRow>, StoreError> {
        Ok(events::table
            .filter(events::id.gt(cursor))
            .order(events::id)
            .limit(limit)
            .load(self.conn)?)
    }

    /// How many events lie after `cursor`.
    pub fn events_pending(&mut self, cursor: i64) -> Result<i64, StoreError> {
        Ok(events::table
            .filter(events::id.gt(cursor))
            .count()
            .get_result(self.conn)?)
    }

    /// The last event a named consumer (the webhook) has delivered.
    pub fn delivery_cursor(&mut self, name: &str) -> Result<i64, StoreError> {
        Ok(delivery_cursors::table
            .find(name)
            .select(delivery_cursors::last_event)
            .first(self.conn)
            .optional()?
            .unwrap_or(0))
    }

    /// Moves a consumer's cursor forward (never back).
    pub fn advance_delivery_cursor(
        &mut self,
        name: &str,
        last_event: i64,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let updated = diesel::update(
            delivery_cursors::table
                .find(name)
                .filter(delivery_cursors::last_event.lt(last_event)),
        )
        .set((
            delivery_cursors::last_event.eq(last_event),
            delivery_cursors::updated_at.eq(now),
        ))
        .execute(self.conn)?;
        if updated == 0 && self.delivery_cursor_exists(name)? {
            return Ok(());
        }
        if updated == 0 {
            diesel::insert_into(delivery_cursors::table)
                .values((
                    delivery_cursors::name.eq(name),
                    delivery_cursors::last_event.eq(last_event),
                    delivery_cursors::updated_at.eq(now),
                ))
                .execute(self.conn)?;
        }
        Ok(())
    }

    fn delivery_cursor_exists(&mut self, name: &str) -> Result<bool, StoreError> {
        let count: i64 = delivery_cursors::table
            .find(name)
            .count()
            .get_result(self.conn)?;
        Ok(count > 0)
    }
}
