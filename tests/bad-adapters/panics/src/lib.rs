//! An adapter that panics: in `users_page` always, in `validate_config` when the config says
//! `{"panic": true}`. The daemon must report the panic as an error and keep running.

#![allow(clippy::panic)]

use provisiond_plugin_api::{
    Adapter, AdapterError, AdapterGroup, AdapterUser, ConfigProblem, Description, Host, Page,
};
use serde_json::Value;

/// The panicking adapter.
pub struct Panics;

impl Adapter for Panics {
    fn describe() -> Description {
        Description {
            name: "panics".into(),
            version: "0.0.0".into(),
            config_schema: Value::Null,
            supports_delta: false,
        }
    }

    fn validate_config(config: &Value) -> Vec<ConfigProblem> {
        if config.get("panic") == Some(&Value::Bool(true)) {
            panic!("validate_config panicked on purpose");
        }
        Vec::new()
    }

    fn new(_config: Value, _host: Host) -> Result<Self, AdapterError> {
        Ok(Self)
    }

    fn users_page(&mut self, _cursor: Option<&str>) -> Result<Page<AdapterUser>, AdapterError> {
        panic!("users_page panicked on purpose");
    }

    fn groups_page(&mut self, _cursor: Option<&str>) -> Result<Page<AdapterGroup>, AdapterError> {
        Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        })
    }
}

provisiond_plugin_api::export_adapter!(Panics);
