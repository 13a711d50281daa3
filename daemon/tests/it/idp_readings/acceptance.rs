//! Each IdP's shape accepted as that IdP signs it, then every shape with every
//! canonicalization, digest and signature placement SAML allows.

use super::shapes::*;
use super::*;

#[test]
fn okta_signing_response_and_assertion_with_an_xs_prefix_list_is_accepted() {
    let fx = Fixture::new(false);
    let v = Values::new(&fx);
    let with_xs = |id: &str| Sig {
        prefix_list: Some("xs"),
        ..Sig::to(id)
    };
    let xml = signed(
        &fx,
        &v.fill(OKTA),
        Some(with_xs(&v.assertion_id)),
        Some(with_xs(&v.response_id)),
    );

    let ok = accepted(fx.post(&xml));

    assert_eq!(ok.user.email, "alice@acme.example");
    assert_eq!(ok.user.given_name.as_deref(), Some("Alice"));
    assert_eq!(ok.user.family_name.as_deref(), Some("Smith"));
}

#[test]
fn adfs_signing_the_assertion_only_with_a_qualified_persistent_name_id_is_accepted() {
    let fx = Fixture::new(false);
    let v = Values::new(&fx);
    let certificate = fx.keys.key(0).cert_base64();
    let sig = Sig {
        key_info: format!(
            "<ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data>"
        ),
        ..Sig::to(&v.assertion_id)
    };
    let xml = signed(&fx, &v.fill(ADFS), Some(sig), None);

    let ok = accepted(fx.post(&xml));

    assert_eq!(ok.user.email, "alice@acme.example");
    assert_eq!(
        ok.user.external_id.as_deref(),
        Some("OWxq2QrC+5Vv0zT2yH0lGw==")
    );
    assert_eq!(ok.user.given_name.as_deref(), Some("Alice"));
}

#[test]
fn keycloak_signing_both_with_a_user_name_and_x500_attributes_is_accepted() {
    let fx = Fixture::new(false);
    let v = Values::new(&fx);
    let certificate = fx.keys.key(0).cert_base64();
    let keycloak = |id: &str| Sig {
        prefix: "dsig",
        key_info: format!(
            "<dsig:KeyName>Zk3Pq8u1nR0sQ5wVh2JbXy6cT9mLdAe4oFgIkUvWzYs</dsig:KeyName>\
             <dsig:X509Data><dsig:X509Certificate>{certificate}</dsig:X509Certificate>\
             </dsig:X509Data>"
        ),
        ..Sig::to(id)
    };
    let xml = signed(
        &fx,
        &v.fill(KEYCLOAK),
        Some(keycloak(&v.assertion_id)),
        Some(keycloak(&v.response_id)),
    );

    let ok = accepted(fx.post(&xml));

    assert_eq!(ok.user.email, "alice@acme.example");
    assert_eq!(ok.user.external_id.as_deref(), Some("alice"));
    assert_eq!(ok.user.given_name.as_deref(), Some("Alice"));
    assert_eq!(ok.user.family_name.as_deref(), Some("Smith"));
}

#[test]
fn shibboleth_with_a_prefix_declared_on_the_response_only_is_accepted() {
    let fx = Fixture::new(false);
    let v = Values::new(&fx);
    let sig = Sig {
        prefix_list: Some("xsd"),
        ..Sig::to(&v.assertion_id)
    };
    let xml = signed(&fx, &v.fill(SHIBBOLETH), Some(sig), None);

    let ok = accepted(fx.post(&xml));

    assert_eq!(ok.user.email, "alice@acme.example");
    assert_eq!(
        ok.user.external_id.as_deref(),
        Some("3QJ7GV4BKS2UTSIBHQ5VXQ2YCOXDKQZG")
    );
    assert_eq!(ok.user.given_name.as_deref(), Some("Ålice"));
}

/// Base64 as Java's signers wrap it: lines of 76 characters ending in an escaped carriage
/// return, in every SignatureValue and X509Certificate of `xml`.
fn wrapped_like_java(xml: &str) -> String {
    let mut xml = xml.to_string();
    for element in ["SignatureValue>", "X509Certificate>"] {
        let mut out = String::new();
        let mut rest = xml.as_str();
        while let Some(start) = rest.find(element) {
            let open_end = start + element.len();
            let close = open_end + rest[open_end..].find('<').expect("closing tag");
            out.push_str(&rest[..open_end]);
            let body: String = rest[open_end..close]
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let lines: Vec<&str> = body
                .as_bytes()
                .chunks(76)
                .map(|line| std::str::from_utf8(line).unwrap())
                .collect();
            out.push_str(&lines.join("&#13;\n"));
            rest = &rest[close..];
        }
        out.push_str(rest);
        xml = out;
    }
    xml
}

