//! SCIM 2.0 over HTTP (RFC 7644) at `/scim/v2/{connection}`: `Users`, `Groups`,
//! `ServiceProviderConfig`, `ResourceTypes` and `Schemas`.
//!
//! Every request needs the connection's bearer token (401 with `WWW-Authenticate: Bearer`
//! otherwise; the token is never logged). Handlers read the request, call one function of
//! [`crate::scim::service`] on the blocking pool, and map the result; [`error_response`] is
//! the one place errors become statuses and RFC 7644 §3.12 bodies. Responses are
//! `application/scim+json`; requests may be `application/json` or `application/scim+json`,
//! at most [`MAX_BODY_BYTES`]. Each write logs one line: connection, operation, resource id,
//! status.

use bytes::Buf;
use futures_util::StreamExt;
use serde_json::{Value, json};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, Method, StatusCode};
use warp::reply::Response;

use super::scim_request::{canonical_endpoint, operation_name, percent_decode, query_param};
use super::{AppState, with_state};
use crate::scim::error::ERROR_SCHEMA;
use crate::scim::projection::Projection;
use crate::scim::schema::{self, LIST_RESPONSE_SCHEMA};
use crate::scim::service::{self, Answer, ListParams, Scope, ServiceError};
use crate::scim::tokens::{self, AuthError};
use crate::scim::{ResourceKind, ScimError};

/// The largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The SCIM media type (RFC 7644 §3.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// Why a SCIM request was answered with an error.
#[derive(Debug, thiserror::Error)]
enum RouteError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("no SCIM endpoint at {0}")]
    NoEndpoint(String),
    #[error("{0} is not allowed here")]
    Method(Method),
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("content type {0:?} is not JSON; send application/scim+json")]
    MediaType(String),
    #[error("the request body could not be read")]
    Body,
    #[error("the server is shutting down")]
    Cancelled,
}

/// The parts of a request a handler needs.
struct Request {
    method: Method,
    connection: String,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    if_match: Option<String>,
    body: Option<Value>,
    /// `Some(header)` when the token is still to be checked (with the operation).
    authorization: Option<Option<String>>,
}

/// The SCIM routes.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    warp::path("scim")
        .and(warp::path("v2"))
        .and(warp::path::param::<String>())
        .and(warp::path::tail())
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::body::stream())
        .and(with_state(state))
        .then(
            |connection: String,
             tail: warp::path::Tail,
             method: Method,
             headers: warp::http::HeaderMap,
             query: String,
             body,
             state: AppState| async move {
                let label = method.as_str().to_owned();
                let response = handle(state, connection, tail, method, headers, query, body).await;
                crate::metrics::metrics()
                    .scim_requests
                    .with_label_values(&[label.as_str(), response.status().as_str()])
                    .inc();
                response
            },
        )
        .boxed()
}

