//! The HTTP face of the simulator: warp routes on Entra's paths, and the server's lifecycle.
//!
//! Routes only extract parameters, call a flow of [`Simulator`], and map the outcome to a reply;
//! [`LoginError`]s become Entra-style error pages here and nowhere else.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warp::Filter;
use warp::Reply as _;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::Simulator;
use crate::graph::GraphState;
use crate::html::error_page;
use crate::login::SsoRequest;
use crate::request::{Binding, LoginError};

/// Largest form body accepted (an AuthnRequest and a RelayState fit easily).
const MAX_FORM_BYTES: u64 = 256 * 1024;

/// A simulator serving HTTP in the background; stops on [`RunningSimulator::stop`] or on drop.
#[derive(Debug)]
pub struct RunningSimulator {
    /// `http://{address}` without a trailing slash.
    pub base_url: String,
    /// The address the server is bound to.
    pub addr: SocketAddr,
    simulator: Arc<Simulator>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSimulator {
    /// The simulator being served.
    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }

    /// The federation metadata URL.
    pub fn metadata_url(&self) -> String {
        self.simulator.metadata_url(&self.base_url)
    }

    /// The SAML sign-on URL.
    pub fn sso_url(&self) -> String {
        self.simulator.sso_url(&self.base_url)
    }

    /// The IdP-initiated sign-in URL for `login`.
    pub fn idp_initiated_url(&self, login: &str) -> String {
        self.simulator.idp_initiated_url(&self.base_url, login)
    }

    /// Stops accepting connections and waits for requests in flight to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "the simulator's server task failed");
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Binds `addr` (use `127.0.0.1:0` in tests) and serves `simulator` on a background task.
///
/// Must be called within a tokio runtime.
pub async fn start(simulator: Simulator, addr: SocketAddr) -> anyhow::Result<RunningSimulator> {
    start_with_graph(simulator, None, addr).await
}

/// Like [`start`], also serving the token endpoint and the Graph endpoints of `graph` (see
/// [`crate::graph`]) on the same address.
pub async fn start_with_graph(
    simulator: Simulator,
    graph: Option<Arc<GraphState>>,
    addr: SocketAddr,
) -> anyhow::Result<RunningSimulator> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let base_url = format!("http://{addr}");

    let state = Arc::new(State {
        simulator: Arc::new(simulator),
        base_url: base_url.clone(),
    });
    let (shutdown, shutdown_signal) = oneshot::channel::<()>();
    let graph_routes = match graph {
        Some(graph) => crate::graph::routes(graph),
        None => warp::any()
            .and_then(|| async { Err::<Response, _>(warp::reject::not_found()) })
            .boxed(),
    };
    let server = warp::serve(routes(state.clone()).or(graph_routes))
        .incoming(listener)
        .graceful(async move {
            // A dropped sender stops the server too.
            let _ = shutdown_signal.await;
        });
    let task = tokio::spawn(server.run());
    tracing::info!(%base_url, tenant = %state.simulator.tenant().tenant_id, "simulator listening");

    Ok(RunningSimulator {
        base_url,
        addr,
        simulator: state.simulator.clone(),
        shutdown: Some(shutdown),
        task: Some(task),
    })
}

struct State {
    simulator: Arc<Simulator>,
    base_url: String,
}

impl State {
    /// Checks the tenant segment of the path, as Entra resolves the tenant first.
    fn tenant_matches(&self, tenant: &str) -> Result<(), LoginError> {
        if tenant.eq_ignore_ascii_case(&self.simulator.tenant().tenant_id.to_string()) {
            Ok(())
        } else {
            Err(LoginError::UnknownTenant {
                tenant: tenant.to_owned(),
            })
        }
    }

    fn picker_action(&self) -> String {
        format!("{}/login", self.simulator.sso_url(&self.base_url))
    }
}

type Params = HashMap<String, String>;

