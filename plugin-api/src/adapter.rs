//! The adapter author's side: the [`Adapter`] trait and the [`Host`] services handle.
//!
//! An adapter implements [`Adapter`] and exports it with
//! [`export_adapter!`](crate::export_adapter). It does all I/O through [`Host`], so it needs no
//! async runtime, TLS stack or clock of its own, and tests can point it at a simulator.

use serde_json::Value;

use crate::abi::{ABI_VERSION, ByteSlice, CallResult, HostServices, STATUS_OK};
use crate::error::AdapterError;
use crate::types::{
    AdapterGroup, AdapterUser, ConfigProblem, DeltaPage, Description, HttpRequest, HttpResponse,
    LogLevel, Page,
};

/// An identity provider adapter.
///
/// The daemon calls one instance from one thread at a time (possibly a different thread each
/// call), hence `Send` and `&mut self`. Any panic is caught at the boundary and reported to the
/// daemon as an error, but adapters should return [`AdapterError`] instead.
pub trait Adapter: Send + Sized + 'static {
    /// Name, version and config schema.
    fn describe() -> Description;

    /// Every problem with `config`, each with its key path; empty when the config is usable.
    ///
    /// The daemon calls this before [`Adapter::new`], and `new` is only reached with a config
    /// that produced no problems.
    fn validate_config(config: &Value) -> Vec<ConfigProblem>;

    /// Creates an instance from a validated config. Should not do network I/O.
    fn new(config: Value, host: Host) -> Result<Self, AdapterError>;

    /// One page of the users assigned to the application; `cursor` is `None` for the first page.
    fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, AdapterError>;

    /// One page of the groups assigned to the application, each with its member user ids.
    fn groups_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterGroup>, AdapterError>;

    /// Changes since `token` (see [`DeltaRequest`](crate::DeltaRequest)). The default reports
    /// [`AdapterError::Unsupported`] and the daemon runs full listings instead.
    fn delta(&mut self, token: Option<&str>) -> Result<DeltaPage, AdapterError> {
        let _ = token;
        Err(AdapterError::Unsupported {
            message: "delta is not implemented".to_owned(),
        })
    }
}

/// The daemon's services, as seen from inside an adapter.
#[derive(Debug)]
pub struct Host {
    services: HostServices,
}

// SAFETY: the HostServices contract requires callbacks that may be called from any thread for
// as long as the instance lives; the context pointer is only passed back to them.
unsafe impl Send for Host {}

impl Host {
    /// Wraps a services table.
    ///
    /// # Safety
    ///
    /// The function pointers must be valid to call with `services.context` from any thread
    /// until this `Host` is dropped, and must follow the contracts documented on
    /// [`HostServices`].
    pub unsafe fn from_services(services: HostServices) -> Result<Self, AdapterError> {
        if services.abi_version != ABI_VERSION {
            return Err(AdapterError::internal(format!(
                "host speaks ABI version {}, adapter speaks {ABI_VERSION}",
                services.abi_version
            )));
        }
        Ok(Self { services })
    }

    /// Sends an HTTP request through the daemon's client.
    ///
    /// The daemon applies connect and read timeouts and retries 429/5xx responses and
    /// connection failures with backoff honouring `Retry-After`; what comes back is the final
    /// response, whatever its status. An error means no response arrived.
    pub fn http(&self, request: &HttpRequest) -> Result<HttpResponse, AdapterError> {
        let body = serde_json::to_vec(request)
            .map_err(|err| AdapterError::internal(format!("cannot encode request: {err}")))?;

        // SAFETY: the contract of from_services.
        let result: CallResult =
            unsafe { (self.services.http_request)(self.services.context, ByteSlice::new(&body)) };
        let status = result.status;
        // SAFETY: the payload is the host's buffer and is freed right after copying.
        let bytes = unsafe { result.payload.as_bytes().to_vec() };
        // SAFETY: returned to the allocator that made it, exactly once.
        unsafe { (self.services.free_buffer)(result.payload) };

        if status == STATUS_OK {
            return serde_json::from_slice(&bytes).map_err(|err| {
                AdapterError::internal(format!("host returned a malformed HTTP response: {err}"))
            });
        }
        match serde_json::from_slice::<AdapterError>(&bytes) {
            Ok(error) => Err(error),
            Err(_) => Err(AdapterError::Http {
                message: String::from_utf8_lossy(&bytes).into_owned(),
            }),
        }
    }

    /// Writes `message` into the daemon's log, tagged with the adapter name. Never log secrets.
    pub fn log(&self, level: LogLevel, message: &str) {
        // SAFETY: the contract of from_services.
        unsafe {
            (self.services.log)(
                self.services.context,
                level as u32,
                ByteSlice::new(message.as_bytes()),
            )
        }
    }

    /// Logs at [`LogLevel::Debug`].
    pub fn debug(&self, message: &str) {
        self.log(LogLevel::Debug, message);
    }

    /// Logs at [`LogLevel::Info`].
    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message);
    }

    /// Logs at [`LogLevel::Warn`].
    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message);
    }

    /// The daemon's clock, in milliseconds since the Unix epoch (tests may fix it).
    pub fn now_unix_millis(&self) -> i64 {
        // SAFETY: the contract of from_services.
        unsafe { (self.services.now_unix_millis)(self.services.context) }
    }
}
