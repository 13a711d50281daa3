//! Fuzz ACS validation up to the signature check: DTD refusal, the XML parser, the message
//! shape checks (assertion count, comments, algorithms, signature placement, unique IDs).
//! Any input must be refused with an error or reach xmlsec, never panic.

#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use provisiond::saml::metadata::IdpDescriptor;
use provisiond::saml::validate::{Expectations, validate_base64, validate_xml};

fuzz_target!(|data: &[u8]| {
    let idp = IdpDescriptor {
        entity_id: "https://sts.windows.net/t/".into(),
        sso_url: "https://idp.test/saml2".into(),
        certificates: Vec::new(),
    };
    let expect = Expectations {
        idp: &idp,
        sp_entity_id: "https://sp.test/saml/acme/metadata",
        acs_url: "https://sp.test/saml/acme/acs",
        clock_skew: chrono::Duration::seconds(180),
        allow_sha1: false,
    };
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let Ok(text) = std::str::from_utf8(data) else { return };
    // With no certificate configured nothing can verify, so nothing may be accepted.
    assert!(validate_xml(text, &expect, now).is_err());
    assert!(validate_base64(text, &expect, now).is_err());
});
