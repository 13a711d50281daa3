//! A hand-written adapter table that returns bytes which are not the promised JSON: describe is
//! valid (so loading succeeds), validate_config returns text that is not JSON, users_page
//! returns JSON of the wrong shape, and groups_page claims an unknown status.

use provisiond_plugin_api::ABI_VERSION;
use provisiond_plugin_api::abi::{
    AdapterTable, ByteSlice, CallResult, HostServices, InstanceHandle, OwnedBuffer, STATUS_OK,
    free_own_buffer,
};

/// The entry symbol.
#[unsafe(no_mangle)]
pub extern "C" fn provisiond_adapter_v1() -> *const AdapterTable {
    static TABLE: AdapterTable = AdapterTable {
        abi_version: ABI_VERSION,
        describe,
        validate_config,
        create,
        users_page,
        groups_page,
        delta: users_page,
        destroy,
        free_buffer: free_own_buffer,
    };
    &TABLE
}

fn ok(bytes: &[u8]) -> CallResult {
    CallResult {
        status: STATUS_OK,
        payload: OwnedBuffer::from_vec(bytes.to_vec()),
    }
}

unsafe extern "C" fn describe() -> CallResult {
    ok(br#"{"name": "malformed-json", "version": "0.0.0"}"#)
}

unsafe extern "C" fn validate_config(_config: ByteSlice) -> CallResult {
    ok(b"this is not json")
}

unsafe extern "C" fn create(
    _config: ByteSlice,
    _host: *const HostServices,
    instance: *mut *mut InstanceHandle,
) -> CallResult {
    // Any non-null address works as a handle: the other functions never dereference it.
    static MARKER: u8 = 0;
    if !instance.is_null() {
        // SAFETY: the host passes a writable slot.
        unsafe {
            *instance = std::ptr::from_ref(&MARKER)
                .cast_mut()
                .cast::<InstanceHandle>()
        };
    }
    ok(b"null")
}

unsafe extern "C" fn users_page(_instance: *mut InstanceHandle, _request: ByteSlice) -> CallResult {
    ok(br#"{"items": "not a list"}"#)
}

unsafe extern "C" fn groups_page(_instance: *mut InstanceHandle, _req: ByteSlice) -> CallResult {
    CallResult {
        status: 77,
        payload: OwnedBuffer::empty(),
    }
}

/// Nothing to free: the handle is a static marker.
unsafe extern "C" fn destroy(_instance: *mut InstanceHandle) {}
