//! Typed configuration and the conversion from the raw file, listing every problem.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use url::Url;

use super::Problem;
use super::raw::{RawConfig, RawConnection, RawSaml, RawSync};
use super::secret::{Secret, resolve};
use crate::saml::metadata::{self, IdpDescriptor};

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
}

impl Config {
    /// The connection with this name.
    pub fn connection(&self, name: &str) -> Option<&ConnectionConfig> {
        self.connections.iter().find(|c| c.name == name)
    }

    /// The connection that owns an email domain (case-insensitive).
    pub fn connection_for_domain(&self, domain: &str) -> Option<&ConnectionConfig> {
        let domain = domain.to_ascii_lowercase();
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
    /// Whether an email address belongs to one of this connection's domains.
    pub fn owns_email(&self, email: &str) -> bool {
        match email.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => {
                let domain = domain.to_ascii_lowercase();
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
    /// The parsed schedule (seconds field added to 5-field crontabs).
    pub schedule: cron::Schedule,
    /// Full snapshot each run, or incremental where the adapter supports it.
    pub mode: SyncMode,
    /// Most users one run may deactivate before it stops for an admin.
    pub max_deactivate: MaxDeactivate,
    /// In incremental mode, read everything when the last full listing is older than this
    /// (delta queries miss assignment-only changes).
    pub full_every: Duration,
}

/// Hours between full listings in incremental mode unless `full_sync_hours` says otherwise.
pub const DEFAULT_FULL_SYNC_HOURS: u64 = 24;

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

/// Parses a schedule: a 5-field crontab gets a seconds field, 6/7 fields and `@hourly`-style
/// shortcuts pass through.
pub fn parse_schedule(text: &str) -> Result<cron::Schedule, String> {
    let trimmed = text.trim();
    let fields = trimmed.split_whitespace().count();
    let full = if fields == 5 {
        format!("0 {trimmed}")
    } else {
        trimmed.to_string()
    };
    cron::Schedule::from_str(&full).map_err(|err| {
        format!("invalid schedule {trimmed:?} ({err}); use a crontab like \"*/30 * * * *\"")
    })
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
}

pub(super) fn build(raw: RawConfig, base_dir: &Path) -> Result<Config, Vec<Problem>> {
    let mut check = Checker {
        problems: Vec::new(),
    };

    let server = raw.server.unwrap_or_default();
    let listen = server.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let listen = listen.parse::<SocketAddr>().map_err(|_| {
        check.add(
            "server.listen",
            format!("{listen:?} is not an address like 127.0.0.1:8080"),
        )
    });
    let base_url = server
        .base_url
        .as_deref()
        .unwrap_or("http://localhost:8080");
    let base_url = match Url::parse(base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.query().is_none() => Ok(url),
        _ => {
            check.add(
                "server.base_url",
                format!("{base_url:?} is not an http(s) URL"),
            );
            Err(())
        }
    };
    let session_key = match server.session_key.as_deref() {
        None => {
            check.add(
                "server.session_key",
                "missing; set it to ${PROVISIOND_SESSION_KEY} and export 32+ random characters",
            );
            Err(())
        }
        Some(raw_key) => match resolve(raw_key) {
            Ok(key) if key.len() >= 32 => Ok(Secret::new(key)),
            Ok(_) => {
                check.add(
                    "server.session_key",
                    "too short; use at least 32 random characters",
                );
                Err(())
            }
            Err(message) => {
                check.add("server.session_key", message);
                Err(())
            }
        },
    };
    let ttl_minutes = server.session_ttl_minutes.unwrap_or(8 * 60);
    if !(1..=60 * 24 * 30).contains(&ttl_minutes) {
        check.add(
            "server.session_ttl_minutes",
            "must be between 1 and 43200 (30 days)",
        );
    }
    let mut allowed_redirects = Vec::new();
    for (i, prefix) in server.allowed_redirects.iter().enumerate() {
        match Url::parse(prefix) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => allowed_redirects.push(url),
            _ => check.add(
                format!("server.allowed_redirects[{i}]"),
                format!("{prefix:?} is not an absolute http(s) URL prefix"),
            ),
        }
    }
    let log_format = match server.log_format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            check.add(
                "server.log_format",
                format!("{other:?} is not one of: text, json"),
            );
            LogFormat::Text
        }
    };

