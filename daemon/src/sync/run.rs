//! One sync run of one connection, from lock to recorded outcome.
//!
//! [`SyncContext::run_blocking`] does the work on the calling thread (adapter calls and store
//! writes block); [`SyncContext::run`] moves it to tokio's blocking pool. A failure inside the
//! run (adapter missing or panicking, network, store) is recorded in `sync_runs` and returned
//! as a report with status `failed`; only problems before the run exists are errors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::apply::{ApplyCounts, Stopped, apply};
use super::early;
use super::fetch::{FetchHow, FetchOutcome, Fetched, Progress, fetch};
use super::listing::ListingRules;
use super::lock::RunLocks;
use super::plan::{CurrentState, PlanOptions, ReconcilePlan, plan};
use super::timed::TimedDirectory;
use super::{RunGuard, SyncError};
use crate::config::{
    AdapterConfig, Config, ConnectionConfig, DEFAULT_FULL_SYNC_HOURS, MaxDeactivate, SyncMode,
};
use crate::plugins::{Clock, HttpClient, HttpSettings, LoadedAdapter, SystemClock};
use crate::store::{Store, SyncRunRow, SyncStateRow};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The connection's cron schedule.
    Schedule,
    /// `provisiond sync`.
    Cli,
    /// The admin API.
    Api,
}

impl Trigger {
    /// The name stored in `sync_runs.trigger`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Cli => "cli",
            Self::Api => "api",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The plan was applied (or, for a dry run, computed).
    Succeeded,
    /// Something failed; the message says what. The next run retries.
    Failed,
    /// The mass-deactivation guard stopped it; nothing was applied.
    Blocked,
    /// Another run of the connection was in progress.
    Skipped,
}

impl RunStatus {
    /// The name stored in `sync_runs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Blocked => "blocked",
            Self::Skipped => "skipped",
        }
    }
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    /// The connection.
    pub connection: String,
    /// Who asks.
    pub trigger: Trigger,
    /// Compute and return the plan, change nothing, record nothing.
    pub dry_run: bool,
    /// Read everything even where a delta would do.
    pub full: bool,
    /// Apply even when the plan deactivates more users than `max_deactivate` allows.
    pub allow_mass_deactivation: bool,
}

impl RunRequest {
    /// A normal run of `connection` started by `trigger`.
    pub fn new(connection: impl Into<String>, trigger: Trigger) -> Self {
        Self {
            connection: connection.into(),
            trigger,
            dry_run: false,
            full: false,
            allow_mass_deactivation: false,
        }
    }
}

/// The counts stored with a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    /// Adapter pages read.
    pub pages: u64,
    /// Users listed (or changed, for a delta); for a listing that failed, the users its pages
    /// held until then.
    pub users_seen: usize,
    /// Groups listed (or changed, for a delta); for a listing that failed, as for users.
    pub groups_seen: usize,
    /// What was (or would be) changed.
    #[serde(flatten)]
    pub changes: ApplyCounts,
    /// Listed users left alone because their email belongs to another account.
    pub conflicts: usize,
    /// Listed objects skipped because they failed the listing checks (an address that is not
    /// one or is outside the connection's domains, an empty id, a NUL character), and ids
    /// listed more than once.
    pub rejected: usize,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The recorded run; `None` for dry runs.
    pub run_id: Option<String>,
    /// The connection.
    pub connection: String,
    /// How it ended.
    pub status: RunStatus,
    /// `full` or `incremental`.
    pub mode: &'static str,
    /// Counts.
    pub counts: RunCounts,
    /// The plan, for dry runs and blocked runs.
    pub plan: Option<ReconcilePlan>,
    /// Why it failed, was blocked or skipped.
    pub message: Option<String>,
    /// Wall time.
    pub duration: Duration,
}

/// Everything runs need, shared by the scheduler and the CLI.
pub struct SyncContext {
    config: Arc<Config>,
    store: Store,
    locks: RunLocks,
    adapters: Mutex<HashMap<String, LoadedAdapter>>,
    http_settings: HttpSettings,
    clock: Arc<dyn Clock>,
}

