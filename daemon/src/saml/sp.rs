//! One connection's service provider: its URLs, SP metadata, and AuthnRequests.

use std::io::Write;
use std::sync::{Arc, RwLock};

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use flate2::Compression;
use flate2::write::DeflateEncoder;

use super::metadata::IdpDescriptor;
use super::request_id::{IssuedRequest, NotIssued, RequestIds};
use crate::config::{ConnectionConfig, IdpSource, SamlConfig, Secret};

const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// A connection's SAML service provider.
#[derive(Debug)]
pub struct ServiceProvider {
    /// Connection name.
    pub connection: String,
    /// SP entity ID (the "Identifier" in Entra).
    pub sp_entity_id: String,
    /// Assertion consumer service URL (the "Reply URL" in Entra).
    pub acs_url: String,
    /// Where the SP metadata is served.
    pub metadata_url: String,
    /// Where a sign-in starts (the "Sign on URL" in Entra).
    pub login_url: String,
    /// The connection's SAML settings.
    pub settings: SamlConfig,
    idp: Arc<RwLock<Option<IdpDescriptor>>>,
    request_ids: RequestIds,
}

/// An AuthnRequest ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// The request ID; the answer's InResponseTo must name it (see [`RequestIds`]).
    pub id: String,
    /// The IdP URL to redirect the browser to (HTTP-Redirect binding).
    pub redirect_url: String,
}

impl ServiceProvider {
    /// The SP for a connection with SAML settings, under the install's base URL; request IDs
    /// are made with the install's session key.
    pub fn new(
        connection: &ConnectionConfig,
        saml: &SamlConfig,
        base_url: &str,
        session_key: &Secret,
    ) -> Self {
        let prefix = format!("{base_url}/saml/{}", connection.name);
        let metadata_url = format!("{prefix}/metadata");
        let idp = match &saml.idp {
            IdpSource::File { descriptor, .. } | IdpSource::Manual(descriptor) => {
                Some(descriptor.clone())
            }
            IdpSource::Url { .. } => None,
        };
        Self {
            connection: connection.name.clone(),
            sp_entity_id: saml
                .sp_entity_id
                .clone()
                .unwrap_or_else(|| metadata_url.clone()),
            acs_url: format!("{prefix}/acs"),
            login_url: format!("{prefix}/login"),
            metadata_url,
            settings: saml.clone(),
            idp: Arc::new(RwLock::new(idp)),
            request_ids: RequestIds::new(session_key.clone()),
        }
    }

    /// Whether `id` names a request this SP issued that may still be answered, and whether
    /// `relay_state` is the one sent with it.
    pub fn check_request_id(
        &self,
        id: &str,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<IssuedRequest, NotIssued> {
        self.request_ids
            .check(&self.connection, id, relay_state, now)
    }

    /// The IdP's current values; `None` until metadata from a URL has loaded once.
    pub fn idp(&self) -> Option<IdpDescriptor> {
        self.idp.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the IdP's values (metadata refresh).
    pub fn set_idp(&self, descriptor: IdpDescriptor) {
        *self.idp.write().unwrap_or_else(|p| p.into_inner()) = Some(descriptor);
    }

    /// SP metadata for the admin to give the IdP.
    pub fn metadata_xml(&self) -> String {
        format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" "#,
                r#"entityID="{entity}">"#,
                r#"<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" "#,
                r#"protocolSupportEnumeration="{protocol}">"#,
                r#"<md:NameIDFormat>{format}</md:NameIDFormat>"#,
                r#"<md:AssertionConsumerService Binding="{binding}" Location="{acs}" "#,
                r#"index="0" isDefault="true"/>"#,
                r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
            ),
            entity = xml_escape(&self.sp_entity_id),
            protocol = PROTOCOL_NS,
            format = EMAIL_FORMAT,
            binding = POST_BINDING,
            acs = xml_escape(&self.acs_url),
        )
    }

    /// Builds an AuthnRequest for the HTTP-Redirect binding (bindings §3.4).
    ///
    /// Entra refuses a `<Subject>` and an ID starting with a digit; neither is produced.
    /// `login_hint` pre-fills the IdP's account field (Entra honours it as a query parameter).
    pub fn authn_request(
        &self,
        idp: &IdpDescriptor,
        relay_state: Option<&str>,
        login_hint: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AuthnRequest, std::io::Error> {
        let id = self.request_ids.issue(&self.connection, relay_state, now);
        let xml = format!(
            concat!(
                r#"<samlp:AuthnRequest xmlns:samlp="{protocol}" xmlns:saml="{assertion}" "#,
                r#"ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{destination}" "#,
                r#"AssertionConsumerServiceURL="{acs}" ProtocolBinding="{binding}">"#,
                r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
                r#"<samlp:NameIDPolicy Format="{format}" AllowCreate="true"/>"#,
                r#"</samlp:AuthnRequest>"#
            ),
            protocol = PROTOCOL_NS,
            assertion = ASSERTION_NS,
            id = id,
            instant = now.to_rfc3339_opts(SecondsFormat::Secs, true),
            destination = xml_escape(&idp.sso_url),
            acs = xml_escape(&self.acs_url),
            binding = POST_BINDING,
            issuer = xml_escape(&self.sp_entity_id),
            format = EMAIL_FORMAT,
        );

        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(xml.as_bytes())?;
        let deflated = encoder.finish()?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(deflated);

        // Read as a URL, so that what is sent is an ASCII Location (punycode host,
        // percent-escapes) and the fields land in the query, before any fragment.
        let mut redirect_url = url::Url::parse(&idp.sso_url).map_err(|err| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("SSO URL: {err}"))
        })?;
        {
            let mut query = redirect_url.query_pairs_mut();
            query.append_pair("SAMLRequest", &encoded);
            if let Some(relay_state) = relay_state {
                query.append_pair("RelayState", relay_state);
            }
            if let Some(hint) = login_hint {
                query.append_pair("login_hint", hint);
            }
        }
        Ok(AuthnRequest {
            id,
            redirect_url: redirect_url.into(),
        })
    }
}

/// Escapes text for an XML attribute or element.
pub fn xml_escape(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}