#[allow(clippy::too_many_arguments)]
async fn handle<S, B>(
    state: AppState,
    connection: String,
    tail: warp::path::Tail,
    method: Method,
    headers: warp::http::HeaderMap,
    query: String,
    body: S,
) -> Response
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let segments: Vec<String> = tail
        .as_str()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .enumerate()
        .map(|(i, s)| if i == 0 { canonical_endpoint(s) } else { s })
        .collect();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let op = operation_name(&method, &segments);

    // `/Users` and `/Groups` with a token found valid moments ago check it again in the same
    // blocking call as the operation (one hop to the blocking pool per request, after reading
    // the body, which is size-limited); every other request checks its token first, so one
    // without a valid token is refused before its body is read.
    let now = state.now();
    let authorization = header("authorization");
    let deferred_auth = state.config.connection(&connection).is_some()
        && segments
            .first()
            .is_some_and(|s| s == "Users" || s == "Groups")
        && state
            .scim_tokens
            .recently_valid(authorization.as_deref(), now);
    if !deferred_auth {
        let name = connection.clone();
        let authorization = authorization.clone();
        let cache = state.scim_tokens.clone();
        let auth = state
            .store
            .run(move |store| {
                tokens::authenticate(store, &cache, &name, authorization.as_deref(), now)
            })
            .await;
        if let Err(err) = auth {
            return error_response(&connection, op, RouteError::Auth(err));
        }
    }
    if state.config.connection(&connection).is_none() {
        return error_response(
            &connection,
            op,
            RouteError::NoEndpoint(tail.as_str().into()),
        );
    }
    // Discovery documents are read-only (RFC 7644 §4).
    let discovery = ["ServiceProviderConfig", "ResourceTypes", "Schemas"];
    if method != Method::GET
        && segments
            .first()
            .is_some_and(|s| discovery.contains(&s.as_str()))
    {
        return error_response(&connection, op, RouteError::Method(method));
    }

    let result = async {
        let body = read_body(&method, header("content-type").as_deref(), body).await?;
        let query = serde_urlencoded::from_str::<Vec<(String, String)>>(&query)
            .map_err(|_| ScimError::invalid_syntax("the query string is malformed"))?;
        let request = Request {
            method,
            connection: connection.clone(),
            segments,
            query,
            if_match: header("if-match"),
            body,
            authorization: deferred_auth.then_some(authorization),
        };
        dispatch(&state, request).await
    }
    .await;

    let response = match result {
        Ok(response) => response,
        Err(err) => return error_response(&connection, op, err),
    };
    if let Some(op) = op {
        tracing::info!(
            connection = %connection,
            op,
            id = %response.1.as_deref().unwrap_or("-"),
            status = response.0.status().as_u16(),
            "scim write"
        );
    }
    response.0
}

/// Runs the request; answers the response and, for writes, the resource id.
async fn dispatch(
    state: &AppState,
    request: Request,
) -> Result<(Response, Option<String>), RouteError> {
    let base_url = format!(
        "{}/scim/v2/{}",
        state.config.server.base(),
        request.connection
    );
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    let projection = Projection::parse(
        query_param(&request.query, "attributes"),
        query_param(&request.query, "excludedAttributes"),
    )?;
    let now = state.now();
    let method = request.method.clone();

    let discovery = |body: Value| Ok((scim_json(StatusCode::OK, &body), None));
    match (&method, segments.as_slice()) {
        (&Method::GET, ["ServiceProviderConfig"]) => {
            discovery(schema::service_provider_config(&base_url))
        }
        (&Method::GET, ["ResourceTypes"]) => {
            discovery(discovery_list(schema::resource_types(&base_url)))
        }
        (&Method::GET, ["ResourceTypes", id]) => schema::resource_types(&base_url)
            .into_iter()
            .find(|t| t["id"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(id)))
            .map_or_else(
                || Err(ScimError::NotFound(format!("ResourceType {id}")).into()),
                discovery,
            ),
        (&Method::GET, ["Schemas"]) => discovery(discovery_list(schema::schemas(&base_url))),
        (&Method::GET, ["Schemas", id]) => schema::schema_document(&base_url, id).map_or_else(
            || Err(ScimError::NotFound(format!("Schema {id}")).into()),
            discovery,
        ),
        (&Method::POST, [".search"]) => {
            let connection = request.connection.clone();
            let config = state.config.clone();
            let body = request.body.unwrap_or(Value::Null);
            let list = state
                .store
                .run(move |store| -> Result<Value, RouteError> {
                    let scope = Scope {
                        connection: &connection,
                        config: connection_config(&config, &connection)?,
                        base_url: &base_url,
                        now,
                    };
                    let params = ListParams::from_search_body(&body)?;
                    Ok(service::search_all(store, scope, &params)?)
                })
                .await?;
            Ok((scim_json(StatusCode::OK, &list), None))
        }
        (_, [endpoint, rest @ ..]) => {
            let kind = match *endpoint {
                "Users" => ResourceKind::User,
                "Groups" => ResourceKind::Group,
                _ => return Err(RouteError::NoEndpoint(request.segments.join("/"))),
            };
            let id = rest.first().map(|s| s.to_string());
            if rest.len() > 1 {
                return Err(RouteError::NoEndpoint(request.segments.join("/")));
            }
            let resource = ResourceCall {
                kind,
                id,
                request,
                base_url,
                projection,
                now,
            };
            resource.run(state).await
        }
        _ => Err(RouteError::NoEndpoint(request.segments.join("/"))),
    }
}

