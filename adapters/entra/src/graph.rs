//! A small Microsoft Graph client over the host's HTTP service: client-credentials tokens
//! (refreshed before expiry and after a 401), GET and JSON POST with JSON decoding, and error
//! mapping.
//!
//! The client secret goes into the token request body only; no error message carries it, and
//! every message built from a response is scrubbed of it as a second line of defence.

use std::collections::HashSet;

use provisiond_plugin_api::{AdapterError, Host, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::config::EntraConfig;

/// Renew a token this long before it expires.
const EXPIRY_MARGIN_MILLIS: i64 = 60_000;

/// Graph access with a cached token.
pub struct GraphClient {
    host: Host,
    config: EntraConfig,
    token: Option<AccessToken>,
}

struct AccessToken {
    value: String,
    expires_at_millis: i64,
}

impl GraphClient {
    /// A client for `config`, doing I/O through `host`. No request is made yet.
    pub fn new(host: Host, config: EntraConfig) -> Self {
        Self {
            host,
            config,
            token: None,
        }
    }

    /// The host services.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The config.
    pub fn config(&self) -> &EntraConfig {
        &self.config
    }

    /// `GET url` as JSON; a 401 renews the token and retries once.
    ///
    /// `url` must lie under the configured Graph base URL, so the token never goes elsewhere
    /// (cursors come back from the daemon and are checked here).
    pub fn get(&mut self, url: &str, what: &str) -> Result<Value, AdapterError> {
        self.send(url, what, |token| {
            HttpRequest::get(url)
                .header("authorization", format!("Bearer {token}"))
                .header("accept", "application/json")
                .header("prefer", "odata.maxpagesize=999")
        })
    }

    /// `POST url` with a JSON body, answered with JSON; a 401 renews the token and retries
    /// once. The host waits `delay_millis` first (a `Retry-After` found inside a batch
    /// response). `url` must lie under the configured Graph base URL.
    pub fn post_json(
        &mut self,
        url: &str,
        body: &Value,
        what: &str,
        delay_millis: u64,
    ) -> Result<Value, AdapterError> {
        let body = body.to_string();
        self.send(url, what, |token| {
            HttpRequest::post(url, "application/json", body.clone())
                .header("authorization", format!("Bearer {token}"))
                .header("accept", "application/json")
                .delayed(delay_millis)
        })
    }

    fn send(
        &mut self,
        url: &str,
        what: &str,
        request: impl Fn(&str) -> HttpRequest,
    ) -> Result<Value, AdapterError> {
        if !self.is_graph_url(url) {
            return Err(AdapterError::InvalidCursor {
                message: format!("link for {what} is not under the configured graph_base_url"),
            });
        }

        let token = self.token()?;
        let mut response = self.host.http(&request(&token))?;
        if response.status == 401 {
            self.host
                .debug("Graph answered 401; renewing the access token");
            self.token = None;
            let token = self.token()?;
            response = self.host.http(&request(&token))?;
        }
        if response.is_success() {
            return serde_json::from_str(&response.body).map_err(|err| {
                AdapterError::remote(None, format!("{what}: response is not JSON: {err}"))
            });
        }
        let parsed: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        Err(self.graph_error(response.status, &parsed, what))
    }

    /// `url` relative to the Graph base URL (with its leading slash), as a `$batch`
    /// sub-request names it; `None` when `url` lies elsewhere.
    pub fn relative_url<'a>(&self, url: &'a str) -> Option<&'a str> {
        if !self.is_graph_url(url) {
            return None;
        }
        url.strip_prefix(&self.config.graph_base_url)
    }

    /// A valid access token, fetched when missing or about to expire.
    fn token(&mut self) -> Result<String, AdapterError> {
        let now = self.host.now_unix_millis();
        if let Some(token) = &self.token
            && now < token.expires_at_millis - EXPIRY_MARGIN_MILLIS
        {
            return Ok(token.value.clone());
        }

        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.config.login_base_url, self.config.tenant_id
        );
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose()),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let body = serde_urlencoded::to_string(form)
            .map_err(|err| AdapterError::internal(format!("cannot encode token request: {err}")))?;
        let response = self.host.http(&HttpRequest::post(
            url,
            "application/x-www-form-urlencoded",
            body,
        ))?;

        if !response.is_success() {
            return Err(self.token_error(&response));
        }
        let parsed: Value = serde_json::from_str(&response.body).map_err(|err| {
            AdapterError::remote(None, format!("token response is not JSON: {err}"))
        })?;
        let value = parsed
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| AdapterError::remote(None, "token response has no access_token"))?
            .to_owned();
        let lifetime_secs = parsed
            .get("expires_in")
            .and_then(Value::as_i64)
            .unwrap_or(300);
        self.token = Some(AccessToken {
            value: value.clone(),
            expires_at_millis: now.saturating_add(lifetime_secs.saturating_mul(1000)),
        });
        self.host.debug("obtained a Graph access token");
        Ok(value)
    }

    fn token_error(&self, response: &HttpResponse) -> AdapterError {
        let parsed: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        let code = parsed
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error");
        let description = parsed
            .get("error_description")
            .and_then(Value::as_str)
            .and_then(|text| text.lines().next())
            .unwrap_or("no description");
        let message = self.scrub(&format!(
            "token endpoint refused the client credentials ({code}): {description}; check \
             tenant_id, client_id and client_secret"
        ));
        match response.status {
            400 | 401 => AdapterError::Unauthorized { message },
            status => AdapterError::remote(Some(status), message),
        }
    }

    /// The error for a Graph failure `status` with its (parsed) error body; also used for the
    /// sub-responses of a batch.
    pub fn graph_error(&self, status: u16, parsed: &Value, what: &str) -> AdapterError {
        let error = parsed.get("error");
        let code = error
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let detail = error
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let detail = self.scrub(detail);
        match status {
            401 => AdapterError::Unauthorized {
                message: format!("Graph refused the access token for {what} ({code}): {detail}"),
            },
            403 => AdapterError::Unauthorized {
                message: format!(
                    "Graph denied {what} ({code}): grant the application permissions \
                     Application.Read.All, GroupMember.Read.All and User.Read.All with admin \
                     consent"
                ),
            },
            410 => AdapterError::InvalidCursor {
                message: format!("{what}: the delta token expired ({code})"),
            },
            status => AdapterError::remote(Some(status), format!("{what} ({code}): {detail}")),
        }
    }

    fn is_graph_url(&self, url: &str) -> bool {
        url.strip_prefix(&self.config.graph_base_url)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
    }

    /// Removes the client secret from text that came from the network.
    fn scrub(&self, text: &str) -> String {
        let secret = self.config.client_secret.expose();
        if secret.is_empty() {
            text.to_owned()
        } else {
            text.replace(secret, "[redacted]")
        }
    }
}

