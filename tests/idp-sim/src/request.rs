//! Incoming AuthnRequests: decoding the HTTP-Redirect and HTTP-POST bindings (SAML bindings
//! 3.4.4.1 and 3.5.4) and the checks Entra ID makes before it signs anyone in.
//!
//! Every refusal is a [`LoginError`] carrying the AADSTS code Entra shows, so an SP's tests can
//! assert on the same codes an admin would search for.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::read::DeflateDecoder;
use samael::schema::AuthnRequest;

use crate::tenant::Tenant;

/// Largest inflated AuthnRequest accepted; real ones are well under a kilobyte.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// NameID formats Entra accepts in a `NameIDPolicy`.
const ACCEPTED_NAME_ID_FORMATS: [&str; 4] = [
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
];

/// Why the simulated Entra refuses a sign-in; shown as an error page with HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// The tenant id in the URL is not the simulated tenant's.
    #[error("Tenant '{tenant}' not found.")]
    UnknownTenant {
        /// The tenant id from the URL.
        tenant: String,
    },
    /// No `SAMLRequest` parameter.
    #[error(
        "SAMLRequest or SAMLResponse must be present as query string parameters in HTTP \
         request for SAML Redirect binding."
    )]
    MissingRequest,
    /// `SAMLRequest` is not base64 (and, for the redirect binding, raw DEFLATE).
    #[error("Unable to decode the SAML message: {reason}.")]
    UndecodableRequest {
        /// What failed.
        reason: String,
    },
    /// The decoded message is not an AuthnRequest.
    #[error("The request is not a valid Saml2 protocol message: {reason}.")]
    InvalidRequest {
        /// What failed.
        reason: String,
    },
    /// The AuthnRequest ID starts with a digit, which Entra refuses.
    #[error("The value '{id}' is not a valid SAML ID. The ID must not begin with a number.")]
    IdStartsWithDigit {
        /// The request ID.
        id: String,
    },
    /// The Issuer is not the application's Identifier.
    #[error(
        "Application with identifier '{issuer}' was not found in the directory '{tenant}'. \
         This can happen if the application has not been installed by the administrator of \
         the tenant or consented to by any user in the tenant."
    )]
    UnknownApplication {
        /// The request's Issuer (empty when absent).
        issuer: String,
        /// The tenant id.
        tenant: String,
    },
    /// The request carries a `Subject`, which Entra does not support.
    #[error(
        "The SAML authentication request property 'Subject' is not supported and must not \
         be set."
    )]
    SubjectNotSupported,
    /// The requested NameID format is not one Entra issues.
    #[error("The requested NameIDPolicy format '{format}' is not supported.")]
    UnsupportedNameIdFormat {
        /// The requested format.
        format: String,
    },
    /// The AssertionConsumerServiceURL is not the application's Reply URL.
    #[error(
        "The redirect URI '{reply_url}' specified in the request does not match the redirect \
         URIs configured for the application '{app_id}'."
    )]
    ReplyUrlMismatch {
        /// The requested ACS URL.
        reply_url: String,
        /// The application id.
        app_id: String,
    },
    /// No user parameter on an IdP-initiated or user-picker request.
    #[error("The request body must contain the following parameter: 'user'.")]
    MissingUser,
    /// No user in the tenant has that UPN or mail.
    #[error("User account '{login}' does not exist in tenant '{tenant}'.")]
    UnknownUser {
        /// The login that was given.
        login: String,
        /// The tenant id.
        tenant: String,
    },
    /// The user exists but `account_enabled` is false.
    #[error("The user account '{login}' is disabled.")]
    AccountDisabled {
        /// The user's UPN.
        login: String,
    },
    /// Signing the response failed (a simulator fault, not the request's).
    #[error("The response could not be signed: {reason}")]
    Signing {
        /// What failed.
        reason: String,
    },
}

impl LoginError {
    /// The AADSTS code Entra shows for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownTenant { .. } => "AADSTS90002",
            Self::MissingRequest => "AADSTS750054",
            Self::UndecodableRequest { .. } => "AADSTS750056",
            Self::InvalidRequest { .. } => "AADSTS75005",
            Self::IdStartsWithDigit { .. } => "AADSTS7500529",
            Self::UnknownApplication { .. } => "AADSTS700016",
            Self::SubjectNotSupported => "AADSTS900236",
            Self::UnsupportedNameIdFormat { .. } => "AADSTS75016",
            Self::ReplyUrlMismatch { .. } => "AADSTS50011",
            Self::MissingUser => "AADSTS900144",
            Self::UnknownUser { .. } => "AADSTS50034",
            Self::AccountDisabled { .. } => "AADSTS50057",
            Self::Signing { .. } => "AADSTS90033",
        }
    }
}

/// Which binding carried the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// Query string, base64 of raw DEFLATE.
    Redirect,
    /// Form field, plain base64.
    Post,
}

