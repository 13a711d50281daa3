//! The reconciliation plan: a pure diff between one connection's state in the store and what
//! its adapter listed. No I/O, no clock, no randomness: the same inputs give the same plan.
//!
//! Matching: a listed user is the stored user with the same external id (the IdP's object id;
//! accounts created by a SAML login carry it too), else the stored user with the same email
//! (ignoring the case of ASCII letters) that has no external id yet. Nothing is ever
//! duplicated: an email already used by another account is a [`Conflict`], reported and left
//! alone.
//!
//! Listed but rejected: an object that failed the listing checks (see
//! [`listing`](super::listing)) is skipped, yet it was listed. A complete listing therefore
//! does not deactivate the account it names (by external id, or by email for an account
//! without one) nor delete the group it names: both are left exactly as they are until the
//! IdP lists them in a usable form or stops listing them. Deactivating them instead would let
//! one malformed attribute at the IdP lock people out. An id listed more than once in one
//! listing is reported, and its last entry is used.
//!
//! Cost: O(users + groups + memberships) with hash maps.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use provisiond_plugin_api::AdapterUser;

use super::emails::allocate_emails;
use super::fetch::Fetched;
use super::listing::{ObjectKind, RejectReason, Rejection};
use crate::store::{Group, SyncedProfile, User, email_key};

mod groups;

/// One connection's state in the store, loaded in a few queries.
#[derive(Debug, Clone, Default)]
pub struct CurrentState {
    /// Every user of the connection, active or not.
    pub users: Vec<User>,
    /// Every group of the connection, deleted ones included.
    pub groups: Vec<Group>,
    /// `(group id, user id)` of the live groups.
    pub memberships: Vec<(String, String)>,
}

/// Choices that shape a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// A complete listing deactivates active users missing from it.
    pub deactivate_unassigned: bool,
    /// A complete listing deletes live groups with an external id missing from it.
    pub delete_unassigned_groups: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            deactivate_unassigned: true,
            delete_unassigned_groups: true,
        }
    }
}

/// A user in the plan: one already stored, or one the plan creates (by external id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserRef {
    /// A stored user id.
    Existing(String),
    /// The external id of a user in [`ReconcilePlan::create_users`].
    New(String),
}

/// A group in the plan: one already stored, or one the plan creates (by external id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupRef {
    /// A stored group id.
    Existing(String),
    /// The external id of a group in [`ReconcilePlan::create_groups`].
    New(String),
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCreate {
    /// Its profile.
    pub profile: SyncedProfile,
    /// Whether it may sign in (false when disabled at the IdP).
    pub active: bool,
}

/// A stored user whose profile changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUpdate {
    /// The stored user.
    pub user_id: String,
    /// Its email before the change (for display).
    pub previous_email: String,
    /// The new profile, every column.
    pub profile: SyncedProfile,
}

/// Why a user is deactivated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeactivationReason {
    /// No longer assigned to the application (or deleted at the IdP).
    Unassigned,
    /// Still assigned, but its account is disabled at the IdP.
    DisabledAtIdp,
}

/// A user whose `active` flag flips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveChange {
    /// The stored user.
    pub user_id: String,
    /// Its email (for display).
    pub email: String,
    /// Why, for deactivations.
    pub reason: Option<DeactivationReason>,
}

/// A group to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCreate {
    /// The IdP's id.
    pub external_id: String,
    /// Its name.
    pub display_name: String,
}

/// A stored group renamed or brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupUpdate {
    /// The stored group.
    pub group_id: String,
    /// The name before.
    pub previous_name: String,
    /// The name now.
    pub display_name: String,
}

/// A stored group deleted (its row stays, marked deleted; its memberships go).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDelete {
    /// The stored group.
    pub group_id: String,
    /// Its name (for display).
    pub display_name: String,
}

/// A membership to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAdd {
    /// The group.
    pub group: GroupRef,
    /// The user.
    pub user: UserRef,
    /// `group name += email`, for display.
    pub label: String,
}

/// A membership to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRemove {
    /// The stored group.
    pub group_id: String,
    /// The stored user.
    pub user_id: String,
    /// `group name -= email`, for display.
    pub label: String,
}

/// A listed user the plan leaves alone (fully or its email), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The IdP's id of the user.
    pub external_id: String,
    /// The email it asked for.
    pub email: String,
    /// What is in the way.
    pub reason: String,
}

/// Everything a run would change, in the order it is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcilePlan {
    /// Users to create.
    pub create_users: Vec<UserCreate>,
    /// Profiles to change, in an order where no email is taken before it is given up.
    pub update_users: Vec<UserUpdate>,
    /// Users to deactivate (data kept).
    pub deactivate_users: Vec<ActiveChange>,
    /// Users to reactivate.
    pub reactivate_users: Vec<ActiveChange>,
    /// Groups to create.
    pub create_groups: Vec<GroupCreate>,
    /// Groups renamed or undeleted.
    pub update_groups: Vec<GroupUpdate>,
    /// Groups to delete.
    pub delete_groups: Vec<GroupDelete>,
    /// Memberships to add.
    pub add_members: Vec<MemberAdd>,
    /// Memberships to remove.
    pub remove_members: Vec<MemberRemove>,
    /// Listed users left (partly) alone; not changes.
    pub conflicts: Vec<Conflict>,
    /// Listed objects skipped because they failed the listing checks, and ids listed more
    /// than once; not changes.
    pub rejected: Vec<Rejection>,
    /// Member ids of listed groups that name no known user; not changes.
    pub unknown_members: usize,
}

