//! What a NameID's format means for the account (SAML core §8.3): an address in an
//! `unspecified` NameID (Okta's default) is the email, as in one without a format; a `transient`
//! NameID is new at every login, so it is never the key of an account; a `persistent` one is
//! opaque, never an email, whatever it looks like.

use provisiond::saml::LoginError;

use super::support::Fixture;

const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const OBJECT_ID: &str = idp_sim::claims::OBJECT_ID;

fn code(result: Result<provisiond::saml::login::LoginSuccess, LoginError>) -> &'static str {
    match result {
        Ok(ok) => panic!("expected a refusal, but {} signed in", ok.user.email),
        Err(err) => err.code(),
    }
}

#[test]
fn an_address_in_an_unspecified_name_id_is_the_email_without_any_claim() {
    let fx = Fixture::new(false);
    let mut spec = fx.solicited("alice@acme.example");
    spec.name_id_format = UNSPECIFIED.into();
    spec.attributes.clear();

    let ok = fx.post(&fx.sign(&spec)).unwrap();

    assert!(ok.created);
    assert_eq!(ok.user.email, "alice@acme.example");
    assert_eq!(ok.user.external_id.as_deref(), Some("alice@acme.example"));
}

#[test]
fn a_transient_name_id_new_at_every_login_signs_in_to_the_same_account() {
    let fx = Fixture::new(false);
    let transient = |subject: &str| {
        let mut spec = fx.solicited("alice@acme.example");
        spec.name_id_format = TRANSIENT.into();
        spec.name_id = subject.into();
        spec.attributes.retain(|(name, _)| name != OBJECT_ID);
        spec
    };

    let first = fx.post(&fx.sign(&transient("_t1"))).unwrap();
    let second = fx.post(&fx.sign(&transient("_t2"))).unwrap();

    assert!(first.created && !second.created);
    assert_eq!(second.user.id, first.user.id);
    assert_eq!(first.user.email, "alice@acme.example");
    assert_eq!(first.user.external_id, None, "a transient NameID is no key");
    assert_eq!(fx.store.read(|tx| tx.users(None)).unwrap().len(), 1);
}

#[test]
fn a_transient_name_id_signs_in_to_the_account_its_email_names() {
    let fx = Fixture::new(false);
    let first = fx
        .post(&fx.sign(&fx.solicited("alice@acme.example")))
        .unwrap();
    let mut spec = fx.solicited("alice@acme.example");
    spec.name_id_format = TRANSIENT.into();
    spec.name_id = "_t1".into();
    spec.attributes.retain(|(name, _)| name != OBJECT_ID);

    let second = fx.post(&fx.sign(&spec)).unwrap();

    assert_eq!(second.user.id, first.user.id);
    assert_eq!(second.user.external_id, first.user.external_id);
}

#[test]
fn a_persistent_or_transient_name_id_is_never_the_email() {
    for format in [PERSISTENT, TRANSIENT] {
        let fx = Fixture::new(false);
        let mut spec = fx.solicited("alice@acme.example");
        spec.name_id_format = format.into();
        spec.attributes.clear();

        assert_eq!(code(fx.post(&fx.sign(&spec))), "no_email", "{format}");
    }
}
