use super::*;
use crate::testutil::{cert_base64, test_key_and_cert};

fn metadata(certs: &[String], with_ws_fed: bool) -> String {
    let key = |cert: &str| {
        format!(
            "<KeyDescriptor use=\"signing\">\
             <KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data>\
             <X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"
        )
    };
    let keys: String = certs.iter().map(|c| key(c)).collect();
    let ws_fed = if with_ws_fed {
        format!(
            "<RoleDescriptor xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xmlns:fed=\"http://docs.oasis-open.org/wsfed/federation/200706\" \
             xsi:type=\"fed:SecurityTokenServiceType\" \
             protocolSupportEnumeration=\"http://docs.oasis-open.org/wsfed/federation/200706\">\
             {}</RoleDescriptor>",
            key("not-a-cert")
        )
    } else {
        String::new()
    };
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         entityID=\"https://sts.windows.net/t/\">{ws_fed}\
         <IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         {keys}<SingleSignOnService \
         Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
         Location=\"https://idp.example/t/saml2\"/></IDPSSODescriptor></EntityDescriptor>"
    )
}

#[test]
fn parses_entra_shaped_metadata_with_bom_ws_fed_and_two_certificates() {
    let (_, first) = test_key_and_cert("first");
    let (_, second) = test_key_and_cert("second");
    let xml = metadata(&[cert_base64(&first), cert_base64(&second)], true);
    let idp = parse_metadata(&xml, None).unwrap();
    assert_eq!(idp.entity_id, "https://sts.windows.net/t/");
    assert_eq!(idp.sso_url, "https://idp.example/t/saml2");
    assert_eq!(
        idp.certificates,
        vec![first.to_der().unwrap(), second.to_der().unwrap()]
    );
}

#[test]
fn metadata_without_signing_certificate_is_refused() {
    let xml = metadata(&[], false);
    assert_eq!(
        parse_metadata(&xml, None),
        Err(MetadataError::NoSigningCertificate)
    );
}

#[test]
fn metadata_with_a_dtd_is_refused() {
    let (_, cert) = test_key_and_cert("c");
    let xml = metadata(&[cert_base64(&cert)], false).replace(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]>",
    );
    assert!(matches!(
        parse_metadata(&xml, None),
        Err(MetadataError::Xml(_))
    ));
}

#[test]
fn a_broken_certificate_is_named() {
    let xml = metadata(&["bm90IGEgY2VydA==".to_string()], false);
    assert!(matches!(
        parse_metadata(&xml, None),
        Err(MetadataError::BadCertificate { index: 0, .. })
    ));
}

#[test]
fn manual_values_accept_pem() {
    let (_, cert) = test_key_and_cert("pem");
    let pem = String::from_utf8(cert.to_pem().unwrap()).unwrap();
    let idp = manual_descriptor("urn:idp", "https://idp/sso", &[pem]).unwrap();
    assert_eq!(idp.certificates, vec![cert.to_der().unwrap()]);
}

#[test]
fn deeply_nested_metadata_is_refused_without_overflowing_the_stack() {
    let xml = format!(
        "<EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}{}</EntityDescriptor>",
        "<x>".repeat(50_000),
        "</x>".repeat(50_000)
    );
    let result = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || parse_metadata(&xml, None))
        .unwrap()
        .join()
        .unwrap();

    assert!(
        matches!(&result, Err(MetadataError::Xml(reason)) if reason.contains("deeper")),
        "{result:?}"
    );
}

#[test]
fn an_sso_location_that_is_not_an_http_url_is_refused() {
    let (_, cert) = test_key_and_cert("c");
    let good = metadata(&[cert_base64(&cert)], false);
    for location in [
        "javascript:alert(1)",
        "/relative/saml2",
        "data:text/html,hi",
        "https://",
        "",
    ] {
        let xml = good.replace("https://idp.example/t/saml2", location);
        assert!(
            matches!(parse_metadata(&xml, None), Err(MetadataError::BadSsoUrl(_))),
            "{location}"
        );
    }
    let plain = good.replace("https://idp.example/t/saml2", "http://idp.example/saml2");
    assert!(parse_metadata(&plain, None).is_ok());
}

