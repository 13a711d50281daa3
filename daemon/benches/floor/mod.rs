//! The store's floor for the ACS benchmark: the rows a first login writes (replay entry,
//! account, its `user.created` event, identity, session, audit row, `login` event), written
//! into the daemon's own schema on a connection opened as the daemon opens it, but through
//! SQLite's C API with every statement prepared once, every value formatted beforehand and
//! `per_commit` logins to a transaction. No store can write these rows for less on this
//! machine; what the store half costs above it is the daemon's own work.

use std::ffi::{CStr, CString, c_char, c_int};
use std::path::Path;
use std::time::{Duration, Instant};

use libsqlite3_sys as ffi;
use provisiond::config::{DatabaseConfig, DatabaseUrl};
use provisiond::store::{DbConnection, Manager, NewUser, Store, User, email_key, new_id};

/// What the floor run measured.
pub struct Floor {
    /// Time per login, commits included.
    pub per_login: Duration,
    /// Bytes the logins appended to the WAL, per login.
    pub wal_bytes_per_login: f64,
}

const STATEMENTS: [&str; 7] = [
    "INSERT OR IGNORE INTO saml_replay (connection, assertion_id, expires_at) VALUES (?, ?, ?)",
    "SELECT id, email_key, external_id, active FROM users WHERE connection = ? \
     AND external_id = ? UNION ALL SELECT id, email_key, external_id, active FROM users \
     WHERE connection = ? AND email_key = ?",
    "INSERT INTO users (id, connection, external_id, email, email_key, user_name, given_name, \
     family_name, display_name, active, source, version, created_at, updated_at, \
     last_login_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'saml', 1, ?, ?, ?)",
    "INSERT INTO events (event_id, kind, connection, subject_id, data, created_at) \
     VALUES (?, ?, ?, ?, ?, ?)",
    "INSERT OR IGNORE INTO identities (connection, issuer, subject, user_id, first_seen_at, \
     last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
    "INSERT INTO sessions (token_hash, user_id, connection, created_at, expires_at) \
     VALUES (?, ?, ?, ?, ?)",
    "INSERT INTO login_audit (at, connection, user_id, email, outcome, reason, detail) \
     VALUES (?, ?, ?, ?, 'success', 'created', '')",
];

/// One login's values, made before the clock starts.
struct Login {
    assertion_id: String,
    user_id: String,
    external_id: String,
    email: String,
    email_key: String,
    user_json: String,
    login_json: String,
    token_hash: String,
}

/// Writes `logins` first logins into a fresh database under `dir`, `per_commit` to a
/// transaction.
pub fn store_floor(dir: &Path, logins: usize, per_commit: usize) -> Floor {
    let path = dir.join("floor.db");
    // Made and migrated by the daemon's own code, then closed: the floor writes its schema.
    drop(
        Store::open(&DatabaseConfig {
            url: DatabaseUrl::Sqlite(path.clone()),
            max_connections: 2,
        })
        .unwrap(),
    );
    let now = chrono::Utc::now().naive_utc();
    let stamp = now.format("%Y-%m-%d %H:%M:%S%.f").to_string();
    let prepared: Vec<Login> = (0..logins).map(|i| login(i, now)).collect();

    let DbConnection::Sqlite(mut conn) = Manager::new(DatabaseUrl::Sqlite(path.clone()))
        .connect_now()
        .unwrap()
    else {
        unreachable!("a SQLite URL opens a SQLite connection")
    };
    let wal = path.with_extension("db-wal");
    let wal_before = std::fs::metadata(&wal).map_or(0, |m| m.len());
    // SAFETY: diesel hands out its live handle for the closure's length and nothing else
    // uses the connection meanwhile; every statement is finalized before the closure returns.
    let elapsed = unsafe {
        conn.with_raw_connection(|db| {
            let db = db.cast::<ffi::sqlite3>();
            let [replay, lookup, user, event, identity, session, audit] =
                STATEMENTS.map(|sql| Statement::prepare(db, sql));
            let started = Instant::now();
            for batch in prepared.chunks(per_commit) {
                exec(db, "BEGIN IMMEDIATE");
                for l in batch {
                    let s = stamp.as_str();
                    replay.run(&["acme", &l.assertion_id, s]);
                    let key = ["acme", &l.external_id, "acme", &l.email_key];
                    assert_eq!(lookup.run(&key), 0, "a first login");
                    let row = [
                        &l.user_id,
                        "acme",
                        &l.external_id,
                        &l.email,
                        &l.email_key,
                        &l.email,
                        "User",
                        "N",
                        "User N",
                        s,
                        s,
                        s,
                    ];
                    user.run(&row);
                    let id = new_id();
                    let created = [&id, "user.created", "acme", &l.user_id, &l.user_json, s];
                    event.run(&created);
                    let issuer = "https://sts.windows.net/9c1f6c3e/";
                    identity.run(&["acme", issuer, &l.email, &l.user_id, s, s]);
                    session.run(&[&l.token_hash, &l.user_id, "acme", s, s]);
                    audit.run(&[s, "acme", &l.user_id, &l.email]);
                    let id = new_id();
                    let login = [&id, "login", "acme", &l.user_id, &l.login_json, s];
                    event.run(&login);
                }
                exec(db, "COMMIT");
            }
            started.elapsed()
        })
    };
    let wal_after = std::fs::metadata(&wal).map_or(0, |m| m.len());
    Floor {
        per_login: elapsed / logins as u32,
        wal_bytes_per_login: wal_after.saturating_sub(wal_before) as f64 / logins as f64,
    }
}

