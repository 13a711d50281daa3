//! The HTTP service adapters call: one shared blocking client with timeouts, and retries with
//! exponential backoff on 429, 5xx and connection failures, honouring `Retry-After`.
//!
//! The client is `reqwest::blocking`: build it, use it and drop it outside async worker threads
//! (inside `tokio::task::spawn_blocking`, or before the runtime starts), as reqwest requires.
//! Requests and responses are never logged with their headers or bodies: they carry tokens and
//! client secrets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use provisiond_plugin_api::{HttpRequest, HttpResponse};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use super::PluginError;
use super::clock::Clock;

/// Timeouts and retry budget for adapter HTTP calls.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, from sending to the end of the body.
    pub request_timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry when the server gives no `Retry-After`; doubles each retry.
    pub initial_backoff: Duration,
    /// Upper bound of one computed backoff (a server's `Retry-After` is honoured as given).
    pub max_backoff: Duration,
    /// Upper bound of all waits for one request; when the next wait would exceed it, the last
    /// response (or error) is returned instead.
    pub max_total_wait: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_attempts: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(120),
        }
    }
}

/// A cheaply clonable HTTP client shared by all adapter instances.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::blocking::Client,
    settings: HttpSettings,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the client (rustls). Waits use `clock`, so tests with a manual clock never sleep.
    pub fn new(settings: HttpSettings, clock: Arc<dyn Clock>) -> Result<Self, PluginError> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("provisiond/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(PluginError::HttpClient)?;
        Ok(Self {
            client,
            settings,
            clock,
        })
    }

    /// The clock used for waits.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Sends `request`, retrying as configured. `Ok` carries the final response whatever its
    /// status; `Err` means no response arrived, with a message naming the method and the URL
    /// without its query string.
    pub fn send(&self, adapter: &str, request: &HttpRequest) -> Result<HttpResponse, String> {
        let prepared = self.prepare(request)?;
        let target = redacted_target(&prepared.url);
        let mut waited = Duration::ZERO;

        // A wait the adapter asks for (a Retry-After it found inside a response body) counts
        // against the same budget as the waits between attempts.
        if let Some(millis) = request.delay_millis {
            let delay = Duration::from_millis(millis).min(self.settings.max_total_wait);
            tracing::debug!(
                adapter,
                method = %prepared.method,
                url = %target,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "waiting before an adapter HTTP request, as the adapter asked"
            );
            self.clock.sleep(delay);
            waited += delay;
        }

        for attempt in 1..=self.settings.max_attempts.max(1) {
            let outcome = self.attempt(&prepared);
            let delay = match &outcome {
                Ok(response) if is_retryable_status(response.status) => {
                    let retry_after = retry_after(&response.headers, self.clock.now_unix_millis());
                    retry_after.unwrap_or_else(|| self.backoff(attempt))
                }
                Err(err) if err.retryable => self.backoff(attempt),
                _ => return outcome.map_err(|err| err.message),
            };

            let last_attempt = attempt >= self.settings.max_attempts;
            if last_attempt || waited + delay > self.settings.max_total_wait {
                tracing::warn!(
                    adapter,
                    method = %prepared.method,
                    url = %target,
                    attempts = attempt,
                    "giving up retrying an adapter HTTP request"
                );
                return outcome.map_err(|err| err.message);
            }

            tracing::debug!(
                adapter,
                method = %prepared.method,
                url = %target,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                outcome = %describe_outcome(&outcome),
                "retrying adapter HTTP request"
            );
            self.clock.sleep(delay);
            waited += delay;
        }
        Err(format!("{} {target}: no attempt made", prepared.method))
    }

    fn prepare(&self, request: &HttpRequest) -> Result<Prepared, String> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| format!("invalid HTTP method `{}`", request.method))?;
        let url = url::Url::parse(&request.url)
            .map_err(|err| format!("invalid URL for {method} request: {err}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "unsupported URL scheme `{}`: expected http or https",
                url.scheme()
            ));
        }

        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name `{name}`"))?;
            // The value may be a bearer token: never echo it.
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("invalid value for header `{name}`"))?;
            headers.insert(name, value);
        }
        Ok(Prepared {
            method,
            url,
            headers,
            body: request.body.clone(),
        })
    }

    fn attempt(&self, prepared: &Prepared) -> Result<HttpResponse, AttemptError> {
        let mut builder = self
            .client
            .request(prepared.method.clone(), prepared.url.clone())
            .headers(prepared.headers.clone());
        if let Some(body) = &prepared.body {
            builder = builder.body(body.clone());
        }

        let target = redacted_target(&prepared.url);
        let response = builder.send().map_err(|err| AttemptError {
            retryable: err.is_connect() || err.is_timeout() || err.is_request(),
            message: format!("{} {target}: {}", prepared.method, err.without_url()),
        })?;

        let status = response.status().as_u16();
        let headers = flatten_headers(response.headers());
        let body = response.bytes().map_err(|err| AttemptError {
            retryable: true,
            message: format!(
                "{} {target}: reading body: {}",
                prepared.method,
                err.without_url()
            ),
        })?;
        Ok(HttpResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.settings
            .initial_backoff
            .saturating_mul(factor)
            .min(self.settings.max_backoff)
    }
}

struct Prepared {
    method: reqwest::Method,
    url: url::Url,
    headers: HeaderMap,
    body: Option<String>,
}

struct AttemptError {
    retryable: bool,
    message: String,
}

/// 429 Too Many Requests and every 5xx except 501 Not Implemented.
fn is_retryable_status(status: u16) -> bool {
    status == 429 || (status >= 500 && status != 501 && status < 600)
}

/// The wait a `Retry-After` header asks for: delay-seconds or an HTTP-date (RFC 9110 10.2.3).
fn retry_after(headers: &BTreeMap<String, String>, now_unix_millis: i64) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER.as_str())?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let millis = date
        .timestamp_millis()
        .saturating_sub(now_unix_millis)
        .max(0);
    Some(Duration::from_millis(u64::try_from(millis).unwrap_or(0)))
}

fn flatten_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut flat: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        flat.entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    flat
}

/// The URL without query and fragment, safe to log.
fn redacted_target(url: &url::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_password(None);
    url.to_string()
}

fn describe_outcome(outcome: &Result<HttpResponse, AttemptError>) -> String {
    match outcome {
        Ok(response) => format!("status {}", response.status),
        Err(err) => err.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let mut headers = BTreeMap::new();
        headers.insert("retry-after".to_owned(), "7".to_owned());
        assert_eq!(retry_after(&headers, 0), Some(Duration::from_secs(7)));

        headers.insert(
            "retry-after".to_owned(),
            "Thu, 01 Jan 1970 00:00:30 GMT".to_owned(),
        );
        assert_eq!(retry_after(&headers, 10_000), Some(Duration::from_secs(20)));

        headers.insert("retry-after".to_owned(), "soon".to_owned());
        assert_eq!(retry_after(&headers, 0), None);
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        assert!(is_retryable_status(429));
        assert!(is_retryable_status(503));
        assert!(!is_retryable_status(501));
        assert!(!is_retryable_status(404));
        assert!(!is_retryable_status(401));
    }

    #[test]
    fn logged_targets_drop_the_query_string() {
        let url = url::Url::parse("https://idp.test/users?$skiptoken=abc#x")
            .unwrap_or_else(|_| unreachable!("a literal URL parses"));
        assert_eq!(redacted_target(&url), "https://idp.test/users");
    }
}
