//! The configuration file exactly as written: serde structs that reject unknown keys.
//!
//! Nothing here is trusted or interpreted; `config::load` turns these into typed values.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole `provisiond.yaml`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub server: Option<RawServer>,
    pub database: Option<RawDatabase>,
    #[serde(default)]
    pub connections: Vec<RawConnection>,
    pub adapters_dir: Option<String>,
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
}
