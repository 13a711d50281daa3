//! The command line as a shell user meets it: output cut short by a reader such as `head`,
//! log lines written to a file rather than a terminal, and names from a directory that carry
//! terminal escape sequences.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use idp_sim::IdpKeys;

use super::e2e::free_port;
use super::support::TempDir;

/// A config with one SAML connection entered by hand, and SQLite (or the test PostgreSQL).
fn write_config(dir: &TempDir, port: u16) -> PathBuf {
    let keys = IdpKeys::generate(1).unwrap();
    let path = dir.0.join("provisiond.yaml");
    std::fs::write(
        &path,
        format!(
            "server:\n  listen: 127.0.0.1:{port}\n  base_url: http://127.0.0.1:{port}\n  \
             session_key: \"cli-test-session-key-0123456789abcdef\"\n\
             database:\n  url: \"{}\"\nconnections:\n  - name: acme\n    \
             domains: [acme.example]\n    saml:\n      idp_entity_id: https://idp.example/\n      \
             sso_url: http://127.0.0.1:9/saml2\n      certificates: [\"{}\"]\n",
            provisiond::testing::fresh_database_url(&dir.0),
            keys.key(0).cert_base64()
        ),
    )
    .unwrap();
    path
}

fn provisiond(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provisiond"));
    command.arg("--config").arg(config).args(args);
    command
}

#[test]
fn commands_end_quietly_when_the_reader_of_their_output_has_gone() {
    let dir = TempDir::new("closed-pipe");
    let path = write_config(&dir, free_port());
    let migrated = provisiond(&path, &["migrate"]).output().unwrap();
    assert!(migrated.status.success(), "{migrated:?}");

    for args in [
        &["check-config"][..],
        &["connection", "show", "acme"],
        &["migrate"],
        &["users", "list"],
        &["users", "list", "--json"],
        &["groups", "list"],
        &["sync-runs"],
        &["scim-token", "list"],
    ] {
        // A pipe whose reading end is closed before the command starts: its first write fails
        // with EPIPE, as with `| head` once head has exited.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = provisiond(&path, args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{args:?}: {:?}\n{stderr}",
            out.status
        );
    }
}

#[test]
fn logs_written_to_a_file_have_no_colour_codes() {
    let dir = TempDir::new("plain-log");
    let path = write_config(&dir, free_port());
    let log_path = dir.0.join("provisiond.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut serve = provisiond(&path, &["serve"])
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut text = String::new();
    while !text.contains("provisiond started") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        text = std::fs::read_to_string(&log_path).unwrap();
    }
    serve.kill().unwrap();
    serve.wait().unwrap();

    assert!(text.contains("provisiond started"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
}

/// Names a directory chose and the messages of sync runs reach `groups list`, `sync-runs`
/// and `users list` alike: a terminal escape sequence in them is shown escaped, never sent
/// to the terminal.
#[test]
fn listed_group_names_and_run_messages_cannot_drive_the_terminal() {
    use provisiond::store::{NewGroup, Store, SyncRunRow};

    let dir = TempDir::new("escapes");
    let path = write_config(&dir, free_port());
    let migrated = provisiond(&path, &["migrate"]).output().unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    let hostile = "Sales\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let config = provisiond::config::load(&path).unwrap();
    let store = Store::open(&config.database).unwrap();
    let now = chrono::Utc::now().naive_utc();
    store
        .write(|tx| {
            tx.insert_group(&NewGroup {
                id: provisiond::store::new_id(),
                connection: "acme".into(),
                external_id: Some("g1".into()),
                display_name: hostile.into(),
                source: "sync".into(),
                version: 1,
                created_at: now,
                updated_at: now,
            })?;
            tx.insert_sync_run(&SyncRunRow {
                id: provisiond::store::new_id(),
                connection: "acme".into(),
                trigger: "cli".into(),
                mode: "full".into(),
                status: "failed".into(),
                started_at: now,
                finished_at: Some(now),
                counts: "{}".into(),
                message: Some(format!("Graph said: {hostile}")),
            })
        })
        .unwrap();
    drop(store);

    for args in [&["groups", "list"][..], &["sync-runs"]] {
        let out = provisiond(&path, args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(
            stdout.contains("Sales\\u{1b}]0;pwned"),
            "{args:?}: {stdout}"
        );
        assert!(
            !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
            "{args:?}"
        );
    }
}

/// A `--connection` the config does not name, with nothing stored under it, is an error
/// naming the configured ones (a typo must not look like an empty connection); rows a
/// connection since removed from the config left behind are still listed, with a note.
#[test]
fn listing_a_connection_the_config_does_not_name_says_so() {
    use provisiond::store::{NewUser, Store};

    let dir = TempDir::new("unknown-connection");
    let path = write_config(&dir, free_port());
    let migrated = provisiond(&path, &["migrate"]).output().unwrap();
    assert!(migrated.status.success(), "{migrated:?}");

    for args in [
        &["users", "list", "--connection", "acmee"][..],
        &["users", "list", "--connection", "acmee", "--json"],
        &["groups", "list", "--connection", "acmee"],
        &["sync-runs", "--connection", "acmee"],
        &["scim-token", "list", "--connection", "acmee"],
    ] {
        let out = provisiond(&path, args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {out:?}");
        assert!(
            stderr.contains("no connection named \"acmee\"") && stderr.contains("acme"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }

    let config = provisiond::config::load(&path).unwrap();
    let store = Store::open(&config.database).unwrap();
    let now = chrono::Utc::now().naive_utc();
    store
        .write(|tx| {
            tx.insert_user(&NewUser {
                id: provisiond::store::new_id(),
                connection: "retired".into(),
                external_id: Some("r1".into()),
                email: "old@retired.example".into(),
                email_key: "old@retired.example".into(),
                user_name: None,
                given_name: None,
                family_name: None,
                display_name: None,
                active: true,
                source: "saml".into(),
                version: 1,
                created_at: now,
                updated_at: now,
                last_login_at: None,
            })
        })
        .unwrap();
    drop(store);
    let out = provisiond(
        &path,
        &["users", "list", "--connection", "retired", "--json"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"retired\" is not in"), "{stderr}");
}
