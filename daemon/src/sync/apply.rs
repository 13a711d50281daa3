//! Applying a [`ReconcilePlan`] to the store in batched transactions.
//!
//! Each batch of at most [`BATCH`] changes is one transaction: a crash loses at most the batch
//! in flight, and what was committed is consistent on its own (users before the memberships
//! that name them, email changes in an order that never shares an address). The next run
//! plans from whatever was committed, so it converges without duplicates. Creates use
//! multi-row inserts; activation changes and version bumps are set-based updates.

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};

use chrono::NaiveDateTime;
use serde::Serialize;

use super::SyncError;
use super::fetch::Progress;
use super::plan::{GroupRef, ReconcilePlan, UserRef};
use crate::store::{NewGroup, NewUser, Store, StoreError, SyncedProfile, email_key};

/// Most changes per transaction. Each commit writes every page it dirtied, and new rows land
/// all over the random-keyed indexes (external ids, emails), so large transactions write far
/// less; this many still commit in a fraction of a second, keeping other writers' waits short.
pub const BATCH: usize = 5_000;

/// What a run changed (or, for a dry run or a blocked run, would change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplyCounts {
    /// Users created.
    pub users_created: usize,
    /// Users whose profile changed.
    pub users_updated: usize,
    /// Users deactivated.
    pub users_deactivated: usize,
    /// Users reactivated.
    pub users_reactivated: usize,
    /// Groups created.
    pub groups_created: usize,
    /// Groups renamed or brought back.
    pub groups_updated: usize,
    /// Groups deleted.
    pub groups_deleted: usize,
    /// Memberships added.
    pub members_added: usize,
    /// Memberships removed.
    pub members_removed: usize,
}

impl ApplyCounts {
    /// The counts a plan would produce.
    pub fn of_plan(plan: &ReconcilePlan) -> Self {
        Self {
            users_created: plan.create_users.len(),
            users_updated: plan.update_users.len(),
            users_deactivated: plan.deactivate_users.len(),
            users_reactivated: plan.reactivate_users.len(),
            groups_created: plan.create_groups.len(),
            groups_updated: plan.update_groups.len(),
            groups_deleted: plan.delete_groups.len(),
            members_added: plan.add_members.len(),
            members_removed: plan.remove_members.len(),
        }
    }
}

/// A plan applied in part: what its committed batches changed, and why the rest was not.
#[derive(Debug)]
pub struct Stopped {
    /// What the batches committed before the stop changed.
    pub counts: ApplyCounts,
    /// Why it stopped.
    pub error: SyncError,
}

/// Applies `plan` to `connection`; rows it creates get `source = "sync"` and fresh ids. `held`
/// renews the run's lease between batches, false once another replica has taken it over (an
/// error from it stops the run as the store's error, not as a lost lease). A plan that stops
/// part way gives what its committed batches changed with the reason.
pub fn apply(
    store: &Store,
    connection: &str,
    plan: &ReconcilePlan,
    now: NaiveDateTime,
    progress: &mut dyn FnMut(Progress),
    held: &mut dyn FnMut() -> Result<bool, StoreError>,
) -> Result<ApplyCounts, Box<Stopped>> {
    let mut counts = ApplyCounts::default();
    match apply_batches(store, connection, plan, now, progress, held, &mut counts) {
        Ok(()) => Ok(counts),
        Err(error) => Err(Box::new(Stopped { counts, error })),
    }
}

