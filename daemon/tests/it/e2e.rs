//! The whole flow over real HTTP: the `provisiond` binary, the IdP simulator, a browser-like
//! client. `/sso` -> login -> simulator -> signed response -> ACS -> session -> `/me`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use idp_sim::{IdpKeys, RunningSimulator, Simulator, Tenant};
use provisiond::config::{self};
use provisiond::store::Store;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use super::support::{TempDir, tenant_yaml};

/// A running `provisiond serve`, killed (by its own pid) on drop.
pub struct Daemon {
    child: Child,
    pub base_url: String,
    pub config_path: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789abcdef";
const SESSION_KEY: &str = "e2e-session-key-0123456789abcdef";

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn provisiond(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_provisiond"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("PROVISIOND_TEST_SESSION_KEY", SESSION_KEY)
        .output()
        .unwrap()
}

pub async fn start_stack(dir: &TempDir, allow_idp_initiated: bool) -> (RunningSimulator, Daemon) {
    start_stack_with(dir, allow_idp_initiated, "").await
}

/// Starts the simulator and a daemon whose config ends with `extra` (top-level YAML keys).
pub async fn start_stack_with(
    dir: &TempDir,
    allow_idp_initiated: bool,
    extra: &str,
) -> (RunningSimulator, Daemon) {
    let port = free_port();
    let base_url = format!("http://127.0.0.1:{port}");
    let tenant = Tenant::from_yaml(&tenant_yaml(&base_url, 2)).unwrap();
    let simulator = Simulator::new(tenant, IdpKeys::generate(2).unwrap()).unwrap();
    let sim = idp_sim::start(simulator, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();

    let config_path = dir.0.join("provisiond.yaml");
    std::fs::write(
        &config_path,
        format!(
            r#"
server:
  listen: 127.0.0.1:{port}
  base_url: {base_url}
  session_key: ${{PROVISIOND_TEST_SESSION_KEY}}
  admin_token: {ADMIN_TOKEN}
database:
  url: "{database}"
connections:
  - name: acme
    domains: [acme.example]
    saml:
      metadata_url: {metadata}
      allow_idp_initiated: {allow_idp_initiated}
{extra}
"#,
            metadata = sim.metadata_url(),
            database = provisiond::testing::fresh_database_url(&dir.0),
        ),
    )
    .unwrap();

    let daemon = spawn_daemon(
        &config_path,
        &base_url,
        &base_url,
        &dir.0.join("provisiond.log"),
    )
    .await;
    (sim, daemon)
}

/// Starts `provisiond serve` with a config file, waits until `probe_url` answers /healthz.
pub async fn spawn_daemon(
    config_path: &std::path::Path,
    base_url: &str,
    probe_url: &str,
    log_path: &std::path::Path,
) -> Daemon {
    let log = std::fs::File::create(log_path).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_provisiond"))
        .arg("--config")
        .arg(config_path)
        .arg("serve")
        .env("PROVISIOND_TEST_SESSION_KEY", SESSION_KEY)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let daemon = Daemon {
        child,
        base_url: base_url.to_string(),
        config_path: config_path.to_path_buf(),
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{probe_url}/healthz")).send().await
            && response.status() == StatusCode::OK
        {
            return daemon;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    panic!("provisiond did not become healthy; its log:\n{log}");
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .expect("Location header")
        .to_str()
        .unwrap()
        .to_string()
}

/// Follows the simulator's auto-submitting form to the ACS, like a browser would.
pub async fn post_form_from(client: &reqwest::Client, page: &str) -> reqwest::Response {
    let (action, fields) = idp_sim::parse_auto_post_form(page).expect("auto-submitting form");
    client.post(action).form(&fields).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sp_initiated_login_creates_the_account_and_a_session() {
    let dir = TempDir::new("e2e-sp");
    let (sim, daemon) = start_stack(&dir, false).await;
    let http = client();
    let base = &daemon.base_url;

    let page = http.get(format!("{base}/sso")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Sign in with SSO"));

    let unknown = http
        .post(format!("{base}/sso"))
        .form(&[("email", "someone@unknown.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("No single sign-on is set up for unknown.example")
    );

    let dotted = http
        .post(format!("{base}/sso"))
        .form(&[("email", "alice@acme.example.")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        dotted.status(),
        StatusCode::SEE_OTHER,
        "a trailing dot names the same domain"
    );
    // Only one: `acme.example..` has an empty label and is no domain at all.
    let dotted_twice = http
        .post(format!("{base}/sso"))
        .form(&[("email", "alice@acme.example..")])
        .send()
        .await
        .unwrap();
    assert_eq!(dotted_twice.status(), StatusCode::NOT_FOUND);

    let routed = http
        .post(format!("{base}/sso"))
        .form(&[("email", "Alice@Acme.example"), ("relay_state", "/welcome")])
        .send()
        .await
        .unwrap();
    assert_eq!(routed.status(), StatusCode::SEE_OTHER);
    let login = http
        .get(format!("{base}{}", location(&routed)))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let to_idp = location(&login);
    assert!(to_idp.starts_with(&sim.sso_url()), "{to_idp}");
    assert!(
        to_idp.contains("login_hint=Alice%40Acme.example"),
        "{to_idp}"
    );

    let idp_page = http.get(&to_idp).send().await.unwrap();
    assert_eq!(idp_page.status(), StatusCode::OK);
    let acs = post_form_from(&http, &idp_page.text().await.unwrap()).await;
    assert_eq!(
        acs.status(),
        StatusCode::SEE_OTHER,
        "{}",
        acs.text().await.unwrap()
    );
    assert_eq!(location(&acs), "/welcome");
    let cookie = acs
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain-http base URL must not set Secure"
    );
    let session = cookie.split(';').next().unwrap().to_string();

    let me = http
        .get(format!("{base}/me"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["email"], "alice@acme.example");
    assert_eq!(me["given_name"], "Alice");
    assert_eq!(me["external_id"], "5e7c1b9a-2f3d-4c5b-8a6e-7d8f9a0b1c2d");
    assert_eq!(
        http.get(format!("{base}/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // CLI commands exit cleanly, every time (on PostgreSQL an exit-time OpenSSL cleanup once
    // crashed some of them).
    for _ in 0..15 {
        let out = provisiond(&daemon.config_path, &["users", "list"]);
        assert!(
            out.status.success(),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The stored user, through the CLI, and the audit row, through the store.
    let listed = provisiond(&daemon.config_path, &["users", "list", "--json"]);
    assert!(
        listed.status.success(),
        "{:?}: {}",
        listed.status,
        String::from_utf8_lossy(&listed.stderr)
    );
    let users: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["email"], "alice@acme.example");
    assert_eq!(users[0]["source"], "saml");
    assert_eq!(users[0]["active"], true);
    // SAFETY: this test binary sets this variable only here, always to the same value.
    unsafe { std::env::set_var("PROVISIOND_TEST_SESSION_KEY", SESSION_KEY) };
    let config = config::load(&daemon.config_path).unwrap();
    let store = Store::open(&config.database).unwrap();
    let audit = store.read(|tx| tx.login_audit(Some("acme"), 10)).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].outcome.as_str(), audit[0].reason.as_str()),
        ("success", "created")
    );
    assert_eq!(
        audit[0].user_id.as_deref(),
        Some(me["id"].as_str().unwrap())
    );

    // IdP-initiated login is refused on this connection, with a readable page.
    let idp_initiated = http
        .get(sim.idp_initiated_url("bob@acme.example"))
        .send()
        .await
        .unwrap();
    let refused = post_form_from(&http, &idp_initiated.text().await.unwrap()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("Sign-in refused") && text.contains("idp_initiated"),
        "{text}"
    );
    let audit = store.read(|tx| tx.login_audit(Some("acme"), 1)).unwrap();
    assert_eq!(
        (audit[0].outcome.as_str(), audit[0].reason.as_str()),
        ("refused", "idp_initiated")
    );

    // A SCIM request, with a token made by the CLI, moves the SCIM counter.
    let created = provisiond(&daemon.config_path, &["scim-token", "create", "acme"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let stdout = String::from_utf8_lossy(&created.stdout).to_string();
    let token = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Secret Token:"))
        .expect("token line")
        .trim()
        .to_string();
    let users = http
        .get(format!("{base}/scim/v2/acme/Users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::OK);

    // The counters moved, and the daemon reports itself ready.
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "provisiond_logins_total{outcome=\"success\",reason=\"created\"} 1",
        "provisiond_logins_total{outcome=\"refused\",reason=\"idp_initiated\"} 1",
        "provisiond_scim_requests_total{method=\"GET\",status=\"200\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    // Logout ends the session.
    let out = http
        .post(format!("{base}/logout"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let me = http
        .get(format!("{base}/me"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_initiated_login_works_where_the_connection_allows_it() {
    let dir = TempDir::new("e2e-idp");
    let (sim, daemon) = start_stack(&dir, true).await;
    let http = client();

    let idp_initiated = http
        .get(sim.idp_initiated_url("bob@acme.example"))
        .send()
        .await
        .unwrap();
    let acs = post_form_from(&http, &idp_initiated.text().await.unwrap()).await;
    assert_eq!(
        acs.status(),
        StatusCode::SEE_OTHER,
        "{}",
        acs.text().await.unwrap()
    );
    let session = acs
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let me: serde_json::Value = http
        .get(format!("{}/me", daemon.base_url))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "bob@acme.example");
    assert_eq!(me["family_name"], "Jones");

    let shown = provisiond(&daemon.config_path, &["connection", "show", "acme"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains(&format!(
            "Tenant URL:             {}/scim/v2/acme",
            daemon.base_url
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Reply URL (ACS URL):    {}/saml/acme/acs",
            daemon.base_url
        )),
        "{text}"
    );
    assert!(
        text.contains("Signing certificate 2"),
        "both rollover certificates are listed: {text}"
    );
    sim.stop().await;
}

#[test]
fn check_config_lists_every_problem_and_exits_non_zero() {
    let dir = TempDir::new("check");
    let path = dir.0.join("broken.yaml");
    std::fs::write(
        &path,
        "server:\n  listen: nowhere\n  session_key: short\nconnections:\n  \
         - name: Acme Corp\n    domains: [acme]\n    saml: { metadata_file: absent.xml }\n",
    )
    .unwrap();
    let out = provisiond(&path, &["check-config"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "server.listen",
        "server.session_key",
        "connections[0].name",
        "connections[0].domains[0]",
        "connections[0].saml.metadata_file",
    ] {
        assert!(err.contains(key), "{key} missing from:\n{err}");
    }
    assert!(
        !err.contains("short\n"),
        "the secret's value must not be echoed:\n{err}"
    );
}
