//! Two daemons on one database behave as one service: a login started on one replica
//! completes on the other (request state, replay cache and sessions live in the database).
//! On PostgreSQL (the PostgreSQL pass of the suite); on SQLite the second daemon is refused.

use std::net::SocketAddr;

use idp_sim::{IdpKeys, Simulator, Tenant};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use super::e2e::{client, free_port, post_form_from, spawn_daemon};
use super::support::{TempDir, tenant_yaml};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_started_on_one_replica_completes_on_the_other() {
    let dir = TempDir::new("replicas");
    let (port_a, port_b) = (free_port(), free_port());
    // Both replicas sit behind one public URL; here that is replica A's address.
    let public = format!("http://127.0.0.1:{port_a}");
    let tenant = Tenant::from_yaml(&tenant_yaml(&public, 1)).unwrap();
    let simulator = Simulator::new(tenant, IdpKeys::generate(1).unwrap()).unwrap();
    let sim = idp_sim::start(simulator, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let database = provisiond::testing::fresh_database_url(&dir.0);

    let mut daemons = Vec::new();
    for (name, port) in [("a", port_a), ("b", port_b)] {
        let path = dir.0.join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "server:\n  listen: 127.0.0.1:{port}\n  base_url: {public}\n  \
                 session_key: ${{PROVISIOND_TEST_SESSION_KEY}}\n\
                 database:\n  url: \"{database}\"\n\
                 connections:\n  - name: acme\n    domains: [acme.example]\n    saml:\n      \
                 metadata_url: {}\n",
                sim.metadata_url()
            ),
        )
        .unwrap();
        if name == "b" && database.starts_with("sqlite:") {
            let second = std::process::Command::new(env!("CARGO_BIN_EXE_provisiond"))
                .arg("--config")
                .arg(&path)
                .arg("serve")
                .env(
                    "PROVISIOND_TEST_SESSION_KEY",
                    "replica-test-session-key-0123456789",
                )
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&second.stderr);
            assert!(!second.status.success(), "{said}");
            assert!(said.contains("another provisiond"), "{said}");
            assert!(said.contains("PostgreSQL"), "{said}");
            drop(daemons);
            sim.stop().await;
            return;
        }
        let probe = format!("http://127.0.0.1:{port}");
        daemons
            .push(spawn_daemon(&path, &public, &probe, &dir.0.join(format!("{name}.log"))).await);
    }
    let replica_b = format!("http://127.0.0.1:{port_b}");
    let http = client();

    // Start on A...
    let login = http
        .get(format!(
            "{public}/saml/acme/login?login_hint=alice@acme.example"
        ))
        .send()
        .await
        .unwrap();
    let to_idp = login.headers()[LOCATION].to_str().unwrap().to_string();
    let page = http
        .get(&to_idp)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    // ...the load balancer sends the ACS POST to B.
    let (action, fields) = idp_sim::parse_auto_post_form(&page).unwrap();
    let on_b = action.replace(&public, &replica_b);
    let acs = http.post(on_b).form(&fields).send().await.unwrap();
    assert_eq!(acs.status(), 303, "{}", acs.text().await.unwrap());
    let session = acs.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    // The session works on both replicas.
    for base in [&public, &replica_b] {
        let me: serde_json::Value = http
            .get(format!("{base}/me"))
            .header(COOKIE, &session)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["email"], "alice@acme.example", "on {base}");
    }

    // Replaying the same response at A is refused: B remembered the assertion (and used up
    // the request) in the database both share.
    let replay = post_form_from(&http, &page).await;
    assert_eq!(replay.status(), 403);
    assert!(replay.text().await.unwrap().contains("replay"));

    drop(daemons);
    sim.stop().await;
}
