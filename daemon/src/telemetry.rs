//! Logging setup: tracing to stderr, as text or JSON lines, filtered by `RUST_LOG`. Text is
//! coloured only when stderr is a terminal (and `NO_COLOR` is unset), so files, pipes and
//! journald get plain lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; later calls are ignored (tests may call it repeatedly).
pub fn init(format: LogFormat) {
    init_with_default(format, "info");
}

/// Like [`init`], with `default` as the filter when `RUST_LOG` is unset (commands that print
/// their own output log warnings only).
pub fn init_with_default(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
