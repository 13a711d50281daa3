//! Sync runs end to end through the library: the Entra cdylib loaded with libloading, the Graph
//! simulator on 127.0.0.1, a SQLite store, and a manual clock for retry waits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use idp_sim::graph::{Fault, FaultRule, GraphTenant};
use provisiond::config::{self, Config};
use provisiond::plugins::{HttpSettings, ManualClock};
use provisiond::store::{NewUser, Store};
use provisiond::sync::run::RunStatus;
use provisiond::sync::{RunReport, RunRequest, SyncContext, Trigger};
use serde_json::Value;

use crate::support::{Simulator, clock};

pub use provisiond::testing::TempDir;

/// YAML for a connection syncing from the simulator with the Entra adapter. The simulator's
/// people have addresses at `contoso.test`, so the connection registers that domain.
pub fn entra_connection(name: &str, adapter_config: &Value, sync: &str) -> String {
    format!(
        "  - name: {name}\n    domains: [{name}.example, contoso.test]\n    adapter: entra\n    \
         adapter_config: {adapter_config}\n    sync: {sync}\n"
    )
}

/// A config file in `dir` with these connections, adapters from the build directory.
pub fn write_config(dir: &Path, connections: &str) -> std::path::PathBuf {
    let path = dir.join("provisiond.yaml");
    std::fs::write(
        &path,
        format!(
            "server:\n  listen: 127.0.0.1:0\n  \
             session_key: \"sync-test-session-key-0123456789abcdef\"\n\
             database:\n  url: \"{}\"\nadapters_dir: {}\nconnections:\n{connections}",
            provisiond::testing::fresh_database_url(dir),
            crate::support::library_dir("provisiond_adapter_entra").display()
        ),
    )
    .unwrap();
    path
}

struct Fixture {
    _dir: TempDir,
    sim: Simulator,
    context: SyncContext,
    clock: Arc<ManualClock>,
}

impl Fixture {
    fn new(tenant: GraphTenant, sync: &str) -> Self {
        let dir = TempDir::new("lib");
        let sim = Simulator::start(tenant);
        let path = write_config(&dir.0, &entra_connection("acme", &sim.entra_config(), sync));
        let config: Config = config::load(&path).unwrap();
        let store = Store::open(&config.database).unwrap();
        let clock = clock();
        let context = SyncContext::new(Arc::new(config), store)
            .with_http(HttpSettings::default(), clock.clone());
        Self {
            _dir: dir,
            sim,
            context,
            clock,
        }
    }

    fn store(&self) -> &Store {
        self.context.store()
    }

    fn run_with(&self, request: RunRequest) -> RunReport {
        self.context.run_blocking(&request, &mut |_| {}).unwrap()
    }

    fn run(&self) -> RunReport {
        let report = self.run_with(RunRequest::new("acme", Trigger::Cli));
        assert_eq!(report.status, RunStatus::Succeeded, "{report:?}");
        report
    }
}

/// Asserts the store mirrors the simulator's assignments: every assigned user present and
/// active exactly when enabled, every other user inactive, the live groups with their names
/// and members, and no duplicates.
pub fn assert_mirrors(store: &Store, tenant: &GraphTenant) {
    let assigned = tenant.assigned_user_ids(false);
    let enabled: BTreeMap<&str, bool> = tenant
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.account_enabled))
        .collect();
    let users = store.read(|tx| tx.users(Some("acme"))).unwrap();
    let by_external: BTreeMap<String, &provisiond::store::User> = users
        .iter()
        .filter_map(|u| Some((u.external_id.clone()?, u)))
        .collect();
    assert_eq!(
        by_external.len(),
        users.len(),
        "every user has an external id"
    );
    let emails: BTreeSet<String> = users.iter().map(|u| u.email.to_lowercase()).collect();
    assert_eq!(emails.len(), users.len(), "duplicate emails");
    for id in &assigned {
        let user = by_external
            .get(id)
            .unwrap_or_else(|| panic!("assigned user {id} missing"));
        assert_eq!(user.active, enabled[id.as_str()], "{}", user.email);
    }
    for (id, user) in &by_external {
        if !assigned.contains(id) {
            assert!(!user.active, "unassigned {} is active", user.email);
        }
    }

    let groups = store.read(|tx| tx.groups("acme")).unwrap();
    let memberships = store.read(|tx| tx.memberships("acme")).unwrap();
    let user_external: BTreeMap<&str, &str> = users
        .iter()
        .filter_map(|u| Some((u.id.as_str(), u.external_id.as_deref()?)))
        .collect();
    let stored: BTreeMap<String, (String, BTreeSet<String>)> = groups
        .iter()
        .map(|g| {
            let members = memberships
                .iter()
                .filter(|(group, _)| *group == g.id)
                .map(|(_, user)| user_external[user.as_str()].to_owned())
                .collect();
            (
                g.external_id.clone().unwrap(),
                (g.display_name.clone(), members),
            )
        })
        .collect();
    let expected: BTreeMap<String, (String, BTreeSet<String>)> = tenant
        .assigned_groups(false)
        .into_iter()
        .map(|(id, name, members)| (id, (name, members)))
        .collect();
    assert_eq!(stored, expected);
}

