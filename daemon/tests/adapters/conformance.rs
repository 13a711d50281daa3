//! The checks every adapter must pass, run against the skeleton adapter (built on demand) and
//! the Entra adapter (against the simulator).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use provisiond::plugins::{
    AdapterError, AdapterGroup, AdapterUser, HttpClient, LoadedAdapter, PluginError,
};
use serde_json::{Value, json};

use crate::support::{clock, http_client, profile_dir};

/// What a full listing returned.
pub struct Listing {
    pub users: Vec<AdapterUser>,
    pub groups: Vec<AdapterGroup>,
}

/// Describe, validate (good and bad), create (refusing the bad config), then page through
/// users and groups checking cursors end, ids are unique and members are listed users.
pub fn check(adapter: &LoadedAdapter, good: &Value, bad: &Value, http: HttpClient) -> Listing {
    let description = adapter.description();
    assert!(!description.name.is_empty() && !description.version.is_empty());

    assert_eq!(
        adapter.validate_config(good).unwrap(),
        Vec::new(),
        "good config refused"
    );
    let problems = adapter.validate_config(bad).unwrap();
    assert!(!problems.is_empty(), "bad config accepted");
    assert!(problems.iter().all(|problem| !problem.message.is_empty()));

    let refused = adapter.create(bad, http.clone()).unwrap_err();
    assert!(
        matches!(
            refused.adapter_error(),
            Some(AdapterError::InvalidConfig { .. })
        ),
        "{refused}"
    );

    let mut session = adapter.create(good, http).unwrap();
    let users = collect(|cursor| session.users_page(cursor).map(|p| (p.items, p.next_cursor)));
    let groups = collect(|cursor| {
        session
            .groups_page(cursor)
            .map(|p| (p.items, p.next_cursor))
    });

    let ids: BTreeSet<&str> = users.iter().map(|user| user.external_id.as_str()).collect();
    assert_eq!(ids.len(), users.len(), "duplicate users across pages");
    let group_ids: BTreeSet<&str> = groups.iter().map(|group| group.id.as_str()).collect();
    assert_eq!(
        group_ids.len(),
        groups.len(),
        "duplicate groups across pages"
    );
    for group in &groups {
        for member in &group.members {
            assert!(
                ids.contains(member.as_str()),
                "member {member} of {} not listed",
                group.id
            );
        }
    }
    Listing { users, groups }
}

/// Follows cursors to the end (bounded, so a cursor loop fails instead of hanging).
pub fn collect<T>(
    mut page: impl FnMut(Option<&str>) -> Result<(Vec<T>, Option<String>), PluginError>,
) -> Vec<T> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let (items, next) = page(cursor.as_deref()).unwrap();
        all.extend(items);
        match next {
            Some(next) => {
                assert_ne!(
                    cursor.as_deref(),
                    Some(next.as_str()),
                    "cursor did not advance"
                );
                cursor = Some(next);
            }
            None => return all,
        }
    }
    panic!("more than 10000 pages");
}

/// Builds the skeleton adapter (its own workspace) into `target/skeleton-adapter`.
fn build_skeleton() -> PathBuf {
    let manifest =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/skeleton-adapter/Cargo.toml");
    let target = profile_dir().join("../skeleton-adapter");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the skeleton adapter failed");
    target.join("debug")
}

#[test]
fn the_skeleton_adapter_builds_loads_and_conforms() {
    let dir = build_skeleton();
    let adapter = LoadedAdapter::load(&dir, "skeleton").unwrap();
    let good = json!({
        "page_size": 2,
        "users": [
            {"id": "u1", "user_name": "ada@example.test"},
            {"id": "u2", "user_name": "grace@example.test", "active": false},
            {"id": "u3", "user_name": "alan@example.test"}
        ],
        "groups": [{"id": "g1", "display_name": "Engineers", "members": ["u1", "u3"]}]
    });
    let bad = json!({"users": [{"user_name": ""}], "page_size": 0});

    let listing = check(&adapter, &good, &bad, http_client(&clock()));

    assert_eq!(adapter.description().name, "skeleton");
    assert_eq!(listing.users.len(), 3);
    assert!(!listing.users[1].active);
    assert_eq!(listing.groups[0].members, ["u1", "u3"]);
    let problems = adapter.validate_config(&bad).unwrap();
    let paths: Vec<&str> = problems
        .iter()
        .map(|problem| problem.path.as_str())
        .collect();
    assert_eq!(paths, ["page_size", "users[0].id", "users[0].user_name"]);
}
