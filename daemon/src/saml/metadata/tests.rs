use super::*;
use crate::testutil::{cert_base64, test_key_and_cert};

fn metadata(certs: &[String], with_ws_fed: bool) -> String {
    let keys: String = certs
        .iter()
        .map(|c| {
            format!(
                r#"<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>{c}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"#
            )
        })
        .collect();
    let ws_fed = if with_ws_fed {
        r#"<RoleDescriptor xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706" xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706"><KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>not-a-cert</X509Certificate></X509Data></KeyInfo></KeyDescriptor></RoleDescriptor>"#
    } else {
        ""
    };
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"https://sts.windows.net/t/\">{ws_fed}<IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{keys}<SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp.example/t/saml2\"/></IDPSSODescriptor></EntityDescriptor>"
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
