//! Scheduled sync bookkeeping: one row per run (`sync_runs`) and each connection's cursor
//! (`sync_state`: the delta token and when the last full listing was applied).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{sync_runs, sync_state};
use super::{StoreError, Tx};

/// One recorded sync run.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = sync_runs)]
pub struct SyncRunRow {
    /// Run id (a UUID); also in the run's log span.
    pub id: String,
    /// The connection synced.
    pub connection: String,
    /// What started it: `schedule`, `cli` or `api`.
    pub trigger: String,
    /// `full` or `incremental`: how the directory was read.
    pub mode: String,
    /// `running`, `succeeded`, `failed`, `blocked` or `skipped`.
    pub status: String,
    /// When it started (UTC).
    pub started_at: NaiveDateTime,
    /// When it ended (UTC); `None` while running.
    pub finished_at: Option<NaiveDateTime>,
    /// Counts as a JSON object (`{"created": 3, ...}`).
    pub counts: String,
    /// Why it failed, was blocked or skipped; never a secret.
    pub message: Option<String>,
}

/// A connection's sync cursor.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = sync_state)]
pub struct SyncStateRow {
    /// The connection.
    pub connection: String,
    /// The adapter's delta token, saved only after a whole plan was applied.
    pub delta_token: Option<String>,
    /// When the last full listing was applied (UTC).
    pub last_full_sync_at: Option<NaiveDateTime>,
    /// When the row last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A run's message as both backends can store it: it may quote an adapter's error, and
/// PostgreSQL refuses NUL in text.
fn storable(message: &str) -> std::borrow::Cow<'_, str> {
    if message.contains('\0') {
        message.replace('\0', "\u{fffd}").into()
    } else {
        message.into()
    }
}

impl Tx<'_> {
    /// Records a run that starts now with `status` (normally `running`).
    pub fn insert_sync_run(&mut self, run: &SyncRunRow) -> Result<(), StoreError> {
        diesel::insert_into(sync_runs::table)
            .values((
                sync_runs::id.eq(&run.id),
                sync_runs::connection.eq(&run.connection),
                sync_runs::trigger.eq(&run.trigger),
                sync_runs::mode.eq(&run.mode),
                sync_runs::status.eq(&run.status),
                sync_runs::started_at.eq(run.started_at),
                sync_runs::finished_at.eq(run.finished_at),
                sync_runs::counts.eq(&run.counts),
                sync_runs::message.eq(run.message.as_deref().map(storable)),
            ))
            .execute(self.conn)?;
        Ok(())
    }

    /// Sets a run's outcome.
    pub fn finish_sync_run(
        &mut self,
        id: &str,
        mode: &str,
        status: &str,
        counts: &str,
        message: Option<&str>,
        finished_at: NaiveDateTime,
    ) -> Result<(), StoreError> {
        diesel::update(sync_runs::table.find(id))
            .set((
                sync_runs::mode.eq(mode),
                sync_runs::status.eq(status),
                sync_runs::counts.eq(counts),
                sync_runs::message.eq(message.map(storable)),
                sync_runs::finished_at.eq(Some(finished_at)),
            ))
            .execute(self.conn)?;
        Ok(())
    }

    /// Marks runs still `running` (of one connection, or all) as failed: their process died.
    /// Returns how many were marked.
    pub fn mark_interrupted_sync_runs(
        &mut self,
        connection: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<usize, StoreError> {
        let mut query = diesel::update(sync_runs::table)
            .filter(sync_runs::status.eq("running"))
            .into_boxed();
        if let Some(connection) = connection {
            query = query.filter(sync_runs::connection.eq(connection.to_string()));
        }
        Ok(query
            .set((
                sync_runs::status.eq("failed"),
                sync_runs::message.eq(Some("interrupted: the process stopped during the run")),
                sync_runs::finished_at.eq(Some(now)),
            ))
            .execute(self.conn)?)
    }

    /// The most recent runs first, optionally of one connection.
    pub fn sync_runs(
        &mut self,
        connection: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SyncRunRow>, StoreError> {
        let mut query = sync_runs::table
            .select(SyncRunRow::as_select())
            .into_boxed();
        if let Some(connection) = connection {
            query = query.filter(sync_runs::connection.eq(connection.to_string()));
        }
        Ok(query
            .order((sync_runs::started_at.desc(), sync_runs::id))
            .limit(limit)
            .load(self.conn)?)
    }

    /// The connection's sync cursor, if it has one.
    pub fn sync_state(&mut self, connection: &str) -> Result<Option<SyncStateRow>, StoreError> {
        Ok(sync_state::table
            .find(connection)
            .select(SyncStateRow::as_select())
            .first(self.conn)
            .optional()?)
    }

    /// Stores the cursor after a whole plan was applied: `delta_token` replaces the old one
    /// (`None` clears it); `full_listing_at` is set when the run read a full listing.
    pub fn save_sync_state(
        &mut self,
        connection: &str,
        delta_token: Option<&str>,
        full_listing_at: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        let previous = self.sync_state(connection)?;
        let last_full = full_listing_at.or(previous.as_ref().and_then(|s| s.last_full_sync_at));
        if previous.is_some() {
            diesel::update(sync_state::table.find(connection))
                .set((
                    sync_state::delta_token.eq(delta_token),
                    sync_state::last_full_sync_at.eq(last_full),
                    sync_state::updated_at.eq(now),
                ))
                .execute(self.conn)?;
        } else {
            diesel::insert_into(sync_state::table)
                .values((
                    sync_state::connection.eq(connection),
                    sync_state::delta_token.eq(delta_token),
                    sync_state::last_full_sync_at.eq(last_full),
                    sync_state::updated_at.eq(now),
                ))
                .execute(self.conn)?;
        }
        Ok(())
    }
}
