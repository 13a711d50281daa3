//! Every refusal the ACS must make, each asserting its reason, plus the acceptances they are
//! measured against. Responses are really signed by the simulator's keys; tampering happens
//! on the signed XML text, as an attacker would do it.

use chrono::Duration;
use idp_sim::{SignatureAlgorithm, Signing, SigningKey, build_signed_response};
use provisiond::saml::LoginError;
use provisiond::store::UserChanges;

use super::support::{Fixture, fixed_now};

fn code(result: Result<provisiond::saml::login::LoginSuccess, LoginError>) -> &'static str {
    match result {
        Ok(ok) => panic!("expected a refusal, but {} signed in", ok.user.email),
        Err(err) => err.code(),
    }
}

fn last_audit(fx: &Fixture) -> (String, String) {
    let rows = fx.store.read(|tx| tx.login_audit(Some("acme"), 1)).unwrap();
    (rows[0].outcome.clone(), rows[0].reason.clone())
}

#[test]
fn a_valid_response_creates_the_account_and_audits_it() {
    let fx = Fixture::new(false);
    let ok = fx
        .post(&fx.sign(&fx.solicited("alice@acme.example")))
        .unwrap();
    assert!(ok.created);
    assert_eq!(ok.user.email, "alice@acme.example");
    assert_eq!(
        ok.user.external_id.as_deref(),
        Some("5e7c1b9a-2f3d-4c5b-8a6e-7d8f9a0b1c2d")
    );
    assert_eq!(ok.user.given_name.as_deref(), Some("Alice"));
    assert_eq!(ok.user.family_name.as_deref(), Some("Smith"));
    assert_eq!(ok.redirect, "/");
    assert_eq!(last_audit(&fx), ("success".into(), "created".into()));
}

#[test]
fn each_signing_mode_is_accepted() {
    for signing in [Signing::Assertion, Signing::Response, Signing::Both] {
        let fx = Fixture::new(false);
        let mut spec = fx.solicited("alice@acme.example");
        spec.signing = signing;
        assert!(fx.post(&fx.sign(&spec)).is_ok(), "{signing:?} refused");
    }
}

#[test]
fn tampered_name_id_is_refused_as_bad_signature() {
    let fx = Fixture::new(false);
    let xml = fx.sign(&fx.solicited("alice@acme.example"));
    let tampered = xml.replacen("alice@acme.example</", "bob@acme.example</", 1);
    assert_ne!(xml, tampered);
    assert_eq!(code(fx.post(&tampered)), "bad_signature");
    assert_eq!(last_audit(&fx), ("refused".into(), "bad_signature".into()));
}

#[test]
fn signature_by_another_key_with_its_certificate_in_key_info_is_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.include_key_info = true;
    let attacker = SigningKey::generate_attacker().unwrap();
    let xml = build_signed_response(&spec, &attacker).unwrap();
    assert!(
        xml.contains(&attacker.cert_base64()[..40]),
        "attacker cert must be in KeyInfo"
    );
    assert_eq!(code(fx.post(&xml)), "bad_signature");
}

#[test]
fn unsigned_response_is_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.signing = Signing::None;
    assert_eq!(code(fx.post(&fx.sign(&spec))), "unsigned");
}

#[test]
fn signature_stripped_from_a_signed_response_is_refused() {
    let fx = Fixture::new(false);
    let xml = fx.sign(&fx.solicited("alice@acme.example"));
    let start = xml.find("<Signature ").expect("signature element");
    let end = xml.find("</Signature>").unwrap() + "</Signature>".len();
    let stripped = format!("{}{}", &xml[..start], &xml[end..]);
    assert_eq!(code(fx.post(&stripped)), "unsigned");
}

#[test]
fn wrong_audience_is_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.audience = "https://other-app.example/metadata".into();
    assert_eq!(code(fx.post(&fx.sign(&spec))), "audience");
}

#[test]
fn wrong_recipient_is_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.recipient = "https://attacker.example/acs".into();
    assert_eq!(code(fx.post(&fx.sign(&spec))), "recipient");

    let mut spec = fx.solicited("alice@acme.example");
    spec.destination = Some("https://attacker.example/acs".into());
    assert_eq!(code(fx.post(&fx.sign(&spec))), "recipient");
}

#[test]
fn wrong_issuer_is_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.issuer = "https://sts.windows.net/another-tenant/".into();
    assert_eq!(code(fx.post(&fx.sign(&spec))), "issuer");
}

