//! A minimal provisiond adapter: it serves the users and groups listed in its own config,
//! a few per page. Copy it to start a real adapter: replace the config with your IdP's
//! settings and the listing with calls through `Host::http`.
//!
//! Config:
//!
//! ```json
//! {
//!   "page_size": 2,
//!   "users": [{"id": "u1", "user_name": "ada@example.com", "email": "ada@example.com",
//!              "given_name": "Ada", "family_name": "Lovelace", "active": true}],
//!   "groups": [{"id": "g1", "display_name": "Engineers", "members": ["u1"]}]
//! }
//! ```

use provisiond_plugin_api::{
    Adapter, AdapterError, AdapterGroup, AdapterUser, ConfigProblem, Description, Host, Page,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// The adapter's typed config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_page_size")]
    page_size: usize,
    #[serde(default)]
    users: Vec<UserEntry>,
    #[serde(default)]
    groups: Vec<AdapterGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    id: String,
    user_name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default = "default_active")]
    active: bool,
}

fn default_page_size() -> usize {
    2
}

fn default_active() -> bool {
    true
}

/// An instance: the directory from the config and the host services.
pub struct Skeleton {
    config: Config,
    host: Host,
}

impl Adapter for Skeleton {
    fn describe() -> Description {
        Description {
            name: "skeleton".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_schema: json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "page_size": {"type": "integer", "minimum": 1},
                    "users": {"type": "array"},
                    "groups": {"type": "array"}
                }
            }),
            supports_delta: false,
        }
    }

    fn validate_config(config: &Value) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let Some(object) = config.as_object() else {
            return vec![ConfigProblem::new("", "expected an object")];
        };
        if let Some(size) = object.get("page_size") {
            if size.as_u64().is_none_or(|size| size == 0) {
                problems.push(ConfigProblem::new(
                    "page_size",
                    "expected a positive integer",
                ));
            }
        }
        for (index, user) in array(object.get("users")).iter().enumerate() {
            for key in ["id", "user_name"] {
                if user
                    .get(key)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    let path = format!("users[{index}].{key}");
                    problems.push(ConfigProblem::new(path, "required: a non-empty string"));
                }
            }
        }
        // Anything else (unknown keys, wrong types) is caught by the typed parse.
        if problems.is_empty() {
            if let Err(err) = serde_json::from_value::<Config>(config.clone()) {
                problems.push(ConfigProblem::new("", err.to_string()));
            }
        }
        problems
    }

    fn new(config: Value, host: Host) -> Result<Self, AdapterError> {
        let config: Config =
            serde_json::from_value(config).map_err(|err| AdapterError::InvalidConfig {
                problems: vec![ConfigProblem::new("", err.to_string())],
            })?;
        host.info(&format!(
            "skeleton adapter serving {} users",
            config.users.len()
        ));
        Ok(Self { config, host })
    }

    fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, AdapterError> {
        let users: Vec<AdapterUser> = self.config.users.iter().map(to_adapter_user).collect();
        page(&users, cursor, self.config.page_size)
    }

    fn groups_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterGroup>, AdapterError> {
        self.host.debug("listing groups");
        page(&self.config.groups, cursor, self.config.page_size)
    }
}

fn array(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn to_adapter_user(user: &UserEntry) -> AdapterUser {
    AdapterUser {
        external_id: user.id.clone(),
        user_name: user.user_name.clone(),
        email: user.email.clone(),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        display_name: None,
        active: user.active,
        extra: Default::default(),
    }
}

/// The page starting at the offset in `cursor`.
fn page<T: Clone>(items: &[T], cursor: Option<&str>, size: usize) -> Result<Page<T>, AdapterError> {
    let start = match cursor {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .map_err(|_| AdapterError::InvalidCursor {
                message: format!("`{cursor}` is not an offset"),
            })?,
    };
    let end = start.saturating_add(size.max(1)).min(items.len());
    let slice = items.get(start..end).unwrap_or_default();
    let next_cursor = (end < items.len()).then(|| end.to_string());
    Ok(Page {
        items: slice.to_vec(),
        next_cursor,
    })
}

provisiond_plugin_api::export_adapter!(Skeleton);
