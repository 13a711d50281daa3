//! Every refusal the ACS must make, each asserting its reason, plus the acceptances they are
//! measured against. Responses are really signed by the simulator's keys; tampering happens
//! on the signed XML text, as an attacker would do it.

use chrono::{DateTime, Duration, Utc};
use idp_sim::{ResponseSpec, SignatureAlgorithm, Signing, SigningKey, build_signed_response};
use provisiond::saml::LoginError;
use provisiond::store::UserChanges;

use super::support::{Fixture, fixed_now, while_a_write_is_open};

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
fn a_second_answer_naming_the_request_with_another_relay_tag_is_refused() {
    let fx = Fixture::new(false);
    let spec = fx.solicited("alice@acme.example");
    assert!(fx.post(&fx.sign(&spec)).is_ok());
    let id = spec.in_response_to.clone().unwrap();
    let mut again = spec.clone();
    again.assertion_id = idp_sim::new_id();
    again.response_id = idp_sim::new_id();
    let mut altered = id.into_bytes();
    let last = altered.len() - 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    again.in_response_to = Some(String::from_utf8(altered).unwrap());
    assert_eq!(code(fx.post(&fx.sign(&again))), "unknown_request");
    assert!(last_audit_detail(&fx).ends_with("was already answered"));
}

#[test]
fn in_response_to_never_issued_is_refused() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.in_response_to = Some("_never-issued-by-provisiond".into());
    assert_eq!(code(fx.post(&fx.sign(&spec))), "unknown_request");
}

fn last_audit_detail(fx: &Fixture) -> String {
    let rows = fx.store.read(|tx| tx.login_audit(Some("acme"), 1)).unwrap();
    rows[0].detail.clone()
}

fn answering(fx: &Fixture, relay_state: Option<&str>, issued: DateTime<Utc>) -> ResponseSpec {
    let request = provisiond::saml::login::start_login(
        &fx.sp(),
        &fx.config.server,
        relay_state,
        None,
        issued,
    )
    .unwrap();
    ResponseSpec::for_user(
        &fx.tenant,
        fx.user("alice@acme.example"),
        Some(&request.id),
        fixed_now(),
    )
}

#[test]
fn an_answer_after_the_request_lifetime_is_refused_as_expired() {
    let fx = Fixture::new(false);
    let late = answering(&fx, None, fixed_now() - Duration::minutes(16));
    assert_eq!(code(fx.post(&fx.sign(&late))), "unknown_request");
    assert!(last_audit_detail(&fx).ends_with("has expired"));
    let in_time = answering(&fx, None, fixed_now() - Duration::minutes(14));
    assert!(fx.post(&fx.sign(&in_time)).is_ok());
}

#[test]
fn a_request_id_of_another_install_or_connection_is_refused() {
    let fx = Fixture::new(false);
    use provisiond::saml::request_id::RequestIds;
    let other_install = RequestIds::new(provisiond::config::Secret::new("another-session-key"));
    let this_install = RequestIds::new(fx.config.server.session_key.clone());
    for id in [
        other_install.issue("acme", None, fixed_now()),
        this_install.issue("beta", None, fixed_now()),
    ] {
        let mut spec = fx.solicited("alice@acme.example");
        spec.in_response_to = Some(id);
        assert_eq!(code(fx.post(&fx.sign(&spec))), "unknown_request");
        assert!(last_audit_detail(&fx).ends_with("was not issued by this connection"));
    }
}

