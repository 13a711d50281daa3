//! IdP federation metadata: the IdP entity ID, its SSO URL and its signing certificates.
//!
//! Parsed with a read-only XML tree that refuses DTDs. Real metadata is messy: Entra's starts
//! with a byte-order mark, lists WS-Federation `RoleDescriptor`s before the
//! `IDPSSODescriptor`, and carries several signing certificates during a rollover. Metadata
//! without a signing certificate is refused: a service provider that accepted it would have
//! nothing to check signatures against.

use base64::Engine;
use openssl::x509::X509;

const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const SAML2_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// What provisiond needs to know about an identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpDescriptor {
    /// The IdP's entity ID; responses must carry it as Issuer.
    pub entity_id: String,
    /// Where AuthnRequests go (HTTP-Redirect binding).
    pub sso_url: String,
    /// DER certificates whose keys may sign responses; any one of them may sign.
    pub certificates: Vec<Vec<u8>>,
}

/// Why metadata or hand-entered IdP values were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetadataError {
    /// The document is not well-formed XML, or uses a DTD (never needed in SAML metadata).
    #[error("metadata is not usable XML: {0}")]
    Xml(String),
    /// No `IDPSSODescriptor` for SAML 2.0 in the document.
    #[error("metadata has no SAML 2.0 IDPSSODescriptor (is this the IdP's federation metadata?)")]
    NoIdpDescriptor,
    /// Several IdPs in one document and no `idp_entity_id` to choose among them.
    #[error("metadata describes {count} IdPs; set idp_entity_id to choose one of: {ids}")]
    AmbiguousIdp { count: usize, ids: String },
    /// `idp_entity_id` was given but the document has no such IdP.
    #[error("metadata has no IdP with entity ID {0}")]
    UnknownIdp(String),
    /// No `SingleSignOnService` with the HTTP-Redirect binding.
    #[error("metadata has no SingleSignOnService with the HTTP-Redirect binding")]
    NoRedirectSso,
    /// The HTTP-Redirect SingleSignOnService Location is not an http(s) URL.
    #[error("the SingleSignOnService Location {0:?} is not an http(s) URL")]
    BadSsoUrl(String),
    /// No usable signing certificate: signatures could not be checked at all.
    #[error("metadata has no signing certificate; signatures could not be verified")]
    NoSigningCertificate,
    /// A certificate that is not a valid X.509 certificate.
    #[error("certificate {index} is not a valid X.509 certificate: {reason}")]
    BadCertificate { index: usize, reason: String },
}

