//! What a response may hold besides its facts, read as the specifications say: encrypted parts
//! (refused by name), times in other xs:dateTime spellings, conditions and Advice that may be
//! ignored, a smuggled assertion, the prolog, the IdP's own error, and sizes and depths that
//! must cost bounded time.

use super::shapes::*;
use super::*;

/// Canonicalization's cost must not grow with the namespaces in scope at every element:
/// a megabyte of empty elements under 240 declared namespaces, with an unsigned digest
/// nobody could compute (the digest is checked before any key), costs about what the same
/// elements cost with none, in either canonical form.
#[test]
fn hundreds_of_namespaces_in_scope_do_not_multiply_the_cost_of_each_element() {
    let fx = Fixture::new(false);
    let hostile = |declarations: usize, c14n: &'static str| {
        let v = Values::new(&fx);
        let declare = |prefix: &str| -> String {
            (0..declarations)
                .map(|i| format!(" xmlns:{prefix}{i}=\"urn:{prefix}:{i}\""))
                .collect()
        };
        let list = (0..16)
            .map(|i| format!("n{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let sig = Sig {
            c14n,
            transforms: vec![
                "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
                c14n,
            ],
            prefix_list: Some(Box::leak(list.into_boxed_str())),
            ..Sig::to(&v.assertion_id)
        };
        let filler = "<a/>".repeat(200_000);
        v.fill(KEYCLOAK)
            .replacen(
                "<samlp:Response ",
                &format!("<samlp:Response{} ", declare("n")),
                1,
            )
            .replacen(
                "<saml:Assertion ",
                &format!("<saml:Assertion{} ", declare("m")),
                1,
            )
            .replace("{RSIG}", "")
            .replace("{ASIG}", &sig.template())
            .replace("<ds:DigestValue/>", "<ds:DigestValue>AAAA</ds:DigestValue>")
            .replace(
                "<ds:SignatureValue/>",
                "<ds:SignatureValue>AAAA</ds:SignatureValue>",
            )
            .replacen(
                "Smith</saml:AttributeValue>",
                &format!("Smith{filler}</saml:AttributeValue>"),
                1,
            )
    };
    for c14n in [C14N, EXC_C14N] {
        let timed = |xml: String| {
            assert!(xml.len() < 1024 * 1024);
            let started = std::time::Instant::now();
            let refused = code(fx.post(&xml));
            (started.elapsed(), refused)
        };
        let (plain, refused) = timed(hostile(0, c14n));
        assert_eq!(refused, "bad_signature");
        let (crowded, refused) = timed(hostile(120, c14n));
        assert_eq!(refused, "bad_signature");
        eprintln!("{c14n}: {plain:?} {crowded:?}");
        assert!(
            crowded < plain * 5 + std::time::Duration::from_secs(1),
            "{c14n}: {crowded:?} with 240 namespaces in scope, {plain:?} without"
        );
    }
}

/// Encrypted content needs the SP's decryption key, which a connection does not have: an
/// encrypted assertion, NameID or attribute is refused as encrypted, by name, whether the
/// response is signed or not; an encrypted attribute is not silently skipped (the account
/// would be keyed and named without it).
#[test]
fn encrypted_assertions_names_and_attributes_are_refused_as_encrypted() {
    let fx = Fixture::new(false);
    let start = SHIBBOLETH.find("<saml2:Assertion ").unwrap();
    let end = SHIBBOLETH.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
    let whole = format!(
        "{}{}{}",
        &SHIBBOLETH[..start],
        encrypted("EncryptedAssertion"),
        &SHIBBOLETH[end..]
    );
    let name_id_start = SHIBBOLETH.find("<saml2:NameID ").unwrap();
    let name_id_end = SHIBBOLETH.find("</saml2:NameID>").unwrap() + "</saml2:NameID>".len();
    let name_id = format!(
        "{}{}{}",
        &SHIBBOLETH[..name_id_start],
        encrypted("EncryptedID"),
        &SHIBBOLETH[name_id_end..]
    );
    let attribute = SHIBBOLETH.replacen(
        "<saml2:AttributeStatement>",
        &format!(
            "<saml2:AttributeStatement>{}",
            encrypted("EncryptedAttribute")
        ),
        1,
    );
    for (template, element) in [
        (&whole, "EncryptedAssertion"),
        (&name_id, "EncryptedID"),
        (&attribute, "EncryptedAttribute"),
    ] {
        for response_signed in [true, false] {
            let v = Values::new(&fx);
            let assertion_signed = !template.contains("saml2:EncryptedAssertion");
            let xml = signed(
                &fx,
                &v.fill(template),
                assertion_signed.then(|| Sig::to(&v.assertion_id)),
                response_signed.then(|| Sig::to(&v.response_id)),
            );
            let err = fx.post(&xml).unwrap_err();
            assert_eq!(err.code(), "encrypted", "{element}: {err}");
            assert!(err.to_string().contains(element), "{err}");
        }
    }
}

