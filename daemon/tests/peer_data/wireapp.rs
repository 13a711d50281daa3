//! wireapp/saml2-web-sso: a real Entra ID response and federation metadata, plus Okta and
//! Centrify captures (AGPL-3.0; read in place only).

use crate::{Connection, attribute, folder, idp_from_metadata, read};
use provisiond::saml::claims::identity;
use provisiond::saml::metadata::parse_metadata;

const TENANT: &str = "https://sts.windows.net/682febe8-021b-4fde-ac09-e60085f05181/";
/// Audience, Recipient and Destination of the Entra response.
const ENTRA_SP: &str = "https://zb2.zerobuzz.net:60443/authresp";
/// Inside the Conditions window (09:53:58..10:53:58) and the bearer one (..10:03:58).
const ENTRA_NOW: &str = "2018-04-14T09:58:58Z";

fn entra(dir: &std::path::Path) -> Connection {
    Connection::new(
        idp_from_metadata(dir, "microsoft-meta-2.xml"),
        ENTRA_SP,
        ENTRA_SP,
        ENTRA_NOW,
    )
}

#[test]
fn real_entra_response_is_accepted_with_its_federation_metadata() {
    let dir = folder!("wireapp-saml2-web-sso");

    let accepted = entra(&dir).accepts(&dir, "microsoft-authnresponse-2.xml");

    assert_eq!(accepted.issuer, TENANT);
    assert_eq!(
        accepted.name_id,
        "xJxdqS8W2UXawbZZqpGFXKG4uEmO5GjijKD2RkMipBo"
    );
    assert_eq!(
        accepted.name_id_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
    );
    assert_eq!(
        accepted.in_response_to.as_deref(),
        Some("idcf2299ac551b42f1aa9b88804ed308c2")
    );
    assert_eq!(
        accepted.assertion_id,
        "_c79c3ec8-1c26-4752-9443-1f76eb7d5dd6"
    );
    assert_eq!(
        accepted.session_index.as_deref(),
        Some("_c79c3ec8-1c26-4752-9443-1f76eb7d5dd6")
    );
    let claim = |name: &str| attribute(&accepted, name).to_string();
    assert_eq!(
        claim("http://schemas.microsoft.com/identity/claims/tenantid"),
        "682febe8-021b-4fde-ac09-e60085f05181"
    );
    assert_eq!(
        claim("http://schemas.microsoft.com/identity/claims/objectidentifier"),
        "ccfb3788-8241-4afe-8897-f313f35f9e37"
    );
    assert_eq!(
        claim("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"),
        "fisxt1@azurewire.onmicrosoft.com"
    );
    assert_eq!(
        claim("http://schemas.microsoft.com/identity/claims/displayname"),
        "fisxt1"
    );
    assert_eq!(
        claim("http://schemas.microsoft.com/identity/claims/identityprovider"),
        TENANT
    );
    // Replays are remembered until the later of the two windows, plus the skew.
    assert_eq!(accepted.replay_until, crate::at("2018-04-14T10:56:58.442Z"));
}

#[test]
fn real_entra_response_changed_after_signing_is_refused_as_bad_signature() {
    let dir = folder!("wireapp-saml2-web-sso");

    let outcome = entra(&dir).outcome(&dir, "microsoft-authnresponse-2-badsig.xml");

    assert_eq!(outcome, "bad_signature");
}

#[test]
fn real_entra_response_is_refused_outside_its_validity_window() {
    let dir = folder!("wireapp-saml2-web-sso");
    let late = Connection {
        now: crate::at("2018-04-14T10:10:00Z"),
        ..entra(&dir)
    };
    let early = Connection {
        now: crate::at("2018-04-14T09:40:00Z"),
        ..entra(&dir)
    };

    assert_eq!(
        late.outcome(&dir, "microsoft-authnresponse-2.xml"),
        "expired"
    );
    assert_eq!(
        early.outcome(&dir, "microsoft-authnresponse-2.xml"),
        "not_yet_valid"
    );
}

#[test]
fn real_entra_response_is_refused_for_another_sp_or_tenant() {
    let dir = folder!("wireapp-saml2-web-sso");
    let other_sp = Connection {
        sp_entity_id: "https://other.example.com/saml".into(),
        ..entra(&dir)
    };
    let mut other_tenant = entra(&dir);
    other_tenant.idp.entity_id =
        "https://sts.windows.net/00000000-0000-0000-0000-000000000000/".into();
    let other_acs = Connection {
        acs_url: "https://zb2.zerobuzz.net:60443/other".into(),
        ..entra(&dir)
    };

    assert_eq!(
        other_sp.outcome(&dir, "microsoft-authnresponse-2.xml"),
        "audience"
    );
    assert_eq!(
        other_tenant.outcome(&dir, "microsoft-authnresponse-2.xml"),
        "issuer"
    );
    assert_eq!(
        other_acs.outcome(&dir, "microsoft-authnresponse-2.xml"),
        "recipient"
    );
}

