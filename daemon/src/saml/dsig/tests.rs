//! The verifier against xmlsec: every document here is signed by xmlsec (whose canonicaliser
//! is libxml2's), so a digest that verifies means both canonical forms agree byte for byte;
//! every tampered copy must fail in both.

use std::sync::OnceLock;

use idp_sim::SigningKey;
use proptest::prelude::*;
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};

use super::*;

const ID: &str = "_signed";

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate("dsig-test").unwrap())
}

/// A signature template over `#_signed`; `ds` is the prefix of the XML-DSig namespace ("" for
/// a default namespace declaration), `transform_extra` goes inside the exclusive c14n Transform.
fn template(ds: &str, c14n: &str, method: &str, transform_extra: &str) -> String {
    let (decl, p) = if ds.is_empty() {
        ("xmlns".to_string(), String::new())
    } else {
        (format!("xmlns:{ds}"), format!("{ds}:"))
    };
    format!(
        "<{p}Signature {decl}=\"{DSIG_NS}\"><{p}SignedInfo>\
         <{p}CanonicalizationMethod Algorithm=\"{c14n}\"/>\
         <{p}SignatureMethod Algorithm=\"{method}\"/>\
         <{p}Reference URI=\"#{ID}\"><{p}Transforms>\
         <{p}Transform Algorithm=\"{ENVELOPED}\"/>\
         <{p}Transform Algorithm=\"{c14n}\">{transform_extra}</{p}Transform></{p}Transforms>\
         <{p}DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <{p}DigestValue/></{p}Reference></{p}SignedInfo><{p}SignatureValue/></{p}Signature>"
    )
}

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// `body` with `{sig}` replaced by a default template, signed by xmlsec.
fn signed(body: &str) -> String {
    signed_with(
        body,
        &template("", EXC_C14N, RSA_SHA256, ""),
        key().private_key_der(),
    )
}

fn signed_with(body: &str, template: &str, private_key_der: &[u8]) -> String {
    Crypto::sign_xml(body.replace("{sig}", template), private_key_der).unwrap()
}

fn ours(xml: &str, certificate: &[u8]) -> Result<(), DsigError> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let signature = doc
        .descendants()
        .find(|n| is(n, DSIG_NS, "Signature"))
        .unwrap();
    verify(signature, &[certificate.to_vec()])
}

fn xmlsec(xml: &str, certificate: &[u8]) -> bool {
    let cert = CertificateDer::from(certificate.to_vec());
    Crypto::verify_signed_xml(xml, &cert, Some("ID")).is_ok()
}

/// Signed `body` verifies in both; with `TAMPER` changed it fails in both.
fn agree(body: &str) {
    let xml = signed(body);
    let cert = key().cert_der();
    assert!(
        xmlsec(&xml, cert),
        "xmlsec refused its own signature: {xml}"
    );
    assert_eq!(ours(&xml, cert), Ok(()), "{xml}");
    if xml.contains("TAMPER") {
        let tampered = xml.replacen("TAMPER", "TAMPEr", 1);
        assert!(!xmlsec(&tampered, cert));
        assert!(matches!(ours(&tampered, cert), Err(DsigError::Invalid(_))));
    }
}

#[test]
fn a_saml_shaped_assertion_verifies() {
    agree(
        "<Assertion xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_signed\" \
         Version=\"2.0\"><Issuer>https://idp/</Issuer>{sig}<Subject><NameID>TAMPER@x</NameID>\
         </Subject></Assertion>",
    );
}

#[test]
fn namespaces_inherited_from_unsigned_ancestors_verify() {
    agree(
        "<o:Outer xmlns:o=\"urn:o\" xmlns:x=\"urn:x\" xmlns=\"urn:d\" xmlns:unused=\"urn:u\">\
         <s:Signed xmlns:s=\"urn:s\" ID=\"_signed\">{sig}<s:Child x:attr=\"TAMPER\"/>\
         <Plain><x:Deep/></Plain></s:Signed></o:Outer>",
    );
}

#[test]
fn an_undone_default_namespace_verifies() {
    agree(
        "<Signed xmlns=\"urn:d\" ID=\"_signed\">{sig}<a xmlns=\"\"><b>TAMPER</b></a>\
         <c xmlns=\"urn:other\"><d xmlns=\"urn:d\"/></c></Signed>",
    );
}

