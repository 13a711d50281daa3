//! crewjam/saml: XML signature wrapping permutations and real OneLogin, Google, SecureWorks
//! and Okta responses (base64 `SAMLResponse` values).

use std::path::Path;

use base64::Engine;

use crate::{Connection, Refusal, assert_refusals, folder, idp_by_hand, idp_from_metadata};

const ONELOGIN_METADATA: &str = "testdata/TestSPCanHandleOneloginResponse_IDPMetadata";
const ONELOGIN_DEMO_METADATA: &str =
    "testdata/TestServiceProviderCanHandleSignedAssertionsResponse_IDPMetadata";
const GOOGLE_METADATA: &str = "testdata/TestSPCanHandlePlaintextResponse_IDPMetadata";
const SECUREWORKS_METADATA: &str =
    "testdata/TestSPRealWorldAssertionSignedNotResponse_idp_metadata";
const GOOGLE_RESPONSE: &str = "testdata/TestSPCanHandlePlaintextResponse_response";

/// The SP behind the real OneLogin and Google responses (an ngrok tunnel). Their metadata
/// offers HTTP-POST SSO only, so the IdP is configured by hand.
fn ngrok(dir: &Path, metadata: &str, now: &str) -> Connection {
    Connection::new(
        idp_by_hand(dir, metadata),
        "https://29ee6d2e.ngrok.io/saml/metadata",
        "https://29ee6d2e.ngrok.io/saml/acs",
        now,
    )
}

/// The OneLogin demo SP of permutations three to nine (RSA-SHA1 signatures).
fn onelogin_demo(dir: &Path) -> Connection {
    Connection::new(
        idp_from_metadata(dir, ONELOGIN_DEMO_METADATA),
        "http://sp.example.com/demo1/metadata.php",
        "http://sp.example.com/demo1/index.php?acs",
        "2014-07-17T01:02:59Z",
    )
    .allowing_sha1()
}

/// The SecureWorks IdP of the 2017 real-world responses (RSA-SHA1 signatures; HTTP-POST SSO
/// only, so configured by hand).
fn secureworks(dir: &Path) -> Connection {
    Connection::new(
        idp_by_hand(dir, SECUREWORKS_METADATA),
        "https://preview.docrocket-ross.test.octolabs.io/saml/metadata",
        "https://preview.docrocket-ross.test.octolabs.io/saml/acs",
        "2017-04-21T13:12:51Z",
    )
    .allowing_sha1()
}

#[test]
fn xml_signature_wrapping_permutations_are_all_refused() {
    let dir = folder!("crewjam-saml");
    // One and Two wrap the real OneLogin response, RSA-SHA1 signed.
    let onelogin = ngrok(&dir, ONELOGIN_METADATA, "2016-01-05T17:53:12Z").allowing_sha1();
    let xsw = |file, why| Refusal {
        file,
        code: "assertion_count",
        why,
    };

    // Every permutation smuggles a second assertion next to, around or inside the signed one;
    // the message-shape check refuses them all before any signature work.
    assert_refusals(
        &onelogin,
        &dir,
        &[
            xsw(
                "testdata/TestXswPermutationOneIsRejected_response",
                "forged response wraps the signed one",
            ),
            xsw(
                "testdata/TestXswPermutationTwoIsRejected_response",
                "forged response, signed one detached",
            ),
        ],
    );
    assert_refusals(
        &onelogin_demo(&dir),
        &dir,
        &[
            xsw(
                "testdata/TestXswPermutationThreeIsRejected_response",
                "forged assertion before the signed one",
            ),
            xsw(
                "testdata/TestXswPermutationFourIsRejected_response",
                "forged assertion wraps the signed one",
            ),
            xsw(
                "testdata/TestXswPermutationFiveIsRejected_response",
                "signature moved into the forged assertion",
            ),
            xsw(
                "testdata/TestXswPermutationSixIsRejected_response",
                "signed assertion hidden inside the signature",
            ),
            xsw(
                "testdata/TestXswPermutationSevenIsRejected_response",
                "signed assertion hidden in Extensions",
            ),
            xsw(
                "testdata/TestXswPermutationEightIsRejected_response",
                "signed assertion hidden in a ds:Object",
            ),
            xsw(
                "testdata/TestXswPermutationNineIsRejected_response",
                "forged assertion in a ds:Object",
            ),
        ],
    );
}

#[test]
fn original_of_the_wrapping_permutations_is_accepted() {
    let dir = folder!("crewjam-saml");
    let onelogin = ngrok(&dir, ONELOGIN_METADATA, "2016-01-05T17:53:12Z").allowing_sha1();

    let from_onelogin = onelogin.accepts(&dir, "testdata/TestSPCanHandleOneloginResponse_response");
    let from_demo = onelogin_demo(&dir).accepts(
        &dir,
        "testdata/TestServiceProviderCanHandleSignedAssertionsResponse_response",
    );

    assert_eq!(
        from_onelogin.issuer,
        "https://app.onelogin.com/saml/metadata/503983"
    );
    assert_eq!(
        from_onelogin.in_response_to.as_deref(),
        Some("id-d40c15c104b52691eccf0a2a5c8a15595be75423")
    );
    assert_eq!(
        from_demo.in_response_to.as_deref(),
        Some("ONELOGIN_4fee3b046395c4e751011e97f8900b5273d56685")
    );
}

