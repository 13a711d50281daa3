//! The listing checks one by one: addresses as a sign-in checks them, ids, NUL characters,
//! the cursor trail and the item bound.

use provisiond_plugin_api::{AdapterGroup, AdapterUser};

use super::*;
use crate::config::ConnectionConfig;

fn connection(domains: &[&str]) -> ConnectionConfig {
    ConnectionConfig {
        name: "sync".into(),
        domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        saml: None,
        adapter: None,
        sync: None,
    }
}

fn user(id: &str, email: Option<&str>, user_name: &str) -> AdapterUser {
    AdapterUser {
        email: email.map(str::to_owned),
        given_name: Some("Given".into()),
        ..AdapterUser::new(id, user_name)
    }
}

fn group(id: &str, name: &str) -> AdapterGroup {
    AdapterGroup {
        id: id.into(),
        display_name: name.into(),
        members: vec!["a".into()],
    }
}

#[test]
fn a_listed_address_must_pass_the_sign_in_rules() {
    let sync = connection(&["sync.example"]);
    let rules = ListingRules::for_connection(&sync);
    let check =
        |email: Option<&str>, user_name: &str| rules.check_user(&user("id-1", email, user_name));

    assert_eq!(check(Some("alice@sync.example"), "alice"), Ok(()));
    assert_eq!(check(Some(" Alice@SYNC.example "), "alice"), Ok(()));
    // Without a mail the sign-in name is the address, as the plan has it.
    assert_eq!(check(None, "bob@sync.example"), Ok(()));
    assert_eq!(check(Some(""), "bob@sync.example"), Ok(()));
    for not_an_address in [
        "not an email <script>",
        "mallory@other.example@sync.example",
        "alice@sync.example.",
        "@sync.example",
        "",
    ] {
        assert_eq!(
            check(Some(not_an_address), not_an_address),
            Err(RejectReason::NotAnEmail),
            "{not_an_address:?}"
        );
    }
    assert_eq!(
        check(Some("alice@acme.example"), "alice"),
        Err(RejectReason::DomainNotRegistered)
    );
    assert_eq!(
        check(Some("alice@sub.sync.example"), "alice"),
        Err(RejectReason::DomainNotRegistered)
    );
    let no_domains = connection(&[]);
    assert_eq!(
        ListingRules::for_connection(&no_domains).check_user(&user(
            "id-1",
            Some("alice@sync.example"),
            "alice"
        )),
        Err(RejectReason::DomainNotRegistered),
        "a connection without domains owns no address, as at sign-in"
    );
}

#[test]
fn a_user_needs_an_external_id_and_values_without_nul() {
    let sync = connection(&["sync.example"]);
    let rules = ListingRules::for_connection(&sync);

    for id in ["", "  "] {
        assert_eq!(
            rules.check_user(&user(id, Some("a@sync.example"), "a")),
            Err(RejectReason::EmptyExternalId)
        );
    }
    let mut nul = user("id-1", Some("a@sync.example"), "a");
    nul.family_name = Some("Nul\0Name".into());
    assert_eq!(
        rules.check_user(&nul),
        Err(RejectReason::NulCharacter {
            field: "family name"
        })
    );
    let nul_id = user("id\0", Some("a@sync.example"), "a");
    assert_eq!(
        rules.check_user(&nul_id),
        Err(RejectReason::NulCharacter {
            field: "external id"
        })
    );
    let nul_mail = user("id-1", Some("a\0@sync.example"), "a");
    assert_eq!(
        rules.check_user(&nul_mail),
        Err(RejectReason::NulCharacter { field: "email" })
    );
}

#[test]
fn a_group_needs_an_id_and_a_name_without_nul() {
    let sync = connection(&["sync.example"]);
    let rules = ListingRules::for_connection(&sync);

    assert_eq!(rules.check_group(&group("g1", "Staff")), Ok(()));
    assert_eq!(
        rules.check_group(&group("", "")),
        Err(RejectReason::EmptyGroupId)
    );
    assert_eq!(
        rules.check_group(&group("g1", " ")),
        Err(RejectReason::EmptyGroupName)
    );
    assert_eq!(
        rules.check_group(&group("g1", "St\0ff")),
        Err(RejectReason::NulCharacter {
            field: "display name"
        })
    );
    // A member id that names nobody is the plan's unknown member, not the group's fault.
    let mut odd_member = group("g1", "Staff");
    odd_member.members.push("\0".into());
    assert_eq!(rules.check_group(&odd_member), Ok(()));
}

#[test]
fn keeping_sorts_a_page_into_usable_objects_and_rejections() {
    let sync = connection(&["sync.example"]);
    let rules = ListingRules::for_connection(&sync);
    let mut rejected = Vec::new();

    let kept = rules.keep_users(
        vec![
            user("a", Some("a@sync.example"), "a"),
            user("b", Some("not an email <script>"), "b"),
            user("", Some("c@sync.example"), "c"),
        ],
        &mut rejected,
    );
    let groups = rules.keep_groups(vec![group("g", "Staff"), group("", "")], &mut rejected);

    assert_eq!(kept.len(), 1);
    assert_eq!(groups.len(), 1);
    let reasons: Vec<_> = rejected
        .iter()
        .map(|r| (r.kind, r.id.as_str(), r.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (ObjectKind::User, "b", RejectReason::NotAnEmail),
            (ObjectKind::User, "", RejectReason::EmptyExternalId),
            (ObjectKind::Group, "", RejectReason::EmptyGroupId),
        ]
    );
    assert_eq!(rejected[0].email.as_deref(), Some("not an email <script>"));
}

