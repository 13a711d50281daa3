//! provisiond: enterprise single sign-on (SAML 2.0) and user provisioning for an application.
//!
//! The binary in `main.rs` is a thin shell over this library. Data flows one way: HTTP or the
//! scheduler call a domain module (`saml`, `sync`, later `scim`), which writes the `store` in
//! transactions.

pub mod cli;
pub mod config;
pub mod events;
pub mod fold;
pub mod http;
pub mod metrics;
pub mod plugins;
pub mod saml;
pub mod scim;
pub mod session;
pub mod store;
pub mod sync;
pub mod telemetry;
#[doc(hidden)]
pub mod testing;

#[cfg(test)]
mod testutil;
