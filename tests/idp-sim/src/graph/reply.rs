//! Response helpers of the Graph simulator: the reply type shared by top-level and batched
//! requests, Graph and token-endpoint error bodies, injected faults, and path decoding.

use serde_json::{Map, Value, json};
use warp::http::{HeaderValue, StatusCode};
use warp::reply::{Reply, Response};

use super::state::Fault;

/// A Graph answer before it becomes HTTP: a status, the headers Graph sets beyond the content
/// type, and a JSON body. A top-level request sends it as a response; a `$batch` sub-request
/// embeds it in the batch response (Graph JSON batching: `id`, `status`, `headers`, `body`).
#[derive(Debug, Clone)]
pub(crate) struct GraphReply {
    pub status: StatusCode,
    /// Header names as Graph spells them in batch responses (`Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl GraphReply {
    /// 200 with `body`.
    pub fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            headers: Vec::new(),
            body,
        }
    }

    /// The HTTP response of a top-level request.
    pub fn into_response(self) -> Response {
        let mut response =
            warp::reply::with_status(warp::reply::json(&self.body), self.status).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }

    /// The entry for a `$batch` response answering sub-request `id`.
    pub fn into_batch_entry(self, id: &str) -> Value {
        let mut headers = Map::new();
        headers.insert(
            "Content-Type".into(),
            Value::String("application/json".into()),
        );
        for (name, value) in self.headers {
            headers.insert(name.into(), Value::String(value));
        }
        json!({
            "id": id,
            "status": self.status.as_u16(),
            "headers": headers,
            "body": self.body,
        })
    }
}

/// Waits out a [`Fault::Delay`]; any other fault becomes the reply to send instead (a
/// [`Fault::Body`] with status 200).
pub(crate) async fn apply_fault(fault: Option<Fault>) -> Option<GraphReply> {
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
        Fault::Body(body) => return Some(GraphReply::ok(body)),
    };
    let mut reply = graph_error(status, "SimulatedFault", "Injected by the simulator.");
    if let Some(seconds) = retry_after {
        reply.headers.push(("Retry-After", seconds.to_string()));
    }
    Some(reply)
}

pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str) -> GraphReply {
    GraphReply {
        status,
        headers: Vec::new(),
        body: json!({"error": {"code": code, "message": message}}),
    }
}

pub(crate) fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description, "error_codes": []});
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

pub(crate) fn not_found(id: &str) -> GraphReply {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects \
             are not present."
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