    let database = raw.database.unwrap_or_default();
    let db_url = database.url.as_deref().unwrap_or("sqlite://provisiond.db");
    let db_url = parse_database_url(db_url, base_dir).map_err(|m| check.add("database.url", m));
    let max_connections = database.max_connections.unwrap_or(8);
    if !(1..=256).contains(&max_connections) {
        check.add("database.max_connections", "must be between 1 and 256");
    }

    let adapters_dir = raw
        .adapters_dir
        .map(|dir| base_dir.join(dir))
        .unwrap_or_else(|| base_dir.join("adapters"));

    let mut names = BTreeSet::new();
    let mut domain_owner: BTreeMap<String, String> = BTreeMap::new();
    let mut connections = Vec::new();
    for (i, conn) in raw.connections.into_iter().enumerate() {
        let key = format!("connections[{i}]");
        if let Some(conn) = build_connection(conn, &key, base_dir, &mut check) {
            if !names.insert(conn.name.clone()) {
                check.add(
                    format!("{key}.name"),
                    format!("{:?} is used twice", conn.name),
                );
            }
            for domain in &conn.domains {
                if let Some(owner) = domain_owner.insert(domain.clone(), conn.name.clone()) {
                    check.add(
                        format!("{key}.domains"),
                        format!("{domain} is already registered on connection {owner:?}"),
                    );
                }
            }
            connections.push(conn);
        }
    }

    match (listen, base_url, session_key, db_url) {
        (Ok(listen), Ok(base_url), Ok(session_key), Ok(url)) if check.problems.is_empty() => {
            Ok(Config {
                server: ServerConfig {
                    listen,
                    base_url,
                    session_key,
                    session_ttl: Duration::from_secs(ttl_minutes as u64 * 60),
                    allowed_redirects,
                    log_format,
                },
                database: DatabaseConfig {
                    url,
                    max_connections,
                },
                connections,
                adapters_dir,
            })
        }
        _ => Err(check.problems),
    }
}

fn parse_database_url(url: &str, base_dir: &Path) -> Result<DatabaseUrl, String> {
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if rest.is_empty() {
            return Err("sqlite URL has no file; use sqlite://provisiond.db".into());
        }
        if rest == ":memory:" {
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(":memory:")));
        }
        return Ok(DatabaseUrl::Sqlite(base_dir.join(rest)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(DatabaseUrl::Postgres(Secret::new(resolve(url)?)));
    }
    if url.starts_with("${") || url.starts_with("file:") {
        let resolved = resolve(url)?;
        if resolved.starts_with("${") || resolved.starts_with("file:") {
            return Err("a database URL secret must hold the URL itself".into());
        }
        return parse_database_url(&resolved, base_dir).map_err(|_| {
            "the resolved URL does not start with sqlite:// or postgres://".to_string()
        });
    }
    Err("must start with sqlite:// or postgres://".into())
}

