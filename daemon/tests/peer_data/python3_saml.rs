//! python3-saml (OneLogin SAML toolkits): the valid test response, the `invalids` folder of
//! attacks and condition violations, and IdP metadata variants.
//!
//! Every response is checked with the IdP certificate of `settings/settings1.json` (which
//! expired in 2007: provisiond pins keys and does not check certificate dates).

use std::path::Path;

use crate::{Connection, Refusal, assert_refusals, folder, idp_from_certificate, read};
use provisiond::saml::metadata::{MetadataError, parse_metadata};

const SETTINGS_IDP: &str = "http://idp.example.com/";
const SETTINGS_SP: &str = "http://stuff.com/endpoints/metadata.php";
const SETTINGS_ACS: &str = "http://stuff.com/endpoints/endpoints/acs.php";
const PITBULK_IDP: &str = "https://pitbulk.no-ip.org/simplesaml/saml2/idp/metadata.php";
const PITBULK_SP: &str = "https://pitbulk.no-ip.org/newonelogin/demo1/metadata.php";
const PITBULK_ACS: &str = "https://pitbulk.no-ip.org/newonelogin/demo1/index.php?acs";
const EXAMPLE_IDP: &str = "https://example.com/simplesaml/saml2/idp/metadata.php";
const EXAMPLE_SP: &str = "https://example.com/newonelogin/demo1/metadata.php";
const EXAMPLE_ACS: &str = "https://example.com/newonelogin/demo1/index.php?acs";

/// A connection to an IdP that signs with the settings1 certificate (RSA-SHA1, allowed here).
fn settings1(dir: &Path, idp: &str, sp: &str, acs: &str, now: &str) -> Connection {
    let settings: serde_json::Value =
        serde_json::from_str(&read(dir, "settings/settings1.json")).expect("settings1.json");
    let certificate = settings["idp"]["x509cert"]
        .as_str()
        .expect("idp.x509cert in settings1.json");
    Connection::new(idp_from_certificate(idp, certificate), sp, acs, now).allowing_sha1()
}

#[test]
fn valid_response_is_accepted_with_the_settings1_certificate() {
    let dir = folder!("python3-saml");
    let sp = settings1(
        &dir,
        SETTINGS_IDP,
        SETTINGS_SP,
        PITBULK_ACS,
        "2014-02-19T01:37:30Z",
    );

    let accepted = sp.accepts(&dir, "data/responses/valid_response.xml.base64");

    assert_eq!(accepted.issuer, SETTINGS_IDP);
    assert_eq!(accepted.name_id, "492882615acf31c8096b627245d76ae53036c090");
    assert_eq!(
        accepted.in_response_to.as_deref(),
        Some("ONELOGIN_5fe9d6e499b2f0913206aab3f7191729049bb807")
    );
}

#[test]
fn valid_response_is_refused_without_sha1_or_with_another_key() {
    let dir = folder!("python3-saml");
    let file = "data/responses/valid_response.xml.base64";
    let strict = Connection {
        allow_sha1: false,
        ..settings1(
            &dir,
            SETTINGS_IDP,
            SETTINGS_SP,
            PITBULK_ACS,
            "2014-02-19T01:37:30Z",
        )
    };
    let mut wrong_key = settings1(
        &dir,
        SETTINGS_IDP,
        SETTINGS_SP,
        PITBULK_ACS,
        "2014-02-19T01:37:30Z",
    );
    wrong_key.idp.certificates =
        idp_from_certificate("x", &read(&dir, "certs/certificate1")).certificates;

    assert_eq!(strict.outcome(&dir, file), "weak_algorithm");
    assert_eq!(wrong_key.outcome(&dir, file), "bad_signature");
}

#[test]
fn pitbulk_responses_signed_on_the_message_or_the_assertion_are_accepted() {
    let dir = folder!("python3-saml");
    let pitbulk = |now| settings1(&dir, PITBULK_IDP, PITBULK_SP, PITBULK_ACS, now);

    // The Response carries no Issuer; it is optional when only the assertion is signed
    // (profiles §4.1.4.2), so this one is valid for provisiond.
    pitbulk("2014-02-19T01:37:30Z").accepts(
        &dir,
        "data/responses/invalids/no_issuer_response.xml.base64",
    );
    // Repeated Attribute names are merged in document order; the IdP signed them all.
    pitbulk("2014-03-21T13:42:40Z").accepts(
        &dir,
        "data/responses/invalids/duplicated_attributes.xml.base64",
    );
    pitbulk("2014-03-21T13:41:30Z")
        .accepts(&dir, "data/responses/signed_message_response.xml.base64");
    pitbulk("2014-03-31T00:37:30Z")
        .accepts(&dir, "data/responses/signed_assertion_response.xml.base64");
    pitbulk("2014-03-21T13:42:40Z")
        .accepts(&dir, "data/responses/double_signed_response.xml.base64");
}

