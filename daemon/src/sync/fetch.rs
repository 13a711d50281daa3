//! Reading the directory through an adapter session: a full listing (users, then groups, page by
//! page), or a delta round. Calls block on the network: run this off async worker threads.
//!
//! A delta round started without a token reports every assigned user and group (as Graph's
//! initial delta does), so it doubles as a full listing that also yields a token. A stored
//! token the adapter no longer accepts falls back to such a round; an adapter without delta
//! support falls back to a full listing.

use foldhash::{HashMap, HashMapExt};

use provisiond_plugin_api::{AdapterError, AdapterGroup, AdapterUser, DeltaNext, DeltaPage};

use super::SyncError;
use crate::plugins::{AdapterSession, PluginError};

/// Most pages one listing may take before the run gives up (a looping adapter).
pub const MAX_PAGES: u64 = 1_000_000;

/// Everything assigned to the application.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Assigned users.
    pub users: Vec<AdapterUser>,
    /// Assigned groups with their member user ids.
    pub groups: Vec<AdapterGroup>,
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

/// Reads the directory `how` asks, falling back as the module docs describe. `listed` sees
/// the users of each page of a complete listing as it arrives (not those of a delta).
pub fn fetch(
    session: &mut AdapterSession,
    connection: &str,
    how: FetchHow,
    progress: &mut dyn FnMut(Progress),
    listed: &mut dyn FnMut(&[AdapterUser]),
) -> Result<FetchOutcome, SyncError> {
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
        match delta_round(
            session,
            connection,
            start.clone(),
            &mut counter,
            progress,
            listed,
        ) {
            Ok(outcome) => return Ok(outcome),
            Err(DeltaFailure::Fallback(reason)) if start.is_some() => {
                tracing::info!(connection, %reason, "delta token refused; reading everything");
                match delta_round(session, connection, None, &mut counter, progress, listed) {
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
    let mut cursor: Option<String> = None;
    loop {
        let page = session
            .users_page(cursor.as_deref())
            .map_err(adapter_error)?;
        counter.page(connection, page.items.len(), 0, progress)?;
        listed(&page.items);
        snapshot.users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut cursor: Option<String> = None;
    loop {
        let page = session
            .groups_page(cursor.as_deref())
            .map_err(adapter_error)?;
        counter.page(connection, 0, page.items.len(), progress)?;
        snapshot.groups.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(FetchOutcome {
        fetched: Fetched::Snapshot(snapshot),
        delta_token: None,
        pages: counter.pages,
    })
}

enum DeltaFailure {
    /// The adapter cannot serve this round: read another way.
    Fallback(String),
    /// The run fails.
    Failed(SyncError),
}

fn delta_round(
    session: &mut AdapterSession,
    connection: &str,
    token: Option<String>,
    counter: &mut Counter,
    progress: &mut dyn FnMut(Progress),
    listed: &mut dyn FnMut(&[AdapterUser]),
) -> Result<FetchOutcome, DeltaFailure> {
    let from_scratch = token.is_none();
    let mut cursor = token;
    let mut users: Fold<AdapterUser> = Fold::default();
    let mut groups: Fold<AdapterGroup> = Fold::default();
    loop {
        let page = session
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

        let DeltaPage {
            users: changed_users,
            removed_users,
            groups: changed_groups,
            removed_groups,
            next,
        } = page;
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
            Fetched::Snapshot(Snapshot { users, groups })
        } else {
            Fetched::Delta(Delta {
                users,
                removed_users,
                groups,
                removed_groups,
            })
        };
        return Ok(FetchOutcome {
            fetched,
            delta_token: Some(delta_token),
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
