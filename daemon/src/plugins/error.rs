//! Errors of loading and calling adapters, each naming the adapter and its library file.

use std::path::PathBuf;

use provisiond_plugin_api::{AdapterError, CallError};

/// Why an adapter could not be loaded or a call into it failed.
///
/// Messages name the adapter and the library file, never the adapter's config (which may hold
/// a client secret).
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The adapter name is not a plain lowercase identifier; fix the connection config.
    #[error("adapter name `{name}` is invalid: expected lowercase letters, digits, `-` or `_`")]
    InvalidName {
        /// The name as configured.
        name: String,
    },

    /// No library file for the adapter; install it into the adapters directory.
    #[error("adapter `{adapter}`: no library in {dir}: looked for {tried}")]
    LibraryNotFound {
        /// The adapter name.
        adapter: String,
        /// The adapters directory searched.
        dir: PathBuf,
        /// The file names tried, comma-separated.
        tried: String,
    },

    /// The file exists but the system loader refused it (wrong architecture, missing
    /// dependency, not a shared library).
    #[error("adapter `{adapter}`: cannot load {path}: {source}")]
    LoadFailed {
        /// The adapter name.
        adapter: String,
        /// The library file.
        path: PathBuf,
        /// The loader's error.
        source: libloading::Error,
    },

    /// The library is not a provisiond adapter (no entry symbol).
    #[error(
        "adapter `{adapter}`: {path} does not export `{symbol}`; \
         is it built with provisiond_plugin_api::export_adapter!?"
    )]
    MissingSymbol {
        /// The adapter name.
        adapter: String,
        /// The library file.
        path: PathBuf,
        /// The symbol looked for.
        symbol: &'static str,
    },

    /// The library was built against another plugin API; rebuild it.
    #[error(
        "adapter `{adapter}`: {path} speaks adapter ABI version {found}, this daemon speaks \
         version {expected}; rebuild the adapter against provisiond-plugin-api with ABI \
         version {expected}"
    )]
    AbiVersionMismatch {
        /// The adapter name.
        adapter: String,
        /// The library file.
        path: PathBuf,
        /// The daemon's ABI version.
        expected: u32,
        /// The library's ABI version.
        found: u32,
    },

    /// The adapter panicked; the panic was caught. Drop the session.
    #[error("adapter `{adapter}` ({path}) panicked in {operation}: {message}")]
    Panicked {
        /// The adapter name.
        adapter: String,
        /// The library file.
        path: PathBuf,
        /// The call that panicked.
        operation: &'static str,
        /// The panic message.
        message: String,
    },

    /// The adapter returned JSON of the wrong shape; a bug in the adapter.
    #[error("adapter `{adapter}` ({path}) returned malformed JSON from {operation}: {detail}")]
    MalformedJson {
        /// The adapter name.
        adapter: String,
        /// The library file.
        path: PathBuf,
        /// The call.
        operation: &'static str,
        /// The parse error.
        detail: String,
    },

    /// The adapter broke the calling convention (null table, unknown status); a bug in the
    /// adapter.
    #[error("adapter `{adapter}` ({path}) broke the ABI: {detail}")]
    BrokenAbi {
        /// The adapter name.
        adapter: String,
        /// The library file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },

    /// The adapter reported an error; its kind says what to do (see [`AdapterError`]).
    #[error("adapter `{adapter}` ({path}): {operation} failed: {source}")]
    Adapter {
        /// The adapter name.
        adapter: String,
        /// The library file.
        path: PathBuf,
        /// The call.
        operation: &'static str,
        /// The adapter's error.
        source: AdapterError,
    },

    /// The shared HTTP client could not be built (TLS backend or resolver initialisation).
    #[error("cannot build the HTTP client for adapters: {0}")]
    HttpClient(#[source] reqwest::Error),

    /// A call did not answer within the connection's `sync.call_timeout_seconds`. It cannot
    /// be interrupted: the run fails and leaves the call to end on its own thread.
    #[error(
        "adapter `{adapter}` did not answer {operation} within {limit_seconds} s \
         (sync.call_timeout_seconds); the run stops and leaves the call to end on its own"
    )]
    TimedOut {
        /// The adapter name.
        adapter: String,
        /// The call.
        operation: &'static str,
        /// The limit, in seconds.
        limit_seconds: f64,
    },

    /// The thread that runs an adapter's calls could not start, or ended without answering.
    #[error("adapter thread: {0}")]
    Thread(String),
}

impl PluginError {
    /// Attaches the adapter and file to an error from a call through the ABI.
    pub(crate) fn from_call(adapter: &str, path: &std::path::Path, error: CallError) -> Self {
        let adapter = adapter.to_owned();
        let path = path.to_path_buf();
        match error {
            CallError::AbiVersionMismatch { expected, found } => Self::AbiVersionMismatch {
                adapter,
                path,
                expected,
                found,
            },
            CallError::Panicked { operation, message } => Self::Panicked {
                adapter,
                path,
                operation,
                message,
            },
            CallError::MalformedJson { operation, detail } => Self::MalformedJson {
                adapter,
                path,
                operation,
                detail,
            },
            CallError::Adapter { operation, error } => Self::Adapter {
                adapter,
                path,
                operation,
                source: error,
            },
            CallError::NullTable => Self::BrokenAbi {
                adapter,
                path,
                detail: "the entry symbol returned a null table".to_owned(),
            },
            CallError::UnknownStatus { operation, status } => Self::BrokenAbi {
                adapter,
                path,
                detail: format!("{operation} returned unknown status {status}"),
            },
        }
    }

    /// The adapter-reported error, if this is one.
    pub fn adapter_error(&self) -> Option<&AdapterError> {
        match self {
            Self::Adapter { source, .. } => Some(source),
            _ => None,
        }
    }
}
