//! Identity keys on both backends (PostgreSQL when `PROVISIOND_TEST_POSTGRES_URL` is set): the
//! SQL folding agrees with [`crate::fold::fold_case`], folded lookups use their indexes, and the
//! key migration re-keys rows stored with Unicode lowercasing.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::fold::fold_case;
use super::schema::{groups, users};
use super::*;
use crate::config::{DatabaseConfig, DatabaseUrl};

/// Texts whose Unicode lowercasing differs from their ASCII-only folding.
const TRICKY: [&str; 8] = [
    "Kim@ACME.example",
    "\u{212A}im@acme.example",
    "\u{C9}MILE",
    "\u{130}STANBUL",
    "\u{1E9E}",
    "\u{3A3}\u{3A3}",
    "\u{FF2B}im",
    "\u{212B}NGSTR\u{D6}M",
];

fn open_fresh(dir: &crate::testing::TempDir) -> Store {
    let url = crate::testing::fresh_database_url(&dir.0);
    let url = match url.strip_prefix("sqlite://") {
        Some(path) => DatabaseUrl::Sqlite(path.into()),
        None => DatabaseUrl::Postgres(crate::config::Secret::new(url)),
    };
    Store::open(&DatabaseConfig {
        url,
        max_connections: 2,
    })
    .unwrap()
}

fn now() -> NaiveDateTime {
    super::models::stored_precision(Utc::now().naive_utc())
}

#[test]
fn sql_folding_folds_exactly_as_fold_case() {
    let dir = crate::testing::TempDir::new("fold");
    let store = open_fresh(&dir);
    let mut conn = store.connection().unwrap();
    for text in TRICKY {
        let query = diesel::select(fold_case(text.into_sql::<Text>()));
        let folded: String = on_backend!(&mut *conn, c => query.get_result(c)).unwrap();
        assert_eq!(folded, crate::fold::fold_case(text), "{text:?}");
    }
}

/// The folded lookups of SCIM filters are index searches: the SQL diesel renders for the
/// folded column is the expression the migration indexed.
#[test]
fn folded_and_work_email_lookups_use_indexes() {
    #[derive(QueryableByName)]
    struct SqliteStep {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    #[derive(QueryableByName)]
    struct PgLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }

    let dir = crate::testing::TempDir::new("fold-index");
    let store = open_fresh(&dir);
    let mut conn = store.connection().unwrap();
    // The SQL text without the list of binds `debug_query` appends.
    let text = |query: String| {
        query
            .split(" -- binds")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let (explain, user_name, display_name) = match &mut *conn {
        DbConnection::Sqlite(_) => (
            "EXPLAIN QUERY PLAN",
            text(
                diesel::debug_query::<diesel::sqlite::Sqlite, _>(&fold_case(users::user_name))
                    .to_string(),
            ),
            text(
                diesel::debug_query::<diesel::sqlite::Sqlite, _>(&fold_case(groups::display_name))
                    .to_string(),
            ),
        ),
        DbConnection::Pg(c) => {
            // Empty tables: the planner shows whether an index can serve at all.
            diesel::sql_query("SET enable_seqscan = off")
                .execute(c)
                .unwrap();
            (
                "EXPLAIN",
                text(
                    diesel::debug_query::<diesel::pg::Pg, _>(&fold_case(users::user_name))
                        .to_string(),
                ),
                text(
                    diesel::debug_query::<diesel::pg::Pg, _>(&fold_case(groups::display_name))
                        .to_string(),
                ),
            )
        }
    };
    // Each lookup must search its index by the folded value, not only by the connection.
    let searched = |folded: &'static str, column: &'static str| match store.backend() {
        Backend::Sqlite => format!(
            "AND {}=?)",
            if folded.is_empty() { column } else { "<expr>" }
        ),
        Backend::Postgres if folded.is_empty() => format!("{column} = 'a'"),
        Backend::Postgres => format!("{folded}({column}, "),
    };
    let lookups = [
        (
            "users",
            format!("{user_name} = 'a' AND scim_user_name_key IS NULL"),
            "users_connection_user_name_key",
            searched(folded_name(store.backend()), "user_name"),
        ),
        (
            "users",
            "scim_work_email_key = 'a'".to_string(),
            "users_connection_scim_work_email_key",
            searched("", "scim_work_email_key"),
        ),
        (
            "groups",
            format!("{display_name} = 'a' AND scim_display_name_key IS NULL"),
            "groups_connection_display_name_key",
            searched(folded_name(store.backend()), "display_name"),
        ),
    ];
    for (table, condition, index, search) in lookups {
        let sql =
            format!("{explain} SELECT id FROM {table} WHERE connection = 'acme' AND {condition}");
        let plan: Vec<String> = match &mut *conn {
            DbConnection::Sqlite(c) => {
                let steps: Vec<SqliteStep> = diesel::sql_query(&sql).load(c).unwrap();
                steps.into_iter().map(|s| s.detail).collect()
            }
            DbConnection::Pg(c) => {
                let lines: Vec<PgLine> = diesel::sql_query(&sql).load(c).unwrap();
                lines.into_iter().map(|l| l.line).collect()
            }
        };
        let plan = plan.join("\n");
        assert!(
            plan.contains(index) && plan.contains(&search),
            "{sql}:\n{plan}"
        );
        assert!(
            !plan.contains("Seq Scan") && !plan.contains("Filter"),
            "{sql}:\n{plan}"
        );
    }
}

/// The name of the function [`fold_case`] renders on this backend.
fn folded_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "lower",
        Backend::Postgres => "translate",
    }
}