#[test]
fn the_relay_state_sent_with_the_request_is_where_the_person_lands() {
    let fx = Fixture::new(false);
    let spec = answering(&fx, Some("/reports?year=2026"), fixed_now());
    let ok = fx
        .post_with_relay(&fx.sign(&spec), "/reports?year=2026")
        .unwrap();
    assert_eq!(ok.redirect, "/reports?year=2026");

    // Changed on the way through the IdP (still an allowed target): not followed.
    let spec = answering(&fx, Some("/reports"), fixed_now());
    let ok = fx.post_with_relay(&fx.sign(&spec), "/admin").unwrap();
    assert_eq!(ok.redirect, "/");
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
    let err = fx.post(&fx.sign(&spec)).unwrap_err();
    assert_eq!(err.code(), "weak_algorithm");
    // The admin is told which setting would accept it.
    assert!(err.to_string().contains("allow_sha1"), "{err}");
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

/// A login arriving while a deactivation of its account is being written (a SCIM PATCH, a
/// scheduled sync; on PostgreSQL another replica): it waits for that write and is refused,
/// rather than signing in, or writing the account back as active, from what it read before.
#[test]
fn a_login_racing_a_deactivation_waits_for_it_and_is_refused() {
    let fx = Fixture::new(false);
    let user = fx
        .post(&fx.sign(&fx.solicited("alice@acme.example")))
        .unwrap()
        .user;
    // The IdP has a new given name for her, so the login has a change of its own to write.
    let mut spec = fx.solicited("alice@acme.example");
    for (name, values) in &mut spec.attributes {
        if name.ends_with("/givenname") || name == "firstName" {
            *values = vec!["Alicia".into()];
        }
    }
    let response = fx.sign(&spec);

    let login = while_a_write_is_open(
        &fx.store,
        |tx| {
            let current = tx.user(&user.id)?.unwrap();
            let off = UserChanges {
                active: Some(false),
                ..Default::default()
            };
            tx.update_user(&current, &off, fixed_now().naive_utc())?;
            Ok(())
        },
        || fx.post(&response),
    );
    assert_eq!(code(login), "deactivated");
    let after = fx.store.read(|tx| tx.user(&user.id)).unwrap().unwrap();
    assert!(!after.active, "the login wrote the account back as active");
}

/// SAML core §2.7.2: at `SessionNotOnOrAfter` the session the IdP started "MUST be considered
/// ended". The SP's session ends then too (with the clock skew allowed), when that comes
/// before the configured `session_ttl`; a sign-in whose session has already ended is refused.
#[test]
fn the_idps_session_bound_ends_the_session_it_starts() {
    let fx = Fixture::new(false);
    let skew = Duration::seconds(180);
    let lookup = |token: &str, at: DateTime<Utc>| {
        let hash = fx.session_keys.hash(token);
        fx.store
            .read(|tx| tx.session_user(&hash, at.naive_utc()))
            .unwrap()
    };

    let bound = fixed_now() + Duration::minutes(30);
    let mut spec = fx.solicited("alice@acme.example");
    spec.session_not_on_or_after = Some(bound);
    let bounded = fx.post(&fx.sign(&spec)).unwrap();
    assert_eq!(bounded.session_expires, bound + skew);
    let token = &bounded.session_token;
    assert!(lookup(token, bound + skew - Duration::seconds(1)).is_some());
    assert!(lookup(token, bound + skew).is_none());

    // A bound later than the configured lifetime changes nothing.
    let mut spec = fx.solicited("alice@acme.example");
    spec.session_not_on_or_after = Some(fixed_now() + Duration::days(30));
    let later = fx.post(&fx.sign(&spec)).unwrap();
    assert_eq!(later.session_expires, fixed_now() + Duration::hours(8));
    let unbounded = fx
        .post(&fx.sign(&fx.solicited("alice@acme.example")))
        .unwrap();
    assert_eq!(unbounded.session_expires, fixed_now() + Duration::hours(8));

    let mut spec = fx.solicited("alice@acme.example");
    spec.session_not_on_or_after = Some(fixed_now() - skew - Duration::seconds(1));
    assert_eq!(code(fx.post(&fx.sign(&spec))), "expired");
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
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\">\
         <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
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

#[test]
fn the_redirect_to_the_idp_is_a_valid_location_whatever_its_sso_url_holds() {
    let fx = Fixture::new(false);
    let sp = fx.sp();
    let mut idp = sp.idp().unwrap();
    for sso_url in [
        "https://idp.example/t/saml2/ünïcode",
        "https://bücher.example/saml2",
        "https://idp.example/saml2?tenant=a b&x=é",
        "https://idp.example/saml2#section",
    ] {
        idp.sso_url = sso_url.to_string();
        sp.set_idp(idp.clone());
        let location = provisiond::saml::login::start_login(
            &sp,
            &fx.config.server,
            Some("/app"),
            None,
            fixed_now(),
        )
        .unwrap()
        .redirect_url;
        // A Location header is ASCII: the URL is sent encoded (punycode, percent-escapes).
        assert!(
            location.is_ascii() && warp::http::HeaderValue::from_str(&location).is_ok(),
            "{sso_url} -> {location}"
        );
        let url = url::Url::parse(&location).unwrap();
        let fields: Vec<String> = url
            .query_pairs()
            .map(|(name, _)| name.into_owned())
            .collect();
        assert_eq!(
            fields
                .iter()
                .filter(|f| *f == "SAMLRequest" || *f == "RelayState")
                .count(),
            2,
            "{sso_url} -> {location}"
        );
    }
}

#[test]
fn what_a_refused_response_says_is_bounded_in_the_audit_row() {
    let fx = Fixture::new(false);
    // Nobody signed this: anyone can post it, as often as they like.
    let status = "x".repeat(200_000);
    let unsigned = format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" "#,
            r#"Version="2.0" IssueInstant="2026-12-05T09:00:00Z"><samlp:Status>"#,
            r#"<samlp:StatusCode Value="{status}"/></samlp:Status></samlp:Response>"#
        ),
        status = status
    );
    assert_eq!(code(fx.post(&unsigned)), "idp_status");
    let rows = fx.store.read(|tx| tx.login_audit(Some("acme"), 1)).unwrap();
    assert!(
        rows[0].detail.len() <= 1024,
        "{} bytes",
        rows[0].detail.len()
    );
    assert!(rows[0].detail.contains("xxxx"));
}

