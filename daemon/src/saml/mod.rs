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

/// Whether metadata may be fetched from `url`: over HTTPS, or over plain HTTP from this machine
/// only (a loopback address or `localhost`). The metadata brings the certificates every login
/// is checked against, so anyone on the path of a cleartext fetch could hand in their own.
pub fn is_secure_metadata_url(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback(url),
        _ => false,
    }
}

/// Whether `url` names a loopback address: `127.0.0.0/8`, `::1`, either written as an
/// IPv4-mapped IPv6 address, or `localhost` (with or without its root dot).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(url::Host::Domain(name)) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            name.eq_ignore_ascii_case("localhost")
        }
        None => false,
    }
}

/// Whether a connection to `url` may end on this machine, by any spelling of its address:
/// a loopback one ([`is_loopback`]), the unspecified `0.0.0.0` or `::` (which connect to
/// this machine), or a name under `localhost.` (RFC 6761).
fn may_be_this_machine(url: &url::Url) -> bool {
    let unspecified = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_unspecified() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_unspecified())
        }
        Some(url::Host::Domain(name)) => {
            let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
            name.ends_with(".localhost")
        }
        None => false,
    };
    unspecified || is_loopback(url)
}

/// The HTTP client metadata is fetched with. It follows at most 10 redirects, and only to a URL
/// [`is_secure_metadata_url`] accepts, never from another machine to this one: a redirect
/// must not take an HTTPS fetch to cleartext, nor point the daemon at its own loopback
/// services.
pub fn metadata_client() -> reqwest::Result<reqwest::Client> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else if may_redirect(attempt.previous(), attempt.url()) {
            attempt.follow()
        } else {
            attempt.error("redirected to a URL metadata may not be fetched from")
        }
    });
    reqwest::Client::builder()
        .user_agent(concat!("provisiond/", env!("CARGO_PKG_VERSION")))
        .redirect(policy)
        .dns_resolver(std::sync::Arc::new(NoHiddenLoopback))
        .build()
}

/// Resolves the host names of metadata fetches with the system resolver, and refuses a name
/// that does not say it is this machine but resolves to it: URLs are judged as written
/// ([`may_redirect`]), so a redirect to such a name would otherwise reach local services.
struct NoHiddenLoopback;