/// SAML core §1.3.3 asks for times "in UTC form, with no time zone component": IdPs write
/// `Z` (UTC form) or, reading the sentence literally, nothing at all (some .NET and PHP
/// IdPs), with any number of fractional digits (.NET writes seven). Each is an instant read as
/// UTC, and still checked: the same spellings in the past are refused as expired.
#[test]
fn times_with_no_zone_an_offset_or_long_fractions_are_read_as_utc_instants() {
    let fx = Fixture::new(false);
    let spellings = |time: DateTime<Utc>| {
        let plain = time.format("%Y-%m-%dT%H:%M:%S").to_string();
        [
            plain.clone(),
            format!("{plain}.1234567"),
            format!("{plain}.1234567Z"),
            format!("{plain}+00:00"),
            (time - Duration::hours(5))
                .format("%Y-%m-%dT%H:%M:%S-05:00")
                .to_string(),
        ]
    };
    let soon = spellings(fixed_now() + Duration::minutes(5));
    let past = spellings(fixed_now() - Duration::minutes(10));
    for (until, expired) in soon.iter().zip(&past) {
        for (until, outcome) in [(until, "accepted"), (expired, "expired")] {
            let v = Values::new(&fx);
            let template = OKTA.replace("{SOON}", until).replace("{BEFORE}", "{NOW}");
            let xml = signed(
                &fx,
                &v.fill(&template),
                Some(Sig::to(&v.assertion_id)),
                None,
            );
            let got = fx.post(&xml).map_or_else(|err| err.code(), |_| "accepted");
            assert_eq!(got, outcome, "NotOnOrAfter {until}");
        }
    }
}

/// The Response is signed, the assertion inside is not, and a second unsigned assertion for
/// someone else is smuggled in beside it, before it or after it: refused for the count, so
/// no reader has to guess which assertion the signature meant.
#[test]
fn a_second_unsigned_assertion_beside_a_signed_response_is_refused() {
    let fx = Fixture::new(false);
    for before in [true, false] {
        let v = Values::new(&fx);
        let template = v.fill(OKTA);
        let start = template.find("<saml2:Assertion ").unwrap();
        let end = template.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
        let mallory = template[start..end]
            .replace("alice@acme.example", "mallory@acme.example")
            .replace(&v.assertion_id, "_smuggled")
            .replace("{ASIG}", "");
        let smuggled = if before {
            template.replacen(
                "<saml2:Assertion ",
                &format!("{mallory}<saml2:Assertion "),
                1,
            )
        } else {
            template.replacen(
                "</saml2p:Response>",
                &format!("{mallory}</saml2p:Response>"),
                1,
            )
        };
        let xml = signed(&fx, &smuggled, None, Some(Sig::to(&v.response_id)));
        assert_eq!(code(fx.post(&xml)), "assertion_count", "before: {before}");
    }
}

