//! Fetching from a scripted directory: listings that loop on a cursor or grow without end
//! fail before they hold more, and objects that fail the checks never reach a listing.

use std::path::PathBuf;

use provisiond_plugin_api::{AdapterError, AdapterGroup, AdapterUser, DeltaNext, DeltaPage, Page};

use super::*;
use crate::config::{ConnectionConfig, DEFAULT_MAX_LISTING_ITEMS};
use crate::sync::listing::RejectReason;

type Pages<T> = Box<dyn FnMut(Option<&str>) -> Result<T, PluginError>>;

/// A directory whose every page is computed from the cursor asked for.
struct Scripted {
    users: Pages<Page<AdapterUser>>,
    groups: Pages<Page<AdapterGroup>>,
    delta: Pages<DeltaPage>,
    calls: u64,
}

impl Scripted {
    fn listing(users: Pages<Page<AdapterUser>>) -> Self {
        Self {
            users,
            groups: Box::new(|_| Ok(last_page(Vec::new()))),
            delta: Box::new(|_| Err(failure("delta", unsupported()))),
            calls: 0,
        }
    }
}

impl Directory for Scripted {
    fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, PluginError> {
        self.calls += 1;
        (self.users)(cursor)
    }

    fn groups_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterGroup>, PluginError> {
        self.calls += 1;
        (self.groups)(cursor)
    }

    fn delta(&mut self, token: Option<&str>) -> Result<DeltaPage, PluginError> {
        self.calls += 1;
        (self.delta)(token)
    }
}

fn failure(operation: &'static str, source: AdapterError) -> PluginError {
    PluginError::Adapter {
        adapter: "scripted".into(),
        path: PathBuf::from("libscripted.so"),
        operation,
        source,
    }
}

fn unsupported() -> AdapterError {
    AdapterError::Unsupported {
        message: "no delta".into(),
    }
}

fn last_page<T>(items: Vec<T>) -> Page<T> {
    Page {
        items,
        next_cursor: None,
    }
}

fn person(id: &str, email: &str) -> AdapterUser {
    AdapterUser {
        email: Some(email.into()),
        ..AdapterUser::new(id, email)
    }
}

fn people(from: usize, count: usize) -> Vec<AdapterUser> {
    (from..from + count)
        .map(|n| person(&format!("u{n}"), &format!("u{n}@sync.example")))
        .collect()
}

fn connection(max_items: Option<u64>) -> (ConnectionConfig, u64) {
    let connection = ConnectionConfig {
        name: "sync".into(),
        domains: vec!["sync.example".into()],
        saml: None,
        adapter: None,
        sync: None,
    };
    (connection, max_items.unwrap_or(DEFAULT_MAX_LISTING_ITEMS))
}

/// Fetches a full listing; returns the outcome and how many users `listed` saw.
fn read(
    directory: &mut Scripted,
    max_items: Option<u64>,
    how: FetchHow,
) -> (Result<FetchOutcome, SyncError>, usize) {
    let (connection, max_items) = connection(max_items);
    let rules = ListingRules {
        connection: &connection,
        max_items,
    };
    let mut seen = 0;
    let outcome = fetch(directory, &rules, how, &mut |_| {}, &mut |users| {
        seen += users.len()
    });
    (outcome, seen)
}