#[test]
fn escaped_and_normalised_characters_verify() {
    agree(
        "<Signed ID=\"_signed\" a=\"&lt;&amp;&quot;&#9;&#10;&#13;&gt;'\" \
         b=\"lit\teral\nws\" c='dq\"sq'>{sig}<t>&lt;&amp;&gt;\"'&#13;\r\nTAMPER\rx\
         <![CDATA[<cdata>&]]>é€😀</t>\n  <u>  spaced  </u>\n</Signed>",
    );
}

#[test]
fn comments_and_processing_instructions_inside_verify() {
    agree(
        "<Signed ID=\"_signed\">{sig}<!-- dropped --><?pi data here?><?bare?>\
         <v>TAMPER<!-- inside --></v></Signed>",
    );
}

#[test]
fn attribute_order_by_namespace_then_name_verifies() {
    agree(
        "<Signed xmlns:z=\"urn:a\" xmlns:a=\"urn:z\" ID=\"_signed\" z:b=\"1\" a:a=\"2\" \
         c=\"TAMPER\" b=\"4\">{sig}<e a:x=\"1\" z:x=\"2\" x=\"3\"/></Signed>",
    );
}

#[test]
fn redeclared_prefixes_verify() {
    agree(
        "<p:Signed xmlns:p=\"urn:1\" ID=\"_signed\">{sig}<p:b xmlns:p=\"urn:1\">\
         <p:c xmlns:p=\"urn:2\"><p:d xmlns:p=\"urn:1\">TAMPER</p:d></p:c></p:b></p:Signed>",
    );
}

#[test]
fn a_prefixed_signature_verifies() {
    let body = "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" \
                ID=\"_signed\"><saml:Issuer>i</saml:Issuer>{sig}\
                <saml:Subject>TAMPER</saml:Subject></saml:Assertion>";
    let xml = signed_with(
        body,
        &template("ds", EXC_C14N, RSA_SHA256, ""),
        key().private_key_der(),
    );
    assert!(xmlsec(&xml, key().cert_der()));
    assert_eq!(ours(&xml, key().cert_der()), Ok(()));
    let tampered = xml.replacen("TAMPER", "TAMPEr", 1);
    assert!(matches!(
        ours(&tampered, key().cert_der()),
        Err(DsigError::Invalid(_))
    ));
}

#[test]
fn inclusive_namespace_prefixes_verify() {
    let extra =
        format!("<ec:InclusiveNamespaces xmlns:ec=\"{EXC_C14N}\" PrefixList=\"xs #default\"/>");
    let body = "<R xmlns=\"urn:d\" xmlns:xs=\"urn:xs\" xmlns:xsi=\"urn:xsi\">\
                <Signed ID=\"_signed\">{sig}<V xsi:type=\"xs:string\">TAMPER</V></Signed></R>";
    let xml = signed_with(
        body,
        &template("", EXC_C14N, RSA_SHA256, &extra),
        key().private_key_der(),
    );
    assert!(xmlsec(&xml, key().cert_der()));
    assert_eq!(ours(&xml, key().cert_der()), Ok(()));
}

#[test]
fn another_key_does_not_verify() {
    let xml = signed("<Signed ID=\"_signed\">{sig}<v>x</v></Signed>");
    let other = SigningKey::generate("other").unwrap();
    assert!(matches!(
        ours(&xml, other.cert_der()),
        Err(DsigError::Invalid(_))
    ));
    // Any one of several configured certificates may sign (rollover).
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let signature = doc
        .descendants()
        .find(|n| is(n, DSIG_NS, "Signature"))
        .unwrap();
    let both = [other.cert_der().to_vec(), key().cert_der().to_vec()];
    assert_eq!(verify(signature, &both), Ok(()));
}

#[test]
fn a_changed_signature_value_does_not_verify() {
    let xml = signed("<Signed ID=\"_signed\">{sig}<v>x</v></Signed>");
    let start = xml.find("<SignatureValue>").unwrap() + "<SignatureValue>".len();
    let mut bytes = xml.into_bytes();
    bytes[start + 10] = if bytes[start + 10] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let xml = String::from_utf8(bytes).unwrap();
    assert!(matches!(
        ours(&xml, key().cert_der()),
        Err(DsigError::Invalid(_))
    ));
}

