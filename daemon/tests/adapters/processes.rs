//! Sync through the real `provisiond` binary: scheduled runs inside `serve` (next to broken
//! adapters that must not take the daemon down), a `provisiond sync` killed with SIGKILL in
//! the middle of applying, and `check-config` reporting adapter and schedule problems.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use idp_sim::IdpKeys;
use idp_sim::graph::GraphTenant;
use provisiond::config;
use provisiond::store::Store;

use crate::support::Simulator;
use crate::sync::{TempDir, assert_mirrors, entra_connection, write_config};

/// A child process killed (by its own pid) on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn provisiond(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provisiond"));
    command.arg("--config").arg(config).args(args);
    command
}

fn output(config: &Path, args: &[&str]) -> Output {
    provisiond(config, args).output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Polls `check` every 20 ms for up to `limit`; the processes under test run on their own.
fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn saml_block(keys: &IdpKeys) -> String {
    format!(
        "    saml:\n      idp_entity_id: https://idp.example/\n      \
         sso_url: http://127.0.0.1:9/saml2\n      certificates: [\"{}\"]\n",
        keys.key(0).cert_base64()
    )
}

#[test]
fn serve_runs_scheduled_syncs_and_keeps_serving_beside_broken_adapters() {
    let dir = TempDir::new("serve");
    let sim = Simulator::start(GraphTenant::generate(80, 4, 120, 41));
    let keys = IdpKeys::generate(1).unwrap();
    let every_second = "{schedule: \"* * * * * *\", mode: full, max_deactivate: \"100%\"}";
    let mut connections = entra_connection("acme", &sim.entra_config(), every_second);
    connections.push_str(&format!(
        "  - name: broken\n    domains: [broken.example]\n{}    adapter: bad_adapter_panics\n    \
         sync: {{schedule: \"* * * * * *\"}}\n  - name: missing\n    \
         domains: [missing.example]\n    adapter: no_such_adapter\n    \
         sync: {{schedule: \"* * * * * *\"}}\n",
        saml_block(&keys)
    ));
    let path = write_config(&dir.0, &connections);
    let port = free_port();
    let yaml = std::fs::read_to_string(&path)
        .unwrap()
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(&path, yaml).unwrap();
    let log = dir.0.join("serve.log");
    let _daemon = Running(
        provisiond(&path, &["serve"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );

    let config = config::load(&path).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let healthy =
        || reqwest::blocking::get(format!("{base}/healthz")).is_ok_and(|r| r.status().is_success());
    assert!(wait_for(Duration::from_secs(30), healthy), "{}", read(&log));
    let store = Store::open(&config.database).unwrap();
    let finished = |connection: &str, status: &str| {
        let runs = store.read(|tx| tx.sync_runs(Some(connection), 50)).unwrap();
        runs.iter()
            .any(|run| run.status == status && run.trigger == "schedule")
    };
    let all_ran = || {
        finished("acme", "succeeded")
            && finished("broken", "failed")
            && finished("missing", "failed")
    };
    assert!(wait_for(Duration::from_secs(30), all_ran), "{}", read(&log));

    assert_mirrors(&store, &sim.state.tenant());
    let runs = store.read(|tx| tx.sync_runs(Some("broken"), 1)).unwrap();
    let message = runs[0].message.clone().unwrap_or_default();
    assert!(message.contains("connection \"broken\""), "{message}");
    assert!(
        message.contains("bad_adapter_panics") && message.contains("panicked"),
        "{message}"
    );
    let runs = store.read(|tx| tx.sync_runs(Some("missing"), 1)).unwrap();
    assert!(
        runs[0]
            .message
            .as_deref()
            .unwrap_or("")
            .contains("no library")
    );

    // The daemon still answers, SAML included, for the connection whose adapter panics.
    assert!(healthy());
    let metadata = reqwest::blocking::get(format!("{base}/saml/broken/metadata")).unwrap();
    assert!(metadata.status().is_success());
    let history = output(&path, &["sync-runs", "--connection", "acme", "--json"]);
    assert!(history.status.success(), "{}", text(&history));
    assert!(text(&history).contains("\"schedule\""));
    assert!(read(&log).contains("sync run finished"));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn a_sync_killed_while_applying_leaves_a_consistent_store_that_the_next_run_completes() {
    let dir = TempDir::new("sigkill");
    let mut tenant = GraphTenant::generate(30_000, 20, 40_000, 5);
    tenant.assign_all_users();
    let sim = Simulator::start(tenant);
    let full = "{schedule: \"@daily\", mode: full, max_deactivate: \"100%\", lease_seconds: 3}";
    let path = write_config(&dir.0, &entra_connection("acme", &sim.entra_config(), full));
    let migrated = output(&path, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let config = config::load(&path).unwrap();
    let store = Store::open(&config.database).unwrap();

    let mut child = provisiond(&path, &["sync", "acme"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let applying = || {
        let users = store.read(|tx| tx.users(Some("acme"))).unwrap().len();
        users > 0
    };
    assert!(
        wait_for(Duration::from_secs(120), applying),
        "the run never applied"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let runs = store.read(|tx| tx.sync_runs(Some("acme"), 5)).unwrap();
    assert_eq!(runs[0].status, "running", "killed in the middle of the run");
    let users_at_kill = store.read(|tx| tx.users(Some("acme"))).unwrap().len();
    assert!(
        users_at_kill < 30_000,
        "killed before the last user batch: {users_at_kill}"
    );

    // The killed process still holds the connection's lease until it expires; then the
    // next run takes over.
    let started = std::time::Instant::now();
    let again = loop {
        let again = output(&path, &["sync", "acme"]);
        if again.status.success() || started.elapsed() > Duration::from_secs(30) {
            break again;
        }
        assert!(text(&again).contains("in progress"), "{}", text(&again));
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(again.status.success(), "{}", text(&again));
    let runs = store.read(|tx| tx.sync_runs(Some("acme"), 100)).unwrap();
    assert_eq!(runs[0].status, "succeeded");
    // Attempts made while the dead process's lease lasted were skipped, not run.
    let runs: Vec<_> = runs.into_iter().filter(|r| r.status != "skipped").collect();
    assert_eq!(runs[1].status, "failed");
    assert!(
        runs[1]
            .message
            .as_deref()
            .unwrap_or("")
            .contains("interrupted")
    );
    assert_mirrors(&store, &sim.state.tenant());
    let users = store.read(|tx| tx.users(Some("acme"))).unwrap();
    assert_eq!(users.len(), 30_000, "converged to exactly the snapshot");
}

#[test]
fn check_config_lists_adapter_and_schedule_problems() {
    let dir = TempDir::new("check");
    let bad_schedule = write_config(
        &dir.0,
        "  - name: acme\n    domains: [acme.example]\n    adapter: entra\n    \
         sync: {schedule: \"every tuesday\"}\n",
    );
    let result = output(&bad_schedule, &["check-config"]);
    assert!(!result.status.success());
    assert!(
        text(&result).contains("connections[0].sync.schedule"),
        "{}",
        text(&result)
    );

    let bad_adapters = write_config(
        &dir.0,
        "  - name: acme\n    domains: [acme.example]\n    adapter: entra\n    \
         adapter_config: {tenant_id: \"not a tenant\", client_secret: \"hunter2-secret\", \
         app_id: \"x\"}\n  - name: other\n    domains: [other.example]\n    adapter: \
         no_such_adapter\n",
    );
    let result = output(&bad_adapters, &["check-config"]);
    let printed = text(&result);
    assert!(!result.status.success());
    for key in [
        "connections[0].adapter_config.tenant_id",
        "connections[0].adapter_config.client_id",
        "connections[0].adapter_config.app_id",
        "connections[1].adapter:",
    ] {
        assert!(printed.contains(key), "{key} missing from:\n{printed}");
    }
    assert!(printed.contains("no_such_adapter"));
    assert!(!printed.contains("hunter2-secret"));
}

#[test]
fn check_config_lists_every_kind_of_problem_in_one_run() {
    let dir = TempDir::new("check-all");
    let path = dir.0.join("provisiond.yaml");
    std::fs::write(
        &path,
        format!(
            "server:\n  listen: 127.0.0.1:0\n  session_key: short\n  bogus: 1\n\
             database:\n  url: \"{}\"\n  max_connections: \"8\"\nadapters_dir: {}\n\
             connections:\n  - name: acme\n    domains: [acme.example]\n    adapter: entra\n    \
             extra: 1\n    \
             adapter_config:\n      tenant_id: \"not a tenant\"\n      \
             client_secret: 918273645546372819283746556473\n      \
             app_id: ${{PROVISIOND_TEST_SURELY_UNSET_APP_ID}}\n    \
             sync: {{schedule: \"0 3 * * 8\", mode: sometimes}}\n  \
             - name: other\n    domains: [other.example]\n    adapter: no_such_adapter\n    \
             sync: {{schedule: \"0 3 * * 1-5\"}}\n",
            provisiond::testing::fresh_database_url(&dir.0),
            crate::support::library_dir("provisiond_adapter_entra").display()
        ),
    )
    .unwrap();

    let result = output(&path, &["check-config"]);
    let printed = text(&result);
    assert!(!result.status.success());
    for key in [
        // Unknown keys, values of the wrong kind, wrong values.
        "server.bogus:",
        "database.max_connections: expected a whole number",
        "server.session_key: too short",
        "connections[0].extra:",
        "connections[0].sync.schedule:",
        "connections[0].sync.mode:",
        // Settings the daemon could not pass on or resolve.
        "connections[0].adapter_config.client_secret: a number",
        "connections[0].adapter_config.app_id: environment variable",
        // The adapter's own checks, and a library that is not there.
        "connections[0].adapter_config.tenant_id:",
        "connections[0].adapter_config.client_id: required",
        "connections[1].adapter:",
    ] {
        assert!(printed.contains(key), "{key} missing from:\n{printed}");
    }
    // The settings the daemon left out are not reported again by the adapter as missing.
    assert_eq!(
        printed
            .matches("connections[0].adapter_config.app_id")
            .count(),
        1,
        "{printed}"
    );
    assert!(
        !printed.contains("918273645546372819283746556473"),
        "{printed}"
    );
}

/// Migrates the database of `path`, then starts two `serve` replicas of it; `None` on SQLite,
/// where a second daemon is refused (tested in the `it` suite): replicas need PostgreSQL.
fn start_replicas(dir: &TempDir, path: &Path) -> Option<(Store, Vec<Running>)> {
    if let config::DatabaseUrl::Sqlite(_) = config::load(path).unwrap().database.url {
        eprintln!("replicas need PostgreSQL: skipped on the SQLite pass");
        return None;
    }
    let migrated = output(path, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let config = config::load(path).unwrap();
    let store = Store::open(&config.database).unwrap();
    let replicas = ["a", "b"]
        .iter()
        .map(|name| {
            let log = std::fs::File::create(dir.0.join(format!("{name}.log"))).unwrap();
            let serve = provisiond(path, &["serve"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn();
            Running(serve.unwrap())
        })
        .collect();
    Some((store, replicas))
}

#[test]
fn two_replicas_on_one_database_run_each_scheduled_sync_once() {
    let dir = TempDir::new("replicas");
    let sim = Simulator::start(GraphTenant::generate(60, 3, 80, 17));
    // Every two seconds, on both replicas.
    let schedule =
        "{schedule: \"*/2 * * * * *\", mode: full, max_deactivate: \"100%\", lease_seconds: 5}";
    let path = write_config(
        &dir.0,
        &entra_connection("acme", &sim.entra_config(), schedule),
    );
    let Some((store, replicas)) = start_replicas(&dir, &path) else {
        return;
    };
    let enough = || {
        let runs = store.read(|tx| tx.sync_runs(Some("acme"), 100)).unwrap();
        runs.iter().filter(|r| r.status == "succeeded").count() >= 3
            && runs.iter().filter(|r| r.status == "skipped").count() >= 2
    };
    assert!(
        wait_for(Duration::from_secs(60), enough),
        "both replicas fire, one runs"
    );
    drop(replicas);

    // Group the runs by schedule tick (even seconds): each tick ran at most once.
    let runs = store.read(|tx| tx.sync_runs(Some("acme"), 1000)).unwrap();
    let mut per_tick: std::collections::BTreeMap<i64, usize> = Default::default();
    for run in runs.iter().filter(|r| r.status != "skipped") {
        *per_tick
            .entry(run.started_at.and_utc().timestamp() / 2)
            .or_default() += 1;
    }
    assert!(
        per_tick.values().all(|count| *count == 1),
        "a tick ran twice: {per_tick:?}"
    );
    assert_mirrors(&store, &sim.state.tenant());
}

#[test]
fn killing_the_replica_running_a_sync_lets_the_other_take_over_after_the_lease() {
    let dir = TempDir::new("takeover");
    let mut tenant = GraphTenant::generate(30_000, 20, 40_000, 9);
    tenant.assign_all_users();
    let sim = Simulator::start(tenant);
    let schedule =
        "{schedule: \"*/2 * * * * *\", mode: full, max_deactivate: \"100%\", lease_seconds: 3}";
    let path = write_config(
        &dir.0,
        &entra_connection("acme", &sim.entra_config(), schedule),
    );
    let Some((store, mut replicas)) = start_replicas(&dir, &path) else {
        return;
    };

    // Wait until one replica is applying the first run, then kill that one.
    let applying = || !store.read(|tx| tx.users(Some("acme"))).unwrap().is_empty();
    assert!(
        wait_for(Duration::from_secs(120), applying),
        "no run started applying"
    );
    let (holder, _) = store
        .read(|tx| tx.lease_holder("sync:acme"))
        .unwrap()
        .expect("a lease");
    let pid: u32 = holder.split('-').next().unwrap().parse().unwrap();
    let index = replicas
        .iter()
        .position(|r| r.0.id() == pid)
        .expect("a replica holds the lease");
    let killed_at = chrono::Utc::now().naive_utc();
    drop(replicas.remove(index));

    // The survivor takes over once the lease has expired and converges.
    let converged = || {
        let runs = store.read(|tx| tx.sync_runs(Some("acme"), 100)).unwrap();
        runs.iter()
            .any(|r| r.status == "succeeded" && r.started_at > killed_at)
    };
    assert!(
        wait_for(Duration::from_secs(120), converged),
        "the other replica never took over"
    );
    drop(replicas);
    let runs = store.read(|tx| tx.sync_runs(Some("acme"), 1000)).unwrap();
    assert!(
        runs.iter()
            .any(|r| r.status == "failed"
                && r.message.as_deref().unwrap_or("").contains("interrupted")),
        "the killed run is recorded as interrupted"
    );
    assert_mirrors(&store, &sim.state.tenant());
}
