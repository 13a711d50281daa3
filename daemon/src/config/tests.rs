use std::path::Path;

use super::*;
use crate::testutil::{cert_base64, test_key_and_cert};

fn dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "provisiond-config-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn problems(text: &str, base: &Path) -> Vec<Problem> {
    match load_str(text, &base.join("provisiond.yaml")) {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn a_minimal_manual_connection_loads_with_defaults() {
    let base = dir();
    let (_, cert) = test_key_and_cert("idp");
    let text = format!(
        r#"
server:
  session_key: "0123456789abcdef0123456789abcdef"
connections:
  - name: acme
    domains: [ACME.example]
    saml:
      idp_entity_id: https://sts.windows.net/t/
      sso_url: https://login.example/t/saml2
      certificates: ["{}"]
"#,
        cert_base64(&cert)
    );
    let config = load_str(&text, &base.join("provisiond.yaml")).unwrap();
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.server.base(), "http://localhost:8080");
    let conn = config.connection("acme").unwrap();
    assert_eq!(conn.domains, vec!["acme.example"]);
    assert!(conn.owns_email("Alice@Acme.Example"));
    assert!(!conn.owns_email("alice@acme.example.evil"));
    // A domain matches in any ASCII letter case only: a look-alike letter (fullwidth `a`,
    // dotted capital I) is not the domain's.
    assert!(conn.owns_email("alice@ACME.example"));
    for domain in ["\u{FF41}cme.example", "acme.\u{130}xample"] {
        assert!(!conn.owns_email(&format!("alice@{domain}")), "{domain}");
        assert!(config.connection_for_domain(domain).is_none(), "{domain}");
    }
    let saml = conn.saml.as_ref().unwrap();
    assert_eq!(saml.clock_skew.num_seconds(), 180);
    assert!(!saml.allow_sha1 && !saml.allow_idp_initiated);
    let database = base.join("provisiond.db");
    assert!(matches!(config.database.url, DatabaseUrl::Sqlite(ref p) if p == &database));
    assert!(config.connection_for_domain("acme.EXAMPLE").is_some());
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn every_problem_is_listed_with_its_key() {
    let base = dir();
    let text = r#"
server:
  listen: "not an address"
  base_url: "ftp://x"
  session_key: short
database:
  url: mysql://db
connections:
  - name: "Bad Name"
    domains: ["not a domain"]
    saml:
      metadata_file: missing.xml
      clock_skew_seconds: -5
      attributes: { favourite_colour: x }
  - name: beta
    domains: [beta.example]
    saml: {}
    sync:
      schedule: "every tuesday"
"#;
    let found = problems(text, &base);
    let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
    for expected in [
        "server.listen",
        "server.base_url",
        "server.session_key",
        "database.url",
        "connections[0].name",
        "connections[0].domains[0]",
        "connections[0].saml.metadata_file",
        "connections[0].saml.clock_skew_seconds",
        "connections[0].saml.attributes.favourite_colour",
        "connections[1].saml",
        "connections[1].sync.schedule",
        "connections[1].sync",
    ] {
        assert!(keys.contains(&expected), "missing {expected} in {keys:?}");
    }
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn unknown_keys_are_a_syntax_error_naming_the_key() {
    let err = load_str("server:\n  lisen: 1\n", Path::new("x.yaml")).unwrap_err();
    assert!(err.to_string().contains("lisen"), "{err}");
}

#[test]
fn secrets_come_from_the_environment_and_never_show_in_errors() {
    let base = dir();
    let text = "server:\n  session_key: ${PROVISIOND_TEST_UNSET_SESSION_KEY_VAR}\n";
    let found = problems(text, &base);
    assert_eq!(found[0].key, "server.session_key");
    assert!(
        found[0]
            .message
            .contains("PROVISIOND_TEST_UNSET_SESSION_KEY_VAR")
    );

    let key_file = base.join("session.key");
    std::fs::write(&key_file, "s3cret-s3cret-s3cret-s3cret-s3cret-s3cret\n").unwrap();
    let text = format!("server:\n  session_key: file:{}\n", key_file.display());
    let config = load_str(&text, &base.join("provisiond.yaml")).unwrap();
    assert_eq!(
        config.server.session_key.expose(),
        "s3cret-s3cret-s3cret-s3cret-s3cret-s3cret"
    );
    assert!(!format!("{config:?}").contains("s3cret"));
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn schedules_accept_five_six_and_shortcut_forms() {
    assert!(parse_schedule("*/30 * * * *").is_ok());
    assert!(parse_schedule("0 */30 * * * *").is_ok());
    assert!(parse_schedule("@hourly").is_ok());
    assert!(parse_schedule("61 * * * *").is_err());
    assert!(MaxDeactivate::Percent(10.0).allows(10, 100));
    assert!(!MaxDeactivate::Percent(10.0).allows(11, 100));
    assert!(MaxDeactivate::Count(3).allows(3, 1000));
}

#[test]
fn a_domain_on_two_connections_is_refused() {
    let base = dir();
    let (_, cert) = test_key_and_cert("idp");
    let saml = format!(
        "saml: {{ idp_entity_id: x, sso_url: 'https://i/s', certificates: ['{}'] }}",
        cert_base64(&cert)
    );
    let text = format!(
        "server: {{ session_key: '0123456789abcdef0123456789abcdef' }}\nconnections:\n\
         \x20 - {{ name: a, domains: [d.example], {saml} }}\n\
         \x20 - {{ name: b, domains: [d.example], {saml} }}\n"
    );
    let found = problems(&text, &base);
    assert!(
        found
            .iter()
            .any(|p| p.key == "connections[1].domains" && p.message.contains("\"a\""))
    );
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn every_unknown_key_is_listed_not_just_the_first() {
    let text = "server:\n  lisen: x\n  base_ur: y\ndatabse: {}\nconnections:\n  - name: a\n    saml: { metdata_file: m }\n";
    let err = load_str(text, Path::new("x.yaml")).unwrap_err();
    let ConfigError::Invalid { problems, .. } = err else {
        panic!("{err}")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "server.lisen",
        "server.base_ur",
        "databse",
        "connections[0].saml.metdata_file",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
}

#[test]
fn the_known_key_lists_match_the_structs() {
    // A file using every key must load without an unknown-key problem.
    let base = dir();
    let (_, cert) = test_key_and_cert("idp");
    let text = format!(
        r#"
adapters_dir: adapters
server:
  listen: 127.0.0.1:8080
  base_url: http://localhost:8080
  session_key: "0123456789abcdef0123456789abcdef"
  session_ttl_minutes: 60
  allowed_redirects: [http://localhost:8080/]
  log_format: json
  admin_token: "admin-token-0123456789abcdef"
database: {{ url: "sqlite://x.db", max_connections: 4 }}
webhook: {{ url: "http://127.0.0.1:9/hook", secret: "webhook-secret-0123456789", timeout_seconds: 5 }}
connections:
  - name: acme
    domains: [acme.example]
    adapter: entra
    adapter_config: {{ tenant_id: t }}
    sync: {{ schedule: "*/30 * * * *", mode: full, max_deactivate: 5 }}
    saml:
      idp_entity_id: x
      sso_url: https://idp/sso
      certificates: ["{}"]
      sp_entity_id: urn:sp
      allow_idp_initiated: true
      clock_skew_seconds: 60
      allow_sha1: false
      attributes: {{ email: mail }}
"#,
        cert_base64(&cert)
    );
    let value: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert!(raw::unknown_keys(&value).is_empty());
    load_str(&text, &base.join("provisiond.yaml")).unwrap();
    std::fs::remove_dir_all(base).unwrap();
}
