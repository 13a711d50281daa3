//! Signed SAML responses shaped like Entra ID's (SAML 2.0 core, section 3.3.3 and 2.3.3).
//!
//! [`ResponseSpec`] holds every value that goes into a response as a plain field, so tests can
//! start from a correct response ([`ResponseSpec::for_user`]) and break exactly one thing.
//! [`build_signed_response`] turns a spec into XML and signs it; it never reads the clock.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::keys::SigningKey;
use crate::tenant::{Tenant, TenantUser};
use crate::xml::{escape, instant, sign_first_template, signature_template};

/// NameID format Entra uses for an email NameID (SAML core 8.3.2).
pub const NAME_ID_FORMAT_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// Top-level status of a successful response (SAML core 3.2.2.2).
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Entra's claim URIs, as they appear in `Attribute Name`.
pub mod claims {
    /// The tenant id.
    pub const TENANT_ID: &str = "http://schemas.microsoft.com/identity/claims/tenantid";
    /// The user's objectId: the stable key.
    pub const OBJECT_ID: &str = "http://schemas.microsoft.com/identity/claims/objectidentifier";
    /// First name.
    pub const GIVEN_NAME: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname";
    /// Last name.
    pub const SURNAME: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname";
    /// Email address.
    pub const EMAIL: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
    /// The user principal name (not unique forever).
    pub const NAME: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
    /// Display name.
    pub const DISPLAY_NAME: &str = "http://schemas.microsoft.com/identity/claims/displayname";
    /// The identity provider that authenticated the user.
    pub const IDENTITY_PROVIDER: &str =
        "http://schemas.microsoft.com/identity/claims/identityprovider";
    /// How the user authenticated.
    pub const AUTHN_METHODS: &str = "http://schemas.microsoft.com/claims/authnmethodsreferences";
    /// Plain first name claim an admin adds for the application.
    pub const FIRST_NAME: &str = "firstName";
    /// Plain last name claim an admin adds for the application.
    pub const LAST_NAME: &str = "lastName";
}

const PASSWORD_METHOD: &str =
    "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password";
const PASSWORD_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// Which elements carry a signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Signing {
    /// No signature at all (a forged or broken response).
    None,
    /// The assertion only (Entra's default).
    #[default]
    Assertion,
    /// The response only.
    Response,
    /// The assertion first, then the response around it.
    Both,
}

impl Signing {
    fn signs_assertion(self) -> bool {
        matches!(self, Self::Assertion | Self::Both)
    }

    fn signs_response(self) -> bool {
        matches!(self, Self::Response | Self::Both)
    }
}

/// XML signature algorithm, with the digest that goes with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureAlgorithm {
    /// RSA with SHA-1 and a SHA-1 digest (Entra's legacy option).
    #[serde(rename = "rsa-sha1")]
    RsaSha1,
    /// RSA with SHA-256 and a SHA-256 digest (Entra's default).
    #[default]
    #[serde(rename = "rsa-sha256")]
    RsaSha256,
    /// RSA with SHA-512 and a SHA-512 digest.
    #[serde(rename = "rsa-sha512")]
    RsaSha512,
}

impl SignatureAlgorithm {
    /// The `SignatureMethod` URI (RFC 6931 for the SHA-2 ones).
    pub fn signature_uri(self) -> &'static str {
        match self {
            Self::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Self::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        }
    }

    /// The `DigestMethod` URI.
    pub fn digest_uri(self) -> &'static str {
        match self {
            Self::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Self::RsaSha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }
}

/// Every value of a response, as plain fields, so a test can change any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSpec {
    /// `Response/@ID`.
    pub response_id: String,
    /// `Assertion/@ID`.
    pub assertion_id: String,
    /// Issuer of the response and of the assertion.
    pub issuer: String,
    /// `Response/@Destination`; omitted when `None`.
    pub destination: Option<String>,
    /// `InResponseTo` of the response and of the bearer confirmation; `None` when unsolicited.
    pub in_response_to: Option<String>,
    /// The subject's NameID value.
    pub name_id: String,
    /// The NameID format.
    pub name_id_format: String,
    /// The single audience of the audience restriction.
    pub audience: String,
    /// `SubjectConfirmationData/@Recipient`.
    pub recipient: String,
    /// `IssueInstant` of the response and the assertion, and the authentication instant.
    pub issue_instant: DateTime<Utc>,
    /// `Conditions/@NotBefore`.
    pub not_before: DateTime<Utc>,
    /// `Conditions/@NotOnOrAfter`.
    pub not_on_or_after: DateTime<Utc>,
    /// `SubjectConfirmationData/@NotOnOrAfter`.
    pub subject_not_on_or_after: DateTime<Utc>,
    /// `AuthnStatement/@SessionIndex`.
    pub session_index: String,
    /// `AuthnStatement/@SessionNotOnOrAfter`, when the IdP bounds the session it starts.
    pub session_not_on_or_after: Option<DateTime<Utc>>,
    /// Attributes in order: name and values.
    pub attributes: Vec<(String, Vec<String>)>,
    /// `StatusCode/@Value` of the response.
    pub status_code: String,
    /// Which elements are signed.
    pub signing: Signing,
    /// Signature and digest algorithm.
    pub algorithm: SignatureAlgorithm,
    /// Whether signatures carry the certificate in `KeyInfo`.
    pub include_key_info: bool,
    /// Adds a second assertion, signed on its own, for the user `duplicate_name_id`.
    pub duplicate_assertion: bool,
    /// The NameID of the second assertion (used when `duplicate_assertion` is set).
    pub duplicate_name_id: String,
}

