//! Regression tests for the ACS validator, on responses generated and signed here.
//!
//! idp-sim builds an unsigned Entra-shaped response; each test changes one thing and signs the
//! result itself, so the signature is valid and only the change can cause a refusal.

use chrono::{DateTime, TimeZone, Utc};
use idp_sim::{ResponseSpec, SignatureAlgorithm, Signing, SigningKey, new_id};
use samael::crypto::{Crypto, CryptoProvider};

use super::*;
use crate::saml::metadata::IdpDescriptor;

const IDP: &str = "https://sts.windows.net/regression/";
const SP: &str = "https://sp.example.com/saml";
const ACS: &str = "https://sp.example.com/saml/acs";
const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

fn spec() -> ResponseSpec {
    let assertion_id = new_id();
    ResponseSpec {
        response_id: new_id(),
        session_index: assertion_id.clone(),
        session_not_on_or_after: None,
        assertion_id,
        issuer: IDP.into(),
        destination: Some(ACS.into()),
        in_response_to: Some("request-1".into()),
        name_id: "ada@example.com".into(),
        name_id_format: idp_sim::NAME_ID_FORMAT_EMAIL.into(),
        audience: SP.into(),
        recipient: ACS.into(),
        issue_instant: now(),
        not_before: now(),
        not_on_or_after: now() + chrono::Duration::minutes(70),
        subject_not_on_or_after: now() + chrono::Duration::minutes(5),
        attributes: vec![],
        status_code: idp_sim::STATUS_SUCCESS.into(),
        signing: Signing::None,
        algorithm: SignatureAlgorithm::RsaSha256,
        include_key_info: false,
        duplicate_assertion: false,
        duplicate_name_id: "mallory@example.com".into(),
    }
}

/// An unsigned response for `spec`, with `edit` applied to its text.
fn unsigned(spec: &ResponseSpec, key: &SigningKey, edit: impl Fn(String) -> String) -> String {
    edit(idp_sim::build_signed_response(spec, key).unwrap())
}

/// A signature template over `reference`, to be filled in by [`sign`].
fn template(reference: &str) -> String {
    format!(
        concat!(
            "<Signature xmlns=\"{ns}\"><SignedInfo>",
            "<CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            "<SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>",
            "<Reference URI=\"#{id}\"><Transforms>",
            "<Transform Algorithm=\"{ns}enveloped-signature\"/>",
            "<Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></Transforms>",
            "<DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>",
            "<DigestValue/></Reference></SignedInfo><SignatureValue/></Signature>"
        ),
        ns = XMLDSIG,
        id = reference,
    )
}

/// `xml` with `text` inserted right after the first `after` found past `anchor`.
fn insert_after(xml: &str, anchor: &str, after: &str, text: &str) -> String {
    let start = xml.find(anchor).expect("anchor");
    let at = start + xml[start..].find(after).expect("insertion point") + after.len();
    format!("{}{text}{}", &xml[..at], &xml[at..])
}

/// Inserts `template` right after the first `after` found past `anchor`, and signs it.
fn sign(xml: &str, key: &SigningKey, anchor: &str, after: &str, template: &str) -> String {
    let with_template = insert_after(xml, anchor, after, template);
    Crypto::sign_xml(with_template, key.private_key_der()).unwrap()
}

/// Signs the assertion where Entra does: right after its Issuer.
fn sign_assertion(xml: &str, key: &SigningKey, spec: &ResponseSpec) -> String {
    sign(
        xml,
        key,
        "<Assertion ",
        "</Issuer>",
        &template(&spec.assertion_id),
    )
}

fn validate(
    xml: &str,
    key: &SigningKey,
    allow_sha1: bool,
) -> Result<ValidatedAssertion, LoginError> {
    let idp = IdpDescriptor {
        entity_id: IDP.into(),
        sso_url: "https://idp.example.com/sso".into(),
        certificates: vec![key.cert_der().to_vec()],
    };
    let expect = Expectations {
        idp: &idp,
        sp_entity_id: SP,
        acs_url: ACS,
        clock_skew: chrono::Duration::seconds(180),
        allow_sha1,
    };
    validate_xml(xml, &expect, now())
}

fn code(result: Result<ValidatedAssertion, LoginError>) -> &'static str {
    result.map_or_else(|err| err.code(), |_| "accepted")
}

