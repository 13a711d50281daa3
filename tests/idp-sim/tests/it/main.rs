//! Integration tests of the simulator: signatures checked by xmlsec (through samael and the
//! `xmlsec1` command), the metadata parsed by samael, and the HTTP sign-in flows.

// Helpers of this test binary unwrap too: a panic is a test failure with a location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod batch;
mod cli;
mod http;
mod metadata;
mod signing;
mod support;
