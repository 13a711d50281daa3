//! Opening connections to the chosen backend, pooling them, and running migrations.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::ManageConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StoreError;
use crate::config::DatabaseUrl;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// A connection to either backend; queries are written once for both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// SQLite.
    Sqlite(SqliteConnection),
    /// PostgreSQL.
    Pg(PgConnection),
}

/// Opens connections of exactly the backend the URL names (never "try every backend").
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    /// A manager for this database.
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }

    /// Connects once, returning the driver's reason on failure.
    pub fn connect_now(&self) -> Result<DbConnection, StoreError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let target = path.display().to_string();
                let mut conn =
                    SqliteConnection::establish(&target).map_err(|err| StoreError::Open {
                        target: target.clone(),
                        cause: err.to_string(),
                    })?;
                // WAL lets readers run beside the writer; the busy timeout covers the short
                // windows where another process (a CLI command) holds the write lock. The
                // daemon checkpoints in the background (Store::checkpoint), so the automatic
                // checkpoint, which would stall the committing writer and every write queued
                // behind it, is only a bound (100,000 pages) for processes that do not; the
                // WAL file is cut back to 64 MiB once emptied.
                // Every commit empties the page cache of the other connections; reading the
                // file through a memory map makes refilling it a copy-free page lookup, and a
                // larger cache keeps a writer's working set (users and their indexes). Savepoints
                // (one per queued write) keep their undo pages in memory, not in a temp file.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 100000; PRAGMA journal_size_limit = 67108864; \
                     PRAGMA mmap_size = 268435456; PRAGMA cache_size = -8000; \
                     PRAGMA temp_store = MEMORY;",
                )
                .map_err(|err| StoreError::Open {
                    target: target.clone(),
                    cause: err.to_string(),
                })?;
                keep_query_plans(&mut conn).map_err(|cause| StoreError::Open { target, cause })?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let checked =
                    CheckedPostgresUrl::new(url.expose()).map_err(|cause| StoreError::Open {
                        target: "the PostgreSQL URL".into(),
                        cause,
                    })?;
                PgConnection::establish(&checked.connect)
                    .map(DbConnection::Pg)
                    .map_err(|err| StoreError::Open {
                        target: checked.shown.clone(),
                        cause: checked.scrub(&err.to_string()),
                    })
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.connect_now().map_err(|err| {
            diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                err.to_string(),
            ))
        })
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Whether the database still has a transaction open on this connection. SQLite ends one by
/// itself after some errors (an `OR ROLLBACK` conflict, sometimes a full disk or an I/O
/// error) while diesel still counts it as open; PostgreSQL keeps it open, failed, until a
/// rollback, which diesel tracks.
pub(super) fn in_open_transaction(conn: &mut DbConnection) -> bool {
    match conn {
        // SAFETY: the handle is the live connection diesel owns for the duration of the call;
        // sqlite3_get_autocommit only reads the connection's state.
        DbConnection::Sqlite(sqlite) => unsafe {
            sqlite.with_raw_connection(|db| {
                libsqlite3_sys::sqlite3_get_autocommit(db.cast::<libsqlite3_sys::sqlite3>()) == 0
            })
        },
        DbConnection::Pg(_) => true,
    }
}

/// Turns on SQLite's query planner stability guarantee (QPSG) for this connection.
///
/// Without it, SQLite marks a prepared statement for re-preparation whenever a bound value
/// might change its plan (since 3.54 any bound `LIMIT`, and `column = ?` terms), and diesel
/// clears the bindings of a cached statement before every reuse, which always triggers that:
/// every cached statement was parsed and planned again on each execution. With QPSG the plan
/// depends on the schema only, so the statement cache works; our queries do not rely on
/// value-dependent plans (no `LIKE` prefixes, no partial-index lookups by bound value).
fn keep_query_plans(conn: &mut SqliteConnection) -> Result<(), String> {
    let mut enabled: std::ffi::c_int = 0;
    // SAFETY: the handle is the live connection diesel owns for the duration of the call;
    // SQLITE_DBCONFIG_ENABLE_QPSG takes an int and an int pointer, both valid here.
    let rc = unsafe {
        conn.with_raw_connection(|db| {
            libsqlite3_sys::sqlite3_db_config(
                db.cast::<libsqlite3_sys::sqlite3>(),
                libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as std::ffi::c_int,
                &mut enabled as *mut std::ffi::c_int,
            )
        })
    };
    if rc == libsqlite3_sys::SQLITE_OK && enabled == 1 {
        Ok(())
    } else {
        Err(format!(
            "enabling the query planner stability guarantee failed (sqlite code {rc})"
        ))
    }
}