#[test]
fn assertion_signed_after_its_issuer_is_accepted() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let xml = sign_assertion(&unsigned(&spec, &key, |x| x), &key, &spec);

    let accepted = validate(&xml, &key, false).unwrap();

    assert_eq!(accepted.name_id, "ada@example.com");
    assert_eq!(accepted.in_response_to.as_deref(), Some("request-1"));
}

#[test]
fn assertion_signed_with_inclusive_c14n_is_accepted() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let inclusive = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
    let template =
        template(&spec.assertion_id).replace("http://www.w3.org/2001/10/xml-exc-c14n#", inclusive);
    let xml = sign(
        &unsigned(&spec, &key, |x| x),
        &key,
        "<Assertion ",
        "</Issuer>",
        &template,
    );

    assert_eq!(code(validate(&xml, &key, false)), "accepted");
    let tampered = xml.replacen("ada@example.com", "eve@example.com", 1);
    assert_eq!(code(validate(&tampered, &key, false)), "bad_signature");
}

#[test]
fn assertion_without_authn_statement_is_refused() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let without = unsigned(&spec, &key, |xml| {
        let start = xml.find("<AuthnStatement").unwrap();
        let end = xml.find("</AuthnStatement>").unwrap() + "</AuthnStatement>".len();
        format!("{}{}", &xml[..start], &xml[end..])
    });
    let xml = sign_assertion(&without, &key, &spec);

    assert_eq!(code(validate(&xml, &key, false)), "no_authn_statement");
}

#[test]
fn name_id_qualified_for_another_sp_is_refused() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let qualified = |sp: &'static str| {
        move |xml: String| xml.replace("<NameID ", &format!("<NameID SPNameQualifier=\"{sp}\" "))
    };
    let ours = sign_assertion(&unsigned(&spec, &key, qualified(SP)), &key, &spec);
    let theirs = sign_assertion(
        &unsigned(&spec, &key, qualified("https://other.example.com/saml")),
        &key,
        &spec,
    );

    assert_eq!(code(validate(&ours, &key, false)), "accepted");
    assert_eq!(code(validate(&theirs, &key, false)), "name_id_qualifier");
}

#[test]
fn signature_not_right_after_the_issuer_is_refused() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    // Cryptographically valid (enveloped anywhere in the assertion) but not where the schema
    // puts it.
    let xml = sign(
        &unsigned(&spec, &key, |x| x),
        &key,
        "<Assertion ",
        "</Subject>",
        &template(&spec.assertion_id),
    );

    assert_eq!(code(validate(&xml, &key, false)), "signature_placement");
}

#[test]
fn signature_of_the_response_referencing_the_assertion_is_refused() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    // Sits in the Response but signs the assertion: not an enveloped signature of its parent.
    let xml = sign(
        &unsigned(&spec, &key, |x| x),
        &key,
        "<samlp:Response",
        "</Issuer>",
        &template(&spec.assertion_id),
    );

    assert_eq!(code(validate(&xml, &key, false)), "signature_placement");
}

#[test]
fn signature_hidden_in_status_is_refused() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let signed = sign_assertion(&unsigned(&spec, &key, |x| x), &key, &spec);
    // A second, copied signature inside Status: valid bytes in a place no signature belongs.
    let copy = {
        let start = signed.find("<Signature").unwrap();
        let end = signed.find("</Signature>").unwrap() + "</Signature>".len();
        signed[start..end].to_string()
    };
    let xml = signed.replacen("</samlp:Status>", &format!("{copy}</samlp:Status>"), 1);

    assert_eq!(code(validate(&xml, &key, false)), "signature_placement");
}

#[test]
fn assertion_below_another_element_is_refused() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let signed = sign_assertion(&unsigned(&spec, &key, |x| x), &key, &spec);
    let xml = signed
        .replacen("<Assertion ", "<samlp:Extensions><Assertion ", 1)
        .replacen("</Assertion>", "</Assertion></samlp:Extensions>", 1);

    let err = validate(&xml, &key, false).unwrap_err();
    assert!(
        matches!(&err, LoginError::Malformed(reason) if reason.contains("direct child")),
        "{err}"
    );
}

