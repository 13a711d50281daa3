//! Sync runs against an adapter that sends what it should not (`bad-adapter-listings`): a
//! listing that loops on a cursor or grows without end, one that fails on its second page,
//! and users and groups that fail the listing checks. Through the library, on SQLite, or on
//! PostgreSQL with `PROVISIOND_TEST_POSTGRES_URL`.

use std::path::PathBuf;
use std::sync::Arc;

use provisiond::config;
use provisiond::store::{Store, User};
use provisiond::sync::report::{plan_lines, summary};
use provisiond::sync::run::RunStatus;
use provisiond::sync::{RunReport, RunRequest, SyncContext, Trigger};
use serde_json::{Value, json};

use crate::sync::TempDir;

/// One database, synced by connection `sync` (domain `sync.example`) through the listings
/// adapter, configured anew for each run. The store is opened once (SQLite allows one).
struct Listings {
    dir: TempDir,
    database: String,
    adapters: PathBuf,
    configs: usize,
    store: Option<Store>,
}

impl Listings {
    fn new() -> Self {
        let dir = TempDir::new("listings");
        let database = provisiond::testing::fresh_database_url(&dir.0);
        Self {
            dir,
            database,
            adapters: crate::support::library_dir("bad_adapter_listings"),
            configs: 0,
            store: None,
        }
    }

    /// A sync context whose adapter lists what `adapter_config` says, with `sync` settings
    /// added to a full-mode schedule that allows any deactivation.
    fn context(&mut self, adapter_config: &Value, sync: &str) -> SyncContext {
        self.configs += 1;
        let path = self.dir.0.join(format!("provisiond-{}.yaml", self.configs));
        std::fs::write(
            &path,
            format!(
                "server:\n  listen: 127.0.0.1:0\n  \
                 session_key: \"listings-test-session-key-0123456789\"\n\
                 database:\n  url: \"{}\"\nadapters_dir: {}\nconnections:\n  \
                 - name: sync\n    domains: [sync.example]\n    adapter: bad_adapter_listings\n    \
                 adapter_config: {adapter_config}\n    \
                 sync: {{schedule: \"@hourly\", mode: full, max_deactivate: \"100%\"{sync}}}\n",
                self.database,
                self.adapters.display()
            ),
        )
        .unwrap();
        let config = config::load(&path).unwrap();
        let store = self
            .store
            .get_or_insert_with(|| Store::open(&config.database).unwrap())
            .clone();
        SyncContext::new(Arc::new(config), store)
    }

    /// One run of `sync` listing what `adapter_config` says.
    fn run(&mut self, adapter_config: &Value, sync: &str) -> (RunReport, Store) {
        self.run_with(adapter_config, sync, false)
    }

    fn run_with(
        &mut self,
        adapter_config: &Value,
        sync: &str,
        dry_run: bool,
    ) -> (RunReport, Store) {
        let context = self.context(adapter_config, sync);
        let request = RunRequest {
            dry_run,
            ..RunRequest::new("sync", Trigger::Schedule)
        };
        let report = context.run_blocking(&request, &mut |_| {}).unwrap();
        (report, context.store().clone())
    }
}

fn person(id: &str, email: &str) -> Value {
    json!({"external_id": id, "user_name": email, "email": email, "given_name": "Given",
           "family_name": format!("Family {id}"), "active": true})
}

fn group(id: &str, name: &str, members: &[&str]) -> Value {
    json!({"id": id, "display_name": name, "members": members})
}

fn users(store: &Store) -> Vec<User> {
    store.read(|tx| tx.users(Some("sync"))).unwrap()
}

/// A first run that lists four people and two groups, all well formed.
fn first_run(listings: &mut Listings) -> Store {
    let (report, store) = listings.run(&first_listing(), "");
    assert_eq!(report.status, RunStatus::Succeeded, "{report:?}");
    assert_eq!(report.counts.changes.users_created, 4);
    store
}

/// Four people and two groups.
fn first_listing() -> Value {
    let people = ["a", "b", "c", "d"].map(|id| person(id, &format!("{id}@sync.example")));
    json!({
        "users": people,
        "groups": [group("g", "Staff", &["a", "b"]), group("h", "Ops", &["c"])],
    })
}

