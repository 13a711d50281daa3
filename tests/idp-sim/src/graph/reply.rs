//! Response helpers of the Graph simulator: Graph and token-endpoint error bodies, injected
//! faults, and path decoding.

use serde_json::json;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use super::state::Fault;

pub(crate) async fn apply_fault(fault: Option<Fault>) -> Option<Response> {
    let (status, retry_after) = match fault? {
        Fault::Delay(duration) => {
            tokio::time::sleep(duration).await;
            return None;
        }
        Fault::TooManyRequests { retry_after_secs } => {
            (StatusCode::TOO_MANY_REQUESTS, retry_after_secs)
        }
        Fault::ServiceUnavailable { retry_after_secs } => {
            (StatusCode::SERVICE_UNAVAILABLE, retry_after_secs)
        }
        Fault::InternalServerError => (StatusCode::INTERNAL_SERVER_ERROR, None),
    };
    let mut response = graph_error(status, "SimulatedFault", "Injected by the simulator.");
    if let Some(seconds) = retry_after
        && let Ok(value) = warp::http::HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert("retry-after", value);
    }
    Some(response)
}

pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message}});
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

pub(crate) fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description, "error_codes": []});
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

pub(crate) fn not_found(id: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// Decodes `%XX` escapes in a path; malformed escapes stay as they are.
pub(crate) fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok());
        match (
            bytes[index],
            hex.and_then(|pair| u8::from_str_radix(pair, 16).ok()),
        ) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
