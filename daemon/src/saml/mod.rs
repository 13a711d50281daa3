//! SAML 2.0 service provider: SP metadata, AuthnRequests, ACS validation, replay cache and
//! just-in-time accounts.
//!
//! [`validate`] is a pure function of the message, the connection and `now`; [`login`] adds the
//! store (answered requests, replay cache, users, sessions, audit). This module never
//! touches HTTP types: `http` extracts form fields and maps [`LoginError`] to a page.

mod c14n;
pub mod claims;
mod dsig;
mod error;
pub mod login;
pub mod metadata;
pub mod request_id;
mod sp;
pub mod validate;
mod xml;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use error::LoginError;
pub use sp::{AuthnRequest, ServiceProvider, xml_escape};

use crate::config::{Config, IdpSource};

/// The service providers of every SAML connection, by connection name.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    by_name: BTreeMap<String, Arc<ServiceProvider>>,
}

impl Providers {
    /// Builds one service provider per connection with a `saml` section.
    pub fn from_config(config: &Config) -> Self {
        let base = config.server.base();
        let by_name = config
            .connections
            .iter()
            .filter_map(|conn| {
                let saml = conn.saml.as_ref()?;
                Some((
                    conn.name.clone(),
                    Arc::new(ServiceProvider::new(
                        conn,
                        saml,
                        &base,
                        &config.server.session_key,
                    )),
                ))
            })
            .collect();
        Self { by_name }
    }

    /// The service provider of a connection.
    pub fn get(&self, connection: &str) -> Option<Arc<ServiceProvider>> {
        self.by_name.get(connection).cloned()
    }

    /// All service providers.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ServiceProvider>> {
        self.by_name.values()
    }

    /// Loads metadata from URLs once (for start-up and one-shot commands).
    pub async fn load_remote_metadata(&self, client: &reqwest::Client) {
        for sp in self.by_name.values() {
            if let IdpSource::Url { url, entity_id, .. } = &sp.settings.idp {
                refresh_one(client, sp, url, entity_id.as_deref()).await;
            }
        }
    }

    /// Spawns one task per URL-sourced connection that refreshes its metadata periodically,
    /// keeping the last good copy when a fetch fails. After a failure (or when start-up found
    /// no copy) it tries again soon, then less often ([`next_fetch_in`]).
    pub fn spawn_refresh(&self, client: reqwest::Client) {
        for sp in self.by_name.values() {
            if let IdpSource::Url {
                url,
                refresh,
                entity_id,
            } = &sp.settings.idp
            {
                let (sp, url, refresh, entity_id) =
                    (sp.clone(), url.clone(), *refresh, entity_id.clone());
                let client = client.clone();
                tokio::spawn(async move {
                    let mut failures = u32::from(sp.idp().is_none());
                    loop {
                        tokio::time::sleep(next_fetch_in(failures, refresh)).await;
                        if refresh_one(&client, &sp, &url, entity_id.as_deref()).await {
                            failures = 0;
                        } else {
                            failures = failures.saturating_add(1);
                        }
                    }
                });
            }
        }
    }
}

/// The first retry after a failed metadata fetch; each further failure doubles the wait, up
/// to [`MAX_METADATA_RETRY`] or the refresh interval, whichever is shorter.
pub const FIRST_METADATA_RETRY: Duration = Duration::from_secs(2);

/// The longest wait between fetches while they fail.
pub const MAX_METADATA_RETRY: Duration = Duration::from_secs(300);

/// How long to wait before the next metadata fetch after `failures` failed ones in a row.
pub fn next_fetch_in(failures: u32, refresh: Duration) -> Duration {
    if failures == 0 {
        return refresh;
    }
    let backoff = FIRST_METADATA_RETRY.saturating_mul(1 << (failures - 1).min(16));
    backoff.min(MAX_METADATA_RETRY).min(refresh)
}

/// Fetches a connection's metadata once; whether it was loaded.
async fn refresh_one(
    client: &reqwest::Client,
    sp: &ServiceProvider,
    url: &url::Url,
    entity_id: Option<&str>,
) -> bool {
    match fetch_metadata(client, url, entity_id).await {
        Ok(descriptor) => {
            tracing::info!(
                connection = %sp.connection,
                idp = %descriptor.entity_id,
                certificates = descriptor.certificates.len(),
                "loaded IdP metadata"
            );
            sp.set_idp(descriptor);
            true
        }
        Err(err) => {
            let kept = if sp.idp().is_some() {
                "keeping the last good copy"
            } else {
                "no copy yet: this connection's logins fail until a fetch succeeds"
            };
            tracing::error!(
                connection = %sp.connection,
                %url,
                error = %err,
                "IdP metadata fetch failed; {kept}"
            );
            false
        }
    }
}

/// The largest metadata document fetched (Entra's is about 25 KiB; aggregates are larger).
const MAX_METADATA_BYTES: usize = 4 * 1024 * 1024;

/// Fetches and parses metadata from a URL.
pub async fn fetch_metadata(
    client: &reqwest::Client,
    url: &url::Url,
    entity_id: Option<&str>,
) -> Result<metadata::IdpDescriptor, String> {
    let mut response = client
        .get(url.clone())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let too_large = || format!("metadata larger than {} MiB", MAX_METADATA_BYTES >> 20);
    if response
        .content_length()
        .is_some_and(|length| length > MAX_METADATA_BYTES as u64)
    {
        return Err(too_large());
    }
    // Read in chunks, so a server that sends without end is cut off at the bound.
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| format!("reading body: {err}"))?
    {
        if bytes.len() + chunk.len() > MAX_METADATA_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(bytes).map_err(|_| "metadata is not UTF-8".to_string())?;
    metadata::parse_metadata(&text, entity_id).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_metadata_fetches_are_retried_soon_then_less_often() {
        let hour = Duration::from_secs(3600);
        assert_eq!(next_fetch_in(0, hour), hour);
        let waits: Vec<u64> = (1..=10).map(|n| next_fetch_in(n, hour).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(next_fetch_in(u32::MAX, hour), MAX_METADATA_RETRY);
        // Never later than the refresh interval itself.
        let minute = Duration::from_secs(60);
        assert_eq!(next_fetch_in(7, minute), minute);
    }
}