/// Asserts the four people of [`first_run`] are active as it left them, and both groups live.
fn assert_untouched(store: &Store) {
    let users = users(store);
    assert_eq!(users.len(), 4, "{users:?}");
    for user in &users {
        assert!(user.active, "{} was deactivated", user.email);
        assert_eq!(user.given_name.as_deref(), Some("Given"), "{}", user.email);
    }
    let groups = store.read(|tx| tx.groups("sync")).unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
}

/// Asserts the latest run of `sync` is recorded as failed with `report`'s message and counts.
fn assert_recorded_failed(store: &Store, report: &RunReport) -> Value {
    let runs = store.read(|tx| tx.sync_runs(Some("sync"), 1)).unwrap();
    assert_eq!(runs[0].status, "failed");
    assert!(runs[0].finished_at.is_some());
    assert_eq!(runs[0].message, report.message);
    serde_json::from_str(&runs[0].counts).unwrap()
}

#[test]
fn an_adapter_that_repeats_a_cursor_fails_its_run_at_once_and_changes_nothing() {
    let mut listings = Listings::new();
    first_run(&mut listings);

    // The same page of one user, with the same cursor, forever.
    let looping = json!({"mode": "same_cursor", "page_size": 1,
                         "users": [person("a", "a@sync.example")]});
    let (report, store) = listings.run(&looping, "");

    assert_eq!(report.status, RunStatus::Failed);
    let message = report.message.clone().unwrap();
    assert!(message.contains("connection \"sync\""), "{message}");
    assert!(
        message.contains("cursor") && message.contains("loop"),
        "{message}"
    );
    let counts = assert_recorded_failed(&store, &report);
    assert_eq!(counts["pages"], 2, "{counts}");
    assert_eq!(counts["users_seen"], 2, "{counts}");
    assert!(
        summary(&report).contains("2 users and 0 groups read in 2 pages"),
        "{}",
        summary(&report)
    );
    assert_untouched(&store);
}

/// An adapter call that never answers fails its run once `call_timeout_seconds` have
/// passed, changing nothing, and the connection's next run goes ahead rather than being
/// skipped behind the stuck one.
#[test]
fn an_adapter_call_that_does_not_answer_fails_its_run_and_frees_the_connection() {
    let mut listings = Listings::new();
    first_run(&mut listings);

    let hanging = json!({"mode": "hang_second_page", "page_size": 1, "hang_seconds": 30,
                         "users": [person("a", "a@sync.example"), person("b", "b@sync.example")]});
    let started = std::time::Instant::now();
    let (report, store) = listings.run(&hanging, ", call_timeout_seconds: 1");

    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(report.status, RunStatus::Failed, "{report:?}");
    let message = report.message.clone().unwrap();
    assert!(message.contains("connection \"sync\""), "{message}");
    assert!(
        message.contains("did not answer users_page within 1 s"),
        "{message}"
    );
    let counts = assert_recorded_failed(&store, &report);
    assert_eq!(counts["pages"], 1, "{counts}");
    assert_untouched(&store);

    let (next, store) = listings.run(&first_listing(), "");
    assert_eq!(next.status, RunStatus::Succeeded, "{next:?}");
    assert_untouched(&store);
}

#[test]
fn a_listing_past_max_listing_items_fails_before_it_holds_more() {
    let mut listings = Listings::new();
    first_run(&mut listings);

    // A hundred new users on every page, each page with a new cursor, without end.
    let endless = json!({"mode": "endless", "page_size": 100});
    let (report, store) = listings.run(&endless, ", max_listing_items: 1000");

    assert_eq!(report.status, RunStatus::Failed);
    let message = report.message.clone().unwrap();
    assert!(message.contains("connection \"sync\""), "{message}");
    assert!(
        message.contains("more than 1000") && message.contains("max_listing_items"),
        "{message}"
    );
    let counts = assert_recorded_failed(&store, &report);
    assert_eq!(
        counts["pages"], 11,
        "the page past the bound ends the run: {counts}"
    );
    assert_untouched(&store);
}

