//! Turning the raw file into typed configuration, collecting every problem with its key.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::adapter::build_adapter;
use super::raw::{RawConfig, RawConnection, RawSaml, RawSync};
use super::schedule::Schedule;
use super::secret::{Secret, resolve, resolve_url};
use super::typed::*;
use super::yaml::{Node, Scalar};
use super::{AdapterCheck, Checker};
use crate::saml::metadata;

/// Builds the typed configuration; `None` when anything is wrong (every problem is in
/// `check`). The adapters of every connection whose adapter could be read are returned for
/// `check-config` either way.
pub(super) fn build(
    raw: RawConfig,
    base_dir: &Path,
    check: &mut Checker,
) -> (Option<Config>, Vec<AdapterCheck>) {
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
        Ok(url) if matches!(url.scheme(), "http" | "https") => match beyond_path(&url) {
            None => Ok(url),
            Some(part) => {
                check.add(
                    "server.base_url",
                    format!(
                        "has {part}; give the public URL as scheme, host, port and path only \
                         (the SP URLs are this with a path appended)"
                    ),
                );
                Err(())
            }
        },
        _ if base_url.contains('@') => {
            check.add(
                "server.base_url",
                "is not an http(s) URL like https://sso.example.com (not shown: it holds an `@`)",
            );
            Err(())
        }
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
            Ok(url) if matches!(url.scheme(), "http" | "https") => match beyond_path(&url) {
                None => allowed_redirects.push(url),
                Some(part) => check.add(
                    format!("server.allowed_redirects[{i}]"),
                    format!(
                        "has {part}; a prefix is matched by scheme, host, port and path only, \
                         so give only those"
                    ),
                ),
            },
            _ if prefix.contains('@') => check.add(
                format!("server.allowed_redirects[{i}]"),
                "is not an absolute http(s) URL prefix (not shown: it holds an `@`)",
            ),
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

    let admin_token = match server.admin_token.as_deref() {
        None => None,
        Some(raw_token) => match resolve(raw_token) {
            Ok(token) if token.len() >= 24 => Some(Secret::new(token)),
            Ok(_) => {
                check.add(
                    "server.admin_token",
                    "too short; use at least 24 random characters",
                );
                None
            }
            Err(message) => {
                check.add("server.admin_token", message);
                None
            }
        },
    };
    let webhook = raw
        .webhook
        .and_then(|webhook| build_webhook(webhook, check));

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
    let usable_adapters_dir = (!check.is_unusable("adapters_dir")).then_some(&*adapters_dir);

    let mut names = BTreeSet::new();
    let mut domain_owner: BTreeMap<String, String> = BTreeMap::new();
    let mut connections = Vec::new();
    let mut adapter_checks = Vec::new();
    for conn in raw.connections {
        let key = conn.key.clone();
        let (conn, adapter_check) = build_connection(conn, base_dir, usable_adapters_dir, check);
        adapter_checks.extend(adapter_check);
        if let Some(conn) = conn {
            if !names.insert(conn.name.clone()) {
                check.add(
                    format!("{key}.name"),
                    format!("{:?} is used twice", conn.name),
                );
            }
            for domain in &conn.domains {
                if let Some(owner) = domain_owner.insert(domain.clone(), conn.name.clone()) {
                    let problem = if owner == conn.name {
                        format!("{domain} is listed twice; list each domain once")
                    } else {
                        format!("{domain} is already registered on connection {owner:?}")
                    };
                    check.add(format!("{key}.domains"), problem);
                }
            }
            connections.push(conn);
        }
    }

    let config = match (listen, base_url, session_key, db_url) {
        (Ok(listen), Ok(base_url), Ok(session_key), Ok(url)) if check.problems.is_empty() => {
            Some(Config {
                server: ServerConfig {
                    listen,
                    base_url,
                    session_key,
                    session_ttl: Duration::from_secs(ttl_minutes as u64 * 60),
                    allowed_redirects,
                    log_format,
                    admin_token,
                },
                database: DatabaseConfig {
                    url,
                    // At most 256, checked above.
                    max_connections: max_connections as u32,
                },
                connections,
                adapters_dir,
                webhook,
            })
        }
        _ => None,
    };
    (config, adapter_checks)
}

