//! The `idp-sim` binary: clear errors for bad tenant files, URLs on stdout, SIGTERM stops it.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_idp-sim");

fn quickstart_path() -> String {
    format!("{}/tenants/quickstart.yaml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_bad_tenant_file_is_named_with_the_offending_key() {
    let dir = std::env::temp_dir().join(format!("idp-sim-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenant.yaml");
    let text = std::fs::read_to_string(quickstart_path()).unwrap();
    std::fs::write(
        &file,
        text.replace("signing: assertion", "signing: everything"),
    )
    .unwrap();

    let output = Command::new(BINARY)
        .args([
            "--tenant",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains(file.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("signing"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_binary_prints_its_urls_and_stops_on_sigterm() {
    let mut child = Command::new(BINARY)
        .args(["--tenant", &quickstart_path(), "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let metadata = lines.next().unwrap().unwrap();
    let sso = lines.next().unwrap().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait().unwrap();

    assert!(
        metadata.starts_with("metadata: http://127.0.0.1:"),
        "{metadata}"
    );
    assert!(
        metadata.ends_with("?appid=3f0b8f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
        "{metadata}"
    );
    assert!(
        sso.ends_with("/9c1f6c3e-0d7a-4b3e-9a57-2f4a1d0c5b11/saml2"),
        "{sso}"
    );
    assert!(status.unwrap().success());
    assert!(exit.success(), "{exit:?}");
}
