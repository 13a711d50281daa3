//! The configuration file exactly as written: serde structs that reject unknown keys.
//!
//! Nothing here is trusted or interpreted; `config::load` turns these into typed values.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Problem;

const TOP: &[&str] = &[
    "server",
    "database",
    "connections",
    "adapters_dir",
    "webhook",
];
const SERVER: &[&str] = &[
    "listen",
    "base_url",
    "session_key",
    "session_ttl_minutes",
    "allowed_redirects",
    "log_format",
    "admin_token",
];
const DATABASE: &[&str] = &["url", "max_connections"];
const WEBHOOK: &[&str] = &["url", "secret", "timeout_seconds"];
const CONNECTION: &[&str] = &[
    "name",
    "domains",
    "saml",
    "adapter",
    "adapter_config",
    "sync",
];
const SAML: &[&str] = &[
    "metadata_file",
    "metadata_url",
    "metadata_refresh_minutes",
    "idp_entity_id",
    "sso_url",
    "certificates",
    "sp_entity_id",
    "allow_idp_initiated",
    "clock_skew_seconds",
    "allow_sha1",
    "attributes",
];
const SYNC: &[&str] = &[
    "schedule",
    "mode",
    "max_deactivate",
    "full_sync_hours",
    "lease_seconds",
    "max_listing_items",
];

/// Every key the structs below would refuse, with its dotted path (serde reports only the
/// first). Keep the lists in step with the structs; a test checks a full example file.
pub fn unknown_keys(value: &serde_yaml::Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut check = |map: &serde_yaml::Value, allowed: &[&str], prefix: &str| {
        for key in map.as_mapping().into_iter().flat_map(|m| m.keys()) {
            let name = key.as_str().unwrap_or("?");
            if !allowed.contains(&name) {
                let key = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}.{name}")
                };
                problems.push(Problem {
                    key,
                    message: format!("unknown key; expected one of: {}", allowed.join(", ")),
                });
            }
        }
    };
    check(value, TOP, "");
    check(&value["server"], SERVER, "server");
    check(&value["database"], DATABASE, "database");
    check(&value["webhook"], WEBHOOK, "webhook");
    for (i, conn) in value["connections"]
        .as_sequence()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let prefix = format!("connections[{i}]");
        check(conn, CONNECTION, &prefix);
        check(&conn["saml"], SAML, &format!("{prefix}.saml"));
        check(&conn["sync"], SYNC, &format!("{prefix}.sync"));
    }
    problems
}

/// The whole `provisiond.yaml`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub server: Option<RawServer>,
    pub database: Option<RawDatabase>,
    #[serde(default)]
    pub connections: Vec<RawConnection>,
    pub adapters_dir: Option<String>,
    pub webhook: Option<RawWebhook>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub url: Option<String>,
    pub secret: Option<String>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub base_url: Option<String>,
    pub session_key: Option<String>,
    pub session_ttl_minutes: Option<i64>,
    #[serde(default)]
    pub allowed_redirects: Vec<String>,
    pub log_format: Option<String>,
    pub admin_token: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: Option<String>,
    pub max_connections: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnection {
    pub name: Option<String>,
    #[serde(default)]
    pub domains: Vec<String>,
    pub saml: Option<RawSaml>,
    pub adapter: Option<String>,
    pub adapter_config: Option<serde_yaml::Value>,
    pub sync: Option<RawSync>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSaml {
    pub metadata_file: Option<String>,
    pub metadata_url: Option<String>,
    pub metadata_refresh_minutes: Option<u64>,
    pub idp_entity_id: Option<String>,
    pub sso_url: Option<String>,
    pub certificates: Option<Vec<String>>,
    pub sp_entity_id: Option<String>,
    pub allow_idp_initiated: Option<bool>,
    pub clock_skew_seconds: Option<i64>,
    pub allow_sha1: Option<bool>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSync {
    pub schedule: Option<String>,
    pub mode: Option<String>,
    pub max_deactivate: Option<serde_yaml::Value>,
    pub full_sync_hours: Option<u64>,
    pub lease_seconds: Option<u64>,
    pub max_listing_items: Option<u64>,
}