#[test]
fn invalid_responses_are_refused_with_the_precise_reason() {
    let dir = folder!("python3-saml");
    let refuse = |file: &'static str, code, why| Refusal { file, code, why };

    // Hand-edited copies of the settings1 response. They carry no signature, so provisiond
    // refuses them before reading any condition: a forged condition never gets that far.
    let unsigned = settings1(
        &dir,
        SETTINGS_IDP,
        SETTINGS_SP,
        SETTINGS_ACS,
        "2011-06-17T14:54:30Z",
    );
    assert_refusals(
        &unsigned,
        &dir,
        &[
            refuse(
                "data/responses/invalids/invalid_audience.xml.base64",
                "unsigned",
                "audience",
            ),
            refuse(
                "data/responses/invalids/invalid_issuer_assertion.xml.base64",
                "unsigned",
                "issuer",
            ),
            refuse(
                "data/responses/invalids/invalid_issuer_message.xml.base64",
                "unsigned",
                "issuer",
            ),
            refuse(
                "data/responses/invalids/invalid_sessionindex.xml.base64",
                "unsigned",
                "session",
            ),
            refuse(
                "data/responses/invalids/invalid_subjectconfirmation_inresponse.xml.base64",
                "unsigned",
                "InResponseTo",
            ),
            refuse(
                "data/responses/invalids/invalid_subjectconfirmation_nb.xml.base64",
                "unsigned",
                "NotBefore",
            ),
            refuse(
                "data/responses/invalids/invalid_subjectconfirmation_noa.xml.base64",
                "unsigned",
                "NotOnOrAfter",
            ),
            refuse(
                "data/responses/invalids/invalid_subjectconfirmation_recipient.xml.base64",
                "unsigned",
                "Recipient",
            ),
            refuse(
                "data/responses/invalids/no_nameid.xml.base64",
                "unsigned",
                "no NameID",
            ),
            refuse(
                "data/responses/invalids/no_subjectconfirmation_data.xml.base64",
                "unsigned",
                "no data",
            ),
            refuse(
                "data/responses/invalids/no_subjectconfirmation_method.xml.base64",
                "unsigned",
                "no method",
            ),
            refuse(
                "data/responses/invalids/encrypted_attrs.xml.base64",
                "encrypted",
                "encrypted attributes, read before any signature",
            ),
            refuse(
                "data/responses/invalids/response_encrypted_attrs.xml.base64",
                "encrypted",
                "encrypted attributes, read before any signature",
            ),
        ],
    );

    // Signed, for the settings1 IdP and SP: an empty Destination is not this ACS.
    let signed = settings1(
        &dir,
        SETTINGS_IDP,
        SETTINGS_SP,
        PITBULK_ACS,
        "2014-02-19T01:37:30Z",
    );
    assert_refusals(
        &signed,
        &dir,
        &[refuse(
            "data/responses/invalids/empty_destination.xml.base64",
            "recipient",
            "Destination is empty",
        )],
    );

    // Signed by the settings1 key for the pitbulk SP: each is refused for its own fault.
    let pitbulk = settings1(
        &dir,
        PITBULK_IDP,
        PITBULK_SP,
        PITBULK_ACS,
        "2014-02-19T01:37:30Z",
    );
    assert_refusals(
        &pitbulk,
        &dir,
        &[
            refuse(
                "data/responses/invalids/empty_nameid.xml.base64",
                "no_name_id",
                "NameID is empty",
            ),
            refuse(
                "data/responses/invalids/multiple_assertions.xml.base64",
                "assertion_count",
                "two assertions",
            ),
            refuse(
                "data/responses/invalids/no_authnstatement.xml.base64",
                "no_authn_statement",
                "profiles §4.1.4.2",
            ),
            refuse(
                "data/responses/invalids/no_conditions.xml.base64",
                "malformed",
                "no AudienceRestriction possible",
            ),
            refuse(
                "data/responses/invalids/no_issuer_assertion.xml.base64",
                "issuer",
                "assertion Issuer is required",
            ),
            refuse(
                "data/responses/invalids/no_status.xml.base64",
                "malformed",
                "Status is required",
            ),
            refuse(
                "data/responses/invalids/no_status_code.xml.base64",
                "malformed",
                "StatusCode is required",
            ),
            refuse(
                "data/responses/invalids/signature_wrapping_attack.xml.base64",
                "assertion_count",
                "XSW",
            ),
            refuse(
                "data/responses/invalids/signed_assertion_response.xml.base64",
                "bad_signature",
                "edited after signing",
            ),
            refuse(
                "data/responses/invalids/wrong_spnamequalifier.xml.base64",
                "name_id_qualifier",
                "NameID for another SP",
            ),
            refuse(
                "data/responses/invalids/encrypted_nameID_without_EncMethod.xml.base64",
                "encrypted",
                "encrypted NameID, read before any signature",
            ),
            refuse(
                "data/responses/invalids/encrypted_nameID_without_keyinfo.xml.base64",
                "encrypted",
                "encrypted NameID, read before any signature",
            ),
            refuse(
                "data/responses/response_node_text_attack.xml.base64",
                "comment_injection",
                "CVE-2017-11427",
            ),
            refuse(
                "data/responses/wrapped_response_2.xml.base64",
                "signature_placement",
                "metadata signature",
            ),
            refuse(
                "data/responses/double_signed_encrypted_assertion.xml.base64",
                "encrypted",
                "no SP key",
            ),
            refuse(
                "data/responses/double_signed_encrypted_assertion2.xml.base64",
                "encrypted",
                "no SP key",
            ),
        ],
    );

    // Same toolkit, an example.com IdP.
    let example = settings1(
        &dir,
        EXAMPLE_IDP,
        EXAMPLE_SP,
        EXAMPLE_ACS,
        "2014-02-19T01:37:30Z",
    );
    assert_refusals(
        &example,
        &dir,
        &[
            refuse(
                "data/responses/invalids/bad_reference.xml.base64",
                "bad_signature",
                "digest mismatch",
            ),
            refuse(
                "data/responses/invalids/no_key.xml.base64",
                "bad_signature",
                "no SignatureMethod",
            ),
            refuse(
                "data/responses/invalids/no_signature.xml.base64",
                "unsigned",
                "nothing signed",
            ),
            refuse(
                "data/responses/invalids/no_id.xml.base64",
                "malformed",
                "no Status either",
            ),
            refuse(
                "data/responses/invalids/not_after_failed.xml.base64",
                "malformed",
                "no Status either",
            ),
            refuse(
                "data/responses/invalids/not_before_failed.xml.base64",
                "malformed",
                "no Status either",
            ),
            refuse(
                "data/responses/invalids/no_saml2.xml.base64",
                "malformed",
                "a SAML 1.1 response",
            ),
            refuse(
                "data/responses/invalids/status_code_responder.xml.base64",
                "idp_status",
                "Responder",
            ),
            refuse(
                "data/responses/invalids/status_code_responer_and_msg.xml.base64",
                "idp_status",
                "Responder",
            ),
            refuse(
                "data/responses/invalids/signature_wrapping_attack2.xml.base64",
                "assertion_count",
                "XSW",
            ),
        ],
    );
}

