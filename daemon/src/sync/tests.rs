//! The reconciliation plan against a real (in-memory SQLite) store: examples of each rule, and
//! property tests that a plan, once applied, leaves nothing to do, never deletes a user and
//! never duplicates one.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{NaiveDateTime, Utc};
use proptest::prelude::*;
use provisiond_plugin_api::{AdapterGroup, AdapterUser};

use super::apply::apply;
use super::fetch::{Delta, Fetched, Snapshot};
use super::listing::{ObjectKind, RejectReason, Rejection};
use super::plan::{CurrentState, DeactivationReason, PlanOptions, ReconcilePlan, plan};
use crate::store::tests::memory_store;
use crate::store::{Store, User};

const CONNECTION: &str = "acme";

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn person(id: &str, email: &str, active: bool) -> AdapterUser {
    AdapterUser {
        email: Some(email.to_owned()),
        given_name: Some("Given".to_owned()),
        family_name: Some(format!("Family {id}")),
        active,
        ..AdapterUser::new(id, email)
    }
}

fn group(id: &str, name: &str, members: &[&str]) -> AdapterGroup {
    AdapterGroup {
        id: id.to_owned(),
        display_name: name.to_owned(),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
    }
}

fn state(store: &Store) -> CurrentState {
    store
        .read(|tx| {
            Ok::<_, crate::store::StoreError>(CurrentState {
                users: tx.users(Some(CONNECTION))?,
                groups: tx.all_groups(CONNECTION)?,
                memberships: tx.memberships(CONNECTION)?,
            })
        })
        .unwrap()
}

fn run(store: &Store, fetched: &Fetched) -> ReconcilePlan {
    let planned = plan(&state(store), fetched, &PlanOptions::default());
    apply(store, CONNECTION, &planned, now(), &mut |_| {}, &mut || {
        Ok(true)
    })
    .unwrap();
    planned
}

fn saml_user(store: &Store, external_id: Option<&str>, email: &str) -> User {
    let user = crate::testing::new_user("saml", external_id, email);
    store.write(|tx| tx.insert_user(&user)).unwrap()
}

fn snapshot(users: Vec<AdapterUser>, groups: Vec<AdapterGroup>) -> Fetched {
    Fetched::Snapshot(Snapshot {
        users,
        groups,
        rejected: Vec::new(),
    })
}

#[test]
fn a_first_run_creates_users_groups_and_memberships_and_a_second_changes_nothing() {
    let store = memory_store();
    let fetched = snapshot(
        vec![
            person("a", "a@x.test", true),
            person("b", "b@x.test", false),
        ],
        vec![group("g", "Staff", &["a", "b", "nobody"])],
    );

    let first = run(&store, &fetched);

    assert_eq!(first.create_users.len(), 2);
    assert_eq!(first.create_groups.len(), 1);
    assert_eq!(first.add_members.len(), 2);
    assert_eq!(first.unknown_members, 1);
    let users = store.read(|tx| tx.users(Some(CONNECTION))).unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| (u.email.as_str(), u.active))
            .collect::<Vec<_>>(),
        [("a@x.test", true), ("b@x.test", false)]
    );
    assert!(run(&store, &fetched).is_empty());
}

#[test]
fn users_created_by_saml_are_matched_by_external_id_or_by_email() {
    let store = memory_store();
    let by_id = saml_user(&store, Some("a"), "alice@x.test");
    let by_email = saml_user(&store, None, "Bob@X.test");

    let planned = run(
        &store,
        &snapshot(
            vec![
                person("a", "alice@x.test", true),
                person("b", "bob@x.test", true),
            ],
            vec![],
        ),
    );

    assert!(planned.create_users.is_empty(), "{planned:?}");
    let users = store.read(|tx| tx.users(Some(CONNECTION))).unwrap();
    assert_eq!(users.len(), 2);
    let bob = users.iter().find(|u| u.id == by_email.id).unwrap();
    assert_eq!(bob.external_id.as_deref(), Some("b"));
    assert!(users.iter().any(|u| u.id == by_id.id));
}

