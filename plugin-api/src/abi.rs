//! The raw C ABI between the daemon and an adapter library.
//!
//! Everything here is `#[repr(C)]`: plain integers, byte buffers and function pointers, so an
//! adapter built with a different compiler version than the daemon still works. Structured data
//! crosses as UTF-8 JSON in byte buffers. Adapter authors do not use this module directly: the
//! [`export_adapter!`](crate::export_adapter) macro writes the adapter side and
//! [`AdapterLibrary`](crate::AdapterLibrary) the daemon side.
//!
//! # Ownership of buffers
//!
//! - Input data is passed as a [`ByteSlice`] borrowed for the duration of the call only.
//! - Output data is an [`OwnedBuffer`] allocated by the callee; the caller hands it back to the
//!   callee's `free_buffer` function (in [`AdapterTable`] or [`HostServices`]) exactly once.
//!
//! # Versioning
//!
//! `abi_version` is the first field of both tables and stays the first field in every future
//! version, so either side can read it before trusting the rest of the layout. Any change to the
//! layout of a table, to a function signature or to the meaning of a status code bumps
//! [`ABI_VERSION`]; adding an optional field to a JSON shape does not.

use std::ffi::c_void;

/// The ABI version spoken by this crate; the daemon refuses libraries reporting another one.
pub const ABI_VERSION: u32 = 1;

/// The name of the one symbol an adapter library exports (see [`EntryPoint`]).
///
/// [`export_adapter!`](crate::export_adapter) emits a function with exactly this name.
pub const ENTRY_SYMBOL: &str = "provisiond_adapter_v1";

/// The type of the exported entry symbol: returns a pointer to a table that lives as long as the
/// library stays loaded.
pub type EntryPoint = unsafe extern "C" fn() -> *const AdapterTable;

/// The call completed; the payload is the JSON result.
pub const STATUS_OK: u32 = 0;
/// The callee reported an error; the payload is a JSON [`AdapterError`](crate::AdapterError).
pub const STATUS_ERROR: u32 = 1;
/// The callee panicked; the panic was caught and the payload is the UTF-8 panic message.
pub const STATUS_PANIC: u32 = 2;

/// Opaque adapter instance, created by [`AdapterTable::create`] and released by
/// [`AdapterTable::destroy`].
#[repr(C)]
pub struct InstanceHandle {
    _private: [u8; 0],
}

/// A borrowed byte slice passed into a call; valid only until the call returns.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ByteSlice {
    /// Start of the bytes; may be null when `len` is zero.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl ByteSlice {
    /// Borrows `bytes` for a call.
    pub fn new(bytes: &[u8]) -> Self {
        Self {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// Views the bytes.
    ///
    /// # Safety
    ///
    /// `ptr` must point to `len` readable bytes that stay valid for `'a`, or be null with any
    /// `len` (read as empty).
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: the caller guarantees ptr/len describe a live allocation.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A byte buffer allocated by one side and freed by the same side's `free_buffer` function.
#[repr(C)]
#[derive(Debug)]
pub struct OwnedBuffer {
    /// Start of the bytes; null for "no buffer".
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
}

impl OwnedBuffer {
    /// A buffer that holds nothing and needs no freeing.
    pub fn empty() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            len: 0,
        }
    }

    /// Moves `bytes` into a buffer allocated by the current library's allocator.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let boxed: Box<[u8]> = bytes.into_boxed_slice();
        let len = boxed.len();
        let ptr = Box::into_raw(boxed).cast::<u8>();
        Self { ptr, len }
    }

    /// Views the bytes without taking ownership.
    ///
    /// # Safety
    ///
    /// The buffer must come from [`OwnedBuffer::from_vec`] (in any library) and not be freed yet.
    pub unsafe fn as_bytes(&self) -> &[u8] {
        // SAFETY: same contract as ByteSlice::as_bytes, guaranteed by the caller.
        unsafe {
            ByteSlice {
                ptr: self.ptr,
                len: self.len,
            }
            .as_bytes()
        }
    }

    /// Releases a buffer made by [`OwnedBuffer::from_vec`] in this same library.
    ///
    /// # Safety
    ///
    /// The buffer must have been allocated by `from_vec` in the library running this code and
    /// must not be used afterwards.
    pub unsafe fn release(self) {
        if self.ptr.is_null() {
            return;
        }
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr, self.len);
        // SAFETY: ptr/len came from Box::into_raw of a Box<[u8]> in this library.
        drop(unsafe { Box::from_raw(slice) });
    }
}