#[test]
fn python3_saml_metadata_parses_or_is_refused_for_the_right_reason() {
    let dir = folder!("python3-saml");
    let metadata = |file: &str| parse_metadata(&read(&dir, &format!("data/metadata/{file}")), None);

    let onelogin = metadata("idp_metadata.xml").expect("idp_metadata.xml");
    let multi_signing = metadata("idp_metadata_multi_signing_certs.xml").expect("multi signing");
    let multi = metadata("idp_metadata_multi_certs.xml").expect("multi certs");
    let same = metadata("idp_metadata_same_sign_and_encrypt_cert.xml").expect("same cert");
    let different = metadata("idp_metadata_different_sign_and_encrypt_cert.xml").expect("diff");

    assert_eq!(
        onelogin.entity_id,
        "https://app.onelogin.com/saml/metadata/383123"
    );
    assert_eq!(onelogin.certificates.len(), 1);
    // Three signing KeyDescriptors, two of them the same certificate.
    assert_eq!(multi_signing.certificates.len(), 2);
    assert_eq!(multi.certificates.len(), 2);
    assert_eq!(same.certificates.len(), 1);
    assert_eq!(different.certificates.len(), 1);
    assert_eq!(
        metadata("idp_metadata2.xml").map(|idp| idp.entity_id),
        Ok("urn:example:idp".into())
    );
    assert!(matches!(
        metadata("idp_multiple_descriptors.xml"),
        Err(MetadataError::AmbiguousIdp { count: 2, .. })
    ));
    // SP metadata, and documents with SP and IdP entities but no IdP SSO descriptor.
    for file in [
        "metadata_settings1.xml",
        "expired_metadata_settings1.xml",
        "signed_metadata_settings1.xml",
        "entities_metadata.xml",
    ] {
        assert_eq!(
            metadata(file),
            Err(MetadataError::NoIdpDescriptor),
            "{file}"
        );
    }
    assert_eq!(
        metadata("testshib-providers.xml").map(|idp| idp.entity_id),
        Ok("https://idp.testshib.org/idp/shibboleth".into())
    );
    assert!(
        matches!(
            metadata("unparsed_metadata.xml"),
            Err(MetadataError::Xml(_) | MetadataError::NoIdpDescriptor)
        ),
        "{:?}",
        metadata("unparsed_metadata.xml")
    );
}