/// A user as the version before ASCII-only keys stored it, SCIM-written when `resource` is
/// given: `email_key` and the userName key are whatever that version computed.
fn old_user(
    tx: &mut Tx<'_>,
    connection: &str,
    email: &str,
    email_key: &str,
    scim: Option<(serde_json::Value, &str)>,
) -> String {
    let mut user = crate::testing::new_user("scim", None, email);
    user.connection = connection.into();
    user.email_key = email_key.into();
    if let Some((resource, _)) = &scim {
        user.user_name = resource["userName"].as_str().map(str::to_string);
    }
    let id = tx.insert_user(&user).unwrap().id;
    if let Some((resource, user_name_key)) = scim {
        diesel::update(users::table.find(&id))
            .set((
                users::scim_resource.eq(resource.to_string()),
                users::scim_user_name_key.eq(user_name_key),
            ))
            .execute(tx.conn)
            .unwrap();
    }
    id
}

fn old_group(tx: &mut Tx<'_>, display_name: &str, scim: Option<&str>, key: &str) -> String {
    let at = now();
    let group = NewGroup {
        id: new_id(),
        connection: "acme".into(),
        external_id: None,
        display_name: display_name.into(),
        source: if scim.is_some() { "scim" } else { "sync" }.into(),
        version: 1,
        created_at: at,
        updated_at: at,
    };
    tx.insert_group(&group).unwrap();
    diesel::update(groups::table.find(&group.id))
        .set((
            groups::scim_resource.eq(scim),
            groups::scim_display_name_key.eq(key),
        ))
        .execute(tx.conn)
        .unwrap();
    group.id
}

fn scim_user(user_name: &str, emails: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "emails": emails,
    })
}

