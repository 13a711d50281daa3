//! The configuration file exactly as written, read from the YAML tree key by key.
//!
//! Nothing here is trusted or interpreted; `config::build` turns these into typed values. The
//! reader reports every unknown key, duplicate key and value of the wrong kind under its dotted
//! path and carries on, so one run lists them all next to the problems `build` finds. Messages
//! name the kind of value found, never the value: any key may hold a secret.

use std::collections::BTreeMap;

use super::Checker;
use super::yaml::{Node, Scalar};

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
    "call_timeout_seconds",
];

/// The whole `provisiond.yaml`.
#[derive(Debug, Default)]
pub struct RawConfig {
    pub server: Option<RawServer>,
    pub database: Option<RawDatabase>,
    pub connections: Vec<RawConnection>,
    pub adapters_dir: Option<String>,
    pub webhook: Option<RawWebhook>,
}

impl RawConfig {
    /// Reads the document; problems go to `check`.
    pub fn read(doc: &Node, check: &mut Checker) -> Self {
        let Some(top) = Fields::read(doc, "", TOP, check) else {
            return Self::default();
        };
        let mut connections = Vec::new();
        match top.get("connections") {
            None => {}
            Some(Node::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let key = format!("connections[{i}]");
                    let fields = Fields::read(item, &key, CONNECTION, check);
                    connections.push(RawConnection::read(key, fields.as_ref(), check));
                }
            }
            Some(other) => top.wrong(check, "connections", other, "a list of connections"),
        }
        Self {
            server: top.section("server", SERVER, check).map(|f| RawServer {
                listen: f.text("listen", check),
                base_url: f.text("base_url", check),
                session_key: f.text("session_key", check),
                session_ttl_minutes: f.int("session_ttl_minutes", check),
                allowed_redirects: f.texts("allowed_redirects", check),
                log_format: f.text("log_format", check),
                admin_token: f.text("admin_token", check),
            }),
            database: top
                .section("database", DATABASE, check)
                .map(|f| RawDatabase {
                    url: f.text("url", check),
                    max_connections: f.uint("max_connections", check),
                }),
            connections,
            adapters_dir: top.text("adapters_dir", check),
            webhook: top.section("webhook", WEBHOOK, check).map(|f| RawWebhook {
                url: f.text("url", check),
                secret: f.text("secret", check),
                timeout_seconds: f.uint("timeout_seconds", check),
            }),
        }
    }
}

impl RawConnection {
    fn read(key: String, fields: Option<&Fields<'_>>, check: &mut Checker) -> Self {
        let Some(f) = fields else {
            return Self {
                key,
                ..Self::default()
            };
        };
        Self {
            key,
            name: f.text("name", check),
            domains: f.texts("domains", check),
            saml: f.section("saml", SAML, check).map(|s| RawSaml {
                metadata_file: s.text("metadata_file", check),
                metadata_url: s.text("metadata_url", check),
                metadata_refresh_minutes: s.uint("metadata_refresh_minutes", check),
                idp_entity_id: s.text("idp_entity_id", check),
                sso_url: s.text("sso_url", check),
                certificates: s
                    .get("certificates")
                    .map(|_| s.texts("certificates", check)),
                sp_entity_id: s.text("sp_entity_id", check),
                allow_idp_initiated: s.bool("allow_idp_initiated", check),
                clock_skew_seconds: s.int("clock_skew_seconds", check),
                allow_sha1: s.bool("allow_sha1", check),
                attributes: s.text_map("attributes", check),
            }),
            adapter: f.text("adapter", check),
            adapter_config: f.get("adapter_config").cloned(),
            sync: f.section("sync", SYNC, check).map(|s| RawSync {
                schedule: s.text("schedule", check),
                mode: s.text("mode", check),
                max_deactivate: s.get("max_deactivate").cloned(),
                full_sync_hours: s.uint("full_sync_hours", check),
                lease_seconds: s.uint("lease_seconds", check),
                max_listing_items: s.uint("max_listing_items", check),
                call_timeout_seconds: s.uint("call_timeout_seconds", check),
            }),
        }
    }
}

