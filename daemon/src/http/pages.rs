//! The few HTML pages a person sees: sign in with SSO, a refused login, the home page.
//!
//! Every dynamic value is HTML-escaped; pages load nothing from elsewhere.

use warp::http::{StatusCode, header};
use warp::reply::Response;

use crate::store::User;

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

fn layout(title: &str, body: &str) -> String {
    format!(
        concat!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>{title}</title><style>",
            "body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;",
            "padding:0 1rem;",
            "color:#1f2933}}h1{{font-size:1.4rem}}input,button{{font-size:1rem;padding:.5rem}}",
            "input{{width:100%;box-sizing:border-box;margin:.5rem 0}}.error{{color:#b42318}}",
            "code{{background:#f3f4f6;padding:.1rem .3rem}}</style></head>",
            "<body>{body}</body></html>"
        ),
        title = escape(title),
        body = body
    )
}

fn html(status: StatusCode, page: String) -> Response {
    let mut response = Response::new(page.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        "content-security-policy",
        header::HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    );
    headers.insert("x-frame-options", header::HeaderValue::from_static("DENY"));
    response
}

/// "Sign in with SSO": an email field, optionally with a message above it.
pub fn sso_page(
    status: StatusCode,
    message: Option<&str>,
    email: &str,
    relay_state: &str,
) -> Response {
    let message = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let relay = if relay_state.is_empty() {
        String::new()
    } else {
        format!(
            "<input type=\"hidden\" name=\"relay_state\" value=\"{}\">",
            html_escape::encode_double_quoted_attribute(relay_state)
        )
    };
    let body = format!(
        concat!(
            "<h1>Sign in with SSO</h1>{message}",
            "<form method=\"post\" action=\"/sso\">",
            "<label for=\"email\">Work email</label>",
            "<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required ",
            "autofocus value=\"{email}\">{relay}",
            "<button type=\"submit\">Continue</button></form>"
        ),
        message = message,
        email = html_escape::encode_double_quoted_attribute(email),
        relay = relay,
    );
    html(status, layout("Sign in with SSO", &body))
}

/// A page that explains a refusal; `code` is what the person quotes to their admin.
pub fn message_page(
    status: StatusCode,
    title: &str,
    message: &str,
    code: Option<&str>,
) -> Response {
    let code = code
        .map(|c| format!("<p>Reference: <code>{}</code></p>", escape(c)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{}</h1><p>{}</p>{code}<p><a href=\"/sso\">Back to sign in</a></p>",
        escape(title),
        escape(message)
    );
    html(status, layout(title, &body))
}

/// The landing page after sign-in.
pub fn home_page(user: Option<&User>) -> Response {
    let body = match user {
        Some(user) => format!(
            concat!(
                "<h1>Signed in</h1><p>You are signed in as <strong>{email}</strong> ",
                "through <code>{connection}</code>.</p>",
                "<form method=\"post\" action=\"/logout\">",
                "<button type=\"submit\">Sign out</button></form>"
            ),
            email = escape(&user.email),
            connection = escape(&user.connection),
        ),
        None => "<h1>provisiond</h1><p><a href=\"/sso\">Sign in with SSO</a></p>".to_string(),
    };
    html(StatusCode::OK, layout("provisiond", &body))
}

/// A redirect (303 after a POST, 302 otherwise), optionally setting a cookie.
pub fn redirect(status: StatusCode, location: &str, cookie: Option<String>) -> Response {
    let mut response = Response::new(Default::default());
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if let Some(cookie) = cookie.and_then(|c| header::HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// A JSON body with a status.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = Response::new(value.to_string().into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}
