//! SAML 2.0 service provider: SP metadata, AuthnRequests, ACS validation, replay cache and
//! just-in-time accounts.
//!
//! [`validate`] is a pure function of the message, the connection and `now`; [`login`] adds the
//! store (outstanding requests, replay cache, users, sessions, audit). This module never
//! touches HTTP types: `http` extracts form fields and maps [`LoginError`] to a page.

mod c14n;
pub mod claims;
mod dsig;
mod error;
pub mod login;
pub mod metadata;
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
                    Arc::new(ServiceProvider::new(conn, saml, &base)),
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
    /// keeping the last good copy when a fetch fails.
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
                    loop {
                        tokio::time::sleep(refresh).await;
                        refresh_one(&client, &sp, &url, entity_id.as_deref()).await;
                    }
                });
            }
        }
    }
}

async fn refresh_one(
    client: &reqwest::Client,
    sp: &ServiceProvider,
    url: &url::Url,
    entity_id: Option<&str>,
) {
    match fetch_metadata(client, url, entity_id).await {
        Ok(descriptor) => {
            tracing::info!(
                connection = %sp.connection,
                idp = %descriptor.entity_id,
                certificates = descriptor.certificates.len(),
                "loaded IdP metadata"
            );
            sp.set_idp(descriptor);
        }
        Err(err) => {
            let kept = if sp.idp().is_some() {
                "keeping the last good copy"
            } else {
                "no copy yet"
            };
            tracing::error!(
                connection = %sp.connection,
                %url,
                error = %err,
                "IdP metadata fetch failed; {kept}"
            );
        }
    }
}

/// Fetches and parses metadata from a URL.
pub async fn fetch_metadata(
    client: &reqwest::Client,
    url: &url::Url,
    entity_id: Option<&str>,
) -> Result<metadata::IdpDescriptor, String> {
    let response = client
        .get(url.clone())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|err| format!("reading body: {err}"))?;
    if bytes.len() > 4 * 1024 * 1024 {
        return Err("metadata larger than 4 MiB".into());
    }
    let text =
        String::from_utf8(bytes.to_vec()).map_err(|_| "metadata is not UTF-8".to_string())?;
    metadata::parse_metadata(&text, entity_id).map_err(|err| err.to_string())
}
