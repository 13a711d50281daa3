//! Federation metadata shaped like Entra ID's `federationmetadata.xml`.
//!
//! The quirks an SP must cope with are kept on purpose: a UTF-8 byte order mark, WS-Federation
//! `RoleDescriptor` elements before the `IDPSSODescriptor`, a metadata signature, and every
//! signing certificate listed during a rollover (SAML metadata 2.4.1.1 and 2.4.3).

use crate::keys::IdpKeys;
use crate::response::SignatureAlgorithm;
use crate::tenant::Tenant;
use crate::xml::{XMLDSIG_NS, escape, sign_first_template, signature_template};

const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const WSFED_NS: &str = "http://docs.oasis-open.org/wsfed/federation/200706";
const WSFED_AUTH_NS: &str = "http://docs.oasis-open.org/wsfed/authorization/200706";
const ADDRESSING_NS: &str = "http://www.w3.org/2005/08/addressing";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Claim types the security token service advertises: URI and display name.
const CLAIM_TYPES: [(&str, &str); 7] = [
    (
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        "Name",
    ),
    (
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
        "Given Name",
    ),
    (
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
        "Surname",
    ),
    (
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        "Email",
    ),
    (
        "http://schemas.microsoft.com/identity/claims/displayname",
        "Display Name",
    ),
    (
        "http://schemas.microsoft.com/identity/claims/objectidentifier",
        "ObjectIdentifier",
    ),
    (
        "http://schemas.microsoft.com/identity/claims/tenantid",
        "TenantId",
    ),
];

/// The tenant's federation metadata for a simulator reachable at `base_url`, signed with the
/// tenant's signing key and starting with a byte order mark when the tenant asks for one.
///
/// The document is deterministic for given keys, so an SP that caches it sees no change across
/// restarts that keep their keys.
pub fn federation_metadata(
    tenant: &Tenant,
    keys: &IdpKeys,
    base_url: &str,
) -> anyhow::Result<String> {
    let base_url = base_url.trim_end_matches('/');
    let tenant_id = tenant.tenant_id;
    let document_id = format!("_{tenant_id}");
    let sso_url = escape(&format!("{base_url}/{tenant_id}/saml2"));
    let wsfed_url = escape(&format!("{base_url}/{tenant_id}/wsfed"));
    let entity_id = escape(&tenant.entity_id());
    let signing_key = keys.key(tenant.signing_certificate_index());

    let key_descriptors: String = keys
        .all()
        .iter()
        .map(|key| {
            format!(
                concat!(
                    "<KeyDescriptor use=\"signing\"><KeyInfo xmlns=\"{ns}\"><X509Data>",
                    "<X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo>",
                    "</KeyDescriptor>"
                ),
                ns = XMLDSIG_NS,
                cert = key.cert_base64(),
            )
        })
        .collect();
    let endpoint = |element: &str, address: &str| {
        format!(
            concat!(
                "<fed:{element}><wsa:EndpointReference xmlns:wsa=\"{ns}\">",
                "<wsa:Address>{address}</wsa:Address></wsa:EndpointReference></fed:{element}>"
            ),
            element = element,
            ns = ADDRESSING_NS,
            address = address,
        )
    };
    let role_start = |kind: &str| {
        format!(
            concat!(
                "<RoleDescriptor xsi:type=\"fed:{kind}\" protocolSupportEnumeration=\"{fed}\" ",
                "xmlns:xsi=\"{xsi}\" xmlns:fed=\"{fed}\">"
            ),
            kind = kind,
            fed = WSFED_NS,
            xsi = XSI_NS,
        )
    };
    let claim_types: String = CLAIM_TYPES
        .iter()
        .map(|(uri, name)| {
            format!(
                concat!(
                    "<auth:ClaimType Uri=\"{uri}\" xmlns:auth=\"{ns}\">",
                    "<auth:DisplayName>{name}</auth:DisplayName></auth:ClaimType>"
                ),
                uri = uri,
                ns = WSFED_AUTH_NS,
                name = name,
            )
        })
        .collect();

    let body = format!(
        concat!(
            "<EntityDescriptor ID=\"{id}\" entityID=\"{entity_id}\" xmlns=\"{md}\">{signature}",
            "{sts_role}{keys}<fed:ClaimTypesOffered>{claim_types}</fed:ClaimTypesOffered>",
            "{sts_endpoint}{passive}</RoleDescriptor>",
            "{app_role}{keys}{target_scopes}{app_endpoint}{passive}</RoleDescriptor>",
            "<IDPSSODescriptor ",
            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">",
            "{keys}<SingleLogoutService Binding=\"{redirect}\" Location=\"{sso}\"/>",
            "<SingleSignOnService Binding=\"{redirect}\" Location=\"{sso}\"/>",
            "<SingleSignOnService Binding=\"{post}\" Location=\"{sso}\"/>",
            "</IDPSSODescriptor></EntityDescriptor>"
        ),
        id = document_id,
        entity_id = entity_id,
        md = METADATA_NS,
        signature = signature_template(
            &document_id,
            SignatureAlgorithm::RsaSha256,
            Some(signing_key)
        ),
        sts_role = role_start("SecurityTokenServiceType"),
        keys = key_descriptors,
        claim_types = claim_types,
        sts_endpoint = endpoint("SecurityTokenServiceEndpoint", &wsfed_url),
        passive = endpoint("PassiveRequestorEndpoint", &wsfed_url),
        app_role = role_start("ApplicationServiceType"),
        target_scopes = endpoint("TargetScopes", &entity_id),
        app_endpoint = endpoint("ApplicationServiceEndpoint", &wsfed_url),
        redirect = REDIRECT_BINDING,
        post = POST_BINDING,
        sso = sso_url,
    );

    let signed = sign_first_template(&body, signing_key)?;
    let bom = if tenant.metadata_bom { "\u{feff}" } else { "" };
    Ok(format!(
        "{bom}<?xml version=\"1.0\" encoding=\"utf-8\"?>{signed}"
    ))
}
