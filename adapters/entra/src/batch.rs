//! Microsoft Graph JSON batching (`POST /v1.0/$batch`): many GETs of paged lists in few
//! requests.
//!
//! Each list starts as one sub-request; up to [`MAX_BATCH`] go in one batch (Graph's limit).
//! A sub-response carries its own status: a page (2xx) goes to the caller and its
//! `@odata.nextLink` becomes a new sub-request of a later batch; a throttled or failed one
//! (429, 5xx) is sent again in the next batch, after its `Retry-After` (or an exponential
//! backoff), while the sub-requests that succeeded are not repeated. Any other status fails
//! the listing with the mapped Graph error. Graph answers in any order: sub-responses are
//! matched by `id`. The batch request itself is retried by the host like any request.

use std::collections::{HashMap, VecDeque};

use provisiond_plugin_api::AdapterError;
use serde_json::{Value, json};

use crate::graph::{GraphClient, LinkTrail, next_link};

/// Most sub-requests in one batch (Graph's limit).
pub const MAX_BATCH: usize = 20;
/// Attempts per sub-request, the first included, before the listing fails.
const MAX_ATTEMPTS: u32 = 6;
/// Wait before the first retry of a sub-request without `Retry-After`; doubles each retry.
const INITIAL_BACKOFF_MILLIS: u64 = 500;
/// Upper bound of one computed backoff (a `Retry-After` is honoured as given).
const MAX_BACKOFF_MILLIS: u64 = 30_000;

/// A list to read, named by the caller's key.
struct Pending<K> {
    key: K,
    /// Relative to the Graph base URL, with its leading slash.
    url: String,
    /// Failed attempts so far.
    failures: u32,
}

/// Reads every page of the lists at `urls` (absolute, under the Graph base URL), calling
/// `on_page` with the key and each page's body, in no particular order across lists but in
/// page order within one list. An error from `on_page`, or a next link returned twice, fails
/// the whole read.
pub fn get_pages<K: Clone>(
    client: &mut GraphClient,
    urls: Vec<(K, String)>,
    what: &str,
    mut on_page: impl FnMut(&K, &Value) -> Result<(), AdapterError>,
) -> Result<(), AdapterError> {
    let mut queue: VecDeque<Pending<K>> = VecDeque::with_capacity(urls.len());
    for (key, url) in urls {
        let url = relative(client, &url, what)?;
        queue.push_back(Pending {
            key,
            url,
            failures: 0,
        });
    }
    let endpoint = format!("{}/$batch", client.config().graph_base_url);

    let mut trail = LinkTrail::default();
    let mut delay_millis = 0;
    while !queue.is_empty() {
        let take = queue.len().min(MAX_BATCH);
        let batch: Vec<Pending<K>> = queue.drain(..take).collect();
        let requests: Vec<Value> = batch
            .iter()
            .enumerate()
            .map(|(index, pending)| {
                json!({
                    "id": index.to_string(),
                    "method": "GET",
                    "url": pending.url,
                    "headers": {"Prefer": "odata.maxpagesize=999"},
                })
            })
            .collect();
        let answer = client.post_json(
            &endpoint,
            &json!({ "requests": requests }),
            what,
            delay_millis,
        )?;
        delay_millis = 0;

        let mut responses = sub_responses(&answer);
        for (index, mut pending) in batch.into_iter().enumerate() {
            let Some(response) = responses.remove(index.to_string().as_str()) else {
                return Err(AdapterError::remote(
                    None,
                    format!("{what}: the batch response has no answer for request {index}"),
                ));
            };
            let status = response
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|status| u16::try_from(status).ok())
                .unwrap_or(0);
            let body = response.get("body").unwrap_or(&Value::Null);

            if (200..300).contains(&status) {
                on_page(&pending.key, body)?;
                if let Some(next) = next_link(body) {
                    trail.follow(&next, what)?;
                    queue.push_back(Pending {
                        key: pending.key,
                        url: relative(client, &next, what)?,
                        failures: 0,
                    });
                }
                continue;
            }
            if !is_retryable(status) {
                return Err(client.graph_error(status, body, what));
            }

            pending.failures += 1;
            if pending.failures >= MAX_ATTEMPTS {
                return Err(AdapterError::remote(
                    Some(status),
                    format!("{what}: a batched request still failed after {MAX_ATTEMPTS} attempts"),
                ));
            }
            let wait = retry_after_millis(response).unwrap_or_else(|| backoff(pending.failures));
            delay_millis = delay_millis.max(wait);
            client.host().debug(&format!(
                "{what}: a batched request answered {status}; retrying it in {wait} ms"
            ));
            queue.push_front(pending);
        }
    }
    Ok(())
}

/// The batch's sub-responses by id.
fn sub_responses(answer: &Value) -> HashMap<&str, &Value> {
    answer
        .get("responses")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|response| Some((response.get("id")?.as_str()?, response)))
        .collect()
}

fn relative(client: &GraphClient, url: &str, what: &str) -> Result<String, AdapterError> {
    client
        .relative_url(url)
        .map(str::to_owned)
        .ok_or_else(|| AdapterError::InvalidCursor {
            message: format!("link for {what} is not under the configured graph_base_url"),
        })
}

/// 429 and every 5xx but 501, as the host retries top-level requests.
fn is_retryable(status: u16) -> bool {
    status == 429 || ((500..600).contains(&status) && status != 501)
}

/// A sub-response's `Retry-After` in delay-seconds (Graph's form), in milliseconds.
fn retry_after_millis(response: &Value) -> Option<u64> {
    let headers = response.get("headers")?.as_object()?;
    let (_, value) = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))?;
    let seconds = match value {
        Value::String(text) => text.trim().parse::<u64>().ok()?,
        other => other.as_u64()?,
    };
    Some(seconds.saturating_mul(1000))
}

fn backoff(failures: u32) -> u64 {
    let factor = 2u64.saturating_pow(failures.saturating_sub(1));
    INITIAL_BACKOFF_MILLIS
        .saturating_mul(factor)
        .min(MAX_BACKOFF_MILLIS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_from_sub_response_headers_in_any_case() {
        let response = json!({"headers": {"Retry-After": "7"}});
        assert_eq!(retry_after_millis(&response), Some(7_000));
        let response = json!({"headers": {"retry-after": 2}});
        assert_eq!(retry_after_millis(&response), Some(2_000));
        assert_eq!(retry_after_millis(&json!({"headers": {}})), None);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(backoff(1), 500);
        assert_eq!(backoff(2), 1_000);
        assert_eq!(backoff(20), MAX_BACKOFF_MILLIS);
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        assert!(is_retryable(429));
        assert!(is_retryable(503));
        assert!(!is_retryable(501));
        assert!(!is_retryable(404));
        assert!(!is_retryable(400));
    }
}
