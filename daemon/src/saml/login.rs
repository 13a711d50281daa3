//! Starting a login and completing it: request state, replay cache, just-in-time accounts,
//! sessions and the audit log.
//!
//! The stable key of an account is the connection plus the external id (Entra's object id,
//! else the NameID). A known external id with a new email updates the account; an unknown
//! external id with a known email adopts an account that has no external id yet (one created
//! by SCIM or sync), and is refused if that account belongs to someone else.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::claims::{self, Identity};
use super::error::LoginError;
use super::sp::{AuthnRequest, ServiceProvider};
use super::validate::{self, Expectations, ValidatedAssertion};
use crate::config::{ConnectionConfig, ServerConfig};
use crate::session::SessionKeys;
use crate::store::{
    LoginOutcome, NewUser, OutstandingRequest, Store, Tx, User, UserChanges, email_key,
};

/// The largest posted response checked on the request's own task (base64 characters); a
/// larger one is checked on the blocking pool.
const INLINE_CHECK_BYTES: usize = 32 * 1024;

/// How long an issued AuthnRequest may be answered.
const REQUEST_LIFETIME_MINUTES: i64 = 15;

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
}

/// Issues an AuthnRequest and remembers it for the InResponseTo check.
pub fn start_login(
    store: &Store,
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
    let request = sp
        .authn_request(&idp, relay_state, login_hint, now)
        .map_err(|err| LoginError::Store(format!("cannot encode AuthnRequest: {err}")))?;
    let row = OutstandingRequest {
        id: request.id.clone(),
        connection: sp.connection.clone(),
        relay_state: relay_state.map(str::to_string),
        created_at: now.naive_utc(),
        expires_at: (now + chrono::Duration::minutes(REQUEST_LIFETIME_MINUTES)).naive_utc(),
    };
    // Not rate limited: every call stores a row until it expires (README, Limitations).
    store.write(|tx| tx.save_request(&row).map_err(LoginError::from))?;
    Ok(request)
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
        ("object id", Some(identity.external_id.as_str())),
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
                email_for_audit.as_deref(),
                LoginOutcome::Refused,
                err.code(),
                &err.to_string(),
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
    store.write(|tx| {
        if !tx.remember_assertion(
            &sp.connection,
            &assertion.assertion_id,
            assertion.replay_until.naive_utc(),
        )? {
            return Err(LoginError::Replay(assertion.assertion_id.clone()));
        }
        let stored_relay = check_request(tx, sp, &assertion, now)?;
        // The RelayState stored with our own request wins over the one that came back.
        let relay = stored_relay.or_else(|| relay_state.map(str::to_string));
        let redirect = match relay.as_deref().filter(|r| !r.is_empty()) {
            Some(target) => safe_redirect(target, server)?,
            None => "/".to_string(),
        };
        let (user, created) = upsert_user(tx, &sp.connection, &identity, &email, now)?;
        if !user.active {
            return Err(LoginError::Deactivated(user.email));
        }
        tx.link_identity(
            &sp.connection,
            &assertion.issuer,
            &assertion.name_id,
            &user.id,
            now.naive_utc(),
        )?;
        if !created {
            tx.touch_login(&user.id, now.naive_utc())?;
        }

        let expires = now + chrono::Duration::from_std(server.session_ttl).unwrap_or_default();
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
            session_token: token,
            redirect,
        })
    })
}

/// Consumes the outstanding request (or checks an unsolicited response is allowed); returns
/// the RelayState stored with the request.
fn check_request(
    tx: &mut Tx<'_>,
    sp: &ServiceProvider,
    assertion: &ValidatedAssertion,
    now: DateTime<Utc>,
) -> Result<Option<String>, LoginError> {
    match &assertion.in_response_to {
        Some(request_id) => {
            // An InResponseTo we never issued (Entra's portal test button sends one) is
            // treated as unsolicited when the connection allows that, refused otherwise.
            match tx.take_request(&sp.connection, request_id, now.naive_utc())? {
                Some(request) => Ok(request.relay_state),
                None if sp.settings.allow_idp_initiated => Ok(None),
                None => Err(LoginError::UnknownRequest(request_id.clone())),
            }
        }
        None if sp.settings.allow_idp_initiated => Ok(None),
        None => Err(LoginError::IdpInitiatedNotAllowed),
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
        external_id: Some(identity.external_id.clone()),
        email: Some(email.to_string()),
        user_name: identity.user_name.clone(),
        given_name: identity.given_name.clone(),
        family_name: identity.family_name.clone(),
        display_name: identity.display_name.clone(),
        active: None,
    };

    let found = tx.users_by_external_id_or_email(connection, &identity.external_id, email)?;
    let key = email_key(email);
    let by_external_id = found
        .iter()
        .find(|u| u.external_id.as_deref() == Some(identity.external_id.as_str()));
    let by_email = found.iter().find(|u| u.email_key == key);
    let existing = match (by_external_id, by_email) {
        // A changed email must not collide with another account.
        (Some(user), Some(other)) if other.id != user.id => {
            return Err(LoginError::AccountConflict(email.to_string()));
        }
        (Some(user), _) => Some(user.clone()),
        // The address belongs to an account the IdP knows under another id.
        (None, Some(user))
            if user
                .external_id
                .as_deref()
                .is_some_and(|id| id != identity.external_id) =>
        {
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
                external_id: Some(identity.external_id.clone()),
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

/// Accepts a local path (`/app`, never `//host`) or a URL under an allowed prefix or the
/// install's own origin; returns the target to redirect to.
pub fn safe_redirect(target: &str, server: &ServerConfig) -> Result<String, LoginError> {
    let refuse = || LoginError::BadRelayState(target.chars().take(200).collect());
    if target.len() > 2048 || target.chars().any(|c| c.is_control() || c == '\\') {
        return Err(refuse());
    }
    if target.starts_with('/') && !target.starts_with("//") {
        return Ok(target.to_string());
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
        .any(|prefix| same_origin(prefix) && url.path().starts_with(prefix.path()));
    if base_ok || prefix_ok {
        Ok(url.to_string())
    } else {
        Err(refuse())
    }
}