/// Conditions a correct SP honours or may ignore (SAML core §2.5.1): OneTimeUse (the replay
/// cache already holds every assertion once), ProxyRestriction (about further assertions,
/// not this login), several AudienceRestrictions each naming this SP among others; and an
/// Advice, which core §2.6.1 says may be ignored without affecting validity.
#[test]
fn one_time_use_proxy_restriction_several_audiences_and_advice_are_accepted() {
    let fx = Fixture::new(false);
    let v = Values::new(&fx);
    let conditions = "<saml2:AudienceRestriction><saml2:Audience>urn:other:app</saml2:Audience>\
         <saml2:Audience>{AUDIENCE}</saml2:Audience></saml2:AudienceRestriction>\
         <saml2:AudienceRestriction><saml2:Audience>{AUDIENCE}</saml2:Audience>\
         </saml2:AudienceRestriction><saml2:OneTimeUse/><saml2:ProxyRestriction Count=\"0\">\
         <saml2:Audience>urn:other:app</saml2:Audience></saml2:ProxyRestriction>\
         </saml2:Conditions><saml2:Advice><saml2:AssertionIDRef>_earlier</saml2:AssertionIDRef>\
         <saml2:AssertionURIRef>https://idp.example/assertions/_earlier</saml2:AssertionURIRef>\
         <ext:Note xmlns:ext=\"urn:example:advice\">seen at the front desk</ext:Note>\
         </saml2:Advice>";
    let start = OKTA.find("<saml2:AudienceRestriction>").unwrap();
    let end = OKTA.find("</saml2:Conditions>").unwrap() + "</saml2:Conditions>".len();
    let template = format!("{}{conditions}{}", &OKTA[..start], &OKTA[end..]);
    let xml = signed(
        &fx,
        &v.fill(&template),
        Some(Sig::to(&v.assertion_id)),
        None,
    );

    accepted(fx.post(&xml));
    // OneTimeUse: the same assertion once more is a replay.
    assert_eq!(code(fx.post(&xml)), "replay");

    // One restriction that leaves this SP out excludes it, whatever the others say.
    assert_eq!(
        code(fx.post(&for_another_audience(&fx, &template))),
        "audience"
    );
}

/// `template` filled in and signed on the assertion, its first Audience naming this SP
/// changed to another SP's: the restriction holding it leaves this SP out.
fn for_another_audience(fx: &Fixture, template: &str) -> String {
    let v = Values::new(fx);
    let elsewhere = template.replacen(
        "<saml2:Audience>{AUDIENCE}</saml2:Audience>",
        "<saml2:Audience>urn:other:app</saml2:Audience>",
        1,
    );
    signed(
        fx,
        &v.fill(&elsewhere),
        Some(Sig::to(&v.assertion_id)),
        None,
    )
}

/// What a byte-order mark and the XML declaration may say about UTF-8, in any letter case,
/// with `standalone`; and the other encodings, refused by name.
#[test]
fn a_byte_order_mark_and_declarations_of_utf8_are_accepted_and_others_refused() {
    let fx = Fixture::new(false);
    for (prolog, outcome) in [
        ("\u{feff}", "accepted"),
        (
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n",
            "accepted",
        ),
        ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n", "accepted"),
        (
            "<?xml version='1.0' encoding='utf-8' standalone='yes'?>",
            "accepted",
        ),
        ("<?xml version=\"1.0\"?>", "accepted"),
        (
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
            "malformed",
        ),
        ("<?xml version=\"1.0\" encoding=\"UTF-16\"?>", "malformed"),
    ] {
        let v = Values::new(&fx);
        let template = v
            .fill(OKTA)
            .replacen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "", 1);
        let xml = signed(&fx, &template, Some(Sig::to(&v.assertion_id)), None);
        let body = &xml[xml.find("?>").unwrap() + 2..];
        let xml = format!("{prolog}{}", body.trim_start());
        let got = fx.post(&xml).map_or_else(|err| err.code(), |_| "accepted");
        assert_eq!(got, outcome, "{prolog:?}");
    }
}

/// An assertion about someone else, as an IdP might cite it in Advice; `{SIG}` where its
/// signature goes.
const CITED: &str = concat!(
    r#"<saml2:Assertion ID="_cited" IssueInstant="{NOW}" Version="2.0">"#,
    r#"<saml2:Issuer>https://upstream.example/idp</saml2:Issuer>{SIG}<saml2:Subject>"#,
    r#"<saml2:NameID>bob<!-- upstream -->@acme.example</saml2:NameID></saml2:Subject>"#,
    r#"</saml2:Assertion>"#,
);

