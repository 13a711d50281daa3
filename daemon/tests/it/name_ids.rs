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

/// An address NameID keys the account whatever letter case the IdP writes it in (an admin
/// fixing the capitals of an address must not lock its owner out), also for an account keyed
/// before keys were folded; an opaque persistent NameID keeps its case.
#[test]
fn an_address_name_id_keys_the_account_in_any_letter_case() {
    let fx = Fixture::new(false);
    let login = |name_id: &str, format: &str| {
        let mut spec = fx.solicited("alice@acme.example");
        spec.name_id = name_id.into();
        spec.name_id_format = format.into();
        spec.attributes.retain(|(name, _)| name != OBJECT_ID);
        fx.post(&fx.sign(&spec))
    };
    let email_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

    let first = login("Alice@Acme.example", email_format).unwrap();
    assert_eq!(
        first.user.external_id.as_deref(),
        Some("alice@acme.example")
    );
    let second = login("ALICE@acme.example", UNSPECIFIED).unwrap();
    assert_eq!(second.user.id, first.user.id);

    // Keyed as the IdP wrote it, before folding.
    fx.store
        .write(|tx| {
            let user = tx.user(&first.user.id)?.unwrap();
            let changes = provisiond::store::UserChanges {
                external_id: Some("Alice@Acme.example".into()),
                ..Default::default()
            };
            tx.update_user(&user, &changes, super::support::fixed_now().naive_utc())
        })
        .unwrap();
    let third = login("alice@acme.example", email_format).unwrap();
    assert_eq!(third.user.id, first.user.id);
    assert_eq!(
        third.user.external_id.as_deref(),
        Some("alice@acme.example")
    );
    assert_eq!(fx.store.read(|tx| tx.users(None)).unwrap().len(), 1);

    // An opaque persistent id is compared as written: another case is another subject,
    // whose email then belongs to someone else.
    let fx = Fixture::new(false);
    let persistent = |name_id: &str| {
        let mut spec = fx.solicited("alice@acme.example");
        spec.name_id = name_id.into();
        spec.name_id_format = PERSISTENT.into();
        spec.attributes.retain(|(name, _)| name != OBJECT_ID);
        fx.post(&fx.sign(&spec))
    };
    assert!(persistent("AbC123").is_ok());
    assert_eq!(code(persistent("abc123")), "account_conflict");
}