/// Parses federation metadata (an `EntityDescriptor`, or an `EntitiesDescriptor` holding one
/// IdP, or several with `want_entity_id` choosing).
pub fn parse_metadata(
    xml: &str,
    want_entity_id: Option<&str>,
) -> Result<IdpDescriptor, MetadataError> {
    let xml = xml.trim_start_matches('\u{feff}');
    let doc = super::xml::parse(xml).map_err(|err| MetadataError::Xml(err.to_string()))?;

    let idps: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|node| is(node, MD_NS, "EntityDescriptor"))
        .filter(|entity| entity.children().any(|child| is_saml2_idp(&child)))
        .collect();
    let entity = match (idps.len(), want_entity_id) {
        (0, _) => return Err(MetadataError::NoIdpDescriptor),
        (_, Some(want)) => *idps
            .iter()
            .find(|entity| entity.attribute("entityID") == Some(want))
            .ok_or_else(|| MetadataError::UnknownIdp(want.to_string()))?,
        (1, None) => idps[0],
        (count, None) => {
            let ids: Vec<&str> = idps
                .iter()
                .filter_map(|e| e.attribute("entityID"))
                .collect();
            return Err(MetadataError::AmbiguousIdp {
                count,
                ids: ids.join(", "),
            });
        }
    };
    let entity_id = entity
        .attribute("entityID")
        .unwrap_or_default()
        .trim()
        .to_string();
    if entity_id.is_empty() {
        return Err(MetadataError::Xml(
            "EntityDescriptor has no entityID".into(),
        ));
    }

    let idp = entity
        .children()
        .find(is_saml2_idp)
        .ok_or(MetadataError::NoIdpDescriptor)?;
    let sso_url = idp
        .children()
        .filter(|child| is(child, MD_NS, "SingleSignOnService"))
        .find(|sso| sso.attribute("Binding") == Some(REDIRECT_BINDING))
        .and_then(|sso| sso.attribute("Location"))
        .map(|location| location.trim().to_string())
        .ok_or(MetadataError::NoRedirectSso)?;
    // Browsers are sent there: only a web address (as the hand-entered sso_url must be).
    if !matches!(url::Url::parse(&sso_url), Ok(url) if matches!(url.scheme(), "http" | "https")) {
        return Err(MetadataError::BadSsoUrl(
            sso_url.chars().take(200).collect(),
        ));
    }

    // A KeyDescriptor without `use` is for signing and encryption alike (SAML metadata §2.4.1.1).
    let mut certificates: Vec<Vec<u8>> = Vec::new();
    for key in idp
        .children()
        .filter(|child| is(child, MD_NS, "KeyDescriptor"))
    {
        if !matches!(key.attribute("use"), None | Some("signing")) {
            continue;
        }
        for cert in key
            .descendants()
            .filter(|node| is(node, DSIG_NS, "X509Certificate"))
        {
            let der = decode_certificate(cert.text().unwrap_or_default(), certificates.len())?;
            if !certificates.contains(&der) {
                certificates.push(der);
            }
        }
    }
    if certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate);
    }

    Ok(IdpDescriptor {
        entity_id,
        sso_url,
        certificates,
    })
}

/// Builds a descriptor from the three values an admin can paste by hand.
pub fn manual_descriptor(
    entity_id: &str,
    sso_url: &str,
    certificates: &[String],
) -> Result<IdpDescriptor, MetadataError> {
    let mut ders = Vec::new();
    for (index, pem_or_base64) in certificates.iter().enumerate() {
        ders.push(decode_certificate(pem_or_base64, index)?);
    }
    if ders.is_empty() {
        return Err(MetadataError::NoSigningCertificate);
    }
    Ok(IdpDescriptor {
        entity_id: entity_id.trim().to_string(),
        sso_url: sso_url.trim().to_string(),
        certificates: ders,
    })
}

/// Accepts a PEM certificate or the bare base64 body found in metadata, and checks it parses.
pub fn decode_certificate(text: &str, index: usize) -> Result<Vec<u8>, MetadataError> {
    let body: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(|line| line.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|err| MetadataError::BadCertificate {
            index,
            reason: err.to_string(),
        })?;
    X509::from_der(&der).map_err(|err| MetadataError::BadCertificate {
        index,
        reason: err.to_string(),
    })?;
    Ok(der)
}

/// The SHA-256 fingerprint of a DER certificate, as admins compare it (`AB:CD:...`).
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(der);
    digest
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An IdP role that speaks SAML 2.0. An entity may describe its SAML 1.1 role (Shibboleth
/// 1.3 profiles) in a descriptor of its own, with other endpoints and keys: metadata §2.4.1
/// tells them apart by `protocolSupportEnumeration`, which the schema requires; a descriptor
/// without one is taken at its word as an IdP.
fn is_saml2_idp(node: &roxmltree::Node) -> bool {
    is(node, MD_NS, "IDPSSODescriptor")
        && node
            .attribute("protocolSupportEnumeration")
            .is_none_or(|protocols| {
                protocols
                    .split_ascii_whitespace()
                    .any(|p| p == SAML2_PROTOCOL)
            })
}

fn is(node: &roxmltree::Node, namespace: &str, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(namespace)
}

#[cfg(test)]
mod tests;