fn login(i: usize, now: chrono::NaiveDateTime) -> Login {
    let email = format!("user{i}@acme.example");
    let user = User::from(NewUser {
        id: new_id(),
        connection: "acme".into(),
        external_id: Some(uuid::Uuid::new_v4().to_string()),
        email: email.clone(),
        email_key: email_key(&email),
        user_name: Some(email.clone()),
        given_name: Some("User".into()),
        family_name: Some("N".into()),
        display_name: Some("User N".into()),
        active: true,
        source: "saml".into(),
        version: 1,
        created_at: now,
        updated_at: now,
        last_login_at: Some(now),
    });
    let login_json = serde_json::json!({
        "user_id": user.id, "email": email, "connection": "acme"
    });
    Login {
        assertion_id: format!("_{}", uuid::Uuid::new_v4()),
        token_hash: format!(
            "{}.{}",
            uuid::Uuid::now_v7().simple(),
            hex::encode(rand::random::<[u8; 32]>())
        ),
        user_json: serde_json::to_string(&user).unwrap(),
        login_json: login_json.to_string(),
        external_id: user.external_id.clone().unwrap_or_default(),
        email_key: user.email_key,
        user_id: user.id,
        email,
    }
}

/// A prepared statement, finalized when dropped.
struct Statement {
    stmt: *mut ffi::sqlite3_stmt,
}

impl Statement {
    fn prepare(db: *mut ffi::sqlite3, sql: &str) -> Statement {
        let sql = CString::new(sql).unwrap();
        let mut stmt = std::ptr::null_mut();
        // SAFETY: `db` is an open handle, `sql` a NUL-terminated string that outlives the call.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, std::ptr::null_mut())
        };
        check(db, rc, "prepare");
        Statement { stmt }
    }

    /// Binds `values` to the parameters in order, steps to the end and resets; returns the
    /// number of rows the statement gave.
    fn run(&self, values: &[&str]) -> usize {
        for (i, value) in values.iter().enumerate() {
            // SAFETY: the statement is live; the text stays borrowed until the reset below,
            // the last use of the binding (SQLITE_STATIC: SQLite reads it in place).
            let rc = unsafe {
                ffi::sqlite3_bind_text(
                    self.stmt,
                    c_int::try_from(i + 1).unwrap(),
                    value.as_ptr().cast::<c_char>(),
                    c_int::try_from(value.len()).unwrap(),
                    ffi::SQLITE_STATIC(),
                )
            };
            assert_eq!(rc, ffi::SQLITE_OK, "bind");
        }
        let mut rows = 0;
        loop {
            // SAFETY: the statement is live and fully bound.
            match unsafe { ffi::sqlite3_step(self.stmt) } {
                ffi::SQLITE_ROW => rows += 1,
                ffi::SQLITE_DONE => break,
                rc => panic!("step failed with sqlite code {rc}"),
            }
        }
        // SAFETY: the statement is live; reset and unbind make it reusable.
        unsafe {
            ffi::sqlite3_reset(self.stmt);
            ffi::sqlite3_clear_bindings(self.stmt);
        }
        rows
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared on a handle still open, and is finalized once.
        unsafe { ffi::sqlite3_finalize(self.stmt) };
    }
}

fn exec(db: *mut ffi::sqlite3, sql: &str) {
    let sql = CString::new(sql).unwrap();
    // SAFETY: `db` is an open handle; no callback, no error message pointer.
    let rc = unsafe {
        ffi::sqlite3_exec(
            db,
            sql.as_ptr(),
            None,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    check(db, rc, "exec");
}

fn check(db: *mut ffi::sqlite3, rc: c_int, what: &str) {
    if rc != ffi::SQLITE_OK {
        // SAFETY: `db` is an open handle; sqlite3_errmsg returns a NUL-terminated string
        // owned by the connection, copied here before any other call.
        let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }.to_string_lossy();
        panic!("{what} failed: {message}");
    }
}
