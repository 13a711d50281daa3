//! Scheduled sync: read who is assigned to the application through the connection's adapter,
//! diff it against the store, and apply the difference.
//!
//! One run goes: lock the connection ([`RunLocks`]), record the run, [`fetch()`] a full listing
//! or a delta through the adapter (each page checked as it arrives: see [`listing`] for what
//! is skipped and what fails the run), load the connection's current state, compute a
//! [`ReconcilePlan`] with the pure [`plan()`] function, check the mass-deactivation guard,
//! [`apply()`] the plan in batched transactions, and record the outcome with the delta token.
//! [`scheduler`] starts runs on each connection's cron schedule; the CLI starts them by hand.
//!
//! Nothing is ever deleted by a sync: users no longer assigned (or disabled at the IdP) are
//! deactivated with their data kept, and reactivated when they come back. Groups no longer
//! assigned are marked deleted and lose their memberships.
//!
//! Crash safety: every batch is one transaction, every write is idempotent or guarded by a
//! unique index, and the delta token is saved only after the whole plan is applied, so a run
//! killed at any point leaves a consistent store and the next run converges.
//!
//! Incremental runs and the delta gap: Entra's delta queries do not report assignment-only
//! changes (a user newly assigned with no other change). In incremental mode a full listing
//! therefore runs whenever the last one is older than `sync.full_sync_hours` (24 by default).

pub mod apply;
mod early;
mod emails;
pub mod fetch;
pub mod listing;
mod lock;
pub mod plan;
pub mod report;
pub mod run;
pub mod scheduler;
mod timed;

pub use apply::{ApplyCounts, apply};
pub use fetch::{Delta, Directory, FetchHow, FetchOutcome, Fetched, Progress, Snapshot, fetch};
pub use listing::{ListingRules, Rejection};
pub use lock::{RunGuard, RunLocks};
pub use plan::{CurrentState, PlanOptions, ReconcilePlan, plan};
pub use run::{RunReport, RunRequest, SyncContext, Trigger};

use crate::plugins::PluginError;
use crate::store::StoreError;

/// Why a sync run failed.
///
/// Messages name the connection and, for adapter problems, the library file; never the
/// adapter config (it holds a client secret).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No connection has this name: check the spelling or the config file.
    #[error("no connection named {0:?}")]
    UnknownConnection(String),
    /// The connection has no `adapter`: configure one to sync it.
    #[error("connection {0:?} has no adapter to sync from")]
    NoAdapter(String),
    /// The adapter could not be loaded, or a call into it failed; the message names the file.
    #[error("connection {connection:?}: {source}")]
    Adapter {
        /// The connection.
        connection: String,
        /// What went wrong in the adapter.
        #[source]
        source: PluginError,
    },
    /// The adapter settings are not JSON (a bug: config loading produces JSON).
    #[error("connection {connection:?}: adapter_config is not valid JSON: {detail}")]
    Settings {
        /// The connection.
        connection: String,
        /// The parser's message (a position, never the content).
        detail: String,
    },
    /// The adapter paged without end.
    #[error("connection {connection:?}: the adapter returned more than {pages} pages")]
    TooManyPages {
        /// The connection.
        connection: String,
        /// The limit.
        pages: u64,
    },
    /// The adapter handed back a next-page cursor it had already returned in this listing, so
    /// it would read the same pages again without end (a bug in the adapter). The run fails
    /// and nothing of the listing is applied; fix or update the adapter.
    #[error(
        "connection {connection:?}: the adapter returned a next-page cursor of the {listing} \
         that it had already returned (page {pages}); it pages in a loop, so the run stopped"
    )]
    CursorRepeated {
        /// The connection.
        connection: String,
        /// Which sequence of pages: `users listing`, `groups listing` or `delta round`.
        listing: &'static str,
        /// Pages of that sequence read when the cursor came back.
        pages: u64,
    },
    /// The adapter returned a next-page cursor longer than [`listing::MAX_CURSOR_BYTES`]: real
    /// cursors (a Graph `@odata.nextLink`, a delta token) are a few kilobytes at most, and one
    /// that keeps growing would fill memory long before the page bound stops the listing.
    #[error(
        "connection {connection:?}: the adapter returned a next-page cursor of the {listing} \
         {bytes} bytes long, longer than the {max} a cursor may be, so the run stopped"
    )]
    CursorTooLong {
        /// The connection.
        connection: String,
        /// Which sequence of pages: `users listing`, `groups listing` or `delta round`.
        listing: &'static str,
        /// The cursor's length.
        bytes: usize,
        /// [`listing::MAX_CURSOR_BYTES`].
        max: usize,
    },
    /// The listing holds more users, groups and memberships than the connection's
    /// `sync.max_listing_items`. The run fails before holding more, and nothing of the listing
    /// is applied. Raise the bound if the directory is that large; otherwise the adapter
    /// pages without end.
    #[error(
        "connection {connection:?}: the listing holds more than {max} users, groups and \
         memberships (sync.max_listing_items), so the run stopped; raise the bound if the \
         directory is that large, else the adapter pages without end"
    )]
    TooManyItems {
        /// The connection.
        connection: String,
        /// The bound.
        max: u64,
    },
    /// Another replica took the connection's lease over before this run applied its plan, or
    /// between two of its batches (this process stalled longer than `sync.lease_seconds`, or
    /// could not reach the database to renew it). The run stops; what it committed is
    /// consistent, and the other replica's run does the rest.
    #[error(
        "connection {connection:?}: another replica took the sync lease over, so this run \
         stopped before applying (more of) its plan"
    )]
    LeaseLost {
        /// The connection.
        connection: String,
    },
    /// Reading or writing the store failed; the run stops, the next one converges.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A store task of the run panicked (a bug); the run stops, the next one converges.
    #[error("connection {connection:?}: {task} panicked")]
    TaskPanicked {
        /// The connection.
        connection: String,
        /// What the task was doing.
        task: &'static str,
    },
    /// The blocking task running the sync was lost (the runtime is shutting down).
    #[error("the sync task was cancelled")]
    Cancelled,
}

impl From<diesel::result::Error> for SyncError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Store(StoreError::Query(error))
    }
}

#[cfg(test)]
mod tests;