pub(super) fn run_migrations(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    result.map_err(|err| StoreError::Migration(err.to_string()))
}

/// Reverts the applied migrations newest first, down to and including the one whose
/// folder name starts with `version` (for tests of the down migrations); returns how many.
#[cfg(test)]
pub(super) fn revert_through(conn: &mut DbConnection, version: &str) -> Result<usize, StoreError> {
    let digits = |text: &str| {
        text.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    };
    let target = digits(version);
    let mut reverted = 0;
    loop {
        let last = match conn {
            DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
            DbConnection::Pg(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
        }
        .map_err(|err| StoreError::Migration(err.to_string()))?;
        reverted += 1;
        if digits(&last.to_string()) == target {
            return Ok(reverted);
        }
    }
}

pub(super) fn has_pending_migrations(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConnection::Pg(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    result.map_err(|err| StoreError::Migration(err.to_string()))
}

/// Whether libpq can be given this PostgreSQL URL (see `CheckedPostgresUrl`); the error
/// says how to write it and never quotes it.
pub fn check_postgres_url(raw: &str) -> Result<(), String> {
    CheckedPostgresUrl::new(raw).map(|_| ())
}

/// A PostgreSQL URL read the way libpq will read it, before libpq sees it: libpq's own
/// parse errors quote the text they choke on, which may be the password.
struct CheckedPostgresUrl {
    /// What libpq is given: the URL as the `url` crate serialises it (reserved characters
    /// in the password percent-encoded), so both read the same parts.
    connect: String,
    /// What errors show: no password and no query parameters (libpq takes a password there).
    shown: String,
    /// Texts that must not appear in an error: the password and every query value, as
    /// written and decoded.
    secrets: Vec<String>,
}

impl CheckedPostgresUrl {
    fn new(raw: &str) -> Result<Self, String> {
        const HOW: &str = "write it as postgres://user:password@host:port/database, with \
                           reserved characters in the user name and password percent-encoded \
                           (@ as %40, / as %2F, : as %3A, % as %25); the URL is not shown, as \
                           it may hold a password";
        let bad_escape = raw.match_indices('%').any(|(at, _)| {
            !raw.as_bytes()
                .get(at + 1..at + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        });
        if bad_escape {
            return Err(format!(
                "the URL has a `%` not followed by two hex digits; {HOW}"
            ));
        }
        if libpq_credentials_differ(raw) {
            return Err(format!(
                "the user name or password holds a `?` or `#`, which ends them early; {HOW}"
            ));
        }
        let hostless = hostless_user_as_parameters(raw);
        let raw = hostless.as_deref().unwrap_or(raw);
        let parsed = url::Url::parse(raw).map_err(|err| format!("{err}; {HOW}"))?;
        // libpq knows no fragment: it reads a `#` as part of the database name or of a value,
        // a URL parser as the start of a part to ignore (whose secrets would go unscrubbed).
        if parsed.fragment().is_some() {
            return Err(format!(
                "the URL has a `#`, which libpq does not read as a URL parser does (write it \
                 as %23); {HOW}"
            ));
        }
        if stray_at(&parsed) {
            return Err(format!(
                "the URL has an `@` after its host, as when a password holds a `/`; {HOW}"
            ));
        }
        // No host: libpq's default socket, or a `host` query parameter.
        let host = parsed.host_str().unwrap_or_default();
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let mut secrets = Vec::new();
        if let Some(password) = parsed.password() {
            secrets.extend([password.to_string(), decode(password)]);
        }
        // Query parameters that carry a password (libpq's `password`, `sslpassword`), as
        // written and decoded; the others (user, host, sslmode...) are kept readable.
        if let Some(query) = parsed.query() {
            for pair in query.split('&') {
                if let Some((name, value)) = pair.split_once('=')
                    && decode(name).to_ascii_lowercase().contains("pass")
                {
                    secrets.extend([value.to_string(), decode(value)]);
                    secrets.push(decode(&value.replace('+', " ")));
                }
            }
        }
        secrets.retain(|secret| !secret.is_empty());
        // Longest first, so a secret inside another is not left half shown.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
        let user = match (parsed.username(), parsed.password()) {
            ("", None) => String::new(),
            (user, None) => format!("{user}@"),
            (user, Some(_)) => format!("{user}:[redacted]@"),
        };
        let query = if parsed.query().is_some() {
            "?[parameters not shown]"
        } else {
            ""
        };
        Ok(Self {
            connect: parsed.to_string(),
            shown: format!(
                "{}://{user}{host}{port}{}{query}",
                parsed.scheme(),
                parsed.path()
            ),
            secrets,
        })
    }

    /// `message` with every secret of the URL replaced.
    fn scrub(&self, message: &str) -> String {
        self.secrets
            .iter()
            .fold(message.to_string(), |text, secret| {
                text.replace(secret.as_str(), "[redacted]")
            })
    }
}

/// Whether libpq takes other text for the user name and password than a URL parser does:
/// libpq reads them up to the first `@` before a `/`, a URL parser only up to a `?` or `#`
/// (the part of a password after one would become a host, a query or a fragment).
fn libpq_credentials_differ(raw: &str) -> bool {
    let Some((_, rest)) = raw.split_once("://") else {
        return false;
    };
    let before_path = &rest[..rest.find('/').unwrap_or(rest.len())];
    before_path
        .find('@')
        .is_some_and(|at| before_path[..at].contains(['?', '#']))
}

/// Whether an `@` stands after the host outside a query value: the rest of a password that
/// holds a `/` (or a `?` after one), which errors would otherwise show as the database name.
fn stray_at(parsed: &url::Url) -> bool {
    let in_query_name = parsed.query().is_some_and(|query| {
        query.split('&').any(|pair| {
            pair.split_once('=')
                .map_or(pair, |(name, _)| name)
                .contains('@')
        })
    });
    parsed.path().contains('@') || in_query_name
}

/// `postgres://user:password@/db?host=/run/postgresql` (a user before an empty host, libpq's
/// way to name a Unix socket's user) written as `postgres:///db?host=...&user=...&password=...`,
/// which libpq reads the same: a URL parser refuses credentials without a host. `None` for
/// any other URL.
fn hostless_user_as_parameters(raw: &str) -> Option<String> {
    let (scheme, rest) = raw.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);
    let userinfo = authority.strip_suffix('@')?;
    if userinfo.contains('@') {
        return None;
    }
    // As query values: decoded as libpq decodes them, then encoded for a query.
    let value = |text: &str| {
        let decoded = percent_encoding::percent_decode_str(text).collect::<Vec<u8>>();
        percent_encoding::percent_encode(&decoded, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    };
    let mut parameters = Vec::new();
    if !user.is_empty() {
        parameters.push(format!("user={}", value(user)));
    }
    if let Some(password) = password {
        parameters.push(format!("password={}", value(password)));
    }
    // First among the parameters: libpq lets a later one override an earlier one, and a
    // `user` or `password` the URL also has as a parameter overrides its credentials.
    let (path, query) = match after.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (after, None),
    };
    parameters.extend(query.filter(|query| !query.is_empty()).map(str::to_owned));
    let parameters = parameters.join("&");
    Some(if parameters.is_empty() {
        format!("{scheme}://{after}")
    } else {
        format!("{scheme}://{path}?{parameters}")
    })
}

#[cfg(test)]
mod tests {
    use super::CheckedPostgresUrl;

    #[test]
    fn a_user_before_a_unix_socket_host_becomes_parameters_libpq_reads_alike() {
        let peer = CheckedPostgresUrl::new("postgres://app@/prod?host=/run/postgresql").unwrap();
        assert_eq!(
            peer.connect,
            "postgres:///prod?user=app&host=/run/postgresql"
        );
        let checked =
            CheckedPostgresUrl::new("postgres://app:p%40ss&w=rd@/prod?host=/run/postgresql")
                .unwrap();
        assert_eq!(
            checked.connect,
            "postgres:///prod?user=app&password=p%40ss%26w%3Drd&host=/run/postgresql"
        );
        assert_eq!(checked.shown, "postgres:///prod?[parameters not shown]");
        let scrubbed = checked.scrub("password p@ss&w=rd refused");
        assert!(!scrubbed.contains("p@ss"), "{scrubbed}");
        let bare = CheckedPostgresUrl::new("postgres://app:secret@/prod").unwrap();
        assert_eq!(bare.connect, "postgres:///prod?user=app&password=secret");
    }

    #[test]
    fn a_user_or_password_parameter_still_overrides_the_credentials_of_a_socket_url() {
        // libpq reads `postgres://app:pw@/prod?user=other` as user `other`: of two values
        // of a parameter the later counts, and the query's come after the credentials.
        let checked = CheckedPostgresUrl::new(
            "postgres://app:pw@/prod?user=other&password=theirs&host=/run/postgresql",
        )
        .unwrap();
        assert_eq!(
            checked.connect,
            "postgres:///prod?user=app&password=pw&user=other&password=theirs\
             &host=/run/postgresql"
        );
        let empty_query = CheckedPostgresUrl::new("postgres://app@/prod?").unwrap();
        assert_eq!(empty_query.connect, "postgres:///prod?user=app");
    }

    #[test]
    fn a_password_holding_a_reserved_character_is_refused_without_showing_it() {
        // As a `${NAME}` reference puts an unencoded password into a URL: libpq and the URL
        // parser would read a host, a database name or a parameter out of it.
        for raw in [
            "postgres://app:/SECRET@db.internal/prod",
            "postgres://app:12/SECRET@db.internal/prod",
            "postgres://app:12/SE?CRET@db.internal/prod",
            "postgres://app:12/SE?x=1&CRET@db.internal/prod",
            "postgres://app:#SECRET@db.internal/prod",
            "postgres://app:?SECRET@db.internal/prod",
            "postgres://app:12#SECRET@/prod?host=/run/postgresql",
            // libpq reads the database `prod#x` and this password; a URL parser a fragment.
            "postgres://app:SECRET@/prod#x?host=/run/postgresql",
            "postgres://app:pw@db.internal/prod#SECRET",
        ] {
            let err = CheckedPostgresUrl::new(raw).err().expect(raw);
            assert!(
                !err.contains("SECRET") && !err.contains("CRET"),
                "{raw}: {err}"
            );
        }
        // An `@` in a parameter's value is a value (an Azure user name, say).
        let azure = CheckedPostgresUrl::new("postgres://db.internal/prod?user=app@server");
        assert!(azure.is_ok());
    }

    #[test]
    fn postgres_urls_libpq_would_misread_are_refused_without_showing_them() {
        for raw in [
            "postgres://user:p%zzword@127.0.0.1/db",
            "postgres://user:SECRET/x@127.0.0.1/db",
            "postgres://user:SECRET%@127.0.0.1/db",
        ] {
            let err = CheckedPostgresUrl::new(raw).err().expect(raw);
            assert!(
                !err.contains("SECRET") && !err.contains("zz"),
                "{raw}: {err}"
            );
            assert!(err.contains("postgres://user:password@host"), "{err}");
        }
    }

    #[test]
    fn what_errors_show_of_a_postgres_url_holds_no_secret() {
        let checked = CheckedPostgresUrl::new(
            "postgres://app:se%40cr%2Fet@db.internal:6543/prod?password=QS%21&sslmode=require",
        )
        .unwrap();
        assert_eq!(
            checked.shown,
            "postgres://app:[redacted]@db.internal:6543/prod?[parameters not shown]"
        );
        let message = "libpq quoting se@cr/et, se%40cr%2Fet, QS! and QS%21";
        let scrubbed = checked.scrub(message);
        for secret in ["se@cr", "cr/et", "cr%2Fet", "QS!", "QS%21"] {
            assert!(!scrubbed.contains(secret), "{scrubbed}");
        }
        let socket = CheckedPostgresUrl::new("postgres:///db?host=/run/pg&password=S").unwrap();
        assert_eq!(socket.shown, "postgres:///db?[parameters not shown]");
        // Parameters that hold no password stay readable in libpq's messages.
        let short = CheckedPostgresUrl::new("postgres://h/db?user=u&sslpassword=p%21").unwrap();
        assert_eq!(
            short.scrub("user u: bad key password p!"),
            "user u: bad key password [redacted]"
        );
        // libpq reads the same parts the url crate read: a reserved character stays encoded.
        assert!(
            checked.connect.contains("se%40cr%2Fet@db.internal"),
            "{}",
            checked.connect
        );
    }
}
