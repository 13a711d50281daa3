//! HTTP: warp routes for the login page, the SAML endpoints, SCIM, sessions and health.
//!
//! Handlers extract, call a domain function, and map the result; no business logic lives
//! here. Every request runs in a span carrying a request id and the route.

mod api_routes;
pub use api_routes::ROUTES as ADMIN_API_ROUTES;
mod pages;
mod saml_routes;
mod scim_request;
mod scim_routes;
mod session_routes;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::config::Config;
use crate::saml::Providers;
use crate::session::SessionKeys;
use crate::store::Store;

/// The clock handlers read; tests pass a fixed one.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Everything a handler needs, shared by all requests.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The store.
    pub store: Store,
    /// One SAML service provider per SAML connection.
    pub providers: Providers,
    /// Session token keys.
    pub keys: SessionKeys,
    /// Current time.
    pub clock: Clock,
    /// Runs syncs on demand (the admin API); `None` where nothing syncs.
    pub sync: Option<Arc<crate::sync::SyncContext>>,
    /// SCIM tokens recently found valid (revocation reaches them within seconds).
    pub scim_tokens: crate::scim::tokens::TokenCache,
}

impl AppState {
    /// State with the wall clock.
    pub fn new(config: Arc<Config>, store: Store, providers: Providers) -> Self {
        let keys = SessionKeys::new(config.server.session_key.clone());
        Self {
            config,
            store,
            providers,
            keys,
            clock: Arc::new(Utc::now),
            sync: None,
            scim_tokens: crate::scim::tokens::TokenCache::new(),
        }
    }

    /// Lets the admin API trigger syncs through this context.
    pub fn with_sync(mut self, sync: Arc<crate::sync::SyncContext>) -> Self {
        self.sync = Some(sync);
        self
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// All routes.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let health = warp::path!("healthz").and(warp::get()).map(|| {
        warp::reply::with_header("ok\n", "content-type", "text/plain; charset=utf-8")
            .into_response()
    });

    let ready = warp::path!("readyz")
        .and(warp::get())
        .and(with_state(state.clone()))
        .then(readiness);
    let metrics = warp::path!("metrics").and(warp::get()).map(|| {
        warp::reply::with_header(
            crate::metrics::metrics().render(),
            "content-type",
            "text/plain; version=0.0.4; charset=utf-8",
        )
        .into_response()
    });

    health
        .or(ready)
        .unify()
        .or(metrics)
        .unify()
        .or(api_routes::routes(state.clone()))
        .unify()
        .or(saml_routes::routes(state.clone()))
        .unify()
        .or(scim_routes::routes(state.clone()))
        .unify()
        .or(session_routes::routes(state))
        .unify()
        .recover(recover)
        .unify()
        .with(warp::trace(|info| {
            tracing::info_span!(
                "request",
                id = %uuid::Uuid::new_v4().simple(),
                method = %info.method(),
                path = %info.path(),
            )
        }))
        .map(Reply::into_response)
        .boxed()
}

/// Serves until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    warp::serve(routes(state))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// Binds the listener, naming the address on failure.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, std::io::Error> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| std::io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}")))
}

/// Ready when the database answers and every migration is applied.
async fn readiness(state: AppState) -> Response {
    let result = state.store.run(|store| store.is_migrated()).await;
    let (status, body) = match result {
        Ok(true) => (StatusCode::OK, "ready\n".to_string()),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "migrations pending\n".to_string(),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable\n".to_string(),
            )
        }
    };
    let reply = warp::reply::with_header(body, "content-type", "text/plain; charset=utf-8");
    warp::reply::with_status(reply, status).into_response()
}

fn with_state(state: AppState) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

use warp::Reply;

async fn recover(rejection: warp::Rejection) -> Result<Response, Infallible> {
    // A rejection gathers what every route of the path refused, so a POST whose body `/sso`
    // refuses also carries the "method not allowed" of its GET route: what is wrong with a
    // request that reached a route's body is the answer, and the method only when no route
    // took it that far.
    let (status, message) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "Not found.")
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is too large.",
        )
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported content type.",
        )
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some()
        || rejection
            .find::<warp::filters::body::BodyDeserializeError>()
            .is_some()
    {
        (StatusCode::BAD_REQUEST, "The request is malformed.")
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        (
            StatusCode::LENGTH_REQUIRED,
            "The request must state its length (Content-Length).",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.")
    } else {
        tracing::warn!(?rejection, "unhandled rejection");
        (StatusCode::BAD_REQUEST, "The request could not be handled.")
    };
    Ok(pages::message_page(
        status,
        "Request refused",
        message,
        None,
    ))
}
