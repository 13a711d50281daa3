//! An adapter that lists whatever its config says, however wrong, and pages as its `mode`
//! says:
//!
//! - `once` (the default): `users` in pages of `page_size` (all at once without it), then
//!   `groups` in one page;
//! - `same_cursor`: the first `page_size` users, with the same next-page cursor, forever;
//! - `endless`: `page_size` new users on every page (`gen<page>-<n>@<domain>`), each page
//!   with a new cursor, forever;
//! - `fail_second_page`: the first `page_size` users, then an error;
//! - `hang_second_page`: the first `page_size` users, then no answer for `hang_seconds`
//!   (default an hour), then an error.
//!
//! Users and groups are written in the plugin API's JSON shapes, so they may hold anything
//! JSON can (an empty id, a NUL character, an address of another domain).

use provisiond_plugin_api::{
    Adapter, AdapterError, AdapterGroup, AdapterUser, ConfigProblem, Description, Host, Page,
};
use serde_json::Value;

/// The adapter, holding what its config lists.
pub struct Listings {
    users: Vec<AdapterUser>,
    groups: Vec<AdapterGroup>,
    mode: String,
    page_size: usize,
    domain: String,
    hang: std::time::Duration,
}

impl Adapter for Listings {
    fn describe() -> Description {
        Description {
            name: "listings".into(),
            version: "0.0.0".into(),
            config_schema: Value::Null,
            supports_delta: false,
        }
    }

    fn validate_config(config: &Value) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for key in ["users", "groups"] {
            if config.get(key).is_some_and(|value| !value.is_array()) {
                problems.push(ConfigProblem::new(key, "expected a list"));
            }
        }
        problems
    }

    fn new(config: Value, _host: Host) -> Result<Self, AdapterError> {
        let list = |key: &str| config.get(key).cloned().unwrap_or(Value::Array(Vec::new()));
        let users = serde_json::from_value(list("users"))
            .map_err(|err| AdapterError::internal(format!("users: {err}")))?;
        let groups = serde_json::from_value(list("groups"))
            .map_err(|err| AdapterError::internal(format!("groups: {err}")))?;
        let text = |key: &str, default: &str| {
            config
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_owned()
        };
        let page_size = config
            .get("page_size")
            .and_then(Value::as_u64)
            .and_then(|size| usize::try_from(size).ok())
            .unwrap_or(usize::MAX)
            .max(1);
        Ok(Self {
            users,
            groups,
            mode: text("mode", "once"),
            page_size,
            domain: text("domain", "sync.example"),
            hang: std::time::Duration::from_secs(
                config
                    .get("hang_seconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(3600),
            ),
        })
    }

    fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, AdapterError> {
        let page: usize = match cursor {
            None => 0,
            Some(cursor) => cursor.parse().unwrap_or(1),
        };
        let first = self.users.iter().take(self.page_size).cloned().collect();
        match self.mode.as_str() {
            "same_cursor" => Ok(Page {
                items: first,
                next_cursor: Some("again".into()),
            }),
            "endless" => Ok(Page {
                items: (0..self.page_size.min(10_000))
                    .map(|n| generated(page, n, &self.domain))
                    .collect(),
                next_cursor: Some((page + 1).to_string()),
            }),
            "fail_second_page" if page > 0 => Err(AdapterError::Remote {
                status: Some(503),
                message: "the second page is not there".into(),
            }),
            "hang_second_page" if page > 0 => {
                std::thread::sleep(self.hang);
                Err(AdapterError::Remote {
                    status: None,
                    message: "the second page took too long".into(),
                })
            }
            "fail_second_page" | "hang_second_page" => Ok(Page {
                items: first,
                next_cursor: Some("1".into()),
            }),
            _ => {
                let start = page.saturating_mul(self.page_size);
                let end = start.saturating_add(self.page_size).min(self.users.len());
                Ok(Page {
                    items: self.users.get(start..end).unwrap_or_default().to_vec(),
                    next_cursor: (end < self.users.len()).then(|| (page + 1).to_string()),
                })
            }
        }
    }

    fn groups_page(&mut self, _cursor: Option<&str>) -> Result<Page<AdapterGroup>, AdapterError> {
        Ok(Page {
            items: self.groups.clone(),
            next_cursor: None,
        })
    }
}

fn generated(page: usize, n: usize, domain: &str) -> AdapterUser {
    let name = format!("gen{page}-{n}");
    AdapterUser::new(name.clone(), format!("{name}@{domain}"))
}

provisiond_plugin_api::export_adapter!(Listings);
