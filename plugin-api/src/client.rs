//! The daemon's side of the ABI: a safe wrapper around an adapter table.
//!
//! The daemon loads a library (with `libloading`), looks up [`ENTRY_SYMBOL`](crate::ENTRY_SYMBOL)
//! and hands the function to [`AdapterLibrary::from_entry`]. Every other raw pointer stays in
//! this module. Calls block; run them off async worker threads.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::abi::{
    ABI_VERSION, AdapterTable, ByteSlice, CallResult, EntryPoint, HostServices, InstanceHandle,
    OwnedBuffer, STATUS_ERROR, STATUS_OK, STATUS_PANIC, free_own_buffer,
};
use crate::error::{AdapterError, CallError};
use crate::export::{error_result, panic_message};
use crate::types::{
    AdapterGroup, AdapterUser, ConfigProblem, DeltaPage, DeltaRequest, Description, HttpRequest,
    HttpResponse, LogLevel, Page, PageRequest,
};

/// What the daemon implements to serve an adapter instance's host calls.
///
/// Methods may be called from whatever thread runs the adapter call. Panics are caught and
/// turned into errors (for `http_request`) or ignored (for `log`, `now_unix_millis` returns 0).
pub trait HostProvider: Send + Sync {
    /// Sends a request with timeouts and retries; `Err` carries a message when no response
    /// arrived at all.
    fn http_request(&self, request: HttpRequest) -> Result<HttpResponse, String>;

    /// Records an adapter log message.
    fn log(&self, level: LogLevel, message: &str);

    /// The current time in milliseconds since the Unix epoch.
    fn now_unix_millis(&self) -> i64;
}

/// A checked adapter table from a loaded library.
#[derive(Clone, Copy, Debug)]
pub struct AdapterLibrary {
    table: *const AdapterTable,
}

// SAFETY: the table is immutable static data in the library, and its functions may be called
// from any thread (the ABI contract).
unsafe impl Send for AdapterLibrary {}
// SAFETY: as above; no function takes &mut access to the table.
unsafe impl Sync for AdapterLibrary {}

impl AdapterLibrary {
    /// Calls the library's entry point and checks the ABI version.
    ///
    /// # Safety
    ///
    /// `entry` must be the library's [`ENTRY_SYMBOL`](crate::ENTRY_SYMBOL) function, and the
    /// library must stay loaded as long as the returned value and any [`AdapterInstance`] made
    /// from it exist.
    pub unsafe fn from_entry(entry: EntryPoint) -> Result<Self, CallError> {
        // SAFETY: the caller's contract.
        let table = unsafe { entry() };
        if table.is_null() {
            return Err(CallError::NullTable);
        }

        // The version is the first field in every ABI version, so it is safe to read before
        // trusting the rest of the layout.
        // SAFETY: non-null, and points to static data in the loaded library.
        let found = unsafe { ptr::read(table.cast::<u32>()) };
        if found != ABI_VERSION {
            return Err(CallError::AbiVersionMismatch {
                expected: ABI_VERSION,
                found,
            });
        }
        Ok(Self { table })
    }

    fn table(&self) -> &AdapterTable {
        // SAFETY: checked non-null with a matching version in from_entry; static while loaded.
        unsafe { &*self.table }
    }

    /// The adapter's name, version and config schema.
    pub fn describe(&self) -> Result<Description, CallError> {
        let table = self.table();
        // SAFETY: a function of a checked table.
        let result = unsafe { (table.describe)() };
        self.finish("describe", result)
    }

    /// Every problem the adapter finds with `config`.
    pub fn validate_config(&self, config: &Value) -> Result<Vec<ConfigProblem>, CallError> {
        let bytes = encode_input(config);
        let table = self.table();
        // SAFETY: a function of a checked table, with a slice valid for the call.
        let result = unsafe { (table.validate_config)(ByteSlice::new(&bytes)) };
        self.finish("validate_config", result)
    }

    /// Creates an adapter instance that uses `host` for its I/O.
    ///
    /// The config is validated by the adapter first; problems come back as
    /// [`AdapterError::InvalidConfig`]. The config's contents never appear in an error.
    pub fn create(
        &self,
        config: &Value,
        host: Arc<dyn HostProvider>,
    ) -> Result<AdapterInstance, CallError> {
        let bytes = encode_input(config);
        let context = Box::new(HostContext { provider: host });
        let services = HostServices {
            abi_version: ABI_VERSION,
            context: ptr::from_ref::<HostContext>(&context)
                .cast_mut()
                .cast::<c_void>(),
            http_request: host_http_request,
            log: host_log,
            now_unix_millis: host_now,
            free_buffer: free_own_buffer,
        };

        let mut handle: *mut InstanceHandle = ptr::null_mut();
        let table = self.table();
        // SAFETY: a function of a checked table; services and the out slot live for the call,
        // and the context box is kept in the instance until after destroy.
        let result = unsafe { (table.create)(ByteSlice::new(&bytes), &services, &mut handle) };
        let _: Value = self.finish("create", result)?;
        if handle.is_null() {
            return Err(CallError::Adapter {
                operation: "create",
                error: AdapterError::internal("create succeeded without an instance"),
            });
        }
        Ok(AdapterInstance {
            library: *self,
            handle,
            _context: context,
        })
    }