impl SyncContext {
    /// A context with the default HTTP settings and the wall clock.
    pub fn new(config: Arc<Config>, store: Store) -> Self {
        Self {
            config,
            locks: RunLocks::with_lease(
                store.clone(),
                format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            ),
            store,
            adapters: Mutex::new(HashMap::new()),
            http_settings: HttpSettings::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses these HTTP settings and clock for adapter I/O (tests shorten waits).
    pub fn with_http(mut self, settings: HttpSettings, clock: Arc<dyn Clock>) -> Self {
        self.http_settings = settings;
        self.clock = clock;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Loads every configured adapter once, logging the ones that fail; their connections'
    /// runs fail with the same error until the library is fixed.
    pub fn preload_adapters(&self) {
        for connection in &self.config.connections {
            if let Some(adapter) = &connection.adapter
                && let Err(err) = self.adapter(&connection.name, adapter)
            {
                tracing::error!(connection = %connection.name, error = %err, "adapter not loaded");
            }
        }
    }

    /// Runs on tokio's blocking pool.
    pub async fn run(self: &Arc<Self>, request: RunRequest) -> Result<RunReport, SyncError> {
        let context = self.clone();
        tokio::task::spawn_blocking(move || context.run_blocking(&request, &mut |_| {}))
            .await
            .unwrap_or(Err(SyncError::Cancelled))
    }

    /// Runs on this thread, reporting progress.
    pub fn run_blocking(
        &self,
        request: &RunRequest,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RunReport, SyncError> {
        let started = Instant::now();
        let name = request.connection.as_str();
        let connection = self
            .config
            .connection(name)
            .ok_or_else(|| SyncError::UnknownConnection(name.to_owned()))?;
        let adapter = connection
            .adapter
            .as_ref()
            .ok_or_else(|| SyncError::NoAdapter(name.to_owned()))?;

        let lease = connection
            .sync
            .as_ref()
            .map_or(super::lock::DEFAULT_LEASE, |s| s.lease);
        let Some(guard) = self.locks.try_acquire(name, lease)? else {
            return self.skipped(request, started);
        };
        // Holding the connection's lease, a run still marked `running` belongs to a process
        // that died (no live replica can be running it).
        if !request.dry_run {
            let interrupted = self
                .store
                .write(|tx| tx.mark_interrupted_sync_runs(Some(name), Utc::now().naive_utc()))?;
            if interrupted > 0 {
                tracing::warn!(
                    connection = %name,
                    runs = interrupted,
                    "marked interrupted runs failed"
                );
            }
        }

        let run_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!(
            "sync_run",
            run_id = %run_id,
            connection = %name,
            trigger = request.trigger.as_str()
        );
        let _entered = span.enter();
        let now = Utc::now().naive_utc();
        if !request.dry_run {
            self.store.write(|tx| {
                tx.insert_sync_run(&SyncRunRow {
                    id: run_id.clone(),
                    connection: name.to_owned(),
                    trigger: request.trigger.as_str().to_owned(),
                    mode: mode_name(connection.sync.as_ref().map(|s| s.mode)).to_owned(),
                    status: "running".to_owned(),
                    started_at: now,
                    finished_at: None,
                    counts: "{}".to_owned(),
                    message: None,
                })
            })?;
        }

        let executed = self.execute(request, connection, adapter, &guard, now, progress);
        let report = self.finish(request, run_id, executed, started)?;
        tracing::info!(
            connection = %name,
            trigger = request.trigger.as_str(),
            status = report.status.as_str(),
            mode = report.mode,
            counts = %serde_json::to_string(&report.counts).unwrap_or_default(),
            duration_ms = elapsed_ms(started),
            message = report.message.as_deref().unwrap_or(""),
            "sync run finished"
        );
        let metrics = crate::metrics::metrics();
        metrics
            .sync_runs
            .with_label_values(&[name, report.status.as_str()])
            .inc();
        metrics
            .sync_duration
            .with_label_values(&[name])
            .observe(started.elapsed().as_secs_f64());
        Ok(report)
    }

    fn skipped(&self, request: &RunRequest, started: Instant) -> Result<RunReport, SyncError> {
        let message = "another run of this connection is in progress".to_owned();
        tracing::info!(
            connection = %request.connection,
            trigger = request.trigger.as_str(),
            "sync run skipped: {message}"
        );
        let mut run_id = None;
        if !request.dry_run {
            let id = uuid::Uuid::new_v4().to_string();
            let now = Utc::now().naive_utc();
            self.store.write(|tx| {
                tx.insert_sync_run(&SyncRunRow {
                    id: id.clone(),
                    connection: request.connection.clone(),
                    trigger: request.trigger.as_str().to_owned(),
                    mode: "none".to_owned(),
                    status: RunStatus::Skipped.as_str().to_owned(),
                    started_at: now,
                    finished_at: Some(now),
                    counts: "{}".to_owned(),
                    message: Some(message.clone()),
                })
            })?;
            run_id = Some(id);
        }
        Ok(RunReport {
            run_id,
            connection: request.connection.clone(),
            status: RunStatus::Skipped,
            mode: "none",
            counts: RunCounts::default(),
            plan: None,
            message: Some(message),
            duration: started.elapsed(),
        })
    }

    /// Fetch, plan, guard, apply.
    fn execute(
        &self,
        request: &RunRequest,
        connection: &ConnectionConfig,
        adapter_config: &AdapterConfig,
        guard: &RunGuard,
        now: NaiveDateTime,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Executed, SyncError> {
        let name = connection.name.as_str();
        let adapter_error = |source| SyncError::Adapter {
            connection: name.to_owned(),
            source,
        };
        let (mode, max_deactivate, full_every) = match &connection.sync {
            Some(sync) => (sync.mode, sync.max_deactivate, sync.full_every),
            None => (
                SyncMode::Full,
                MaxDeactivate::Percent(10.0),
                Duration::from_secs(DEFAULT_FULL_SYNC_HOURS * 3600),
            ),
        };

        // Read the directory through the adapter.
        let adapter = self.adapter(name, adapter_config)?;
        let settings: Value =
            serde_json::from_str(adapter_config.settings.expose()).map_err(|err| {
                SyncError::Settings {
                    connection: name.to_owned(),
                    detail: err.to_string(),
                }
            })?;
        let http = HttpClient::new(self.http_settings.clone(), self.clock.clone())
            .map_err(adapter_error)?;
        let call_timeout = connection.sync.as_ref().map_or(
            Duration::from_secs(crate::config::DEFAULT_CALL_TIMEOUT_SECONDS),
            |s| s.call_timeout,
        );
        let making = adapter.clone();
        let mut session = TimedDirectory::start(adapter.name(), call_timeout, move || {
            making.create(&settings, http)
        })
        .map_err(adapter_error)?;
        let state = self.store.read(|tx| tx.sync_state(name))?;
        let how = fetch_how(
            mode,
            adapter.description().supports_delta,
            request.full,
            state.as_ref(),
            full_every,
            now,
        );
        // Read the directory. A delta is small, so the connection's current state is loaded
        // meanwhile on another thread (the fetch mostly waits on the network); beside a full
        // listing, which holds the whole directory, it is loaded afterwards to keep the peak
        // memory down.
        //
        // A connection's first complete listing creates its users as the pages arrive (see
        // `early`); the plan then finds them in the store.
        let phase = Instant::now();
        let overlap = matches!(how, FetchHow::DeltaFrom(_));
        let mode = if overlap { "incremental" } else { "full" };
        let early =
            !request.dry_run && !overlap && !self.store.read(|tx| tx.connection_has_users(name))?;
        let mut read = Progress::Fetching {
            pages: 0,
            users: 0,
            groups: 0,
        };
        let (fetched, loaded, created) = std::thread::scope(|scope| {
            let loading = overlap.then(|| scope.spawn(|| self.current_state(name)));
            let (pages, received) = std::sync::mpsc::channel();
            let creating = early.then(|| {
                scope.spawn(move || early::create_from_pages(&self.store, name, &received, now))
            });
            let mut pages = creating.is_some().then_some(pages);
            let mut listed = |users: &[provisiond_plugin_api::AdapterUser]| {
                // A failed early pass has dropped its end; the run reports why at the end.
                if let Some(sender) = &pages
                    && !users.is_empty()
                    && sender.send(users.to_vec()).is_err()
                {
                    pages = None;
                }
            };
            // What was read so far, for the record of a listing that fails.
            let mut reading = |step: Progress| {
                if let Progress::Fetching { .. } = step {
                    read = step;
                }
                progress(step);
            };
            let rules = ListingRules::for_connection(connection);
            let fetched = fetch(&mut session, &rules, how, &mut reading, &mut listed);
            tracing::debug!(elapsed_ms = elapsed_ms(phase), "listing read");
            // The early pass ends when its sender is gone.
            drop(pages);
            (
                fetched,
                loading.map(|loading| loading.join()),
                creating.map(|creating| creating.join()),
            )
        });
        drop(session);
        let created = match created {
            Some(joined) => joined.map_err(|_| SyncError::TaskPanicked {
                connection: name.to_owned(),
                task: "creating the listed users",
            })?,
            None => early::EarlyCreated::default(),
        };
        let fetched = match fetched {
            Ok(fetched) => fetched,
            // Nothing is planned from a listing that failed: no account is deactivated and no
            // group deleted for missing from it. Users created early stay (each as its page
            // listed it); the run records them, and what was read.
            Err(err) => {
                return Ok(Executed::failed_listing(
                    &err,
                    mode,
                    read,
                    created.user_ids.len(),
                ));
            }
        };
        tracing::debug!(
            elapsed_ms = elapsed_ms(phase),
            pages = fetched.pages,
            created_early = created.user_ids.len(),
            "fetched"
        );
        let (current, load_ms) = match loaded {
            Some(joined) => joined.map_err(|_| SyncError::TaskPanicked {
                connection: name.to_owned(),
                task: "reading the current state from the store",
            })?,
            None => self.current_state(name),
        };
        let current = current?;
        tracing::debug!(
            elapsed_ms = load_ms,
            users = current.users.len(),
            overlapped = overlap,
            "loaded"
        );

        // Diff against the store.
        // The guard protects the accounts the run did not create itself.
        let active = current
            .users
            .iter()
            .filter(|user| user.active && !created.user_ids.contains(&user.id))
            .count() as u64;
        let phase = Instant::now();
        let planned = plan(&current, &fetched.fetched, &PlanOptions::default());
        drop(current);
        tracing::debug!(
            elapsed_ms = elapsed_ms(phase),
            changes = planned.len(),
            "planned"
        );
        let mut executed = Executed::new(&fetched, planned);
        drop(fetched);
        super::report::log_rejections(&executed.plan);

        // The guard: a run that would deactivate too many users stops for an admin (users it
        // created early stay; nothing else is applied).
        let deactivating = executed
            .plan
            .deactivate_users
            .iter()
            .filter(|change| !created.user_ids.contains(&change.user_id))
            .count() as u64;
        executed.counts.changes.users_created += created.user_ids.len();
        if !max_deactivate.allows(deactivating, active) && !request.allow_mass_deactivation {
            executed.status = RunStatus::Blocked;
            executed.message = Some(format!(
                "would deactivate {deactivating} of {active} active users, more than \
                 max_deactivate ({}) allows; nothing was applied. Check the assignments at the \
                 IdP, then run `provisiond sync {name} --allow-mass-deactivation`",
                limit_text(max_deactivate)
            ));
            return Ok(executed);
        }
        if request.dry_run {
            return Ok(executed);
        }

        // A run whose lease another replica took over while it read or planned changes
        // nothing: that replica's run reads newer data, and the two would apply side by side.
        let phase = Instant::now();
        let applied = match guard.still_held() {
            Ok(true) => apply(
                &self.store,
                name,
                &executed.plan,
                now,
                progress,
                &mut || guard.still_held(),
            ),
            held => Err(Box::new(Stopped {
                counts: ApplyCounts::default(),
                error: held.map_or_else(SyncError::from, |_| SyncError::LeaseLost {
                    connection: name.to_owned(),
                }),
            })),
        };
        let stopped = applied
            .as_ref()
            .err()
            .map(|stopped| stopped.error.to_string());
        executed.counts.changes = match applied {
            Ok(counts) => counts,
            Err(stopped) => stopped.counts,
        };
        executed.counts.changes.users_created += created.user_ids.len();
        // A run that stopped part way is recorded with what it changed until then.
        if let Some(message) = stopped {
            executed.status = RunStatus::Failed;
            executed.message = Some(message);
            return Ok(executed);
        }
        tracing::debug!(elapsed_ms = elapsed_ms(phase), "applied");
        executed.applied = true;
        Ok(executed)
    }

    /// The connection's users, groups and memberships, with the milliseconds reading took.
    fn current_state(&self, name: &str) -> (Result<CurrentState, SyncError>, u64) {
        let started = Instant::now();
        let current = self.store.read(|tx| {
            Ok::<_, SyncError>(CurrentState {
                users: tx.users(Some(name))?,
                groups: tx.all_groups(name)?,
                memberships: tx.memberships(name)?,
            })
        });
        (current, elapsed_ms(started))
    }

    /// Records the outcome (and, after a whole plan was applied, the cursor).
    fn finish(
        &self,
        request: &RunRequest,
        run_id: String,
        executed: Result<Executed, SyncError>,
        started: Instant,
    ) -> Result<RunReport, SyncError> {
        let name = request.connection.as_str();
        let now = Utc::now().naive_utc();
        let mut report = RunReport {
            run_id: (!request.dry_run).then(|| run_id.clone()),
            connection: name.to_owned(),
            status: RunStatus::Failed,
            mode: "full",
            counts: RunCounts::default(),
            plan: None,
            message: None,
            duration: Duration::ZERO,
        };
        match executed {
            Ok(executed) => {
                report.status = executed.status;
                report.mode = executed.mode;
                report.counts = executed.counts;
                report.message = executed.message;
                if !request.dry_run {
                    let counts = serde_json::to_string(&report.counts).unwrap_or_default();
                    self.store.write(|tx| {
                        if executed.applied {
                            let full_at = executed.full.then_some(now);
                            tx.save_sync_state(
                                name,
                                executed.delta_token.as_deref(),
                                full_at,
                                now,
                            )?;
                        }
                        tx.finish_sync_run(
                            &run_id,
                            report.mode,
                            report.status.as_str(),
                            &counts,
                            report.message.as_deref(),
                            now,
                        )
                    })?;
                }
                let planned = match report.status {
                    RunStatus::Blocked => true,
                    RunStatus::Failed | RunStatus::Skipped => false,
                    RunStatus::Succeeded => request.dry_run,
                };
                if planned {
                    report.plan = Some(executed.plan);
                }
            }
            Err(err) => {
                report.message = Some(err.to_string());
                if !request.dry_run {
                    self.store.write(|tx| {
                        tx.finish_sync_run(
                            &run_id,
                            "full",
                            "failed",
                            "{}",
                            report.message.as_deref(),
                            now,
                        )
                    })?;
                }
            }
        }
        report.duration = started.elapsed();
        Ok(report)
    }

    /// The connection's adapter, loaded on first use and kept.
    fn adapter(
        &self,
        connection: &str,
        config: &AdapterConfig,
    ) -> Result<LoadedAdapter, SyncError> {
        let mut loaded = self.adapters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(adapter) = loaded.get(&config.name) {
            return Ok(adapter.clone());
        }
        let adapter =
            LoadedAdapter::load(&self.config.adapters_dir, &config.name).map_err(|source| {
                SyncError::Adapter {
                    connection: connection.to_owned(),
                    source,
                }
            })?;
        loaded.insert(config.name.clone(), adapter.clone());
        Ok(adapter)
    }
}

/// What [`SyncContext::execute`] found and did.
struct Executed {
    status: RunStatus,
    mode: &'static str,
    full: bool,
    delta_token: Option<String>,
    plan: ReconcilePlan,
    counts: RunCounts,
    message: Option<String>,
    applied: bool,
}

impl Executed {
    /// A run whose listing failed after `read` (the last progress of the listing), and after
    /// the early pass created `created` users.
    fn failed_listing(err: &SyncError, mode: &'static str, read: Progress, created: usize) -> Self {
        let mut counts = RunCounts::default();
        if let Progress::Fetching {
            pages,
            users,
            groups,
        } = read
        {
            counts.pages = pages;
            counts.users_seen = usize::try_from(users).unwrap_or(usize::MAX);
            counts.groups_seen = usize::try_from(groups).unwrap_or(usize::MAX);
        }
        counts.changes.users_created = created;
        Self {
            status: RunStatus::Failed,
            mode,
            full: false,
            delta_token: None,
            plan: ReconcilePlan::default(),
            counts,
            message: Some(err.to_string()),
            applied: false,
        }
    }

    fn new(fetched: &FetchOutcome, plan: ReconcilePlan) -> Self {
        let (users_seen, groups_seen) = match &fetched.fetched {
            Fetched::Snapshot(snapshot) => (snapshot.users.len(), snapshot.groups.len()),
            Fetched::Delta(delta) => (
                delta.users.len() + delta.removed_users.len(),
                delta.groups.len() + delta.removed_groups.len(),
            ),
        };
        let counts = RunCounts {
            pages: fetched.pages,
            users_seen,
            groups_seen,
            changes: ApplyCounts::of_plan(&plan),
            conflicts: plan.conflicts.len(),
            rejected: plan.rejected.len(),
        };
        Self {
            status: RunStatus::Succeeded,
            mode: if fetched.is_full() {
                "full"
            } else {
                "incremental"
            },
            full: fetched.is_full(),
            delta_token: fetched.delta_token.clone(),
            plan,
            counts,
            message: None,
            applied: false,
        }
    }
}

/// How to read the directory: a delta only in incremental mode, with a token, and while the
/// last full listing is recent enough (the delta gap closes at each full listing).
fn fetch_how(
    mode: SyncMode,
    supports_delta: bool,
    force_full: bool,
    state: Option<&SyncStateRow>,
    full_every: Duration,
    now: NaiveDateTime,
) -> FetchHow {
    if mode == SyncMode::Full || !supports_delta {
        return FetchHow::Listing;
    }
    let recent = |at: NaiveDateTime| {
        (now - at)
            .to_std()
            .map(|age| age < full_every)
            .unwrap_or(true)
    };
    match state {
        Some(SyncStateRow {
            delta_token: Some(token),
            last_full_sync_at: Some(at),
            ..
        }) if !force_full && recent(*at) => FetchHow::DeltaFrom(token.clone()),
        _ => FetchHow::DeltaFromScratch,
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn mode_name(mode: Option<SyncMode>) -> &'static str {
    match mode {
        Some(SyncMode::Incremental) => "incremental",
        _ => "full",
    }
}

fn limit_text(limit: MaxDeactivate) -> String {
    match limit {
        MaxDeactivate::Count(count) => format!("{count} users"),
        MaxDeactivate::Percent(percent) => format!("{percent}%"),
    }
}
