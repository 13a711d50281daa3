//! Starts sync runs on each connection's cron schedule.
//!
//! One task per connection with `sync` and an adapter: it computes the next time from the
//! schedule, sleeps until then and runs. A run that outlasts the interval delays the next one
//! (the next time is computed after it ends), so the scheduler never overlaps itself. Runs
//! that fail are recorded and logged by the run itself; the task carries on.

use std::sync::Arc;

use chrono::Utc;
use tokio::task::JoinHandle;

use super::run::{RunRequest, SyncContext, Trigger};

/// Spawns one task per scheduled connection on the current runtime; returns their handles.
pub fn spawn(context: Arc<SyncContext>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for connection in &context.config().connections {
        let (Some(sync), Some(_)) = (&connection.sync, &connection.adapter) else {
            continue;
        };
        tracing::info!(
            connection = %connection.name,
            schedule = %sync.schedule_text,
            "sync scheduled"
        );
        let name = connection.name.clone();
        let schedule = sync.schedule.clone();
        let context = context.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(next) = schedule.upcoming(Utc).next() else {
                    tracing::warn!(connection = %name, "the schedule has no upcoming time");
                    return;
                };
                let wait = (next - Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
                let request = RunRequest::new(name.clone(), Trigger::Schedule);
                if let Err(err) = context.run(request).await {
                    tracing::error!(connection = %name, error = %err, "sync run could not start");
                }
            }
        }));
    }
    tasks
}
