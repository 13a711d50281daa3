//! An adapter whose table reports ABI version 999: the daemon must refuse it at load, naming
//! both versions and the file.

use provisiond_plugin_api::abi::AdapterTable;
use provisiond_plugin_api::{
    Adapter, AdapterError, AdapterGroup, AdapterUser, ConfigProblem, Description, Host, Page,
};
use serde_json::Value;

/// The ABI version this library claims.
pub const CLAIMED_ABI_VERSION: u32 = 999;

/// A well-behaved adapter behind a table with the wrong version.
pub struct FromTheFuture;

impl Adapter for FromTheFuture {
    fn describe() -> Description {
        Description {
            name: "wrong-abi".into(),
            version: "9.9.9".into(),
            config_schema: Value::Null,
            supports_delta: false,
        }
    }

    fn validate_config(_config: &Value) -> Vec<ConfigProblem> {
        Vec::new()
    }

    fn new(_config: Value, _host: Host) -> Result<Self, AdapterError> {
        Ok(Self)
    }

    fn users_page(&mut self, _cursor: Option<&str>) -> Result<Page<AdapterUser>, AdapterError> {
        Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        })
    }

    fn groups_page(&mut self, _cursor: Option<&str>) -> Result<Page<AdapterGroup>, AdapterError> {
        Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        })
    }
}

/// The entry symbol, returning a table with [`CLAIMED_ABI_VERSION`].
#[unsafe(no_mangle)]
pub extern "C" fn provisiond_adapter_v1() -> *const AdapterTable {
    static TABLE: AdapterTable = {
        let mut table = provisiond_plugin_api::export::table::<FromTheFuture>();
        table.abi_version = CLAIMED_ABI_VERSION;
        table
    };
    &TABLE
}
