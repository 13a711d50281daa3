//! Responses built for each signing mode verify with xmlsec, and stop verifying once changed.

use std::process::Command;

use idp_sim::{ResponseSpec, SignatureAlgorithm, Signing, SigningKey, build_signed_response};
use samael::crypto::AllowedSignatureAlgorithm;
use samael::schema::Response;

use crate::support::{fixed_now, metadata_certificates, reduce_to_signed, simulator};

const SHA256_ONLY: &[AllowedSignatureAlgorithm] = &[AllowedSignatureAlgorithm::RsaSha256];

fn alice_spec(signing: Signing) -> (idp_sim::Simulator, ResponseSpec) {
    let simulator = simulator(|_| {});
    let alice = simulator
        .tenant()
        .find_user("alice@acme.example")
        .unwrap()
        .clone();
    let mut spec = ResponseSpec::for_user(
        simulator.tenant(),
        &alice,
        Some("id-request-1"),
        fixed_now(),
    );
    spec.signing = signing;
    (simulator, spec)
}

#[test]
fn every_signing_mode_verifies_with_the_metadata_certificate() {
    for (signing, signatures) in [
        (Signing::Assertion, 1),
        (Signing::Response, 1),
        (Signing::Both, 2),
    ] {
        let (simulator, spec) = alice_spec(signing);

        let xml = build_signed_response(&spec, simulator.signing_key()).unwrap();
        let signed = reduce_to_signed(&xml, &metadata_certificates(&simulator), Some(SHA256_ONLY))
            .unwrap_or_else(|error| panic!("{signing:?}: {error}\n{xml}"));

        assert_eq!(
            xml.matches("<SignatureValue>").count(),
            signatures,
            "{signing:?}"
        );
        assert!(
            signed.contains(">alice@acme.example</NameID>"),
            "{signing:?}: {signed}"
        );
    }
}

#[test]
fn changing_the_name_id_after_signing_breaks_every_mode() {
    for signing in [Signing::Assertion, Signing::Response, Signing::Both] {
        let (simulator, spec) = alice_spec(signing);
        let xml = build_signed_response(&spec, simulator.signing_key()).unwrap();

        let forged = xml.replace(
            ">alice@acme.example</NameID>",
            ">mallory@acme.example</NameID>",
        );

        assert_ne!(forged, xml);
        let result = reduce_to_signed(&forged, &metadata_certificates(&simulator), None);
        assert!(
            result.is_err(),
            "{signing:?} still verifies after the NameID changed"
        );
    }
}

#[test]
fn both_mode_signs_the_assertion_before_the_response() {
    let (simulator, spec) = alice_spec(Signing::Both);
    let xml = build_signed_response(&spec, simulator.signing_key()).unwrap();

    // The response signature covers the assertion with its finished signature: a valid
    // response signature alone proves the assertion was signed first.
    let response_signature_only = {
        let start = xml.find("<Assertion ").unwrap();
        let inner_start = xml[start..].find("<Signature ").unwrap() + start;
        let inner_end = xml[inner_start..].find("</Signature>").unwrap() + inner_start;
        format!(
            "{}{}",
            &xml[..inner_start],
            &xml[inner_end + "</Signature>".len()..]
        )
    };
    let result = reduce_to_signed(
        &response_signature_only,
        &metadata_certificates(&simulator),
        None,
    );

    assert!(
        result.is_err(),
        "removing the assertion signature must break the response one"
    );
    assert!(reduce_to_signed(&xml, &metadata_certificates(&simulator), None).is_ok());
}

#[test]
fn a_response_signed_by_another_key_is_refused() {
    let (simulator, spec) = alice_spec(Signing::Assertion);
    let attacker = SigningKey::generate_attacker().unwrap();

    let xml = build_signed_response(&spec, &attacker).unwrap();

    assert!(reduce_to_signed(&xml, &metadata_certificates(&simulator), None).is_err());
    assert!(reduce_to_signed(&xml, &[attacker.certificate()], None).is_ok());
}

#[test]
fn an_unsigned_response_has_nothing_to_verify() {
    let (simulator, spec) = alice_spec(Signing::None);

    let xml = build_signed_response(&spec, simulator.signing_key()).unwrap();

    assert!(!xml.contains("Signature"));
    assert!(reduce_to_signed(&xml, &metadata_certificates(&simulator), None).is_err());
}

#[test]
fn rsa_sha1_verifies_but_not_where_only_sha256_is_allowed() {
    let (simulator, mut spec) = alice_spec(Signing::Assertion);
    spec.algorithm = SignatureAlgorithm::RsaSha1;
    let certs = metadata_certificates(&simulator);

    let xml = build_signed_response(&spec, simulator.signing_key()).unwrap();

    assert!(xml.contains("http://www.w3.org/2000/09/xmldsig#rsa-sha1"));
    assert!(reduce_to_signed(&xml, &certs, None).is_ok());
    assert!(reduce_to_signed(&xml, &certs, Some(SHA256_ONLY)).is_err());
}

#[test]
fn signatures_without_key_info_still_verify_with_a_known_certificate() {
    let (simulator, mut spec) = alice_spec(Signing::Both);
    spec.include_key_info = false;

    let xml = build_signed_response(&spec, simulator.signing_key()).unwrap();

    assert!(!xml.contains("X509Certificate"));
    assert!(reduce_to_signed(&xml, &metadata_certificates(&simulator), None).is_ok());
}

