//! The adapter's config: parsed from JSON into [`EntraConfig`], with every problem reported at
//! once under its key path. The client secret lives in [`ClientSecret`], which never prints.

use std::fmt;

use provisiond_plugin_api::ConfigProblem;
use serde_json::{Map, Value};

/// The Graph base URL used when none is configured.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.microsoft.com/v1.0";
/// The login (token) base URL used when none is configured.
pub const DEFAULT_LOGIN_BASE_URL: &str = "https://login.microsoftonline.com";

/// User properties always requested from Graph.
pub const BASE_USER_FIELDS: &[&str] = &[
    "id",
    "userPrincipalName",
    "mail",
    "givenName",
    "surname",
    "accountEnabled",
    "displayName",
];

const KEYS: &[&str] = &[
    "tenant_id",
    "client_id",
    "client_secret",
    "app_id",
    "graph_base_url",
    "login_base_url",
    "transitive_groups",
    "extra_user_attributes",
];

/// A client secret; `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// The secret itself, for the token request body only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The typed config of one Entra connection.
#[derive(Clone, Debug)]
pub struct EntraConfig {
    /// Directory (tenant) id or verified domain.
    pub tenant_id: String,
    /// The app registration's client id used to get tokens.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: ClientSecret,
    /// The application (client) id of the enterprise application whose assignments count.
    pub app_id: String,
    /// Graph base URL without a trailing slash.
    pub graph_base_url: String,
    /// Login base URL without a trailing slash.
    pub login_base_url: String,
    /// Expand nested groups of assigned groups (`transitiveMembers`) instead of direct members.
    pub transitive_groups: bool,
    /// Further user properties to request and pass through in `extra`.
    pub extra_user_attributes: Vec<String>,
}

impl EntraConfig {
    /// Parses `config`, listing every problem with its key path.
    pub fn parse(config: &Value) -> Result<Self, Vec<ConfigProblem>> {
        let Some(object) = config.as_object() else {
            return Err(vec![ConfigProblem::new("", "expected an object")]);
        };
        let mut problems = Vec::new();
        for key in object.keys().filter(|key| !KEYS.contains(&key.as_str())) {
            problems.push(ConfigProblem::new(
                key.as_str(),
                format!("unknown key; expected one of {}", KEYS.join(", ")),
            ));
        }

        let tenant_id = required(object, "tenant_id", &mut problems, |value| {
            (is_guid(value) || is_domain(value))
                .then_some(())
                .ok_or("expected the directory (tenant) id, a GUID, or a verified domain name")
        });
        let client_id = required(object, "client_id", &mut problems, guid_check);
        let client_secret = required(object, "client_secret", &mut problems, |_| Ok(()));
        let app_id = required(object, "app_id", &mut problems, guid_check);
        let graph_base_url = base_url(
            object,
            "graph_base_url",
            DEFAULT_GRAPH_BASE_URL,
            &mut problems,
        );
        let login_base_url = base_url(
            object,
            "login_base_url",
            DEFAULT_LOGIN_BASE_URL,
            &mut problems,
        );

        let transitive_groups = match object.get("transitive_groups") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => {
                problems.push(ConfigProblem::new(
                    "transitive_groups",
                    "expected true or false",
                ));
                false
            }
        };
        let extra_user_attributes = extra_attributes(object, &mut problems);

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            tenant_id,
            client_id,
            client_secret: ClientSecret(client_secret),
            app_id,
            graph_base_url,
            login_base_url,
            transitive_groups,
            extra_user_attributes,
        })
    }

    /// The `$select` list for users: the base fields and the extra attributes.
    pub fn user_select(&self) -> String {
        let mut fields: Vec<&str> = BASE_USER_FIELDS.to_vec();
        fields.extend(self.extra_user_attributes.iter().map(String::as_str));
        fields.join(",")
    }
}

/// A required non-empty string at `key`, checked by `check`. The value is never echoed: it may
/// be a secret.
fn required(
    object: &Map<String, Value>,
    key: &str,
    problems: &mut Vec<ConfigProblem>,
    check: impl Fn(&str) -> Result<(), &'static str>,
) -> String {
    match object.get(key) {
        None | Some(Value::Null) => {
            problems.push(ConfigProblem::new(key, "required"));
            String::new()
        }
        Some(Value::String(value)) if value.trim().is_empty() => {
            problems.push(ConfigProblem::new(key, "must not be empty"));
            String::new()
        }
        Some(Value::String(value)) => {
            if let Err(message) = check(value.trim()) {
                problems.push(ConfigProblem::new(key, message));
            }
            value.trim().to_owned()
        }
        Some(_) => {
            problems.push(ConfigProblem::new(key, "expected a string"));
            String::new()
        }
    }
}

