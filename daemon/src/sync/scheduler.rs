//! Starts sync runs on each connection's cron schedule.
//!
//! One task per connection with `sync` and an adapter: it computes the next time from the
//! schedule, sleeps until then and runs. A run that outlasts the interval delays the next one
//! (the next time is computed after it ends), so the scheduler never overlaps itself. Runs
//! that fail are recorded and logged by the run itself; the task carries on.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::run::{RunRequest, SyncContext, Trigger};
use crate::config::Schedule;

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
            let mut next = schedule.next_after(&Utc::now());
            loop {
                let Some(due) = next else {
                    tracing::warn!(connection = %name, "the schedule has no upcoming time");
                    return;
                };
                let wait = (due - Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
                let request = RunRequest::new(name.clone(), Trigger::Schedule);
                if let Err(err) = context.run(request).await {
                    tracing::error!(connection = %name, error = %err, "sync run could not start");
                }
                next = following(&schedule, due, Utc::now());
            }
        }));
    }
    tasks
}

/// The run after the one due at `due`, which ended at `now`: never `due` again. A sleep counts
/// on the monotonic clock while the schedule reads the wall clock, which time synchronisation
/// may have slowed meanwhile, so a run may start and end a little before `due` by the wall
/// clock; the next run is then the one after `due`, not `due` a second time.
fn following(schedule: &Schedule, due: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule.next_after(&due.max(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_ending_before_its_time_by_the_wall_clock_is_not_run_again() {
        let schedule = Schedule::parse("0 3 * * *").unwrap();
        let due: DateTime<Utc> = "2026-03-02T03:00:00Z".parse().unwrap();
        let early = due - chrono::Duration::milliseconds(5);

        assert_eq!(
            following(&schedule, due, early),
            Some("2026-03-03T03:00:00Z".parse().unwrap())
        );
        let late = due + chrono::Duration::days(2);
        assert_eq!(
            following(&schedule, due, late),
            Some("2026-03-05T03:00:00Z".parse().unwrap()),
            "a run outlasting its interval delays the next one"
        );
    }
}