#[test]
fn unassigned_users_are_deactivated_and_come_back_when_reassigned() {
    let store = memory_store();
    let both = snapshot(
        vec![person("a", "a@x.test", true), person("b", "b@x.test", true)],
        vec![group("g", "Staff", &["a", "b"])],
    );
    run(&store, &both);

    let without_b = snapshot(
        vec![person("a", "a@x.test", true)],
        vec![group("g", "Staff", &["a"])],
    );
    let planned = run(&store, &without_b);
    assert_eq!(planned.deactivate_users.len(), 1);
    assert_eq!(
        planned.deactivate_users[0].reason,
        Some(DeactivationReason::Unassigned)
    );
    assert_eq!(planned.remove_members.len(), 1);
    let b = store
        .read(|tx| tx.user_by_external_id(CONNECTION, "b"))
        .unwrap()
        .unwrap();
    assert!(!b.active);
    assert_eq!(b.family_name.as_deref(), Some("Family b"), "data is kept");

    let planned = run(&store, &both);
    assert_eq!(planned.reactivate_users.len(), 1);
    assert!(run(&store, &both).is_empty());
}

#[test]
fn a_delta_changes_only_what_it_names() {
    let store = memory_store();
    run(
        &store,
        &snapshot(
            vec![person("a", "a@x.test", true), person("b", "b@x.test", true)],
            vec![group("g", "Staff", &["a"]), group("h", "Old", &["b"])],
        ),
    );

    let delta = Fetched::Delta(Delta {
        users: vec![person("c", "c@x.test", true)],
        removed_users: vec!["b".into()],
        groups: vec![group("g", "Staff", &["a", "c"])],
        removed_groups: vec!["h".into()],
        rejected: Vec::new(),
    });
    let planned = run(&store, &delta);

    assert_eq!(planned.create_users.len(), 1);
    assert_eq!(planned.deactivate_users.len(), 1);
    assert_eq!(planned.delete_groups.len(), 1);
    assert_eq!(planned.add_members.len(), 1);
    let a = store
        .read(|tx| tx.user_by_external_id(CONNECTION, "a"))
        .unwrap()
        .unwrap();
    assert!(a.active, "a user a delta does not name is left alone");
    assert!(run(&store, &delta).is_empty());
}

#[test]
fn an_email_chain_resolves_in_one_run_and_a_swap_is_a_conflict() {
    let store = memory_store();
    run(
        &store,
        &snapshot(
            vec![person("a", "a@x.test", true), person("b", "b@x.test", true)],
            vec![],
        ),
    );

    // a takes b's address while b moves on.
    let chain = snapshot(
        vec![
            person("a", "b@x.test", true),
            person("b", "new@x.test", true),
        ],
        vec![],
    );
    let planned = run(&store, &chain);
    assert!(planned.conflicts.is_empty(), "{:?}", planned.conflicts);
    assert!(run(&store, &chain).is_empty());

    let swap = snapshot(
        vec![
            person("a", "new@x.test", true),
            person("b", "b@x.test", true),
        ],
        vec![],
    );
    let planned = run(&store, &swap);
    assert_eq!(planned.conflicts.len(), 2);
    assert!(run(&store, &swap).is_empty());
}

#[test]
fn a_new_user_with_an_email_of_another_account_is_not_created() {
    let store = memory_store();
    saml_user(&store, Some("someone-else"), "a@x.test");
    let planned = run(
        &store,
        &snapshot(vec![person("a", "A@x.test", true)], vec![]),
    );
    assert!(planned.create_users.is_empty());
    assert_eq!(planned.conflicts.len(), 1);
}

