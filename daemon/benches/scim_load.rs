//! SCIM load: 64 concurrent clients against the SCIM routes served on 127.0.0.1, on SQLite.
//!
//! The mix is what Entra ID's provisioning service sends during a cycle: a lookup by
//! `userName eq` (most requests), creates, and PATCHes. Prints requests and reads per second,
//! p50/p99 latency and the count of 5xx answers, then checks that every acknowledged write is
//! in the store; a lookup that does not answer exactly its one user counts as an error. Each
//! client is one keep-alive connection, as a provisioning worker holds; the load generator
//! shares the cores with the server, so it is kept lean. `SCIM_LOAD_SECONDS` (default 30),
//! `SCIM_LOAD_CLIENTS` (default 64), `SCIM_LOAD_USERS` (users created before the run, default
//! 2000) and `SCIM_LOAD_WRITE_PERCENT` (creates plus patches, default 30) change the shape.
//!
//! Run with `cargo bench -p provisiond --bench scim_load`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper_util::rt::TokioIo;
use provisiond::config;
use provisiond::http::{self, AppState};
use provisiond::saml::Providers;
use provisiond::scim::tokens;
use provisiond::store::Store;
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct ClientStats {
    latencies_us: Vec<u32>,
    /// Latencies of the lookups alone, and of the writes alone (both also in `latencies_us`).
    read_latencies_us: Vec<u32>,
    write_latencies_us: Vec<u32>,
    reads: u64,
    server_errors: u64,
    other_errors: u64,
    /// Users this client created: id -> userName.
    created: HashMap<String, String>,
    /// The last acknowledged displayName of each user this client patched.
    patched: HashMap<String, String>,
}

/// One SCIM client: a single keep-alive HTTP/1.1 connection, requests one at a time, as a
/// provisioning worker sends them. Kept lean (no pool, redirects or cookies) so the load
/// generator leaves the shared cores to the server; every response is still read in full.
struct Client {
    addr: SocketAddr,
    authorization: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    fn new(addr: SocketAddr, authorization: String) -> Self {
        Client {
            addr,
            authorization,
            sender: None,
        }
    }

