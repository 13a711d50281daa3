//! samael (our SAML dependency): its signature attack vectors and signed test responses.

use std::path::Path;

use crate::{
    Connection, Refusal, assert_refusals, certificate_in_key_info, folder, idp_from_certificate,
    idp_from_metadata, read,
};
use provisiond::saml::metadata::{MetadataError, parse_metadata};

const SAMLING: &str = "https://fujifish.github.io/samling/samling.html";
const DEMO_ACS: &str = "http://sp.example.com/demo1/index.php?acs";
const DEMO_AUDIENCE: &str = "http://test_accept_signed_with_correct_key.test";

/// The SP of the 2026 attack vectors: Destination and Recipient are the literal `ancestor`.
fn attack_target(dir: &Path) -> Connection {
    Connection::new(
        idp_from_certificate(
            "https://capriza.github.io/samling/samling.html",
            &read(dir, "idp_2_metadata_public.pem"),
        ),
        "https://sp.example.com/metadata",
        "ancestor",
        "2026-02-25T13:35:00Z",
    )
}

#[test]
fn ancestor_object_and_xpointer_attacks_are_refused() {
    let dir = folder!("samael");
    let xpointer_target = Connection::new(
        idp_from_metadata(&dir, "idp_2_metadata.xml"),
        "https://sp.example.com/metadata",
        "https://sp.example.com/acs",
        "2026-02-25T13:35:00Z",
    );

    assert_refusals(
        &attack_target(&dir),
        &dir,
        &[
            Refusal {
                file: "ancestor_attack_signed.xml",
                code: "malformed",
                why: "the real response hides inside the attacker's Issuer; the outer one has \
                      no Status (and its assertion is not a child of it)",
            },
            Refusal {
                file: "object_attack_response.xml",
                code: "assertion_count",
                why: "a second assertion hides in a signed ds:Object",
            },
            Refusal {
                file: "xpath_transform.xml",
                code: "assertion_count",
                why: "XPath transform vector carries two assertions",
            },
        ],
    );
    assert_refusals(
        &xpointer_target,
        &dir,
        &[Refusal {
            file: "xpointer_attack_signed.xml",
            code: "malformed",
            why: "a Response outside the SAML protocol namespace, with no assertion",
        }],
    );
}

#[test]
fn responses_signed_twice_without_an_audience_are_refused() {
    let dir = folder!("samael");
    // No metadata comes with these; the certificate their assertion signature names is taken
    // as the connection's configured certificate (the validator itself never reads KeyInfo).
    let certificate = certificate_in_key_info(&read(&dir, "multi_saml_response_signed_2.xml"));
    let zoo = Connection::new(
        idp_from_certificate("https://some.idp.test/blah/", &certificate),
        "https://api.dev.zoo.dev/",
        "https://api.dev.zoo.dev/auth/saml/00000000-00000000-00000000-00000000/login",
        "2022-05-04T15:37:00Z",
    );

    assert_refusals(
        &zoo,
        &dir,
        &[
            Refusal {
                file: "multi_saml_response_signed.xml",
                code: "bad_signature",
                why: "the response signature is an unfilled template",
            },
            Refusal {
                file: "multi_saml_response_signed_2.xml",
                code: "audience",
                why: "both signatures verify but Conditions has no AudienceRestriction",
            },
        ],
    );
}

/// Not accepted. The signature verifies (SHA-1, so only with `allow_sha1`), but upstream
/// changed the template's Audience to `http://test_accept_signed_with_correct_key.test` and left
/// the NameID qualified for `http://sp.example.com/demo1/metadata.php`: with either value as the
/// SP entity ID the other check refuses. provisiond refuses a NameID minted for another SP.
#[test]
fn responses_signed_by_idp_2_and_ecdsa_verify_but_name_another_sp() {
    let dir = folder!("samael");
    let sp = |metadata| {
        Connection::new(
            idp_from_metadata(&dir, metadata),
            DEMO_AUDIENCE,
            DEMO_ACS,
            "2014-07-17T01:02:00Z",
        )
    };
    let as_qualified_sp = Connection {
        sp_entity_id: "http://sp.example.com/demo1/metadata.php".into(),
        ..sp("idp_2_metadata.xml").allowing_sha1()
    };

    assert_eq!(
        sp("idp_2_metadata.xml").outcome(&dir, "response_signed_by_idp_2.xml"),
        "weak_algorithm"
    );
    assert_eq!(
        sp("idp_2_metadata.xml")
            .allowing_sha1()
            .outcome(&dir, "response_signed_by_idp_2.xml"),
        "name_id_qualifier"
    );
    assert_eq!(
        as_qualified_sp.outcome(&dir, "response_signed_by_idp_2.xml"),
        "audience"
    );
    // ECDSA-SHA256 signature over a SHA-1 digest.
    assert_eq!(
        sp("idp_ecdsa_metadata.xml").outcome(&dir, "response_signed_by_idp_ecdsa.xml"),
        "weak_algorithm"
    );
    assert_eq!(
        sp("idp_ecdsa_metadata.xml")
            .allowing_sha1()
            .outcome(&dir, "response_signed_by_idp_ecdsa.xml"),
        "name_id_qualifier"
    );
}

#[test]
fn response_signed_by_idp_2_is_refused_with_the_ecdsa_key() {
    let dir = folder!("samael");
    let wrong_key = Connection::new(
        idp_from_metadata(&dir, "idp_ecdsa_metadata.xml"),
        DEMO_AUDIENCE,
        DEMO_ACS,
        "2014-07-17T01:02:00Z",
    )
    .allowing_sha1();

    assert_eq!(
        wrong_key.outcome(&dir, "response_signed_by_idp_2.xml"),
        "bad_signature"
    );
}

#[test]
fn encrypted_responses_are_refused_as_unsupported() {
    let dir = folder!("samael");
    let mock = Connection::new(
        idp_from_certificate("saml-mock", &read(&dir, "sp_cert.pem")),
        "http://localhost:8080/saml/metadata",
        "http://localhost:8080/saml/acs",
        "2025-03-04T21:09:02Z",
    );

    assert_refusals(
        &mock,
        &dir,
        &[
            // Upstream's files use the `saml` prefix without declaring it: not namespace-valid
            // XML, so refused before the EncryptedAssertion is even seen.
            Refusal {
                file: "response_encrypted.xml",
                code: "malformed",
                why: "undeclared namespace prefix",
            },
            Refusal {
                file: "response_encrypted_valid.xml",
                code: "malformed",
                why: "undeclared namespace prefix",
            },
        ],
    );
}

#[test]
fn samael_metadata_parses_or_names_the_ambiguity() {
    let dir = folder!("samael");

    for (file, entity_id) in [
        ("idp_metadata.xml", "https://sso.example.org/idp"),
        ("idp_2_metadata.xml", SAMLING),
        ("idp_ecdsa_metadata.xml", SAMLING),
    ] {
        let idp = idp_from_metadata(&dir, file);
        assert_eq!(idp.entity_id, entity_id, "{file}");
        assert_eq!(idp.certificates.len(), 1, "{file}");
    }
    let nested = parse_metadata(&read(&dir, "idp_metadata_nested.xml"), None);
    assert!(
        matches!(nested, Err(MetadataError::AmbiguousIdp { count: 2, .. })),
        "{nested:?}"
    );
    let chosen = parse_metadata(
        &read(&dir, "idp_metadata_nested.xml"),
        Some("https://sso.example.org/idp"),
    )
    .expect("nested metadata with a chosen entity ID");
    assert_eq!(chosen.entity_id, "https://sso.example.org/idp");
}
