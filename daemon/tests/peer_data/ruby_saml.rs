//! ruby-saml: ADFS responses signed with SHA-1 to SHA-512, XML entity expansion, text-node and
//! wrapping attacks, and IdP metadata variants.

use std::path::Path;

use base64::Engine;

use crate::{
    Connection, Refusal, assert_refusals, certificate_in_key_info, decode_fixture, folder,
    idp_from_certificate, read,
};
use provisiond::saml::metadata::{MetadataError, parse_metadata};

const PITBULK_IDP: &str = "https://pitbulk.no-ip.org/simplesaml/saml2/idp/metadata.php";
const PITBULK_SP: &str = "https://pitbulk.no-ip.org/newonelogin/demo1/metadata.php";
const PITBULK_ACS: &str = "https://pitbulk.no-ip.org/newonelogin/demo1/index.php?acs";

/// The 2011 ADFS IdP. Each response carries its signing certificate in KeyInfo (base64 of a PEM
/// file, not of DER); the test takes it as the connection's configured certificate.
fn adfs(dir: &Path, file: &str) -> Connection {
    let key_info = certificate_in_key_info(&read(dir, file));
    let pem = base64::engine::general_purpose::STANDARD
        .decode(key_info)
        .expect("ADFS KeyInfo is base64");
    let pem = String::from_utf8(pem).expect("ADFS KeyInfo wraps a PEM certificate");
    Connection::new(
        idp_from_certificate("http://login.example.com/issuer", &pem),
        "example.com",
        "https://someone.example.com/endpoint",
        "2011-06-22T12:50:00Z",
    )
}

/// The IdP of the 2014 pitbulk test responses, with the certificate their signatures name.
fn pitbulk(dir: &Path, file_with_certificate: &str) -> Connection {
    let certificate = certificate_in_key_info(&decode_fixture(dir, file_with_certificate));
    Connection::new(
        idp_from_certificate(PITBULK_IDP, &certificate),
        PITBULK_SP,
        PITBULK_ACS,
        "2014-02-19T01:37:30Z",
    )
    .allowing_sha1()
}

/// ruby-saml's own test IdP (`certificates/ruby-saml.crt`) and OneLogin-style values.
fn onelogin(dir: &Path) -> Connection {
    Connection::new(
        idp_from_certificate(
            "https://app.onelogin.com/saml2",
            &read(dir, "certificates/ruby-saml.crt"),
        ),
        "https://someone.example.com/audience",
        "http://app.muda.no/sso/consume",
        "2014-06-04T02:22:30Z",
    )
    .allowing_sha1()
}

#[test]
fn adfs_sha256_and_sha512_responses_are_accepted() {
    let dir = folder!("ruby-saml");

    for file in [
        "responses/adfs_response_sha256.xml",
        "responses/adfs_response_sha512.xml",
    ] {
        let accepted = adfs(&dir, file).accepts(&dir, file);
        assert_eq!(accepted.issuer, "http://login.example.com/issuer", "{file}");
        assert_eq!(
            accepted.in_response_to.as_deref(),
            Some("_fc4a34b0-7efb-012e-caae-782bcb13bb38"),
            "{file}"
        );
    }
}

#[test]
fn adfs_responses_with_made_up_algorithm_uris_are_refused_even_with_sha1_allowed() {
    let dir = folder!("ruby-saml");

    // The "SHA-1" response names `xmldsig-more#rsa-sha1` and `xmlenc#sha1`, the "SHA-384" one
    // `xmlenc#sha384`: URIs no specification defines (RFC 6931 puts SHA-384 in xmldsig-more,
    // SHA-1 in xmldsig). xmlsec could never verify them; the allow-list names the URI instead.
    let sha1 = "responses/adfs_response_sha1.xml";
    for connection in [adfs(&dir, sha1), adfs(&dir, sha1).allowing_sha1()] {
        assert_refusals(
            &connection,
            &dir,
            &[
                Refusal {
                    file: "responses/adfs_response_sha1.xml",
                    code: "weak_algorithm",
                    why: "xmldsig-more#rsa-sha1 is not a defined URI",
                },
                Refusal {
                    file: "responses/adfs_response_sha384.xml",
                    code: "weak_algorithm",
                    why: "xmlenc#sha384 is not a defined URI",
                },
            ],
        );
    }
}