/// A complete listing that names a user or group in an unusable form still lists it: the
/// account (found by external id, or by email when it has none) and the group stay as they
/// are, where leaving them out of the listing deactivates and deletes them.
#[test]
fn an_account_whose_listing_entry_is_rejected_is_left_as_it_is() {
    let store = memory_store();
    run(
        &store,
        &snapshot(
            vec![person("a", "a@x.test", true), person("b", "b@x.test", true)],
            vec![group("g", "Staff", &["a", "b"]), group("h", "Old", &["b"])],
        ),
    );
    // An account a SCIM client pushed, without an external id.
    let pushed = saml_user(&store, None, "c@x.test");
    let rejected = vec![
        Rejection::user(
            &person("a", "not an email <script>", true),
            RejectReason::NotAnEmail,
        ),
        Rejection::user(
            &person("c-id", "C@x.test", true),
            RejectReason::NulCharacter {
                field: "given name",
            },
        ),
        Rejection::group(&group("h", "", &[]), RejectReason::EmptyGroupName),
    ];
    let listed = |rejected: Vec<Rejection>| {
        Fetched::Snapshot(Snapshot {
            users: vec![person("b", "b@x.test", true)],
            groups: vec![group("g", "Staff", &["a", "b"])],
            rejected,
        })
    };

    let planned = plan(
        &state(&store),
        &listed(rejected.clone()),
        &PlanOptions::default(),
    );

    assert!(planned.deactivate_users.is_empty(), "{planned:?}");
    assert!(planned.delete_groups.is_empty(), "{planned:?}");
    assert!(planned.is_empty(), "{planned:?}");
    assert_eq!(planned.rejected, rejected);
    // The same listing without the rejected entries is one that dropped them.
    let dropped = plan(&state(&store), &listed(Vec::new()), &PlanOptions::default());
    let mut deactivated: Vec<&str> = dropped
        .deactivate_users
        .iter()
        .map(|change| change.email.as_str())
        .collect();
    deactivated.sort_unstable();
    assert_eq!(deactivated, ["a@x.test", "c@x.test"]);
    assert_eq!(dropped.delete_groups.len(), 1);

    apply(
        &store,
        CONNECTION,
        &planned,
        now(),
        &mut |_| {},
        &mut || Ok(true),
    )
    .unwrap();
    let users = store.read(|tx| tx.users(Some(CONNECTION))).unwrap();
    assert!(users.iter().all(|u| u.active), "{users:?}");
    let a = users
        .iter()
        .find(|u| u.external_id.as_deref() == Some("a"))
        .unwrap();
    assert_eq!(
        a.email, "a@x.test",
        "nothing of a rejected entry is applied"
    );
    assert!(
        users
            .iter()
            .any(|u| u.id == pushed.id && u.external_id.is_none())
    );
}

/// A delta says itself what became of an object; a rejection in it protects nothing more.
#[test]
fn a_rejection_in_a_delta_leaves_its_removals_alone() {
    let store = memory_store();
    run(
        &store,
        &snapshot(
            vec![person("a", "a@x.test", true)],
            vec![group("g", "Staff", &["a"])],
        ),
    );
    let delta = Fetched::Delta(Delta {
        removed_users: vec!["a".into()],
        removed_groups: vec!["g".into()],
        rejected: vec![
            Rejection::user(&person("a", "bad", true), RejectReason::NotAnEmail),
            Rejection::group(&group("g", "", &[]), RejectReason::EmptyGroupName),
        ],
        ..Delta::default()
    });

    let planned = plan(&state(&store), &delta, &PlanOptions::default());

    assert_eq!(planned.deactivate_users.len(), 1);
    assert_eq!(planned.delete_groups.len(), 1);
}

#[test]
fn ids_listed_twice_in_one_listing_are_reported_and_the_last_entry_is_used() {
    let store = memory_store();
    let mut first = person("a", "a@x.test", true);
    first.given_name = Some("First".into());
    let mut last = person("a", "a@x.test", true);
    last.given_name = Some("Last".into());

    let planned = run(
        &store,
        &snapshot(
            vec![first, person("b", "b@x.test", true), last],
            vec![group("g", "Old name", &["a"]), group("g", "Staff", &["b"])],
        ),
    );

    let reports: Vec<_> = planned
        .rejected
        .iter()
        .map(|r| (r.kind, r.id.as_str(), r.reason))
        .collect();
    assert_eq!(
        reports,
        [
            (ObjectKind::User, "a", RejectReason::Listed { times: 2 }),
            (ObjectKind::Group, "g", RejectReason::Listed { times: 2 }),
        ]
    );
    let a = store
        .read(|tx| tx.user_by_external_id(CONNECTION, "a"))
        .unwrap()
        .unwrap();
    assert_eq!(a.given_name.as_deref(), Some("Last"));
    let groups = store.read(|tx| tx.groups(CONNECTION)).unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].display_name, "Staff");
}

/// A KELVIN SIGN (U+212A) is not the letter K: an address written with one is another
/// person's, neither a conflict with the ASCII address nor a match for its account.
#[test]
fn an_address_with_a_look_alike_letter_is_a_different_person() {
    let store = memory_store();
    let kelvin = "\u{212A}im@x.test";
    let planned = run(
        &store,
        &snapshot(
            vec![person("k1", kelvin, true), person("k2", "kim@x.test", true)],
            vec![],
        ),
    );
    assert!(planned.conflicts.is_empty(), "{:?}", planned.conflicts);
    assert_eq!(planned.create_users.len(), 2);

    // An account with no IdP id yet is matched by its own address only.
    let store = memory_store();
    let kim = saml_user(&store, None, "kim@x.test");
    let planned = run(&store, &snapshot(vec![person("k1", kelvin, true)], vec![]));
    assert!(planned.conflicts.is_empty(), "{:?}", planned.conflicts);
    assert_eq!(planned.create_users.len(), 1);
    let users = state(&store).users;
    let kim_after = users.iter().find(|u| u.id == kim.id).unwrap();
    assert_eq!(kim_after.external_id, None);
    assert_eq!(kim_after.email, "kim@x.test");
    assert!(users.iter().any(|u| u.email == kelvin));
}