impl ResponseSpec {
    /// The response Entra would send for `user` at `now`, following the tenant's signing
    /// settings: NameID is the mail, `NotBefore` is `now` (no buffer), the assertion is valid for
    /// 70 minutes and the bearer confirmation for 5.
    pub fn for_user(
        tenant: &Tenant,
        user: &TenantUser,
        in_response_to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Self {
        let assertion_id = new_id();
        let issuer = tenant.entity_id();
        let domain = user
            .mail
            .rsplit_once('@')
            .map_or("example.com", |(_, domain)| domain);
        let claim = |name: &str, value: &str| (name.to_owned(), vec![value.to_owned()]);

        Self {
            response_id: new_id(),
            session_index: assertion_id.clone(),
            session_not_on_or_after: None,
            assertion_id,
            destination: Some(tenant.reply_url.clone()),
            in_response_to: in_response_to.map(str::to_owned),
            name_id: user.mail.clone(),
            name_id_format: NAME_ID_FORMAT_EMAIL.to_owned(),
            audience: tenant.sp_entity_id.clone(),
            recipient: tenant.reply_url.clone(),
            issue_instant: now,
            not_before: now,
            not_on_or_after: now + Duration::minutes(70),
            subject_not_on_or_after: now + Duration::minutes(5),
            attributes: vec![
                claim(claims::TENANT_ID, &tenant.tenant_id.to_string()),
                claim(claims::OBJECT_ID, &user.id.to_string()),
                claim(claims::GIVEN_NAME, &user.given_name),
                claim(claims::SURNAME, &user.surname),
                claim(claims::EMAIL, &user.mail),
                claim(claims::NAME, &user.user_principal_name),
                claim(claims::DISPLAY_NAME, &user.display_name()),
                claim(claims::IDENTITY_PROVIDER, &issuer),
                claim(claims::AUTHN_METHODS, PASSWORD_METHOD),
                claim(claims::FIRST_NAME, &user.given_name),
                claim(claims::LAST_NAME, &user.surname),
            ],
            issuer,
            status_code: STATUS_SUCCESS.to_owned(),
            signing: tenant.signing.into(),
            algorithm: tenant.signature_algorithm,
            include_key_info: true,
            duplicate_assertion: false,
            duplicate_name_id: format!("mallory@{domain}"),
        }
    }
}

/// Builds the response XML (no XML declaration) and signs it as `spec.signing` asks.
///
/// Assertions are signed first, each on its own, then the response around them, so with
/// [`Signing::Both`] the response signature covers the signed assertion.
pub fn build_signed_response(spec: &ResponseSpec, key: &SigningKey) -> anyhow::Result<String> {
    let key_info = spec.include_key_info.then_some(key);

    let mut assertions = vec![assertion_xml(
        spec,
        &spec.assertion_id,
        &spec.name_id,
        key_info,
    )];
    if spec.duplicate_assertion {
        let attributes = spec
            .attributes
            .iter()
            .map(|(name, values)| {
                let values = values
                    .iter()
                    .map(|value| {
                        if *value == spec.name_id {
                            spec.duplicate_name_id.clone()
                        } else {
                            value.clone()
                        }
                    })
                    .collect();
                (name.clone(), values)
            })
            .collect();
        let second_id = new_id();
        let second = ResponseSpec {
            attributes,
            session_index: second_id.clone(),
            ..spec.clone()
        };
        assertions.push(assertion_xml(
            &second,
            &second_id,
            &spec.duplicate_name_id,
            key_info,
        ));
    }

    if spec.signing.signs_assertion() {
        assertions = assertions
            .iter()
            .map(|assertion| sign_first_template(assertion, key))
            .collect::<anyhow::Result<_>>()?;
    }

    let response = response_xml(spec, &assertions.concat(), key_info);
    if spec.signing.signs_response() {
        sign_first_template(&response, key)
    } else {
        Ok(response)
    }
}

/// A fresh SAML ID as Entra makes them: `_` and a UUID (an NCName, never starting with a digit).
pub fn new_id() -> String {
    format!("_{}", uuid::Uuid::new_v4())
}

fn response_xml(spec: &ResponseSpec, assertions: &str, key_info: Option<&SigningKey>) -> String {
    let destination = optional_attribute("Destination", spec.destination.as_deref());
    let in_response_to = optional_attribute("InResponseTo", spec.in_response_to.as_deref());
    let signature = if spec.signing.signs_response() {
        signature_template(&spec.response_id, spec.algorithm, key_info)
    } else {
        String::new()
    };

    format!(
        concat!(
            "<samlp:Response ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{instant}\"",
            "{destination}{in_response_to} xmlns:samlp=\"{protocol}\">",
            "<Issuer xmlns=\"{assertion_ns}\">{issuer}</Issuer>{signature}",
            "<samlp:Status><samlp:StatusCode Value=\"{status}\"/></samlp:Status>",
            "{assertions}</samlp:Response>"
        ),
        id = escape(&spec.response_id),
        instant = instant(spec.issue_instant),
        destination = destination,
        in_response_to = in_response_to,
        protocol = PROTOCOL_NS,
        assertion_ns = ASSERTION_NS,
        issuer = escape(&spec.issuer),
        signature = signature,
        status = escape(&spec.status_code),
        assertions = assertions,
    )
}

fn assertion_xml(
    spec: &ResponseSpec,
    assertion_id: &str,
    name_id: &str,
    key_info: Option<&SigningKey>,
) -> String {
    let signature = if spec.signing.signs_assertion() {
        signature_template(assertion_id, spec.algorithm, key_info)
    } else {
        String::new()
    };
    let in_response_to = optional_attribute("InResponseTo", spec.in_response_to.as_deref());
    let attributes: String = spec
        .attributes
        .iter()
        .map(|(name, values)| {
            let values: String = values
                .iter()
                .map(|value| format!("<AttributeValue>{}</AttributeValue>", escape(value)))
                .collect();
            format!("<Attribute Name=\"{}\">{values}</Attribute>", escape(name))
        })
        .collect();
    let attribute_statement = if attributes.is_empty() {
        String::new()
    } else {
        format!("<AttributeStatement>{attributes}</AttributeStatement>")
    };

    format!(
        concat!(
            "<Assertion ID=\"{id}\" IssueInstant=\"{instant}\" Version=\"2.0\" ",
            "xmlns=\"{assertion_ns}\"><Issuer>{issuer}</Issuer>{signature}",
            "<Subject><NameID Format=\"{format}\">{name_id}</NameID>",
            "<SubjectConfirmation Method=\"{bearer}\"><SubjectConfirmationData",
            "{in_response_to} NotOnOrAfter=\"{subject_until}\" Recipient=\"{recipient}\"/>",
            "</SubjectConfirmation></Subject>",
            "<Conditions NotBefore=\"{not_before}\" NotOnOrAfter=\"{not_after}\">",
            "<AudienceRestriction><Audience>{audience}</Audience></AudienceRestriction>",
            "</Conditions>{attribute_statement}",
            "<AuthnStatement AuthnInstant=\"{instant}\" SessionIndex=\"{session}\"",
            "{session_until}>",
            "<AuthnContext><AuthnContextClassRef>{context}</AuthnContextClassRef>",
            "</AuthnContext></AuthnStatement></Assertion>"
        ),
        id = escape(assertion_id),
        instant = instant(spec.issue_instant),
        assertion_ns = ASSERTION_NS,
        issuer = escape(&spec.issuer),
        signature = signature,
        format = escape(&spec.name_id_format),
        name_id = escape(name_id),
        bearer = BEARER,
        in_response_to = in_response_to,
        subject_until = instant(spec.subject_not_on_or_after),
        recipient = escape(&spec.recipient),
        not_before = instant(spec.not_before),
        not_after = instant(spec.not_on_or_after),
        audience = escape(&spec.audience),
        attribute_statement = attribute_statement,
        session = escape(&spec.session_index),
        session_until = optional_attribute(
            "SessionNotOnOrAfter",
            spec.session_not_on_or_after.map(instant).as_deref()
        ),
        context = PASSWORD_CONTEXT,
    )
}

fn optional_attribute(name: &str, value: Option<&str>) -> String {
    value
        .map(|value| format!(" {name}=\"{}\"", escape(value)))
        .unwrap_or_default()
}