fn routes(
    state: Arc<State>,
) -> impl warp::Filter<Extract = (impl warp::Reply,), Error = warp::Rejection>
+ Clone
+ Send
+ Sync
+ 'static {
    let with_state = warp::any().map(move || state.clone());
    let form = warp::body::content_length_limit(MAX_FORM_BYTES).and(warp::body::form::<Params>());

    let metadata = warp::get()
        .and(with_state.clone())
        .and(warp::path!(
            String / "federationmetadata" / "2007-06" / "federationmetadata.xml"
        ))
        .map(|state: Arc<State>, tenant: String| metadata(&state, &tenant));
    let sso_redirect = warp::get()
        .and(with_state.clone())
        .and(warp::path!(String / "saml2"))
        .and(warp::query::<Params>())
        .map(|state: Arc<State>, tenant: String, params: Params| {
            single_sign_on(&state, &tenant, &params, Binding::Redirect)
        });
    let sso_post = warp::post()
        .and(with_state.clone())
        .and(warp::path!(String / "saml2"))
        .and(form)
        .map(|state: Arc<State>, tenant: String, params: Params| {
            single_sign_on(&state, &tenant, &params, Binding::Post)
        });
    let picked = warp::post()
        .and(with_state.clone())
        .and(warp::path!(String / "saml2" / "login"))
        .and(form)
        .map(|state: Arc<State>, tenant: String, params: Params| {
            single_sign_on(&state, &tenant, &params, Binding::Post)
        });
    let idp_initiated = warp::get()
        .and(with_state)
        .and(warp::path!(String / "saml2" / "idp-initiated"))
        .and(warp::query::<Params>())
        .map(|state: Arc<State>, tenant: String, params: Params| {
            idp_initiated(&state, &tenant, &params)
        });

    metadata
        .or(sso_redirect)
        .unify()
        .or(sso_post)
        .unify()
        .or(picked)
        .unify()
        .or(idp_initiated)
        .unify()
        .with(warp::trace::request())
}

fn metadata(state: &State, tenant: &str) -> Response {
    if let Err(error) = state.tenant_matches(tenant) {
        return login_failure(&error);
    }

    match state.simulator.metadata(&state.base_url) {
        Ok(xml) => with_type(xml, "application/xml; charset=utf-8", StatusCode::OK),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "cannot build the metadata");
            login_failure(&LoginError::Signing {
                reason: format!("{error:#}"),
            })
        }
    }
}

fn single_sign_on(state: &State, tenant: &str, params: &Params, binding: Binding) -> Response {
    let request = SsoRequest {
        saml_request: params.get("SAMLRequest").cloned(),
        relay_state: params.get("RelayState").cloned(),
        login_hint: params.get("login_hint").cloned(),
        user: params.get("user").cloned(),
    };

    let page = state.tenant_matches(tenant).and_then(|()| {
        state
            .simulator
            .single_sign_on(&request, binding, &state.picker_action(), Utc::now())
    });
    html_or_error(page)
}

fn idp_initiated(state: &State, tenant: &str, params: &Params) -> Response {
    let login = params.get("user").map(String::as_str);
    let relay_state = params.get("relay_state").map(String::as_str);

    let page = state.tenant_matches(tenant).and_then(|()| {
        state
            .simulator
            .idp_initiated(login, relay_state, Utc::now())
    });
    html_or_error(page)
}

fn html_or_error(page: Result<String, LoginError>) -> Response {
    match page {
        Ok(html) => with_type(html, "text/html; charset=utf-8", StatusCode::OK),
        Err(error) => login_failure(&error),
    }
}

/// The one place a [`LoginError`] becomes an HTTP reply.
fn login_failure(error: &LoginError) -> Response {
    let status = match error {
        LoginError::Signing { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(code = error.code(), %request_id, reason = %error, "sign-in refused");

    with_type(
        error_page(error, &request_id, Utc::now()),
        "text/html; charset=utf-8",
        status,
    )
}

fn with_type(body: String, content_type: &'static str, status: StatusCode) -> Response {
    let reply = warp::reply::with_header(body, "content-type", content_type);
    let reply = warp::reply::with_header(reply, "cache-control", "no-store");
    warp::reply::with_status(reply, status).into_response()
}
