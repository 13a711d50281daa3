//! `/saml/{connection}/metadata`, `/saml/{connection}/login`, `/saml/{connection}/acs`.

use std::collections::HashMap;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{StatusCode, header};
use warp::reply::Response;

use super::{AppState, pages, with_state};
use crate::saml::{LoginError, login};

/// Far above any real SAMLResponse, far below what could hurt.
const MAX_ACS_BODY: u64 = 2 * 1024 * 1024;

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let metadata = warp::path!("saml" / String / "metadata")
        .and(warp::get())
        .and(with_state(state.clone()))
        .map(metadata);
    let login = warp::path!("saml" / String / "login")
        .and(warp::get())
        .and(warp::query::<HashMap<String, String>>())
        .and(with_state(state.clone()))
        .then(start);
    let acs = warp::path!("saml" / String / "acs")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_ACS_BODY))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(with_state(state))
        .then(acs);
    metadata.or(login).unify().or(acs).unify().boxed()
}

fn unknown_connection() -> Response {
    pages::message_page(
        StatusCode::NOT_FOUND,
        "Unknown connection",
        "There is no single sign-on connection with this name.",
        None,
    )
}

fn metadata(connection: String, state: AppState) -> Response {
    let Some(sp) = state.providers.get(&connection) else {
        return unknown_connection();
    };
    let mut response = Response::new(sp.metadata_xml().into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/samlmetadata+xml"),
    );
    response
}

async fn start(connection: String, query: HashMap<String, String>, state: AppState) -> Response {
    let Some(sp) = state.providers.get(&connection) else {
        return unknown_connection();
    };
    let relay = query.get("relay_state").cloned();
    let hint = query.get("login_hint").cloned();
    let now = state.now();
    let result = login::start_login(
        &sp,
        &state.config.server,
        relay.as_deref(),
        hint.as_deref(),
        now,
    );
    match result {
        Ok(request) => {
            tracing::debug!(
                connection = %sp.connection,
                request_id = %request.id,
                "AuthnRequest issued"
            );
            pages::redirect(StatusCode::FOUND, &request.redirect_url, None)
        }
        Err(err) => refusal(&connection, &err),
    }
}

async fn acs(connection: String, form: HashMap<String, String>, state: AppState) -> Response {
    let Some(sp) = state.providers.get(&connection) else {
        return unknown_connection();
    };
    let Some(conn) = state.config.connection(&connection).cloned() else {
        return unknown_connection();
    };
    let saml_response = form.get("SAMLResponse").cloned();
    let relay = form.get("RelayState").cloned();
    let now = state.now();
    let result = login::complete_login_async(
        &state.store,
        sp.clone(),
        conn,
        state.config.server.clone(),
        state.keys.clone(),
        saml_response,
        relay,
        now,
    )
    .await;

    let counter = &crate::metrics::metrics().logins;
    match &result {
        Ok(success) => {
            let reason = if success.created {
                "created"
            } else {
                "existing"
            };
            counter.with_label_values(&["success", reason]).inc();
        }
        Err(err) => {
            let outcome = if err.is_internal() {
                "error"
            } else {
                "refused"
            };
            counter.with_label_values(&[outcome, err.code()]).inc();
        }
    }
    match result {
        Ok(success) => {
            tracing::info!(
                connection = %connection,
                user_id = %success.user.id,
                email = %success.user.email,
                created = success.created,
                "login succeeded"
            );
            let max_age = (success.session_expires - now).num_seconds().max(0) as u64;
            let cookie = crate::session::SessionKeys::cookie(
                &success.session_token,
                max_age,
                state.config.server.is_https(),
            );
            pages::redirect(StatusCode::SEE_OTHER, &success.redirect, Some(cookie))
        }
        Err(err) => refusal(&connection, &err),
    }
}

fn refusal(connection: &str, err: &LoginError) -> Response {
    let status = match err {
        err if err.is_internal() => StatusCode::INTERNAL_SERVER_ERROR,
        LoginError::Malformed(_) | LoginError::BadRelayState(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    if err.is_internal() {
        tracing::error!(connection, reason = err.code(), error = %err.detail(), "login failed");
    } else {
        tracing::warn!(connection, reason = err.code(), error = %err.detail(), "login refused");
    }
    pages::message_page(
        status,
        "Sign-in refused",
        err.public_message(),
        Some(err.code()),
    )
}