/// Core §2.6.1: Advice "MAY be ignored by applications without affecting either the
/// semantics or the validity of the assertion". Assertions an IdP cites there (signed by
/// another authority with SHA-1, encrypted, with comments in their values) leave the
/// response's one assertion valid and are never read; they cannot stand in for it either:
/// an Advice elsewhere still counts, and an unsigned assertion citing a signed one is unsigned.
#[test]
fn assertions_cited_in_the_advice_of_the_signed_assertion_are_ignored() {
    let fx = Fixture::new(false);
    let upstream = idp_sim::SigningKey::generate_attacker().unwrap();
    let sha1 = Sig {
        method: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        digest: "http://www.w3.org/2000/09/xmldsig#sha1",
        ..Sig::to("_cited")
    };
    let declared = CITED.replacen(
        "<saml2:Assertion ",
        "<saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" ",
        1,
    );
    let signed_elsewhere = Crypto::sign_xml(
        declared
            .replace("{NOW}", &instant(fixed_now()))
            .replace("{SIG}", &sha1.template()),
        upstream.private_key_der(),
    )
    .unwrap();
    let signed_elsewhere = &signed_elsewhere[signed_elsewhere.find("?>").unwrap() + 2..];
    let advices = [
        CITED.replace("{SIG}", ""),
        signed_elsewhere.trim().to_string(),
        encrypted("EncryptedAssertion"),
    ];
    for advice in &advices {
        for (assertion, response) in [(true, false), (false, true)] {
            let v = Values::new(&fx);
            let template = OKTA.replacen(
                "</saml2:Conditions>",
                &format!("</saml2:Conditions><saml2:Advice>{advice}</saml2:Advice>"),
                1,
            );
            let xml = signed(
                &fx,
                &v.fill(&template),
                assertion.then(|| Sig::to(&v.assertion_id)),
                response.then(|| Sig::to(&v.response_id)),
            );
            let ok = accepted(fx.post(&xml));
            assert_eq!(ok.user.email, "alice@acme.example");
        }
    }

    // Advice anywhere but in the Response's own assertion is no exemption.
    let v = Values::new(&fx);
    let beside = OKTA.replacen(
        "</saml2p:Status>",
        &format!(
            "</saml2p:Status><saml2p:Extensions><saml2:Advice \
             xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\">{}</saml2:Advice>\
             </saml2p:Extensions>",
            CITED.replace("{SIG}", "")
        ),
        1,
    );
    let xml = signed(&fx, &v.fill(&beside), Some(Sig::to(&v.assertion_id)), None);
    assert_eq!(code(fx.post(&xml)), "assertion_count");

    // The IdP's signed assertion for alice, cited by an unsigned one for mallory.
    let v = Values::new(&fx);
    let genuine = signed(&fx, &v.fill(OKTA), Some(Sig::to(&v.assertion_id)), None);
    let start = genuine.find("<saml2:Assertion ").unwrap();
    let end = genuine.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
    let forged = v
        .fill(OKTA)
        .replace("{RSIG}", "")
        .replace("{ASIG}", "")
        .replace(&v.assertion_id, "_forged")
        .replacen("alice@acme.example", "mallory@acme.example", 1)
        .replacen(
            "</saml2:Conditions>",
            &format!(
                "</saml2:Conditions><saml2:Advice>{}</saml2:Advice>",
                &genuine[start..end]
            ),
            1,
        );
    assert_eq!(code(fx.post(&forged)), "unsigned");
}

/// An IdP's refusal says what happened below its top-level code (core §3.2.2.2): Okta's
/// nested NoPassive, Entra's AADSTS message. Both reach the audit row, on one line.
#[test]
fn an_idp_error_is_told_with_its_nested_code_and_message() {
    let fx = Fixture::new(false);
    let v = Values::new(&fx);
    let refusal = OKTA.replacen(
        "<saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/>",
        "<saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\">\
         <saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:NoPassive\"/>\
         </saml2p:StatusCode><saml2p:StatusMessage>\n  AADSTS50105: The signed in user is not \
         assigned\r\nto a role for the application.\n</saml2p:StatusMessage>",
        1,
    );
    let err = fx.post(&v.fill(&refusal)).unwrap_err();

    assert_eq!(err.code(), "idp_status");
    let rows = fx.store.read(|tx| tx.login_audit(Some("acme"), 1)).unwrap();
    assert_eq!(
        rows[0].detail,
        "IdP returned status urn:oasis:names:tc:SAML:2.0:status:Responder / \
         urn:oasis:names:tc:SAML:2.0:status:NoPassive: AADSTS50105: The signed in user is not \
         assigned to a role for the application."
    );
}