/// What a URL holds besides scheme, host, port and path, which a URL used as a prefix must
/// not: credentials would be copied into every URL built on it (and into log lines), a query
/// or fragment would come before the path appended to it, or be ignored by prefix matching.
fn beyond_path(url: &Url) -> Option<&'static str> {
    if !url.username().is_empty() || url.password().is_some() {
        Some("a user name or password")
    } else if url.query().is_some() {
        Some("a query (`?...`)")
    } else if url.fragment().is_some() {
        Some("a fragment (`#...`)")
    } else {
        None
    }
}

fn build_webhook(webhook: super::raw::RawWebhook, check: &mut Checker) -> Option<WebhookConfig> {
    let url = match webhook.url.as_deref().map(Url::parse) {
        Some(Ok(url)) if matches!(url.scheme(), "http" | "https") => Some(url),
        Some(_) => {
            check.add("webhook.url", "is not an http(s) URL");
            None
        }
        None => {
            check.add("webhook.url", "missing");
            None
        }
    };
    let secret = match webhook.secret.as_deref().map(resolve) {
        Some(Ok(secret)) if secret.len() >= 16 => Some(Secret::new(secret)),
        Some(Ok(_)) => {
            check.add(
                "webhook.secret",
                "too short; use at least 16 random characters",
            );
            None
        }
        Some(Err(message)) => {
            check.add("webhook.secret", message);
            None
        }
        None => {
            check.add(
                "webhook.secret",
                "missing; receivers verify the signature with it",
            );
            None
        }
    };
    let seconds = webhook.timeout_seconds.unwrap_or(10);
    if !(1..=300).contains(&seconds) {
        check.add("webhook.timeout_seconds", "must be between 1 and 300");
    }
    Some(WebhookConfig {
        url: url?,
        secret: secret?,
        timeout: Duration::from_secs(seconds),
    })
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
        // SQLite reads `file:` names as URIs, naming some other file than the path says.
        if rest.starts_with("file:") {
            return Err(
                "give the SQLite file's path, not a SQLite URI: sqlite://provisiond.db".into(),
            );
        }
        return Ok(DatabaseUrl::Sqlite(base_dir.join(rest)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let resolved = resolve_url(url)?;
        // What `serve` and `migrate` would refuse is refused here too.
        crate::store::check_postgres_url(&resolved)?;
        return Ok(DatabaseUrl::Postgres(Secret::new(resolved)));
    }
    if url.starts_with("${") || url.starts_with("file:") {
        let resolved = resolve(url)?;
        if resolved.starts_with("${") || resolved.starts_with("file:") {
            return Err("a database URL secret must hold the URL itself".into());
        }
        if !["sqlite://", "postgres://", "postgresql://"]
            .iter()
            .any(|scheme| resolved.starts_with(scheme))
        {
            return Err("the resolved URL does not start with sqlite:// or postgres://".into());
        }
        return parse_database_url(&resolved, base_dir);
    }
    Err("must start with sqlite:// or postgres://".into())
}

fn build_connection(
    conn: RawConnection,
    base_dir: &Path,
    adapters_dir: Option<&Path>,
    check: &mut Checker,
) -> (Option<ConnectionConfig>, Option<AdapterCheck>) {
    let key = conn.key.as_str();
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
        let domain = crate::fold::fold_case(domain.trim().trim_start_matches('@'));
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
    if domains.is_empty() && conn.domains.is_empty() {
        if conn.saml.is_some() {
            check.add(
                format!("{key}.domains"),
                "a SAML connection needs at least one email domain",
            );
        } else if conn.adapter.is_some() {
            check.add(
                format!("{key}.domains"),
                "a connection that syncs needs at least one email domain: listed users whose \
                 email is outside the connection's domains are rejected",
            );
        }
    }

    let saml = conn
        .saml
        .and_then(|saml| build_saml(saml, &format!("{key}.saml"), base_dir, check));
    let (adapter, adapter_check) = match (&conn.adapter, &conn.adapter_config) {
        (Some(name), settings) => {
            build_adapter(name, settings.as_ref(), key, adapters_dir, check).unzip()
        }
        (None, Some(_)) => {
            check.add(format!("{key}.adapter_config"), "given without `adapter`");
            (None, None)
        }
        (None, None) => (None, None),
    };
    let wants_sync = conn.sync.is_some();
    let sync = conn
        .sync
        .and_then(|sync| build_sync(sync, &format!("{key}.sync"), check));
    if wants_sync && adapter.is_none() {
        check.add(format!("{key}.sync"), "scheduled sync needs an `adapter`");
    }

    let connection = valid_name.then_some(ConnectionConfig {
        name,
        domains,
        saml,
        adapter,
        sync,
    });
    (connection, adapter_check)
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
        // Clamped: an out-of-range value is a problem above, and must not panic on its way.
        clock_skew: chrono::Duration::seconds(skew.clamp(0, 3600)),
        allow_sha1: saml.allow_sha1.unwrap_or(false),
        attributes,
    })
}

