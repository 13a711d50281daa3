//! Starting a login and completing it: request state, replay cache, just-in-time accounts,
//! sessions and the audit log.
//!
//! The stable key of an account is the connection plus the external id (Entra's object id,
//! else the NameID unless it is transient). A known external id with a new email updates the
//! account; an unknown external id with a known email adopts an account that has no external
//! id yet (one created by SCIM or sync), and is refused if that account belongs to someone
//! else. An assertion with no stable id (a transient NameID, no object id) is keyed by its
//! email alone.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::claims::{self, Identity};
use super::error::LoginError;
use super::sp::{AuthnRequest, ServiceProvider};
use super::validate::{self, Expectations, ValidatedAssertion};
use crate::config::{ConnectionConfig, ServerConfig};
use crate::session::SessionKeys;
use crate::store::{LoginOutcome, NewUser, Store, Tx, User, UserChanges, email_key};

/// The largest posted response checked on the request's own task (base64 characters); a
/// larger one is checked on the blocking pool.
const INLINE_CHECK_BYTES: usize = 32 * 1024;

/// The most characters of a refused login's address kept in its audit row (RFC 5321 allows
/// 254; an assertion may hold any length).
const MAX_AUDIT_EMAIL_CHARS: usize = 254;

/// A login that went through.
#[derive(Debug, Clone)]
pub struct LoginSuccess {
    /// The account, created or updated.
    pub user: User,
    /// Whether the account was created by this login.
    pub created: bool,
    /// Cookie value of the new session.
    pub session_token: String,
    /// Where to send the browser next.
    pub redirect: String,
    /// When the session ends: after the configured `session_ttl`, or earlier when the IdP
    /// bounds its own session (`SessionNotOnOrAfter`).
    pub session_expires: DateTime<Utc>,
}

