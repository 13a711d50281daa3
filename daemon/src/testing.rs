//! Test support shared by unit and integration tests: a fresh, empty database per test, on
//! SQLite by default or on the PostgreSQL server named by `PROVISIOND_TEST_POSTGRES_URL`
//! (an admin URL such as `postgres://user:pass@127.0.0.1:5432/postgres`).
//!
//! Not part of the daemon's behaviour; public only so integration tests can use it.

use std::path::Path;

use diesel::{Connection, RunQueryDsl};

/// A user of connection `acme` as a sign-in (`source` "saml") or a SCIM client ("scim")
/// stores it: active, version 1, created now, no names.
pub fn new_user(source: &str, external_id: Option<&str>, email: &str) -> crate::store::NewUser {
    let now = chrono::Utc::now().naive_utc();
    crate::store::NewUser {
        id: crate::store::new_id(),
        connection: "acme".into(),
        external_id: external_id.map(str::to_owned),
        email: email.into(),
        email_key: crate::store::email_key(email),
        user_name: None,
        given_name: None,
        family_name: None,
        display_name: None,
        active: true,
        source: source.into(),
        version: 1,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    }
}

/// A group of connection `acme` as sync stores it: version 1, created now.
pub fn new_group(id: &str, external_id: &str, display_name: &str) -> crate::store::NewGroup {
    let now = chrono::Utc::now().naive_utc();
    crate::store::NewGroup {
        id: id.into(),
        connection: "acme".into(),
        external_id: Some(external_id.into()),
        display_name: display_name.into(),
        source: "sync".into(),
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// The environment variable that switches tests to PostgreSQL.
pub const POSTGRES_ENV: &str = "PROVISIOND_TEST_POSTGRES_URL";

/// A temporary folder for one test, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// A new, empty folder whose name carries `tag`, the process id and a random part.
    #[allow(clippy::expect_used)]
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "provisiond-test-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("create a temporary folder");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Names the prefix of the databases tests create on PostgreSQL (lowercase letters, digits and
/// `_`; `provisiond_test` otherwise).
pub const DATABASE_PREFIX_ENV: &str = "PROVISIOND_TEST_DATABASE_PREFIX";

/// A database URL for one test: a new SQLite file in `dir`, or a new PostgreSQL database.
pub fn fresh_database_url(dir: &Path) -> String {
    match std::env::var(POSTGRES_ENV) {
        Ok(admin) if !admin.is_empty() => fresh_postgres_database(&admin),
        _ => format!("sqlite://{}", dir.join("provisiond.db").display()),
    }
}

/// Creates an empty database on the server and returns its URL.
#[allow(clippy::expect_used)]
fn fresh_postgres_database(admin: &str) -> String {
    // A run can name its databases (scripts/test does, to drop them when it ends).
    let prefix = std::env::var(DATABASE_PREFIX_ENV)
        .ok()
        .filter(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .unwrap_or_else(|| "provisiond_test".to_string());
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel::pg::PgConnection::establish(admin)
        .expect("the PostgreSQL server in PROVISIOND_TEST_POSTGRES_URL answers");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("CREATE DATABASE for a test");
    let mut url = url::Url::parse(admin).expect("PROVISIOND_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    url.to_string()
}
