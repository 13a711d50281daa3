//! Telling the host application about changes: webhook delivery from the outbox.
//!
//! Every change is an outbox row written in the change's own transaction (see
//! `store::EventKind`). The webhook worker posts them one at a time, oldest first, and moves
//! its cursor only after a 2xx answer, so delivery is at least once and in outbox order (hence
//! in order per user); a receiver deduplicates by the event `id`. Failures are retried with
//! exponential backoff. With several replicas a lease lets one of them deliver at a time.
//!
//! Each POST carries `X-Provisiond-Event-Id`, `X-Provisiond-Timestamp` (unix seconds) and
//! `X-Provisiond-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.

use std::time::Duration;

use crate::config::{Secret, WebhookConfig};
use crate::store::{EventRow, Store, StoreError};

/// The delivery cursor and lease name of the webhook.
const CONSUMER: &str = "webhook";
/// How long a replica holds the delivery lease without renewing it, beyond the timeout of the
/// POST it is making.
const LEASE: Duration = Duration::from_secs(30);

/// The signature header value for a body sent at `timestamp`.
pub fn signature(secret: &Secret, timestamp: i64, body: &str) -> String {
    let mac = secret.mac(&[format!("{timestamp}.").as_bytes(), body.as_bytes()]);
    format!("v1={}", hex::encode(mac))
}

