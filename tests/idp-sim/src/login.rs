//! The sign-in flows, independent of HTTP: SP-initiated (redirect or POST binding, with or
//! without `login_hint`), the account picker's answer, and IdP-initiated sign-in.
//!
//! Each flow takes the request's parameters and `now`, and returns the HTML page to show or the
//! [`LoginError`] Entra would show. The `server` module only moves these over HTTP.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};

use crate::Simulator;
use crate::html::{account_picker, auto_post_form};
use crate::request::{Binding, LoginError, check_authn_request, decode_request};
use crate::response::{ResponseSpec, build_signed_response};
use crate::tenant::TenantUser;

/// Parameters of an SP-initiated request, as sent on the query string or in the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsoRequest {
    /// The encoded AuthnRequest (`SAMLRequest`).
    pub saml_request: Option<String>,
    /// Opaque SP state, echoed back (`RelayState`).
    pub relay_state: Option<String>,
    /// A UPN or mail that picks the user without showing the account picker (`login_hint`).
    pub login_hint: Option<String>,
    /// The user chosen on the account picker (`user`).
    pub user: Option<String>,
}

impl Simulator {
    /// Answers an AuthnRequest: the auto-submitting response form when `login_hint` names a
    /// user (or `user` was picked), otherwise the account picker posting to `picker_action`.
    pub fn single_sign_on(
        &self,
        request: &SsoRequest,
        binding: Binding,
        picker_action: &str,
        now: DateTime<Utc>,
    ) -> Result<String, LoginError> {
        let encoded = request
            .saml_request
            .as_deref()
            .filter(|value| !value.is_empty())
            .ok_or(LoginError::MissingRequest)?;
        let xml = decode_request(encoded, binding)?;
        let authn_request = check_authn_request(self.tenant(), &xml)?;

        let chosen = request.user.as_deref().or(request.login_hint.as_deref());
        let user = match chosen.and_then(|login| self.tenant().find_user(login)) {
            Some(user) => user,
            None if request.user.is_some() => {
                return Err(self.unknown_user(request.user.as_deref().unwrap_or_default()));
            }
            None => {
                // The picker re-posts the request in the POST binding's plain base64.
                let plain = STANDARD.encode(xml.as_bytes());
                return Ok(account_picker(
                    self.tenant(),
                    picker_action,
                    &plain,
                    request.relay_state.as_deref(),
                    request.login_hint.as_deref(),
                ));
            }
        };

        self.signed_form(
            user,
            Some(&authn_request.id),
            request.relay_state.as_deref(),
            now,
        )
    }

    /// Answers an IdP-initiated sign-in (no AuthnRequest, no `InResponseTo`) for `login`.
    pub fn idp_initiated(
        &self,
        login: Option<&str>,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, LoginError> {
        let login = login
            .filter(|login| !login.is_empty())
            .ok_or(LoginError::MissingUser)?;
        let user = self
            .tenant()
            .find_user(login)
            .ok_or_else(|| self.unknown_user(login))?;

        self.signed_form(user, None, relay_state, now)
    }

    /// The auto-submitting form with a signed response for `user`.
    fn signed_form(
        &self,
        user: &TenantUser,
        in_response_to: Option<&str>,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, LoginError> {
        if !user.account_enabled {
            return Err(LoginError::AccountDisabled {
                login: user.user_principal_name.clone(),
            });
        }

        let spec = ResponseSpec::for_user(self.tenant(), user, in_response_to, now);
        let xml = build_signed_response(&spec, self.signing_key()).map_err(|error| {
            LoginError::Signing {
                reason: format!("{error:#}"),
            }
        })?;
        tracing::info!(user = %user.user_principal_name, solicited = in_response_to.is_some(),
            "issued a SAML response");

        Ok(auto_post_form(
            &self.tenant().reply_url,
            &STANDARD.encode(xml.as_bytes()),
            relay_state.filter(|value| !value.is_empty()),
        ))
    }

    fn unknown_user(&self, login: &str) -> LoginError {
        LoginError::UnknownUser {
            login: login.to_owned(),
            tenant: self.tenant().tenant_id.to_string(),
        }
    }
}