/// An IdP role descriptor with its protocols, keys (`use` as given) and SSO bindings.
fn role(protocols: &str, keys: &[(Option<&str>, &str)], bindings: &[&str], at: &str) -> String {
    let keys: String = keys
        .iter()
        .map(|(usage, cert)| {
            let usage = usage.map(|u| format!(" use=\"{u}\"")).unwrap_or_default();
            format!(
                "<md:KeyDescriptor{usage}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n\
                 {cert}\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            )
        })
        .collect();
    let services: String = bindings
        .iter()
        .map(|binding| format!("<md:SingleSignOnService Binding=\"{binding}\" Location=\"{at}\"/>"))
        .collect();
    format!(
        "<md:IDPSSODescriptor protocolSupportEnumeration=\"{protocols}\">{keys}{services}\
         </md:IDPSSODescriptor>"
    )
}

const SAML1: &str = "urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0";
const SAML2: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const SHIB1_BINDING: &str = "urn:mace:shibboleth:1.0:profiles:AuthnRequest";
const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

fn entity(id: &str, roles: &str) -> String {
    format!(
        "<md:EntityDescriptor entityID=\"{id}\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{roles}</md:EntityDescriptor>"
    )
}

/// Shibboleth IdPs long described their SAML 1.1 role in a descriptor of its own, before
/// the SAML 2.0 one, with its own endpoints and, during a key rollover, its own key: the
/// SAML 2.0 role is the one used, whichever comes first.
#[test]
fn the_saml2_role_of_an_idp_describing_its_saml1_role_apart_is_used() {
    let (_, old) = test_key_and_cert("saml1");
    let (_, new) = test_key_and_cert("saml2");
    let roles = [
        role(
            SAML1,
            &[(Some("signing"), &cert_base64(&old))],
            &[SHIB1_BINDING],
            "https://idp.example.org/idp/profile/Shibboleth/SSO",
        ),
        role(
            &format!("{SAML2} urn:oasis:names:tc:SAML:1.1:protocol"),
            &[(None, &cert_base64(&new))],
            &[REDIRECT],
            "https://idp.example.org/idp/profile/SAML2/Redirect/SSO",
        ),
    ];
    let xml = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}\
         </md:EntitiesDescriptor>",
        entity("https://idp.example.org/idp/shibboleth", &roles.concat())
    );

    let idp = parse_metadata(&xml, None).unwrap();

    assert_eq!(
        idp.sso_url,
        "https://idp.example.org/idp/profile/SAML2/Redirect/SSO"
    );
    assert_eq!(idp.certificates, vec![new.to_der().unwrap()]);
}

/// A federation aggregate: nested EntitiesDescriptors, service providers, an IdP that speaks
/// only SAML 1.1, and one SAML 2.0 IdP, which is found without being named. Its validUntil
/// has passed; the metadata is still used (the certificates in it are what logins are
/// checked against until a refresh brings others), as the IdP's own metadata would be.
#[test]
fn an_aggregate_holding_one_saml2_idp_among_others_yields_it() {
    let (_, cert) = test_key_and_cert("idp");
    let (_, other) = test_key_and_cert("legacy");
    let sp = "<md:SPSSODescriptor \
              protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
              <md:AssertionConsumerService index=\"0\" \
              Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
              Location=\"https://sp.example.org/acs\"/></md:SPSSODescriptor>";
    let legacy = role(
        SAML1,
        &[(None, &cert_base64(&other))],
        &[SHIB1_BINDING],
        "https://l/sso",
    );
    let idp = role(
        SAML2,
        &[
            (Some("encryption"), &cert_base64(&other)),
            (None, &cert_base64(&cert)),
        ],
        &["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", REDIRECT],
        "https://idp.example.org/sso",
    );
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><md:EntitiesDescriptor \
         xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" Name=\"urn:example:federation\" \
         validUntil=\"2001-01-01T00:00:00Z\"><md:EntitiesDescriptor Name=\"members\">{}{}\
         </md:EntitiesDescriptor>{}</md:EntitiesDescriptor>",
        entity("https://sp.example.org/", sp),
        entity("https://legacy.example.org/", &legacy),
        entity("https://idp.example.org/", &idp),
    );

    let found = parse_metadata(&xml, None).unwrap();

    assert_eq!(found.entity_id, "https://idp.example.org/");
    assert_eq!(found.certificates, vec![cert.to_der().unwrap()]);
    assert_eq!(
        parse_metadata(&xml, Some("https://legacy.example.org/")),
        Err(MetadataError::UnknownIdp(
            "https://legacy.example.org/".into()
        ))
    );
}
