//! Typed configuration: what the rest of the daemon reads, already validated.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::schedule::Schedule;
use super::secret::Secret;
use crate::saml::metadata::IdpDescriptor;

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP listener, public URL, sessions.
    pub server: ServerConfig,
    /// Where the store lives.
    pub database: DatabaseConfig,
    /// The organisations connected to this install.
    pub connections: Vec<ConnectionConfig>,
    /// Where adapter libraries are looked up.
    pub adapters_dir: PathBuf,
    /// Where change events are delivered, if anywhere.
    pub webhook: Option<WebhookConfig>,
}

/// `webhook:`: every change event is POSTed here, signed, at least once, in order.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The receiver's URL.
    pub url: Url,
    /// HMAC-SHA256 key for the signature header.
    pub secret: Secret,
    /// How long one delivery attempt may take.
    pub timeout: Duration,
}

impl Config {
    /// The connection with this name.
    pub fn connection(&self, name: &str) -> Option<&ConnectionConfig> {
        self.connections.iter().find(|c| c.name == name)
    }

    /// The connection that owns an email domain: one of its domains in any ASCII letter case
    /// ([`crate::fold::fold_case`]); no other character matches a domain's letters.
    pub fn connection_for_domain(&self, domain: &str) -> Option<&ConnectionConfig> {
        let domain = crate::fold::fold_case(domain);
        self.connections
            .iter()
            .find(|c| c.domains.contains(&domain))
    }
}

/// `server:`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Public base URL, without a trailing slash; SP URLs are built from it.
    pub base_url: Url,
    /// Key that binds session cookies to this install (HMAC key).
    pub session_key: Secret,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Absolute URL prefixes a RelayState may redirect to, besides local paths.
    pub allowed_redirects: Vec<Url>,
    /// `text` (default) or `json` log lines.
    pub log_format: LogFormat,
    /// Bearer token of the admin API (`/api/v1/...`); the API is off without one.
    pub admin_token: Option<Secret>,
}

impl ServerConfig {
    /// The base URL as a string without a trailing slash.
    pub fn base(&self) -> String {
        self.base_url.as_str().trim_end_matches('/').to_string()
    }

    /// Whether cookies must carry `Secure`.
    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `database:`.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Which backend, and where.
    pub url: DatabaseUrl,
    /// Pool size.
    pub max_connections: u32,
}

/// A database location, chosen by the URL's scheme.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    /// A SQLite file (created if missing), or `:memory:`.
    Sqlite(PathBuf),
    /// A PostgreSQL URL; it may hold a password, so it is a secret.
    Postgres(Secret),
}

/// One organisation's connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Slug used in URLs.
    pub name: String,
    /// Lower-case email domains that sign in through this connection.
    pub domains: Vec<String>,
    /// SAML single sign-on, when configured.
    pub saml: Option<SamlConfig>,
    /// The adapter that lists assigned users for scheduled sync.
    pub adapter: Option<AdapterConfig>,
    /// When and how scheduled sync runs.
    pub sync: Option<SyncConfig>,
}

impl ConnectionConfig {
    /// Whether an email address belongs to one of this connection's domains: its domain is
    /// one of them in any ASCII letter case ([`crate::fold::fold_case`]), so a look-alike
    /// character never passes for a domain's letter.
    pub fn owns_email(&self, email: &str) -> bool {
        match email.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => {
                let domain = crate::fold::fold_case(domain);
                self.domains.contains(&domain)
            }
            _ => false,
        }
    }
}

/// `connections[].saml`.
#[derive(Debug, Clone)]
pub struct SamlConfig {
    /// Where the IdP's values come from.
    pub idp: IdpSource,
    /// SP entity ID override; defaults to the SP metadata URL.
    pub sp_entity_id: Option<String>,
    /// Accept responses the SP did not ask for.
    ///
    /// # Security
    /// IdP-initiated responses cannot be bound to a browser session, so a stolen response
    /// can be replayed into another browser until it expires (the replay cache still stops a
    /// second use). Enable only where the IdP's app launcher is required.
    pub allow_idp_initiated: bool,
    /// Tolerance for clock differences with the IdP.
    pub clock_skew: chrono::Duration,
    /// Accept RSA-SHA1 signatures.
    ///
    /// # Security
    /// SHA-1 is broken for collision resistance; enable only for an IdP that cannot sign
    /// with SHA-256.
    pub allow_sha1: bool,
    /// Claim names, after overrides.
    pub attributes: AttributeNames,
}

