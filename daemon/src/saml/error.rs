//! Why a login was refused.
//!
//! Each variant has a short code shown to the person (so they can quote it to their admin)
//! and a precise Display text that goes to the log and the audit table, never to the page.
//! Neither ever contains an assertion body, a signature or a secret.

/// A refused SAML login.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// The POST carried no SAMLResponse, or it was not base64/UTF-8/XML.
    #[error("malformed SAMLResponse: {0}")]
    Malformed(String),
    /// The message declared a DTD or entity; SAML has none, so it is an attack.
    #[error("SAMLResponse declares a DTD or entity; refused before parsing")]
    Dtd,
    /// The connection has no SAML configuration or is unknown.
    #[error("connection {0:?} is not configured for SAML")]
    UnknownConnection(String),
    /// The IdP reported a failure: its status code, the nested code and the StatusMessage
    /// when it sent them.
    #[error("IdP returned status {0}")]
    IdpStatus(String),
    /// Not exactly one assertion in the message (wrapping or injection).
    #[error("expected exactly one assertion, found {0}")]
    AssertionCount(usize),
    /// The message holds encrypted content (an `EncryptedAssertion`, `EncryptedID` or
    /// `EncryptedAttribute`, named here), which needs an SP decryption key this connection
    /// does not have: the IdP must be set to send it unencrypted.
    #[error("the response holds an {0}; this connection has no key to decrypt it")]
    Encrypted(String),
    /// Nothing in the message is signed.
    #[error("neither the response nor the assertion is signed")]
    Unsigned,
    /// A signature uses an algorithm this connection does not accept: SHA-1 without
    /// `allow_sha1`, or a method or transform SAML signatures do not use (HMAC, XPath, XSLT).
    #[error("{element} {algorithm} is not allowed: {why}")]
    WeakAlgorithm {
        element: &'static str,
        algorithm: String,
        why: &'static str,
    },
    /// A signature is not a direct child of the Response or Assertion it signs right after its
    /// Issuer, or its single Reference does not point at that parent (SAML core §5.4.1, §5.4.2).
    #[error("misplaced signature: {0}")]
    SignaturePlacement(String),
    /// No signature verified with the connection's certificates.
    #[error("signature does not verify with any certificate of the connection ({0})")]
    BadSignature(String),
    /// The verified content holds no assertion (the signature covers something else).
    #[error("the signed content does not contain the assertion")]
    AssertionNotSigned,
    /// A comment inside NameID or an attribute value (text-splitting attack).
    #[error("XML comment inside {0}; refused (comment injection)")]
    CommentInValue(String),
    /// Issuer is not the IdP's entity ID.
    #[error("issuer {got:?} is not the IdP's entity ID {expected:?}")]
    Issuer { expected: String, got: String },
    /// Audience restriction does not name this SP.
    #[error("audience {got:?} does not include the SP entity ID {expected:?}")]
    Audience { expected: String, got: String },
    /// Destination or bearer Recipient is not this ACS URL.
    #[error("{what} {got:?} is not the ACS URL {expected:?}")]
    Recipient {
        what: &'static str,
        expected: String,
        got: String,
    },
    /// The assertion is not valid yet, beyond the allowed skew.
    #[error("assertion not valid before {not_before} (now {now}, skew {skew_seconds}s)")]
    NotYetValid {
        not_before: String,
        now: String,
        skew_seconds: i64,
    },
    /// The assertion or its bearer confirmation has expired, beyond the allowed skew.
    #[error("assertion expired at {not_on_or_after} (now {now}, skew {skew_seconds}s)")]
    Expired {
        not_on_or_after: String,
        now: String,
        skew_seconds: i64,
    },
    /// The Conditions hold one this SP does not understand (named here, with its namespace
    /// and any `xsi:type`): core §2.5.1.1 makes such an assertion's validity Indeterminate,
    /// and it must be refused. The IdP must stop sending the condition to this SP.
    #[error("condition {0} is not understood, so the assertion cannot be relied upon")]
    UnknownCondition(String),
    /// No usable bearer SubjectConfirmation.
    #[error("no bearer subject confirmation: {0}")]
    NoBearer(String),
    /// An answer to a request this connection never issued, already answered, or expired.
    #[error("InResponseTo {id:?} {why}")]
    UnknownRequest { id: String, why: &'static str },
    /// The signed and unsigned InResponseTo values disagree.
    #[error("InResponseTo of the response {response:?} differs from the assertion's {assertion:?}")]
    InResponseToMismatch { response: String, assertion: String },
    /// An unsolicited response on a connection that does not allow IdP-initiated login.
    #[error("IdP-initiated login is not allowed on this connection")]
    IdpInitiatedNotAllowed,
    /// The assertion id was already used.
    #[error("assertion {0:?} was already used (replay)")]
    Replay(String),
    /// NameID is qualified for another service provider (SPNameQualifier, SAML core §2.2.2).
    #[error("NameID SPNameQualifier {got:?} is not the SP entity ID {expected:?}")]
    NameIdQualifier { expected: String, got: String },
    /// The assertion states no authentication (profiles §4.1.4.2 requires an AuthnStatement).
    #[error("assertion has no AuthnStatement")]
    NoAuthnStatement,
    /// The subject has no NameID.
    #[error("assertion has no NameID")]
    NoNameId,
    /// No email could be found in the assertion.
    #[error("assertion carries no email address (NameID or email claim)")]
    NoEmail,
    /// The email's domain is not registered on the connection.
    #[error("email {0:?} is not in a domain registered on this connection")]
    DomainNotAllowed(String),
    /// The user's NameID, object id or user name is longer than an account key may be
    /// ([`crate::store::MAX_KEY_BYTES`]); the IdP's claim mapping needs fixing.
    #[error(
        "the assertion's {0} is longer than {max} bytes, more than an account key may hold",
        max = crate::store::MAX_KEY_BYTES
    )]
    ValueTooLong(&'static str),
    /// The account exists and is deactivated.
    #[error("user {0:?} is deactivated")]
    Deactivated(String),
    /// The email belongs to another account of the connection (a different external id).
    #[error("email {0:?} belongs to another account of this connection")]
    AccountConflict(String),
    /// RelayState names a redirect target that is not allowed.
    #[error("RelayState {0:?} is not an allowed redirect")]
    BadRelayState(String),
    /// The store failed; the login may be retried.
    #[error("store error: {0}")]
    Store(String),
}