/// The outcome of a call: a status code and a payload owned by the callee.
#[repr(C)]
#[derive(Debug)]
pub struct CallResult {
    /// One of [`STATUS_OK`], [`STATUS_ERROR`], [`STATUS_PANIC`].
    pub status: u32,
    /// JSON result, JSON error or panic message, depending on `status`.
    pub payload: OwnedBuffer,
}

/// The table an adapter library exports through [`ENTRY_SYMBOL`].
///
/// Functions taking an instance may be called from any thread, but never concurrently for one
/// instance.
#[repr(C)]
pub struct AdapterTable {
    /// Must equal [`ABI_VERSION`] of the daemon; always the first field.
    pub abi_version: u32,
    /// Returns a JSON [`Description`](crate::Description).
    pub describe: unsafe extern "C" fn() -> CallResult,
    /// Takes config JSON, returns a JSON array of [`ConfigProblem`](crate::ConfigProblem).
    pub validate_config: unsafe extern "C" fn(config: ByteSlice) -> CallResult,
    /// Takes config JSON and the host services, writes the new instance to `instance` on success.
    /// The `HostServices` value is copied; its `context` must stay valid until `destroy`.
    pub create: unsafe extern "C" fn(
        config: ByteSlice,
        host: *const HostServices,
        instance: *mut *mut InstanceHandle,
    ) -> CallResult,
    /// Takes a JSON [`PageRequest`](crate::PageRequest), returns a JSON
    /// [`Page`](crate::Page) of [`AdapterUser`](crate::AdapterUser).
    pub users_page: unsafe extern "C" fn(*mut InstanceHandle, request: ByteSlice) -> CallResult,
    /// Takes a JSON [`PageRequest`](crate::PageRequest), returns a JSON
    /// [`Page`](crate::Page) of [`AdapterGroup`](crate::AdapterGroup).
    pub groups_page: unsafe extern "C" fn(*mut InstanceHandle, request: ByteSlice) -> CallResult,
    /// Takes a JSON [`DeltaRequest`](crate::DeltaRequest), returns a JSON
    /// [`DeltaPage`](crate::DeltaPage) or an `unsupported` error.
    pub delta: unsafe extern "C" fn(*mut InstanceHandle, request: ByteSlice) -> CallResult,
    /// Releases an instance; the handle must not be used afterwards.
    pub destroy: unsafe extern "C" fn(*mut InstanceHandle),
    /// Releases a payload returned by any function of this table.
    pub free_buffer: unsafe extern "C" fn(OwnedBuffer),
}

/// Services the daemon offers an adapter instance.
///
/// The callbacks may be called from any thread and must be safe to call while `context` lives.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HostServices {
    /// The host's [`ABI_VERSION`]; always the first field.
    pub abi_version: u32,
    /// Opaque host state passed back to every callback.
    pub context: *mut c_void,
    /// Takes a JSON [`HttpRequest`](crate::HttpRequest), returns a JSON
    /// [`HttpResponse`](crate::HttpResponse) (any status) or a JSON error when no response
    /// arrived. The host applies timeouts, retries on 429/5xx honouring `Retry-After`, and TLS.
    pub http_request: unsafe extern "C" fn(context: *mut c_void, request: ByteSlice) -> CallResult,
    /// Writes a UTF-8 message into the host's log at a [`LogLevel`](crate::LogLevel).
    pub log: unsafe extern "C" fn(context: *mut c_void, level: u32, message: ByteSlice),
    /// The host's clock in milliseconds since the Unix epoch.
    pub now_unix_millis: unsafe extern "C" fn(context: *mut c_void) -> i64,
    /// Releases a payload returned by `http_request`.
    pub free_buffer: unsafe extern "C" fn(OwnedBuffer),
}

/// Frees a buffer allocated by this library; used as `free_buffer` in both tables.
///
/// # Safety
///
/// See [`OwnedBuffer::release`].
pub unsafe extern "C" fn free_own_buffer(buffer: OwnedBuffer) {
    // A panic here would cross the C boundary; dropping a Box<[u8]> does not panic.
    // SAFETY: forwarded contract.
    unsafe { buffer.release() }
}