#[test]
fn onelogin_sha1_response_is_refused_unless_sha1_is_allowed() {
    let dir = folder!("crewjam-saml");
    let strict = ngrok(&dir, ONELOGIN_METADATA, "2016-01-05T17:53:12Z");

    let outcome = strict.outcome(&dir, "testdata/TestSPCanHandleOneloginResponse_response");

    assert_eq!(outcome, "weak_algorithm");
}

#[test]
fn real_google_response_is_accepted() {
    let dir = folder!("crewjam-saml");
    let google = ngrok(&dir, GOOGLE_METADATA, "2016-01-05T16:55:39Z");

    let accepted = google.accepts(&dir, GOOGLE_RESPONSE);

    assert_eq!(accepted.name_id, "ross@octolabs.io");
    assert_eq!(
        accepted.issuer,
        "https://accounts.google.com/o/saml2?idpid=C02dfl1r1"
    );
    assert_eq!(
        accepted.in_response_to.as_deref(),
        Some("id-fd419a5ab0472645427f8e07d87a3a5dd0b2e9a6")
    );
}

#[test]
fn comment_injected_into_a_signed_name_id_is_refused() {
    let dir = folder!("crewjam-saml");
    let google = ngrok(
        &dir,
        "testdata/TestSPRejectsInjectedComment_IDPMetadata",
        "2016-01-05T16:55:39Z",
    );
    // The golden file is the untouched Google response; like upstream, the comment is injected
    // at test time. Exclusive c14n drops comments, so the signature would still verify.
    let original = crate::read(&dir, "testdata/TestSPRejectsInjectedComment_response");
    let xml = base64::engine::general_purpose::STANDARD
        .decode(original.trim())
        .expect("golden file is base64");
    let xml = String::from_utf8(xml).expect("golden file is UTF-8");
    let injected = xml.replacen(
        "ross@octolabs.io</saml2:NameID>",
        "ross@<!-- a comment -->octolabs.io</saml2:NameID>",
        1,
    );
    assert_ne!(injected, xml, "the NameID to inject into was not found");

    assert!(google.validate(&original).is_ok());
    let err = google
        .validate(&injected)
        .expect_err("comment injection accepted");
    assert_eq!(err.code(), "comment_injection", "{err}");
}

/// Real SecureWorks responses (assertion signed, response not; one with a bare RSA key in
/// KeyInfo instead of a certificate) verify with the metadata's certificate. They once failed
/// inside samael's signed-content reduction; provisiond now verifies enveloped signatures
/// directly after its own placement checks, so they are accepted as real IdP output.
#[test]
fn real_secureworks_responses_are_accepted() {
    let dir = folder!("crewjam-saml");
    let connection = secureworks(&dir);
    for file in [
        "testdata/TestSPRealWorldAssertionSignedNotResponse_response",
        "testdata/TestSPRealWorldKeyInfoHasRSAPublicKeyNotX509Cert_response",
    ] {
        let response = super::read(&dir, file);
        if let Err(err) = connection.validate(&response) {
            panic!("{file}: refused with {}: {err}", err.code());
        }
    }
}

#[test]
fn response_with_two_assertions_is_refused() {
    let dir = folder!("crewjam-saml");

    let outcome = secureworks(&dir).outcome(&dir, "testdata/TestSPMultipleAssertions");

    assert_eq!(outcome, "assertion_count");
}

#[test]
fn okta_encrypted_assertions_are_refused_as_unsupported() {
    let dir = folder!("crewjam-saml");
    let okta = Connection::new(
        idp_from_metadata(
            &dir,
            "testdata/TestSPCanHandleOktaSignedResponseEncryptedAssertion_IDPMetadata",
        ),
        "http://localhost:8000/saml/metadata",
        "http://localhost:8000/saml/acs",
        "2020-03-03T19:30:00Z",
    );

    // provisiond has no SP decryption key: EncryptedAssertion is refused, never half-read.
    assert_refusals(
        &okta,
        &dir,
        &[
            Refusal {
                file: "testdata/TestSPCanHandleOktaSignedResponseEncryptedAssertion_response",
                code: "encrypted",
                why: "no SP decryption key",
            },
            Refusal {
                file: "testdata/TestSPCanHandleOktaResponseEncryptedSignedAssertion_response",
                code: "encrypted",
                why: "no SP decryption key",
            },
            Refusal {
                file: "testdata/TestSPCanHandleOktaResponseEncryptedAssertionBothSigned_response",
                code: "encrypted",
                why: "no SP decryption key",
            },
        ],
    );
}