#[test]
fn expired_assertion_is_refused_and_skew_is_honoured() {
    let fx = Fixture::new(false);
    let spec = fx.solicited("alice@acme.example");
    let xml = fx.sign(&spec);
    // The bearer confirmation lasts 5 minutes; the default skew is 180 s.
    let within_skew = fixed_now() + Duration::minutes(5) + Duration::seconds(170);
    let beyond_skew = fixed_now() + Duration::minutes(5) + Duration::seconds(181);
    assert_eq!(code(fx.post_at(&xml, beyond_skew)), "expired");
    assert!(fx.post_at(&xml, within_skew).is_ok());
}

#[test]
fn not_yet_valid_beyond_the_skew_is_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.not_before = fixed_now() + Duration::seconds(181);
    assert_eq!(code(fx.post(&fx.sign(&spec))), "not_yet_valid");

    let mut spec = fx.solicited("alice@acme.example");
    spec.not_before = fixed_now() + Duration::seconds(170);
    assert!(
        fx.post(&fx.sign(&spec)).is_ok(),
        "within the skew must pass"
    );
}

#[test]
fn replayed_assertion_is_refused() {
    let fx = Fixture::new(true);
    let mut spec = fx.solicited("alice@acme.example");
    spec.in_response_to = None;
    let xml = fx.sign(&spec);
    assert!(fx.post(&xml).is_ok());
    assert_eq!(code(fx.post(&xml)), "replay");
}

#[test]
fn a_second_answer_to_the_same_request_is_refused() {
    let fx = Fixture::new(false);
    let spec = fx.solicited("alice@acme.example");
    assert!(fx.post(&fx.sign(&spec)).is_ok());
    let mut again = spec.clone();
    again.assertion_id = idp_sim::new_id();
    again.response_id = idp_sim::new_id();
    assert_eq!(code(fx.post(&fx.sign(&again))), "unknown_request");
}

#[test]
fn in_response_to_never_issued_is_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.in_response_to = Some("_never-issued-by-provisiond".into());
    assert_eq!(code(fx.post(&fx.sign(&spec))), "unknown_request");
}

#[test]
fn unsolicited_response_is_refused_unless_the_connection_allows_it() {
    let strict = Fixture::new(false);
    let mut spec = strict.solicited("alice@acme.example");
    spec.in_response_to = None;
    assert_eq!(code(strict.post(&strict.sign(&spec))), "idp_initiated");

    let relaxed = Fixture::new(true);
    let mut spec = relaxed.solicited("alice@acme.example");
    spec.in_response_to = None;
    assert!(relaxed.post(&relaxed.sign(&spec)).is_ok());
}

#[test]
fn two_assertions_are_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.duplicate_assertion = true;
    assert_eq!(code(fx.post(&fx.sign(&spec))), "assertion_count");
}

#[test]
fn sha1_is_refused_unless_allowed() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.algorithm = SignatureAlgorithm::RsaSha1;
    assert_eq!(code(fx.post(&fx.sign(&spec))), "weak_algorithm");
}

#[test]
fn email_outside_the_domains_is_refused_and_no_account_is_made() {
    let fx = Fixture::new(false);
    let spec = fx.solicited("eve@elsewhere.example");
    assert_eq!(code(fx.post(&fx.sign(&spec))), "domain");
    assert!(fx.store.read(|tx| tx.users(None)).unwrap().is_empty());
    let rows = fx.store.read(|tx| tx.login_audit(None, 1)).unwrap();
    assert_eq!(rows[0].email.as_deref(), Some("eve@elsewhere.example"));
}

#[test]
fn deactivated_user_is_refused() {
    let fx = Fixture::new(false);
    let user = fx
        .post(&fx.sign(&fx.solicited("alice@acme.example")))
        .unwrap()
        .user;
    let off = UserChanges {
        active: Some(false),
        ..Default::default()
    };
    fx.store
        .write(|tx| tx.update_user(&user, &off, fixed_now().naive_utc()))
        .unwrap();
    assert_eq!(
        code(fx.post(&fx.sign(&fx.solicited("alice@acme.example")))),
        "deactivated"
    );
}

#[test]
fn dtd_and_entity_expansion_are_refused_before_parsing() {
    let fx = Fixture::new(false);
    let xml = fx.sign(&fx.solicited("alice@acme.example"));
    let body = xml.trim_start_matches(|c| c != '<');
    let body = body
        .strip_prefix("<?xml")
        .map(|rest| &rest[rest.find("?>").unwrap() + 2..])
        .unwrap_or(body);
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
        body.replacen("Alice</", "&b;</", 1)
    );
    assert_eq!(code(fx.post(&laughs)), "dtd");
    let external = format!("<!DOCTYPE r SYSTEM \"file:///etc/passwd\">{body}");
    assert_eq!(code(fx.post(&external)), "dtd");
}

