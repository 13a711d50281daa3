//! Signatures that are valid in themselves but not as SAML signs (core §5.4): references by
//! other attributes or to the whole document, HMAC, XPath and XSLT transforms, a second
//! Reference; KeyInfo and DOCTYPEs that point elsewhere and are never followed.

use super::shapes::*;
use super::*;

/// SAML core §5.4.2: the one Reference names the signed element by its `ID` attribute. A
/// signature that is valid in itself but finds its element through another attribute
/// (SAML 1.1's `AssertionID`, WS-Security's `Id`, `xml:id`) or through the whole document
/// (`URI=""`) is refused for where it points, not trusted.
#[test]
fn a_valid_signature_referencing_other_than_the_id_attribute_is_refused() {
    let fx = Fixture::new(false);
    let cases = [
        (r#"ID="{AID}""#, "#{AID}", "accepted"),
        (r#"AssertionID="{AID}""#, "#{AID}", "signature_placement"),
        (r#"Id="{AID}""#, "#{AID}", "signature_placement"),
        (
            r#"ID="{AID}" Id="_other""#,
            "#_other",
            "signature_placement",
        ),
        (
            r#"ID="{AID}" xml:id="_other""#,
            "#_other",
            "signature_placement",
        ),
        (r#"ID="{AID}""#, "", "signature_placement"),
        (
            r#"ID="{AID}""#,
            "#xpointer(id('{AID}'))",
            "signature_placement",
        ),
    ];
    for (ids, uri, outcome) in cases {
        let v = Values::new(&fx);
        let assertion = canonical_assertion(&v, ids);
        let uri = v.fill(uri);
        // `URI=""` is the whole document: the canonical response is what it covers.
        let covered = if uri.is_empty() {
            canonical_response(&v, &assertion.replace("{SIG}", ""))
        } else {
            assertion.replace("{SIG}", "")
        };
        let signature = signature_over(&covered, &uri, RSA_SHA256, rsa_sha256(&fx));
        let xml = canonical_response(&v, &assertion.replace("{SIG}", &signature));
        let got = fx.post(&xml).map_or_else(|err| err.code(), |_| "accepted");
        assert_eq!(got, outcome, "{ids} referenced as {uri:?}");
    }
}

/// Only public-key signature methods can vouch for an IdP: an HMAC "signature" keyed with
/// the IdP's certificate (public, so anyone can compute it) is refused for its method, as
/// are SHA-1 and MD5 look-alikes, whatever the SHA-1 setting.
#[test]
fn an_hmac_keyed_with_the_public_certificate_is_refused_for_its_method() {
    let fx = Fixture::new(false);
    let certificate = fx.keys.key(0).cert_der().to_vec();
    for (method, digest) in [
        (
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            openssl::hash::MessageDigest::sha1(),
        ),
        (
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
            openssl::hash::MessageDigest::sha256(),
        ),
    ] {
        let v = Values::new(&fx);
        let assertion = canonical_assertion(&v, r#"ID="{AID}""#);
        let hmac = |data: &[u8]| {
            let key = openssl::pkey::PKey::hmac(&certificate).unwrap();
            let mut signer = openssl::sign::Signer::new(digest, &key).unwrap();
            signer.update(data).unwrap();
            signer.sign_to_vec().unwrap()
        };
        let signature = signature_over(
            &assertion.replace("{SIG}", ""),
            &format!("#{}", v.assertion_id),
            method,
            hmac,
        );
        let xml = canonical_response(&v, &assertion.replace("{SIG}", &signature));
        let err = fx.post(&xml).unwrap_err();
        assert_eq!(err.code(), "weak_algorithm", "{method}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("SignatureMethod {method} ")),
            "{err}"
        );
    }
}

/// XML-DSig lets a Reference select its content by XPath (1.0 or Filter 2.0) or run XSLT on
/// it; SAML core §5.4.4 allows only enveloped-signature and the canonicalizations. xmlsec
/// signs these as any generic verifier would verify them; provisiond refuses them for the
/// transform, as it refuses a Signature with two References (§5.4.2).
#[test]
fn xpath_xslt_transforms_and_second_references_are_refused_though_validly_signed() {
    let fx = Fixture::new(false);
    let xpath = format!(
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\">\
         <ds:XPath xmlns:dsig=\"{DSIG}\">not(ancestor-or-self::dsig:Signature)</ds:XPath>\
         </ds:Transform>"
    );
    let filter2 = "<ds:Transform Algorithm=\"http://www.w3.org/2002/06/xmldsig-filter2\">\
                   <dsig-xpath:XPath \
                   xmlns:dsig-xpath=\"http://www.w3.org/2002/06/xmldsig-filter2\" \
                   Filter=\"union\">/</dsig-xpath:XPath></ds:Transform>"
        .to_string();
    let xslt = "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\">\
                <xsl:stylesheet xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" version=\"1.0\">\
                <xsl:template match=\"/\"><x/></xsl:template></xsl:stylesheet></ds:Transform>"
        .to_string();
    let enveloped =
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>";
    for (extra, outcome) in [
        (xpath, "weak_algorithm"),
        (filter2, "weak_algorithm"),
        (xslt, "weak_algorithm"),
        (String::new(), "signature_placement"),
    ] {
        let v = Values::new(&fx);
        let mut template = Sig::to(&v.assertion_id).template();
        if extra.is_empty() {
            // A second Reference, to the Response around the signed assertion.
            let reference = &template[template.find("<ds:Reference").unwrap()
                ..template.find("</ds:Reference>").unwrap() + "</ds:Reference>".len()];
            let second = reference.replace(&v.assertion_id, &v.response_id);
            template =
                template.replacen("</ds:SignedInfo>", &format!("{second}</ds:SignedInfo>"), 1);
        } else {
            template = template.replacen(enveloped, &format!("{enveloped}{extra}"), 1);
        }
        let document = v
            .fill(OKTA)
            .replace("{RSIG}", "")
            .replace("{ASIG}", &template);
        // xmlsec signs what it can (not XSLT without libxslt); a refusal must come first.
        let xml =
            Crypto::sign_xml(&document, fx.keys.key(0).private_key_der()).unwrap_or_else(|_| {
                document
                    .replace("<ds:DigestValue/>", "<ds:DigestValue>AAAA</ds:DigestValue>")
                    .replace(
                        "<ds:SignatureValue/>",
                        "<ds:SignatureValue>AAAA</ds:SignatureValue>",
                    )
            });
        let err = fx.post(&xml).unwrap_err();
        assert_eq!(err.code(), outcome, "{extra}: {err}");
        if outcome == "weak_algorithm" {
            // Named as the transform it is; SHA-1 has nothing to do with it.
            assert!(err.to_string().starts_with("Transform http"), "{err}");
            assert!(!err.to_string().contains("sha1"), "{err}");
        }
    }
}

/// A listener on a loopback port standing for "elsewhere": whether anything connected.
struct Elsewhere(std::net::TcpListener);

impl Elsewhere {
    fn new() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Self(listener)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.0.local_addr().unwrap())
    }

    fn was_contacted(&self) -> bool {
        self.0.accept().is_ok()
    }
}

/// KeyInfo is a hint XML-DSig lets a verifier ignore (§4.4); the key is the connection's.
/// A KeyName, a RetrievalMethod pointing elsewhere or another certificate changes nothing:
/// a response signed by the IdP's key is accepted, one signed by another key is refused as
/// a bad signature, and nothing is fetched.
#[test]
fn key_info_naming_or_pointing_at_other_keys_is_ignored_and_never_followed() {
    let fx = Fixture::new(false);
    let elsewhere = Elsewhere::new();
    let attacker = idp_sim::SigningKey::generate_attacker().unwrap();
    let key_infos = [
        "<ds:KeyName>idp-signing-2019</ds:KeyName>".to_string(),
        format!(
            "<ds:RetrievalMethod URI=\"{}\" Type=\"http://www.w3.org/2000/09/xmldsig#X509Data\"/>",
            elsewhere.url("cert.der")
        ),
        format!(
            "<ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data>",
            attacker.cert_base64()
        ),
    ];
    for key_info in key_infos {
        for (key, outcome) in [(fx.keys.key(0), "accepted"), (&attacker, "bad_signature")] {
            let v = Values::new(&fx);
            let sig = Sig {
                key_info: key_info.clone(),
                ..Sig::to(&v.assertion_id)
            };
            let document = v
                .fill(OKTA)
                .replace("{RSIG}", "")
                .replace("{ASIG}", &sig.template());
            let xml = Crypto::sign_xml(&document, key.private_key_der()).unwrap();
            let got = fx.post(&xml).map_or_else(|err| err.code(), |_| "accepted");
            assert_eq!(got, outcome, "{key_info}");
        }
    }
    assert!(!elsewhere.was_contacted());
}

/// SAML messages have no DTD: a document type declaration is refused before any parser
/// sees the message, wherever it stands (after a byte-order mark and an XML declaration,
/// inside the signed assertion) and whatever it points at; nothing is fetched.
#[test]
fn a_doctype_anywhere_is_refused_before_parsing_and_never_followed() {
    let fx = Fixture::new(false);
    let elsewhere = Elsewhere::new();
    let external = format!(
        "<!DOCTYPE samlp:Response SYSTEM \"{}\">",
        elsewhere.url("saml.dtd")
    );
    let entity = format!(
        "<!DOCTYPE r [<!ENTITY % remote SYSTEM \"{}\"> %remote;]>",
        elsewhere.url("entities")
    );
    for doctype in [external, entity] {
        let v = Values::new(&fx);
        let xml = signed(&fx, &v.fill(OKTA), Some(Sig::to(&v.assertion_id)), None);
        let (declaration, body) = xml.split_at(xml.find("?>").unwrap() + 2);
        let placed = [
            format!("\u{feff}{declaration}{doctype}{body}"),
            format!("{declaration}\n{doctype}\n{body}"),
            xml.replacen("<saml2:Subject>", &format!("{doctype}<saml2:Subject>"), 1),
        ];
        for xml in placed {
            assert_eq!(code(fx.post(&xml)), "dtd", "{doctype}");
        }
    }
    assert!(!elsewhere.was_contacted());
}