/// [`apply`], adding to `counts` as each batch commits.
fn apply_batches(
    store: &Store,
    connection: &str,
    plan: &ReconcilePlan,
    now: NaiveDateTime,
    progress: &mut dyn FnMut(Progress),
    held: &mut dyn FnMut() -> Result<bool, StoreError>,
    counts: &mut ApplyCounts,
) -> Result<(), SyncError> {
    let total = plan.len();
    let mut done = 0;
    // Between batches the run's lease is renewed: a run whose process stalled while another
    // replica took the connection over stops there (what it committed is consistent; the
    // other run, reading newer data, completes it) rather than apply its older plan beside it.
    let mut step = |count: usize, progress: &mut dyn FnMut(Progress)| {
        done += count;
        progress(Progress::Applying { done, total });
        if done < total && !held()? {
            return Err(SyncError::LeaseLost {
                connection: connection.to_owned(),
            });
        }
        Ok(())
    };
    let started = std::time::Instant::now();
    let phase = |what: &str| {
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "{what} applied"
        )
    };

    // Groups first, so memberships can name them.
    let mut group_ids: HashMap<&str, String> = HashMap::new();
    for batch in plan.create_groups.chunks(BATCH) {
        let rows: Vec<NewGroup> = batch
            .iter()
            .map(|group| NewGroup {
                id: crate::store::new_id(),
                connection: connection.to_owned(),
                external_id: Some(group.external_id.clone()),
                display_name: group.display_name.clone(),
                source: "sync".to_owned(),
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .collect();
        counts.groups_created += store.write(|tx| tx.insert_groups(&rows))?;
        for (group, row) in batch.iter().zip(rows) {
            group_ids.insert(&group.external_id, row.id);
        }
        step(batch.len(), progress)?;
    }
    for batch in plan.update_groups.chunks(BATCH) {
        store.write(|tx| {
            batch
                .iter()
                .try_for_each(|group| tx.set_group_name(&group.group_id, &group.display_name, now))
        })?;
        counts.groups_updated += batch.len();
        step(batch.len(), progress)?;
    }

    phase("groups");

    // Users: profile changes first, in plan order (an email chain frees each address
    // before it is taken, and a new user may take an address given up here), then creates.
    for batch in plan.update_users.chunks(BATCH) {
        store.write(|tx| {
            batch
                .iter()
                .try_for_each(|user| tx.set_synced_profile(&user.user_id, &user.profile, now))
        })?;
        counts.users_updated += batch.len();
        step(batch.len(), progress)?;
    }
    let mut user_ids: HashMap<&str, String> = HashMap::new();
    for batch in plan.create_users.chunks(BATCH) {
        let rows: Vec<NewUser> = batch
            .iter()
            .map(|user| new_user_row(connection, &user.profile, user.active, now))
            .collect();
        counts.users_created += store.write(|tx| tx.insert_users(&rows))?;
        for (user, row) in batch.iter().zip(rows) {
            user_ids.insert(&user.profile.external_id, row.id);
        }
        step(batch.len(), progress)?;
    }
    for (changes, active) in [
        (&plan.reactivate_users, true),
        (&plan.deactivate_users, false),
    ] {
        for batch in changes.chunks(BATCH) {
            let ids: Vec<String> = batch.iter().map(|change| change.user_id.clone()).collect();
            let changed = store.write(|tx| tx.set_users_active(&ids, active, now))?;
            if active {
                counts.users_reactivated += changed;
            } else {
                counts.users_deactivated += changed;
            }
            step(batch.len(), progress)?;
        }
    }

    phase("users");

    // Memberships, each batch bumping the versions of the groups whose members it changed
    // (a SCIM write may have made a planned change already). Every pair names
    // a user and a group read from the store or created above, so the store's foreign key
    // lookups are skipped (see `Store::write_known_references`). A removal batch locks its
    // groups before their membership rows, as every write changing members does
    // (`Tx::lock_groups`); an add batch only when it bumps them, after its inserts: those wait
    // for a user a SCIM deletion holds, which may in turn wait for one of the groups.
    for batch in plan.remove_members.chunks(BATCH) {
        let pairs: Vec<(String, String)> = batch
            .iter()
            .map(|member| (member.group_id.clone(), member.user_id.clone()))
            .collect();
        let touched: Vec<String> = touched_groups(pairs.iter().map(|(group, _)| group));
        counts.members_removed += store.write_known_references(|tx| {
            tx.lock_groups(&touched)?;
            let removed = tx.remove_members(connection, &pairs, now)?;
            tx.touch_groups(&touched_groups(removed.iter().map(|(group, _)| group)), now)?;
            Ok::<_, StoreError>(removed.len())
        })?;
        step(batch.len(), progress)?;
    }
    for batch in plan.add_members.chunks(BATCH) {
        let pairs: Vec<(String, String)> = batch
            .iter()
            .filter_map(|member| {
                let group = match &member.group {
                    GroupRef::Existing(id) => id.clone(),
                    GroupRef::New(external_id) => group_ids.get(external_id.as_str())?.clone(),
                };
                let user = match &member.user {
                    UserRef::Existing(id) => id.clone(),
                    UserRef::New(external_id) => user_ids.get(external_id.as_str())?.clone(),
                };
                Some((group, user))
            })
            .collect();
        counts.members_added += store.write_known_references(|tx| {
            let added = tx.add_members(connection, &pairs, now)?;
            tx.touch_groups(&touched_groups(added.iter().map(|(group, _)| group)), now)?;
            Ok::<_, StoreError>(added.len())
        })?;
        step(batch.len(), progress)?;
    }

    phase("memberships");
    for batch in plan.delete_groups.chunks(BATCH) {
        let ids: Vec<String> = batch.iter().map(|group| group.group_id.clone()).collect();
        store.write(|tx| {
            tx.lock_groups(&ids)?;
            ids.iter().try_for_each(|id| tx.delete_group(id, now))
        })?;
        counts.groups_deleted += batch.len();
        step(batch.len(), progress)?;
    }
    Ok(())
}

/// The row of a user a sync creates.
pub(super) fn new_user_row(
    connection: &str,
    profile: &SyncedProfile,
    active: bool,
    now: NaiveDateTime,
) -> NewUser {
    NewUser {
        id: crate::store::new_id(),
        connection: connection.to_owned(),
        external_id: Some(profile.external_id.clone()),
        email: profile.email.clone(),
        email_key: email_key(&profile.email),
        user_name: profile.user_name.clone(),
        given_name: profile.given_name.clone(),
        family_name: profile.family_name.clone(),
        display_name: profile.display_name.clone(),
        active,
        source: "sync".to_owned(),
        version: 1,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    }
}

fn touched_groups<'a>(groups: impl Iterator<Item = &'a String>) -> Vec<String> {
    groups
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}