/// A user not assigned at all.
fn unassigned_user(tenant: &GraphTenant) -> String {
    let assigned = tenant.assigned_user_ids(false);
    tenant
        .users
        .iter()
        .find(|u| !assigned.contains(&u.id))
        .map(|u| u.id.clone())
        .unwrap()
}

/// A user assigned directly and through no group, so unassigning it removes it.
fn directly_assigned_only(tenant: &GraphTenant) -> String {
    let in_groups: BTreeSet<String> = tenant
        .assigned_groups(false)
        .into_iter()
        .flat_map(|(_, _, members)| members)
        .collect();
    tenant
        .users
        .iter()
        .step_by(5)
        .skip(1)
        .find(|u| !in_groups.contains(&u.id))
        .map(|u| u.id.clone())
        .unwrap()
}

/// An account as a SAML sign-in stores it: the object id, the address as user name.
fn saml_login_user(store: &Store, external_id: &str, email: &str) -> String {
    let now = chrono::Utc::now().naive_utc();
    let user = NewUser {
        user_name: Some(email.into()),
        last_login_at: Some(now),
        ..provisiond::testing::new_user("saml", Some(external_id), email)
    };
    store.write(|tx| tx.insert_user(&user)).unwrap().id
}

const FULL: &str = "{schedule: \"*/5 * * * *\", mode: full, max_deactivate: \"100%\"}";

/// A connection without users creates them while the listing is read (a full listing, and
/// the first delta round of incremental mode); the run counts them and a re-run finds nothing.
#[test]
fn a_fresh_connection_gets_every_assigned_user_and_counts_them() {
    for mode in ["full", "incremental"] {
        let sync = format!("{{schedule: \"*/5 * * * *\", mode: {mode}, max_deactivate: \"10%\"}}");
        let fx = Fixture::new(GraphTenant::generate(60, 6, 120, 17), &sync);
        let tenant = fx.sim.state.tenant();
        let first = fx.run();
        assert_eq!(
            first.status,
            RunStatus::Succeeded,
            "{mode}: {:?}",
            first.message
        );
        assert_mirrors(fx.store(), &tenant);
        assert_eq!(
            first.counts.changes.users_created,
            tenant.assigned_user_ids(false).len(),
            "{mode}"
        );
        assert!(first.counts.changes.members_added > 0, "{mode}");
        assert!(
            fx.run().counts.changes == Default::default(),
            "{mode}: a re-run changes nothing"
        );
    }
}

