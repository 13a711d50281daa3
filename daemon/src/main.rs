//! The `provisiond` binary: parse the command line and hand over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Initialise OpenSSL first, without its exit-time cleanup: libpq would otherwise initialise
    // it with that cleanup, which frees state that pooled connections' threads still use while
    // the process exits (a crash at exit of CLI commands on PostgreSQL).
    openssl::init();
    let cli = provisiond::cli::Cli::parse();
    match provisiond::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