/// Issues an AuthnRequest. Nothing is stored: the request's ID proves itself when the answer
/// names it (`request_id`), so this public route cannot be used to fill the store.
pub fn start_login(
    sp: &ServiceProvider,
    server: &ServerConfig,
    relay_state: Option<&str>,
    login_hint: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AuthnRequest, LoginError> {
    let relay_state = relay_state.filter(|r| !r.is_empty());
    if let Some(relay) = relay_state {
        safe_redirect(relay, server)?;
    }
    // A hint is only a convenience for the IdP's form: one that cannot be an address
    // (longer than RFC 5321 allows, or with control characters) is dropped, not forwarded.
    let login_hint = login_hint.map(str::trim).filter(|hint| {
        !hint.is_empty() && hint.len() <= 254 && !hint.chars().any(char::is_control)
    });
    let idp = sp
        .idp()
        .ok_or_else(|| LoginError::Store("the IdP's metadata has not been loaded yet".into()))?;
    sp.authn_request(&idp, relay_state, login_hint, now)
        .map_err(|err| LoginError::Store(format!("cannot encode AuthnRequest: {err}")))
}

/// Validates a posted response and signs the person in; every outcome is audited, a POST
/// without a `SAMLResponse` field included. [`check_response`] then [`finish_login`], for
/// callers that run the two on different threads.
#[allow(clippy::too_many_arguments)]
pub fn complete_login(
    store: &Store,
    sp: &ServiceProvider,
    connection: &ConnectionConfig,
    server: &ServerConfig,
    keys: &SessionKeys,
    saml_response: Option<&str>,
    relay_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<LoginSuccess, LoginError> {
    let checked = check_response(sp, connection, saml_response, now);
    finish_login(store, sp, server, keys.issue(), checked, relay_state, now)
}

/// One login for async callers: the store-free checks run first (CPU work, no connection
/// held), then the write is queued for the store's writer, which commits it together with
/// the other writes waiting then. The write runs in place (`Store::run_write_in_place`):
/// every step of [`finish_login`] leaves a state that may be committed.
#[allow(clippy::too_many_arguments)]
pub async fn complete_login_async(
    store: &Store,
    sp: Arc<ServiceProvider>,
    connection: ConnectionConfig,
    server: ServerConfig,
    keys: SessionKeys,
    saml_response: Option<String>,
    relay_state: Option<String>,
    now: DateTime<Utc>,
) -> Result<LoginSuccess, LoginError> {
    // A typical response (a few KiB) checks in well under a tenth of a millisecond: on the
    // request's own task, sparing a hand-off to another thread and back. A large one (many
    // group claims) goes to the blocking pool rather than hold up this worker's other tasks.
    let inline = saml_response
        .as_ref()
        .is_none_or(|response| response.len() <= INLINE_CHECK_BYTES);
    let checking = sp.clone();
    let check = move || {
        let checked = check_response(&checking, &connection, saml_response.as_deref(), now);
        (checked, keys.issue())
    };
    let (checked, session) = if inline {
        check()
    } else {
        tokio::task::spawn_blocking(check)
            .await
            .map_err(|_| LoginError::Store("the response check did not finish".into()))?
    };
    store
        .run_write_in_place(move |store| {
            finish_login(
                store,
                &sp,
                &server,
                session,
                checked,
                relay_state.as_deref(),
                now,
            )
        })
        .await
}

/// A response that passed every check needing no store: signature, conditions, claims and
/// the connection's domains.
#[derive(Debug, Clone)]
pub struct CheckedResponse {
    assertion: ValidatedAssertion,
    identity: Identity,
    email: String,
}

/// A response refused before the store was involved, with the address it named (if any)
/// for the audit row.
#[derive(Debug)]
pub struct Refused {
    /// Why.
    pub error: LoginError,
    email: Option<String>,
}

/// The store-free half of a login: CPU work only, safe to run anywhere.
pub fn check_response(
    sp: &ServiceProvider,
    connection: &ConnectionConfig,
    saml_response: Option<&str>,
    now: DateTime<Utc>,
) -> Result<CheckedResponse, Refused> {
    let refused = |error, email| Refused { error, email };
    let saml_response = saml_response
        .ok_or_else(|| refused(LoginError::Malformed("no SAMLResponse field".into()), None))?;
    let idp = sp.idp().ok_or_else(|| {
        refused(
            LoginError::Store("the IdP's metadata has not been loaded yet".into()),
            None,
        )
    })?;
    let expect = Expectations {
        idp: &idp,
        sp_entity_id: &sp.sp_entity_id,
        acs_url: &sp.acs_url,
        clock_skew: sp.settings.clock_skew,
        allow_sha1: sp.settings.allow_sha1,
    };
    let assertion =
        validate::validate_base64(saml_response, &expect, now).map_err(|e| refused(e, None))?;
    let identity = claims::identity(&assertion, &sp.settings.attributes);
    let keys = [
        ("NameID", Some(assertion.name_id.as_str())),
        ("object id", identity.external_id.as_deref()),
        ("user name", identity.user_name.as_deref()),
    ];
    if let Some((claim, _)) = keys
        .iter()
        .find(|(_, value)| value.is_some_and(|v| v.len() > crate::store::MAX_KEY_BYTES))
    {
        return Err(refused(LoginError::ValueTooLong(claim), None));
    }
    let Some(email) = identity.email.clone() else {
        return Err(refused(LoginError::NoEmail, None));
    };
    if !connection.owns_email(&email) {
        return Err(refused(
            LoginError::DomainNotAllowed(email.clone()),
            Some(email),
        ));
    }
    Ok(CheckedResponse {
        assertion,
        identity,
        email,
    })
}

/// The store half of a login: request and replay checks, the account, the session (its
/// cookie token and stored hash, from [`SessionKeys::issue`]) and the audit row, in one write;
/// a refusal (from either half) is audited on its own.
///
/// Each step leaves a state that may be committed as it is, should a later one fail: the
/// assertion is remembered, then the request consumed, before anything else can refuse the
/// login (a response is single-use whatever becomes of it); every refusal comes before the
/// first change to the account; and an account created by a login that then fails is an
/// account the next login finds.
pub fn finish_login(
    store: &Store,
    sp: &ServiceProvider,
    server: &ServerConfig,
    session: (String, String),
    checked: Result<CheckedResponse, Refused>,
    relay_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<LoginSuccess, LoginError> {
    let (result, email_for_audit) = match checked {
        Ok(checked) => {
            let email = checked.email.clone();
            (
                sign_in(store, sp, server, session, checked, relay_state, now),
                Some(email),
            )
        }
        Err(refused) => (Err(refused.error), refused.email),
    };
    let at = now.naive_utc();
    let audit = match &result {
        Ok(_) => Ok(()),
        Err(err) => store.write(|tx| {
            tx.record_login(
                at,
                &sp.connection,
                None,
                email_for_audit
                    .as_deref()
                    .map(|email| super::error::bounded(email, MAX_AUDIT_EMAIL_CHARS))
                    .as_deref(),
                LoginOutcome::Refused,
                err.code(),
                &err.detail(),
            )
            .map_err(LoginError::from)
        }),
    };
    if let Err(err) = audit {
        tracing::error!(connection = %sp.connection, error = %err, "cannot write login audit row");
    }
    result
}

fn sign_in(
    store: &Store,
    sp: &ServiceProvider,
    server: &ServerConfig,
    (token, hash): (String, String),
    checked: CheckedResponse,
    relay_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<LoginSuccess, LoginError> {
    let CheckedResponse {
        assertion,
        identity,
        email,
    } = checked;
    // A refusal comes back inside `Ok`, so the transaction commits what came before it (the
    // assertion remembered, the request answered) on every backend and path: the response is
    // used whatever becomes of it. Only a store failure rolls back.
    store.write(|tx| {
        let mut steps = || -> Result<LoginSuccess, LoginError> {
            if !tx.remember_assertion(
                &sp.connection,
                &assertion.assertion_id,
                assertion.replay_until.naive_utc(),
            )? {
                return Err(LoginError::Replay(assertion.assertion_id.clone()));
            }
            let relay = match check_request(tx, sp, &assertion, relay_state, now)? {
                ReturnedRelayState::Trusted => relay_state,
                ReturnedRelayState::Ignored => None,
            };
            let redirect = match relay.filter(|r| !r.is_empty()) {
                Some(target) => safe_redirect(target, server)?,
                None => "/".to_string(),
            };
            let (user, created) = upsert_user(tx, &sp.connection, &identity, &email, now)?;
            if !user.active {
                return Err(LoginError::Deactivated(user.email));
            }
            // A transient NameID is new at every login: recording each would name nobody.
            if !claims::name_id_is_transient(&assertion) {
                tx.link_identity(
                    &sp.connection,
                    &assertion.issuer,
                    &assertion.name_id,
                    &user.id,
                    now.naive_utc(),
                )?;
            }
            if !created {
                tx.touch_login(&user.id, now.naive_utc())?;
            }

            let ttl = now + chrono::Duration::from_std(server.session_ttl).unwrap_or_default();
            let expires = assertion.session_until.map_or(ttl, |until| until.min(ttl));
            tx.create_session(
                &hash,
                &user.id,
                &sp.connection,
                now.naive_utc(),
                expires.naive_utc(),
            )?;

            let reason = if created { "created" } else { "existing" };
            let at = now.naive_utc();
            tx.record_login(
                at,
                &sp.connection,
                Some(&user.id),
                Some(&user.email),
                LoginOutcome::Success,
                reason,
                "",
            )?;
            Ok(LoginSuccess {
                user,
                created,
                session_token: token.clone(),
                redirect,
                session_expires: expires,
            })
        };
        match steps() {
            Err(err) if err.is_internal() => Err(err),
            outcome => Ok(outcome),
        }
    })?
}

/// Whether the RelayState that came back with a response is used.
enum ReturnedRelayState {
    /// The one sent with the request, or the IdP's own on an unsolicited response.
    Trusted,
    /// Changed on its way through the IdP: the person lands on `/` instead.
    Ignored,
}

/// Marks the request the response answers as answered (or checks an unsolicited response is
/// allowed); says whether the RelayState that came with the response may be used.
fn check_request(
    tx: &mut Tx<'_>,
    sp: &ServiceProvider,
    assertion: &ValidatedAssertion,
    relay_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ReturnedRelayState, LoginError> {
    let Some(request_id) = &assertion.in_response_to else {
        return if sp.settings.allow_idp_initiated {
            Ok(ReturnedRelayState::Trusted)
        } else {
            Err(LoginError::IdpInitiatedNotAllowed)
        };
    };
    let why = match sp.check_request_id(request_id, relay_state, now) {
        Ok(issued) => {
            if tx.answer_request(&sp.connection, &issued.key, issued.expires_at.naive_utc())? {
                if issued.relay_state_intact {
                    return Ok(ReturnedRelayState::Trusted);
                }
                tracing::warn!(
                    connection = %sp.connection,
                    request_id = %request_id,
                    "RelayState came back changed from the one sent with the request; ignored"
                );
                return Ok(ReturnedRelayState::Ignored);
            }
            "was already answered"
        }
        Err(not_issued) => not_issued.describe(),
    };
    // An InResponseTo we never issued (Entra's portal test button sends one) is treated as
    // unsolicited when the connection allows that, refused otherwise.
    if sp.settings.allow_idp_initiated {
        Ok(ReturnedRelayState::Trusted)
    } else {
        Err(LoginError::UnknownRequest {
            id: request_id.clone(),
            why,
        })
    }
}

fn upsert_user(
    tx: &mut Tx<'_>,
    connection: &str,
    identity: &Identity,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(User, bool), LoginError> {
    let changes = UserChanges {
        external_id: identity.external_id.clone(),
        email: Some(email.to_string()),
        user_name: identity.user_name.clone(),
        given_name: identity.given_name.clone(),
        family_name: identity.family_name.clone(),
        display_name: identity.display_name.clone(),
        active: None,
    };

    // Without a stable id from the IdP (a transient NameID and no object id claim) the email
    // is the only key: it finds the account whatever id the account holds.
    let external_id = identity.external_id.as_deref();
    let lookup = |tx: &mut Tx<'_>| match external_id {
        Some(id) => tx.users_by_external_id_or_email(connection, id, email),
        None => Ok(tx.user_by_email(connection, email)?.into_iter().collect()),
    };
    let mut found = lookup(tx)?;
    // Another write may be changing these accounts (on PostgreSQL a deactivation can commit
    // meanwhile): hold them, then decide on them as that write left them.
    let ids: Vec<&str> = found.iter().map(|user| user.id.as_str()).collect();
    if !ids.is_empty() && tx.lock_users(&ids)? {
        found = lookup(tx)?;
    }
    let key = email_key(email);
    let holds = |user: &User| match (user.external_id.as_deref(), external_id) {
        (Some(held), Some(id)) => same_external_id(held, id),
        _ => false,
    };
    let by_external_id = external_id.and_then(|_| found.iter().find(|u| holds(u)));
    let by_email = found.iter().find(|u| u.email_key == key);
    let existing = match (by_external_id, by_email) {
        // A changed email must not collide with another account.
        (Some(user), Some(other)) if other.id != user.id => {
            return Err(LoginError::AccountConflict(email.to_string()));
        }
        (Some(user), _) => Some(user.clone()),
        // The address belongs to an account the IdP knows under another id.
        (None, Some(user)) if external_id.is_some() && user.external_id.is_some() => {
            return Err(LoginError::AccountConflict(email.to_string()));
        }
        (None, found) => found.cloned(),
    };

    match existing {
        Some(user) => {
            if !user.active {
                return Ok((user, false));
            }
            Ok((tx.update_user(&user, &changes, now.naive_utc())?, false))
        }
        None => {
            let user = NewUser {
                id: crate::store::new_id(),
                connection: connection.to_string(),
                external_id: identity.external_id.clone(),
                email: email.to_string(),
                email_key: key,
                user_name: identity.user_name.clone(),
                given_name: identity.given_name.clone(),
                family_name: identity.family_name.clone(),
                display_name: identity.display_name.clone(),
                active: true,
                source: "saml".to_string(),
                version: 1,
                created_at: now.naive_utc(),
                updated_at: now.naive_utc(),
                last_login_at: Some(now.naive_utc()),
            };
            Ok((tx.insert_user(&user)?, true))
        }
    }
}

/// Whether two external ids name one person: the same text, or two spellings of one address
/// (accounts keyed by an address NameID before keys were folded hold it as the IdP wrote it).
fn same_external_id(held: &str, id: &str) -> bool {
    held == id || (claims::looks_like_email(held) && email_key(held) == email_key(id))
}

/// Accepts a local path (`/app`, never one that is or resolves to `//host`) or a URL under an
/// allowed prefix or the install's own origin; returns the target to redirect to,
/// percent-encoded (a `Location` header holds ASCII only).
pub fn safe_redirect(target: &str, server: &ServerConfig) -> Result<String, LoginError> {
    let refuse = || LoginError::BadRelayState(target.chars().take(200).collect());
    if target.len() > 2048 || target.chars().any(|c| c.is_control() || c == '\\') {
        return Err(refuse());
    }
    if target.starts_with('/') && !target.starts_with("//") {
        // Read against the install's own URL, then given back without its origin. Dot
        // segments are resolved on the way (`/.//evil.example` becomes `//evil.example`): a
        // path that then starts `//` would name another host to the browser.
        let local = server.base_url.join(target).map_err(|_| refuse())?;
        if local.path().starts_with("//") {
            return Err(refuse());
        }
        return Ok(local[url::Position::BeforePath..].to_string());
    }
    let url = url::Url::parse(target).map_err(|_| refuse())?;
    let same_origin = |prefix: &url::Url| {
        prefix.scheme() == url.scheme()
            && prefix.host_str() == url.host_str()
            && prefix.port_or_known_default() == url.port_or_known_default()
    };
    let base_ok = same_origin(&server.base_url);
    let prefix_ok = server
        .allowed_redirects
        .iter()
        .any(|prefix| same_origin(prefix) && under_path(url.path(), prefix.path()));
    if base_ok || prefix_ok {
        Ok(url.to_string())
    } else {
        Err(refuse())
    }
}

/// Whether `path` is `prefix` or lies below it: `/app` covers `/app` and `/app/x`, not
/// `/application`.
fn under_path(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> ServerConfig {
        let yaml = "server:\n  base_url: https://sso.example.com/base\n  \
                    session_key: test-session-key-0123456789abcdef\n  \
                    allowed_redirects: [https://app.example.com/app, https://docs.example.com/]\n";
        crate::config::load_str(yaml, std::path::Path::new("test.yaml"))
            .unwrap()
            .server
    }

    #[test]
    fn an_allowed_prefix_covers_its_path_and_below_only() {
        let server = server();
        for allowed in [
            "https://app.example.com/app",
            "https://app.example.com/app/",
            "https://app.example.com/app/reports?y=1",
            "https://docs.example.com/guide",
            "https://sso.example.com/anything",
        ] {
            assert!(safe_redirect(allowed, &server).is_ok(), "{allowed}");
        }
        for refused in [
            "https://app.example.com/application",
            "https://app.example.com/ap",
            "https://app.example.com/",
            "http://app.example.com/app",
            "https://app.example.com.evil.example/app",
        ] {
            assert!(safe_redirect(refused, &server).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_local_path_comes_back_as_ascii_for_the_location_header() {
        let server = server();
        let cases = [
            ("/app?x=1#top", "/app?x=1#top"),
            ("/café/ß?q=é", "/caf%C3%A9/%C3%9F?q=%C3%A9"),
            ("/a b", "/a%20b"),
            ("/a/../b", "/b"),
        ];
        for (target, expected) in cases {
            let location = safe_redirect(target, &server).unwrap();
            assert_eq!(location, expected);
            assert!(is_header_value(&location), "{location}");
        }
    }

    #[test]
    fn a_local_path_never_becomes_another_host() {
        let server = server();
        // Each normalises to a path starting `//`, which a browser reads as a host.
        for target in [
            "/.//evil.example",
            "/..//evil.example/x",
            "/a/..//evil.example",
            "/%2e//evil.example",
            "/%2E%2E//evil.example",
            "/./%2e//evil.example",
        ] {
            let location = safe_redirect(target, &server);
            assert!(
                !matches!(&location, Ok(l) if l.starts_with("//")),
                "{target} -> {location:?}"
            );
        }
    }

    fn is_header_value(text: &str) -> bool {
        warp::http::HeaderValue::from_str(text).is_ok()
    }
}