#[test]
fn a_reference_to_another_element_is_invalid() {
    let xml = signed("<Signed ID=\"_signed\">{sig}<v>x</v></Signed>")
        .replace("URI=\"#_signed\"", "URI=\"#_elsewhere\"");
    assert!(matches!(
        ours(&xml, key().cert_der()),
        Err(DsigError::Invalid(_))
    ));
}

#[test]
fn every_canonicalization_saml_uses_verifies() {
    let inclusive = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
    let body = "<R xmlns=\"urn:r\" xmlns:u=\"urn:u\" xml:lang=\"en\"><Signed ID=\"_signed\">{sig}\
                <!-- c --><v>TAMPER</v></Signed></R>";
    for (info, transform) in [
        (inclusive, inclusive),
        (EXC_C14N, inclusive),
        (inclusive, EXC_C14N),
        (
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        ),
        (
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        ),
    ] {
        let template = template("", info, RSA_SHA256, "")
            .replace(
                &format!("<Transform Algorithm=\"{info}\">"),
                &format!("<Transform Algorithm=\"{transform}\">"),
            )
            .replace("<SignedInfo>", "<SignedInfo><!-- in SignedInfo -->");
        let xml = signed_with(body, &template, key().private_key_der());
        assert!(xmlsec(&xml, key().cert_der()), "{info} {transform}");
        assert_eq!(ours(&xml, key().cert_der()), Ok(()), "{info} {transform}");
        let tampered = xml.replacen("TAMPER", "TAMPEr", 1);
        assert!(ours(&tampered, key().cert_der()).is_err());
    }
    // Only the enveloped-signature transform: Canonical XML 1.0 applies.
    let only_enveloped = template("", inclusive, RSA_SHA256, "").replace(
        &format!("<Transform Algorithm=\"{inclusive}\"></Transform>"),
        "",
    );
    assert!(!only_enveloped.contains(&format!("<Transform Algorithm=\"{inclusive}\"")));
    let xml = signed_with(body, &only_enveloped, key().private_key_der());
    assert!(xmlsec(&xml, key().cert_der()));
    assert_eq!(ours(&xml, key().cert_der()), Ok(()));
}

/// Below the apex, only an element's own declarations change the bindings in force: what
/// declares, redeclares (to the same and another name) and undoes namespaces at several
/// depths, with look-alike text in an attribute value, verifies as xmlsec signed it in the
/// inclusive form and the exclusive one with and without listed prefixes.
#[test]
fn declarations_below_the_apex_verify_in_every_canonicalization() {
    let inclusive = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
    let body = "<R xmlns=\"urn:r\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"><Signed ID=\"_signed\" \
                note=\"xmlns:a='urn:fake' xmlns='x'\">{sig}<x xmlns:a=\"urn:a\">\
                <y note='xmlns' xmlns:a = 'urn:a2' a:k=\"1\"><z xmlns=\"\"><w b:k=\"TAMPER\"/>\
                <a:t/></z></y></x><u xmlns:c=\"urn:c\" xmlns=\"urn:r\"><c:v><v/></c:v>\
                <v xmlns=\"urn:v\" xmlns:b=\"urn:b\"/></u></Signed></R>";
    let listed =
        format!("<ec:InclusiveNamespaces xmlns:ec=\"{EXC_C14N}\" PrefixList=\"a c #default\"/>");
    for (c14n, extra) in [(inclusive, ""), (EXC_C14N, ""), (EXC_C14N, listed.as_str())] {
        let xml = signed_with(
            body,
            &template("", c14n, RSA_SHA256, extra),
            key().private_key_der(),
        );
        assert!(xmlsec(&xml, key().cert_der()), "{c14n} {extra}");
        assert_eq!(ours(&xml, key().cert_der()), Ok(()), "{c14n} {extra}");
        let tampered = xml.replacen("TAMPER", "TAMPEr", 1);
        assert!(ours(&tampered, key().cert_der()).is_err());
    }
}

#[test]
fn canonical_xml_1_1_and_other_transforms_are_refused() {
    let xml = signed("<Signed ID=\"_signed\">{sig}<v>x</v></Signed>");
    for (from, to) in [
        (
            format!("<Transform Algorithm=\"{EXC_C14N}\""),
            "<Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"".to_string(),
        ),
        (
            format!("<Transform Algorithm=\"{ENVELOPED}\"/>"),
            format!("<Transform Algorithm=\"{EXC_C14N}\"/><Transform Algorithm=\"{ENVELOPED}\"/>"),
        ),
        (
            format!("<CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/>"),
            "<CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>"
                .to_string(),
        ),
    ] {
        assert!(xml.contains(&from), "{from}");
        let changed = xml.replacen(&from, &to, 1);
        assert!(
            matches!(ours(&changed, key().cert_der()), Err(DsigError::Invalid(_))),
            "{to}"
        );
    }
}

