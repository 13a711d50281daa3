//! The Microsoft Entra ID adapter for provisiond.
//!
//! It lists the users and groups assigned to one enterprise application through Microsoft
//! Graph v1.0 with an app-only (client credentials) token:
//!
//! 1. the service principal of `app_id`, then its `appRoleAssignedTo` entries give the
//!    directly assigned users and groups;
//! 2. each assigned group's `members` (or `transitiveMembers`, when `transitive_groups`) give
//!    the users assigned through groups, read 20 groups per request with JSON batching
//!    (`$batch`), throttled sub-requests retried on their own;
//! 3. `/users` is read in pages of 999 with `$select`, keeping assigned users only.
//!
//! All HTTP goes through the daemon (timeouts, retries on 429/5xx honouring `Retry-After`);
//! `graph_base_url` and `login_base_url` point tests at a simulator. Needs the application
//! permissions Application.Read.All, GroupMember.Read.All and User.Read.All.

mod batch;
mod config;
mod delta;
mod directory;
mod graph;

use provisiond_plugin_api::{
    Adapter, AdapterError, AdapterGroup, AdapterUser, ConfigProblem, DeltaPage, Description, Host,
    Page,
};
use serde_json::{Value, json};

pub use config::{ClientSecret, DEFAULT_GRAPH_BASE_URL, DEFAULT_LOGIN_BASE_URL, EntraConfig};
use directory::{Assignments, to_adapter_user};
use graph::{GraphClient, items, next_link, required_text};

/// Assignments read by a users listing are reused by a groups listing this soon after.
const ASSIGNMENTS_REUSE_MILLIS: i64 = 10 * 60 * 1000;
/// Groups per page of `groups_page`.
const GROUPS_PER_PAGE: usize = 100;

/// An adapter instance for one Entra connection.
pub struct EntraAdapter {
    client: GraphClient,
    assignments: Option<Assignments>,
}

impl EntraAdapter {
    fn reload_assignments(&mut self) -> Result<&Assignments, AdapterError> {
        let loaded = Assignments::load(&mut self.client)?;
        Ok(self.assignments.insert(loaded))
    }

    /// The cached assignments, read when missing.
    fn assignments(&mut self) -> Result<&Assignments, AdapterError> {
        if self.assignments.is_none() {
            return self.reload_assignments();
        }
        self.assignments
            .as_ref()
            .ok_or_else(|| AdapterError::internal("assignments vanished"))
    }
}

impl Adapter for EntraAdapter {
    fn describe() -> Description {
        Description {
            name: "entra".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_schema: config_schema(),
            supports_delta: true,
        }
    }

    fn validate_config(config: &Value) -> Vec<ConfigProblem> {
        EntraConfig::parse(config).err().unwrap_or_default()
    }

    fn new(config: Value, host: Host) -> Result<Self, AdapterError> {
        let config = EntraConfig::parse(&config)
            .map_err(|problems| AdapterError::InvalidConfig { problems })?;
        Ok(Self {
            client: GraphClient::new(host, config),
            assignments: None,
        })
    }

    fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, AdapterError> {
        // A new listing starts from fresh assignments.
        let url = match cursor {
            None => {
                self.reload_assignments()?;
                let config = self.client.config();
                format!(
                    "{}/users?$select={}&$top=999",
                    config.graph_base_url,
                    config.user_select()
                )
            }
            Some(cursor) => {
                self.assignments()?;
                cursor.to_owned()
            }
        };

        let page = self.client.get(&url, "users")?;
        self.assignments()?;
        let extra = &self.client.config().extra_user_attributes;
        let assignments = self
            .assignments
            .as_ref()
            .ok_or_else(|| AdapterError::internal("assignments vanished"))?;
        let mut users = Vec::new();
        for item in items(&page, "users")? {
            let id = required_text(item, "id", "users")?;
            if assignments.users.contains(&id) {
                users.extend(to_adapter_user(item, extra));
            }
        }
        Ok(Page {
            items: users,
            next_cursor: next_link(&page),
        })
    }

    fn groups_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterGroup>, AdapterError> {
        let offset = match cursor {
            None => {
                let now = self.client.host().now_unix_millis();
                let fresh = self.assignments.as_ref().is_some_and(|assignments| {
                    now.saturating_sub(assignments.loaded_at_millis) < ASSIGNMENTS_REUSE_MILLIS
                });
                if !fresh {
                    self.reload_assignments()?;
                }
                0
            }
            Some(cursor) => cursor
                .parse::<usize>()
                .map_err(|_| AdapterError::InvalidCursor {
                    message: "groups cursor is not an offset".into(),
                })?,
        };

        let assignments = self.assignments()?;
        let groups: Vec<AdapterGroup> = assignments
            .groups
            .values()
            .skip(offset)
            .take(GROUPS_PER_PAGE)
            .cloned()
            .collect();
        let end = offset + groups.len();
        let next_cursor = (end < assignments.groups.len()).then(|| end.to_string());
        Ok(Page {
            items: groups,
            next_cursor,
        })
    }

    fn delta(&mut self, token: Option<&str>) -> Result<DeltaPage, AdapterError> {
        delta::delta_page(self, token)
    }
}

fn config_schema() -> Value {
    let guid = json!({"type": "string", "format": "uuid"});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "required": ["tenant_id", "client_id", "client_secret", "app_id"],
        "properties": {
            "tenant_id": {"type": "string", "description": "directory (tenant) id or domain"},
            "client_id": guid,
            "client_secret": {"type": "string", "writeOnly": true},
            "app_id": guid,
            "graph_base_url": {"type": "string", "default": DEFAULT_GRAPH_BASE_URL},
            "login_base_url": {"type": "string", "default": DEFAULT_LOGIN_BASE_URL},
            "transitive_groups": {"type": "boolean", "default": false},
            "extra_user_attributes": {"type": "array", "items": {"type": "string"}}
        }
    })
}

provisiond_plugin_api::export_adapter!(EntraAdapter);
