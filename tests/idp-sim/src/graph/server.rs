//! A stand-alone server for the Graph routes, for tests: binds, serves, shuts down on drop.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::routes::{GRAPH_PREFIX, routes};
use super::state::GraphState;

/// A running Graph simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct GraphServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl GraphServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The login base URL (the adapter's `login_base_url`).
    pub fn login_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Graph base URL (the adapter's `graph_base_url`).
    pub fn graph_base_url(&self) -> String {
        format!("http://{}{GRAPH_PREFIX}", self.addr)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for GraphServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Serves the Graph routes of `state` on `addr` (use port 0 for an ephemeral port) on the
/// current tokio runtime.
pub async fn serve_graph(state: Arc<GraphState>, addr: SocketAddr) -> std::io::Result<GraphServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (shutdown, signal) = oneshot::channel::<()>();

    let server = warp::serve(routes(state))
        .incoming(listener)
        .graceful(async move {
            let _ = signal.await;
        });
    let task = tokio::spawn(server.run());
    Ok(GraphServer {
        addr,
        shutdown: Some(shutdown),
        task: Some(task),
    })
}
