//! Public SAML test material from other projects, run against provisiond's ACS validator and
//! metadata parser.
//!
//! The material lives outside this repository (several folders carry their own licence, one is
//! AGPL-3.0), so it is read in place from the folder named by `PROVISIOND_PEER_DATA` and never
//! copied here. Without that variable every test prints a one-line notice and passes: the
//! project's own tests stand on fixtures it generates itself.
//!
//! Each folder's `SOURCES.md` gives the clock, keys, ACS URL, audience and request id a fixture
//! needs; the constants in each module come from there or from the fixture itself. Refusals are
//! asserted by [`LoginError::code`] so a fixture refused for the wrong reason fails the test.

// Helpers here are test code too: a panic is a test failure that names the fixture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use provisiond::saml::LoginError;
use provisiond::saml::metadata::{IdpDescriptor, manual_descriptor, parse_metadata};
use provisiond::saml::validate::{Expectations, ValidatedAssertion, validate_base64, validate_xml};

#[path = "peer_data/crewjam.rs"]
mod crewjam;
#[path = "peer_data/node_saml.rs"]
mod node_saml;
#[path = "peer_data/python3_saml.rs"]
mod python3_saml;
#[path = "peer_data/ruby_saml.rs"]
mod ruby_saml;
#[path = "peer_data/samael.rs"]
mod samael;
#[path = "peer_data/wireapp.rs"]
mod wireapp;

const PEER_DATA_VAR: &str = "PROVISIOND_PEER_DATA";
/// The daemon's default `clock_skew_seconds`.
const SKEW_SECONDS: i64 = 180;
/// Stands in for the SSO URL when a test builds an IdP from a bare certificate.
const UNUSED_SSO_URL: &str = "https://idp.invalid/sso";

/// The peer-data subfolder `name`, or `None` (after a notice) when the variable is unset.
fn peer_folder(name: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os(PEER_DATA_VAR) else {
        println!("{PEER_DATA_VAR} is not set; skipping the {name} peer-data test");
        return None;
    };
    let dir = Path::new(&root).join(name);
    assert!(
        dir.join("SOURCES.md").is_file(),
        "{PEER_DATA_VAR} is set but {} has no SOURCES.md",
        dir.display()
    );
    Some(dir)
}

/// Binds the peer-data subfolder, or returns from the test when the variable is unset.
macro_rules! folder {
    ($name:literal) => {
        match crate::peer_folder($name) {
            Some(dir) => dir,
            None => return,
        }
    };
}
use folder;