/// Decodes a `SAMLRequest` value into XML text.
pub fn decode_request(encoded: &str, binding: Binding) -> Result<String, LoginError> {
    let undecodable = |reason: String| LoginError::UndecodableRequest { reason };

    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|error| undecodable(format!("not base64 ({error})")))?;

    let xml = match binding {
        Binding::Post => bytes,
        Binding::Redirect => {
            let mut inflated = Vec::new();
            DeflateDecoder::new(bytes.as_slice())
                .take(MAX_REQUEST_BYTES)
                .read_to_end(&mut inflated)
                .map_err(|error| undecodable(format!("not raw DEFLATE ({error})")))?;
            inflated
        }
    };

    String::from_utf8(xml).map_err(|_| undecodable("not UTF-8".to_owned()))
}

/// Parses an AuthnRequest and applies Entra's checks for `tenant`, in Entra's order.
pub fn check_authn_request(tenant: &Tenant, xml: &str) -> Result<AuthnRequest, LoginError> {
    let invalid = |reason: String| LoginError::InvalidRequest { reason };

    // SAML messages never carry a DTD; refusing one closes entity expansion at the door.
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(invalid(
            "a document type declaration is not allowed".to_owned(),
        ));
    }
    let request: AuthnRequest = xml
        .trim_start_matches('\u{feff}')
        .parse()
        .map_err(|error| invalid(format!("{error}")))?;

    if request.id.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(LoginError::IdStartsWithDigit { id: request.id });
    }

    let issuer = request
        .issuer
        .as_ref()
        .and_then(|issuer| issuer.value.as_deref())
        .unwrap_or_default()
        .trim();
    if issuer != tenant.sp_entity_id {
        return Err(LoginError::UnknownApplication {
            issuer: issuer.to_owned(),
            tenant: tenant.tenant_id.to_string(),
        });
    }

    if request.subject.is_some() {
        return Err(LoginError::SubjectNotSupported);
    }

    let format = request
        .name_id_policy
        .as_ref()
        .and_then(|policy| policy.format.as_deref());
    if let Some(format) = format
        && !ACCEPTED_NAME_ID_FORMATS.contains(&format)
    {
        return Err(LoginError::UnsupportedNameIdFormat {
            format: format.to_owned(),
        });
    }

    if let Some(url) = &request.assertion_consumer_service_url
        && *url != tenant.reply_url
    {
        return Err(LoginError::ReplyUrlMismatch {
            reply_url: url.clone(),
            app_id: tenant.app_id.to_string(),
        });
    }

    Ok(request)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use flate2::Compression;
    use flate2::write::DeflateEncoder;

    use super::*;

    const TENANT: &str = "
tenant_id: 9c1f6c3e-0d7a-4b3e-9a57-2f4a1d0c5b11
app_id: 3f0b8f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b
sp_entity_id: http://localhost:8080/saml/acme/metadata
reply_url: http://localhost:8080/saml/acme/acs
";

    fn request(id: &str, issuer: &str, extra_attributes: &str, body: &str) -> String {
        format!(
            concat!(
                "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
                "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{}\" Version=\"2.0\" ",
                "IssueInstant=\"2024-01-01T00:00:00Z\"{}><saml:Issuer>{}</saml:Issuer>{}",
                "</samlp:AuthnRequest>"
            ),
            id, extra_attributes, issuer, body
        )
    }

    fn check(xml: &str) -> Result<AuthnRequest, LoginError> {
        check_authn_request(&Tenant::from_yaml(TENANT).unwrap(), xml)
    }

    const SP: &str = "http://localhost:8080/saml/acme/metadata";

    #[test]
    fn a_request_from_the_application_passes() {
        let acs = " AssertionConsumerServiceURL=\"http://localhost:8080/saml/acme/acs\"";

        let request = check(&request("_abc", SP, acs, "")).unwrap();

        assert_eq!(request.id, "_abc");
    }

    #[test]
    fn refusals_carry_entras_codes() {
        let cases = [
            (request("1abc", SP, "", ""), "AADSTS7500529"),
            (
                request("_abc", "https://evil.example", "", ""),
                "AADSTS700016",
            ),
            (
                request(
                    "_abc",
                    SP,
                    "",
                    "<saml:Subject><saml:NameID>a@b.c</saml:NameID></saml:Subject>",
                ),
                "AADSTS900236",
            ),
            (
                request(
                    "_abc",
                    SP,
                    " AssertionConsumerServiceURL=\"http://evil/acs\"",
                    "",
                ),
                "AADSTS50011",
            ),
            (
                request(
                    "_abc",
                    SP,
                    "",
                    concat!(
                        "<samlp:NameIDPolicy ",
                        "Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos\"/>"
                    ),
                ),
                "AADSTS75016",
            ),
            ("<!DOCTYPE x><x/>".to_owned(), "AADSTS75005"),
        ];

        for (xml, code) in cases {
            assert_eq!(check(&xml).unwrap_err().code(), code, "{xml}");
        }
    }

    #[test]
    fn redirect_binding_is_base64_of_raw_deflate() {
        let xml = request("_abc", SP, "", "");
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(xml.as_bytes()).unwrap();
        let encoded = STANDARD.encode(encoder.finish().unwrap());

        assert_eq!(decode_request(&encoded, Binding::Redirect).unwrap(), xml);
        assert_eq!(
            decode_request("%%%", Binding::Redirect).unwrap_err().code(),
            "AADSTS750056"
        );
    }
}