impl reqwest::dns::Resolve for NoHiddenLoopback {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            refuse_hidden_loopback(&host, &addrs)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Fails when `host`, a name not written as this machine (`localhost`, a name under
/// `localhost.`), resolved to an address of this machine: loopback or unspecified, also
/// IPv4-mapped.
fn refuse_hidden_loopback(host: &str, addrs: &[std::net::SocketAddr]) -> Result<(), String> {
    let written_as_local =
        url::Url::parse(&format!("https://{host}/")).is_ok_and(|url| may_be_this_machine(&url));
    if written_as_local {
        return Ok(());
    }
    let local = |ip: std::net::IpAddr| {
        let ip = ip.to_canonical();
        ip.is_loopback() || ip.is_unspecified()
    };
    match addrs.iter().find(|addr| local(addr.ip())) {
        Some(addr) => Err(format!(
            "{host} resolves to this machine ({}); metadata served here must be named \
             127.0.0.1 or localhost",
            addr.ip()
        )),
        None => Ok(()),
    }
}

/// An error and its causes, as one line (reqwest's own text leaves out why a redirect failed).
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Whether a metadata fetch that went through `previous` may be redirected to `target`.
fn may_redirect(previous: &[url::Url], target: &url::Url) -> bool {
    // Hosts are judged as written here; names are checked where they resolve
    // (`NoHiddenLoopback`).
    let remote_before = previous.iter().any(|url| !is_loopback(url));
    is_secure_metadata_url(target) && !(remote_before && may_be_this_machine(target))
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
        .map_err(|err| format!("request failed: {}", with_causes(&err)))?;
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
    fn metadata_is_fetched_over_https_or_from_this_machine_and_redirected_no_further() {
        let url = |text: &str| url::Url::parse(text).unwrap();
        for secure in [
            "https://login.example/m",
            "http://127.0.0.1:9000/m",
            "http://127.1.2.3/m",
            "http://[::1]/m",
            "http://LOCALHOST/m",
        ] {
            assert!(is_secure_metadata_url(&url(secure)), "{secure}");
        }
        for insecure in [
            "http://login.example/m",
            "http://10.0.0.1/m",
            "http://localhost.example/m",
            "ftp://127.0.0.1/m",
            "file:///etc/m",
        ] {
            assert!(!is_secure_metadata_url(&url(insecure)), "{insecure}");
        }

        let remote = [url("https://login.example/m")];
        let local = [url("http://127.0.0.1:9000/m")];
        assert!(may_redirect(&remote, &url("https://other.example/m")));
        assert!(!may_redirect(&remote, &url("http://login.example/m")));
        assert!(!may_redirect(&remote, &url("https://localhost/m")));
        assert!(!may_redirect(&remote, &url("http://127.0.0.1:9000/m")));
        assert!(may_redirect(&local, &url("http://127.0.0.1:9001/m")));
        assert!(may_redirect(&local, &url("https://login.example/m")));
        assert!(!may_redirect(&local, &url("http://login.example/m")));
    }

    #[test]
    fn no_spelling_of_this_machine_is_reached_by_a_redirect_from_another() {
        let url = |text: &str| url::Url::parse(text).unwrap();
        let remote = [url("https://login.example/m")];
        for local in [
            "https://[::ffff:127.0.0.1]/m",
            "https://[::ffff:7f00:2]:8443/m",
            "https://0.0.0.0/m",
            "https://0/m",
            "https://[::]/m",
            "https://[::ffff:0.0.0.0]/m",
            "https://localhost./m",
            "https://LocalHost./m",
            "https://admin.localhost/m",
            "https://admin.localhost./m",
            "https://127.1/m",
            "https://2130706433/m",
            "https://0x7f000001/m",
        ] {
            assert!(!may_redirect(&remote, &url(local)), "{local}");
        }
        // Plain http to this machine, however spelled, is still this machine.
        for local in [
            "http://[::ffff:127.0.0.1]:9000/m",
            "http://localhost.:9000/m",
        ] {
            assert!(is_secure_metadata_url(&url(local)), "{local}");
        }
        for remote in ["http://localhost.example/m", "http://[::ffff:10.0.0.1]/m"] {
            assert!(!is_secure_metadata_url(&url(remote)), "{remote}");
        }
    }

    #[test]
    fn a_name_resolving_to_this_machine_must_say_so() {
        let at = |ip: &str| vec![std::net::SocketAddr::new(ip.parse().unwrap(), 443)];
        for ip in [
            "127.0.0.1",
            "127.0.1.1",
            "::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "::",
        ] {
            let refused = refuse_hidden_loopback("idp.example", &at(ip)).unwrap_err();
            assert!(
                refused.contains("idp.example resolves to this machine"),
                "{refused}"
            );
        }
        // One local address among public ones is enough to refuse: any may be tried.
        let mixed = [at("203.0.113.7"), at("127.0.0.1")].concat();
        assert!(refuse_hidden_loopback("idp.example", &mixed).is_err());
        for ip in ["203.0.113.7", "10.0.0.5", "2001:db8::1", "::ffff:10.0.0.5"] {
            assert_eq!(
                refuse_hidden_loopback("idp.example", &at(ip)),
                Ok(()),
                "{ip}"
            );
        }
        for written_as_local in ["localhost", "LOCALHOST", "localhost.", "idp.localhost"] {
            assert_eq!(
                refuse_hidden_loopback(written_as_local, &at("127.0.0.1")),
                Ok(()),
                "{written_as_local}"
            );
        }
    }

    /// The client fetches through the resolver: a name written as this machine still
    /// reaches a server here.
    #[tokio::test]
    async fn the_metadata_client_resolves_names_that_say_they_are_this_machine() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await.unwrap();
            let reply = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
            socket.write_all(reply.as_bytes()).await.unwrap();
        });
        let client = metadata_client().unwrap();
        let reply = client
            .get(format!("http://localhost:{port}/m"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.text().await.unwrap(), "ok");
        server.await.unwrap();
    }

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