#[test]
fn unknown_algorithm_uris_are_refused_even_with_sha1_allowed() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let signed = sign_assertion(&unsigned(&spec, &key, |x| x), &key, &spec);
    let look_alike_sha1 = signed.replace(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha1",
    );
    let xpath = signed.replace(
        "<Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
        "<Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"/>",
    );

    for xml in [look_alike_sha1, xpath] {
        assert_eq!(code(validate(&xml, &key, true)), "weak_algorithm");
    }
}

/// An IdP-signed response that carries no assertion (an error answer, say), cut out of the
/// message it came in.
fn signed_error_response(key: &SigningKey) -> String {
    let mut error = spec();
    error.status_code = "urn:oasis:names:tc:SAML:2.0:status:Responder".into();
    let without_assertion = unsigned(&error, key, |xml| {
        let start = xml.find("<Assertion ").unwrap();
        let end = xml.find("</Assertion>").unwrap() + "</Assertion>".len();
        format!("{}{}", &xml[..start], &xml[end..])
    });
    let signed = sign(
        &without_assertion,
        key,
        "<samlp:Response",
        "</Issuer>",
        &template(&error.response_id),
    );
    let start = signed.find("<samlp:Response").unwrap();
    signed[start..].trim_end().to_string()
}

#[test]
fn signed_response_nested_in_extensions_does_not_vouch_for_a_forged_assertion() {
    let key = SigningKey::generate("idp").unwrap();
    let nested = signed_error_response(&key);
    let mut forged = spec();
    forged.name_id = "mallory@example.com".into();
    // The forged assertion carries a signature element that is placed correctly but signs
    // nothing; only the nested response's signature is real.
    let xml = unsigned(&forged, &key, |xml| {
        xml.replacen(
            "</Issuer>",
            &format!("</Issuer><samlp:Extensions>{nested}</samlp:Extensions>"),
            1,
        )
    });
    let at = xml.find("<Assertion ").unwrap();
    let issuer_end = at + xml[at..].find("</Issuer>").unwrap() + "</Issuer>".len();
    let xml = format!(
        "{}{}{}",
        &xml[..issuer_end],
        template(&forged.assertion_id),
        &xml[issuer_end..]
    );

    assert_eq!(code(validate(&xml, &key, false)), "signature_placement");
}

#[test]
fn signed_response_nested_in_status_detail_does_not_vouch_for_the_root() {
    let key = SigningKey::generate("idp").unwrap();
    let nested = signed_error_response(&key);
    let mut forged = spec();
    forged.name_id = "mallory@example.com".into();
    // The root claims a response signature of its own, placed and referenced correctly but
    // never computed; the first signature in the document is the nested one.
    let xml = unsigned(&forged, &key, |xml| {
        xml.replacen(
            "/></samlp:Status>",
            &format!("/><samlp:StatusDetail>{nested}</samlp:StatusDetail></samlp:Status>"),
            1,
        )
    });
    let issuer_end = xml.find("</Issuer>").unwrap() + "</Issuer>".len();
    let xml = format!(
        "{}{}{}",
        &xml[..issuer_end],
        template(&forged.response_id),
        &xml[issuer_end..]
    );

    assert_eq!(code(validate(&xml, &key, false)), "signature_placement");
}

/// A signed response as one document with an XML declaration naming `encoding`.
fn declared(encoding: &str, xml: &str) -> String {
    let body = xml[xml.find("?>").unwrap() + 2..].trim_start();
    format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n{body}")
}

#[test]
fn declared_encoding_other_than_utf8_is_refused() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let signed = sign_assertion(&unsigned(&spec, &key, |x| x), &key, &spec);
    // libxml2 verifies what UTF-7 makes of the bytes: the first NameID is a comment to it and
    // the signed NameID survives canonicalisation, while the UTF-8 reading sees mallory first.
    let utf7 = declared("UTF-7", &signed.replace('+', "+-")).replacen(
        "<NameID ",
        "+ADwAIQAtAC0-<NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">\
         mallory@example.com</NameID>+AC0ALQA+-<NameID ",
        1,
    );

    assert_eq!(
        code(validate(&declared("UTF-8", &signed), &key, false)),
        "accepted"
    );
    assert_eq!(
        code(validate(&declared("utf8", &signed), &key, false)),
        "accepted"
    );
    for xml in [
        utf7,
        declared("UTF-16", &signed),
        declared("ISO-8859-1", &signed),
        signed.replacen("encoding=\"UTF-8\"", "encoding = 'utf-7'", 1),
    ] {
        let err = validate(&xml, &key, false).unwrap_err();
        assert!(
            matches!(&err, LoginError::Malformed(reason) if reason.contains("encoding")),
            "{err}"
        );
    }
}