/// Large and deep responses: tens of thousands of attributes and values (group claims) in
/// a signed megabyte are read, in bounded time; a larger message, or one nesting deeper than
/// any SAML document, is refused with a reason that says so, before any signature work.
#[test]
fn huge_attribute_counts_are_read_and_oversized_or_deep_messages_refused_clearly() {
    let fx = Fixture::new(false);
    let attributes = |count: usize| -> String {
        (0..count)
            .map(|i| {
                format!(
                    "<saml2:Attribute Name=\"group{i}\"><saml2:AttributeValue>g{i}\
                     </saml2:AttributeValue><saml2:AttributeValue>h{i}</saml2:AttributeValue>\
                     </saml2:Attribute>"
                )
            })
            .collect()
    };
    let with = |extra: &str| {
        OKTA.replacen(
            "<saml2:AttributeStatement>",
            &format!("<saml2:AttributeStatement>{extra}"),
            1,
        )
    };

    let v = Values::new(&fx);
    let xml = signed(
        &fx,
        &v.fill(&with(&attributes(6_500))),
        Some(Sig::to(&v.assertion_id)),
        None,
    );
    assert!(
        xml.len() > 900 * 1024 && xml.len() < 1024 * 1024,
        "{}",
        xml.len()
    );
    let started = std::time::Instant::now();
    accepted(fx.post(&xml));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    let v = Values::new(&fx);
    let xml = v
        .fill(&with(&attributes(7_500)))
        .replace("{RSIG}", "")
        .replace("{ASIG}", "");
    let err = fx.post(&xml).unwrap_err();
    assert_eq!(err.code(), "malformed");
    assert!(err.to_string().contains("larger than 1 MiB"), "{err}");

    for depth in [101, 100_000] {
        let v = Values::new(&fx);
        let deep = format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth));
        let template = OKTA.replacen(">Alice<", &format!(">Alice{deep}<"), 1);
        let xml = signed(
            &fx,
            &v.fill(&template),
            Some(Sig::to(&v.assertion_id)),
            None,
        );
        let err = fx.post(&xml).unwrap_err();
        assert_eq!(err.code(), "malformed");
        assert!(err.to_string().contains("nest deeper"), "{err}");
    }
}

/// Core §2.5.1.1: a condition the relying party does not understand makes the assertion's
/// validity Indeterminate, and such an assertion "MUST be rejected". A typed Condition of
/// some extension, or an element of another vocabulary, is refused by name; an Invalid
/// condition (another audience) still counts first, as the rules order them. OneTimeUse and
/// ProxyRestriction may appear once each (§2.5.1.5, §2.5.1.6).
#[test]
fn conditions_not_understood_are_refused_by_name() {
    let fx = Fixture::new(false);
    let typed = "<saml2:Condition xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
                 xmlns:ext=\"urn:example:conditions\" xsi:type=\"ext:NetworkRange\">\
                 10.0.0.0/8</saml2:Condition>";
    let foreign = "<ext:DeviceCompliance xmlns:ext=\"urn:example:conditions\"/>";
    for (extra, outcome, named) in [
        (
            typed,
            "unknown_condition",
            "Condition of type ext:NetworkRange",
        ),
        (
            foreign,
            "unknown_condition",
            "{urn:example:conditions}DeviceCompliance",
        ),
        (
            "<saml2:OneTimeUse/><saml2:OneTimeUse/>",
            "malformed",
            "more than one OneTimeUse",
        ),
    ] {
        let v = Values::new(&fx);
        let template = OKTA.replacen(
            "</saml2:Conditions>",
            &format!("{extra}</saml2:Conditions>"),
            1,
        );
        let xml = signed(
            &fx,
            &v.fill(&template),
            Some(Sig::to(&v.assertion_id)),
            None,
        );
        let err = fx.post(&xml).unwrap_err();
        assert_eq!(err.code(), outcome, "{extra}: {err}");
        assert!(err.to_string().contains(named), "{err}");
    }

    let typed_elsewhere = OKTA.replacen(
        "</saml2:Conditions>",
        &format!("{typed}</saml2:Conditions>"),
        1,
    );
    assert_eq!(
        code(fx.post(&for_another_audience(&fx, &typed_elsewhere))),
        "audience"
    );
}