#[test]
fn a_default_namespace_listed_as_inclusive_is_undone_where_xmlsec_undoes_it() {
    let extra =
        format!("<ec:InclusiveNamespaces xmlns:ec=\"{EXC_C14N}\" PrefixList=\"#default\"/>");
    let xml = signed_with(
        "<R xmlns=\"urn:d\" xmlns:p=\"urn:p\"><Signed ID=\"_signed\">{sig}<p:e xmlns=\"\">\
         <p:f/></p:e></Signed></R>",
        &template("", EXC_C14N, RSA_SHA256, &extra),
        key().private_key_der(),
    );
    assert!(xmlsec(&xml, key().cert_der()));
    assert_eq!(ours(&xml, key().cert_der()), Ok(()));
}

#[test]
fn a_long_inclusive_prefix_list_is_refused_before_any_canonicalization() {
    let list: Vec<String> = (0..=MAX_INCLUSIVE_PREFIXES)
        .map(|i| format!("p{i}"))
        .collect();
    let extra = format!(
        "<ec:InclusiveNamespaces xmlns:ec=\"{EXC_C14N}\" PrefixList=\"{}\"/>",
        list.join(" ")
    );
    let xml = signed_with(
        "<Signed ID=\"_signed\">{sig}<v>x</v></Signed>",
        &template("", EXC_C14N, RSA_SHA256, &extra),
        key().private_key_der(),
    );
    let refused = ours(&xml, key().cert_der());
    assert!(
        matches!(&refused, Err(DsigError::Invalid(reason)) if reason.contains("prefixes")),
        "{refused:?}"
    );
}

#[test]
fn ecdsa_signatures_verify() {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::x509::{X509, X509NameBuilder};

    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "ecdsa-test").unwrap();
    let name = name.build();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = cert.build().to_der().unwrap();

    let xml = signed_with(
        "<Signed ID=\"_signed\">{sig}<v>TAMPER</v></Signed>",
        &template(
            "",
            EXC_C14N,
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            "",
        ),
        &key.private_key_to_der().unwrap(),
    );
    assert!(xmlsec(&xml, &cert));
    assert_eq!(ours(&xml, &cert), Ok(()));
    let tampered = xml.replacen("TAMPER", "TAMPEr", 1);
    assert!(matches!(ours(&tampered, &cert), Err(DsigError::Invalid(_))));
    // The same r and s, zero-padded to other lengths, are not the canonical encoding.
    let start = xml.find("<SignatureValue>").unwrap() + "<SignatureValue>".len();
    let end = xml.find("</SignatureValue>").unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(xml[start..end].split_ascii_whitespace().collect::<String>())
        .unwrap();
    let (r, s) = raw.split_at(raw.len() / 2);
    for value in [
        [&[0u8][..], r, &[0u8][..], s].concat(),
        raw[..raw.len() - 1].to_vec(),
        Vec::new(),
    ] {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&value);
        let changed = format!("{}{encoded}{}", &xml[..start], &xml[end..]);
        assert!(matches!(ours(&changed, &cert), Err(DsigError::Invalid(_))));
    }
    // An RSA certificate cannot vouch for an ECDSA signature.
    assert!(matches!(
        ours(&xml, self::key().cert_der()),
        Err(DsigError::Invalid(_))
    ));
}

