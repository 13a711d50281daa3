//! `idp-sim`: runs the Entra ID simulator for a tenant file until SIGINT or SIGTERM.
//!
//! Serves the SAML side and the Graph side (token endpoint, Graph v1.0 under `/graph/v1.0`) of
//! the same tenant. Prints the federation metadata URL, the SAML sign-on URL, the Graph base
//! URL and the login base URL, one per line, so a script (or the quickstart) can hand them to
//! provisiond.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use idp_sim::graph::GraphState;
use idp_sim::{IdpKeys, Simulator, Tenant};
use tracing_subscriber::EnvFilter;

/// Plays Microsoft Entra ID as a SAML identity provider for one tenant.
#[derive(Debug, Parser)]
#[command(name = "idp-sim", version)]
struct Args {
    /// The tenant file (YAML).
    #[arg(long, value_name = "FILE")]
    tenant: PathBuf,
    /// Address to listen on; keep it on loopback.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Directory keeping the signing keys, so the metadata survives restarts; fresh keys on
    /// every start when absent.
    #[arg(long, value_name = "DIR")]
    keys_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("idp-sim: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,idp_sim=info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let tenant = Tenant::load(&args.tenant)?;

    let certificates = usize::from(tenant.certificates);
    let keys = match &args.keys_dir {
        Some(dir) => IdpKeys::load_or_generate(dir, certificates)
            .with_context(|| format!("cannot use keys directory {}", dir.display()))?,
        None => IdpKeys::generate(certificates)?,
    };
    let graph = Arc::new(GraphState::new(tenant.directory()));
    let simulator = Simulator::new(tenant, keys)?;

    // Watch the signals before announcing the URLs, so an early SIGTERM is not fatal.
    let shutdown = ShutdownSignal::watch()?;
    let running = idp_sim::start_with_graph(simulator, Some(graph), args.listen).await?;
    println!("metadata: {}", running.metadata_url());
    println!("sso:      {}", running.sso_url());
    println!(
        "graph:    {}{}",
        running.base_url,
        idp_sim::graph::GRAPH_PREFIX
    );
    println!("login:    {}", running.base_url);

    shutdown.wait().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

/// SIGINT (Ctrl-C) and, on Unix, SIGTERM, registered as soon as this is created.
struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    fn watch() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};

            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            let Self {
                mut interrupt,
                mut terminate,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            // Without Ctrl-C support there is nothing to wait for but the process's end.
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
