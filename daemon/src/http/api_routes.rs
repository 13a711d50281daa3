//! The admin API under `/api/v1`, behind `server.admin_token` (off without one).
//!
//! `GET /api/v1/events?after=CURSOR&limit=N`: the change outbox, oldest first, for
//! applications that poll instead of receiving webhooks. `next_cursor` is the value to pass
//! as `after` next time.

use std::collections::HashMap;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{AppState, pages, with_state};

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "v1" / "events")
        .and(warp::get())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::query::<HashMap<String, String>>())
        .and(with_state(state))
        .then(events)
        .boxed()
}

/// Whether the request carries the admin token. Compares in constant time.
fn authorized(state: &AppState, header: Option<&str>) -> bool {
    let Some(expected) = &state.config.server.admin_token else {
        return false;
    };
    let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    openssl::memcmp::eq(
        &sha(given.trim().as_bytes()),
        &sha(expected.expose().as_bytes()),
    )
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn error(status: StatusCode, message: &str) -> Response {
    pages::json(status, &serde_json::json!({ "error": message }))
}

async fn events(
    authorization: Option<String>,
    query: HashMap<String, String>,
    state: AppState,
) -> Response {
    if state.config.server.admin_token.is_none() {
        return error(
            StatusCode::NOT_FOUND,
            "the admin API is off: set server.admin_token",
        );
    }
    if !authorized(&state, authorization.as_deref()) {
        tracing::warn!("admin API request with a missing or wrong token");
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    let after = match query.get("after").map(|a| a.parse::<i64>()) {
        None => 0,
        Some(Ok(after)) if after >= 0 => after,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "after must be a cursor (an integer >= 0)",
            );
        }
    };
    let limit = match query.get("limit").map(|l| l.parse::<i64>()) {
        None => 100,
        Some(Ok(limit)) if (1..=1000).contains(&limit) => limit,
        Some(_) => return error(StatusCode::BAD_REQUEST, "limit must be between 1 and 1000"),
    };
    let result = state
        .store
        .run(move |store| store.read(|tx| tx.events_after(after, limit)))
        .await;
    match result {
        Ok(rows) => {
            let next = rows.last().map_or(after, |row| row.id);
            let events: Vec<serde_json::Value> = rows.iter().map(|row| row.to_json()).collect();
            pages::json(
                StatusCode::OK,
                &serde_json::json!({ "events": events, "next_cursor": next }),
            )
        }
        Err(err) => {
            tracing::error!(error = %err, "reading events failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable")
        }
    }
}
