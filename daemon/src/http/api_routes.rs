//! The admin API under `/api/v1`, behind `server.admin_token` (answers 404 without one).
//! `docs/openapi.yaml` describes it; a test checks the two agree.
//!
//! - `GET /api/v1/connections`: each connection and its SAML/sync status.
//! - `GET /api/v1/users[?connection=NAME]`, `GET /api/v1/users/{id}`: accounts.
//! - `GET /api/v1/connections/{name}/groups`: live groups with their member ids.
//! - `GET /api/v1/events?after=CURSOR&limit=N`: the change outbox, oldest first, for
//!   applications that poll instead of receiving webhooks; pass `next_cursor` as `after`.

use std::collections::HashMap;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{AppState, pages, with_state};
use crate::store::StoreError;

/// Every (method, path template) this module serves, as written in `docs/openapi.yaml`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/connections"),
    ("get", "/api/v1/connections/{name}/groups"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/connections/{name}/sync-runs"),
    ("post", "/api/v1/connections/{name}/sync"),
];

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let authorized = warp::header::optional::<String>("authorization")
        .and(with_state(state))
        .and_then(|header: Option<String>, state: AppState| async move {
            match check_token(&state, header.as_deref()) {
                Ok(()) => Ok(state),
                Err(response) => Err(warp::reject::custom(Denied(response))),
            }
        });
    let api = warp::path("api").and(warp::path("v1")).and(warp::get());

    let connections = api
        .and(warp::path!("connections"))
        .and(authorized.clone())
        .map(|state: AppState| connections(&state));
    let groups = api
        .and(warp::path!("connections" / String / "groups"))
        .and(authorized.clone())
        .then(groups);
    let users = api
        .and(warp::path!("users"))
        .and(warp::query::<HashMap<String, String>>())
        .and(authorized.clone())
        .then(users);
    let user = api
        .and(warp::path!("users" / String))
        .and(authorized.clone())
        .then(user);
    let events = api
        .and(warp::path!("events"))
        .and(warp::query::<HashMap<String, String>>())
        .and(authorized.clone())
        .then(events);

    let runs = api
        .and(warp::path!("connections" / String / "sync-runs"))
        .and(warp::query::<HashMap<String, String>>())
        .and(authorized.clone())
        .then(sync_runs);
    let trigger = warp::path!("api" / "v1" / "connections" / String / "sync")
        .and(warp::post())
        .and(authorized)
        .then(trigger_sync);

    connections
        .or(runs)
        .unify()
        .or(trigger)
        .unify()
        .or(groups)
        .unify()
        .or(users)
        .unify()
        .or(user)
        .unify()
        .or(events)
        .unify()
        .recover(|rejection: warp::Rejection| async move {
            match rejection.find::<Denied>() {
                Some(Denied(response)) => Ok(response.clone_response()),
                None => Err(rejection),
            }
        })
        .unify()
        .boxed()
}

#[derive(Debug)]
struct Denied(DeniedResponse);
impl warp::reject::Reject for Denied {}

#[derive(Debug, Clone, Copy)]
enum DeniedResponse {
    Off,
    Unauthorized,
}

impl DeniedResponse {
    fn clone_response(&self) -> Response {
        match self {
            Self::Off => error(
                StatusCode::NOT_FOUND,
                "the admin API is off: set server.admin_token",
            ),
            Self::Unauthorized => error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token"),
        }
    }
}

