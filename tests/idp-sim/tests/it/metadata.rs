//! The federation metadata parses with samael and carries every signing certificate.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use samael::crypto::{Crypto, CryptoProvider};
use samael::metadata::EntityDescriptor;

use crate::support::simulator;

const BASE: &str = "http://127.0.0.1:9000";

fn parse(xml: &str) -> EntityDescriptor {
    let without_bom = xml
        .strip_prefix('\u{feff}')
        .expect("metadata starts with a BOM");
    without_bom.parse().unwrap()
}

fn signing_certificates(descriptor: &EntityDescriptor) -> Vec<Vec<u8>> {
    let idp = &descriptor.idp_sso_descriptors.as_ref().unwrap()[0];
    idp.key_descriptors
        .iter()
        .filter(|key| key.key_use.as_deref() == Some("signing"))
        .flat_map(|key| {
            key.key_info
                .x509_data
                .as_ref()
                .unwrap()
                .certificates
                .clone()
        })
        .map(|cert| STANDARD.decode(cert.trim()).unwrap())
        .collect()
}

#[test]
fn metadata_parses_with_samael_and_names_entras_endpoints() {
    let simulator = simulator(|_| {});
    let tenant_id = simulator.tenant().tenant_id;

    let xml = simulator.metadata(BASE).unwrap();
    let descriptor = parse(&xml);

    assert_eq!(
        descriptor.entity_id.as_deref(),
        Some(format!("https://sts.windows.net/{tenant_id}/").as_str())
    );
    assert_eq!(descriptor.role_descriptors.as_ref().map(Vec::len), Some(2));
    let idp = &descriptor.idp_sso_descriptors.as_ref().unwrap()[0];
    let sso_url = format!("{BASE}/{tenant_id}/saml2");
    let bindings: Vec<_> = idp
        .single_sign_on_services
        .iter()
        .map(|service| (service.binding.as_str(), service.location.as_str()))
        .collect();
    assert_eq!(
        bindings,
        vec![
            (
                "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                sso_url.as_str()
            ),
            (
                "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                sso_url.as_str()
            ),
        ]
    );
    assert_eq!(
        signing_certificates(&descriptor),
        vec![simulator.keys().cert_der().to_vec()]
    );
}

#[test]
fn ws_federation_roles_come_before_the_idp_descriptor() {
    let xml = simulator(|_| {}).metadata(BASE).unwrap();

    let role = xml.find("<RoleDescriptor").unwrap();
    let idp = xml.find("<IDPSSODescriptor").unwrap();

    assert!(role < idp);
    assert!(xml.contains("xsi:type=\"fed:SecurityTokenServiceType\""));
    assert!(xml.contains("xsi:type=\"fed:ApplicationServiceType\""));
}

#[test]
fn a_rollover_lists_both_certificates_and_signs_with_the_chosen_one() {
    let simulator = simulator(|tenant| {
        tenant.certificates = 2;
        tenant.signing_certificate = Some(2);
    });
    let keys = simulator.keys().all();

    let descriptor = parse(&simulator.metadata(BASE).unwrap());

    assert_eq!(
        signing_certificates(&descriptor),
        vec![keys[0].cert_der().to_vec(), keys[1].cert_der().to_vec()]
    );
    assert_eq!(simulator.signing_key().cert_der(), keys[1].cert_der());
}

#[test]
fn the_metadata_signature_verifies() {
    let simulator = simulator(|_| {});
    let xml = simulator.metadata(BASE).unwrap();
    let xml = xml.trim_start_matches('\u{feff}');

    let valid = Crypto::verify_signed_xml(xml, &simulator.signing_key().certificate(), Some("ID"));
    let tampered = xml.replace("/saml2\"", "/evil\"");
    let forged = Crypto::verify_signed_xml(
        &tampered,
        &simulator.signing_key().certificate(),
        Some("ID"),
    );

    assert!(valid.is_ok(), "{valid:?}");
    assert!(forged.is_err());
}

#[test]
fn the_bom_can_be_turned_off_and_the_document_is_stable() {
    let simulator = simulator(|tenant| tenant.metadata_bom = false);

    let first = simulator.metadata(BASE).unwrap();
    let second = simulator.metadata(BASE).unwrap();

    assert!(first.starts_with("<?xml"));
    assert_eq!(first, second);
}