#[test]
fn adfs_response_is_refused_with_another_certificate() {
    let dir = folder!("ruby-saml");
    let mut wrong_key = adfs(&dir, "responses/adfs_response_sha256.xml");
    wrong_key.idp.certificates =
        idp_from_certificate("x", &read(&dir, "certificates/ruby-saml.crt")).certificates;

    assert_eq!(
        wrong_key.outcome(&dir, "responses/adfs_response_sha256.xml"),
        "bad_signature"
    );
}

#[test]
fn entity_expansion_is_refused_before_parsing() {
    let dir = folder!("ruby-saml");

    assert_eq!(
        onelogin(&dir).outcome(&dir, "responses/attackxee.xml"),
        "dtd"
    );
}

#[test]
fn text_node_attacks_on_name_id_are_refused() {
    let dir = folder!("ruby-saml");
    // The first one comes from an unrelated OneLogin account; the comment is found before any
    // signature work, so the connection's values do not matter.
    assert_refusals(
        &onelogin(&dir),
        &dir,
        &[
            Refusal {
                file: "responses/response_node_text_attack.xml.base64",
                code: "comment_injection",
                why: "comment splits the NameID (CVE-2017-11428)",
            },
            Refusal {
                file: "responses/response_node_text_attack2.xml.base64",
                code: "comment_injection",
                why: "comment splits the NameID (CVE-2017-11428)",
            },
            // A CDATA section is text to c14n, so the digest covers it: adding one breaks it.
            Refusal {
                file: "responses/response_node_text_attack3.xml.base64",
                code: "bad_signature",
                why: "CDATA appended to a signed NameID",
            },
        ],
    );
}

#[test]
fn wrapping_and_misplaced_signature_attacks_are_refused() {
    let dir = folder!("ruby-saml");
    let pitbulk = pitbulk(&dir, "responses/invalids/no_issuer_response.xml.base64");
    let example = Connection::new(
        idp_from_certificate("idp.example.com", &read(&dir, "certificates/ruby-saml.crt")),
        "example.com",
        "https://example.com/endpoint",
        "2012-04-04T07:33:30Z",
    )
    .allowing_sha1();

    assert_refusals(
        &pitbulk,
        &dir,
        &[
            Refusal {
                file: "responses/invalids/signature_wrapping_attack.xml.base64",
                code: "assertion_count",
                why: "forged assertion beside the signed one",
            },
            Refusal {
                file: "responses/invalids/multiple_signed.xml.base64",
                code: "signature_placement",
                why: "the Response is signed twice; the second is not right after the Issuer",
            },
            Refusal {
                file: "responses/invalids/response_invalid_signed_element.xml.base64",
                code: "signature_placement",
                why: "response signature moved into samlp:Status",
            },
            Refusal {
                file: "responses/invalids/encrypted_new_attack.xml.base64",
                code: "encrypted",
                why: "no SP decryption key",
            },
        ],
    );
    assert_refusals(
        &example,
        &dir,
        &[
            Refusal {
                file: "responses/invalids/response_with_concealed_signed_assertion.xml",
                code: "assertion_count",
                why: "signed assertion concealed beside a forged one",
            },
            Refusal {
                file: "responses/invalids/response_with_doubled_signed_assertion.xml",
                code: "assertion_count",
                why: "signed assertion doubled",
            },
        ],
    );
    assert_refusals(
        &onelogin(&dir),
        &dir,
        &[
            Refusal {
                file: "responses/response_wrapped.xml.base64",
                code: "signature_placement",
                why: "the only signature is a metadata one appended to the response",
            },
            Refusal {
                file: "responses/response_assertion_wrapped.xml.base64",
                code: "assertion_count",
                why: "signed assertion wrapped in a forged one",
            },
        ],
    );
}