/// The `@odata.nextLink` of a page, if any.
pub fn next_link(page: &Value) -> Option<String> {
    page.get("@odata.nextLink")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The `value` array of a page of `what`. Graph answers every collection with one, so a page
/// without it (a proxy's error page, a cut-off reply) fails the listing: read as an empty
/// page, it would hide whoever it held, and a complete listing would deactivate them.
pub fn items<'a>(page: &'a Value, what: &str) -> Result<&'a [Value], AdapterError> {
    page.get("value")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or_else(|| AdapterError::remote(None, format!("{what}: a page without a value list")))
}

/// A string field that every object of a page of `what` has (an id): an object without it is
/// a malformed page, failed for the same reason as in [`items`].
pub fn required_text(item: &Value, field: &str, what: &str) -> Result<String, AdapterError> {
    text(item, field).ok_or_else(|| {
        AdapterError::remote(None, format!("{what}: an object of a page without {field}"))
    })
}

/// The `@odata.nextLink`s one sequence of pages has followed: a link coming back would read
/// the same pages again without end, inside the adapter where the daemon's cursor checks do
/// not reach.
#[derive(Debug, Default)]
pub struct LinkTrail {
    followed: HashSet<String>,
}

impl LinkTrail {
    /// Records `link` as the next page of `what` to read, failing when it was followed before.
    pub fn follow(&mut self, link: &str, what: &str) -> Result<(), AdapterError> {
        if self.followed.insert(link.to_owned()) {
            return Ok(());
        }
        Err(AdapterError::remote(
            None,
            format!(
                "{what}: Graph returned a next link it had already returned; it pages in a loop"
            ),
        ))
    }
}

/// A string field of a Graph object.
pub fn text(item: &Value, field: &str) -> Option<String> {
    item.get(field).and_then(Value::as_str).map(str::to_owned)
}
