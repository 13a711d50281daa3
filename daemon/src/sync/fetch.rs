//! Reading the directory through an adapter session: a full listing (users, then groups, page by
//! page), or a delta round. Calls block on the network: run this off async worker threads.
//!
//! A delta round started without a token reports every assigned user and group (as Graph's
//! initial delta does), so it doubles as a full listing that also yields a token. A stored
//! token the adapter no longer accepts falls back to such a round; an adapter without delta
//! support falls back to a full listing.
//!
//! Every page passes the checks of [`listing`](super::listing) as it arrives: objects that
//! fail are kept aside as rejections, and a listing that loops on a cursor or outgrows the
//! connection's bound fails the run before it holds more.

use foldhash::{HashMap, HashMapExt};

use provisiond_plugin_api::{AdapterError, AdapterGroup, AdapterUser, DeltaNext, DeltaPage, Page};

use super::SyncError;
use super::listing::{
    CursorTrail, ItemBudget, ListingRules, ObjectKind, Rejection, reserve_within,
};
use crate::plugins::{AdapterSession, PluginError};

/// Where listings come from: an adapter session (or, in tests, a scripted directory).
pub trait Directory {
    /// One page of assigned users; `None` for the first page.
    fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, PluginError>;
    /// One page of assigned groups with member user ids; `None` for the first page.
    fn groups_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterGroup>, PluginError>;
    /// One page of changes since `token` (a cursor of this round or a stored delta token).
    fn delta(&mut self, token: Option<&str>) -> Result<DeltaPage, PluginError>;
}

impl Directory for AdapterSession {
    fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, PluginError> {
        AdapterSession::users_page(self, cursor)
    }

    fn groups_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterGroup>, PluginError> {
        AdapterSession::groups_page(self, cursor)
    }

    fn delta(&mut self, token: Option<&str>) -> Result<DeltaPage, PluginError> {
        AdapterSession::delta(self, token)
    }
}

/// Most pages one listing may take before the run gives up (a looping adapter).
pub const MAX_PAGES: u64 = 1_000_000;

/// Everything assigned to the application.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Assigned users.
    pub users: Vec<AdapterUser>,
    /// Assigned groups with their member user ids.
    pub groups: Vec<AdapterGroup>,
    /// Listed objects that failed the checks: listed, but not usable.
    pub rejected: Vec<Rejection>,
}

/// Changes since a delta token, folded so the last word on each object wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// Users created or changed, in their current state.
    pub users: Vec<AdapterUser>,
    /// External ids of users deleted or no longer assigned.
    pub removed_users: Vec<String>,
    /// Groups created or changed, with their full member lists.
    pub groups: Vec<AdapterGroup>,
    /// Ids of groups deleted or no longer assigned.
    pub removed_groups: Vec<String>,
    /// Changed objects that failed the checks; whatever the round said of them before is
    /// dropped, so their accounts are left as they are.
    pub rejected: Vec<Rejection>,
}

/// What a run read.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// A complete listing: whatever is not in it is no longer assigned.
    Snapshot(Snapshot),
    /// Changes only: whatever is not in it is unchanged.
    Delta(Delta),
}

/// How to read the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchHow {
    /// `users_page` and `groups_page` to the end.
    Listing,
    /// A delta round without a token: a complete listing plus a token.
    DeltaFromScratch,
    /// A delta round from a stored token.
    DeltaFrom(String),
}

/// Progress of a run, for a terminal display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Pages read so far, with the users and groups seen.
    Fetching {
        /// Pages.
        pages: u64,
        /// Users seen.
        users: u64,
        /// Groups seen.
        groups: u64,
    },
    /// Changes applied so far, of the plan's total.
    Applying {
        /// Applied.
        done: usize,
        /// Total.
        total: usize,
    },
}

/// The result of [`fetch`].
#[derive(Debug, Clone, PartialEq)]
pub struct FetchOutcome {
    /// What was read.
    pub fetched: Fetched,
    /// The token to store once the plan is applied (delta rounds only).
    pub delta_token: Option<String>,
    /// Pages read.
    pub pages: u64,
}

impl FetchOutcome {
    /// Whether this was a complete listing.
    pub fn is_full(&self) -> bool {
        matches!(self.fetched, Fetched::Snapshot(_))
    }
}

