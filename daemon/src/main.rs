//! The `provisiond` binary: parse the command line and hand over to the library.

use std::io::Write;

use clap::Parser;
use provisiond::cli::OutputClosed;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Initialise OpenSSL first, without its exit-time cleanup: libpq would otherwise initialise
    // it with that cleanup, which frees state that pooled connections' threads still use while
    // the process exits (a crash at exit of CLI commands on PostgreSQL).
    openssl::init();
    let cli = provisiond::cli::Cli::parse();
    match provisiond::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of the output stopped (`| head`): nothing is wrong.
        Err(err) if err.chain().any(|cause| cause.is::<OutputClosed>()) => {
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            // Ignored: with standard error closed too, there is nobody left to tell.
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