/// The entries of one mapping, checked against the keys it may hold.
struct Fields<'a> {
    key: String,
    entries: BTreeMap<&'a str, &'a Node>,
}

impl<'a> Fields<'a> {
    /// Reads the mapping `node` at `key`, reporting unknown and repeated keys. `None` when the
    /// node is not a mapping (reported) or is empty YAML (`server:` alone is no section).
    fn read(node: &'a Node, key: &str, allowed: &[&str], check: &mut Checker) -> Option<Self> {
        let entries = match node {
            Node::Map(entries) => entries,
            Node::Null if key.is_empty() => return Some(Self::empty(key)),
            Node::Null => return None,
            other => {
                let place = if key.is_empty() { "(file)" } else { key };
                check.unreadable(
                    place,
                    format!(
                        "expected a mapping of settings, found {}",
                        other.kind_name()
                    ),
                );
                return None;
            }
        };
        let mut fields = Self::empty(key);
        for (name, value) in entries {
            let Some(name) = name.scalar_text() else {
                check.add(
                    fields.path("?"),
                    format!("a key is {}; keys are names", name.kind_name()),
                );
                continue;
            };
            if !allowed.contains(&name) {
                check.add(
                    fields.path(name),
                    format!("unknown key; expected one of: {}", allowed.join(", ")),
                );
            } else if fields.entries.insert(name, value).is_some() {
                check.unreadable(fields.path(name), "given more than once; keep one");
            }
        }
        Some(fields)
    }