fn build_connection(
    conn: RawConnection,
    key: &str,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<ConnectionConfig> {
    let name = conn.name.unwrap_or_default();
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_name {
        check.add(
            format!("{key}.name"),
            format!("{name:?} must be 1-64 lower-case letters, digits or '-' (it is a URL slug)"),
        );
    }

    let mut domains = Vec::new();
    for (j, domain) in conn.domains.iter().enumerate() {
        let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
        let valid = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if valid {
            domains.push(domain);
        } else {
            check.add(
                format!("{key}.domains[{j}]"),
                format!("{domain:?} is not a domain name"),
            );
        }
    }
    if domains.is_empty() && conn.saml.is_some() {
        check.add(
            format!("{key}.domains"),
            "a SAML connection needs at least one email domain",
        );
    }

    let saml = conn
        .saml
        .and_then(|saml| build_saml(saml, &format!("{key}.saml"), base_dir, check));
    let adapter = match (conn.adapter, conn.adapter_config) {
        (Some(adapter), config) => build_adapter(adapter, config, key, check),
        (None, Some(_)) => {
            check.add(format!("{key}.adapter_config"), "given without `adapter`");
            None
        }
        (None, None) => None,
    };
    let wants_sync = conn.sync.is_some();
    let sync = conn
        .sync
        .and_then(|sync| build_sync(sync, &format!("{key}.sync"), check));
    if wants_sync && adapter.is_none() {
        check.add(format!("{key}.sync"), "scheduled sync needs an `adapter`");
    }

    valid_name.then_some(ConnectionConfig {
        name,
        domains,
        saml,
        adapter,
        sync,
    })
}

fn build_saml(
    saml: RawSaml,
    key: &str,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<SamlConfig> {
    let manual = saml.sso_url.is_some() || saml.certificates.is_some();
    let sources = [
        saml.metadata_file.is_some(),
        saml.metadata_url.is_some(),
        manual,
    ];
    let idp = match sources.iter().filter(|s| **s).count() {
        0 => {
            check.add(
                key,
                "give metadata_file, metadata_url, or idp_entity_id + sso_url + certificates",
            );
            None
        }
        1 => idp_source(&saml, key, base_dir, check),
        _ => {
            check.add(
                key,
                "give only one of metadata_file, metadata_url or the manual values",
            );
            None
        }
    };

    let skew = saml.clock_skew_seconds.unwrap_or(180);
    if !(0..=3600).contains(&skew) {
        check.add(
            format!("{key}.clock_skew_seconds"),
            "must be between 0 and 3600",
        );
    }
    let mut attributes = AttributeNames::default();
    for (name, claim) in saml.attributes {
        let slot = match name.as_str() {
            "email" => &mut attributes.email,
            "first_name" => &mut attributes.first_name,
            "last_name" => &mut attributes.last_name,
            "display_name" => &mut attributes.display_name,
            "external_id" => &mut attributes.external_id,
            other => {
                check.add(
                    format!("{key}.attributes.{other}"),
                    "unknown; use email, first_name, last_name, display_name or external_id",
                );
                continue;
            }
        };
        *slot = Some(claim);
    }
    if let Some(sp) = &saml.sp_entity_id
        && sp.trim().is_empty()
    {
        check.add(format!("{key}.sp_entity_id"), "must not be empty");
    }

    Some(SamlConfig {
        idp: idp?,
        sp_entity_id: saml.sp_entity_id,
        allow_idp_initiated: saml.allow_idp_initiated.unwrap_or(false),
        clock_skew: chrono::Duration::seconds(skew),
        allow_sha1: saml.allow_sha1.unwrap_or(false),
        attributes,
    })
}

fn idp_source(
    saml: &RawSaml,
    key: &str,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<IdpSource> {
    if let Some(file) = &saml.metadata_file {
        let path = base_dir.join(file);
        let xml = std::fs::read_to_string(&path)
            .map_err(|err| {
                check.add(
                    format!("{key}.metadata_file"),
                    format!("cannot read {}: {err}", path.display()),
                )
            })
            .ok()?;
        return match metadata::parse_metadata(&xml, saml.idp_entity_id.as_deref()) {
            Ok(descriptor) => Some(IdpSource::File { path, descriptor }),
            Err(err) => {
                check.add(
                    format!("{key}.metadata_file"),
                    format!("{}: {err}", path.display()),
                );
                None
            }
        };
    }
    if let Some(url) = &saml.metadata_url {
        let minutes = saml.metadata_refresh_minutes.unwrap_or(60);
        if minutes == 0 {
            check.add(
                format!("{key}.metadata_refresh_minutes"),
                "must be at least 1",
            );
        }
        return match Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Some(IdpSource::Url {
                url: parsed,
                refresh: Duration::from_secs(minutes.max(1) * 60),
                entity_id: saml.idp_entity_id.clone(),
            }),
            _ => {
                check.add(
                    format!("{key}.metadata_url"),
                    format!("{url:?} is not an http(s) URL"),
                );
                None
            }
        };
    }

    let entity_id = saml.idp_entity_id.clone().unwrap_or_default();
    if entity_id.trim().is_empty() {
        check.add(
            format!("{key}.idp_entity_id"),
            "required with manual IdP values",
        );
    }
    let sso_url = saml.sso_url.clone().unwrap_or_default();
    if !matches!(Url::parse(&sso_url), Ok(u) if matches!(u.scheme(), "http" | "https")) {
        check.add(
            format!("{key}.sso_url"),
            format!("{sso_url:?} is not an http(s) URL"),
        );
    }
    let certificates = saml.certificates.clone().unwrap_or_default();
    match metadata::manual_descriptor(&entity_id, &sso_url, &certificates) {
        Ok(descriptor) if !entity_id.trim().is_empty() => Some(IdpSource::Manual(descriptor)),
        Ok(_) => None,
        Err(err) => {
            check.add(format!("{key}.certificates"), err.to_string());
            None
        }
    }
}

fn build_adapter(
    name: String,
    config: Option<serde_yaml::Value>,
    key: &str,
    check: &mut Checker,
) -> Option<AdapterConfig> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        check.add(
            format!("{key}.adapter"),
            format!("{name:?} must be lower-case letters, digits or '_'"),
        );
        return None;
    }
    let yaml = config.unwrap_or(serde_yaml::Value::Mapping(Default::default()));
    let mut json = match serde_json::to_value(&yaml) {
        Ok(json) => json,
        Err(err) => {
            check.add(
                format!("{key}.adapter_config"),
                format!("cannot be expressed as JSON: {err}"),
            );
            return None;
        }
    };
    resolve_secrets(&mut json, &format!("{key}.adapter_config"), check);
    Some(AdapterConfig {
        name,
        settings: Secret::new(json.to_string()),
    })
}