#[test]
fn deeply_nested_response_is_refused_without_overflowing_the_stack() {
    let key = SigningKey::generate("idp").unwrap();
    let xml = format!(
        concat!(
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">",
            "<samlp:Status><samlp:StatusCode Value=\"{}\"/></samlp:Status>{}{}</samlp:Response>"
        ),
        idp_sim::STATUS_SUCCESS,
        "<a>".repeat(50_000),
        "</a>".repeat(50_000)
    );
    // A worker thread's stack; a few thousand levels used to abort the process.
    let result = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || code(validate(&xml, &key, false)))
        .unwrap()
        .join()
        .unwrap();

    assert_eq!(result, "malformed");
}

const SAML_ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// An assertion as Okta, Shibboleth or Keycloak write it (prefixed `saml:` and `ds:`), signed
/// by the connection's key, for the attacker's own account.
fn prefixed_assertion_signed_for_mallory(key: &SigningKey, id: &str) -> String {
    let body = format!(
        "<saml:Assertion xmlns:saml=\"{SAML_ASSERTION_NS}\" ID=\"{id}\" Version=\"2.0\" \
         IssueInstant=\"2024-05-01T12:00:00Z\"><saml:Issuer>{IDP}</saml:Issuer>\
         <ds:Signature xmlns:ds=\"{XMLDSIG}\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <ds:Reference URI=\"#{id}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"{XMLDSIG}enveloped-signature\"/>\
         <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>\
         <saml:Subject><saml:NameID>mallory@example.com</saml:NameID></saml:Subject>\
         </saml:Assertion>"
    );
    let signed = Crypto::sign_xml(body, key.private_key_der()).unwrap();
    let start = signed.find("<saml:Assertion").unwrap();
    signed[start..].trim_end().to_string()
}

/// Signature wrapping through a parser differential: `xmlns:saml=""` is not
/// namespace-well-formed; one XML parser binds the prefix to nothing (hiding the signed
/// assertion from every check), another drops the declaration (keeping the signature valid
/// for it). A genuinely signed assertion hidden that way before a forged one, whose own
/// signature names inclusive c14n, must not vouch for the forgery.
#[test]
fn a_signed_assertion_hidden_by_an_empty_namespace_binding_does_not_vouch_for_a_forged_one() {
    let key = SigningKey::generate("idp").unwrap();
    let legit = prefixed_assertion_signed_for_mallory(&key, "_legit");
    let hidden = legit
        .replacen(
            &format!("xmlns:saml=\"{SAML_ASSERTION_NS}\""),
            "xmlns:saml=\"\"",
            1,
        )
        .replacen(&format!("xmlns:ds=\"{XMLDSIG}\""), "xmlns:ds=\"\"", 1);
    let wrapper = format!(
        "<w xmlns=\"\" xmlns:saml=\"{SAML_ASSERTION_NS}\" xmlns:ds=\"{XMLDSIG}\">{hidden}</w>"
    );
    let mut spec = spec();
    spec.name_id = "ceo@example.com".into();
    let forged_signature = template(&spec.assertion_id)
        .replace(
            "<CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            "<CanonicalizationMethod \
             Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
        )
        .replace("<DigestValue/>", "<DigestValue>AAAA</DigestValue>")
        .replace("<SignatureValue/>", "<SignatureValue>AAAA</SignatureValue>");
    let attack = |smuggled: &str| {
        unsigned(&spec, &key, |x| {
            insert_after(&x, "<Assertion ", "</Issuer>", &forged_signature).replacen(
                "<Assertion ",
                &format!("{smuggled}<Assertion "),
                1,
            )
        })
    };

    assert_eq!(code(validate(&attack(&wrapper), &key, false)), "malformed");
    let plain = format!("<w xmlns=\"\">{legit}</w>");
    assert_ne!(code(validate(&attack(&plain), &key, false)), "accepted");
}