    fn empty(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            entries: BTreeMap::new(),
        }
    }

    fn path(&self, name: &str) -> String {
        if self.key.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.key)
        }
    }

    /// The node at `name`; `null` counts as absent.
    fn get(&self, name: &str) -> Option<&'a Node> {
        self.entries
            .get(name)
            .copied()
            .filter(|node| **node != Node::Null)
    }

    fn wrong(&self, check: &mut Checker, name: &str, found: &Node, expected: &str) {
        // A number or true/false in quotes is text to YAML.
        let quoted_value = match found {
            Node::Scalar {
                kind: Scalar::Text,
                text,
            } => text.trim().parse::<f64>().is_ok() || matches!(text.trim(), "true" | "false"),
            _ => false,
        };
        let hint = if quoted_value && expected != "text" {
            " (write it without quotes)"
        } else {
            ""
        };
        check.unreadable(
            self.path(name),
            format!("expected {expected}, found {}{hint}", found.kind_name()),
        );
    }

    fn section(&self, name: &str, allowed: &[&str], check: &mut Checker) -> Option<Fields<'a>> {
        Fields::read(self.get(name)?, &self.path(name), allowed, check)
    }

    /// Text; any scalar counts, as written (`listen: 8080` is the text `8080`).
    fn text(&self, name: &str, check: &mut Checker) -> Option<String> {
        let node = self.get(name)?;
        match node.scalar_text() {
            Some(text) => Some(text.to_owned()),
            None => {
                self.wrong(check, name, node, "text");
                None
            }
        }
    }

    fn whole(&self, name: &str, check: &mut Checker) -> Option<i128> {
        let node = self.get(name)?;
        match node {
            Node::Scalar {
                kind: Scalar::Int(value),
                ..
            } => Some(*value),
            Node::Scalar {
                kind: Scalar::HugeInt,
                ..
            } => {
                check.unreadable(self.path(name), "the number is far too large");
                None
            }
            // Digits YAML could only read as a float: a whole number too large for it.
            Node::Scalar {
                kind: Scalar::Float(_),
                text,
            } if is_whole_number(text) => {
                check.unreadable(self.path(name), "the number is far too large");
                None
            }
            other => {
                self.wrong(check, name, other, "a whole number");
                None
            }
        }
    }

    fn uint(&self, name: &str, check: &mut Checker) -> Option<u64> {
        let value = self.whole(name, check)?;
        match u64::try_from(value) {
            Ok(value) => Some(value),
            Err(_) if value < 0 => {
                check.unreadable(self.path(name), "must not be negative");
                None
            }
            Err(_) => {
                check.unreadable(self.path(name), "the number is far too large");
                None
            }
        }
    }

    fn int(&self, name: &str, check: &mut Checker) -> Option<i64> {
        let value = self.whole(name, check)?;
        i64::try_from(value)
            .map_err(|_| check.unreadable(self.path(name), "the number is far too large"))
            .ok()
    }

    fn bool(&self, name: &str, check: &mut Checker) -> Option<bool> {
        match self.get(name)? {
            Node::Scalar {
                kind: Scalar::Bool(value),
                ..
            } => Some(*value),
            other => {
                self.wrong(check, name, other, "true or false");
                None
            }
        }
    }

    /// A list of text. Items of another kind are reported by index, and the list is then
    /// left out whole (the other items' positions would no longer match their keys).
    fn texts(&self, name: &str, check: &mut Checker) -> Vec<String> {
        let Some(node) = self.get(name) else {
            return Vec::new();
        };
        let Node::List(items) = node else {
            self.wrong(check, name, node, "a list");
            return Vec::new();
        };
        let mut texts = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.scalar_text() {
                Some(text) => texts.push(text.to_owned()),
                None => check.unreadable(
                    format!("{}[{i}]", self.path(name)),
                    format!("expected text, found {}", item.kind_name()),
                ),
            }
        }
        if texts.len() < items.len() {
            check.hide(self.path(name));
            texts.clear();
        }
        texts
    }

    /// A mapping of names to text.
    fn text_map(&self, name: &str, check: &mut Checker) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let Some(node) = self.get(name) else {
            return map;
        };
        let Node::Map(entries) = node else {
            self.wrong(check, name, node, "a mapping");
            return map;
        };
        for (key, value) in entries {
            let Some(key) = key.scalar_text() else {
                check.add(
                    format!("{}.?", self.path(name)),
                    format!("a key is {}; keys are names", key.kind_name()),
                );
                continue;
            };
            let path = format!("{}.{key}", self.path(name));
            match value.scalar_text() {
                Some(_) if map.contains_key(key) => {
                    check.unreadable(path, "given more than once; keep one");
                }
                Some(text) => {
                    map.insert(key.to_owned(), text.to_owned());
                }
                None => {
                    check.unreadable(path, format!("expected text, found {}", value.kind_name()))
                }
            }
        }
        map
    }
}

#[derive(Debug, Default)]
pub struct RawWebhook {
    pub url: Option<String>,
    pub secret: Option<String>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Default)]
pub struct RawServer {
    pub listen: Option<String>,
    pub base_url: Option<String>,
    pub session_key: Option<String>,
    pub session_ttl_minutes: Option<i64>,
    pub allowed_redirects: Vec<String>,
    pub log_format: Option<String>,
    pub admin_token: Option<String>,
}

#[derive(Debug, Default)]
pub struct RawDatabase {
    pub url: Option<String>,
    pub max_connections: Option<u64>,
}

#[derive(Debug, Default)]
pub struct RawConnection {
    /// `connections[i]`, for messages.
    pub key: String,
    pub name: Option<String>,
    pub domains: Vec<String>,
    pub saml: Option<RawSaml>,
    pub adapter: Option<String>,
    pub adapter_config: Option<Node>,
    pub sync: Option<RawSync>,
}

#[derive(Debug, Default)]
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
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub struct RawSync {
    pub schedule: Option<String>,
    pub mode: Option<String>,
    pub max_deactivate: Option<Node>,
    pub full_sync_hours: Option<u64>,
    pub lease_seconds: Option<u64>,
    pub max_listing_items: Option<u64>,
    pub call_timeout_seconds: Option<u64>,
}

/// Digits, with an optional sign: a whole number as written, however large.
fn is_whole_number(text: &str) -> bool {
    let digits = text.trim().trim_start_matches(['+', '-']);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}