#[test]
fn real_entra_response_is_refused_with_another_idps_certificate() {
    let dir = folder!("wireapp-saml2-web-sso");
    let mut wrong_key = entra(&dir);
    wrong_key.idp.certificates = idp_from_metadata(&dir, "okta.com-metadata.xml").certificates;

    assert_eq!(
        wrong_key.outcome(&dir, "microsoft-authnresponse-2.xml"),
        "bad_signature"
    );
}

#[test]
fn vendor_metadata_parses_with_entity_ids_and_signing_certificates() {
    let dir = folder!("wireapp-saml2-web-sso");
    let cases = [
        ("microsoft-meta-2.xml", TENANT, 2),
        ("azure.microsoft.com-metadata.xml", TENANT, 2),
        (
            "okta.com-metadata.xml",
            "http://www.okta.com/exkh52ytxrJeMH5140h7",
            1,
        ),
        (
            "centrify.com-metadata.xml",
            "https://aaz0103.my.centrify.com/ab0bfb4a-9d7d-47c9-9bd8-b33010fc6ade",
            1,
        ),
    ];

    for (file, entity_id, certificates) in cases {
        let idp =
            parse_metadata(&read(&dir, file), None).unwrap_or_else(|err| panic!("{file}: {err}"));
        assert_eq!(idp.entity_id, entity_id, "{file}");
        assert_eq!(idp.certificates.len(), certificates, "{file}");
        assert!(
            idp.sso_url.starts_with("https://"),
            "{file}: {}",
            idp.sso_url
        );
    }
}

#[test]
fn real_okta_and_centrify_responses_are_accepted_with_their_metadata() {
    let dir = folder!("wireapp-saml2-web-sso");
    let okta = Connection::new(
        idp_from_metadata(&dir, "okta.com-metadata.xml"),
        "https://staging-nginz-https.zinfra.io/sso/finalize-login",
        "https://staging-nginz-https.zinfra.io/sso/finalize-login",
        "2018-11-01T15:59:35Z",
    );
    let centrify = Connection::new(
        idp_from_metadata(&dir, "centrify.com-metadata.xml"),
        "https://prod-nginz-https.wire.com/sso/finalize-login",
        "https://prod-nginz-https.wire.com/sso/finalize-login",
        "2018-11-26T10:45:08Z",
    );

    let from_okta = okta.accepts(&dir, "okta.com-authnresp.xml");
    let from_centrify = centrify.accepts(&dir, "centrify.com-authnresp.xml");

    assert_eq!(from_okta.issuer, "http://www.okta.com/exkh52ytxrJeMH5140h7");
    assert_eq!(
        from_okta.in_response_to.as_deref(),
        Some("_95bc5c57-2c97-4c98-96cc-af287cc4a9c0")
    );
    assert_eq!(
        from_centrify.in_response_to.as_deref(),
        Some("_ce2c1f8f-9568-4fc4-a040-0c6c09cec91c")
    );
    // Okta's default: the user name, an address, in an unspecified NameID and no claims at
    // all. That address is the person's email and the account's key.
    let names = provisiond::config::AttributeNames::default();
    let okta_person = identity(&from_okta, &names);
    assert_eq!(
        okta_person.email.as_deref(),
        Some("matthias.fischmann@wire.com")
    );
    assert_eq!(
        okta_person.external_id.as_deref(),
        Some("matthias.fischmann@wire.com")
    );
    // Centrify's unspecified NameID is a user name that only ends like a host name.
    assert_eq!(from_centrify.name_id, "admin_matthias.fischmann@wire.com.7");
}

#[test]
fn real_entra_response_names_its_person_by_object_id_and_upn() {
    let dir = folder!("wireapp-saml2-web-sso");
    let accepted = entra(&dir).accepts(&dir, "microsoft-authnresponse-2.xml");

    let person = identity(&accepted, &provisiond::config::AttributeNames::default());

    // A persistent NameID is opaque: the email comes from the UPN claim.
    assert_eq!(
        person.external_id.as_deref(),
        Some("ccfb3788-8241-4afe-8897-f313f35f9e37")
    );
    assert_eq!(
        person.email.as_deref(),
        Some("fisxt1@azurewire.onmicrosoft.com")
    );
    assert_eq!(person.display_name.as_deref(), Some("fisxt1"));
}