impl ReconcilePlan {
    /// How many changes applying it makes.
    pub fn len(&self) -> usize {
        self.create_users.len()
            + self.update_users.len()
            + self.deactivate_users.len()
            + self.reactivate_users.len()
            + self.create_groups.len()
            + self.update_groups.len()
            + self.delete_groups.len()
            + self.add_members.len()
            + self.remove_members.len()
    }

    /// Whether it changes nothing (conflicts are not changes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The profile a listed user should have. Entra users without `mail` sign in with their
/// UPN, which is then their address.
pub fn desired_profile(user: &AdapterUser) -> SyncedProfile {
    let email = desired_email(user).to_owned();
    SyncedProfile {
        external_id: user.external_id.clone(),
        email,
        user_name: Some(user.user_name.clone()),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        display_name: user.display_name.clone(),
    }
}

/// The address of [`desired_profile`].
pub(super) fn desired_email(user: &AdapterUser) -> &str {
    user.email
        .as_deref()
        .map(str::trim)
        .filter(|mail| !mail.is_empty())
        .unwrap_or(user.user_name.trim())
}

/// Computes what to change so the store matches `fetched`.
pub fn plan(current: &CurrentState, fetched: &Fetched, options: &PlanOptions) -> ReconcilePlan {
    let (listed_users, listed_groups, removed_users, removed_groups, rejected, complete) =
        match fetched {
            Fetched::Snapshot(snapshot) => (
                &snapshot.users,
                &snapshot.groups,
                &[][..],
                &[][..],
                &snapshot.rejected,
                true,
            ),
            Fetched::Delta(delta) => (
                &delta.users,
                &delta.groups,
                &delta.removed_users[..],
                &delta.removed_groups[..],
                &delta.rejected,
                false,
            ),
        };
    let mut out = ReconcilePlan {
        rejected: rejected.clone(),
        ..ReconcilePlan::default()
    };
    let users = plan_users(current, &dedupe_users(listed_users, &mut out), &mut out);

    // Users that are gone: missing from a complete listing, or removed in a delta.
    let deactivate = |user: &User, out: &mut ReconcilePlan| {
        if user.active {
            out.deactivate_users.push(ActiveChange {
                user_id: user.id.clone(),
                email: user.email.clone(),
                reason: Some(DeactivationReason::Unassigned),
            });
        }
    };
    if complete && options.deactivate_unassigned {
        let named = named_by_rejections(current, &users, rejected);
        for (index, user) in current.users.iter().enumerate() {
            if !users.matched.contains(&index) && !named.contains(&index) {
                deactivate(user, &mut out);
            }
        }
    }
    for id in removed_users {
        if let Some(&index) = users.by_external_id.get(id.as_str())
            && !users.matched.contains(&index)
        {
            deactivate(&current.users[index], &mut out);
        }
    }

    groups::plan_groups(
        current,
        &users,
        listed_groups,
        removed_groups,
        complete && options.delete_unassigned_groups,
        rejected,
        &mut out,
    );
    out
}

/// Listed users without repeats (the last mention wins), in first-seen order; each id listed
/// more than once is reported.
fn dedupe_users<'a>(listed: &'a [AdapterUser], out: &mut ReconcilePlan) -> Vec<&'a AdapterUser> {
    let mut position: HashMap<&str, usize> = HashMap::with_capacity(listed.len());
    let mut unique: Vec<&AdapterUser> = Vec::with_capacity(listed.len());
    let mut times: Vec<usize> = Vec::with_capacity(listed.len());
    for user in listed {
        match position.get(user.external_id.as_str()) {
            Some(&at) => {
                unique[at] = user;
                times[at] += 1;
            }
            None => {
                position.insert(&user.external_id, unique.len());
                unique.push(user);
                times.push(1);
            }
        }
    }
    for (user, times) in unique.iter().zip(times) {
        if times > 1 {
            out.rejected
                .push(Rejection::user(user, RejectReason::Listed { times }));
        }
    }
    unique
}

/// Stored users that a rejected user entry names, as planning would have matched them: by
/// external id, else by email among accounts without one. See the module docs.
fn named_by_rejections(
    current: &CurrentState,
    users: &UserIndex<'_>,
    rejected: &[Rejection],
) -> HashSet<usize> {
    let rejected_users = || {
        rejected
            .iter()
            .filter(|rejection| rejection.kind == ObjectKind::User)
    };
    let mut named = HashSet::new();
    if rejected_users().next().is_none() {
        return named;
    }
    let without_external_id: HashMap<&str, usize> = current
        .users
        .iter()
        .enumerate()
        .filter(|(_, user)| user.external_id.is_none())
        .map(|(index, user)| (user.email_key.as_str(), index))
        .collect();
    for rejection in rejected_users() {
        if let Some(&index) = users.by_external_id.get(rejection.id.as_str()) {
            named.insert(index);
        } else if let Some(email) = &rejection.email
            && let Some(&index) = without_external_id.get(email_key(email).as_str())
        {
            named.insert(index);
        }
    }
    named
}