#[test]
fn deflated_response_with_a_misplaced_signature_is_refused() {
    let dir = folder!("ruby-saml");
    let file = "responses/invalids/invalid_signature_position.xml.base64";
    let raw = read(&dir, file);

    // The HTTP-POST binding never deflates; provisiond refuses such a value outright.
    let posted = onelogin(&dir)
        .validate(&raw)
        .expect_err("deflated value accepted");
    let inflated = onelogin(&dir)
        .validate(&decode_fixture(&dir, file))
        .expect_err("misplaced signature accepted");

    assert_eq!(posted.code(), "malformed", "{posted}");
    assert_eq!(inflated.code(), "signature_placement", "{inflated}");
}

#[test]
fn ruby_saml_metadata_parses_or_is_refused_for_the_right_reason() {
    let dir = folder!("ruby-saml");
    let outcome = |file: &str| match parse_metadata(&read(&dir, &format!("metadata/{file}")), None)
    {
        Ok(idp) => format!("{} certs={}", idp.entity_id, idp.certificates.len()),
        Err(err) => format!("{err:?}")
            .split([' ', '(', '{'])
            .next()
            .unwrap_or_default()
            .into(),
    };
    // Many ruby-saml files put base64 of a PEM file (`LS0tLS1CRUdJTi...`) in X509Certificate
    // instead of base64 DER. provisiond refuses such a certificate and says which one; the
    // remaining documents parse, with encryption-only keys left out.
    let cases = [
        ("idp_descriptor.xml", "BadCertificate"),
        ("idp_descriptor_2.xml", "BadCertificate"),
        ("idp_descriptor_3.xml", "BadCertificate"),
        (
            "idp_descriptor_4.xml",
            "https://hello.example.com/access/saml/idp.xml certs=1",
        ),
        (
            "idp_descriptor_5.xml",
            "https://hello.example.com/access/saml/idp.xml certs=1",
        ),
        (
            "idp_descriptor_6.xml",
            "https://hello.example.com/access/saml/idp.xml certs=1",
        ),
        ("idp_different_slo_response_location.xml", "BadCertificate"),
        (
            "idp_metadata_different_sign_and_encrypt_cert.xml",
            "https://app.onelogin.com/saml/metadata/383123 certs=1",
        ),
        (
            "idp_metadata_multi_certs.xml",
            "https://idp.examle.com/saml/metadata certs=2",
        ),
        ("idp_metadata_multi_signing_certs.xml", "BadCertificate"),
        (
            "idp_metadata_same_sign_and_encrypt_cert.xml",
            "https://app.onelogin.com/saml/metadata/383123 certs=1",
        ),
        ("idp_multiple_descriptors.xml", "AmbiguousIdp"),
        ("idp_multiple_descriptors_2.xml", "AmbiguousIdp"),
        ("idp_without_slo_response_location.xml", "BadCertificate"),
        ("no_idp_descriptor.xml", "NoIdpDescriptor"),
    ];

    let mismatches: Vec<String> = cases
        .iter()
        .filter_map(|(file, want)| {
            let got = outcome(file);
            (got != *want).then(|| format!("(\"{file}\", \"{got}\"),"))
        })
        .collect();

    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
    let chosen = parse_metadata(
        &read(&dir, "metadata/idp_multiple_descriptors.xml"),
        Some("https://bar.example.com/access/saml/idp.xml"),
    );
    // Choosing one of the two IdPs works; its certificate is base64 of a PEM file too.
    assert!(
        matches!(chosen, Err(MetadataError::BadCertificate { index: 0, .. })),
        "{chosen:?}"
    );
}
