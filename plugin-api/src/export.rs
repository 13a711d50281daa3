//! The adapter-side glue behind [`export_adapter!`](crate::export_adapter): `extern "C"`
//! functions, generic over the adapter type, that decode JSON, call the trait, encode the result
//! and catch every panic.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::abi::{
    ABI_VERSION, AdapterTable, ByteSlice, CallResult, HostServices, InstanceHandle, OwnedBuffer,
    STATUS_ERROR, STATUS_OK, STATUS_PANIC, free_own_buffer,
};
use crate::adapter::{Adapter, Host};
use crate::error::AdapterError;
use crate::types::{DeltaRequest, PageRequest};

/// Emits the entry symbol of an adapter library for `$adapter: Adapter`.
///
/// Put it once at the crate root of a `cdylib`:
///
/// ```ignore
/// provisiond_plugin_api::export_adapter!(MyAdapter);
/// ```
#[macro_export]
macro_rules! export_adapter {
    ($adapter:ty) => {
        /// The adapter table; the symbol name equals `provisiond_plugin_api::ENTRY_SYMBOL`.
        #[unsafe(no_mangle)]
        pub extern "C" fn provisiond_adapter_v1() -> *const $crate::abi::AdapterTable {
            static TABLE: $crate::abi::AdapterTable = $crate::export::table::<$adapter>();
            &TABLE
        }
    };
}

/// The table for adapter type `A`; used by [`export_adapter!`](crate::export_adapter).
pub const fn table<A: Adapter>() -> AdapterTable {
    AdapterTable {
        abi_version: ABI_VERSION,
        describe: describe::<A>,
        validate_config: validate_config::<A>,
        create: create::<A>,
        users_page: users_page::<A>,
        groups_page: groups_page::<A>,
        delta: delta::<A>,
        destroy: destroy::<A>,
        free_buffer: free_own_buffer,
    }
}

unsafe extern "C" fn describe<A: Adapter>() -> CallResult {
    guarded(|| encode(&A::describe()))
}

unsafe extern "C" fn validate_config<A: Adapter>(config: ByteSlice) -> CallResult {
    guarded(|| {
        // SAFETY: the host passes a slice valid for this call.
        let config: Value = decode(unsafe { config.as_bytes() }, "config")?;
        encode(&A::validate_config(&config))
    })
}

unsafe extern "C" fn create<A: Adapter>(
    config: ByteSlice,
    host: *const HostServices,
    instance: *mut *mut InstanceHandle,
) -> CallResult {
    guarded(|| {
        if host.is_null() || instance.is_null() {
            return Err(AdapterError::internal("create called with a null pointer"));
        }
        // SAFETY: the host passes a slice valid for this call.
        let config: Value = decode(unsafe { config.as_bytes() }, "config")?;
        let problems = A::validate_config(&config);
        if !problems.is_empty() {
            return Err(AdapterError::InvalidConfig { problems });
        }

        // SAFETY: non-null and valid for this call; the table is copied, and its context is
        // guaranteed by the host to outlive the instance.
        let host = unsafe { Host::from_services(*host) }?;
        let adapter = A::new(config, host)?;

        let raw = Box::into_raw(Box::new(adapter)).cast::<InstanceHandle>();
        // SAFETY: checked non-null above; the host provides a writable slot.
        unsafe { *instance = raw };
        Ok(b"null".to_vec())
    })
}

/// Decodes a request, finds the instance and calls `call` on it, all inside the panic guard.
fn with_instance<A: Adapter, R: DeserializeOwned, T: Serialize>(
    instance: *mut InstanceHandle,
    request: ByteSlice,
    what: &'static str,
    call: impl FnOnce(&mut A, R) -> Result<T, AdapterError>,
) -> CallResult {
    guarded(|| {
        // SAFETY: the host passes a slice valid for this call.
        let request: R = decode(unsafe { request.as_bytes() }, what)?;
        // SAFETY: a handle made by create::<A>, used by one thread at a time.
        let adapter = unsafe { adapter_mut::<A>(instance) }?;
        encode(&call(adapter, request)?)
    })
}

unsafe extern "C" fn users_page<A: Adapter>(
    instance: *mut InstanceHandle,
    request: ByteSlice,
) -> CallResult {
    with_instance::<A, PageRequest, _>(instance, request, "page request", |adapter, request| {
        adapter.users_page(request.cursor.as_deref())
    })
}

unsafe extern "C" fn groups_page<A: Adapter>(
    instance: *mut InstanceHandle,
    request: ByteSlice,
) -> CallResult {
    with_instance::<A, PageRequest, _>(instance, request, "page request", |adapter, request| {
        adapter.groups_page(request.cursor.as_deref())
    })
}

unsafe extern "C" fn delta<A: Adapter>(
    instance: *mut InstanceHandle,
    request: ByteSlice,
) -> CallResult {
    with_instance::<A, DeltaRequest, _>(instance, request, "delta request", |adapter, request| {
        adapter.delta(request.token.as_deref())
    })
}

unsafe extern "C" fn destroy<A: Adapter>(instance: *mut InstanceHandle) {
    if instance.is_null() {
        return;
    }
    // A panic in Drop is swallowed: there is no one left to report it to.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: a handle made by create::<A>; the host destroys it exactly once.
        drop(unsafe { Box::from_raw(instance.cast::<A>()) });
    }));
}

/// Turns a handle back into the adapter.
///
/// # Safety
///
/// `instance` must come from `create::<A>` and not be destroyed or used concurrently.
unsafe fn adapter_mut<'a, A: Adapter>(
    instance: *mut InstanceHandle,
) -> Result<&'a mut A, AdapterError> {
    if instance.is_null() {
        return Err(AdapterError::internal("called with a null instance"));
    }
    // SAFETY: the caller's contract.
    Ok(unsafe { &mut *instance.cast::<A>() })
}

/// Runs `body`, turning its result, error or panic into a [`CallResult`].
fn guarded(body: impl FnOnce() -> Result<Vec<u8>, AdapterError>) -> CallResult {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(bytes)) => CallResult {
            status: STATUS_OK,
            payload: OwnedBuffer::from_vec(bytes),
        },
        Ok(Err(error)) => error_result(&error),
        Err(panic) => CallResult {
            status: STATUS_PANIC,
            payload: OwnedBuffer::from_vec(panic_message(panic.as_ref()).into_bytes()),
        },
    }
}

/// An error [`CallResult`] carrying `error` as JSON.
pub(crate) fn error_result(error: &AdapterError) -> CallResult {
    let bytes = serde_json::to_vec(error)
        .unwrap_or_else(|_| br#"{"kind":"internal","message":"cannot encode error"}"#.to_vec());
    CallResult {
        status: STATUS_ERROR,
        payload: OwnedBuffer::from_vec(bytes),
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, AdapterError> {
    serde_json::to_vec(value)
        .map_err(|err| AdapterError::internal(format!("cannot encode result: {err}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, AdapterError> {
    serde_json::from_slice(bytes)
        .map_err(|err| AdapterError::internal(format!("host sent malformed {what} JSON: {err}")))
}