/// A listing that fails part way deactivates nobody and deletes no group, and its run
/// records what it read before the failure.
#[test]
fn a_failure_on_the_second_page_deactivates_nobody_and_the_run_records_what_was_read() {
    let mut listings = Listings::new();
    first_run(&mut listings);

    let failing = json!({"mode": "fail_second_page", "page_size": 2,
                         "users": [person("a", "a@sync.example"), person("b", "b@sync.example")]});
    let (report, store) = listings.run(&failing, "");

    assert_eq!(report.status, RunStatus::Failed);
    let message = report.message.clone().unwrap();
    assert!(
        message.contains("the second page is not there"),
        "{message}"
    );
    let counts = assert_recorded_failed(&store, &report);
    assert_eq!(
        (&counts["pages"], &counts["users_seen"]),
        (&json!(1), &json!(2))
    );
    assert!(
        summary(&report).contains("2 users and 0 groups read in 1 pages"),
        "{}",
        summary(&report)
    );
    assert_untouched(&store);
}

/// Users and groups that fail the checks are skipped one by one and reported; the run goes
/// on with the rest. A value with a NUL character is one of them on both backends (on
/// PostgreSQL it used to fail the whole run), and an account whose entry was rejected is left
/// as it was, not deactivated.
#[test]
fn users_and_groups_that_fail_the_checks_are_rejected_and_their_accounts_kept() {
    let mut listings = Listings::new();
    first_run(&mut listings);
    let mut nul_name = person("c", "c@sync.example");
    nul_name["given_name"] = json!("Nul\u{0}Name");
    let mut nul_new = person("n", "n@sync.example");
    nul_new["family_name"] = json!("Nul\u{0}");
    let mut d_again = person("d", "d@sync.example");
    d_again["given_name"] = json!("Last");
    let listing = json!({
        "users": [
            person("a", "not an email <script>"),
            person("b", "alice@acme.example"),
            nul_name,
            person("", "e@sync.example"),
            person("d", "d@sync.example"),
            nul_new,
            person("f", "f@sync.example"),
            d_again,
        ],
        "groups": [
            group("g", "Staff", &["a", "b", "f"]),
            group("", "", &["a"]),
            group("h", "Ops", &["c"]),
            group("h", "Operations", &["c"]),
        ],
    });

    let (dry, _) = listings.run_with(&listing, "", true);
    let lines = plan_lines(dry.plan.as_ref().unwrap(), 20);
    assert!(lines.contains("rejected listing entries (8)"), "{lines}");
    assert!(
        lines.contains("user \"a\" <\"not an email <script>\">: its email is not an address"),
        "{lines}"
    );
    assert!(
        lines.contains("user \"c\" <\"c@sync.example\">: its given name holds a NUL"),
        "{lines}"
    );
    let (report, store) = listings.run(&listing, "");

    assert_eq!(report.status, RunStatus::Succeeded, "{report:?}");
    assert_eq!(report.counts.rejected, 8, "{:?}", report.counts);
    assert!(
        summary(&report).contains("8 rejected"),
        "{}",
        summary(&report)
    );
    let runs = store.read(|tx| tx.sync_runs(Some("sync"), 1)).unwrap();
    let counts: Value = serde_json::from_str(&runs[0].counts).unwrap();
    assert_eq!(counts["rejected"], 8, "{counts}");
    assert_eq!(report.counts.changes.users_created, 1, "only f is new");
    assert_eq!(report.counts.changes.users_deactivated, 0);

    let users = users(&store);
    let by_id = |id: &str| {
        users
            .iter()
            .find(|u| u.external_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no account {id}: {users:?}"))
    };
    for id in ["a", "b", "c"] {
        let user = by_id(id);
        assert!(user.active, "{id} was deactivated");
        assert_eq!(user.email, format!("{id}@sync.example"), "{id} changed");
        assert_eq!(user.given_name.as_deref(), Some("Given"), "{id} changed");
    }
    assert_eq!(
        by_id("d").given_name.as_deref(),
        Some("Last"),
        "the last entry wins"
    );
    assert!(by_id("f").active);
    assert_eq!(users.len(), 5, "{users:?}");
    let groups = store.read(|tx| tx.groups("sync")).unwrap();
    let mut names: Vec<&str> = groups.iter().map(|g| g.display_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Operations", "Staff"]);

    // Listing the same again changes nothing and reports the same.
    let (again, _) = listings.run(&listing, "");
    assert_eq!(again.status, RunStatus::Succeeded);
    assert_eq!(again.counts.changes, Default::default());
    assert_eq!(again.counts.rejected, 8);
}