    /// Sends a request to `/scim/v2/acme{path}`; answers the status and body, or status 0
    /// when the connection failed (it is reopened for the next request).
    async fn send(&mut self, method: &str, path: &str, body: Option<String>) -> (u16, Bytes) {
        if self.sender.as_ref().is_none_or(SendRequest::is_closed) {
            let Ok(stream) = tokio::net::TcpStream::connect(self.addr).await else {
                return (0, Bytes::new());
            };
            let _ = stream.set_nodelay(true);
            let Ok((sender, connection)) = handshake(TokioIo::new(stream)).await else {
                return (0, Bytes::new());
            };
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        let Some(sender) = self.sender.as_mut() else {
            return (0, Bytes::new());
        };
        if sender.ready().await.is_err() {
            self.sender = None;
            return (0, Bytes::new());
        }
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("/scim/v2/acme{path}"))
            .header("host", self.addr.to_string())
            .header("authorization", &self.authorization);
        if body.is_some() {
            request = request.header("content-type", "application/scim+json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(_) => {
                self.sender = None;
                return (0, Bytes::new());
            }
        };
        let status = response.status().as_u16();
        match response.into_body().collect().await {
            Ok(body) => (status, body.to_bytes()),
            Err(_) => {
                self.sender = None;
                (0, Bytes::new())
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn user_body(user_name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "externalId": user_name.split('@').next().unwrap_or_default(),
        "active": true,
        "name": { "givenName": "Load", "familyName": "Test" },
        "emails": [{ "value": user_name, "type": "work", "primary": true }],
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = env_number("SCIM_LOAD_SECONDS", 30);
    let clients = env_number("SCIM_LOAD_CLIENTS", 64);
    let preload = env_number("SCIM_LOAD_USERS", 2000);
    let write_percent = env_number("SCIM_LOAD_WRITE_PERCENT", 30).min(100);

    let dir = std::env::temp_dir().join(format!("provisiond-scim-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let listener = http::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let path = dir.join("provisiond.yaml");
    std::fs::write(
        &path,
        format!(
            "server:\n  listen: {addr}\n  base_url: http://{addr}\n  \
             session_key: \"load-session-key-0123456789abcdef\"\n\
             database:\n  url: sqlite://provisiond.db\n  max_connections: 8\n\
             connections:\n  - name: acme\n    domains: [acme.example]\n"
        ),
    )
    .unwrap();
    let config = Arc::new(config::load(&path).unwrap());
    let store = Store::open(&config.database).unwrap();
    let token = tokens::create_token(&store, "acme", "load", chrono::Utc::now())
        .unwrap()
        .token;
    // As `provisiond serve` does, so that no request pays for a WAL checkpoint.
    store.spawn_checkpoints();
    let providers = Providers::from_config(&config);
    let state = AppState::new(config, store.clone(), providers);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(state, listener, async {
        let _ = stop_rx.await;
    }));

    let auth = format!("Bearer {token}");

    // Users that exist before the run, so lookups hit a realistic table.
    let preload_started = Instant::now();
    let mut preloader = Client::new(addr, auth.clone());
    for i in 0..preload {
        let body = user_body(&format!("pre{i}@acme.example")).to_string();
        let (status, _) = preloader.send("POST", "/Users", Some(body)).await;
        assert_eq!(status, 201);
    }
    println!(
        "preloaded {preload} users in {:.1}s",
        preload_started.elapsed().as_secs_f64()
    );

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut client = Client::new(addr, auth.clone());
        tasks.push(tokio::spawn(async move {
            let mut stats = ClientStats::default();
            let mut n: u64 = 0;
            let mut own: Vec<String> = Vec::new();
            while Instant::now() < deadline {
                n += 1;
                let begin = Instant::now();
                let reads_before = stats.reads;
                // Lookups, then creates and patches of this client's own users in equal parts
                // (70/15/15 by default).
                let slot = (n * 37) % 100;
                let creates_from = 100 - write_percent;
                let patches_from = 100 - write_percent / 2;
                let status = if slot < creates_from || (slot >= patches_from && own.is_empty()) {
                    let target = (n * 7919 + c * 104_729) % preload.max(1);
                    let filter = format!("userName eq \"pre{target}@acme.example\"");
                    let query: String =
                        url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
                    stats.reads += 1;
                    let path = format!("/Users?filter={query}");
                    let (status, body) = client.send("GET", &path, None).await;
                    // A lookup answers the one user it names.
                    if status == 200 && !contains(&body, b"\"totalResults\":1") {
                        stats.other_errors += 1;
                    }
                    status
                } else if slot < patches_from {
                    let user_name = format!("load-{c}-{n}@acme.example");
                    let body = user_body(&user_name).to_string();
                    let (status, body) = client.send("POST", "/Users", Some(body)).await;
                    if status == 201 {
                        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        if let Some(id) = body["id"].as_str() {
                            stats.created.insert(id.to_string(), user_name);
                            own.push(id.to_string());
                        }
                    }
                    status
                } else {
                    let id = own[(n as usize) % own.len()].clone();
                    let display = format!("Patched {c}-{n}");
                    let body = json!({ "schemas": [PATCH], "Operations": [
                        { "op": "replace", "path": "displayName", "value": display }
                    ]});
                    let path = format!("/Users/{id}");
                    let (status, _) = client.send("PATCH", &path, Some(body.to_string())).await;
                    if status == 200 {
                        stats.patched.insert(id, display);
                    }
                    status
                };
                let elapsed = u32::try_from(begin.elapsed().as_micros()).unwrap_or(u32::MAX);
                stats.latencies_us.push(elapsed);
                if stats.reads > reads_before {
                    stats.read_latencies_us.push(elapsed);
                } else {
                    stats.write_latencies_us.push(elapsed);
                }
                match status {
                    500..=599 => stats.server_errors += 1,
                    200..=299 => {}
                    _ => stats.other_errors += 1,
                }
            }
            stats
        }));
    }

    let mut all = ClientStats::default();
    for task in tasks {
        let stats = task.await.unwrap();
        all.latencies_us.extend(stats.latencies_us);
        all.read_latencies_us.extend(stats.read_latencies_us);
        all.write_latencies_us.extend(stats.write_latencies_us);
        all.reads += stats.reads;
        all.server_errors += stats.server_errors;
        all.other_errors += stats.other_errors;
        all.created.extend(stats.created);
        all.patched.extend(stats.patched);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    all.read_latencies_us.sort_unstable();
    let quantile = |sorted: &[u32], q: f64| {
        let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        f64::from(sorted.get(i).copied().unwrap_or(0)) / 1000.0
    };
    let pick = |q: f64| quantile(&all.latencies_us, q);
    all.write_latencies_us.sort_unstable();
    let total = all.latencies_us.len() as f64;
    println!(
        "{clients} clients, {elapsed:.1}s: {total} requests, {:.0} req/s, {:.0} reads/s, \
         {:.0} writes/s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; 5xx {}, other errors {}",
        total / elapsed,
        all.reads as f64 / elapsed,
        (total - all.reads as f64) / elapsed,
        pick(0.50),
        pick(0.99),
        pick(1.0),
        all.server_errors,
        all.other_errors,
    );
    println!(
        "reads p99 {:.2} ms, writes p99 {:.2} ms",
        quantile(&all.read_latencies_us, 0.99),
        quantile(&all.write_latencies_us, 0.99),
    );

    // Every acknowledged write must be in the store.
    let mut missing = 0;
    store
        .read(|tx| {
            for (id, user_name) in &all.created {
                match tx.user(id)? {
                    Some(user) if user.user_name.as_deref() == Some(user_name.as_str()) => {}
                    _ => missing += 1,
                }
            }
            for (id, display) in &all.patched {
                match tx.user(id)? {
                    Some(user) if user.display_name.as_deref() == Some(display.as_str()) => {}
                    _ => missing += 1,
                }
            }
            Ok::<_, provisiond::store::StoreError>(())
        })
        .unwrap();
    println!(
        "acknowledged writes checked: {} creates, {} patched users; missing or stale: {missing}",
        all.created.len(),
        all.patched.len()
    );

    let _ = stop_tx.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    if missing > 0 || all.server_errors > 0 {
        std::process::exit(1);
    }
}