impl LoginError {
    /// A short, stable code for the error page and log searches.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Dtd => "dtd",
            Self::UnknownConnection(_) => "unknown_connection",
            Self::IdpStatus(_) => "idp_status",
            Self::AssertionCount(_) => "assertion_count",
            Self::Encrypted(_) => "encrypted",
            Self::Unsigned => "unsigned",
            Self::WeakAlgorithm { .. } => "weak_algorithm",
            Self::SignaturePlacement(_) => "signature_placement",
            Self::BadSignature(_) => "bad_signature",
            Self::AssertionNotSigned => "assertion_not_signed",
            Self::CommentInValue(_) => "comment_injection",
            Self::Issuer { .. } => "issuer",
            Self::Audience { .. } => "audience",
            Self::Recipient { .. } => "recipient",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Expired { .. } => "expired",
            Self::UnknownCondition(_) => "unknown_condition",
            Self::NoBearer(_) => "no_bearer",
            Self::UnknownRequest { .. } => "unknown_request",
            Self::InResponseToMismatch { .. } => "in_response_to_mismatch",
            Self::IdpInitiatedNotAllowed => "idp_initiated",
            Self::Replay(_) => "replay",
            Self::NameIdQualifier { .. } => "name_id_qualifier",
            Self::NoAuthnStatement => "no_authn_statement",
            Self::NoNameId => "no_name_id",
            Self::NoEmail => "no_email",
            Self::DomainNotAllowed(_) => "domain",
            Self::ValueTooLong(_) => "value_too_long",
            Self::Deactivated(_) => "deactivated",
            Self::BadRelayState(_) => "relay_state",
            Self::AccountConflict(_) => "account_conflict",
            Self::Store(_) => "internal",
        }
    }

    /// What the person sees: a sentence that helps without revealing the IdP's internals.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::DomainNotAllowed(_) => {
                "Your email address is not in a domain this organisation has registered."
            }
            Self::Deactivated(_) => "Your account is deactivated. Ask your administrator.",
            Self::Expired { .. } | Self::NotYetValid { .. } => {
                "The sign-in took too long or the clocks disagree. Please try again."
            }
            Self::Replay(_) | Self::UnknownRequest { .. } => {
                "This sign-in link was already used or has expired. Please start again."
            }
            Self::IdpInitiatedNotAllowed => {
                "Please start the sign-in from this application's sign-in page."
            }
            Self::Store(_) => "Something went wrong on our side. Please try again.",
            _ => "The identity provider's answer could not be accepted.",
        }
    }

    /// The error's text for the audit row and the log, cut to `MAX_DETAIL_CHARS`: much of it
    /// quotes the posted message (a status code, an element name, an unsigned InResponseTo),
    /// which anyone may make as long as the body limit allows.
    pub fn detail(&self) -> String {
        bounded(&self.to_string(), MAX_DETAIL_CHARS)
    }

    /// Whether the error is the server's fault (HTTP 500) rather than the message's (400/403).
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Store(_))
    }
}

/// The most characters of an error's text kept in an audit row or a log line.
pub const MAX_DETAIL_CHARS: usize = 500;

/// `text` cut to `max` characters, marked with `…` where it was cut.
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

impl From<crate::store::StoreError> for LoginError {
    fn from(err: crate::store::StoreError) -> Self {
        Self::Store(err.to_string())
    }
}

impl From<diesel::result::Error> for LoginError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Store(err.to_string())
    }
}