/// Reads the directory `how` asks, falling back as the module docs describe, under the
/// connection's `rules`. `listed` sees the users of each page of a complete listing that
/// pass the checks as they arrive (not those of a delta).
pub fn fetch(
    directory: &mut impl Directory,
    rules: &ListingRules<'_>,
    how: FetchHow,
    progress: &mut dyn FnMut(Progress),
    listed: &mut dyn FnMut(&[AdapterUser]),
) -> Result<FetchOutcome, SyncError> {
    let connection = rules.name();
    let mut counter = Counter::default();
    let adapter_error = |source: PluginError| SyncError::Adapter {
        connection: connection.to_owned(),
        source,
    };

    let delta_start = match how {
        FetchHow::Listing => None,
        FetchHow::DeltaFromScratch => Some(None),
        FetchHow::DeltaFrom(token) => Some(Some(token)),
    };
    if let Some(start) = delta_start {
        let mut round =
            |token| delta_round(directory, rules, token, &mut counter, progress, listed);
        match round(start.clone()) {
            Ok(outcome) => return Ok(outcome),
            Err(DeltaFailure::Fallback(reason)) if start.is_some() => {
                tracing::info!(connection, %reason, "delta token refused; reading everything");
                match round(None) {
                    Ok(outcome) => return Ok(outcome),
                    Err(DeltaFailure::Fallback(_)) => {}
                    Err(DeltaFailure::Failed(err)) => return Err(err),
                }
            }
            Err(DeltaFailure::Fallback(reason)) => {
                tracing::info!(connection, %reason, "no delta support; reading everything");
            }
            Err(DeltaFailure::Failed(err)) => return Err(err),
        }
    }

    let mut snapshot = Snapshot::default();
    let mut budget = ItemBudget::new(rules.max_items);
    let mut trail = CursorTrail::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = directory
            .users_page(cursor.as_deref())
            .map_err(adapter_error)?;
        counter.page(connection, page.items.len(), 0, progress)?;
        // Known shortcoming: a page is decoded whole before it is counted, so one page far
        // larger than the bound is held once before the bound refuses it.
        budget.admit(connection, page.items.len() as u64)?;
        let users = rules.keep_users(page.items, &mut snapshot.rejected);
        listed(&users);
        reserve_within(&mut snapshot.users, users.len(), budget.remaining());
        snapshot.users.extend(users);
        match page.next_cursor {
            Some(next) => {
                trail.follow(connection, "users listing", &next)?;
                cursor = Some(next);
            }
            None => break,
        }
    }
    let mut trail = CursorTrail::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = directory
            .groups_page(cursor.as_deref())
            .map_err(adapter_error)?;
        counter.page(connection, 0, page.items.len(), progress)?;
        budget.admit(connection, group_items(&page.items))?;
        let groups = rules.keep_groups(page.items, &mut snapshot.rejected);
        reserve_within(&mut snapshot.groups, groups.len(), budget.remaining());
        snapshot.groups.extend(groups);
        match page.next_cursor {
            Some(next) => {
                trail.follow(connection, "groups listing", &next)?;
                cursor = Some(next);
            }
            None => break,
        }
    }
    Ok(FetchOutcome {
        fetched: Fetched::Snapshot(snapshot),
        delta_token: None,
        pages: counter.pages,
    })
}

/// Groups and their memberships: what a page of groups adds to a listing.
fn group_items(groups: &[AdapterGroup]) -> u64 {
    groups
        .iter()
        .map(|group| 1 + group.members.len() as u64)
        .sum()
}

enum DeltaFailure {
    /// The adapter cannot serve this round: read another way.
    Fallback(String),
    /// The run fails.
    Failed(SyncError),
}

