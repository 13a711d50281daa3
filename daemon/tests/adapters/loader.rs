//! The loader refuses or contains every kind of broken adapter with an error naming the file.

use provisiond::plugins::{ABI_VERSION, LoadedAdapter, PluginError};
use serde_json::json;

use crate::support::{clock, http_client, library_dir, load};

#[test]
fn a_library_with_another_abi_version_is_refused_naming_both_versions_and_the_file() {
    let err = load("bad_adapter_wrong_abi").unwrap_err();

    assert!(
        matches!(
            err,
            PluginError::AbiVersionMismatch {
                found: 999,
                expected: ABI_VERSION,
                ..
            }
        ),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("version 999"), "{message}");
    assert!(
        message.contains(&format!("version {ABI_VERSION}")),
        "{message}"
    );
    assert!(message.contains("libbad_adapter_wrong_abi"), "{message}");
}

#[test]
fn a_library_without_the_entry_symbol_is_refused() {
    let err = load("bad_adapter_no_symbol").unwrap_err();

    assert!(matches!(err, PluginError::MissingSymbol { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("provisiond_adapter_v1"), "{message}");
    assert!(message.contains("libbad_adapter_no_symbol"), "{message}");
}

#[test]
fn a_panicking_adapter_becomes_an_error_and_stays_usable() {
    let adapter = load("bad_adapter_panics").unwrap();

    let err = adapter
        .validate_config(&json!({"panic": true}))
        .unwrap_err();
    assert!(
        matches!(
            err,
            PluginError::Panicked {
                operation: "validate_config",
                ..
            }
        ),
        "{err}"
    );

    let mut session = adapter.create(&json!({}), http_client(&clock())).unwrap();
    let err = session.users_page(None).unwrap_err();
    assert!(
        err.to_string().contains("users_page panicked on purpose"),
        "{err}"
    );
    assert!(err.to_string().contains("bad-adapter-panics"), "{err}");

    assert!(session.groups_page(None).unwrap().items.is_empty());
}

#[test]
fn malformed_json_from_an_adapter_is_reported_per_operation() {
    let adapter = load("bad_adapter_malformed_json").unwrap();

    let err = adapter.validate_config(&json!({})).unwrap_err();
    assert!(matches!(
        err,
        PluginError::MalformedJson {
            operation: "validate_config",
            ..
        }
    ));

    let mut session = adapter.create(&json!({}), http_client(&clock())).unwrap();
    let err = session.users_page(None).unwrap_err();
    assert!(
        matches!(
            err,
            PluginError::MalformedJson {
                operation: "users_page",
                ..
            }
        ),
        "{err}"
    );

    let err = session.groups_page(None).unwrap_err();
    assert!(matches!(err, PluginError::BrokenAbi { .. }), "{err}");
    assert!(err.to_string().contains("unknown status 77"), "{err}");
}

#[test]
fn a_missing_adapter_names_the_directory_and_files_tried() {
    let dir = library_dir("bad_adapter_panics");

    let err = LoadedAdapter::load(&dir, "no-such-adapter").unwrap_err();

    assert!(matches!(err, PluginError::LibraryNotFound { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("libprovisiond_adapter_no_such_adapter"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_library_fails_to_load_with_the_loader_reason() {
    let dir = std::env::temp_dir().join(format!("provisiond-loader-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let names = provisiond::plugins::library_file_names("garbage");
    std::fs::write(dir.join(&names[0]), b"not an ELF file").unwrap();

    let err = LoadedAdapter::load(&dir, "garbage").unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();

    assert!(matches!(err, PluginError::LoadFailed { .. }), "{err}");
    assert!(err.to_string().contains(&names[0]), "{err}");
}