/// A PrefixList of many prefixes over many elements would make canonicalization quadratic
/// before any key is involved; it is refused first.
#[test]
fn a_huge_inclusive_prefix_list_is_refused_before_canonicalizing() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let list: Vec<String> = (0..60_000).map(|i| format!("p{i}")).collect();
    let template = template(&spec.assertion_id)
        .replace(
            "<Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            &format!(
                "<Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\">\
                 <ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" \
                 PrefixList=\"{}\"/></Transform>",
                list.join(" ")
            ),
        )
        .replace("<DigestValue/>", "<DigestValue>AAAA</DigestValue>")
        .replace("<SignatureValue/>", "<SignatureValue>AAAA</SignatureValue>");
    let filler = format!("<Advice>{}</Advice>", "<b/>".repeat(60_000));
    let xml = unsigned(&spec, &key, |x| {
        insert_after(&x, "<Assertion ", "</Issuer>", &template).replacen(
            "<Subject>",
            &format!("{filler}<Subject>"),
            1,
        )
    });
    assert!(xml.len() < 1024 * 1024);
    // Refused for the list itself, so before any canonicalization.
    let err = validate(&xml, &key, false).unwrap_err();
    assert_eq!(err.code(), "bad_signature");
    assert!(err.to_string().contains("prefixes"), "{err}");
}

/// Thousands of namespace declarations make the parser's work grow faster than their square;
/// the document is refused before it is parsed.
#[test]
fn a_response_with_thousands_of_namespace_declarations_is_refused_before_parsing() {
    let key = SigningKey::generate("idp").unwrap();
    let declarations: String = (0..100).map(|i| format!(" xmlns:n{i}=\"u\"")).collect();
    let children: String = (0..15_000)
        .map(|i| format!("<k xmlns:m{i}=\"u\"/>"))
        .collect();
    let xml = response_around(&declarations, &children);
    // Refused for the count, so before the parser sees the document.
    let err = validate(&xml, &key, false).unwrap_err();
    assert_eq!(err.code(), "malformed");
    assert!(err.to_string().contains("namespace declarations"), "{err}");
}

#[test]
fn an_element_with_thousands_of_attributes_is_refused_before_parsing() {
    let key = SigningKey::generate("idp").unwrap();
    let attributes: String = (0..40_000).map(|i| format!(" a{i}=\"\"")).collect();
    let xml = response_around(
        "",
        &format!("<samlp:Extensions><x{attributes}/></samlp:Extensions>"),
    );
    let err = validate(&xml, &key, false).unwrap_err();
    assert_eq!(err.code(), "malformed");
    assert!(err.to_string().contains("attributes"), "{err}");
}

/// A successful Response with `attributes` on its root and `content` after its Status.
fn response_around(attributes: &str, content: &str) -> String {
    format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"{attributes}>\
         <samlp:Status><samlp:StatusCode Value=\"{}\"/></samlp:Status>{content}\
         </samlp:Response>",
        idp_sim::STATUS_SUCCESS
    )
}

#[test]
fn a_dtd_or_entity_declaration_is_found_in_any_letter_case_and_anywhere() {
    for xml in [
        "<!DOCTYPE r><r/>",
        "<r/><!doctype r>",
        "<r><!-- <!DocType r> --></r>",
        "<r><![CDATA[<!ENTITY x 'y'>]]></r>",
        "<r/><!eNtItY",
    ] {
        assert!(has_dtd(xml), "{xml}");
    }
    for xml in [
        "<r/>",
        "<r><!-- doctype --></r>",
        "<r/><!",
        "<r/><!DOCTYP",
        "<! DOCTYPE r>",
    ] {
        assert!(!has_dtd(xml), "{xml}");
    }
}

#[test]
fn posted_base64_decodes_the_same_with_or_without_whitespace() {
    let xml = "<samlp:Response>ä</samlp:Response>".repeat(20);
    let plain = base64::engine::general_purpose::STANDARD.encode(&xml);
    let wrapped: String = plain
        .as_bytes()
        .chunks(64)
        .map(|line| format!("{}\r\n", std::str::from_utf8(line).unwrap()))
        .collect();
    assert_eq!(decode_base64(&plain).unwrap(), xml.as_bytes());
    assert_eq!(decode_base64(&wrapped).unwrap(), xml.as_bytes());
    assert_eq!(
        decode_base64(&format!(" \t{plain}\n")).unwrap(),
        xml.as_bytes()
    );

    for (value, expected) in [
        ("", "empty SAMLResponse"),
        (" \r\n\t", "empty SAMLResponse"),
        ("PHI+*A==", "not base64"),
        ("PHI+ *A==", "not base64"),
    ] {
        let Err(LoginError::Malformed(message)) = decode_base64(value) else {
            panic!("{value:?} decoded");
        };
        assert!(message.starts_with(expected), "{value:?}: {message}");
    }
    let oversized = "A".repeat(MAX_BASE64_BYTES + 4);
    let Err(LoginError::Malformed(message)) = decode_base64(&oversized) else {
        panic!("an oversized value decoded");
    };
    assert!(message.contains("larger than 1 MiB"), "{message}");
}