#[test]
fn sync_mirrors_assignments_and_follows_every_kind_of_change() {
    let fx = Fixture::new(GraphTenant::generate(60, 6, 120, 17), FULL);
    let tenant = fx.sim.state.tenant();
    // User 0 is assigned directly; it signed in by SAML before the first sync.
    let saml_id = saml_login_user(
        fx.store(),
        &tenant.users[0].id,
        tenant.users[0].mail.as_deref().unwrap(),
    );

    let first = fx.run();
    assert_mirrors(fx.store(), &tenant);
    assert_eq!(
        first.counts.changes.users_created,
        tenant.assigned_user_ids(false).len() - 1,
        "the SAML user is matched, not created"
    );
    let users = fx.store().read(|tx| tx.users(Some("acme"))).unwrap();
    let saml = users.iter().find(|u| u.id == saml_id).unwrap();
    assert_eq!(saml.source, "saml");
    assert_eq!(
        saml.family_name, tenant.users[0].surname,
        "profile filled in"
    );
    assert!(
        fx.run().counts.changes == Default::default(),
        "a re-run changes nothing"
    );

    // New assignment, removed assignment, rename, membership change, disabled account.
    let added = unassigned_user(&tenant);
    let removed = directly_assigned_only(&tenant);
    let assigned = tenant.assigned_user_ids(false);
    let mut others = tenant
        .users
        .iter()
        .filter(|u| u.id != removed && u.account_enabled && assigned.contains(&u.id));
    let (renamed, disabled) = (others.next().unwrap(), others.next().unwrap());
    fx.sim.state.assign(&added);
    fx.sim.state.unassign(&removed);
    fx.sim.state.rename_user(&renamed.id, "Renamed Person");
    fx.sim.state.set_account_enabled(&disabled.id, false);
    let group = tenant.groups[0].id.clone();
    fx.sim.state.add_member(&group, &tenant.users[2].id);
    let tenant = fx.sim.state.tenant();

    fx.run();
    assert_mirrors(fx.store(), &tenant);
    let user = |id: &str| {
        fx.store()
            .read(|tx| tx.user_by_external_id("acme", id))
            .unwrap()
            .unwrap()
    };
    assert_eq!(
        user(&renamed.id).display_name.as_deref(),
        Some("Renamed Person")
    );
    assert!(!user(&disabled.id).active);
    assert!(user(&added).active, "newly assigned: created");
    let gone = user(&removed);
    assert!(!gone.active, "no longer assigned: deactivated");
    assert!(
        gone.given_name.is_some() && gone.user_name.is_some(),
        "data kept"
    );

    // Reassigned: reactivated, same account.
    fx.sim.state.assign(&removed);
    fx.run();
    let back = user(&removed);
    assert!(back.active);
    assert_eq!(back.id, gone.id);
    assert_mirrors(fx.store(), &fx.sim.state.tenant());
}

#[test]
fn throttled_and_unavailable_graph_answers_still_give_the_right_data() {
    let fx = Fixture::new(GraphTenant::generate(400, 6, 600, 23), FULL);
    for (path, fault, times) in [
        (
            "/users",
            Fault::TooManyRequests {
                retry_after_secs: Some(3),
            },
            3,
        ),
        (
            "/members",
            Fault::ServiceUnavailable {
                retry_after_secs: None,
            },
            2,
        ),
        (
            "/appRoleAssignedTo",
            Fault::ServiceUnavailable {
                retry_after_secs: Some(1),
            },
            1,
        ),
    ] {
        fx.sim.state.push_fault(FaultRule {
            path_contains: Some(path.into()),
            fault,
            times,
        });
    }

    fx.run();

    assert_mirrors(fx.store(), &fx.sim.state.tenant());
    // Three Retry-After waits for /users, one for the assignments, and a backoff before the
    // batch that retries the failed member sub-requests.
    let sleeps = fx.clock.sleeps();
    let waits = |secs| {
        sleeps
            .iter()
            .filter(|s| **s == Duration::from_secs(secs))
            .count()
    };
    assert_eq!((waits(3), waits(1)), (3, 1), "{sleeps:?}");
    assert!(sleeps.contains(&Duration::from_millis(500)), "{sleeps:?}");
}

