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

/// The problem `text` has at `key`, as check-config prints it; panics listing them all when
/// there is none there.
fn problem_at(text: &str, base: &Path, key: &str) -> String {
    let found = problems(text, base);
    match found.iter().find(|p| p.key == key) {
        Some(problem) => problem.to_string(),
        None => panic!("no problem at {key}: {found:?}"),
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
fn the_listing_bound_defaults_to_a_large_tenant_and_refuses_zero() {
    let base = dir();
    let connection = |sync: &str| {
        format!(
            "server:\n  session_key: \"0123456789abcdef0123456789abcdef\"\nconnections:\n  \
             - name: acme\n    domains: [acme.example]\n    adapter: entra\n    sync: {sync}\n"
        )
    };
    let path = base.join("provisiond.yaml");

    let config = load_str(&connection("{schedule: \"@hourly\"}"), &path).unwrap();
    let sync = config.connections[0].sync.as_ref().unwrap();
    assert_eq!(sync.max_listing_items, DEFAULT_MAX_LISTING_ITEMS);
    let text = connection("{schedule: \"@hourly\", max_listing_items: 2500}");
    let config = load_str(&text, &path).unwrap();
    assert_eq!(
        config.connections[0]
            .sync
            .as_ref()
            .unwrap()
            .max_listing_items,
        2500
    );

    let found = problems(
        &connection("{schedule: \"@hourly\", max_listing_items: 0}"),
        &base,
    );
    assert!(
        found
            .iter()
            .any(|p| p.key == "connections[0].sync.max_listing_items"),
        "{found:?}"
    );

    assert_eq!(
        sync.call_timeout,
        std::time::Duration::from_secs(DEFAULT_CALL_TIMEOUT_SECONDS)
    );
    for bad in ["0", "86401", "-5"] {
        let text = connection(&format!(
            "{{schedule: \"@hourly\", call_timeout_seconds: {bad}}}"
        ));
        let found = problems(&text, &base);
        assert!(
            found
                .iter()
                .any(|p| p.key == "connections[0].sync.call_timeout_seconds"),
            "{bad}: {found:?}"
        );
    }
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_connection_that_syncs_needs_its_email_domains() {
    let base = dir();
    let text = "server:\n  session_key: \"0123456789abcdef0123456789abcdef\"\nconnections:\n  \
                - name: acme\n    adapter: entra\n    sync: {schedule: \"@hourly\"}\n";
    let domains = problem_at(text, &base, "connections[0].domains");
    assert!(domains.contains("rejected"), "{domains}");
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn numbers_far_out_of_range_are_problems_not_panics() {
    let base = dir();
    let huge = format!(
        "server:\n  session_key: \"0123456789abcdef0123456789abcdef\"\n\
                        database:\n  max_connections: {}\n",
        "9".repeat(47)
    );
    let problem = problem_at(&huge, &base, "database.max_connections");
    assert!(problem.contains("far too large"), "{problem}");
    for (setting, key) in [
        (
            "clock_skew_seconds: 9223372036854775807",
            "clock_skew_seconds",
        ),
        (
            "clock_skew_seconds: -9223372036854775808",
            "clock_skew_seconds",
        ),
        (
            "metadata_refresh_minutes: 307445734561825861",
            "metadata_refresh_minutes",
        ),
        (
            "metadata_refresh_minutes: 10081",
            "metadata_refresh_minutes",
        ),
    ] {
        let text = format!(
            "server:\n  session_key: \"0123456789abcdef0123456789abcdef\"\nconnections:\n  \
             - name: acme\n    domains: [acme.example]\n    saml:\n      \
             metadata_url: https://idp.example/metadata\n      {setting}\n"
        );
        let found = problems(&text, &base);
        let wanted = format!("connections[0].saml.{key}");
        assert!(
            found.iter().any(|p| p.key == wanted),
            "{setting}: {found:?}"
        );
    }
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_postgres_url_libpq_would_misread_is_a_problem_that_does_not_quote_it() {
    let base = dir();
    for url in [
        "postgres://u:pw%zzSECRET@127.0.0.1/db",
        "postgres://u:SECRET/x@127.0.0.1/db",
        "postgres://u:SECRET@127.0.0.1:99999/db",
        "sqlite://file:SECRET.db?mode=rwc",
    ] {
        let text = format!(
            "server:\n  session_key: \"0123456789abcdef0123456789abcdef\"\n\
             database:\n  url: \"{url}\"\n"
        );
        let problem = problem_at(&text, &base, "database.url");
        assert!(!problem.contains("SECRET"), "{problem}");
    }
    std::fs::remove_dir_all(base).unwrap();
}

/// A password put into a URL by reference is that password, whatever it holds: PATH (set
/// wherever tests run) holds `/` and `:`, as generated passwords do.
#[test]
fn a_referenced_password_with_reserved_characters_reaches_the_url_encoded() {
    let base = dir();
    let path = std::env::var("PATH").unwrap();
    let encoded: String =
        percent_encoding::utf8_percent_encode(&path, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    for (url, expected) in [
        (
            "postgres://app:${PATH}@db.internal/prod",
            format!("postgres://app:{encoded}@db.internal/prod"),
        ),
        (
            "postgres://db.internal/prod?user=app&password=${PATH}",
            format!("postgres://db.internal/prod?user=app&password={encoded}"),
        ),
    ] {
        let text = format!(
            "server:\n  session_key: \"0123456789abcdef0123456789abcdef\"\n\
             database:\n  url: \"{url}\"\n"
        );
        let config = load_str(&text, &base.join("provisiond.yaml")).unwrap();
        let DatabaseUrl::Postgres(resolved) = &config.database.url else {
            panic!("{url}: not a PostgreSQL URL");
        };
        // The same bytes, percent-encoded by other rules for the characters URLs leave be.
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        assert_eq!(decode(resolved.expose()), decode(&expected), "{url}");
        assert!(!resolved.expose().contains(&path), "{url}");
    }
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_schedule_that_never_runs_again_is_a_problem() {
    let base = dir();
    let text = "server:\n  session_key: \"0123456789abcdef0123456789abcdef\"\nconnections:\n  \
                - name: acme\n    domains: [acme.example]\n    adapter: entra\n    \
                sync: {schedule: \"0 0 0 1 1 * 2020\"}\n";
    let schedule = problem_at(text, &base, "connections[0].sync.schedule");
    assert!(schedule.contains("no run after"), "{schedule}");
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_domain_listed_twice_on_one_connection_is_told_as_such() {
    let base = dir();
    let text = "server:\n  session_key: \"0123456789abcdef0123456789abcdef\"\nconnections:\n  \
                - name: acme\n    domains: [acme.example, ACME.example]\n";
    let twice = problem_at(text, &base, "connections[0].domains");
    assert!(twice.contains("listed twice"), "{twice}");
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
    let text = "server:\n  lisen: x\n  base_ur: y\ndatabse: {}\nconnections:\n  - name: a\n    \
                saml: { metdata_file: m }\n";
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
webhook:
  url: "http://127.0.0.1:9/hook"
  secret: "webhook-secret-0123456789"
  timeout_seconds: 5
connections:
  - name: acme
    domains: [acme.example]
    adapter: entra
    adapter_config: {{ tenant_id: t }}
    sync: {{ schedule: "*/30 * * * *", mode: full, max_deactivate: 5, max_listing_items: 9 }}
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
    // No problem at all, so no unknown key either.
    load_str(&text, &base.join("provisiond.yaml")).unwrap();
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn unknown_keys_wrong_kinds_and_wrong_values_are_listed_in_one_run() {
    let base = dir();
    let text = r#"
server:
  listen: "not an address"
  session_key: short
  session_ttl_minutes: "60"
  bogus: 1
databse: {}
database:
  max_connections: [4]
webhook:
  url: http://127.0.0.1:9/hook
  secret: ${PROVISIOND_TEST_SURELY_UNSET_WEBHOOK_SECRET}
  timeout_seconds: 0
connections:
  - name: acme
    domains: [acme.example]
    extra: x
    adapter: entra
    adapter_config:
      tenant_id: t
      client_secret: ${PROVISIOND_TEST_SURELY_UNSET_CLIENT_SECRET}
    sync:
      schedule: "0 3 * * 8"
      lease_seconds: -1
  - name: beta
    domains: [beta.example]
    saml:
      metadata_file: missing.xml
      allow_sha1: "yes"
      unknown_saml_key: 1
    sync: { schedule: "@daily", mode: sometimes }
"#;
    let checked = check_str(text, &base.join("provisiond.yaml")).unwrap();
    let keys: Vec<&str> = checked.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "databse",
            "server.bogus",
            "server.session_ttl_minutes",
            "server.listen",
            "server.session_key",
            "database.max_connections",
            "webhook.secret",
            "webhook.timeout_seconds",
            "connections[0].extra",
            "connections[0].sync.lease_seconds",
            "connections[0].adapter_config.client_secret",
            "connections[0].sync.schedule",
            "connections[1].saml.unknown_saml_key",
            "connections[1].saml.allow_sha1",
            "connections[1].saml.metadata_file",
            "connections[1].sync.mode",
            "connections[1].sync",
        ],
        "{:#?}",
        checked.problems
    );
    let message = |key: &str| {
        let problem = checked.problems.iter().find(|p| p.key == key).unwrap();
        problem.message.clone()
    };
    assert_eq!(
        message("server.session_ttl_minutes"),
        "expected a whole number, found text (write it without quotes)"
    );
    assert_eq!(
        message("database.max_connections"),
        "expected a whole number, found a list"
    );
    assert_eq!(
        message("connections[0].sync.lease_seconds"),
        "must not be negative"
    );
    assert!(message("connections[0].sync.schedule").contains("day-of-week 8"));
    assert!(checked.config.is_none());

    // The adapter is still there to be asked about its settings, without the one that could
    // not be resolved.
    let [adapter] = &checked.adapters[..] else {
        panic!("{:?}", checked.adapters)
    };
    assert_eq!(
        (adapter.key.as_str(), adapter.name.as_str()),
        ("connections[0]", "entra")
    );
    assert_eq!(adapter.dir.as_deref(), Some(&*base.join("adapters")));
    let settings = adapter.settings.as_ref().unwrap().expose().to_owned();
    assert_eq!(settings, r#"{"tenant_id":"t"}"#);
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_value_of_the_wrong_kind_hides_only_what_follows_from_it() {
    let base = dir();
    let text = "server:\n  session_key: [a, b]\n  admin_token: short\nconnections: 5\n";
    let found = problems(text, &base);
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "server.session_key: expected text, found a list",
            "server.admin_token: too short; use at least 24 random characters",
            "connections: expected a list of connections, found a number",
        ]
    );
    std::fs::remove_dir_all(base).unwrap();
}

/// Values in positions that hold, or may hold, a secret: the message of every problem of these
/// files must not contain them, whatever their YAML kind.
#[test]
fn no_value_in_a_secret_position_appears_in_any_message() {
    let base = dir();
    let files: &[(&str, &[&str])] = &[
        (
            "server:\n  session_key: 918273645546372819283746556473\n  admin_token: true\n\
             database: { url: 27182818284590452353602874713527 }\n\
             webhook: { url: \"http://127.0.0.1:9/h\", secret: 31415926535 }\n\
             connections:\n  - name: a\n    adapter: entra\n    adapter_config:\n      \
             client_secret: 918273645546372819283746556479\n      \
             huge: 340282366920938463463374607431768211455\n      \
             float: 6.02214076e999\n      \
             tagged: !secret s3cr3t-tagged-value\n      \
             list: [fine, !x s3cr3t-in-a-list]\n      \
             flag: !flag false\n",
            &[
                "918273645546372819283746556473",
                "27182818284590452353602874713527",
                "31415926535",
                "918273645546372819283746556479",
                "340282366920938463463374607431768211455",
                "6.02214076",
                "s3cr3t-tagged-value",
                "s3cr3t-in-a-list",
            ],
        ),
        (
            "server:\n  session_key: [s3cr3t-in-a-list-0123456789abcdef-0123]\n  \
             admin_token: { nested: s3cr3t-nested-0123456789abcdef }\n\
             webhook: { url: \"http://127.0.0.1:9/h\", secret: [s3cr3t-webhook-0123456789] }\n",
            &["s3cr3t-in-a-list", "s3cr3t-nested", "s3cr3t-webhook"],
        ),
        (
            "server:\n  session_key: s3cr3t-first-0123456789abcdef0123456\n  \
             session_key: s3cr3t-second-0123456789abcdef012345\n",
            &["s3cr3t-first", "s3cr3t-second"],
        ),
        (
            "server:\n  session_key: !!int s3cr3t-not-a-number\n",
            &["s3cr3t-not-a-number"],
        ),
        (
            "server:\n  session_key: !!bool s3cr3t-not-a-flag\n",
            &["s3cr3t-not-a-flag"],
        ),
    ];
    for (text, secrets) in files {
        let err = load_str(text, &base.join("provisiond.yaml")).unwrap_err();
        let shown = err.to_string();
        assert!(
            matches!(
                err,
                ConfigError::Invalid { .. } | ConfigError::Syntax { .. }
            ),
            "{shown}"
        );
        for secret in *secrets {
            assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
        }
    }

    // Booleans and short numbers: the messages of the secret keys themselves.
    let found = problems(
        "server:\n  session_key: false\n  admin_token: 1234567\n\
         webhook: { url: \"http://127.0.0.1:9/h\", secret: true }\n",
        &base,
    );
    for (key, value) in [
        ("server.session_key", "false"),
        ("server.admin_token", "1234567"),
        ("webhook.secret", "true"),
    ] {
        let problem = found.iter().find(|p| p.key == key).unwrap();
        assert!(!problem.message.contains(value), "{problem}");
    }
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_metadata_url_in_plain_http_is_a_problem_unless_it_stays_on_this_machine() {
    let base = dir();
    let config = |url: &str| {
        format!(
            "server:\n  session_key: \"0123456789abcdef0123456789abcdef\"\nconnections:\n  \
             - name: acme\n    domains: [acme.example]\n    saml:\n      metadata_url: {url}\n"
        )
    };
    let key = "connections[0].saml.metadata_url";
    // The metadata brings the certificates every login is checked against: anyone on the path
    // of a cleartext fetch could hand in their own.
    for url in [
        "http://login.example/metadata.xml",
        "http://10.0.0.5/metadata.xml",
        "http://127.0.0.1.nip.example/metadata.xml",
        "HTTP://idp.example/metadata.xml",
    ] {
        let problem = problem_at(&config(url), &base, key);
        assert!(problem.contains("https"), "{url}: {problem}");
    }
    for url in [
        "https://login.example/metadata.xml",
        "http://127.0.0.1:9000/metadata.xml",
        "http://127.8.9.10/metadata.xml",
        "http://[::1]:9000/metadata.xml",
        "http://localhost:9000/metadata.xml",
    ] {
        let found = match load_str(&config(url), &base.join("provisiond.yaml")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid { problems, .. }) => problems,
            Err(other) => panic!("{url}: {other:?}"),
        };
        assert!(found.iter().all(|p| p.key != key), "{url}: {found:?}");
    }
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_base_url_or_redirect_prefix_with_more_than_origin_and_path_is_refused() {
    let base = dir();
    let config = |url: &str| {
        format!(
            "server:\n  base_url: \"{url}\"\n  allowed_redirects: [\"{url}\"]\n  \
             session_key: test-session-key-0123456789abcdef\n"
        )
    };
    // The SP URLs are the base URL with a path appended: a fragment would end up before that
    // path (and never reach the server), a query or credentials inside every URL the IdP is
    // given. A redirect prefix is matched by origin and path only, so anything else in it
    // would be ignored without a word.
    for (url, expected) in [
        ("https://sso.example.com/base#top", "fragment"),
        ("https://sso.example.com/?tenant=1", "query"),
        (
            "https://admin:SuperSecretPw@sso.example.com/",
            "user name or password",
        ),
    ] {
        for key in ["server.base_url", "server.allowed_redirects[0]"] {
            let problem = problem_at(&config(url), &base, key);
            assert!(problem.contains(expected), "{url}: {problem}");
            assert!(!problem.contains("SuperSecretPw"), "{problem}");
        }
    }
    std::fs::remove_dir_all(base).unwrap();
}