/// What user planning tells group planning.
struct UserIndex<'a> {
    /// Stored users by external id.
    by_external_id: HashMap<&'a str, usize>,
    /// Stored users matched by a listed user.
    matched: HashSet<usize>,
    /// Every listed or stored user by external id, as a plan reference and a label.
    refs: HashMap<String, (UserRef, String)>,
}

fn plan_users<'a>(
    current: &'a CurrentState,
    listed: &[&AdapterUser],
    out: &mut ReconcilePlan,
) -> UserIndex<'a> {
    let stored = &current.users;
    let by_external_id: HashMap<&str, usize> = stored
        .iter()
        .enumerate()
        .filter_map(|(index, user)| user.external_id.as_deref().map(|id| (id, index)))
        .collect();
    let by_email: HashMap<&str, usize> = stored
        .iter()
        .enumerate()
        .map(|(index, user)| (user.email_key.as_str(), index))
        .collect();

    // Match by external id first, then by email for accounts without one.
    // Only the address keys are kept for every listed user; profiles are built one at a time
    // below (a large listing would otherwise hold a second copy of every user).
    let keys: Vec<String> = listed
        .iter()
        .map(|user| email_key(desired_email(user)))
        .collect();
    let mut matches: Vec<Option<usize>> = listed
        .iter()
        .map(|user| by_external_id.get(user.external_id.as_str()).copied())
        .collect();
    let mut matched: HashSet<usize> = matches.iter().flatten().copied().collect();
    for (slot, key) in matches.iter_mut().zip(&keys) {
        if slot.is_some() {
            continue;
        }
        if let Some(&index) = by_email.get(key.as_str())
            && stored[index].external_id.is_none()
            && matched.insert(index)
        {
            *slot = Some(index);
        }
    }

    let emails = allocate_emails(stored, &by_email, &matches, &keys);
    drop(keys);
    let mut refs: HashMap<String, (UserRef, String)> = stored
        .iter()
        .filter_map(|user| {
            let id = user.external_id.clone()?;
            Some((id, (UserRef::Existing(user.id.clone()), user.email.clone())))
        })
        .collect();

    let mut updates: Vec<Option<UserUpdate>> = vec![None; listed.len()];
    for (position, user) in listed.iter().enumerate() {
        let profile = desired_profile(user);
        let granted = emails.granted[position];
        match matches[position] {
            Some(index) => {
                let before = &stored[index];
                let mut profile = profile;
                if !granted {
                    out.conflicts.push(Conflict {
                        external_id: user.external_id.clone(),
                        email: profile.email.clone(),
                        reason: format!("email is used by another account; kept {}", before.email),
                    });
                    profile.email = before.email.clone();
                }
                if profile_differs(before, &profile) {
                    updates[position] = Some(UserUpdate {
                        user_id: before.id.clone(),
                        previous_email: before.email.clone(),
                        profile: profile.clone(),
                    });
                }
                match (user.active, before.active) {
                    (true, false) => out.reactivate_users.push(ActiveChange {
                        user_id: before.id.clone(),
                        email: profile.email.clone(),
                        reason: None,
                    }),
                    (false, true) => out.deactivate_users.push(ActiveChange {
                        user_id: before.id.clone(),
                        email: profile.email.clone(),
                        reason: Some(DeactivationReason::DisabledAtIdp),
                    }),
                    _ => {}
                }
                refs.insert(
                    user.external_id.clone(),
                    (UserRef::Existing(before.id.clone()), profile.email),
                );
            }
            None if granted => {
                refs.insert(
                    user.external_id.clone(),
                    (
                        UserRef::New(user.external_id.clone()),
                        profile.email.clone(),
                    ),
                );
                out.create_users.push(UserCreate {
                    profile,
                    active: user.active,
                });
            }
            None => out.conflicts.push(Conflict {
                external_id: user.external_id.clone(),
                email: profile.email,
                reason: "email is used by another account; not created".into(),
            }),
        }
    }

    // Email changes first, in the order that frees each address before it is taken.
    for &position in &emails.order {
        if let Some(update) = updates[position].take() {
            out.update_users.push(update);
        }
    }
    out.update_users.extend(updates.into_iter().flatten());

    UserIndex {
        by_external_id,
        matched,
        refs,
    }
}

fn profile_differs(user: &User, profile: &SyncedProfile) -> bool {
    user.external_id.as_deref() != Some(profile.external_id.as_str())
        || user.email != profile.email
        || user.user_name != profile.user_name
        || user.given_name != profile.given_name
        || user.family_name != profile.family_name
        || user.display_name != profile.display_name
}