#[test]
fn the_mass_deactivation_guard_applies_nothing_until_allowed() {
    let fx = Fixture::new(
        GraphTenant::generate(100, 4, 150, 29),
        "{schedule: \"*/5 * * * *\", mode: full, max_deactivate: \"10%\"}",
    );
    let tenant = fx.sim.state.tenant();
    fx.run();
    let active_before = active_count(fx.store());

    // Most of the directory is unassigned at once (a misconfigured IdP, say).
    for user in tenant.users.iter().step_by(5).skip(1) {
        fx.sim.state.unassign(&user.id);
    }
    let blocked = fx.run_with(RunRequest::new("acme", Trigger::Cli));
    assert_eq!(blocked.status, RunStatus::Blocked);
    let message = blocked.message.clone().unwrap();
    assert!(message.contains("--allow-mass-deactivation"), "{message}");
    assert_eq!(active_count(fx.store()), active_before, "nothing applied");
    let runs = fx.store().read(|tx| tx.sync_runs(Some("acme"), 1)).unwrap();
    assert_eq!(runs[0].status, "blocked");

    let allowed = fx.run_with(RunRequest {
        allow_mass_deactivation: true,
        ..RunRequest::new("acme", Trigger::Cli)
    });
    assert_eq!(allowed.status, RunStatus::Succeeded);
    assert!(active_count(fx.store()) < active_before);
    assert_mirrors(fx.store(), &fx.sim.state.tenant());
}

fn active_count(store: &Store) -> usize {
    store
        .read(|tx| tx.users(Some("acme")))
        .unwrap()
        .iter()
        .filter(|u| u.active)
        .count()
}

#[test]
fn incremental_runs_apply_deltas_and_a_due_full_listing_closes_the_delta_gap() {
    let fx = Fixture::new(
        GraphTenant::generate(200, 4, 300, 31),
        "{schedule: \"*/5 * * * *\", mode: incremental, max_deactivate: \"100%\"}",
    );
    let tenant = fx.sim.state.tenant();
    let first = fx.run();
    assert_eq!(first.mode, "full", "no token yet: a full round");
    assert_mirrors(fx.store(), &tenant);

    fx.sim
        .state
        .rename_user(&tenant.users[0].id, "Delta Person");
    fx.sim.state.reset_counts();
    let second = fx.run();
    assert_eq!(second.mode, "incremental");
    assert_eq!(second.counts.changes.users_updated, 1);
    assert_eq!(fx.sim.state.request_counts().route("GET /users"), 0);

    // An assignment-only change is invisible to the delta...
    let newcomer = &unassigned_user(&tenant);
    fx.sim.state.assign(newcomer);
    fx.run();
    let found = fx
        .store()
        .read(|tx| tx.user_by_external_id("acme", newcomer))
        .unwrap();
    assert!(found.is_none(), "the documented delta gap");

    // ...until a full listing is due (here: the last one is made old) or asked for.
    let state = fx
        .store()
        .read(|tx| tx.sync_state("acme"))
        .unwrap()
        .unwrap();
    let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::days(2);
    fx.store()
        .write(|tx| {
            tx.save_sync_state(
                "acme",
                state.delta_token.as_deref(),
                Some(long_ago),
                long_ago,
            )
        })
        .unwrap();
    let due = fx.run();
    assert_eq!(due.mode, "full");
    assert_mirrors(fx.store(), &fx.sim.state.tenant());
}

#[test]
fn broken_adapters_fail_their_runs_with_a_clear_record() {
    let dir = TempDir::new("broken");
    let mut connections = String::new();
    for (name, adapter) in [
        ("missing", "no_such_adapter"),
        ("wrongabi", "bad_adapter_wrong_abi"),
        ("nosymbol", "bad_adapter_no_symbol"),
        ("panics", "bad_adapter_panics"),
        ("malformed", "bad_adapter_malformed_json"),
    ] {
        connections.push_str(&format!(
            "  - name: {name}\n    domains: [{name}.example]\n    adapter: {adapter}\n    \
             sync: {{schedule: \"@hourly\"}}\n"
        ));
    }
    let path = write_config(&dir.0, &connections);
    let config = config::load(&path).unwrap();
    let store = Store::open(&config.database).unwrap();
    let context = SyncContext::new(Arc::new(config), store);

    for (name, expected) in [
        ("missing", "no_such_adapter"),
        ("wrongabi", "ABI version"),
        ("nosymbol", "does not export"),
        ("panics", "panicked in users_page"),
        ("malformed", "malformed JSON"),
    ] {
        let report = context
            .run_blocking(&RunRequest::new(name, Trigger::Schedule), &mut |_| {})
            .unwrap();
        assert_eq!(report.status, RunStatus::Failed, "{name}");
        let message = report.message.unwrap();
        assert!(message.contains(expected), "{name}: {message}");
        assert!(
            message.contains(&format!("connection \"{name}\"")),
            "{message}"
        );
        let runs = context
            .store()
            .read(|tx| tx.sync_runs(Some(name), 1))
            .unwrap();
        assert_eq!(runs[0].status, "failed");
        assert_eq!(runs[0].trigger, "schedule");
        assert_eq!(runs[0].message.as_deref(), Some(message.as_str()));
    }
}

