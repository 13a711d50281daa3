//! Adapter plugin tests: the loader against deliberately broken libraries, the conformance
//! checks every adapter must pass, the Entra adapter against the Graph simulator, sync runs
//! end to end (through the library and through the `provisiond` binary), and sync runs
//! against an adapter whose listings loop, grow without end or hold invalid objects.
//!
//! The adapter libraries are `cdylib`s, which `cargo test -p provisiond` does not build. Run
//! `cargo test --workspace` (or `cargo build --workspace` first): the libraries are then found
//! in the target directory next to this test binary (`target/debug/`). The skeleton adapter,
//! a separate workspace, is built on demand into `target/skeleton-adapter/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "adapters/conformance.rs"]
mod conformance;
#[path = "adapters/entra.rs"]
mod entra;
#[path = "adapters/listings.rs"]
mod listings;
#[path = "adapters/loader.rs"]
mod loader;
#[path = "adapters/processes.rs"]
mod processes;
#[path = "adapters/support.rs"]
mod support;
#[path = "adapters/sync.rs"]
mod sync;
