//! An identity provider simulator that plays Microsoft Entra ID as a SAML IdP, for provisiond's
//! tests and its quickstart.
//!
//! A [`Tenant`] (read from YAML) describes one enterprise application and its users; a
//! [`Simulator`] adds signing keys ([`IdpKeys`]) and serves, over HTTP with [`start`]:
//!
//! - federation metadata at `/{tenant}/federationmetadata/2007-06/federationmetadata.xml`,
//! - SP-initiated sign-in at `/{tenant}/saml2` (HTTP-Redirect and HTTP-POST bindings), with an
//!   account picker at `/{tenant}/saml2/login`,
//! - IdP-initiated sign-in at `/{tenant}/saml2/idp-initiated?user=...`,
//! - with [`start_with_graph`], the token endpoint and the Graph endpoints of [`graph`] for the
//!   same people ([`Tenant::directory`]).
//!
//! Responses are really signed (xmlsec, through samael), so an SP verifies them as it would
//! Entra's. Tests that need broken responses build them with [`ResponseSpec`] and
//! [`build_signed_response`].
//!
//! The simulator is test support: it trusts everyone who can reach it and must only listen on
//! a loopback address.

mod directory;
pub mod graph;
mod html;
mod keys;
mod login;
mod metadata;
mod request;
mod response;
mod server;
mod tenant;
mod xml;

use chrono::{DateTime, Utc};

pub use html::{account_picker, auto_post_form, error_page, parse_auto_post_form};
pub use keys::{IdpKeys, KeyError, SigningKey};
pub use login::SsoRequest;
pub use metadata::federation_metadata;
pub use request::{Binding, LoginError, check_authn_request, decode_request};
pub use response::{
    NAME_ID_FORMAT_EMAIL, ResponseSpec, STATUS_SUCCESS, SignatureAlgorithm, Signing,
    build_signed_response, claims, new_id,
};
pub use server::start_with_graph;
pub use server::{RunningSimulator, start};
pub use tenant::{GenerateSpec, SigningOption, Tenant, TenantError, TenantGroup, TenantUser};

/// A simulated tenant with its signing keys: everything the HTTP routes need.
#[derive(Debug, Clone)]
pub struct Simulator {
    tenant: Tenant,
    keys: IdpKeys,
}

/// Why a [`Simulator`] could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The tenant asks for a different number of certificates than keys were given.
    #[error("the tenant lists {expected} signing certificate(s) but {got} key(s) were given")]
    KeyCount {
        /// `certificates` in the tenant.
        expected: usize,
        /// Keys given.
        got: usize,
    },
    /// Keys could not be generated.
    #[error(transparent)]
    Keys(#[from] KeyError),
}

impl Simulator {
    /// Combines a tenant with its keys; there must be one key per certificate of the tenant.
    pub fn new(tenant: Tenant, keys: IdpKeys) -> Result<Self, SimulatorError> {
        let expected = usize::from(tenant.certificates);
        if keys.all().len() != expected {
            return Err(SimulatorError::KeyCount {
                expected,
                got: keys.all().len(),
            });
        }
        Ok(Self { tenant, keys })
    }

    /// A simulator with freshly generated keys.
    pub fn generate(tenant: Tenant) -> Result<Self, SimulatorError> {
        let keys = IdpKeys::generate(usize::from(tenant.certificates))?;
        Self::new(tenant, keys)
    }

    /// The tenant.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// All signing keys, in metadata order.
    pub fn keys(&self) -> &IdpKeys {
        &self.keys
    }

    /// The key that signs responses (`signing_certificate` of the tenant).
    pub fn signing_key(&self) -> &SigningKey {
        self.keys.key(self.tenant.signing_certificate_index())
    }

    /// The IdP entity id and issuer: `https://sts.windows.net/{tenant}/`.
    pub fn entity_id(&self) -> String {
        self.tenant.entity_id()
    }

    /// The federation metadata URL for a simulator at `base_url`.
    pub fn metadata_url(&self, base_url: &str) -> String {
        format!(
            "{}/{}/federationmetadata/2007-06/federationmetadata.xml?appid={}",
            base_url.trim_end_matches('/'),
            self.tenant.tenant_id,
            self.tenant.app_id
        )
    }

    /// The SAML sign-on URL (both bindings) for a simulator at `base_url`.
    pub fn sso_url(&self, base_url: &str) -> String {
        format!(
            "{}/{}/saml2",
            base_url.trim_end_matches('/'),
            self.tenant.tenant_id
        )
    }

    /// The IdP-initiated sign-in URL for `login` (a UPN or mail).
    pub fn idp_initiated_url(&self, base_url: &str, login: &str) -> String {
        let query = serde_urlencoded::to_string([("user", login)]).unwrap_or_default();
        format!("{}/idp-initiated?{query}", self.sso_url(base_url))
    }

    /// The federation metadata document for a simulator at `base_url`.
    pub fn metadata(&self, base_url: &str) -> anyhow::Result<String> {
        federation_metadata(&self.tenant, &self.keys, base_url)
    }

    /// A correct signed response for `user` following the tenant's settings, as XML.
    pub fn response_for(
        &self,
        user: &TenantUser,
        in_response_to: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let spec = ResponseSpec::for_user(&self.tenant, user, in_response_to, now);
        build_signed_response(&spec, self.signing_key())
    }
}