/// One call on `/Users` or `/Groups`.
struct ResourceCall {
    kind: ResourceKind,
    id: Option<String>,
    request: Request,
    base_url: String,
    projection: Projection,
    now: chrono::DateTime<chrono::Utc>,
}

impl ResourceCall {
    async fn run(self, state: &AppState) -> Result<(Response, Option<String>), RouteError> {
        let ResourceCall {
            kind,
            id,
            request,
            base_url,
            projection,
            now,
        } = self;
        let Request {
            method,
            connection,
            query,
            if_match,
            body,
            authorization,
            ..
        } = request;
        let body = body.unwrap_or(Value::Null);
        let is_search = id.as_deref() == Some(".search");
        let user = kind == ResourceKind::User;
        let token_cache = state.scim_tokens.clone();
        let config = state.config.clone();

        enum Outcome {
            One(Answer),
            List(Value),
            Deleted(String),
        }
        // Writes queue for SQLite's writer (committed in batches); reads run beside them.
        let writes = method != Method::GET && !is_search;
        let work = move |store: &crate::store::Store| -> Result<Outcome, RouteError> {
            if let Some(authorization) = &authorization {
                let header = authorization.as_deref();
                tokens::authenticate(store, &token_cache, &connection, header, now)?;
            }
            let scope = Scope {
                connection: &connection,
                config: connection_config(&config, &connection)?,
                base_url: &base_url,
                now,
            };
            let if_match = if_match.as_deref();
            let outcome = match (method, id.as_deref()) {
                (Method::GET, None) => {
                    let params = ListParams::from_query(&query)?;
                    Outcome::List(if user {
                        service::list_users(store, scope, &params)?
                    } else {
                        service::list_groups(store, scope, &params)?
                    })
                }
                (Method::POST, Some(_)) if is_search => {
                    let params = ListParams::from_search_body(&body)?;
                    Outcome::List(if user {
                        service::list_users(store, scope, &params)?
                    } else {
                        service::list_groups(store, scope, &params)?
                    })
                }
                (Method::POST, None) => Outcome::One(if user {
                    service::create_user(store, scope, &body, &projection)?
                } else {
                    service::create_group(store, scope, &body, &projection)?
                }),
                (Method::GET, Some(id)) => Outcome::One(if user {
                    service::get_user(store, scope, id, &projection)?
                } else {
                    service::get_group(store, scope, id, &projection)?
                }),
                (Method::PUT, Some(id)) => Outcome::One(if user {
                    service::replace_user(store, scope, id, &body, if_match, &projection)?
                } else {
                    service::replace_group(store, scope, id, &body, if_match, &projection)?
                }),
                (Method::PATCH, Some(id)) => Outcome::One(if user {
                    service::patch_user(store, scope, id, &body, if_match, &projection)?
                } else {
                    service::patch_group(store, scope, id, &body, if_match)?
                }),
                (Method::DELETE, Some(id)) => {
                    if user {
                        service::delete_user(store, scope, id, if_match)?;
                    } else {
                        service::delete_group(store, scope, id, if_match)?;
                    }
                    Outcome::Deleted(id.to_string())
                }
                (method, _) => return Err(RouteError::Method(method)),
            };
            Ok(outcome)
        };
        let outcome = if writes {
            state.store.run_write(work).await?
        } else {
            state.store.run(work).await?
        };

        Ok(match outcome {
            Outcome::List(body) => (scim_json(StatusCode::OK, &body), None),
            Outcome::Deleted(id) => (empty(StatusCode::NO_CONTENT), Some(id)),
            Outcome::One(answer) => {
                let id = Some(answer.id.clone());
                (resource_response(answer), id)
            }
        })
    }
}

/// The configuration of a connection the request was already checked to name.
fn connection_config<'a>(
    config: &'a crate::config::Config,
    name: &str,
) -> Result<&'a crate::config::ConnectionConfig, RouteError> {
    config
        .connection(name)
        .ok_or_else(|| RouteError::NoEndpoint(name.to_string()))
}

