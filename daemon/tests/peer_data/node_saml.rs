//! node-saml: the signature matrix (response signed or not, assertion signed or not, signed or
//! unsigned Advice, transforms, several root elements).
//!
//! Upstream pins `cert.pem`, fakes the clock to 2020-09-25T16:59:00Z, sets its SP issuer to
//! `onesaml_login` and skips the audience check. The responses carry no AudienceRestriction at
//! all, and provisiond requires one naming the SP (profiles §4.1.4.2), so no file of the matrix
//! can be accepted. The valid ones must therefore be refused with exactly `audience`: that check
//! runs after signature verification, issuer and time checks, so reaching it shows every check
//! before it passed.

use std::path::Path;

use crate::{Connection, folder, idp_from_certificate, read};

const VALID: &str = "signatures/valid";
const INVALID: &str = "signatures/invalid";

fn node_saml(dir: &Path) -> Connection {
    Connection::new(
        idp_from_certificate("https://evil-corp.com", &read(dir, "cert.pem")),
        "onesaml_login",
        "https://evil-corp.madness.com/sso/callback",
        "2020-09-25T16:59:00Z",
    )
    .allowing_sha1()
}

fn files(dir: &Path, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(folder))
        .unwrap_or_else(|err| panic!("{folder}: {err}"))
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| format!("{folder}/{}", name.to_string_lossy()))
        .filter(|name| name.ends_with(".xml"))
        .collect();
    names.sort();
    names
}

/// What provisiond answers to a valid file of the matrix, by its name.
fn expected_for_valid(file: &str) -> &'static str {
    if file.contains("advice-signed") {
        // Here every signature closes its parent, where the schema has it right after the
        // Issuer. (The assertions inside Advice are ignored, as core §2.6.1 allows.)
        "signature_placement"
    } else if file.contains("encrypted") {
        "encrypted"
    } else {
        "audience"
    }
}

#[test]
fn valid_signature_matrix_passes_every_check_up_to_the_missing_audience() {
    let dir = folder!("node-saml");
    let sp = node_saml(&dir);
    let valid = files(&dir, VALID);
    assert_eq!(valid.len(), 16, "{valid:?}");

    let mismatches: Vec<String> = valid
        .iter()
        .filter_map(|file| {
            let got = sp.outcome(&dir, file);
            let want = expected_for_valid(file);
            (got != want).then(|| format!("{file}: expected {want}, got {got}"))
        })
        .collect();

    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn valid_signature_matrix_is_refused_with_an_untrusted_key() {
    let dir = folder!("node-saml");
    let mut wrong_key = node_saml(&dir);
    wrong_key.idp.certificates =
        idp_from_certificate("x", &read(&dir, "acme_tools_com.cert")).certificates;

    for file in files(&dir, VALID)
        .iter()
        .filter(|file| expected_for_valid(file) == "audience")
    {
        assert_eq!(wrong_key.outcome(&dir, file), "bad_signature", "{file}");
    }
}

#[test]
fn invalid_signature_matrix_is_all_refused() {
    let dir = folder!("node-saml");
    let sp = node_saml(&dir);
    let invalid = files(&dir, INVALID);
    assert_eq!(invalid.len(), 20, "{invalid:?}");

    let outcomes: Vec<(String, String)> = invalid
        .iter()
        .map(|file| (file.clone(), sp.outcome(&dir, file)))
        .collect();

    let accepted: Vec<&String> = outcomes
        .iter()
        .filter(|(_, code)| code == "accepted" || code == "audience")
        .map(|(file, _)| file)
        .collect();
    assert!(
        accepted.is_empty(),
        "passed every signature check: {accepted:?}"
    );
    let resigned = outcomes
        .iter()
        .find(|(file, _)| file.contains("resigned-by-attacker"))
        .map(|(_, code)| code.as_str());
    assert_eq!(resigned, Some("bad_signature"));
}
