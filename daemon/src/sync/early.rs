//! Creating the users of a connection's first complete listing while the listing is still
//! being read, so that the largest apply a connection ever sees (its first sync: every
//! assigned user is new) overlaps the network instead of following it.
//!
//! Only for a connection that has no users at all when the run starts: then no listed user
//! can match a stored one (by external id or email) and no email is held by anyone, so a user
//! created early is exactly what the plan would create. Within the listing, the first mention
//! of an external id creates the user when no earlier mention asked for its address; anything
//! else is left to the plan. The plan then runs as usual on the store as it is after the
//! listing: it finds these users by external id, so a later mention of the same user (the last
//! one wins) becomes an update, and every other change (groups, memberships, users the early
//! pass left alone, accounts a sign-in or SCIM made meanwhile) is planned and applied as
//! always. The mass-deactivation guard counts every account except the ones created here.
//!
//! A user is created from the page it is read on, so a listing that later drops it (a round
//! abandoned for a full listing, a removal within the round) or changes its address ends as
//! if a run had seen that page: the user is deactivated or updated and keeps an address it
//! was given, as after any run.

use std::hash::BuildHasher;

use foldhash::{HashSet, HashSetExt};
use std::sync::mpsc::{Receiver, TryRecvError};

use chrono::NaiveDateTime;
use provisiond_plugin_api::AdapterUser;

use super::apply::{BATCH, new_user_row};
use super::plan::desired_profile;
use crate::store::{NewUser, Store, email_key};

/// What the early pass created.
#[derive(Debug, Default)]
pub struct EarlyCreated {
    /// Stored ids of the users it created.
    pub user_ids: HashSet<String>,
}

/// Creates users from listing pages received on `pages` until the sender is dropped, in
/// transactions of at most [`BATCH`] users: whatever pages have arrived when the previous
/// transaction ends go into the next one.
///
/// A transaction that fails (an account created meanwhile by a sign-in or SCIM holds an
/// address or id) ends the pass: its users, and all that follow, are left to the plan, which
/// matches such accounts. Ids and addresses already taken are remembered by their 64-bit
/// hash: a collision likewise only leaves a user to the plan.
pub fn create_from_pages(
    store: &Store,
    connection: &str,
    pages: &Receiver<Vec<AdapterUser>>,
    now: NaiveDateTime,
) -> EarlyCreated {
    let hasher = foldhash::fast::RandomState::default();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut claimed: HashSet<u64> = HashSet::new();
    let mut created = EarlyCreated::default();
    let mut pending: Vec<NewUser> = Vec::new();
    let mut take = |page: Vec<AdapterUser>, pending: &mut Vec<NewUser>| {
        for user in page {
            let profile = desired_profile(&user);
            let key = email_key(&profile.email);
            // Every address mentioned is claimed, even by a later mention of a user already
            // seen (which the plan turns into an email change that must not find it taken).
            let free = !key.is_empty() && claimed.insert(hasher.hash_one(&key));
            // A user seen before, without an address, or asking for one an earlier mention
            // took, is left to the plan (which resolves or reports it).
            if seen.insert(hasher.hash_one(&user.external_id)) && free {
                pending.push(new_user_row(connection, &profile, user.active, now));
            }
        }
    };
    let mut open = true;
    while open && let Ok(page) = pages.recv() {
        take(page, &mut pending);
        while pending.len() < BATCH {
            match pages.try_recv() {
                Ok(page) => take(page, &mut pending),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let rows = std::mem::take(&mut pending);
        match store.write(|tx| tx.insert_users(&rows)) {
            Ok(_) => created.user_ids.extend(rows.into_iter().map(|row| row.id)),
            Err(err) => {
                tracing::info!(
                    connection,
                    error = %err,
                    "creating listed users early stopped; the plan creates the rest"
                );
                break;
            }
        }
    }
    created
}