#[derive(Debug, Clone)]
struct World {
    existing: Vec<(Option<u8>, u8)>,
    listed: Vec<(u8, u8, bool, u8)>,
    groups: Vec<(u8, Vec<u8>)>,
    second: Vec<(u8, u8, bool, u8)>,
}

/// A run whose lease another replica takes over between two batches stops before the next
/// one: what it committed stays (each batch is consistent on its own), nothing more is
/// applied, and the run fails as having lost its lease.
#[test]
fn applying_stops_between_batches_once_the_lease_is_lost() {
    let store = memory_store();
    let people: Vec<AdapterUser> = (0..=super::apply::BATCH)
        .map(|i| person(&format!("p{i}"), &format!("p{i}@x.test"), true))
        .collect();
    let planned = plan(
        &state(&store),
        &snapshot(people, Vec::new()),
        &PlanOptions::default(),
    );
    assert_eq!(planned.create_users.len(), super::apply::BATCH + 1);
    let mut renewals = 0;
    let outcome = apply(
        &store,
        CONNECTION,
        &planned,
        now(),
        &mut |_| {},
        &mut || {
            renewals += 1;
            Ok(false)
        },
    );

    let stopped = outcome.unwrap_err();
    assert!(
        matches!(stopped.error, super::SyncError::LeaseLost { .. }),
        "{stopped:?}"
    );
    // The run's record counts what the batch it committed changed.
    assert_eq!(stopped.counts.users_created, super::apply::BATCH);
    assert_eq!(renewals, 1);
    let users = store.read(|tx| tx.users(Some(CONNECTION))).unwrap();
    assert_eq!(users.len(), super::apply::BATCH);
}

fn listing(people: &[(u8, u8, bool, u8)], groups: &[(u8, Vec<u8>)]) -> Fetched {
    let users = people
        .iter()
        .map(|(id, email, active, name)| {
            let mut user = person(&format!("e{id}"), &format!("U{email}@x.test"), *active);
            user.given_name = Some(format!("n{name}"));
            if email % 3 == 0 {
                user.email = Some(format!("u{email}@X.test"));
            }
            user
        })
        .collect();
    let groups = groups
        .iter()
        .map(|(id, members)| AdapterGroup {
            id: format!("g{id}"),
            display_name: format!("Group {id}"),
            members: members.iter().map(|m| format!("e{m}")).collect(),
        })
        .collect();
    snapshot(users, groups)
}

fn world() -> impl Strategy<Value = World> {
    let people = prop::collection::vec((0u8..10, 0u8..8, any::<bool>(), 0u8..3), 0..10);
    let groups = prop::collection::vec((0u8..4, prop::collection::vec(0u8..10, 0..6)), 0..4);
    let existing = prop::collection::vec((prop::option::of(0u8..10), 0u8..8), 0..6);
    (existing, people.clone(), groups, people).prop_map(|(existing, listed, groups, second)| {
        World {
            existing,
            listed,
            groups,
            second,
        }
    })
}

fn assert_unique(store: &Store) {
    let users = store.read(|tx| tx.users(Some(CONNECTION))).unwrap();
    let external: Vec<_> = users.iter().filter_map(|u| u.external_id.clone()).collect();
    assert_eq!(
        external.len(),
        external.iter().collect::<HashSet<_>>().len()
    );
    let emails: HashSet<_> = users
        .iter()
        .map(|u| crate::store::email_key(&u.email))
        .collect();
    assert_eq!(emails.len(), users.len());
    let ids: HashSet<_> = users.iter().map(|u| u.id.clone()).collect();
    for (_, user) in store.read(|tx| tx.memberships(CONNECTION)).unwrap() {
        assert!(ids.contains(&user));
    }
}