#[test]
fn text_of_joins_the_direct_text_pieces_and_trims_the_whole() {
    for (xml, expected) in [
        ("<v> one </v>", "one"),
        ("<v/>", ""),
        ("<v><c>inner</c></v>", ""),
        ("<v> a<!--x--> b <?p?>c <c>not</c>d </v>", "a b c d"),
        ("<v>\n ä <![CDATA[<&>]]> </v>", "ä <&>"),
    ] {
        let doc = roxmltree::Document::parse(xml).unwrap();
        assert_eq!(text_of(&doc.root_element()), expected, "{xml}");
    }
}

/// The response's text with its bearer confirmation's Recipient made `recipient`.
fn confirmation_for(xml: &str, recipient: &str) -> String {
    let start = xml.find("<SubjectConfirmation ").unwrap();
    let end = xml.find("</SubjectConfirmation>").unwrap() + "</SubjectConfirmation>".len();
    xml[start..end].replace(
        &format!("Recipient=\"{ACS}\""),
        &format!("Recipient=\"{recipient}\""),
    )
}

#[test]
fn any_bearer_confirmation_that_passes_is_enough_and_the_first_refusal_is_told() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let elsewhere = "https://other.example.com/acs";
    // A confirmation for another recipient before ours: ours passes.
    let xml = sign_assertion(
        &unsigned(&spec, &key, |xml| {
            insert_after(
                &xml,
                "<Subject>",
                "</NameID>",
                &confirmation_for(&xml, elsewhere),
            )
        }),
        &key,
        &spec,
    );
    assert_eq!(code(validate(&xml, &key, false)), "accepted");
    // Two for other recipients: refused for the first one's reason.
    let xml = sign_assertion(
        &unsigned(&spec, &key, |xml| {
            let other = confirmation_for(&xml, elsewhere);
            let start = xml.find("<SubjectConfirmation ").unwrap();
            let end = xml.find("</SubjectConfirmation>").unwrap() + "</SubjectConfirmation>".len();
            format!("{}{other}{other}{}", &xml[..start], &xml[end..])
        }),
        &key,
        &spec,
    );
    let err = validate(&xml, &key, false).unwrap_err();
    assert!(err.to_string().contains(elsewhere), "{err}");
}

#[test]
fn an_element_the_schema_allows_once_is_refused_when_repeated() {
    let key = SigningKey::generate("idp").unwrap();
    let spec = spec();
    let section = |xml: &str, open: &str, close: &str| {
        let start = xml.find(open).unwrap();
        xml[start..xml[start..].find(close).unwrap() + start + close.len()].to_string()
    };
    type Edit = Box<dyn Fn(String) -> String>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "Conditions",
            Box::new(move |xml| {
                let later = section(&xml, "<Conditions", "</Conditions>")
                    .replace(SP, "https://elsewhere.example.com");
                insert_after(&xml, "<Conditions", "</Conditions>", &later)
            }),
        ),
        (
            "Subject",
            Box::new(move |xml| {
                let later = section(&xml, "<Subject>", "</Subject>").replace("ada@", "eve@");
                insert_after(&xml, "<Subject>", "</Subject>", &later)
            }),
        ),
        (
            "BaseID",
            Box::new(|xml| insert_after(&xml, "<Subject>", "</NameID>", "<BaseID/>")),
        ),
    ];
    for (name, edit) in edits {
        let xml = sign_assertion(&unsigned(&spec, &key, edit), &key, &spec);
        let err = validate(&xml, &key, false).unwrap_err();
        assert_eq!(err.code(), "malformed", "{name}: {err}");
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
}
