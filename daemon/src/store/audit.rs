//! The login audit log: who tried to sign in, when, through which connection, and the outcome.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::login_audit;
use super::{StoreError, Tx};

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Signed in.
    Success,
    /// Refused; the reason column says why.
    Refused,
}

impl LoginOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Refused => "refused",
        }
    }
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub connection: String,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub outcome: String,
    pub reason: String,
    pub detail: String,
}

impl Tx<'_> {
    /// Appends a login attempt. `reason` is a short searchable code, `detail` the precise cause.
    #[allow(clippy::too_many_arguments)]
    pub fn record_login(
        &mut self,
        at: NaiveDateTime,
        connection: &str,
        user_id: Option<&str>,
        email: Option<&str>,
        outcome: LoginOutcome,
        reason: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let insert = diesel::insert_into(login_audit::table).values((
            login_audit::at.eq(at),
            login_audit::connection.eq(connection),
            login_audit::user_id.eq(user_id),
            login_audit::email.eq(email),
            login_audit::outcome.eq(outcome.as_str()),
            login_audit::reason.eq(reason),
            login_audit::detail.eq(detail),
        ));
        on_backend!(self.conn, c => insert.execute(c))?;
        if let (LoginOutcome::Success, Some(user_id)) = (outcome, user_id) {
            let data =
                serde_json::json!({ "user_id": user_id, "email": email, "connection": connection });
            self.record_event(super::EventKind::Login, connection, user_id, &data, at)?;
        }
        Ok(())
    }

    /// The newest audit rows, optionally of one connection.
    pub fn login_audit(
        &mut self,
        connection: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let mut query = login_audit::table.into_boxed();
        if let Some(connection) = connection {
            query = query.filter(login_audit::connection.eq(connection.to_string()));
        }
        Ok(query
            .order(login_audit::id.desc())
            .limit(limit)
            .load(self.conn)?)
    }
}