#[test]
fn a_users_listing_that_repeats_a_cursor_fails_at_the_repeat() {
    // The same page, with the same cursor, forever: 100 users a page.
    let mut directory = Scripted::listing(Box::new(|_| {
        Ok(Page {
            items: people(0, 100),
            next_cursor: Some("again".into()),
        })
    }));

    let (outcome, seen) = read(&mut directory, None, FetchHow::Listing);

    let err = outcome.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::CursorRepeated {
                listing: "users listing",
                pages: 2,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(directory.calls, 2, "stopped at the first repeat");
    assert_eq!(seen, 200);
}

#[test]
fn a_cursor_that_comes_back_after_others_is_a_loop_too() {
    let mut directory = Scripted::listing(Box::new(|cursor| {
        let next = match cursor {
            None => "a",
            Some("a") => "b",
            Some("b") => "c",
            _ => "a",
        };
        Ok(Page {
            items: people(0, 1),
            next_cursor: Some(next.into()),
        })
    }));

    let (outcome, _) = read(&mut directory, None, FetchHow::Listing);

    assert!(matches!(
        outcome,
        Err(SyncError::CursorRepeated { pages: 4, .. })
    ));
}

#[test]
fn a_groups_listing_and_a_delta_round_that_repeat_a_cursor_fail_too() {
    let mut groups = Scripted::listing(Box::new(|_| Ok(last_page(people(0, 2)))));
    groups.groups = Box::new(|_| {
        Ok(Page {
            items: Vec::new(),
            next_cursor: Some("same".into()),
        })
    });
    let (outcome, _) = read(&mut groups, None, FetchHow::Listing);
    assert!(matches!(
        outcome,
        Err(SyncError::CursorRepeated {
            listing: "groups listing",
            ..
        })
    ));

    let mut delta = Scripted::listing(Box::new(|_| Ok(last_page(Vec::new()))));
    delta.delta = Box::new(|_| {
        Ok(DeltaPage {
            users: people(0, 1),
            removed_users: Vec::new(),
            groups: Vec::new(),
            removed_groups: Vec::new(),
            next: DeltaNext::More {
                cursor: "same".into(),
            },
        })
    });
    let (outcome, _) = read(&mut delta, None, FetchHow::DeltaFromScratch);
    assert!(matches!(
        outcome,
        Err(SyncError::CursorRepeated {
            listing: "delta round",
            ..
        })
    ));
}

#[test]
fn a_listing_past_its_bound_fails_before_keeping_the_page_that_passes_it() {
    // A fresh cursor each time, and a hundred new users on every page, without end.
    let mut directory = Scripted::listing(Box::new(|cursor| {
        let page: usize = cursor.map_or(0, |c| c.parse().unwrap_or(0));
        Ok(Page {
            items: people(page * 100, 100),
            next_cursor: Some((page + 1).to_string()),
        })
    }));

    let (outcome, seen) = read(&mut directory, Some(1_000), FetchHow::Listing);

    assert!(
        matches!(outcome, Err(SyncError::TooManyItems { max: 1_000, .. })),
        "{outcome:?}"
    );
    assert_eq!(seen, 1_000, "the page past the bound is not passed on");
    assert_eq!(directory.calls, 11);
}

#[test]
fn memberships_count_toward_the_bound() {
    let mut directory = Scripted::listing(Box::new(|_| Ok(last_page(people(0, 10)))));
    directory.groups = Box::new(|_| {
        Ok(last_page(vec![AdapterGroup {
            id: "g".into(),
            display_name: "Everyone".into(),
            members: (0..10).map(|n| format!("u{n}")).collect(),
        }]))
    });

    let (exact, _) = read(&mut directory, Some(21), FetchHow::Listing);
    assert!(exact.is_ok(), "10 users, a group and 10 memberships");
    let (over, _) = read(&mut directory, Some(20), FetchHow::Listing);
    assert!(matches!(over, Err(SyncError::TooManyItems { .. })));
}

#[test]
fn a_delta_round_past_its_bound_fails() {
    let mut directory = Scripted::listing(Box::new(|_| Ok(last_page(Vec::new()))));
    directory.delta = Box::new(|cursor| {
        let page: usize = cursor.map_or(0, |c| c.parse().unwrap_or(0));
        Ok(DeltaPage {
            users: Vec::new(),
            removed_users: (0..50).map(|n| format!("gone{page}-{n}")).collect(),
            groups: Vec::new(),
            removed_groups: Vec::new(),
            next: DeltaNext::More {
                cursor: (page + 1).to_string(),
            },
        })
    });

    let (outcome, _) = read(&mut directory, Some(500), FetchHow::DeltaFrom("t".into()));

    assert!(matches!(outcome, Err(SyncError::TooManyItems { .. })));
    assert_eq!(directory.calls, 11);
}

#[test]
fn objects_failing_the_checks_are_kept_aside_and_never_passed_on() {
    let mut directory = Scripted::listing(Box::new(|_| {
        Ok(last_page(vec![
            person("a", "a@sync.example"),
            person("b", "not an email <script>"),
            person("c", "c@acme.example"),
            person("", "d@sync.example"),
            person("e", "e@sync.example"),
        ]))
    }));
    directory.groups = Box::new(|_| {
        Ok(last_page(vec![
            AdapterGroup {
                id: String::new(),
                display_name: String::new(),
                members: vec!["a".into()],
            },
            AdapterGroup {
                id: "g".into(),
                display_name: "Staff".into(),
                members: vec!["a".into()],
            },
        ]))
    });

    let (outcome, seen) = read(&mut directory, None, FetchHow::Listing);

    let Fetched::Snapshot(snapshot) = outcome.unwrap().fetched else {
        panic!("a listing is a snapshot");
    };
    let ids: Vec<&str> = snapshot
        .users
        .iter()
        .map(|u| u.external_id.as_str())
        .collect();
    assert_eq!(ids, ["a", "e"]);
    assert_eq!(seen, 2, "the early pass sees only usable users");
    assert_eq!(snapshot.groups.len(), 1);
    let reasons: Vec<(&str, RejectReason)> = snapshot
        .rejected
        .iter()
        .map(|r| (r.id.as_str(), r.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("b", RejectReason::NotAnEmail),
            ("c", RejectReason::DomainNotRegistered),
            ("", RejectReason::EmptyExternalId),
            ("", RejectReason::EmptyGroupId),
        ]
    );
}

/// A delta round names a user as removed, then lists it unusable: the last word is a
/// rejection, so the user is neither removed nor changed.
#[test]
fn a_delta_drops_what_it_said_of_an_object_it_then_rejects() {
    let mut directory = Scripted::listing(Box::new(|_| Ok(last_page(Vec::new()))));
    directory.delta = Box::new(|cursor| {
        let page = DeltaPage {
            users: Vec::new(),
            removed_users: Vec::new(),
            groups: Vec::new(),
            removed_groups: Vec::new(),
            next: DeltaNext::Complete {
                delta_token: "t2".into(),
            },
        };
        Ok(match cursor {
            Some("t1") => DeltaPage {
                removed_users: vec!["a".into()],
                removed_groups: vec!["g".into()],
                next: DeltaNext::More {
                    cursor: "p2".into(),
                },
                ..page
            },
            _ => DeltaPage {
                users: vec![
                    person("a", "a@elsewhere.example"),
                    person("b", "b@sync.example"),
                ],
                groups: vec![AdapterGroup {
                    id: "g".into(),
                    display_name: " ".into(),
                    members: Vec::new(),
                }],
                ..page
            },
        })
    });

    let (outcome, _) = read(&mut directory, None, FetchHow::DeltaFrom("t1".into()));

    let Fetched::Delta(delta) = outcome.unwrap().fetched else {
        panic!("a round from a token is a delta");
    };
    assert!(delta.removed_users.is_empty(), "{delta:?}");
    assert!(delta.removed_groups.is_empty(), "{delta:?}");
    assert_eq!(delta.users.len(), 1);
    assert_eq!(delta.rejected.len(), 2);
}

/// A delta token no store can keep is not passed on: the next run reads everything again.
#[test]
fn a_delta_token_holding_a_nul_is_not_kept() {
    let mut directory = Scripted::listing(Box::new(|_| Ok(last_page(Vec::new()))));
    directory.delta = Box::new(|_| {
        Ok(DeltaPage {
            users: people(0, 2),
            removed_users: Vec::new(),
            groups: Vec::new(),
            removed_groups: Vec::new(),
            next: DeltaNext::Complete {
                delta_token: "t\0-2".into(),
            },
        })
    });

    let (outcome, _) = read(&mut directory, None, FetchHow::DeltaFrom("t1".into()));

    let outcome = outcome.unwrap();
    assert_eq!(outcome.delta_token, None);
    let Fetched::Delta(delta) = outcome.fetched else {
        panic!("a round from a token is a delta");
    };
    assert_eq!(delta.users.len(), 2, "the round's changes still count");
}