// Early creation of a fresh connection's users, with other writers and failures around it.

/// Runs once, calling `hook` with the page count each time a page has been read: the hook
/// runs on the fetching thread after the page arrived and before the early pass receives it,
/// which is where a concurrent sign-in, SCIM push or IdP change lands in a real run.
fn run_hooked(fx: &Fixture, sync_hook: &mut dyn FnMut(u64)) -> RunReport {
    let request = RunRequest::new("acme", Trigger::Cli);
    fx.context
        .run_blocking(&request, &mut |progress| {
            if let provisiond::sync::Progress::Fetching { pages, .. } = progress {
                sync_hook(pages);
            }
        })
        .unwrap()
}

/// An account a SCIM client pushes into the connection: no external id, an address.
fn scim_pushed_user(store: &Store, email: &str) -> String {
    let user = NewUser {
        user_name: Some(email.into()),
        ..provisiond::testing::new_user("scim", None, email)
    };
    store.write(|tx| tx.insert_user(&user)).unwrap().id
}

/// An assigned, enabled user with a `mail`.
fn assigned_with_mail(tenant: &GraphTenant) -> idp_sim::graph::GraphUser {
    let assigned = tenant.assigned_user_ids(false);
    tenant
        .users
        .iter()
        .find(|u| assigned.contains(&u.id) && u.mail.is_some() && u.account_enabled)
        .cloned()
        .unwrap()
}

/// A user signs in by SAML, or a SCIM client pushes an account with a listed user's address
/// (no external id), while a fresh connection's first listing is read: the early pass stops at
/// the account it cannot create, the plan matches it (by object id or by email), and the run
/// succeeds.
#[test]
fn an_account_made_during_the_first_listing_is_matched_and_the_run_succeeds() {
    for source in ["saml", "scim"] {
        let fx = Fixture::new(GraphTenant::generate(60, 6, 120, 17), FULL);
        let tenant = fx.sim.state.tenant();
        let user = assigned_with_mail(&tenant);
        let email = user.mail.as_deref().unwrap();
        let mut made = false;
        let report = run_hooked(&fx, &mut |_| {
            if !made {
                made = true;
                match source {
                    "saml" => saml_login_user(fx.store(), &user.id, email),
                    _ => scim_pushed_user(fx.store(), email),
                };
            }
        });
        assert_eq!(
            report.status,
            RunStatus::Succeeded,
            "{source}: {:?}",
            report.message
        );
        assert_mirrors(fx.store(), &tenant);
    }
}

/// Accounts created in the connection while its first listing is read (SCIM pushes here) are
/// not the run's own: a plan deactivating all of them is stopped by the guard.
#[test]
fn accounts_created_during_the_first_listing_are_protected_by_the_guard() {
    let fx = Fixture::new(
        GraphTenant::generate(60, 6, 120, 17),
        "{schedule: \"*/5 * * * *\", mode: full, max_deactivate: \"10%\"}",
    );
    let mut pushed = Vec::new();
    let report = run_hooked(&fx, &mut |_| {
        if pushed.is_empty() {
            for i in 0..20 {
                pushed.push(scim_pushed_user(
                    fx.store(),
                    &format!("pushed{i}@elsewhere.example"),
                ));
            }
        }
    });
    let users = fx.store().read(|tx| tx.users(Some("acme"))).unwrap();
    let deactivated = users
        .iter()
        .filter(|u| pushed.contains(&u.id) && !u.active)
        .count();
    assert_eq!(
        deactivated, 0,
        "{deactivated} of 20 active accounts deactivated by one run with max_deactivate 10%, \
         no guard (status {:?}, counts {:?})",
        report.status, report.counts
    );
}

