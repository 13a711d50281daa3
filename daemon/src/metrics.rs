//! Prometheus metrics: one registry for the process, rendered at `/metrics`.
//!
//! Counters are incremented where outcomes are decided (the HTTP layer for logins and SCIM
//! requests, the sync runner for runs); nothing here knows those modules. Label values are
//! bounded sets (outcome, reason code, status), never user data.

use std::sync::OnceLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    /// Login attempts by outcome (`success`, `refused`, `error`) and reason code.
    pub logins: IntCounterVec,
    /// SCIM requests by method and HTTP status.
    pub scim_requests: IntCounterVec,
    /// Sync runs by connection and final status.
    pub sync_runs: IntCounterVec,
    /// Sync run durations in seconds, by connection.
    pub sync_duration: HistogramVec,
    /// Events written but not yet delivered to the webhook.
    pub webhook_backlog: IntGauge,
}

/// The metrics of this process, created on first use.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new_custom(Some("provisiond".into()), None)
            .unwrap_or_else(|_| Registry::new());
        // The names and labels below are constants, so construction cannot fail; a failure
        // would only lose a metric, never the daemon.
        let logins = IntCounterVec::new(
            Opts::new("logins_total", "SAML login attempts by outcome and reason"),
            &["outcome", "reason"],
        );
        let scim_requests = IntCounterVec::new(
            Opts::new("scim_requests_total", "SCIM requests by method and status"),
            &["method", "status"],
        );
        let sync_runs = IntCounterVec::new(
            Opts::new(
                "sync_runs_total",
                "Scheduled and manual sync runs by status",
            ),
            &["connection", "status"],
        );
        let sync_duration = HistogramVec::new(
            HistogramOpts::new("sync_run_duration_seconds", "Duration of sync runs").buckets(vec![
                0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
            ]),
            &["connection"],
        );
        let webhook_backlog =
            IntGauge::new("webhook_backlog", "Events not yet delivered to the webhook");
        let logins = logins.unwrap_or_else(|_| unreachable_metrics());
        let scim_requests = scim_requests.unwrap_or_else(|_| unreachable_metrics());
        let sync_runs = sync_runs.unwrap_or_else(|_| unreachable_metrics());
        let sync_duration = sync_duration.unwrap_or_else(|_| unreachable_metrics());
        let webhook_backlog = webhook_backlog.unwrap_or_else(|_| unreachable_metrics());
        for collector in [
            Box::new(logins.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(scim_requests.clone()),
            Box::new(sync_runs.clone()),
            Box::new(sync_duration.clone()),
            Box::new(webhook_backlog.clone()),
        ] {
            if let Err(err) = registry.register(collector) {
                tracing::error!(error = %err, "cannot register a metric");
            }
        }
        Self {
            registry,
            logins,
            scim_requests,
            sync_runs,
            sync_duration,
            webhook_backlog,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %err, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

#[allow(clippy::panic)]
fn unreachable_metrics() -> ! {
    // Only reachable if a constant metric name or label above were invalid: a programming
    // error caught by the unit test below on every build.
    panic!("invalid constant metric definition")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_prometheus_text_format() {
        let m = metrics();
        m.logins.with_label_values(&["refused", "replay"]).inc();
        m.scim_requests.with_label_values(&["GET", "200"]).inc();
        let text = m.render();
        assert!(
            text.contains("provisiond_logins_total{outcome=\"refused\",reason=\"replay\"}"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE provisiond_scim_requests_total counter"),
            "{text}"
        );
    }
}