#[test]
fn google_signing_both_with_java_wrapped_base64_inside_the_signed_response_is_accepted() {
    let fx = Fixture::new(false);
    let v = Values::new(&fx);
    let certificate = fx.keys.key(0).cert_base64();
    let google = |id: &str| Sig {
        key_info: format!(
            "<ds:X509Data><ds:X509SubjectName>ST=California,C=US,OU=Google For Work,\
             CN=Google,L=Mountain View,O=Google Inc.</ds:X509SubjectName>\
             <ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data>"
        ),
        ..Sig::to(id)
    };
    // The assertion's signature, wrapped with carriage returns, is inside what the
    // response's signature covers: canonical XML writes each as `&#xD;`.
    let template = v.fill(GOOGLE).replace("{RSIG}", "<!--RSIG-->");
    let assertion_signed = sign_first(
        &fx,
        &template.replace("{ASIG}", &google(&v.assertion_id).template()),
    );
    let wrapped = wrapped_like_java(&assertion_signed);
    assert!(wrapped.contains("&#13;\n"));
    let xml = sign_first(
        &fx,
        &wrapped.replace("<!--RSIG-->", &google(&v.response_id).template()),
    );

    let ok = accepted(fx.post(&xml));

    assert_eq!(ok.user.email, "alice@acme.example");
    assert_eq!(ok.user.given_name.as_deref(), Some("Alice"));
}

#[test]
fn simplesamlphp_pretty_printed_with_a_transient_name_id_is_accepted() {
    let fx = Fixture::new(false);
    let v = Values::new(&fx);
    for (assertion, response) in [
        (Some(Sig::to(&v.assertion_id)), None),
        (None, Some(Sig::to(&v.response_id))),
    ] {
        let v = Values::new(&fx);
        let xml = signed(
            &fx,
            &v.fill(SIMPLESAMLPHP),
            assertion.map(|s| Sig {
                uri: format!("#{}", v.assertion_id),
                ..s
            }),
            response.map(|s| Sig {
                uri: format!("#{}", v.response_id),
                ..s
            }),
        );

        let ok = accepted(fx.post(&xml));

        assert_eq!(ok.user.email, "alice@acme.example");
        assert_eq!(ok.user.external_id, None);
        assert_eq!(ok.user.family_name.as_deref(), Some("Smith & <Sons>"));
    }
}

#[test]
fn auth0_with_an_unprefixed_signature_and_an_opaque_name_id_is_accepted() {
    let fx = Fixture::new(false);
    let v = Values::new(&fx);
    let certificate = fx.keys.key(0).cert_base64();
    let sig = Sig {
        prefix: "",
        key_info: format!("<X509Data><X509Certificate>{certificate}</X509Certificate></X509Data>"),
        ..Sig::to(&v.assertion_id)
    };
    let xml = signed(&fx, &v.fill(AUTH0), Some(sig), None);

    let ok = accepted(fx.post(&xml));

    assert_eq!(ok.user.email, "alice@acme.example");
    assert_eq!(
        ok.user.external_id.as_deref(),
        Some("auth0|5f7c8ec7c33c6c004bbafe82")
    );
}

/// Every shape above, signed with each canonicalization SAML allows (in SignedInfo and as the
/// Reference's transform, or with the enveloped transform alone), each RSA strength with its
/// digest or another, on the assertion, the response or both.
#[test]
fn every_shape_verifies_with_each_canonicalization_digest_and_placement() {
    let c14ns = [
        C14N,
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        EXC_C14N,
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    ];
    let algorithms = [
        (RSA_SHA256, SHA256),
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            "http://www.w3.org/2001/04/xmldsig-more#sha384",
        ),
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            "http://www.w3.org/2001/04/xmlenc#sha512",
        ),
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            "http://www.w3.org/2001/04/xmldsig-more#sha384",
        ),
    ];
    // Each shape, with how its signatures are written: prefix, whether declared there.
    let shapes = [
        (OKTA, "ds", true),
        (ADFS, "ds", true),
        (KEYCLOAK, "dsig", true),
        (SHIBBOLETH, "ds", true),
        (GOOGLE, "ds", true),
        (SIMPLESAMLPHP, "ds", true),
        (AUTH0, "", true),
        (UNPREFIXED, "", true),
        (DECLARED_ON_ROOT, "ds", false),
    ];
    let mut tried = 0;
    for (index, (shape, prefix, declares_prefix)) in shapes.iter().enumerate() {
        // Each shape keys the account its own way: one store each.
        let fx = Fixture::new(false);
        for (c, c14n) in c14ns.iter().enumerate() {
            let (method, digest) = algorithms[(index + c) % algorithms.len()];
            for (assertion, response) in [(true, false), (false, true), (true, true)] {
                for enveloped_only in [false, true] {
                    let v = Values::new(&fx);
                    let sig = |id: &str| {
                        let mut sig = Sig {
                            prefix,
                            declares_prefix: *declares_prefix,
                            indented: index % 2 == 1,
                            c14n,
                            method,
                            digest,
                            prefix_list: (c14n.starts_with(EXC_C14N)).then_some("xs xsd"),
                            ..Sig::to(id)
                        };
                        if enveloped_only {
                            sig.transforms.truncate(1);
                        } else {
                            sig.transforms[1] = c14n;
                        }
                        sig
                    };
                    let xml = signed(
                        &fx,
                        &v.fill(shape),
                        assertion.then(|| sig(&v.assertion_id)),
                        response.then(|| sig(&v.response_id)),
                    );
                    let result = fx.post(&xml);
                    assert!(
                        result.is_ok(),
                        "shape {index}, {c14n}, {method}, {digest}, assertion {assertion}, \
                         response {response}, enveloped only {enveloped_only}: {:?}",
                        result.err()
                    );
                    tried += 1;
                }
            }
        }
    }
    assert_eq!(tried, shapes.len() * 4 * 3 * 2);
}
