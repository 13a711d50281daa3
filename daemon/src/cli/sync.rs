//! `provisiond sync`, `provisiond sync-runs`, `provisiond groups list`, and the adapter part of
//! `check-config`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use super::{printable, printable_lines};
use crate::config::{AdapterCheck, Problem};
use crate::plugins::LoadedAdapter;
use crate::store::Store;
use crate::sync::report::{plan_lines, summary};
use crate::sync::run::{RunReport, RunStatus};
use crate::sync::{Progress, RunRequest, SyncContext, Trigger};

/// `provisiond sync CONNECTION`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The connection to sync.
    pub connection: String,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Read everything, even where a delta would do.
    #[arg(long)]
    pub full: bool,
    /// Apply even when more users would be deactivated than `max_deactivate` allows.
    #[arg(long)]
    pub allow_mass_deactivation: bool,
    /// Lines shown per kind of change in a dry run.
    #[arg(long, default_value_t = 10)]
    pub show: usize,
}

/// `provisiond sync-runs`.
#[derive(Debug, Args)]
pub struct SyncRunsArgs {
    /// Only this connection's runs.
    #[arg(long)]
    pub connection: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How many runs.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
}

/// `groups ...`.
#[derive(Debug, clap::Subcommand)]
pub enum GroupsCommand {
    /// List live groups with their members.
    List {
        /// Only this connection's groups.
        #[arg(long)]
        connection: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Prints the live groups of one or every connection, with member emails.
pub fn groups_list(path: &Path, connection: Option<&str>, json: bool) -> anyhow::Result<()> {
    let config = super::load(path)?;
    let store = Store::open(&config.database).context("opening the database")?;
    let names: Vec<&str> = match connection {
        Some(name) => vec![name],
        None => config.connections.iter().map(|c| c.name.as_str()).collect(),
    };
    let mut rows = Vec::new();
    for name in names {
        let (groups, memberships, users) = store.read(|tx| {
            Ok::<_, crate::store::StoreError>((
                tx.groups(name)?,
                tx.memberships(name)?,
                tx.users(Some(name))?,
            ))
        })?;
        let emails: std::collections::HashMap<&str, &str> = users
            .iter()
            .map(|user| (user.id.as_str(), user.email.as_str()))
            .collect();
        for group in groups {
            let mut members: Vec<String> = memberships
                .iter()
                .filter(|(group_id, _)| *group_id == group.id)
                .filter_map(|(_, user_id)| emails.get(user_id.as_str()).map(|e| (*e).to_owned()))
                .collect();
            members.sort();
            rows.push((group, members));
        }
    }
    super::check_listed_connection(&config, path, connection, rows.len())?;
    if json {
        let values: Vec<Value> = rows
            .iter()
            .map(|(group, members)| {
                let mut value = serde_json::to_value(group).unwrap_or(Value::Null);
                value["members"] = serde_json::json!(members);
                value
            })
            .collect();
        say!("{}", serde_json::to_string_pretty(&values)?);
        return Ok(());
    }
    say!(
        "{:<12}  {:<24}  {:<8}  MEMBERS",
        "CONNECTION",
        "NAME",
        "SOURCE"
    );
    for (group, members) in &rows {
        say!(
            "{:<12}  {:<24}  {:<8}  {}",
            printable(&group.connection),
            printable(&group.display_name),
            printable(&group.source),
            printable(&members.join(", "))
        );
    }
    say!("{} group(s)", rows.len());
    Ok(())
}

/// Runs one sync of a connection and prints the plan (dry run) or the summary.
pub async fn sync(path: &Path, args: SyncArgs) -> anyhow::Result<()> {
    let config = Arc::new(super::load(path)?);
    crate::telemetry::init_with_default(config.server.log_format, "warn");
    let store = Store::open(&config.database).context("opening the database")?;
    config.connection(&args.connection).with_context(|| {
        format!(
            "no connection named {:?} in {}",
            args.connection,
            path.display()
        )
    })?;

    let request = RunRequest {
        connection: args.connection.clone(),
        trigger: Trigger::Cli,
        dry_run: args.dry_run,
        full: args.full,
        allow_mass_deactivation: args.allow_mass_deactivation,
    };
    let context = SyncContext::new(config, store);
    let report = tokio::task::spawn_blocking(move || {
        let mut display = ProgressDisplay::new();
        let report = context.run_blocking(&request, &mut |progress| display.show(progress));
        display.finish();
        report
    })
    .await
    .context("the sync task stopped")??;

    // The run's outcome decides the exit status even when the output could not be written.
    let printed = print_report(&report, &args);
    match report.status {
        RunStatus::Succeeded => printed,
        RunStatus::Blocked => anyhow::bail!("the run was blocked by the mass-deactivation guard"),
        RunStatus::Skipped => anyhow::bail!("the run was skipped"),
        RunStatus::Failed => anyhow::bail!("the run failed"),
    }
}

fn print_report(report: &RunReport, args: &SyncArgs) -> anyhow::Result<()> {
    if args.dry_run {
        say!("Dry run of {}: nothing was changed.", report.connection);
    }
    say!("{}", printable_lines(&summary(report)));
    if let Some(plan) = &report.plan {
        let lines = printable_lines(&plan_lines(plan, args.show));
        super::write_out(format_args!("{lines}"))?;
    }
    Ok(())
}

/// Prints the sync run history.
pub fn sync_runs(path: &Path, args: &SyncRunsArgs) -> anyhow::Result<()> {
    let config = super::load(path)?;
    let store = Store::open(&config.database).context("opening the database")?;
    let runs = store.read(|tx| tx.sync_runs(args.connection.as_deref(), args.limit.max(1)))?;
    super::check_listed_connection(&config, path, args.connection.as_deref(), runs.len())?;
    if args.json {
        let rows: Vec<Value> = runs
            .iter()
            .map(|run| {
                let mut value = serde_json::to_value(run).unwrap_or(Value::Null);
                value["counts"] = serde_json::from_str(&run.counts).unwrap_or(Value::Null);
                value
            })
            .collect();
        say!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    say!(
        "{:<19}  {:<12}  {:<8}  {:<11}  {:<9}  {:>8}  COUNTS / MESSAGE",
        "STARTED (UTC)",
        "CONNECTION",
        "TRIGGER",
        "MODE",
        "STATUS",
        "SECONDS"
    );
    for run in &runs {
        let seconds = run
            .finished_at
            .map(|end| {
                format!(
                    "{:.1}",
                    (end - run.started_at).num_milliseconds() as f64 / 1e3
                )
            })
            .unwrap_or_else(|| "-".to_owned());
        let detail = run.message.as_deref().unwrap_or(&run.counts);
        say!(
            "{:<19}  {:<12}  {:<8}  {:<11}  {:<9}  {:>8}  {}",
            run.started_at.format("%Y-%m-%d %H:%M:%S"),
            printable(&run.connection),
            run.trigger,
            run.mode,
            run.status,
            seconds,
            printable(detail)
        );
    }
    say!("{} run(s)", runs.len());
    Ok(())
}

/// Loads each adapter and asks it to check its settings; every problem is named
/// `connections[i].adapter_config.<path>` (or `connections[i].adapter` when the library itself
/// is the problem).
///
/// The daemon cannot tell which settings are secret, and an adapter may quote a value despite
/// the API's rule: any setting's value found in a message is replaced by `[redacted]`.
pub fn adapter_problems(adapters: &[AdapterCheck]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for adapter in adapters {
        let settings: Option<Value> = adapter
            .settings
            .as_ref()
            .and_then(|settings| serde_json::from_str(settings.expose()).ok());
        let values = settings.as_ref().map(setting_values).unwrap_or_default();
        let mut report = |key: String, message: String| {
            problems.push(Problem {
                key,
                message: redact(message, &values),
            });
        };

        // An unusable adapters_dir is reported already.
        let Some(dir) = &adapter.dir else {
            continue;
        };
        let key = &adapter.key;
        let loaded = match LoadedAdapter::load(dir, &adapter.name) {
            Ok(loaded) => loaded,
            Err(err) => {
                report(format!("{key}.adapter"), err.to_string());
                continue;
            }
        };
        // Settings that are not a mapping are reported already.
        let Some(settings) = &settings else {
            continue;
        };
        match loaded.validate_config(settings) {
            Ok(found) => {
                for problem in found {
                    let path = match problem.path.as_str() {
                        "" => format!("{key}.adapter_config"),
                        path => format!("{key}.adapter_config.{path}"),
                    };
                    report(path, problem.message);
                }
            }
            Err(err) => report(format!("{key}.adapter"), err.to_string()),
        }
    }
    problems
}

/// The values of the settings (text and numbers, at least 4 characters long: shorter ones
/// would blank out ordinary words and are no secret worth the name), longest first.
fn setting_values(settings: &Value) -> Vec<String> {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::String(text) => found.push(text.clone()),
            Value::Number(number) => found.push(number.to_string()),
            Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
            Value::Object(map) => map.values().for_each(|item| walk(item, found)),
            Value::Null | Value::Bool(_) => {}
        }
    }
    let mut found = Vec::new();
    walk(settings, &mut found);
    found.retain(|value| value.chars().count() >= 4);
    found.sort_by_key(|value| std::cmp::Reverse(value.len()));
    found.dedup();
    found
}

fn redact(message: String, values: &[String]) -> String {
    values.iter().fold(message, |message, value| {
        if message.contains(value.as_str()) {
            message.replace(value.as_str(), "[redacted]")
        } else {
            message
        }
    })
}

/// A one-line progress display on stderr, only when stderr is a terminal.
struct ProgressDisplay {
    enabled: bool,
    last: Option<Instant>,
    shown: bool,
}

impl ProgressDisplay {
    fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            last: None,
            shown: false,
        }
    }

    fn show(&mut self, progress: Progress) {
        if !self.enabled {
            return;
        }
        let due = self
            .last
            .is_none_or(|last| last.elapsed() >= Duration::from_millis(200));
        if !due {
            return;
        }
        self.last = Some(Instant::now());
        let line = match progress {
            Progress::Fetching {
                pages,
                users,
                groups,
            } => format!("fetching: {pages} pages, {users} users, {groups} groups"),
            Progress::Applying { done, total } => format!("applying: {done} of {total} changes"),
        };
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
        self.shown = true;
    }

    fn finish(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_messages_never_carry_a_setting_value() {
        let settings = serde_json::json!({
            "client_secret": "s3cr3t-from-the-environment",
            "pin": 918273645546372819_u64,
            "nested": [{ "token": "abcd" }],
            "short": "abc",
            "flag": true,
        });
        let values = setting_values(&settings);
        let message = "client_secret s3cr3t-from-the-environment is not 918273645546372819 \
                       (abcd, abc, true)";
        assert_eq!(
            redact(message.to_owned(), &values),
            "client_secret [redacted] is not [redacted] ([redacted], abc, true)"
        );
    }
}
