//! The change outbox: one row per change, written in the transaction that makes the change,
//! so an event exists exactly when its change was committed. Delivery (webhook, polling) reads
//! it by increasing `id`, which is also the order of the changes.
//!
//! A reader moves its cursor past every id it has read, so no event may appear later with a
//! smaller id than one already seen. SQLite commits one write at a time, in id order. On
//! PostgreSQL an id is drawn from a sequence when its row is inserted, not when its
//! transaction commits: of two writes, the one that drew the smaller id may commit last, and
//! a reader between the two commits would skip its event for good. So a PostgreSQL write
//! holds its events back until its work is done and appends them last, under a shared
//! advisory lock it keeps until it commits ([`Tx::append_held_events`]); a reader takes that
//! lock exclusively first ([`Tx::events_after`]). It waits for the writes whose events are
//! in but not yet committed, and every id drawn after it has read is larger than those it
//! saw. Writers do not wait for each other, and none waits for a lock once it holds this one.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::Serialize;

use super::schema::{delivery_cursors, events};
use super::{DbConnection, StoreError, Tx};

/// The PostgreSQL advisory lock (one key of the database's) ordering the outbox: writers hold
/// it shared from appending their events until they commit, readers take it exclusively.
const OUTBOX_LOCK: i64 = 0x7072_6f76_5f65_7674;

/// Most events in one multi-row insert (six values each).
const EVENTS_PER_INSERT: usize = 1_000;

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

/// An outbox row about to be inserted.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub(super) struct OutboxRow {
    event_id: String,
    kind: &'static str,
    connection: String,
    subject_id: String,
    data: String,
    created_at: NaiveDateTime,
}

impl OutboxRow {
    fn new(
        kind: EventKind,
        connection: &str,
        subject_id: &str,
        data: String,
        at: NaiveDateTime,
    ) -> Self {
        Self {
            event_id: super::new_id(),
            kind: kind.as_str(),
            connection: connection.to_owned(),
            subject_id: subject_id.to_owned(),
            data,
            created_at: at,
        }
    }
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

impl<'a> Tx<'a> {
    /// A PostgreSQL write transaction, whose events wait for [`Tx::append_held_events`].
    pub(super) fn holding_events(conn: &'a mut DbConnection) -> Self {
        Tx {
            conn,
            held_events: Some(Vec::new()),
        }
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
        let data = serde_json::to_string(data).unwrap_or_default();
        self.append_events(vec![OutboxRow::new(
            kind, connection, subject_id, data, now,
        )])
    }

    /// Appends many events with multi-row inserts (bulk sync), in the given order.
    pub fn record_events(
        &mut self,
        batch: &[NewEvent<'_>],
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let rows = batch
            .iter()
            .map(|event| {
                let data = event.data.clone();
                OutboxRow::new(event.kind, event.connection, event.subject_id, data, now)
            })
            .collect();
        self.append_events(rows)
    }

    fn append_events(&mut self, rows: Vec<OutboxRow>) -> Result<(), StoreError> {
        match &mut self.held_events {
            Some(held) => held.extend(rows),
            None => self.insert_events(&rows)?,
        }
        Ok(())
    }

    /// Appends the events a PostgreSQL write held back, holding the outbox lock until the
    /// transaction ends (see the module's doc): the write's last statements.
    pub(super) fn append_held_events(&mut self) -> Result<(), diesel::result::Error> {
        let held = match &mut self.held_events {
            Some(held) if !held.is_empty() => std::mem::take(held),
            _ => return Ok(()),
        };
        if let DbConnection::Pg(c) = &mut *self.conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock_shared($1)")
                .bind::<BigInt, _>(OUTBOX_LOCK)
                .execute(c)?;
        }
        self.insert_events(&held)
    }

    fn insert_events(&mut self, rows: &[OutboxRow]) -> Result<(), diesel::result::Error> {
        for chunk in rows.chunks(EVENTS_PER_INSERT) {
            let insert = diesel::insert_into(events::table).values(chunk);
            on_backend!(&mut *self.conn, c => insert.execute(c))?;
        }
        Ok(())
    }

    /// Waits for the PostgreSQL writes whose events are in the outbox but not yet committed
    /// (see the module's doc); the lock is held until this transaction ends.
    fn wait_for_outbox_writers(&mut self) -> Result<(), StoreError> {
        if let DbConnection::Pg(c) = &mut *self.conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(OUTBOX_LOCK)
                .execute(c)?;
        }
        Ok(())
    }

    /// Events after `cursor`, oldest first, at most `limit`. On PostgreSQL it first waits
    /// for the writes whose events are appended but not yet committed, whose ids may be
    /// smaller than the ones it would answer.
    pub fn events_after(&mut self, cursor: i64, limit: i64) -> Result<Vec<EventRow>, StoreError> {
        self.wait_for_outbox_writers()?;
        Ok(events::table
            .filter(events::id.gt(cursor))
            .order(events::id)
            .limit(limit)
            .load(self.conn)?)
    }

    /// How many events lie after `cursor`.
    pub fn events_pending(&mut self, cursor: i64) -> Result<i64, StoreError> {
        self.wait_for_outbox_writers()?;
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