#[test]
fn a_duplicate_assertion_is_signed_on_its_own() {
    let (simulator, mut spec) = alice_spec(Signing::Assertion);
    spec.duplicate_assertion = true;

    let xml = build_signed_response(&spec, simulator.signing_key()).unwrap();

    assert_eq!(xml.matches("<Assertion ").count(), 2);
    let certs = metadata_certificates(&simulator);
    for (position, name) in [(0, "alice"), (1, "mallory")] {
        let start = xml.match_indices("<Assertion ").nth(position).unwrap().0;
        let end = xml[start..].find("</Assertion>").unwrap() + start + "</Assertion>".len();
        let assertion = &xml[start..end];

        let signed = reduce_to_signed(assertion, &certs, Some(SHA256_ONLY)).unwrap();

        assert!(
            signed.contains(&format!(">{name}@acme.example</NameID>")),
            "{signed}"
        );
    }
    // Two separately signed subtrees have no single signed root: samael's strict reduction
    // refuses the document as a whole, as an SP must.
    assert!(reduce_to_signed(&xml, &certs, None).is_err());
}

#[test]
fn the_response_has_entras_shape_and_claims() {
    let (simulator, spec) = alice_spec(Signing::Assertion);
    let tenant = simulator.tenant();

    let xml = build_signed_response(&spec, simulator.signing_key()).unwrap();
    let response: Response = xml.parse().unwrap();

    let issuer = format!("https://sts.windows.net/{}/", tenant.tenant_id);
    assert!(response.id.starts_with('_'));
    assert_eq!(response.issuer.unwrap().value.unwrap(), issuer);
    assert_eq!(
        response.destination.as_deref(),
        Some(tenant.reply_url.as_str())
    );
    assert_eq!(response.in_response_to.as_deref(), Some("id-request-1"));
    let assertion = response.assertion.unwrap();
    let subject = assertion.subject.unwrap();
    let name_id = subject.name_id.unwrap();
    assert_eq!(name_id.value, "alice@acme.example");
    assert_eq!(
        name_id.format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    let confirmation = &subject.subject_confirmations.unwrap()[0];
    let data = confirmation.subject_confirmation_data.as_ref().unwrap();
    assert_eq!(data.recipient.as_deref(), Some(tenant.reply_url.as_str()));
    assert_eq!(
        data.not_on_or_after,
        Some(fixed_now() + chrono::Duration::minutes(5))
    );
    let conditions = assertion.conditions.unwrap();
    assert_eq!(conditions.not_before, Some(fixed_now()));
    assert_eq!(
        conditions.not_on_or_after,
        Some(fixed_now() + chrono::Duration::minutes(70))
    );
    let audiences = &conditions.audience_restrictions.unwrap()[0].audience;
    assert_eq!(audiences, &vec![tenant.sp_entity_id.clone()]);

    let attributes = &assertion.attribute_statements.unwrap()[0].attributes;
    let value = |name: &str| {
        attributes
            .iter()
            .find(|attribute| attribute.name.as_deref() == Some(name))
            .and_then(|attribute| attribute.values[0].value.clone())
            .unwrap_or_else(|| panic!("no {name} claim"))
    };
    assert_eq!(
        value("http://schemas.microsoft.com/identity/claims/tenantid"),
        tenant.tenant_id.to_string()
    );
    assert_eq!(
        value("http://schemas.microsoft.com/identity/claims/objectidentifier"),
        "5e7c1b9a-2f3d-4c5b-8a6e-7d8f9a0b1c2d"
    );
    assert_eq!(
        value("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"),
        "Alice"
    );
    assert_eq!(
        value("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"),
        "Smith"
    );
    assert_eq!(
        value("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"),
        "alice@acme.example"
    );
    assert_eq!(
        value("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"),
        "alice@acme.example"
    );
    assert_eq!(
        value("http://schemas.microsoft.com/identity/claims/displayname"),
        "Alice Smith"
    );
    assert_eq!(
        value("http://schemas.microsoft.com/identity/claims/identityprovider"),
        issuer
    );
    assert_eq!(value("firstName"), "Alice");
    assert_eq!(value("lastName"), "Smith");
    let session = &assertion.authn_statements.unwrap()[0];
    assert_eq!(
        session.session_index.as_deref(),
        Some(assertion.id.as_str())
    );
}

/// The `xmlsec1` command, a verifier independent of samael's binding; skipped when absent.
#[test]
fn the_xmlsec1_command_verifies_each_signing_mode() {
    if Command::new("xmlsec1").arg("--version").output().is_err() {
        eprintln!("xmlsec1 is not installed; skipping");
        return;
    }
    let dir = std::env::temp_dir().join(format!("idp-sim-xmlsec1-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();

    for signing in [Signing::Assertion, Signing::Response, Signing::Both] {
        let (simulator, spec) = alice_spec(signing);
        let xml = build_signed_response(&spec, simulator.signing_key()).unwrap();
        let forged = xml.replace(
            ">alice@acme.example</NameID>",
            ">mallory@acme.example</NameID>",
        );
        let cert = dir.join("cert.pem");
        std::fs::write(&cert, simulator.keys().cert_pem()).unwrap();

        for (document, valid) in [(xml, true), (forged, false)] {
            let file = dir.join("response.xml");
            std::fs::write(&file, document).unwrap();
            let output = Command::new("xmlsec1")
                .arg("--verify")
                .args([
                    "--id-attr:ID",
                    "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
                ])
                .args([
                    "--id-attr:ID",
                    "urn:oasis:names:tc:SAML:2.0:protocol:Response",
                ])
                .arg("--pubkey-cert-pem")
                .arg(&cert)
                .arg(&file)
                .output()
                .unwrap();

            assert_eq!(
                output.status.success(),
                valid,
                "{signing:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
