//! Microsoft Graph JSON batching: `POST /v1.0/$batch` with up to 20 sub-requests.
//!
//! As Graph does (see "Combine multiple HTTP requests using JSON batching" in the Graph docs):
//! each sub-request names an `id`, a `method` and a `url` relative to `/v1.0` (with or
//! without the leading slash), optionally `headers`; the answer lists one entry per
//! sub-request with its own `status`, `headers` and `body`, in no particular order (here:
//! reversed, so clients must match by `id`). A sub-request can be throttled (429 with
//! `Retry-After`) or fail on its own while the batch itself answers 200. More than 20
//! sub-requests, repeated ids, absolute URLs or a malformed body are a 400 for the whole
//! batch; `dependsOn` is refused the same way (the simulator runs sub-requests independently).
//!
//! The batch counts as one request (`POST /$batch`); its sub-requests are counted per route
//! in [`RequestCounts::batched`](super::RequestCounts::batched), and fault rules apply to
//! each sub-request's path as they do to a top-level request.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};
use warp::http::StatusCode;
use warp::reply::Response;

use super::reply::{GraphReply, apply_fault, graph_error, percent_decode};
use super::routes::{GRAPH_PREFIX, GraphRequest, authorize, dispatch, max_page_size, route_name};
use super::state::GraphState;

/// Most sub-requests in one batch (Graph's limit).
pub const MAX_BATCH_REQUESTS: usize = 20;

/// A `$batch` HTTP request as received.
pub(crate) struct BatchRequest {
    pub body: Vec<u8>,
    pub authorization: Option<String>,
    pub host: String,
}

/// One parsed sub-request.
struct SubRequest {
    id: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    max_page_size: Option<usize>,
}

pub(crate) async fn batch_endpoint(state: Arc<GraphState>, request: BatchRequest) -> Response {
    let fault = {
        let mut inner = state.lock();
        inner.count("POST /$batch");
        inner.take_fault(&format!("{GRAPH_PREFIX}/$batch"), false)
    };
    if let Some(reply) = apply_fault(fault).await {
        return reply.into_response();
    }

    if let Err(reply) = authorize(&mut state.lock(), request.authorization.as_deref()) {
        return reply.into_response();
    }
    let requests = match parse(&request.body) {
        Ok(requests) => requests,
        Err(message) => {
            return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message).into_response();
        }
    };

    let mut responses = Vec::with_capacity(requests.len());
    for sub in requests {
        let reply = answer(&state, &sub, &request.host).await;
        responses.push(reply.into_batch_entry(&sub.id));
    }
    // Graph does not promise request order; reversing keeps clients honest.
    responses.reverse();
    GraphReply::ok(json!({ "responses": responses })).into_response()
}

/// One sub-request's reply: an injected fault, or what a top-level GET would answer.
async fn answer(state: &GraphState, sub: &SubRequest, host: &str) -> GraphReply {
    let fault = {
        let mut inner = state.lock();
        inner.count_batched(&route_name(&sub.path));
        inner.take_fault(&format!("{GRAPH_PREFIX}/{}", sub.path), false)
    };
    if let Some(reply) = apply_fault(fault).await {
        return reply;
    }
    if sub.method != "GET" {
        return graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            &format!("The simulator serves GET only, not {}.", sub.method),
        );
    }

    let request = GraphRequest {
        path: sub.path.clone(),
        query: sub.query.clone(),
        authorization: None,
        host: host.to_owned(),
        max_page_size: sub.max_page_size,
    };
    dispatch(&mut state.lock(), &request)
}

fn parse(body: &[u8]) -> Result<Vec<SubRequest>, String> {
    let parsed: Value =
        serde_json::from_slice(body).map_err(|err| format!("Invalid batch payload: {err}."))?;
    let requests = parsed
        .get("requests")
        .and_then(Value::as_array)
        .ok_or("Invalid batch payload: a 'requests' array is required.")?;
    if requests.is_empty() {
        return Err("Invalid batch payload: 'requests' is empty.".into());
    }
    if requests.len() > MAX_BATCH_REQUESTS {
        return Err(format!(
            "Invalid batch payload: {} requests, the limit is {MAX_BATCH_REQUESTS}.",
            requests.len()
        ));
    }

    let mut ids = HashSet::new();
    requests
        .iter()
        .map(|request| {
            let sub = parse_one(request)?;
            if !ids.insert(sub.id.clone()) {
                return Err(format!(
                    "Invalid batch payload: the id '{}' is used twice.",
                    sub.id
                ));
            }
            Ok(sub)
        })
        .collect()
}

fn parse_one(request: &Value) -> Result<SubRequest, String> {
    let field = |name: &str| request.get(name).and_then(Value::as_str);
    let id = field("id")
        .filter(|id| !id.is_empty())
        .ok_or("Invalid batch payload: every request needs an 'id'.")?;
    let method = field("method").ok_or_else(|| format!("Request '{id}' has no 'method'."))?;
    let url = field("url").ok_or_else(|| format!("Request '{id}' has no 'url'."))?;
    if request.get("dependsOn").is_some() {
        return Err(format!(
            "Request '{id}': dependsOn is not supported by the simulator."
        ));
    }
    if url.contains("://") {
        return Err(format!(
            "Request '{id}': the url must be relative to the API version, such as /users."
        ));
    }

    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let query: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| format!("Request '{id}': the query string is malformed."))?;
    let prefer = request
        .get("headers")
        .and_then(Value::as_object)
        .and_then(|headers| {
            headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("prefer"))
        })
        .and_then(|(_, value)| value.as_str());
    Ok(SubRequest {
        id: id.to_owned(),
        method: method.to_ascii_uppercase(),
        path: percent_decode(path.trim_start_matches('/')),
        query,
        max_page_size: prefer.and_then(max_page_size),
    })
}