fn resolve_secrets(value: &mut serde_json::Value, key: &str, check: &mut Checker) {
    match value {
        serde_json::Value::String(text) if text.starts_with("${") || text.starts_with("file:") => {
            match resolve(text) {
                Ok(resolved) => *text = resolved,
                Err(message) => check.add(key, message),
            }
        }
        serde_json::Value::Object(map) => {
            for (name, child) in map.iter_mut() {
                resolve_secrets(child, &format!("{key}.{name}"), check);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                resolve_secrets(child, &format!("{key}[{i}]"), check);
            }
        }
        _ => {}
    }
}

fn build_sync(sync: RawSync, key: &str, check: &mut Checker) -> Option<SyncConfig> {
    let schedule_text = sync.schedule.unwrap_or_default();
    let schedule =
        parse_schedule(&schedule_text).map_err(|m| check.add(format!("{key}.schedule"), m));
    let mode = match sync.mode.as_deref() {
        None | Some("incremental") => SyncMode::Incremental,
        Some("full") => SyncMode::Full,
        Some(other) => {
            check.add(
                format!("{key}.mode"),
                format!("{other:?} is not one of: full, incremental"),
            );
            SyncMode::Full
        }
    };
    let max_deactivate = match sync.max_deactivate {
        None => MaxDeactivate::Percent(10.0),
        Some(serde_yaml::Value::Number(n)) if n.as_u64().is_some() => {
            MaxDeactivate::Count(n.as_u64().unwrap_or_default())
        }
        Some(serde_yaml::Value::String(text)) => match parse_percent(&text) {
            Some(pct) => MaxDeactivate::Percent(pct),
            None => {
                check.add(
                    format!("{key}.max_deactivate"),
                    "use a percentage like \"10%\" or a count",
                );
                MaxDeactivate::Percent(10.0)
            }
        },
        Some(_) => {
            check.add(
                format!("{key}.max_deactivate"),
                "use a percentage like \"10%\" or a count",
            );
            MaxDeactivate::Percent(10.0)
        }
    };
    let full_hours = sync.full_sync_hours.unwrap_or(DEFAULT_FULL_SYNC_HOURS);
    if !(1..=24 * 365).contains(&full_hours) {
        check.add(
            format!("{key}.full_sync_hours"),
            "must be between 1 and 8760 (a year)",
        );
    }
    Some(SyncConfig {
        schedule_text,
        schedule: schedule.ok()?,
        mode,
        max_deactivate,
        full_every: Duration::from_secs(full_hours.clamp(1, 24 * 365) * 3600),
    })
}

fn parse_percent(text: &str) -> Option<f64> {
    let number = text.trim().strip_suffix('%')?.trim().parse::<f64>().ok()?;
    (0.0..=100.0).contains(&number).then_some(number)
}