/// Checks the bearer token; compares digests in constant time.
fn check_token(state: &AppState, header: Option<&str>) -> Result<(), DeniedResponse> {
    let Some(expected) = &state.config.server.admin_token else {
        return Err(DeniedResponse::Off);
    };
    let given = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    if openssl::memcmp::eq(
        &sha(given.trim().as_bytes()),
        &sha(expected.expose().as_bytes()),
    ) {
        Ok(())
    } else {
        tracing::warn!("admin API request with a missing or wrong token");
        Err(DeniedResponse::Unauthorized)
    }
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn error(status: StatusCode, message: &str) -> Response {
    pages::json(status, &serde_json::json!({ "error": message }))
}

fn store_error(err: &StoreError) -> Response {
    tracing::error!(error = %err, "admin API store failure");
    error(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable")
}

fn connections(state: &AppState) -> Response {
    let list: Vec<serde_json::Value> = state
        .config
        .connections
        .iter()
        .map(|conn| {
            let sp = state.providers.get(&conn.name);
            serde_json::json!({
                "name": conn.name,
                "domains": conn.domains,
                "saml": sp.map(|sp| serde_json::json!({
                    "sp_entity_id": sp.sp_entity_id,
                    "acs_url": sp.acs_url,
                    "idp_entity_id": sp.idp().map(|idp| idp.entity_id),
                    "idp_metadata_loaded": sp.idp().is_some(),
                })),
                "adapter": conn.adapter.as_ref().map(|a| a.name.clone()),
                "sync_schedule": conn.sync.as_ref().map(|s| s.schedule_text.clone()),
            })
        })
        .collect();
    pages::json(StatusCode::OK, &serde_json::json!({ "connections": list }))
}

async fn sync_runs(
    connection: String,
    query: HashMap<String, String>,
    state: AppState,
) -> Response {
    if state.config.connection(&connection).is_none() {
        return error(StatusCode::NOT_FOUND, "no such connection");
    }
    let limit = match query.get("limit").map(|l| l.parse::<i64>()) {
        None => 50,
        Some(Ok(limit)) if (1..=1000).contains(&limit) => limit,
        Some(_) => return error(StatusCode::BAD_REQUEST, "limit must be between 1 and 1000"),
    };
    let result = state
        .store
        .run(move |store| store.read(|tx| tx.sync_runs(Some(&connection), limit)))
        .await;
    match result {
        Ok(runs) => pages::json(StatusCode::OK, &serde_json::json!({ "runs": runs })),
        Err(err) => store_error(&err),
    }
}

/// Runs the connection's sync now (trigger `api`) and answers with its outcome.
async fn trigger_sync(connection: String, state: AppState) -> Response {
    let Some(conn) = state.config.connection(&connection) else {
        return error(StatusCode::NOT_FOUND, "no such connection");
    };
    if conn.adapter.is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "this connection has no adapter to sync from",
        );
    }
    let Some(context) = state.sync.clone() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "sync is not running in this process",
        );
    };
    let request = crate::sync::RunRequest::new(connection, crate::sync::Trigger::Api);
    let result =
        tokio::task::spawn_blocking(move || context.run_blocking(&request, &mut |_| {})).await;
    match result {
        Ok(Ok(report)) => pages::json(
            StatusCode::OK,
            &serde_json::json!({
                "run_id": report.run_id,
                "connection": report.connection,
                "status": report.status.as_str(),
                "mode": report.mode,
                "counts": report.counts,
                "message": report.message,
            }),
        ),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "sync requested through the admin API failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string())
        }
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the sync task was cancelled",
        ),
    }
}

async fn groups(connection: String, state: AppState) -> Response {
    if state.config.connection(&connection).is_none() {
        return error(StatusCode::NOT_FOUND, "no such connection");
    }
    let result = state
        .store
        .run(move |store| {
            store.read(|tx| {
                let groups = tx.groups(&connection)?;
                let mut out = Vec::with_capacity(groups.len());
                for group in groups {
                    let members = tx.group_member_ids(&group.id)?;
                    let mut value = serde_json::to_value(&group).unwrap_or_default();
                    value["members"] = serde_json::json!(members);
                    out.push(value);
                }
                Ok::<_, StoreError>(out)
            })
        })
        .await;
    match result {
        Ok(groups) => pages::json(StatusCode::OK, &serde_json::json!({ "groups": groups })),
        Err(err) => store_error(&err),
    }
}

async fn users(query: HashMap<String, String>, state: AppState) -> Response {
    let connection = query.get("connection").cloned();
    let result = state
        .store
        .run(move |store| store.read(|tx| tx.users(connection.as_deref())))
        .await;
    match result {
        Ok(users) => pages::json(StatusCode::OK, &serde_json::json!({ "users": users })),
        Err(err) => store_error(&err),
    }
}

async fn user(id: String, state: AppState) -> Response {
    match state
        .store
        .run(move |store| store.read(|tx| tx.user(&id)))
        .await
    {
        Ok(Some(user)) => pages::json(StatusCode::OK, &serde_json::json!(user)),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such user"),
        Err(err) => store_error(&err),
    }
}

async fn events(query: HashMap<String, String>, state: AppState) -> Response {
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
    match state
        .store
        .run(move |store| store.read(|tx| tx.events_after(after, limit)))
        .await
    {
        Ok(rows) => {
            let next = rows.last().map_or(after, |row| row.id);
            let events: Vec<serde_json::Value> = rows.iter().map(|row| row.to_json()).collect();
            pages::json(
                StatusCode::OK,
                &serde_json::json!({ "events": events, "next_cursor": next }),
            )
        }
        Err(err) => store_error(&err),
    }
}