/// A fixture file as text.
fn read(dir: &Path, file: &str) -> String {
    let path = dir.join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A fixed instant from an RFC 3339 literal.
fn at(instant: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(instant)
        .unwrap_or_else(|err| panic!("{instant}: {err}"))
        .with_timezone(&Utc)
}

/// The IdP described by a metadata file, parsed the way the daemon parses it.
fn idp_from_metadata(dir: &Path, file: &str) -> IdpDescriptor {
    parse_metadata(&read(dir, file), None).unwrap_or_else(|err| panic!("{file}: {err}"))
}

/// An IdP whose metadata offers no HTTP-Redirect SSO endpoint (provisiond sends AuthnRequests
/// by redirect only, so `parse_metadata` refuses it): configured by hand from the metadata's
/// entity ID and first certificate, as an admin would.
fn idp_by_hand(dir: &Path, metadata_file: &str) -> IdpDescriptor {
    let metadata = read(dir, metadata_file);
    assert_eq!(
        parse_metadata(&metadata, None),
        Err(provisiond::saml::metadata::MetadataError::NoRedirectSso),
        "{metadata_file}"
    );
    let entity_id = metadata
        .split("entityID=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an entityID");
    idp_from_certificate(entity_id, &certificate_in_key_info(&metadata))
}

/// An IdP configured by hand: its entity ID and one PEM or bare-base64 certificate.
fn idp_from_certificate(entity_id: &str, certificate: &str) -> IdpDescriptor {
    manual_descriptor(entity_id, UNUSED_SSO_URL, &[certificate.to_string()])
        .unwrap_or_else(|err| panic!("certificate for {entity_id}: {err}"))
}

/// One SAML connection as a fixture needs it: the IdP, this SP's values and the clock.
struct Connection {
    idp: IdpDescriptor,
    sp_entity_id: String,
    acs_url: String,
    now: DateTime<Utc>,
    allow_sha1: bool,
}

impl Connection {
    fn new(idp: IdpDescriptor, sp_entity_id: &str, acs_url: &str, now: &str) -> Self {
        Self {
            idp,
            sp_entity_id: sp_entity_id.to_string(),
            acs_url: acs_url.to_string(),
            now: at(now),
            allow_sha1: false,
        }
    }

    /// The same connection with `allow_sha1` set (many older fixtures are RSA-SHA1).
    fn allowing_sha1(self) -> Self {
        Self {
            allow_sha1: true,
            ..self
        }
    }

    /// Validates a posted message: XML as is, anything else as the base64 form value.
    fn validate(&self, message: &str) -> Result<ValidatedAssertion, LoginError> {
        let expect = Expectations {
            idp: &self.idp,
            sp_entity_id: &self.sp_entity_id,
            acs_url: &self.acs_url,
            clock_skew: chrono::Duration::seconds(SKEW_SECONDS),
            allow_sha1: self.allow_sha1,
        };
        let trimmed = message.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with('<') {
            validate_xml(message, &expect, self.now)
        } else {
            validate_base64(message, &expect, self.now)
        }
    }

    /// Validates a fixture file that must be accepted.
    fn accepts(&self, dir: &Path, file: &str) -> ValidatedAssertion {
        self.validate(&read(dir, file))
            .unwrap_or_else(|err| panic!("{file} was refused ({}): {err}", err.code()))
    }

    /// The refusal code of a fixture file, or `accepted`.
    fn outcome(&self, dir: &Path, file: &str) -> String {
        match self.validate(&read(dir, file)) {
            Ok(_) => "accepted".to_string(),
            Err(err) => {
                println!("{file}: {} ({err})", err.code());
                err.code().to_string()
            }
        }
    }
}

/// A fixture that must be refused, the code it must be refused with, and why that code.
struct Refusal {
    file: &'static str,
    code: &'static str,
    why: &'static str,
}

/// Checks every refusal and reports all mismatches at once.
fn assert_refusals(connection: &Connection, dir: &Path, cases: &[Refusal]) {
    let mismatches: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = connection.outcome(dir, case.file);
            (got != case.code).then(|| {
                format!(
                    "{}: expected {} ({}), got {got}",
                    case.file, case.code, case.why
                )
            })
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The single value of an attribute of an accepted assertion.
fn attribute<'a>(assertion: &'a ValidatedAssertion, name: &str) -> &'a str {
    match assertion.attributes.get(name).map(Vec::as_slice) {
        Some([value]) => value,
        other => panic!("attribute {name}: expected one value, got {other:?}"),
    }
}

/// The first non-empty `X509Certificate` in a message, as bare base64.
///
/// Only tests use this, to stand in for the certificate an admin would have configured; the
/// validator itself never takes a key from the message.
fn certificate_in_key_info(xml: &str) -> String {
    xml.split("X509Certificate>")
        .skip(1)
        .step_by(2)
        .filter_map(|rest| rest.split('<').next())
        .map(|body| body.split_whitespace().collect::<String>())
        .find(|body| !body.is_empty())
        .expect("a certificate in KeyInfo")
}

/// A base64 fixture decoded to text; some upstream fixtures are also raw-DEFLATE compressed
/// (as the HTTP-Redirect binding would send them), and are inflated here.
fn decode_fixture(dir: &Path, file: &str) -> String {
    use std::io::Read;

    let text = read(dir, file);
    let compact: String = text.split_whitespace().collect();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, compact)
        .unwrap_or_else(|err| panic!("{file}: {err}"));
    if let Ok(xml) = String::from_utf8(bytes.clone()) {
        return xml;
    }
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(bytes.as_slice())
        .read_to_string(&mut xml)
        .unwrap_or_else(|err| panic!("{file}: neither UTF-8 nor DEFLATE: {err}"));
    xml
}
