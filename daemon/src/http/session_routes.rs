//! `/sso` (routing by email domain), `/me`, `/logout` and the home page.

use std::collections::HashMap;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{AppState, pages, with_state};
use crate::session::{COOKIE_NAME, SessionKeys};
use crate::store::{StoreError, User};

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let sso_page = warp::path!("sso")
        .and(warp::get())
        .and(warp::query::<HashMap<String, String>>())
        .map(|query: HashMap<String, String>| {
            let relay = query
                .get("relay_state")
                .map(String::as_str)
                .unwrap_or_default();
            pages::sso_page(StatusCode::OK, None, "", relay)
        });
    let sso_submit = warp::path!("sso")
        .and(warp::post())
        .and(warp::body::content_length_limit(16 * 1024))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(with_state(state.clone()))
        .map(route_by_domain);
    let me = warp::path!("me")
        .and(warp::get())
        .and(warp::cookie::optional::<String>(COOKIE_NAME))
        .and(with_state(state.clone()))
        .then(me);
    let logout = warp::path!("logout")
        .and(warp::post())
        .and(warp::cookie::optional::<String>(COOKIE_NAME))
        .and(with_state(state.clone()))
        .then(logout);
    let home = warp::path::end()
        .and(warp::get())
        .and(warp::cookie::optional::<String>(COOKIE_NAME))
        .and(with_state(state))
        .then(|cookie, state: AppState| async move {
            match current_user(&state, cookie).await {
                Ok(user) => pages::home_page(user.as_ref()),
                Err(err) => store_failure(&err),
            }
        });
    sso_page
        .or(sso_submit)
        .unify()
        .or(me)
        .unify()
        .or(logout)
        .unify()
        .or(home)
        .unify()
        .boxed()
}

fn route_by_domain(form: HashMap<String, String>, state: AppState) -> Response {
    let email = form
        .get("email")
        .map(|e| e.trim().to_string())
        .unwrap_or_default();
    let relay = form.get("relay_state").cloned().unwrap_or_default();
    let Some((_, domain)) = email
        .rsplit_once('@')
        .filter(|(local, _)| !local.is_empty())
    else {
        return pages::sso_page(
            StatusCode::BAD_REQUEST,
            Some("Enter your work email address."),
            &email,
            &relay,
        );
    };
    let connection = state
        .config
        // A fully qualified `acme.example.` names the same domain (one root dot, no more).
        .connection_for_domain(domain.strip_suffix('.').unwrap_or(domain))
        .filter(|conn| state.providers.get(&conn.name).is_some());
    let Some(connection) = connection else {
        tracing::info!(%domain, "SSO requested for a domain with no connection");
        let message = format!(
            "No single sign-on is set up for {domain}. Check the address, or ask your \
             administrator."
        );
        return pages::sso_page(StatusCode::NOT_FOUND, Some(&message), &email, &relay);
    };

    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("login_hint", &email);
    if !relay.is_empty() {
        query.append_pair("relay_state", &relay);
    }
    let location = format!("/saml/{}/login?{}", connection.name, query.finish());
    pages::redirect(StatusCode::SEE_OTHER, &location, None)
}

async fn current_user(
    state: &AppState,
    cookie: Option<String>,
) -> Result<Option<User>, StoreError> {
    let Some(token) = cookie.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return Ok(None);
    };
    let hash = state.keys.hash(&token);
    let now = state.now().naive_utc();
    state
        .store
        .run(move |store| store.read(|tx| tx.session_user(&hash, now)))
        .await
}

async fn me(cookie: Option<String>, state: AppState) -> Response {
    match current_user(&state, cookie).await {
        Ok(Some(user)) => pages::json(
            StatusCode::OK,
            &serde_json::json!({
                "id": user.id,
                "connection": user.connection,
                "external_id": user.external_id,
                "email": user.email,
                "user_name": user.user_name,
                "given_name": user.given_name,
                "family_name": user.family_name,
                "display_name": user.display_name,
                "active": user.active,
            }),
        ),
        Ok(None) => pages::json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({"error": "not signed in"}),
        ),
        Err(err) => store_failure(&err),
    }
}

async fn logout(cookie: Option<String>, state: AppState) -> Response {
    if let Some(token) = cookie.filter(|t| !t.is_empty() && t.len() <= 128) {
        let hash = state.keys.hash(&token);
        let result = state
            .store
            .run(move |store| store.write(|tx| tx.delete_session(&hash)))
            .await;
        if let Err(err) = result {
            return store_failure(&err);
        }
    }
    let clear = SessionKeys::clear_cookie(state.config.server.is_https());
    pages::redirect(StatusCode::SEE_OTHER, "/sso", Some(clear))
}

fn store_failure(err: &StoreError) -> Response {
    tracing::error!(error = %err, "store failure");
    pages::message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Temporarily unavailable",
        "Something went wrong on our side. Please try again.",
        None,
    )
}
