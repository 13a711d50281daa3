//! SCIM protocol errors (RFC 7644 §3.12).
//!
//! Every failure the SCIM engine reports carries the HTTP status it maps to
//! and, for 400 responses, the `scimType` keyword. The HTTP layer turns a
//! [`ScimError`] into a response with [`ScimError::to_body`]; it never
//! invents statuses of its own for engine errors.

use serde_json::{Value, json};
use thiserror::Error;

/// URN of the SCIM error message schema (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` keywords of RFC 7644 §3.12, table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax was invalid or the filter is not supported.
    InvalidFilter,
    /// The filter yields too many results to return.
    TooMany,
    /// A unique attribute value is already in use.
    Uniqueness,
    /// The change would modify a read-only or immutable attribute.
    Mutability,
    /// The request body was not a well-formed SCIM message.
    InvalidSyntax,
    /// The PATCH `path` was invalid or malformed.
    InvalidPath,
    /// The PATCH `path` selected nothing to operate on.
    NoTarget,
    /// A value was missing, of the wrong type, or not acceptable.
    InvalidValue,
    /// The requested SCIM protocol version is not supported.
    InvalidVers,
    /// The request carried sensitive data (such as a password) in a URL.
    Sensitive,
}

impl ScimType {
    /// The keyword as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }

    /// The HTTP status a response with this keyword carries.
    ///
    /// All keywords are 400 except `uniqueness` (409) and `sensitive` (403),
    /// as RFC 7644 §3.12 assigns them.
    pub fn status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }
}

/// A SCIM request failure, ready to be answered with RFC 7644 error JSON.
///
/// Client errors (`Bad`) say what to fix in `detail`; the caller answers with
/// the status and body unchanged. `NotFound` and `PreconditionFailed` are for
/// the store layer to raise with the same body shape.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScimError {
    /// The request is malformed or asks for something the schema forbids;
    /// answer 400 (or 409/403 for `uniqueness`/`sensitive`) and do nothing.
    #[error("{scim_type}: {detail}", scim_type = .scim_type.as_str())]
    Bad {
        /// The RFC 7644 keyword for the failure.
        scim_type: ScimType,
        /// A sentence naming the offending value and what was expected.
        detail: String,
    },
    /// The addressed resource does not exist; answer 404.
    #[error("resource {0} not found")]
    NotFound(String),
    /// The `If-Match` version no longer matches the stored one; answer 412.
    #[error("version mismatch: resource is at {current}, request expected {expected}")]
    PreconditionFailed {
        /// The version the client sent.
        expected: String,
        /// The version stored now.
        current: String,
    },
}

impl ScimError {
    /// A client error with the given keyword and detail text.
    pub fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::Bad {
            scim_type,
            detail: detail.into(),
        }
    }

    /// Shorthand for an `invalidFilter` error.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidFilter, detail)
    }

    /// Shorthand for an `invalidPath` error.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidPath, detail)
    }

    /// Shorthand for an `invalidValue` error.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidValue, detail)
    }

    /// Shorthand for an `invalidSyntax` error.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidSyntax, detail)
    }

    /// Shorthand for a `mutability` error.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::Mutability, detail)
    }

    /// Shorthand for a `noTarget` error.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::NoTarget, detail)
    }

    /// The HTTP status code of the response.
    pub fn status(&self) -> u16 {
        match self {
            ScimError::Bad { scim_type, .. } => scim_type.status(),
            ScimError::NotFound(_) => 404,
            ScimError::PreconditionFailed { .. } => 412,
        }
    }

    /// The `scimType` keyword, if the error has one.
    pub fn scim_type(&self) -> Option<ScimType> {
        match self {
            ScimError::Bad { scim_type, .. } => Some(*scim_type),
            _ => None,
        }
    }

    /// The RFC 7644 §3.12 error body: `schemas`, `status` as a string,
    /// `scimType` when there is one, and `detail`.
    pub fn to_body(&self) -> Value {
        let detail = match self {
            ScimError::Bad { detail, .. } => detail.clone(),
            other => other.to_string(),
        };
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status().to_string(),
            "detail": detail,
        });
        if let (Some(scim_type), Some(object)) = (self.scim_type(), body.as_object_mut()) {
            object.insert("scimType".into(), Value::from(scim_type.as_str()));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_rfc_shape() {
        let err = ScimError::invalid_filter("unexpected end of filter");
        assert_eq!(
            err.to_body(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "unexpected end of filter",
            })
        );
    }

    #[test]
    fn uniqueness_is_409_and_not_found_has_no_scim_type() {
        assert_eq!(
            ScimError::bad(ScimType::Uniqueness, "userName taken").status(),
            409
        );
        let body = ScimError::NotFound("42".into()).to_body();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }
}