/// The listing fails after its first page: the users the early pass created from it stay, and
/// the failed run records them.
#[test]
fn a_failed_first_listing_records_the_users_it_created() {
    let fx = Fixture::new(
        GraphTenant::generate(300, 4, 300, 31),
        "{schedule: \"*/5 * * * *\", mode: incremental, max_deactivate: \"10%\"}",
    );
    let mut failed = false;
    let report = run_hooked(&fx, &mut |_| {
        if !failed {
            failed = true;
            fx.sim.state.push_fault(FaultRule {
                path_contains: Some("delta".into()),
                fault: Fault::InternalServerError,
                times: 1000,
            });
        }
    });
    assert_eq!(report.status, RunStatus::Failed, "{report:?}");
    let created = fx.store().read(|tx| tx.users(Some("acme"))).unwrap().len();
    let runs = fx.store().read(|tx| tx.sync_runs(Some("acme"), 1)).unwrap();
    let counts: Value = serde_json::from_str(&runs[0].counts).unwrap();
    assert_eq!(
        counts["users_created"].as_u64().unwrap_or(0) as usize,
        created,
        "the failed run created {created} users but recorded counts {}",
        runs[0].counts
    );
}

/// A run whose process stalled past its lease while another replica took the connection over
/// applies nothing it read: the other replica's run reads newer data, and the two must not
/// apply side by side.
#[test]
fn a_run_whose_lease_another_replica_took_over_applies_nothing() {
    let fx = Fixture::new(
        GraphTenant::generate(100, 4, 150, 31),
        "{schedule: \"*/5 * * * *\", mode: full}",
    );
    fx.run();
    // Direct assignments are users 0, 5, 10, ...
    let disabled = fx.sim.state.tenant().users[5].id.clone();
    fx.sim.state.set_account_enabled(&disabled, false);

    let report = run_hooked(&fx, &mut |_| {
        let later = chrono::Utc::now().naive_utc() + chrono::Duration::hours(1);
        let until = later + chrono::Duration::hours(1);
        let taken = fx
            .store()
            .write(|tx| tx.acquire_lease("sync:acme", "another-replica", later, until))
            .unwrap();
        assert!(taken);
    });

    assert_eq!(report.status, RunStatus::Failed, "{report:?}");
    let message = report.message.clone().unwrap_or_default();
    assert!(message.contains("lease"), "{message}");
    let users = fx.store().read(|tx| tx.users(Some("acme"))).unwrap();
    let user = users
        .iter()
        .find(|user| user.external_id.as_deref() == Some(disabled.as_str()))
        .unwrap();
    assert!(user.active, "nothing applied");
}

/// A fresh connection's run whose lease another replica takes over while it reads: the users
/// its early pass created stay, and the failed run records them with the reason.
#[test]
fn a_run_stopped_by_a_lost_lease_records_what_it_changed() {
    let fx = Fixture::new(
        GraphTenant::generate(300, 4, 300, 31),
        "{schedule: \"*/5 * * * *\", mode: full}",
    );
    let mut taken = false;
    let report = run_hooked(&fx, &mut |_| {
        if !taken {
            taken = true;
            let later = chrono::Utc::now().naive_utc() + chrono::Duration::hours(1);
            let until = later + chrono::Duration::hours(1);
            let store = fx.store();
            assert!(
                store
                    .write(|tx| tx.acquire_lease("sync:acme", "another-replica", later, until))
                    .unwrap()
            );
        }
    });

    assert_eq!(report.status, RunStatus::Failed, "{report:?}");
    let created = fx.store().read(|tx| tx.users(Some("acme"))).unwrap().len();
    assert!(created > 0);
    let runs = fx.store().read(|tx| tx.sync_runs(Some("acme"), 1)).unwrap();
    assert!(
        runs[0].message.as_deref().unwrap_or("").contains("lease"),
        "{runs:?}"
    );
    let counts: Value = serde_json::from_str(&runs[0].counts).unwrap();
    assert_eq!(
        counts["users_created"].as_u64().unwrap_or(0) as usize,
        created,
        "the stopped run created {created} users but recorded counts {}",
        runs[0].counts
    );
    assert_eq!(report.counts.changes.users_created, created);
}