#[test]
fn a_rejection_shows_listed_values_escaped_and_cut_short() {
    let long = "x".repeat(200);
    let rejection = Rejection {
        kind: ObjectKind::User,
        id: format!("line\nbreak\0{long}"),
        email: Some("a\u{1b}[31m@sync.example".into()),
        reason: RejectReason::NotAnEmail,
    };
    let shown = rejection.to_string();
    assert!(!shown.contains('\n') && !shown.contains('\0') && !shown.contains('\u{1b}'));
    assert!(shown.starts_with("user \"line\\nbreak\\0xxx"), "{shown}");
    assert!(shown.contains("...\""), "{shown}");
    assert!(shown.len() < 160, "{shown}");
    assert!(shown.ends_with(": its email is not an address (local@host.name)"));
}

#[test]
fn a_cursor_returned_twice_in_one_sequence_is_refused() {
    let mut trail = CursorTrail::default();
    trail.follow("sync", "users listing", "page-2").unwrap();
    trail.follow("sync", "users listing", "page-3").unwrap();

    let err = trail.follow("sync", "users listing", "page-2").unwrap_err();

    let message = err.to_string();
    assert!(
        matches!(err, SyncError::CursorRepeated { pages: 3, .. }),
        "{message}"
    );
    assert!(message.contains("connection \"sync\""), "{message}");
    assert!(message.contains("users listing"), "{message}");
    // Another sequence (the groups after the users) has its own cursors.
    let mut groups = CursorTrail::default();
    groups.follow("sync", "groups listing", "page-2").unwrap();
}

#[test]
fn a_cursor_longer_than_the_bound_is_refused() {
    let mut trail = CursorTrail::default();
    trail
        .follow("sync", "users listing", &"c".repeat(MAX_CURSOR_BYTES))
        .unwrap();
    let err = trail
        .follow("sync", "delta round", &"c".repeat(MAX_CURSOR_BYTES + 1))
        .unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::CursorTooLong {
                listing: "delta round",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("connection \"sync\""), "{err}");
}

#[test]
fn the_budget_refuses_a_page_that_would_pass_the_bound() {
    let mut budget = ItemBudget::new(250);
    budget.admit("sync", 100).unwrap();
    budget.admit("sync", 150).unwrap();
    assert_eq!(budget.remaining(), 0);

    let err = budget.admit("sync", 1).unwrap_err();

    let message = err.to_string();
    assert!(matches!(err, SyncError::TooManyItems { max: 250, .. }));
    assert!(message.contains("connection \"sync\""), "{message}");
    assert!(message.contains("max_listing_items"), "{message}");
    assert!(ItemBudget::new(10).admit("sync", u64::MAX).is_err());
}

#[test]
fn a_listing_never_grows_past_what_its_bound_leaves() {
    let mut items: Vec<u64> = Vec::new();
    let mut budget = ItemBudget::new(1_000);
    for page in 0..10 {
        budget.admit("sync", 100).unwrap();
        reserve_within(&mut items, 100, budget.remaining());
        items.extend(page * 100..(page + 1) * 100);
        assert!(
            items.capacity() as u64 <= items.len() as u64 + budget.remaining(),
            "capacity {} for {} items",
            items.capacity(),
            items.len()
        );
    }
    assert_eq!(items.capacity(), 1_000);
}

/// PostgreSQL indexes a row of at most 2704 bytes: a longer id, user name or group name
/// failed the whole batch of changes it was applied in, and a longer address is none.
#[test]
fn ids_and_names_longer_than_a_key_may_be_are_rejected() {
    let sync = connection(&["sync.example"]);
    let rules = ListingRules::for_connection(&sync);
    let long = "x".repeat(crate::store::MAX_KEY_BYTES + 1);
    let at_most = "x".repeat(crate::store::MAX_KEY_BYTES);

    assert_eq!(
        rules.check_user(&user(&at_most, Some("a@sync.example"), &at_most)),
        Ok(())
    );
    assert_eq!(
        rules.check_user(&user(&long, Some("a@sync.example"), "a")),
        Err(RejectReason::TooLong {
            field: "external id"
        })
    );
    assert_eq!(
        rules.check_user(&user("id-1", Some("a@sync.example"), &long)),
        Err(RejectReason::TooLong { field: "user name" })
    );
    let long_address = format!("{}@sync.example", "a".repeat(250));
    assert_eq!(
        rules.check_user(&user("id-1", Some(&long_address), "a")),
        Err(RejectReason::NotAnEmail)
    );
    assert_eq!(
        rules.check_group(&group(&long, "Staff")),
        Err(RejectReason::TooLong { field: "id" })
    );
    assert_eq!(
        rules.check_group(&group("g1", &long)),
        Err(RejectReason::TooLong {
            field: "display name"
        })
    );
}