/// Where an IdP's entity ID, SSO URL and certificates come from.
#[derive(Debug, Clone)]
pub enum IdpSource {
    /// Parsed from a metadata file at load.
    File {
        path: PathBuf,
        descriptor: IdpDescriptor,
    },
    /// Fetched at start and refreshed periodically; the last good copy is kept.
    Url {
        url: Url,
        refresh: Duration,
        entity_id: Option<String>,
    },
    /// Entered by hand.
    Manual(IdpDescriptor),
}

/// Claim names to read, each overriding the built-in list when set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeNames {
    /// Email claim.
    pub email: Option<String>,
    /// Given name claim.
    pub first_name: Option<String>,
    /// Surname claim.
    pub last_name: Option<String>,
    /// Display name claim.
    pub display_name: Option<String>,
    /// Stable external id claim (Entra's object id by default).
    pub external_id: Option<String>,
}

/// `connections[].adapter` and `adapter_config`.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// Adapter name; the library is looked up in `adapters_dir`.
    pub name: String,
    /// The adapter's own settings as JSON, secrets resolved. Never log it.
    pub settings: Secret,
}

/// `connections[].sync`.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The schedule as written.
    pub schedule_text: String,
    /// The parsed schedule, read with crontab's meaning; its times are UTC.
    pub schedule: Schedule,
    /// Full snapshot each run, or incremental where the adapter supports it.
    pub mode: SyncMode,
    /// Most users one run may deactivate before it stops for an admin.
    pub max_deactivate: MaxDeactivate,
    /// In incremental mode, read everything when the last full listing is older than this
    /// (delta queries miss assignment-only changes).
    pub full_every: Duration,
    /// How long a replica's claim on this connection's runs lasts without renewal; a crashed
    /// replica's runs are taken over after it.
    pub lease: Duration,
    /// Most users, groups and group memberships one listing may read before the run fails:
    /// a listing is held in memory whole, so this bounds what an adapter can make a run hold.
    pub max_listing_items: u64,
    /// How long a run waits for one adapter call (a page, or making the session) before it
    /// fails: a call that never returns would otherwise hold the connection's runs for good.
    pub call_timeout: Duration,
}

/// Seconds a run waits for one adapter call unless `call_timeout_seconds` says otherwise:
/// far beyond a page read with every retry an adapter's HTTP calls make.
pub const DEFAULT_CALL_TIMEOUT_SECONDS: u64 = 900;

/// Hours between full listings in incremental mode unless `full_sync_hours` says otherwise.
pub const DEFAULT_FULL_SYNC_HOURS: u64 = 24;

/// Items (users, groups and memberships) one listing may hold unless `max_listing_items`
/// says otherwise: room for a tenant of a few million users with their memberships, at
/// roughly 400 bytes per user and 80 per membership while a run holds them.
pub const DEFAULT_MAX_LISTING_ITEMS: u64 = 10_000_000;

/// Sync mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Fetch everything each run.
    Full,
    /// Fetch changes since the last run where the adapter can.
    Incremental,
}

/// The mass-deactivation guard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxDeactivate {
    /// At most this many users.
    Count(u64),
    /// At most this percentage of the connection's active users.
    Percent(f64),
}

impl MaxDeactivate {
    /// Whether deactivating `count` of `active` users stays within the guard.
    pub fn allows(&self, count: u64, active: u64) -> bool {
        match *self {
            Self::Count(max) => count <= max,
            Self::Percent(pct) => (count as f64) <= (active as f64) * pct / 100.0,
        }
    }
}
