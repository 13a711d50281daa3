//! Events reach the host application: the webhook receiver is down during a burst of changes
//! and every event still arrives once it is back, in order per user, none twice for a
//! receiver that deduplicates by event id; the polling API returns the same events.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warp::Filter;

use super::e2e::{ADMIN_TOKEN, client, post_form_from, start_stack_with};
use super::support::TempDir;

/// What the receiver saw: (event id, subject, cursor, signature header) in arrival order.
type Seen = Arc<Mutex<Vec<(String, String, i64, String)>>>;

async fn receiver(port: u16, seen: Seen) -> tokio::task::JoinHandle<()> {
    let route = warp::post()
        .and(warp::header::<String>("x-provisiond-signature"))
        .and(warp::body::json())
        .map(move |signature: String, event: serde_json::Value| {
            seen.lock().unwrap().push((
                event["id"].as_str().unwrap().to_string(),
                event["subject_id"].as_str().unwrap().to_string(),
                event["cursor"].as_i64().unwrap(),
                signature,
            ));
            warp::reply()
        });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_survive_a_receiver_outage_in_order_per_user() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("webhook");
    let extra = format!(
        "webhook:\n  url: http://127.0.0.1:{port}/hook\n  \
         secret: webhook-test-secret-0123456789\n  timeout_seconds: 2\n"
    );
    let (sim, daemon) = start_stack_with(&dir, true, &extra).await;
    let http = client();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));

    // The receiver is down: a burst of sign-ins (user.created, user.updated, login events).
    for round in 0..4 {
        for login in ["alice@acme.example", "bob@acme.example"] {
            let page = http.get(sim.idp_initiated_url(login)).send().await.unwrap();
            let acs = post_form_from(&http, &page.text().await.unwrap()).await;
            assert_eq!(
                acs.status(),
                reqwest::StatusCode::SEE_OTHER,
                "round {round}"
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(seen.lock().unwrap().is_empty());

    // The polling API has them all already.
    let polled: serde_json::Value = http
        .get(format!(
            "{}/api/v1/events?after=0&limit=1000",
            daemon.base_url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected: Vec<(String, String, i64)> = polled["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().into(),
                e["subject_id"].as_str().unwrap().into(),
                e["cursor"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(expected.len() >= 10, "{polled}");
    let unauthorized = http
        .get(format!("{}/api/v1/events", daemon.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), reqwest::StatusCode::UNAUTHORIZED);

    // The receiver comes back: everything arrives.
    let server = receiver(port, seen.clone()).await;
    for _ in 0..200 {
        let ids: HashSet<String> = seen.lock().unwrap().iter().map(|s| s.0.clone()).collect();
        if ids.len() >= expected.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arrived = seen.lock().unwrap().clone();
    let mut unique = Vec::new();
    let mut ids = HashSet::new();
    for (id, subject, cursor, signature) in &arrived {
        assert!(signature.starts_with("v1="), "{signature}");
        if ids.insert(id.clone()) {
            unique.push((id.clone(), subject.clone(), *cursor));
        }
    }
    assert_eq!(unique.len(), expected.len(), "every event arrives");
    let expected_ids: HashSet<String> = expected.iter().map(|e| e.0.clone()).collect();
    assert_eq!(ids, expected_ids);

    // In order per user: each subject's events arrive in outbox order.
    let mut per_subject: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (_, subject, cursor) in &unique {
        per_subject
            .entry(subject.clone())
            .or_default()
            .push(*cursor);
    }
    for (subject, cursors) in per_subject {
        let mut sorted = cursors.clone();
        sorted.sort();
        assert_eq!(cursors, sorted, "events of {subject} out of order");
    }

    server.abort();
    sim.stop().await;
}
