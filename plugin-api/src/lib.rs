//! The boundary between provisiond and its identity provider adapters.
//!
//! Adapters are shared libraries (`cdylib`) loaded at run time. Rust has no stable ABI, so the
//! boundary is plain C ([`abi`]): the library exports one symbol ([`ENTRY_SYMBOL`]) returning a
//! table of function pointers tagged with [`ABI_VERSION`], and all data crosses as UTF-8 JSON
//! byte buffers freed by whoever allocated them.
//!
//! - Adapter authors implement [`Adapter`], do their I/O through [`Host`] and write one line,
//!   [`export_adapter!`]. See the crate README for the guide.
//! - The daemon wraps a loaded table in [`AdapterLibrary`], creates [`AdapterInstance`]s and
//!   serves their I/O through a [`HostProvider`].
//!
//! This crate depends on std, serde and serde_json only, so it adds nothing to an adapter's
//! dependency tree and carries no async runtime or TLS stack.

#![warn(missing_docs)]

pub mod abi;
mod adapter;
mod client;
mod error;
#[doc(hidden)]
pub mod export;
mod types;

pub use abi::{ABI_VERSION, ENTRY_SYMBOL};
pub use adapter::{Adapter, Host};
pub use client::{AdapterInstance, AdapterLibrary, HostProvider};
pub use error::{AdapterError, CallError};
pub use types::{
    AdapterGroup, AdapterUser, ConfigProblem, DeltaNext, DeltaPage, DeltaRequest, Description,
    HttpRequest, HttpResponse, LogLevel, Page, PageRequest,
};

#[cfg(test)]
mod tests;