fn guid_check(value: &str) -> Result<(), &'static str> {
    is_guid(value)
        .then_some(())
        .ok_or("expected a GUID such as 00000000-0000-0000-0000-000000000000")
}

fn base_url(
    object: &Map<String, Value>,
    key: &str,
    default: &str,
    problems: &mut Vec<ConfigProblem>,
) -> String {
    let value = match object.get(key) {
        None | Some(Value::Null) => return default.to_owned(),
        Some(Value::String(value)) => value.trim().trim_end_matches('/'),
        Some(_) => {
            problems.push(ConfigProblem::new(key, "expected a URL string"));
            return default.to_owned();
        }
    };
    let host = if let Some(rest) = value.strip_prefix("https://") {
        rest
    } else if let Some(rest) = value.strip_prefix("http://") {
        // Plain HTTP only to this machine (simulators, tests): tokens must not travel in clear.
        if !is_loopback(rest) {
            problems.push(ConfigProblem::new(
                key,
                "expected an https:// URL (http:// is allowed for 127.0.0.1 and localhost only)",
            ));
        }
        rest
    } else {
        problems.push(ConfigProblem::new(key, "expected an absolute https:// URL"));
        return default.to_owned();
    };
    if host.is_empty() || host.contains(['?', '#', ' ']) {
        problems.push(ConfigProblem::new(
            key,
            "expected a base URL without query or fragment",
        ));
    }
    value.to_owned()
}

fn extra_attributes(object: &Map<String, Value>, problems: &mut Vec<ConfigProblem>) -> Vec<String> {
    let items = match object.get("extra_user_attributes") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(ConfigProblem::new(
                "extra_user_attributes",
                "expected a list of names",
            ));
            return Vec::new();
        }
    };
    let mut names = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("extra_user_attributes[{index}]");
        match item.as_str() {
            Some(name) if is_property_name(name) => {
                if BASE_USER_FIELDS.contains(&name) {
                    problems.push(ConfigProblem::new(
                        path,
                        format!("`{name}` is always requested"),
                    ));
                } else {
                    names.push(name.to_owned());
                }
            }
            Some(name) => problems.push(ConfigProblem::new(
                path,
                format!("`{name}` is not a Graph property name (letters, digits, `_`)"),
            )),
            None => problems.push(ConfigProblem::new(path, "expected a string")),
        }
    }
    names
}

fn is_loopback(rest: &str) -> bool {
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|host| {
        rest.strip_prefix(host)
            .is_some_and(|after| after.is_empty() || after.starts_with([':', '/']))
    })
}

fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_domain(value: &str) -> bool {
    value.contains('.')
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn is_property_name(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const GUID: &str = "11111111-2222-3333-4444-555555555555";

    fn problems(config: Value) -> Vec<String> {
        match EntraConfig::parse(&config) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_complete_config_parses_with_defaults() {
        let config = json!({"tenant_id": "contoso.com", "client_id": GUID,
            "client_secret": "s", "app_id": GUID});
        let parsed = EntraConfig::parse(&config).map_err(|p| p.len());
        let parsed = parsed.unwrap_or_else(|count| unreachable!("{count} problems"));
        assert_eq!(parsed.graph_base_url, DEFAULT_GRAPH_BASE_URL);
        assert!(!parsed.transitive_groups);
        assert_eq!(format!("{:?}", parsed.client_secret), "[redacted]");
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let found = problems(json!({
            "client_id": "nope", "client_secret": 5, "app_id": GUID,
            "graph_base_url": "ftp://x", "transitive_groups": "yes",
            "extra_user_attributes": ["department", "bad,name", 3, "mail"], "colour": "red"
        }));
        let paths: Vec<&str> = found.iter().filter_map(|p| p.split(':').next()).collect();
        assert_eq!(
            paths,
            [
                "colour",
                "tenant_id",
                "client_id",
                "client_secret",
                "graph_base_url",
                "transitive_groups",
                "extra_user_attributes[1]",
                "extra_user_attributes[2]",
                "extra_user_attributes[3]"
            ]
        );
    }

    #[test]
    fn the_secret_never_appears_in_a_problem() {
        let found = problems(json!({"tenant_id": "t", "client_id": "super-secret-value",
            "client_secret": "super-secret-value", "app_id": "super-secret-value"}));
        assert!(!found.is_empty());
        assert!(found.iter().all(|p| !p.contains("super-secret-value")));
    }

    #[test]
    fn plain_http_is_refused_except_for_loopback() {
        let base = json!({"tenant_id": GUID, "client_id": GUID, "client_secret": "s",
            "app_id": GUID, "login_base_url": "http://127.0.0.1:8080"});
        assert!(problems(base.clone()).is_empty());
        let mut remote = base;
        remote["graph_base_url"] = json!("http://graph.example.com/v1.0");
        assert_eq!(problems(remote).len(), 1);
    }
}
