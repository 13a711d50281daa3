//! Errors: [`AdapterError`], what an adapter reports, and [`CallError`], what the daemon sees
//! when a call through the ABI fails.
//!
//! `AdapterError` travels as JSON (`{"kind": "...", ...}`); a panic inside an adapter never
//! unwinds across the boundary but arrives as [`CallError::Panicked`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::types::ConfigProblem;

/// An error reported by an adapter. Messages must never contain a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AdapterError {
    /// The config is invalid. The daemon refuses to sync the connection until it is fixed and
    /// shows every problem to the admin.
    InvalidConfig {
        /// Each problem with its key path.
        problems: Vec<ConfigProblem>,
    },
    /// The IdP rejected the credentials or lacks a permission. The daemon fails the run and
    /// reports it as a configuration issue; retrying without a change will not help.
    Unauthorized {
        /// What was refused and which permission or credential to check.
        message: String,
    },
    /// No HTTP response arrived (connection, TLS or timeout) after the host's retries. The
    /// daemon fails the run and tries again at the next schedule.
    Http {
        /// The transport failure.
        message: String,
    },
    /// The IdP answered with an unexpected status or body. The daemon fails the run and tries
    /// again at the next schedule.
    Remote {
        /// HTTP status, when the failure was a status.
        #[serde(default)]
        status: Option<u16>,
        /// What was expected and what came back.
        message: String,
    },
    /// A cursor or delta token is unknown or expired. The daemon drops it and starts over with
    /// a full listing.
    InvalidCursor {
        /// Why the cursor was refused.
        message: String,
    },
    /// The operation is not implemented (usually delta). The daemon falls back to a full sync.
    Unsupported {
        /// Which operation.
        message: String,
    },
    /// Any other failure inside the adapter. The daemon fails the run.
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl AdapterError {
    /// An [`AdapterError::Internal`] with `message`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
        }
    }

    /// An [`AdapterError::Remote`] with `status` and `message`.
    pub fn remote(status: Option<u16>, message: impl Into<String>) -> Self {
        Self::Remote {
            status,
            message: message.into(),
        }
    }
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig { problems } => {
                write!(f, "invalid config: ")?;
                for (index, problem) in problems.iter().enumerate() {
                    if index > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{problem}")?;
                }
                Ok(())
            }
            Self::Unauthorized { message } => write!(f, "unauthorized: {message}"),
            Self::Http { message } => write!(f, "http failure: {message}"),
            Self::Remote {
                status: Some(status),
                message,
            } => {
                write!(f, "identity provider answered {status}: {message}")
            }
            Self::Remote {
                status: None,
                message,
            } => {
                write!(f, "unexpected identity provider answer: {message}")
            }
            Self::InvalidCursor { message } => write!(f, "invalid cursor: {message}"),
            Self::Unsupported { message } => write!(f, "unsupported: {message}"),
            Self::Internal { message } => write!(f, "internal adapter error: {message}"),
        }
    }
}

impl std::error::Error for AdapterError {}

/// Why a call from the daemon into an adapter failed.
#[derive(Debug)]
pub enum CallError {
    /// The entry symbol returned a null table. The daemon refuses the library.
    NullTable,
    /// The library speaks another ABI version. The daemon refuses the library; the adapter
    /// must be rebuilt against a matching `provisiond-plugin-api`.
    AbiVersionMismatch {
        /// The daemon's version.
        expected: u32,
        /// The library's version.
        found: u32,
    },
    /// The adapter panicked; the panic was caught at the boundary. The daemon fails the
    /// operation; the instance should be dropped.
    Panicked {
        /// Which operation.
        operation: &'static str,
        /// The panic message.
        message: String,
    },
    /// The adapter returned bytes that are not the expected JSON shape. The daemon fails the
    /// operation.
    MalformedJson {
        /// Which operation.
        operation: &'static str,
        /// The parse error (it names positions, not contents of the config).
        detail: String,
    },
    /// The adapter returned a status code this crate does not know.
    UnknownStatus {
        /// Which operation.
        operation: &'static str,
        /// The status received.
        status: u32,
    },
    /// The adapter reported an error; see [`AdapterError`] for the daemon's reaction.
    Adapter {
        /// Which operation.
        operation: &'static str,
        /// The reported error.
        error: AdapterError,
    },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NullTable => write!(f, "the entry symbol returned a null adapter table"),
            Self::AbiVersionMismatch { expected, found } => write!(
                f,
                "adapter ABI version {found} is not supported (this host speaks version {expected})"
            ),
            Self::Panicked { operation, message } => {
                write!(f, "adapter panicked in {operation}: {message}")
            }
            Self::MalformedJson { operation, detail } => {
                write!(
                    f,
                    "adapter returned malformed JSON from {operation}: {detail}"
                )
            }
            Self::UnknownStatus { operation, status } => {
                write!(
                    f,
                    "adapter returned unknown status {status} from {operation}"
                )
            }
            Self::Adapter { operation, error } => write!(f, "{operation} failed: {error}"),
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Adapter { error, .. } => Some(error),
            _ => None,
        }
    }
}
