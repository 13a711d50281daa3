//! Sync benchmark: the Entra adapter (cdylib) against an in-process Graph simulator with a
//! generated tenant, into SQLite.
//!
//! ```text
//! cargo build --release --workspace          # builds the adapter library
//! cargo bench -p provisiond --bench sync     # 100,000 users; PROVISIOND_BENCH_USERS=N for less
//! ```
//!
//! Each sync is one `provisiond sync acme` of the release binary. Prints, for a first full
//! sync, a no-change full re-sync and an incremental run with 1% of the users changed: wall
//! time, Graph requests made, that process's peak memory (VmHWM), and the time of a pure
//! fetch of the same pages through the adapter in this process, with the ratio.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idp_sim::graph::{GraphState, GraphTenant, serve_graph};
use provisiond::config;
use provisiond::plugins::{HttpClient, HttpSettings, LoadedAdapter, SystemClock};
use provisiond::store::Store;
use provisiond::sync::{FetchHow, ListingRules, fetch};
use serde_json::json;

fn main() {
    let users: usize = std::env::var("PROVISIOND_BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let groups = (users / 50).max(2);
    let memberships = users * 3;
    let lib_dir = library_dir();
    // RUST_LOG=provisiond::sync=debug shows each run's phases.
    provisiond::telemetry::init_with_default(provisiond::config::LogFormat::Text, "warn");

    println!("generating a tenant: {users} users, {groups} groups, {memberships} memberships");
    let mut tenant = GraphTenant::generate(users, groups, memberships, 1);
    tenant.assign_all_users();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let state = Arc::new(GraphState::new(tenant));
    let server = runtime
        .block_on(serve_graph(state.clone(), "127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let tenant = state.tenant();
    let adapter_config = json!({
        "tenant_id": tenant.tenant_id,
        "client_id": tenant.client_id,
        "client_secret": tenant.client_secret,
        "app_id": tenant.app_id,
        "graph_base_url": server.graph_base_url(),
        "login_base_url": server.login_base_url(),
    });
    drop(tenant);

    let dir = std::env::temp_dir().join(format!("provisiond-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("provisiond.yaml");
    std::fs::write(
        &path,
        format!(
            "server:\n  session_key: \"bench-session-key-0123456789abcdef\"\n\
             database:\n  url: sqlite://bench.db\nadapters_dir: {}\nconnections:\n  \
             - name: acme\n    domains: [contoso.test]\n    adapter: entra\n    \
             adapter_config: {adapter_config}\n    \
             sync: {{schedule: \"@daily\", mode: incremental, max_deactivate: \"100%\"}}\n",
            lib_dir.display()
        ),
    )
    .unwrap();
    let config = config::load(&path).unwrap();
    let store = Store::open(&config.database).unwrap();
    let binary = lib_dir.join("provisiond");
    let adapter = LoadedAdapter::load(&lib_dir, "entra").unwrap();
    let rules = ListingRules::for_connection(config.connection("acme").unwrap());
    println!();

    let fetch_full = fetch_only(
        &adapter,
        &adapter_config,
        &rules,
        &state,
        FetchHow::DeltaFromScratch,
    );
    let first = sync_once(&binary, &path, &state, true);
    report("first full sync", &first, fetch_full);

    let fetch_full = fetch_only(
        &adapter,
        &adapter_config,
        &rules,
        &state,
        FetchHow::DeltaFromScratch,
    );
    let again = sync_once(&binary, &path, &state, true);
    report("no-change full re-sync", &again, fetch_full);

    // 1% of the users change: renamed, and every tenth of those disabled.
    let tenant = state.tenant();
    for (index, user) in tenant.users.iter().step_by(100).enumerate() {
        state.rename_user(&user.id, &format!("Changed {index}"));
        if index % 10 == 0 {
            state.set_account_enabled(&user.id, false);
        }
    }
    drop(tenant);
    let token = store
        .read(|tx| tx.sync_state("acme"))
        .unwrap()
        .and_then(|s| s.delta_token)
        .expect("a delta token after a full round");
    let fetch_delta = fetch_only(
        &adapter,
        &adapter_config,
        &rules,
        &state,
        FetchHow::DeltaFrom(token),
    );
    let incremental = sync_once(&binary, &path, &state, false);
    report("incremental run, 1% changed", &incremental, fetch_delta);

    runtime.block_on(server.stop());
    let _ = std::fs::remove_dir_all(&dir);
}

struct Measured {
    time: Duration,
    requests: u64,
    peak_mb: u64,
    summary: String,
}

/// One `provisiond sync acme` (the release binary, as an admin runs it), its wall time and
/// the peak memory of that process alone (VmHWM, read while it runs).
fn sync_once(binary: &Path, config: &Path, state: &GraphState, full: bool) -> Measured {
    state.reset_counts();
    let mut command = Command::new(binary);
    command.arg("--config").arg(config).args(["sync", "acme"]);
    if full {
        command.arg("--full");
    }
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            peak_kb = peak_kb.max(field_kb(&text, "VmHWM"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let time = start.elapsed();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(status.success(), "provisiond sync failed:\n{stdout}");
    Measured {
        time,
        requests: state.request_counts().total,
        peak_mb: peak_kb / 1024,
        summary: stdout.lines().next().unwrap_or_default().to_owned(),
    }
}

/// Only the adapter's pages: the floor a sync run is measured against.
fn fetch_only(
    adapter: &LoadedAdapter,
    config: &serde_json::Value,
    rules: &ListingRules<'_>,
    state: &GraphState,
    how: FetchHow,
) -> (Duration, u64) {
    state.reset_counts();
    let start = Instant::now();
    let http = HttpClient::new(HttpSettings::default(), Arc::new(SystemClock)).unwrap();
    let mut session = adapter.create(config, http).unwrap();
    fetch(&mut session, rules, how, &mut |_| {}, &mut |_| {}).unwrap();
    (start.elapsed(), state.request_counts().total)
}

fn report(what: &str, run: &Measured, (fetch_time, fetch_requests): (Duration, u64)) {
    println!("{what}:");
    println!("  {}", run.summary);
    println!(
        "  wall {:.2} s, {} requests, peak memory of provisiond {} MB; fetch alone {:.2} s \
         ({fetch_requests} requests); ratio {:.2}x",
        run.time.as_secs_f64(),
        run.requests,
        run.peak_mb,
        fetch_time.as_secs_f64(),
        run.time.as_secs_f64() / fetch_time.as_secs_f64().max(1e-9),
    );
}

/// A memory field of a /proc status text, in kB (0 where absent).
fn field_kb(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.trim_start_matches(':');
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// The build directory holding the adapter library (`target/release` for benches).
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let file = format!(
        "{}provisiond_adapter_entra{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    assert!(
        dir.join(&file).is_file(),
        "{file} is not in {}: run `cargo build --release --workspace` first",
        dir.display()
    );
    dir
}
