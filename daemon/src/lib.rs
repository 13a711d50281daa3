//! provisiond: enterprise single sign-on (SAML 2.0) and user provisioning for an application.
//!
//! The binary in `main.rs` is a thin shell over this library. Data flows one way: HTTP or the
//! scheduler call a domain module (`saml`, later `scim` and `sync`), which writes the `store`
//! in one transaction.

pub mod cli;
pub mod config;
pub mod events;
pub mod http;
pub mod metrics;
pub mod plugins;
pub mod saml;
pub mod scim;
pub mod session;
pub mod store;
pub mod telemetry;
#[doc(hidden)]
pub mod testing;

#[cfg(test)]
mod testutil;