/// Text the escaping rules care about, plus non-ASCII.
fn awkward_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("&amp;"),
            Just("&lt;"),
            Just("&gt;"),
            Just("&quot;"),
            Just("&#13;"),
            Just("&#9;"),
            Just("\r\n"),
            Just("\t"),
            Just(" "),
            Just("'"),
            Just("é"),
            Just("\u{1F600}"),
            Just("a"),
            Just("Z"),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn generated_documents_verify_as_xmlsec_signed_them(
        text in awkward_text(),
        value in awkward_text(),
        nested_default in any::<bool>(),
        prefixed in any::<bool>(),
        outer_decls in any::<bool>(),
    ) {
        let value = value.replace('"', "&quot;");
        let (open, close) = if prefixed { ("p:Signed", "p:Signed") } else { ("Signed", "Signed") };
        let inner = if nested_default {
            format!("<i xmlns=\"urn:i\" q:a=\"{value}\">{text}<j xmlns=\"\"/></i>")
        } else {
            format!("<i q:a=\"{value}\">{text}</i>")
        };
        let prefixes = " xmlns:q=\"urn:q\" xmlns:p=\"urn:p\"";
        let (outer, own) = if outer_decls {
            (format!("{prefixes} xmlns=\"urn:d\""), "")
        } else {
            (String::new(), prefixes)
        };
        let body = format!(
            "<Outer{outer}><{open}{own} ID=\"_signed\" v=\"{value}\">{{sig}}{inner}</{close}>\
             </Outer>"
        );
        let xml = signed(&body);
        prop_assert!(xmlsec(&xml, key().cert_der()));
        prop_assert_eq!(ours(&xml, key().cert_der()), Ok(()));
    }
}

/// The RSA PKCS#1 v1.5 signature of `message` over `digest` by the test key.
fn rsa_signature(digest: MessageDigest, message: &[u8]) -> Vec<u8> {
    let private = PKey::private_key_from_der(key().private_key_der()).unwrap();
    let mut signer = openssl::sign::Signer::new(digest, &private).unwrap();
    signer.update(message).unwrap();
    signer.sign_to_vec().unwrap()
}

#[test]
fn kept_verification_contexts_judge_each_signature_on_its_own() {
    let certificate = key().cert_der();
    let public = public_key(certificate).unwrap();
    let message = b"<SignedInfo>canonical</SignedInfo>";
    let sha256 = MessageDigest::sha256();
    let sha512 = MessageDigest::sha512();
    let sig256 = rsa_signature(sha256, message);
    let sig512 = rsa_signature(sha512, message);
    let hash256 = openssl::hash::hash(sha256, message).unwrap();
    let hash512 = openssl::hash::hash(sha512, message).unwrap();
    let verify = |digest, hashed: &[u8], value: &[u8]| {
        verify_digest(certificate, &public, digest, hashed, value)
    };

    // A failure leaves the kept context usable; a success is not remembered.
    let mut broken = sig256.clone();
    broken[7] ^= 1;
    for _ in 0..2 {
        assert_eq!(verify(sha256, &hash256, &broken), Ok(false));
        assert_eq!(verify(sha256, &hash256, &sig256), Ok(true));
        assert_eq!(verify(sha256, &hash256, &[]), Ok(false));
        assert_eq!(verify(sha512, &hash512, &sig512), Ok(true));
    }
    // One digest's context accepts neither the other digest's signature nor its hash.
    assert_eq!(verify(sha256, &hash256, &sig512), Ok(false));
    assert_eq!(verify(sha256, &hash512, &sig512), Ok(false));
    assert_eq!(verify(sha512, &hash256, &sig256), Ok(false));
    assert_eq!(verify(sha512, &hash512[..32], &sig256), Ok(false));

    // More certificates than are kept: each is still verified with its own key.
    let others: Vec<SigningKey> = (0..20)
        .map(|i| SigningKey::generate(&format!("other-{i}")).unwrap())
        .collect();
    for other in &others {
        let other_public = public_key(other.cert_der()).unwrap();
        assert_eq!(
            verify_digest(other.cert_der(), &other_public, sha256, &hash256, &sig256),
            Ok(false)
        );
        assert_eq!(verify(sha256, &hash256, &sig256), Ok(true));
    }
}

#[test]
fn base64_content_ignores_whitespace_between_and_around_its_pieces() {
    let xml = "<v>\r\n  aGVs\tbG8s\n IHdv  cmxk \r\n</v>";
    let doc = roxmltree::Document::parse(xml).unwrap();
    assert_eq!(
        base64_content(&doc.root_element()).unwrap(),
        b"hello, world"
    );
    for bad in [
        "<v>aGVs*bG8=</v>",
        "<v>aGVsbG8</v>",
        "<v>aGVs\u{a0}bG8=</v>",
    ] {
        let doc = roxmltree::Document::parse(bad).unwrap();
        assert!(base64_content(&doc.root_element()).is_err(), "{bad}");
    }
    let doc = roxmltree::Document::parse("<v> \n </v>").unwrap();
    assert_eq!(base64_content(&doc.root_element()).unwrap(), b"");
}