/// Rows keyed with Unicode lowercasing (as the previous version stored them) get ASCII-only
/// keys, SCIM-written resources their work email keys, and sync-created groups lose the key
/// copied from their name; ASCII keys stay as they were; a second run changes nothing.
#[test]
fn the_key_migration_rekeys_rows_stored_with_unicode_lowercasing() {
    let dir = crate::testing::TempDir::new("rekey");
    let store = open_fresh(&dir);
    let mut conn = store.connection().unwrap();
    let reverted =
        super::connection::revert_through(&mut conn, "2026-12-06-000001_ascii_case_keys").unwrap();
    drop(conn);

    let kelvin = "\u{212A}im@acme.example";
    let work = |value: &str| serde_json::json!({ "value": value, "type": "work" });
    let (ids, group_ids) = store
        .write(|tx| {
            let ids = [
                // An ASCII address: its key is the same either way.
                old_user(tx, "acme", "Kim@acme.example", "kim@acme.example", None),
                // A Kelvin sign took the ASCII key in another connection.
                old_user(tx, "beta", kelvin, "kim@acme.example", None),
                // White space around a non-ASCII address is trimmed as the code trims it.
                old_user(
                    tx,
                    "acme",
                    "\u{A0}\u{C9}mile@acme.example ",
                    "\u{E9}mile@acme.example",
                    None,
                ),
                // SCIM-written: its userName key comes from the resource, and the resource's
                // one work email (in two cases) is its work email key.
                old_user(
                    tx,
                    "acme",
                    "",
                    "",
                    Some((
                        scim_user(
                            kelvin,
                            serde_json::json!([work("KIM@acme.example"), work("kim@ACME.example")]),
                        ),
                        "kim@acme.example",
                    )),
                ),
                // Two different work emails: checked by every work email lookup.
                old_user(
                    tx,
                    "acme",
                    "a@acme.example",
                    "a@acme.example",
                    Some((
                        scim_user(
                            "A",
                            serde_json::json!([work("a@acme.example"), work("b@acme.example")]),
                        ),
                        "a",
                    )),
                ),
                // No work email, and a NUL escaped in the JSON of another attribute.
                old_user(
                    tx,
                    "acme",
                    "h@acme.example",
                    "h@acme.example",
                    Some((
                        serde_json::json!({
                            "userName": "\u{C9}mile",
                            "title": "a\u{0}b",
                            "emails": [{ "value": "h@acme.example", "type": "home" }],
                        }),
                        "\u{E9}mile",
                    )),
                ),
            ];
            let groups = [
                old_group(
                    tx,
                    "\u{C9}QUIPE",
                    Some(r#"{"displayName":"\u00c9QUIPE"}"#),
                    "\u{E9}quipe",
                ),
                old_group(tx, "Sales", Some(r#"{"displayName":"Sales"}"#), "sales"),
                old_group(tx, "Engineering", None, "eng"),
            ];
            Ok::<_, StoreError>((ids, groups))
        })
        .unwrap();

    for run in 0..2 {
        assert_eq!(store.migrate().unwrap(), reverted);
        let keys = |id: &str| {
            store
                .read(|tx| {
                    users::table
                        .find(id)
                        .select((
                            users::email_key,
                            users::scim_user_name_key,
                            users::scim_work_email_key,
                        ))
                        .first::<(String, Option<String>, Option<String>)>(tx.conn)
                        .map_err(StoreError::from)
                })
                .unwrap()
        };
        let some = |text: &str| Some(text.to_string());
        assert_eq!(
            keys(&ids[0]),
            ("kim@acme.example".into(), None, None),
            "run {run}"
        );
        assert_eq!(keys(&ids[1]).0, kelvin);
        assert_eq!(keys(&ids[2]).0, "\u{C9}mile@acme.example");
        assert_eq!(
            keys(&ids[3]),
            (String::new(), some(kelvin), some("kim@acme.example"))
        );
        assert_eq!(keys(&ids[4]).1, some("a"));
        assert_eq!(keys(&ids[4]).2, some(""));
        let (_, name_key, work_key) = keys(&ids[5]);
        assert_eq!(name_key, some("\u{C9}mile"));
        // PostgreSQL cannot read that JSON as text: the resource is checked by every lookup.
        let unread = (store.backend() == Backend::Postgres).then(String::new);
        assert_eq!(work_key, unread);

        let group_keys: Vec<Option<String>> = group_ids
            .iter()
            .map(|id| {
                store
                    .read(|tx| {
                        groups::table
                            .find(id)
                            .select(groups::scim_display_name_key)
                            .first(tx.conn)
                            .map_err(StoreError::from)
                    })
                    .unwrap()
            })
            .collect();
        assert_eq!(group_keys, [some("\u{C9}quipe"), some("sales"), None]);

        // The ASCII address and the Kelvin sign are different people again.
        let found = store
            .read(|tx| tx.user_by_email("beta", "kim@acme.example"))
            .unwrap();
        assert!(found.is_none(), "run {run}");

        let mut conn = store.connection().unwrap();
        super::connection::revert_through(&mut conn, "2026-12-06-000001_ascii_case_keys").unwrap();
    }
}
