//! The host services one adapter instance receives: HTTP through the shared client, logging into
//! `tracing` tagged with the adapter name, and the (injectable) clock.

use std::sync::Arc;

use provisiond_plugin_api::{HostProvider, HttpRequest, HttpResponse, LogLevel};

use super::http::HttpClient;

/// [`HostProvider`] for one adapter instance.
#[derive(Debug, Clone)]
pub struct DaemonHost {
    adapter: String,
    http: HttpClient,
}

impl DaemonHost {
    /// Services for adapter `adapter` using the shared `http` client and its clock.
    pub fn new(adapter: impl Into<String>, http: HttpClient) -> Self {
        Self {
            adapter: adapter.into(),
            http,
        }
    }
}

impl HostProvider for DaemonHost {
    fn http_request(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        self.http.send(&self.adapter, &request)
    }

    fn log(&self, level: LogLevel, message: &str) {
        let adapter = self.adapter.as_str();
        match level {
            LogLevel::Error => tracing::error!(target: "provisiond::adapter", adapter, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "provisiond::adapter", adapter, "{message}"),
            LogLevel::Info => tracing::info!(target: "provisiond::adapter", adapter, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "provisiond::adapter", adapter, "{message}"),
            LogLevel::Trace => tracing::trace!(target: "provisiond::adapter", adapter, "{message}"),
        }
    }

    fn now_unix_millis(&self) -> i64 {
        self.http.clock().now_unix_millis()
    }
}

/// Wraps a [`DaemonHost`] for [`LoadedAdapter::create`](super::LoadedAdapter::create).
pub(crate) fn provider(host: DaemonHost) -> Arc<dyn HostProvider> {
    Arc::new(host)
}
