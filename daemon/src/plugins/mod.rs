//! Adapter plugins: finding, loading and checking adapter libraries, and the host services
//! (HTTP, logging, clock) their instances use.
//!
//! An adapter is a shared library in the adapters directory, named after the crate convention
//! (`libprovisiond_adapter_{name}.so`, or `lib{name}.so`; see [`library_file_names`]). Loading
//! checks the entry symbol and the ABI version and asks the adapter to describe itself. All raw
//! pointer work happens in `provisiond-plugin-api`; this module only holds the library handle.
//!
//! Every call into an adapter blocks (its HTTP goes through a blocking client): run
//! [`AdapterSession`] calls, and build or drop an [`HttpClient`], inside
//! `tokio::task::spawn_blocking`, never on an async worker thread.
//!
//! Adapter configs may hold secrets (`client_secret`): they go to the adapter and nowhere
//! else; no error or log line here includes them.
//!
//! ```ignore
//! let http = HttpClient::new(HttpSettings::default(), Arc::new(SystemClock))?;
//! let adapter = LoadedAdapter::load(Path::new("/usr/lib/provisiond/adapters"), "entra")?;
//! let mut session = adapter.create(&config_json, http)?;
//! let first = session.users_page(None)?;
//! ```

mod clock;
mod error;
mod host;
mod http;
mod loader;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::PluginError;
pub use host::DaemonHost;
pub use http::{HttpClient, HttpSettings};
pub use loader::{AdapterSession, LoadedAdapter, find_library, library_file_names};
pub use provisiond_plugin_api::{
    ABI_VERSION, AdapterError, AdapterGroup, AdapterUser, ConfigProblem, DeltaNext, DeltaPage,
    Description, Page,
};