/// The users of the connection as the IdP sees them: external id -> (email, names, active).
fn accounts(store: &Store) -> BTreeMap<Option<String>, (String, Option<String>, bool)> {
    state(store)
        .users
        .into_iter()
        .map(|u| (u.external_id, (u.email, u.given_name, u.active)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Creating a first listing's users while it is read, then planning as usual, ends exactly
    /// where the plan alone does (shared addresses, disabled users, memberships, any page
    /// size) when each user is listed once. A listing that names a user twice with different
    /// addresses ends as if a run had seen the first mention and the next one the last: an
    /// address may stay with the user first listed with it, every user left out is a
    /// reported conflict, nothing is duplicated, and planning again changes nothing.
    #[test]
    fn creating_users_early_ends_where_the_plan_alone_does(
        people in prop::collection::vec((0u8..10, 0u8..6, any::<bool>(), 0u8..3), 0..16),
        groups in prop::collection::vec((0u8..4, prop::collection::vec(0u8..10, 0..6)), 0..4),
        page_size in 1usize..5,
    ) {
        let fetched = listing(&people, &groups);
        let Fetched::Snapshot(snapshot) = &fetched else { unreachable!() };

        let alone = memory_store();
        let planned_alone = run(&alone, &fetched);

        let early = memory_store();
        let (pages, received) = std::sync::mpsc::channel();
        for page in snapshot.users.chunks(page_size) {
            pages.send(page.to_vec()).unwrap();
        }
        drop(pages);
        let created =
            super::early::create_from_pages(&early, CONNECTION, &received, now()).user_ids.len();
        let planned = run(&early, &fetched);

        assert_unique(&early);
        let listed_once = people.iter().map(|p| p.0).collect::<HashSet<_>>().len() == people.len();
        if !listed_once {
            let (early_accounts, alone_accounts) = (accounts(&early), accounts(&alone));
            let conflicted = |id: &Option<String>| {
                planned.conflicts.iter().any(|c| Some(&c.external_id) == id.as_ref())
            };
            // Each account is as its last mention lists it, or its user's conflict is reported.
            let last: BTreeMap<Option<String>, (String, Option<String>, bool)> = snapshot
                .users
                .iter()
                .map(|u| {
                    let email = super::plan::desired_profile(u).email;
                    (Some(u.external_id.clone()), (email, u.given_name.clone(), u.active))
                })
                .collect();
            for (id, account) in &early_accounts {
                prop_assert!(last.get(id) == Some(account) || conflicted(id), "{id:?}");
            }
            for id in alone_accounts.keys() {
                prop_assert!(early_accounts.contains_key(id) || conflicted(id));
            }
            let again = plan(&state(&early), &fetched, &PlanOptions::default());
            prop_assert!(again.is_empty(), "{again:?}");
            return Ok(());
        }
        prop_assert_eq!(accounts(&early), accounts(&alone));
        prop_assert_eq!(
            created + planned.create_users.len(),
            planned_alone.create_users.len()
        );
        prop_assert_eq!(planned.conflicts.len(), planned_alone.conflicts.len());
        let memberships = |store: &Store| {
            let state = state(store);
            let external: BTreeMap<_, _> =
                state.users.iter().map(|u| (u.id.clone(), u.external_id.clone())).collect();
            let groups: BTreeMap<_, _> =
                state.groups.iter().map(|g| (g.id.clone(), g.external_id.clone())).collect();
            state
                .memberships
                .iter()
                .map(|(g, u)| (groups[g].clone(), external[u].clone()))
                .collect::<BTreeSet<_>>()
        };
        prop_assert_eq!(memberships(&early), memberships(&alone));
    }

    #[test]
    fn applying_a_plan_leaves_nothing_to_do_and_never_deletes_or_duplicates(world in world()) {
        let store = memory_store();
        let mut taken = HashSet::new();
        for (external, email) in &world.existing {
            let external = external.map(|id| format!("e{id}"));
            let email = format!("u{email}@x.test");
            if taken.insert(email.clone()) && taken.insert(format!("{external:?}")) {
                saml_user(&store, external.as_deref(), &email);
            }
        }
        let before: BTreeSet<String> =
            state(&store).users.into_iter().map(|u| u.id).collect();

        let first = listing(&world.listed, &world.groups);
        run(&store, &first);
        assert_unique(&store);
        let again = plan(&state(&store), &first, &PlanOptions::default());
        prop_assert!(again.is_empty(), "{again:?}");

        let second = listing(&world.second, &world.groups);
        run(&store, &second);
        assert_unique(&store);
        prop_assert!(plan(&state(&store), &second, &PlanOptions::default()).is_empty());

        let after: BTreeMap<String, User> =
            state(&store).users.into_iter().map(|u| (u.id.clone(), u)).collect();
        for id in &before {
            prop_assert!(after.contains_key(id), "user {id} was deleted");
        }
    }
}