/// Runs the webhook worker until the process ends.
pub async fn run_webhook(store: Store, config: WebhookConfig, holder: String) {
    let client = match webhook_client(&config) {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "cannot build the webhook HTTP client; no deliveries");
            return;
        }
    };
    let mut backoff = Duration::from_millis(500);
    loop {
        match deliver_batch(&store, &client, &config, &holder).await {
            Ok(0) => {
                backoff = Duration::from_millis(500);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Ok(_) => backoff = Duration::from_millis(500),
            Err(err) => {
                tracing::warn!(error = %err, retry_in = ?backoff, "webhook delivery failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// The HTTP client of deliveries. It follows no redirect: a redirected POST is sent again as
/// a GET without its body, and a 2xx answer to that would mark an event delivered that no
/// receiver took (an `http` URL redirected to `https` is the usual case). A 3xx is a failed
/// delivery, logged with its status, so the URL gets fixed.
fn webhook_client(config: &WebhookConfig) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Why a delivery attempt failed; the event stays first in line.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The receiver could not be reached.
    #[error("webhook receiver unreachable: {0}")]
    Unreachable(String),
    /// The receiver took the request but did not answer in time.
    #[error("webhook receiver did not answer in time: {0}")]
    TimedOut(String),
    /// The receiver answered with a non-2xx status.
    #[error("webhook receiver answered {0}")]
    Status(u16),
}

/// Delivers pending events in order; returns how many went out.
async fn deliver_batch(
    store: &Store,
    client: &reqwest::Client,
    config: &WebhookConfig,
    holder: &str,
) -> Result<usize, DeliveryError> {
    let hold_for = lease_for(config);
    let holder_owned = holder.to_string();
    let (held, events) = store
        .run(move |store| {
            let held = store.write(|tx| tx.take_lease(CONSUMER, &holder_owned, hold_for))?;
            if !held {
                return Ok::<_, StoreError>((false, Vec::new()));
            }
            let events = store.read(|tx| {
                let cursor = tx.delivery_cursor(CONSUMER)?;
                let pending = tx.events_pending(cursor)?;
                crate::metrics::metrics().webhook_backlog.set(pending);
                tx.events_after(cursor, 100)
            })?;
            Ok((true, events))
        })
        .await?;
    if !held {
        tokio::time::sleep(Duration::from_secs(1)).await;
        return Ok(0);
    }

    // Each POST may take the whole timeout: the lease is renewed with every step of the
    // cursor, for long enough to cover the next one, so no other replica delivers the same
    // events beside this one. A replica that finds the lease gone stops there, also when
    // another replica took it and has given it up since: what this one read is stale.
    let mut delivered = 0;
    for event in events {
        post(client, config, &event).await?;
        let id = event.id;
        let holder = holder.to_string();
        let held = store
            .run(move |store| {
                store.write(|tx| {
                    tx.advance_delivery_cursor(CONSUMER, id, chrono::Utc::now().naive_utc())?;
                    tx.renew_lease(CONSUMER, &holder, hold_for)
                })
            })
            .await?;
        crate::metrics::metrics().webhook_backlog.dec();
        delivered += 1;
        if !held {
            tracing::info!("webhook delivery lease taken over by another replica");
            break;
        }
    }
    Ok(delivered)
}

/// How long a replica holds the delivery lease from its last step: long enough for the next
/// POST to run to its timeout.
fn lease_for(config: &WebhookConfig) -> Duration {
    LEASE + config.timeout
}

async fn post(
    client: &reqwest::Client,
    config: &WebhookConfig,
    event: &EventRow,
) -> Result<(), DeliveryError> {
    let body = event.to_json().to_string();
    let timestamp = chrono::Utc::now().timestamp();
    let response = client
        .post(config.url.clone())
        .header("content-type", "application/json")
        .header("x-provisiond-event-id", &event.event_id)
        .header("x-provisiond-timestamp", timestamp.to_string())
        .header(
            "x-provisiond-signature",
            signature(&config.secret, timestamp, &body),
        )
        .body(body)
        .send()
        .await
        .map_err(|err| {
            let timed_out = err.is_timeout();
            let cause = err.without_url().to_string();
            if timed_out {
                DeliveryError::TimedOut(cause)
            } else {
                DeliveryError::Unreachable(cause)
            }
        })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status(response.status().as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One event, as the outbox hands it to a delivery.
    fn an_event() -> EventRow {
        EventRow {
            id: 1,
            event_id: "e1".into(),
            kind: "user.created".into(),
            connection: "acme".into(),
            subject_id: "u1".into(),
            data: "{}".into(),
            created_at: chrono::Utc::now().naive_utc(),
        }
    }

    /// A receiver that takes the connection and never answers timed out; a port nobody
    /// listens on is unreachable. Each is told as what it is.
    #[tokio::test]
    async fn a_silent_receiver_is_told_apart_from_an_unreachable_one() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_port = silent.local_addr().unwrap().port();
        let holding = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = silent.accept().await {
                held.push(stream);
            }
        });
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);

        let event = an_event();
        let timeout = Duration::from_millis(300);
        let client = reqwest::Client::builder().timeout(timeout).build().unwrap();
        let config = |port: u16| WebhookConfig {
            url: format!("http://127.0.0.1:{port}/hook").parse().unwrap(),
            secret: Secret::new("webhook-test-secret-0123456789"),
            timeout,
        };
        let silent_outcome = post(&client, &config(silent_port), &event).await;
        assert!(
            matches!(silent_outcome, Err(DeliveryError::TimedOut(_))),
            "{silent_outcome:?}"
        );
        let closed_outcome = post(&client, &config(closed_port), &event).await;
        assert!(
            matches!(closed_outcome, Err(DeliveryError::Unreachable(_))),
            "{closed_outcome:?}"
        );
        holding.abort();
    }

    /// A replica renews the delivery lease with each event it delivers, for long enough to
    /// cover the next POST, and stops once another replica has taken the lease over: two
    /// replicas never post the same events side by side, out of order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_delivering_replica_keeps_its_lease_and_stops_once_it_is_taken_over() {
        use crate::store::EventKind;
        use warp::Filter;

        let store = crate::store::tests::memory_store();
        let now = chrono::Utc::now().naive_utc();
        store
            .write(|tx| {
                for user in ["u1", "u2", "u3"] {
                    tx.record_event(EventKind::UserCreated, "acme", user, &user, now)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();

        // The receiver plays the clock and the other replica: after the first event most of
        // the lease has passed; after the second, another replica takes the lease over.
        let seen: std::sync::Arc<std::sync::Mutex<Vec<(i64, chrono::NaiveDateTime)>>> =
            std::sync::Arc::default();
        let (receiver_store, receiver_seen) = (store.clone(), seen.clone());
        let route = warp::post()
            .and(warp::body::json())
            .map(move |event: serde_json::Value| {
                let lease = receiver_store.read(|tx| tx.lease_holder(CONSUMER)).unwrap();
                let mut seen = receiver_seen.lock().unwrap();
                seen.push((event["cursor"].as_i64().unwrap(), lease.unwrap().1));
                let now = chrono::Utc::now().naive_utc();
                let (holder, from) = match seen.len() {
                    1 => ("a", now),
                    _ => ("b", now + chrono::Duration::hours(1)),
                };
                receiver_store
                    .write(|tx| {
                        tx.acquire_lease(
                            CONSUMER,
                            holder,
                            from,
                            from + chrono::Duration::seconds(1),
                        )?;
                        // The other replica is done and gives the lease up: it has gone all
                        // the same for the first, whose events are stale.
                        tx.release_leases_of("b")
                    })
                    .unwrap();
                warp::reply()
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let serving = tokio::spawn(warp::serve(route).incoming(listener).run());
        let timeout = Duration::from_secs(5);
        let config = WebhookConfig {
            url: format!("http://127.0.0.1:{port}/hook").parse().unwrap(),
            secret: Secret::new("webhook-test-secret-0123456789"),
            timeout,
        };
        let client = reqwest::Client::builder().timeout(timeout).build().unwrap();

        let delivered = deliver_batch(&store, &client, &config, "a").await.unwrap();

        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            delivered, 2,
            "stopped once the lease was taken over: {seen:?}"
        );
        assert_eq!(
            seen.iter().map(|(cursor, _)| *cursor).collect::<Vec<_>>(),
            [1, 2]
        );
        let renewed_until = seen[1].1 - chrono::Utc::now().naive_utc();
        assert!(
            renewed_until > chrono::Duration::from_std(timeout).unwrap(),
            "the lease covers the next POST: {renewed_until}"
        );
        serving.abort();
    }

    /// A receiver that redirects did not take the event: the redirect is not followed (it
    /// would turn the POST into a GET without the event), and the delivery fails.
    #[tokio::test]
    async fn a_redirecting_receiver_has_not_taken_the_event() {
        use warp::Filter;

        let redirect = warp::post()
            .and(warp::path("hook"))
            .map(|| warp::redirect::found(warp::http::Uri::from_static("/landing")));
        let landing = warp::get()
            .and(warp::path("landing"))
            .map(|| "a page, not a receiver");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let serving = tokio::spawn(warp::serve(redirect.or(landing)).incoming(listener).run());
        let config = WebhookConfig {
            url: format!("http://127.0.0.1:{port}/hook").parse().unwrap(),
            secret: Secret::new("webhook-test-secret-0123456789"),
            timeout: Duration::from_secs(5),
        };
        let event = an_event();

        let outcome = post(&webhook_client(&config).unwrap(), &config, &event).await;

        assert!(
            matches!(outcome, Err(DeliveryError::Status(302))),
            "{outcome:?}"
        );
        serving.abort();
    }

    #[test]
    fn signature_covers_timestamp_and_body() {
        let secret = Secret::new("webhook-secret-0123456789");
        let a = signature(&secret, 1_700_000_000, "{}");
        assert!(a.starts_with("v1=") && a.len() == 3 + 64);
        assert_ne!(a, signature(&secret, 1_700_000_001, "{}"));
        assert_ne!(a, signature(&secret, 1_700_000_000, "{ }"));
        assert_ne!(
            a,
            signature(&Secret::new("other-secret-0123456789"), 1_700_000_000, "{}")
        );
    }
}
