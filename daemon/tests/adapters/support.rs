//! Shared fixtures: where built libraries are, a manual-clock HTTP client, and a Graph
//! simulator running on its own runtime on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use idp_sim::graph::{GraphServer, GraphState, GraphTenant, serve_graph};
use provisiond::plugins::{HttpClient, HttpSettings, LoadedAdapter, ManualClock};
use serde_json::{Value, json};

/// `target/debug` (or the profile directory the tests run from).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/adapters-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("profile directory")
        .to_path_buf()
}

/// The workspace's adapter libraries (the Entra adapter and the misbehaving test adapters).
const WORKSPACE_ADAPTERS: &[&str] = &[
    "provisiond-adapter-entra",
    "bad-adapter-listings",
    "bad-adapter-malformed-json",
    "bad-adapter-no-symbol",
    "bad-adapter-panics",
    "bad-adapter-wrong-abi",
];

/// The directory holding the workspace's adapter libraries, built once per test run.
///
/// `cargo test` does not build cdylib artifacts, so the tests build them themselves, into a
/// target directory of their own (no lock contention with the cargo running the tests).
pub fn library_dir(lib_name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let target = profile_dir().join("../test-adapters");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut command = std::process::Command::new(cargo);
        command
            .args(["build", "--quiet", "--manifest-path"])
            .arg(&manifest);
        command.arg("--target-dir").arg(&target);
        for package in WORKSPACE_ADAPTERS {
            command.args(["-p", package]);
        }
        let status = command.status().expect("run cargo");
        assert!(status.success(), "building the adapter libraries failed");
        target.join("debug")
    });
    let file = format!(
        "{}{lib_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    assert!(
        dir.join(&file).is_file(),
        "{file} was not built in {}",
        dir.display()
    );
    dir.clone()
}

/// Loads a workspace adapter library by its library name, e.g. `bad_adapter_panics`.
pub fn load(lib_name: &str) -> Result<LoadedAdapter, provisiond::plugins::PluginError> {
    LoadedAdapter::load(&library_dir(lib_name), &lib_name.replace('_', "-"))
}

/// An HTTP client whose waits advance `clock` instead of sleeping.
pub fn http_client(clock: &Arc<ManualClock>) -> HttpClient {
    HttpClient::new(HttpSettings::default(), clock.clone()).expect("http client")
}

/// A manual clock at a fixed date (2025-01-01T00:00:00Z).
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(1_735_689_600_000))
}

/// A Graph simulator on an ephemeral 127.0.0.1 port, with its own runtime.
pub struct Simulator {
    pub state: Arc<GraphState>,
    pub server: Option<GraphServer>,
    runtime: tokio::runtime::Runtime,
}

impl Simulator {
    pub fn start(tenant: GraphTenant) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let state = Arc::new(GraphState::new(tenant));
        let addr = "127.0.0.1:0".parse().expect("address");
        let server = runtime
            .block_on(serve_graph(state.clone(), addr))
            .expect("bind simulator");
        Self {
            state,
            server: Some(server),
            runtime,
        }
    }

    /// An adapter config for this simulator's tenant.
    pub fn entra_config(&self) -> Value {
        let tenant = self.state.tenant();
        let server = self.server.as_ref().expect("running");
        json!({
            "tenant_id": tenant.tenant_id,
            "client_id": tenant.client_id,
            "client_secret": tenant.client_secret,
            "app_id": tenant.app_id,
            "graph_base_url": server.graph_base_url(),
            "login_base_url": server.login_base_url(),
        })
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}