fn delta_round(
    directory: &mut impl Directory,
    rules: &ListingRules<'_>,
    token: Option<String>,
    counter: &mut Counter,
    progress: &mut dyn FnMut(Progress),
    listed: &mut dyn FnMut(&[AdapterUser]),
) -> Result<FetchOutcome, DeltaFailure> {
    let connection = rules.name();
    let from_scratch = token.is_none();
    let mut cursor = token;
    let mut users: Fold<AdapterUser> = Fold::default();
    let mut groups: Fold<AdapterGroup> = Fold::default();
    let mut rejected = Vec::new();
    let mut budget = ItemBudget::new(rules.max_items);
    let mut trail = CursorTrail::default();
    loop {
        let page = directory
            .delta(cursor.as_deref())
            .map_err(|err| match err.adapter_error() {
                Some(AdapterError::InvalidCursor { message }) => {
                    DeltaFailure::Fallback(message.clone())
                }
                Some(AdapterError::Unsupported { .. }) => {
                    DeltaFailure::Fallback("the adapter has no delta support".into())
                }
                _ => DeltaFailure::Failed(SyncError::Adapter {
                    connection: connection.to_owned(),
                    source: err,
                }),
            })?;
        counter
            .page(connection, page.users.len(), page.groups.len(), progress)
            .map_err(DeltaFailure::Failed)?;
        let items = page.users.len() as u64
            + page.removed_users.len() as u64
            + group_items(&page.groups)
            + page.removed_groups.len() as u64;
        budget
            .admit(connection, items)
            .map_err(DeltaFailure::Failed)?;

        let DeltaPage {
            users: changed_users,
            removed_users,
            groups: changed_groups,
            removed_groups,
            next,
        } = page;
        // An object that fails the checks is dropped with whatever the round said of it
        // before: its account is left as it is, not changed or removed.
        let first_rejected = rejected.len();
        let changed_users = rules.keep_users(changed_users, &mut rejected);
        let changed_groups = rules.keep_groups(changed_groups, &mut rejected);
        for rejection in &rejected[first_rejected..] {
            match rejection.kind {
                ObjectKind::User => users.forget(&rejection.id),
                ObjectKind::Group => groups.forget(&rejection.id),
            }
        }
        if from_scratch {
            listed(&changed_users);
        }
        for user in changed_users {
            users.set(user.external_id.clone(), Some(user));
        }
        for id in removed_users {
            users.set(id, None);
        }
        for group in changed_groups {
            groups.set(group.id.clone(), Some(group));
        }
        for id in removed_groups {
            groups.set(id, None);
        }

        let delta_token = match next {
            DeltaNext::More { cursor: next } => {
                trail
                    .follow(connection, "delta round", &next)
                    .map_err(DeltaFailure::Failed)?;
                cursor = Some(next);
                continue;
            }
            DeltaNext::Complete { delta_token } => delta_token,
        };
        let (users, removed_users) = users.finish();
        let (groups, removed_groups) = groups.finish();
        // A round from scratch reports everything assigned: it is a complete listing, and
        // removals in it are meaningless.
        let fetched = if from_scratch {
            Fetched::Snapshot(Snapshot {
                users,
                groups,
                rejected,
            })
        } else {
            Fetched::Delta(Delta {
                users,
                removed_users,
                groups,
                removed_groups,
                rejected,
            })
        };
        // A token no store should keep (PostgreSQL refuses NUL in text; a huge one is no real
        // token) is dropped: the next run reads everything again instead of failing to save
        // this one's work.
        let delta_token = if delta_token.contains('\0') {
            tracing::warn!(
                connection,
                "the adapter's delta token holds a NUL; not kept"
            );
            None
        } else if delta_token.len() > super::listing::MAX_CURSOR_BYTES {
            tracing::warn!(
                connection,
                bytes = delta_token.len(),
                "delta token too long; not kept"
            );
            None
        } else {
            Some(delta_token)
        };
        return Ok(FetchOutcome {
            fetched,
            delta_token,
            pages: counter.pages,
        });
    }
}

/// Objects by id in first-seen order, where the last mention wins (`None`: removed).
struct Fold<T> {
    order: Vec<String>,
    state: HashMap<String, Option<T>>,
}

impl<T> Default for Fold<T> {
    fn default() -> Self {
        Self {
            order: Vec::new(),
            state: HashMap::new(),
        }
    }
}

impl<T> Fold<T> {
    fn set(&mut self, id: String, value: Option<T>) {
        if let Some(slot) = self.state.get_mut(&id) {
            *slot = value;
        } else {
            self.order.push(id.clone());
            self.state.insert(id, value);
        }
    }

    /// Drops what was said of `id` so far: it is neither present nor removed.
    fn forget(&mut self, id: &str) {
        self.state.remove(id);
    }

    /// The present objects and the removed ids, in first-seen order.
    fn finish(mut self) -> (Vec<T>, Vec<String>) {
        let mut present = Vec::new();
        let mut removed = Vec::new();
        for id in self.order {
            match self.state.remove(&id) {
                Some(Some(value)) => present.push(value),
                Some(None) => removed.push(id),
                None => {}
            }
        }
        (present, removed)
    }
}

#[derive(Default)]
struct Counter {
    pages: u64,
    users: u64,
    groups: u64,
}

impl Counter {
    fn page(
        &mut self,
        connection: &str,
        users: usize,
        groups: usize,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), SyncError> {
        self.pages += 1;
        self.users += users as u64;
        self.groups += groups as u64;
        if self.pages > MAX_PAGES {
            return Err(SyncError::TooManyPages {
                connection: connection.to_owned(),
                pages: MAX_PAGES,
            });
        }
        progress(Progress::Fetching {
            pages: self.pages,
            users: self.users,
            groups: self.groups,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