#[test]
fn a_response_refused_after_its_checks_stays_used_when_the_account_is_reactivated() {
    let fx = Fixture::new(false);
    let user = fx
        .post(&fx.sign(&fx.solicited("alice@acme.example")))
        .unwrap()
        .user;
    let set_active = |active: bool| {
        let current = fx.store.read(|tx| tx.user(&user.id)).unwrap().unwrap();
        let change = UserChanges {
            active: Some(active),
            ..Default::default()
        };
        fx.store
            .write(|tx| tx.update_user(&current, &change, fixed_now().naive_utc()))
            .unwrap();
    };
    set_active(false);
    let response = fx.sign(&fx.solicited("alice@acme.example"));
    assert_eq!(code(fx.post(&response)), "deactivated");

    // Whoever kept the response cannot use it once the account is back.
    set_active(true);
    assert_eq!(code(fx.post(&response)), "replay");
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

#[tokio::test]
async fn a_form_post_the_routes_refuse_gets_the_status_of_what_is_wrong_with_it() {
    let fx = Fixture::new(false);
    let state =
        provisiond::http::AppState::new(fx.config.clone(), fx.store.clone(), fx.providers.clone());
    let routes = provisiond::http::routes(state);
    let post = |path: &str, content_type: &str, body: String| {
        warp::test::request()
            .method("POST")
            .path(path)
            .header("content-type", content_type)
            .body(body)
    };
    let form = "application/x-www-form-urlencoded";

    // `/sso` also answers GET: that must not turn what is wrong with a POST's body into a
    // "method not allowed".
    let big = format!("email={}", "a".repeat(64 * 1024));
    for (path, content_type, body, expected) in [
        ("/sso", form, big.clone(), 413),
        (
            "/saml/acme/acs",
            form,
            format!("SAMLResponse={}", "a".repeat(3 * 1024 * 1024)),
            413,
        ),
        (
            "/sso",
            "application/json",
            r#"{"email":"a@acme.example"}"#.into(),
            415,
        ),
        ("/sso", form, "email=%FF%FE".into(), 400),
    ] {
        let reply = post(path, content_type, body).reply(&routes).await;
        assert_eq!(reply.status().as_u16(), expected, "{path} {content_type}");
    }
    let put = warp::test::request()
        .method("PUT")
        .path("/sso")
        .reply(&routes)
        .await;
    assert_eq!(put.status().as_u16(), 405);
}
