//! Round trips through the C ABI inside one process: the export glue and the daemon-side client.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::abi::AdapterTable;
use crate::*;

struct Fixed {
    host: Host,
}

impl Adapter for Fixed {
    fn describe() -> Description {
        Description {
            name: "fixed".into(),
            version: "1.0.0".into(),
            config_schema: json!({"type": "object"}),
            supports_delta: false,
        }
    }

    fn validate_config(config: &Value) -> Vec<ConfigProblem> {
        match config.get("users").and_then(Value::as_u64) {
            Some(_) => Vec::new(),
            None => vec![ConfigProblem::new("users", "expected a number")],
        }
    }

    fn new(_config: Value, host: Host) -> Result<Self, AdapterError> {
        Ok(Self { host })
    }

    fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, AdapterError> {
        if cursor == Some("boom") {
            #[allow(clippy::panic)]
            {
                panic!("exploded on purpose");
            }
        }
        if cursor == Some("http") {
            let response = self.host.http(&HttpRequest::get("http://127.0.0.1/x"))?;
            self.host.info(&format!("status {}", response.status));
            return Ok(Page {
                items: Vec::new(),
                next_cursor: Some(response.body),
            });
        }
        let start: usize = cursor.map(|c| c.parse().unwrap_or(0)).unwrap_or(0);
        let items = (start..start + 2).map(user).collect();
        let next_cursor = (start < 2).then(|| (start + 2).to_string());
        Ok(Page { items, next_cursor })
    }

    fn groups_page(&mut self, _cursor: Option<&str>) -> Result<Page<AdapterGroup>, AdapterError> {
        Err(AdapterError::Unauthorized {
            message: "no groups for you".into(),
        })
    }
}

fn user(index: usize) -> AdapterUser {
    AdapterUser::new(format!("u{index}"), format!("user{index}@example.test"))
}

crate::export_adapter!(Fixed);

unsafe extern "C" fn wrong_version() -> *const AdapterTable {
    static TABLE: AdapterTable = {
        let mut table = crate::export::table::<Fixed>();
        table.abi_version = 99;
        table
    };
    &TABLE
}

#[derive(Default)]
struct RecordingHost {
    logs: Mutex<Vec<String>>,
}

impl HostProvider for RecordingHost {
    fn http_request(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        Ok(HttpResponse {
            status: 200,
            headers: Default::default(),
            body: request.url,
        })
    }

    fn log(&self, level: LogLevel, message: &str) {
        if let Ok(mut logs) = self.logs.lock() {
            logs.push(format!("{level:?} {message}"));
        }
    }

    fn now_unix_millis(&self) -> i64 {
        42
    }
}

fn library() -> AdapterLibrary {
    // SAFETY: the entry point is linked into this test binary.
    match unsafe { AdapterLibrary::from_entry(provisiond_adapter_v1) } {
        Ok(library) => library,
        Err(err) => unreachable!("loading the in-process table failed: {err}"),
    }
}

#[test]
fn describe_and_validate_cross_the_boundary() {
    let library = library();

    assert_eq!(library.describe().unwrap().name, "fixed");
    assert!(
        library
            .validate_config(&json!({"users": 3}))
            .unwrap()
            .is_empty()
    );
    let problems = library.validate_config(&json!({})).unwrap();
    assert_eq!(
        problems,
        vec![ConfigProblem::new("users", "expected a number")]
    );
}

#[test]
fn create_refuses_an_invalid_config_with_its_problems() {
    let err = library().create(
        &json!({"secret": "s3cr3t"}),
        Arc::new(RecordingHost::default()),
    );

    let err = err.unwrap_err();
    assert!(matches!(
        &err,
        CallError::Adapter { error: AdapterError::InvalidConfig { problems }, .. }
            if problems.len() == 1
    ));
    assert!(!err.to_string().contains("s3cr3t"));
}

#[test]
fn users_are_paged_until_the_cursor_runs_out() {
    let mut instance = library()
        .create(&json!({"users": 4}), Arc::new(RecordingHost::default()))
        .unwrap();

    let first = instance.users_page(None).unwrap();
    let second = instance.users_page(first.next_cursor.as_deref()).unwrap();

    assert_eq!(first.items.len() + second.items.len(), 4);
    assert_eq!(second.next_cursor, None);
}

#[test]
fn a_panic_in_the_adapter_becomes_an_error() {
    let mut instance = library()
        .create(&json!({"users": 4}), Arc::new(RecordingHost::default()))
        .unwrap();

    let err = instance.users_page(Some("boom")).unwrap_err();

    assert!(
        matches!(&err, CallError::Panicked { message, .. } if message == "exploded on purpose")
    );
    // The instance stays usable after a caught panic.
    assert!(instance.users_page(None).is_ok());
}

#[test]
fn adapter_errors_and_default_delta_are_reported() {
    let mut instance = library()
        .create(&json!({"users": 4}), Arc::new(RecordingHost::default()))
        .unwrap();

    let groups = instance.groups_page(None).unwrap_err();
    let delta = instance.delta(None).unwrap_err();

    assert!(matches!(
        groups,
        CallError::Adapter {
            error: AdapterError::Unauthorized { .. },
            ..
        }
    ));
    assert!(matches!(
        delta,
        CallError::Adapter {
            error: AdapterError::Unsupported { .. },
            ..
        }
    ));
}

#[test]
fn host_services_reach_the_provider() {
    let host = Arc::new(RecordingHost::default());
    let mut instance = library()
        .create(&json!({"users": 4}), host.clone())
        .unwrap();

    let page = instance.users_page(Some("http")).unwrap();

    assert_eq!(page.next_cursor.as_deref(), Some("http://127.0.0.1/x"));
    assert_eq!(host.logs.lock().unwrap().as_slice(), ["Info status 200"]);
}

#[test]
fn a_table_with_another_abi_version_is_refused_naming_both() {
    // SAFETY: an entry point linked into this test binary.
    let err = unsafe { AdapterLibrary::from_entry(wrong_version) }.unwrap_err();

    assert!(matches!(
        err,
        CallError::AbiVersionMismatch {
            expected: ABI_VERSION,
            found: 99
        }
    ));
    assert!(err.to_string().contains("99") && err.to_string().contains(&ABI_VERSION.to_string()));
}

#[test]
fn adapter_error_json_is_tagged_by_kind() {
    let error = AdapterError::Remote {
        status: Some(503),
        message: "busy".into(),
    };

    let encoded = serde_json::to_value(&error).unwrap();

    assert_eq!(
        encoded,
        json!({"kind": "remote", "status": 503, "message": "busy"})
    );
}