impl From<crate::store::StoreError> for RouteError {
    fn from(err: crate::store::StoreError) -> Self {
        match err {
            crate::store::StoreError::Cancelled => RouteError::Cancelled,
            other => RouteError::Service(ServiceError::Store(other)),
        }
    }
}

fn resource_response(answer: Answer) -> Response {
    let etag = crate::scim::etag(answer.version);
    let mut response = match &answer.body {
        None => empty(StatusCode::NO_CONTENT),
        Some(body) if answer.created => {
            let mut response = scim_json(StatusCode::CREATED, body);
            if let Some(location) = body
                .pointer("/meta/location")
                .and_then(Value::as_str)
                .and_then(|l| HeaderValue::from_str(l).ok())
            {
                response.headers_mut().insert("location", location);
            }
            response
        }
        Some(body) => scim_json(StatusCode::OK, body),
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert("etag", value);
    }
    response
}

/// The one place errors become responses; 5xx causes are logged here.
fn error_response(connection: &str, op: Option<&str>, err: RouteError) -> Response {
    let (status, body) = match &err {
        RouteError::Service(ServiceError::Scim(scim)) | RouteError::Scim(scim) => {
            (status(scim.status()), scim.to_body())
        }
        RouteError::Service(ServiceError::Store(cause))
        | RouteError::Auth(AuthError::Store(cause)) => {
            tracing::error!(connection, error = %cause, "scim request failed in the store");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                error_body(500, "internal error; the server log has the cause"),
            )
        }
        RouteError::Auth(reason) => {
            tracing::warn!(connection, reason = %reason, "scim request refused");
            let mut response = scim_json(
                StatusCode::UNAUTHORIZED,
                &error_body(401, "a valid bearer token for this connection is required"),
            );
            response
                .headers_mut()
                .insert("www-authenticate", HeaderValue::from_static("Bearer"));
            return response;
        }
        RouteError::NoEndpoint(_) => (StatusCode::NOT_FOUND, error_body(404, &err.to_string())),
        RouteError::Method(_) => (
            StatusCode::METHOD_NOT_ALLOWED,
            error_body(405, &err.to_string()),
        ),
        RouteError::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            error_body(413, &err.to_string()),
        ),
        RouteError::MediaType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            error_body(415, &err.to_string()),
        ),
        RouteError::Body => (
            StatusCode::BAD_REQUEST,
            ScimError::invalid_syntax(err.to_string()).to_body(),
        ),
        RouteError::Cancelled => (
            StatusCode::SERVICE_UNAVAILABLE,
            error_body(503, &err.to_string()),
        ),
    };
    if let Some(op) = op {
        tracing::info!(
            connection,
            op,
            id = "-",
            status = status.as_u16(),
            "scim write"
        );
    }
    scim_json(status, &body)
}

async fn read_body<S, B>(
    method: &Method,
    content_type: Option<&str>,
    mut stream: S,
) -> Result<Option<Value>, RouteError>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    if !matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        return Ok(None);
    }
    if let Some(content_type) = content_type {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media != "application/json" && media != SCIM_CONTENT_TYPE {
            return Err(RouteError::MediaType(media.chars().take(64).collect()));
        }
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|_| RouteError::Body)?;
        if bytes.len() + chunk.remaining() > MAX_BODY_BYTES {
            return Err(RouteError::TooLarge);
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            bytes.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("the request needs a JSON body").into());
    }
    crate::scim::body::parse(&bytes).map(Some).map_err(|err| {
        let detail = if err.is_data() {
            err.to_string()
        } else {
            format!("the body is not JSON: {err}")
        };
        ScimError::invalid_syntax(detail).into()
    })
}

fn discovery_list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

fn error_body(status: u16, detail: &str) -> Value {
    json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.to_string(),
        "detail": detail,
    })
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(serde_json::to_vec(body).unwrap_or_default().into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(SCIM_CONTENT_TYPE));
    response
}

fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Vec::<u8>::new().into());
    *response.status_mut() = status;
    response
}