#[test]
fn comment_inside_name_id_is_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.name_id = "alice@acme.example.evil.example".into();
    let xml = fx.sign(&spec);
    // Exclusive c14n drops comments, so the signature still verifies after this edit.
    let injected = xml.replacen(
        "alice@acme.example.evil.example",
        "alice@acme.example<!---->.evil.example",
        1,
    );
    assert_eq!(code(fx.post(&injected)), "comment_injection");
}

#[test]
fn an_email_change_at_the_idp_updates_the_same_account() {
    let fx = Fixture::new(false);
    let first = fx
        .post(&fx.sign(&fx.solicited("alice@acme.example")))
        .unwrap()
        .user;
    let mut spec = fx.solicited("alice@acme.example");
    spec.name_id = "alice.smith@acme.example".into();
    spec.attributes
        .retain(|(name, _)| !name.ends_with("/emailaddress"));
    spec.attributes.retain(|(name, _)| name != "firstName");
    spec.attributes
        .push(("firstName".into(), vec!["Alicia".into()]));
    spec.attributes
        .retain(|(name, _)| !name.ends_with("/givenname"));
    let second = fx.post(&fx.sign(&spec)).unwrap();
    assert!(!second.created);
    assert_eq!(second.user.id, first.id);
    assert_eq!(second.user.email, "alice.smith@acme.example");
    assert_eq!(second.user.given_name.as_deref(), Some("Alicia"));
    assert_eq!(fx.store.read(|tx| tx.users(None)).unwrap().len(), 1);
}

#[test]
fn relay_state_to_a_foreign_site_is_refused() {
    let fx = Fixture::new(false);
    let err = provisiond::saml::login::start_login(
        &fx.store,
        &fx.sp(),
        &fx.config.server,
        Some("https://evil.example/phish"),
        None,
        fixed_now(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "relay_state");
    for bad in ["//evil.example/x", "/\\evil.example", "javascript:alert(1)"] {
        assert!(
            provisiond::saml::login::safe_redirect(bad, &fx.config.server).is_err(),
            "{bad}"
        );
    }
    assert!(provisiond::saml::login::safe_redirect("/app?x=1", &fx.config.server).is_ok());
    assert!(
        provisiond::saml::login::safe_redirect("http://sp.test/app", &fx.config.server).is_ok()
    );
}

#[test]
fn a_post_without_saml_response_is_audited_as_malformed() {
    let fx = Fixture::new(false);

    assert_eq!(code(fx.post_form(None, fixed_now())), "malformed");
    assert_eq!(last_audit(&fx), ("refused".into(), "malformed".into()));
}

#[test]
fn an_oversized_or_control_character_login_hint_is_not_forwarded_to_the_idp() {
    let fx = Fixture::new(false);
    let start = |hint: &str| {
        provisiond::saml::login::start_login(
            &fx.store,
            &fx.sp(),
            &fx.config.server,
            None,
            Some(hint),
            fixed_now(),
        )
        .unwrap()
        .redirect_url
    };
    assert!(start("alice@acme.example").contains("login_hint=alice%40acme.example"));
    assert!(!start(&"a".repeat(60_000)).contains("login_hint"));
    assert!(!start("alice@acme.example\r\nX-Injected: 1").contains("login_hint"));
}

/// PostgreSQL indexes a row of at most 2704 bytes, so a NameID, object id or user name longer
/// than an account key may be made the login fail with a store error there: it is refused
/// with its own reason on every backend, before any account is made.
#[test]
fn an_id_or_name_longer_than_an_account_key_is_refused() {
    use idp_sim::claims;

    let long = "x".repeat(provisiond::store::MAX_KEY_BYTES + 1);
    for claim in [claims::OBJECT_ID, claims::NAME, "NameID"] {
        let fx = Fixture::new(false);
        let mut spec = fx.solicited("alice@acme.example");
        if claim == "NameID" {
            spec.name_id = long.clone();
            spec.name_id_format =
                "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".to_string();
        }
        for (name, values) in &mut spec.attributes {
            if name == claim {
                *values = vec![long.clone()];
            }
        }
        assert_eq!(code(fx.post(&fx.sign(&spec))), "value_too_long", "{claim}");
        assert!(fx.store.read(|tx| tx.users(None)).unwrap().is_empty());
        assert_eq!(last_audit(&fx), ("refused".into(), "value_too_long".into()));
    }
}