    /// Turns a call result into a value, freeing the payload.
    fn finish<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        result: CallResult,
    ) -> Result<T, CallError> {
        let status = result.status;
        // SAFETY: the adapter's buffer, copied and then returned to it exactly once.
        let bytes = unsafe { result.payload.as_bytes().to_vec() };
        // SAFETY: a function of a checked table, given its own buffer.
        unsafe { (self.table().free_buffer)(result.payload) };

        match status {
            STATUS_OK => serde_json::from_slice(&bytes).map_err(|err| CallError::MalformedJson {
                operation,
                detail: err.to_string(),
            }),
            STATUS_ERROR => match serde_json::from_slice::<AdapterError>(&bytes) {
                Ok(error) => Err(CallError::Adapter { operation, error }),
                Err(err) => Err(CallError::MalformedJson {
                    operation,
                    detail: err.to_string(),
                }),
            },
            STATUS_PANIC => Err(CallError::Panicked {
                operation,
                message: String::from_utf8_lossy(&bytes).into_owned(),
            }),
            status => Err(CallError::UnknownStatus { operation, status }),
        }
    }
}

/// A live adapter instance; destroyed on drop.
///
/// Calls take `&mut self`: one call at a time per instance. The value may move between threads.
#[derive(Debug)]
pub struct AdapterInstance {
    library: AdapterLibrary,
    handle: *mut InstanceHandle,
    // Dropped after the instance is destroyed (Drop runs before fields are dropped).
    _context: Box<HostContext>,
}

// SAFETY: the Adapter trait requires Send, the handle is used by one caller at a time (&mut),
// and the host context is Send + Sync.
unsafe impl Send for AdapterInstance {}

impl AdapterInstance {
    /// One page of assigned users; `cursor` is `None` for the first page.
    pub fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, CallError> {
        let request = PageRequest {
            cursor: cursor.map(str::to_owned),
        };
        self.call("users_page", self.library.table().users_page, &request)
    }

    /// One page of assigned groups with their member user ids.
    pub fn groups_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterGroup>, CallError> {
        let request = PageRequest {
            cursor: cursor.map(str::to_owned),
        };
        self.call("groups_page", self.library.table().groups_page, &request)
    }

    /// One page of changes; see [`DeltaRequest`] for what `token` is.
    pub fn delta(&mut self, token: Option<&str>) -> Result<DeltaPage, CallError> {
        let request = DeltaRequest {
            token: token.map(str::to_owned),
        };
        self.call("delta", self.library.table().delta, &request)
    }

    fn call<R: Serialize, T: DeserializeOwned>(
        &mut self,
        operation: &'static str,
        function: unsafe extern "C" fn(*mut InstanceHandle, ByteSlice) -> CallResult,
        request: &R,
    ) -> Result<T, CallError> {
        let bytes = encode_input(request);
        // SAFETY: a live handle from this table's create, used exclusively (&mut self).
        let result = unsafe { function(self.handle, ByteSlice::new(&bytes)) };
        self.library.finish(operation, result)
    }
}

impl Drop for AdapterInstance {
    fn drop(&mut self) {
        // SAFETY: the handle came from create and is destroyed exactly once, here.
        unsafe { (self.library.table().destroy)(self.handle) };
    }
}

/// The state behind `HostServices::context`.
struct HostContext {
    provider: Arc<dyn HostProvider>,
}

impl std::fmt::Debug for HostContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostContext")
    }
}

/// # Safety
///
/// `context` must be the `HostContext` of a live instance.
unsafe fn provider<'a>(context: *mut c_void) -> &'a dyn HostProvider {
    // SAFETY: the caller's contract.
    unsafe { &*context.cast::<HostContext>() }.provider.as_ref()
}

unsafe extern "C" fn host_http_request(context: *mut c_void, request: ByteSlice) -> CallResult {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the adapter passes a slice valid for the call and our own context.
        let (bytes, provider) = unsafe { (request.as_bytes(), provider(context)) };
        let request: HttpRequest = serde_json::from_slice(bytes).map_err(|err| {
            AdapterError::internal(format!("adapter sent a malformed HTTP request: {err}"))
        })?;
        let response = provider
            .http_request(request)
            .map_err(|message| AdapterError::Http { message })?;
        serde_json::to_vec(&response)
            .map_err(|err| AdapterError::internal(format!("cannot encode HTTP response: {err}")))
    }));
    match outcome {
        Ok(Ok(bytes)) => CallResult {
            status: STATUS_OK,
            payload: OwnedBuffer::from_vec(bytes),
        },
        Ok(Err(error)) => error_result(&error),
        Err(panic) => error_result(&AdapterError::internal(format!(
            "host panicked serving an HTTP request: {}",
            panic_message(panic.as_ref())
        ))),
    }
}

unsafe extern "C" fn host_log(context: *mut c_void, level: u32, message: ByteSlice) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the adapter passes a slice valid for the call and our own context.
        let (bytes, provider) = unsafe { (message.as_bytes(), provider(context)) };
        provider.log(LogLevel::from_u32(level), &String::from_utf8_lossy(bytes));
    }));
}

unsafe extern "C" fn host_now(context: *mut c_void) -> i64 {
    // SAFETY: our own context.
    catch_unwind(AssertUnwindSafe(|| {
        unsafe { provider(context) }.now_unix_millis()
    }))
    .unwrap_or(0)
}

/// Encodes a call input. Serializing these plain types to a Vec cannot fail; a failure would
/// surface as the adapter's "malformed JSON" error rather than a panic here.
fn encode_input<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}
