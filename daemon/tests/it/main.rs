//! provisiond's integration tests, in one binary: SAML login refusals through the library
//! with a fixed clock, and the whole SP-initiated flow over real HTTP against the IdP
//! simulator and the real `provisiond` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_api;
mod cli;
mod e2e;
mod idp_readings;
mod metadata_refresh;
mod name_ids;
mod refusals;
mod replicas;
mod scim;
mod support;
mod webhook;