/// The longest metadata refresh interval: a week.
const MAX_REFRESH_MINUTES: u64 = 7 * 24 * 60;

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
        if !(1..=MAX_REFRESH_MINUTES).contains(&minutes) {
            check.add(
                format!("{key}.metadata_refresh_minutes"),
                format!("must be between 1 and {MAX_REFRESH_MINUTES} (a week)"),
            );
        }
        return match Url::parse(url) {
            Ok(parsed) if crate::saml::is_secure_metadata_url(&parsed) => Some(IdpSource::Url {
                url: parsed,
                refresh: Duration::from_secs(minutes.clamp(1, MAX_REFRESH_MINUTES) * 60),
                entity_id: saml.idp_entity_id.clone(),
            }),
            Ok(parsed) if parsed.scheme() == "http" => {
                check.add(
                    format!("{key}.metadata_url"),
                    "must be https: the metadata brings the certificates logins are checked \
                     against (plain http only from this machine: 127.0.0.1, ::1, localhost)",
                );
                None
            }
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

fn build_sync(sync: RawSync, key: &str, check: &mut Checker) -> Option<SyncConfig> {
    let schedule_text = sync.schedule.clone().unwrap_or_default();
    let schedule = match &sync.schedule {
        Some(text) => Schedule::parse(text)
            .map_err(|m| check.add(format!("{key}.schedule"), m))
            .and_then(|schedule| {
                // A schedule whose year field has passed would never start a run.
                let now = chrono::Utc::now();
                if schedule.next_after(&now).is_some() {
                    return Ok(schedule);
                }
                check.add(
                    format!("{key}.schedule"),
                    format!(
                        "{text:?} has no run after {} UTC; check its year field",
                        now.format("%Y-%m-%d %H:%M")
                    ),
                );
                Err(())
            }),
        None => {
            check.add(
                format!("{key}.schedule"),
                "missing; give a crontab such as \"*/30 * * * *\" (UTC)",
            );
            Err(())
        }
    };
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
        Some(Node::Scalar {
            kind: Scalar::Int(count),
            ..
        }) if count >= 0 => MaxDeactivate::Count(u64::try_from(count).unwrap_or(u64::MAX)),
        Some(Node::Scalar {
            kind: Scalar::Text,
            text,
        }) => match parse_percent(&text) {
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
    let lease_seconds = sync.lease_seconds.unwrap_or(60);
    if !(3..=3600).contains(&lease_seconds) {
        check.add(format!("{key}.lease_seconds"), "must be between 3 and 3600");
    }
    let full_hours = sync.full_sync_hours.unwrap_or(DEFAULT_FULL_SYNC_HOURS);
    if !(1..=24 * 365).contains(&full_hours) {
        check.add(
            format!("{key}.full_sync_hours"),
            "must be between 1 and 8760 (a year)",
        );
    }
    let max_listing_items = sync.max_listing_items.unwrap_or(DEFAULT_MAX_LISTING_ITEMS);
    if max_listing_items == 0 {
        check.add(
            format!("{key}.max_listing_items"),
            "must be at least 1: the most users, groups and memberships one listing may read",
        );
    }
    let call_timeout = sync
        .call_timeout_seconds
        .unwrap_or(DEFAULT_CALL_TIMEOUT_SECONDS);
    if !(1..=86_400).contains(&call_timeout) {
        check.add(
            format!("{key}.call_timeout_seconds"),
            "must be between 1 and 86400 (a day): how long a run waits for one adapter call",
        );
    }
    Some(SyncConfig {
        schedule_text,
        schedule: schedule.ok()?,
        mode,
        max_deactivate,
        full_every: Duration::from_secs(full_hours.clamp(1, 24 * 365) * 3600),
        lease: Duration::from_secs(lease_seconds.clamp(3, 3600)),
        max_listing_items,
        call_timeout: Duration::from_secs(call_timeout.clamp(1, 86_400)),
    })
}

fn parse_percent(text: &str) -> Option<f64> {
    let number = text.trim().strip_suffix('%')?.trim().parse::<f64>().ok()?;
    (0.0..=100.0).contains(&number).then_some(number)
}
