//! Command-line interface: `serve`, `migrate`, `check-config`, `connection show`, `users list`,
//! `scim-token`, `groups list`, `sync` and `sync-runs`.
//!
//! Each command loads the configuration itself, so a bad file is reported the same way
//! everywhere. Errors bubble up as `anyhow` chains that `main` prints whole. Output goes
//! through `say!`, so a reader that stops early (`| head`) ends a command quietly with
//! [`OutputClosed`] instead of a panic.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, Config, ConfigError, IdpSource};
use crate::http::{self, AppState};
use crate::saml::{Providers, metadata};
use crate::store::Store;
use crate::sync::SyncContext;

/// Like `println!`, in a function returning `anyhow::Result`: a write error is returned, a
/// closed pipe as [`OutputClosed`].
macro_rules! say {
    () => {
        $crate::cli::write_out(format_args!("\n"))?
    };
    ($($arg:tt)*) => {
        $crate::cli::write_out(format_args!("{}\n", format_args!($($arg)*)))?
    };
}

mod sync;

/// Standard output was closed by its reader (`provisiond users list | head -3`). `main` ends
/// the command quietly and successfully, as command-line tools do.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct OutputClosed;

/// Writes to standard output; see [`say!`].
fn write_out(text: fmt::Arguments<'_>) -> anyhow::Result<()> {
    io::stdout().lock().write_fmt(text).map_err(|err| {
        if err.kind() == io::ErrorKind::BrokenPipe {
            anyhow::Error::new(OutputClosed)
        } else {
            anyhow::Error::new(err).context("writing to standard output")
        }
    })
}

/// provisiond: enterprise SSO (SAML 2.0) and user provisioning.
#[derive(Debug, Parser)]
#[command(name = "provisiond", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "PROVISIOND_CONFIG",
        default_value = "provisiond.yaml"
    )]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Validate the configuration and list every problem.
    CheckConfig,
    /// Inspect connections.
    Connection {
        #[command(subcommand)]
        command: ConnectionCommand,
    },
    /// Inspect users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Inspect groups.
    Groups {
        #[command(subcommand)]
        command: sync::GroupsCommand,
    },
    /// Sync one connection from its adapter now, and print what changed.
    Sync(sync::SyncArgs),
    /// Show recent sync runs, newest first.
    SyncRuns(sync::SyncRunsArgs),
    /// Manage the bearer tokens of connections' SCIM endpoints.
    ScimToken {
        #[command(subcommand)]
        command: ScimTokenCommand,
    },
}

/// `scim-token ...`.
#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// Create a token; it is printed once, with the tenant URL to paste into the IdP.
    Create {
        /// Connection name.
        connection: String,
        /// A note saying what the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (never the tokens themselves).
    List {
        /// Only this connection's tokens.
        #[arg(long)]
        connection: Option<String>,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token's id, as `scim-token list` shows it.
        id: String,
    },
}

/// `connection ...`.
#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// What to paste into the IdP, and the IdP values provisiond loaded.
    Show {
        /// Connection name.
        name: String,
    },
}

/// `users ...`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List users.
    List {
        /// Only this connection's users.
        #[arg(long)]
        connection: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::CheckConfig => check_config(&cli.config),
        Command::Sync(args) => sync::sync(&cli.config, args).await,
        Command::SyncRuns(args) => sync::sync_runs(&cli.config, &args),
        Command::Groups {
            command: sync::GroupsCommand::List { connection, json },
        } => sync::groups_list(&cli.config, connection.as_deref(), json),
        Command::Serve => serve(&cli.config).await,
        Command::Migrate => {
            let config = load(&cli.config)?;
            let store = Store::open_without_migrating(&config.database)?;
            let applied = store.migrate()?;
            say!("applied {applied} migration(s); the database is up to date");
            Ok(())
        }
        Command::Connection {
            command: ConnectionCommand::Show { name },
        } => connection_show(&cli.config, &name).await,
        Command::Users {
            command: UsersCommand::List { connection, json },
        } => users_list(&cli.config, connection.as_deref(), json),
        Command::ScimToken { command } => scim_token(&cli.config, command),
    }
}

fn load(path: &Path) -> anyhow::Result<Config> {
    config::load(path).map_err(anyhow::Error::from)
}

/// Lists every problem of the file, with the adapters' own checks of their settings, or
/// prints each scheduled connection's next runs.
fn check_config(path: &Path) -> anyhow::Result<()> {
    let mut checked = config::check(path)?;
    let adapter_problems = sync::adapter_problems(&checked.adapters);
    checked.add_problems(adapter_problems);
    let now = chrono::Utc::now();
    if !checked.problems.is_empty() {
        let err = ConfigError::Invalid {
            path: path.to_path_buf(),
            problems: checked.problems,
        };
        return Err(anyhow::anyhow!("{err}"));
    }

    let config = checked
        .config
        .context("the configuration has no problem but was not built")?;
    say!(
        "{}: OK ({} connection(s))",
        path.display(),
        config.connections.len()
    );
    for connection in &config.connections {
        let Some(sync) = &connection.sync else {
            continue;
        };
        let next: Vec<String> = sync
            .schedule
            .after(now)
            .take(3)
            .map(|time| time.format("%a %Y-%m-%d %H:%M:%S").to_string())
            .collect();
        say!(
            "  {}: sync {:?} in UTC; next runs {} UTC",
            connection.name,
            sync.schedule_text,
            next.join(", ")
        );
    }
    Ok(())
}

async fn serve(path: &Path) -> anyhow::Result<()> {
    let config = Arc::new(load(path)?);
    crate::telemetry::init(config.server.log_format);

    if let config::DatabaseUrl::Sqlite(path) = &config.database.url
        && path.as_os_str() != ":memory:"
    {
        crate::store::serving::claim(path)
            .context("claiming the SQLite database")?
            .keep_until_exit();
    }
    let store = Store::open(&config.database).context("opening the database")?;
    let providers = Providers::from_config(&config);
    let client = crate::saml::metadata_client().context("building the HTTP client")?;
    providers.load_remote_metadata(&client).await;
    providers.spawn_refresh(client);
    spawn_housekeeping(store.clone());
    // This process's name in leases held in the database.
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    if let Some(webhook) = config.webhook.clone() {
        tracing::info!(url = %webhook.url, "delivering events to the webhook");
        tokio::spawn(crate::events::run_webhook(
            store.clone(),
            webhook,
            holder.clone(),
        ));
    }

    // Adapters and the sync scheduler: a connection whose adapter fails to load logs the
    // error and fails its runs; the others, and the listener, carry on.
    let sync_context = Arc::new(SyncContext::new(config.clone(), store.clone()));
    let preload = sync_context.clone();
    tokio::task::spawn_blocking(move || preload.preload_adapters())
        .await
        .context("loading adapters")?;
    let scheduled = crate::sync::scheduler::spawn(sync_context.clone());

    let listener = http::bind(config.server.listen).await?;
    let local = listener.local_addr()?;
    tracing::info!(
        listen = %local,
        base_url = %config.server.base(),
        connections = config.connections.len(),
        scheduled_syncs = scheduled.len(),
        database = ?store.backend(),
        "provisiond started"
    );
    let state = AppState::new(config, store.clone(), providers).with_sync(sync_context);
    http::serve(state, listener, shutdown_signal()).await;

    // Let another replica take over at once rather than after the leases expire.
    let released = store
        .run(move |store| store.write(|tx| tx.release_leases_of(&holder)))
        .await;
    if let Err(err) = released {
        tracing::warn!(error = %err, "could not release leases; they expire on their own");
    }
    tracing::info!("provisiond stopped");
    Ok(())
}

/// Deletes expired request state, replay entries and sessions every few minutes, and
/// checkpoints the SQLite WAL every second.
fn spawn_housekeeping(store: Store) {
    store.spawn_checkpoints();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let now = chrono::Utc::now().naive_utc();
            let result = store
                .run(move |store| {
                    store.write(|tx| {
                        Ok::<_, crate::store::StoreError>(
                            tx.purge_expired_saml_state(now)? + tx.purge_expired_sessions(now)?,
                        )
                    })
                })
                .await;
            match result {
                Ok(removed) => tracing::debug!(removed, "purged expired state"),
                Err(err) => tracing::warn!(error = %err, "purging expired state failed"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down; finishing in-flight requests");
}

async fn connection_show(path: &Path, name: &str) -> anyhow::Result<()> {
    let config = load(path)?;
    let conn = config
        .connection(name)
        .with_context(|| format!("no connection named {name:?} in {}", path.display()))?;
    say!("Connection {}", conn.name);
    say!("  Domains:               {}", conn.domains.join(", "));
    say!();
    say!("SCIM provisioning (Entra ID: Enterprise app > Provisioning > Admin Credentials):");
    say!(
        "  Tenant URL:             {}",
        scim_tenant_url(&config, name)
    );
    say!("  Secret Token:           from `provisiond scim-token create {name}`");
    let providers = Providers::from_config(&config);
    let Some(sp) = providers.get(name) else {
        say!("  SAML:                  not configured");
        return Ok(());
    };
    say!();
    say!("Paste into the IdP (Entra ID: Enterprise app > Single sign-on > SAML):");
    say!("  Identifier (Entity ID): {}", sp.sp_entity_id);
    say!("  Reply URL (ACS URL):    {}", sp.acs_url);
    say!("  Sign on URL:            {}", sp.login_url);
    say!("  SP metadata URL:        {}", sp.metadata_url);
    say!("  NameID:                 user's email (emailAddress format)");
    say!();

    let source = match &sp.settings.idp {
        IdpSource::File { path, .. } => format!("metadata file {}", path.display()),
        IdpSource::Url { url, .. } => format!("metadata URL {url}"),
        IdpSource::Manual(_) => "values entered by hand".to_string(),
    };
    if let IdpSource::Url { url, entity_id, .. } = &sp.settings.idp {
        let fetched = match crate::saml::metadata_client() {
            Ok(client) => crate::saml::fetch_metadata(&client, url, entity_id.as_deref()).await,
            Err(err) => Err(format!("building the HTTP client: {err}")),
        };
        match fetched {
            Ok(descriptor) => sp.set_idp(descriptor),
            Err(err) => say!("  (could not fetch metadata now: {err})"),
        }
    }
    say!("IdP values loaded from {source}:");
    match sp.idp() {
        Some(idp) => {
            say!("  IdP entity ID:          {}", printable(&idp.entity_id));
            say!("  SSO URL:                {}", printable(&idp.sso_url));
            for (i, der) in idp.certificates.iter().enumerate() {
                say!(
                    "  Signing certificate {}:  SHA-256 {}",
                    i + 1,
                    metadata::fingerprint(der)
                );
            }
        }
        None => say!("  (none loaded)"),
    }
    say!(
        "  IdP-initiated login:    {}",
        if sp.settings.allow_idp_initiated {
            "allowed"
        } else {
            "refused"
        }
    );
    Ok(())
}

/// Where an IdP pushes a connection's users and groups.
fn scim_tenant_url(config: &Config, connection: &str) -> String {
    format!("{}/scim/v2/{connection}", config.server.base())
}

fn users_list(path: &Path, connection: Option<&str>, json: bool) -> anyhow::Result<()> {
    let config = load(path)?;
    // Listing must not create an empty database where the admin expected theirs.
    if let config::DatabaseUrl::Sqlite(file) = &config.database.url
        && file.as_os_str() != ":memory:"
        && !file.exists()
    {
        anyhow::bail!(
            "database file {} does not exist; check database.url in {} (a relative path is \
             relative to the config file's folder) or run `provisiond migrate` to create it",
            file.display(),
            path.display()
        );
    }
    let store = Store::open(&config.database)?;
    let users = store.read(|tx| tx.users(connection))?;
    check_listed_connection(&config, path, connection, users.len())?;
    if json {
        say!("{}", serde_json::to_string_pretty(&users)?);
        return Ok(());
    }
    say!(
        "{:<36}  {:<12}  {:<32}  {:<24}  {:<8}  SOURCE",
        "ID",
        "CONNECTION",
        "EMAIL",
        "NAME",
        "ACTIVE"
    );
    for user in &users {
        let name = [user.given_name.as_deref(), user.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        say!(
            "{:<36}  {:<12}  {:<32}  {:<24}  {:<8}  {}",
            printable(&user.id),
            printable(&user.connection),
            printable(&user.email),
            printable(&name),
            if user.active { "yes" } else { "no" },
            printable(&user.source)
        );
    }
    say!("{} user(s)", users.len());
    Ok(())
}

/// Checks a listing's `--connection` against the config once the rows are read: a name the
/// config does not have, with nothing stored under it, is an error (most likely a typo, which
/// would otherwise look like an empty connection); with rows stored under it (a connection
/// since removed from the config), a note on standard error says so and the rows are shown.
fn check_listed_connection(
    config: &Config,
    path: &Path,
    connection: Option<&str>,
    rows: usize,
) -> anyhow::Result<()> {
    let Some(name) = connection.filter(|name| config.connection(name).is_none()) else {
        return Ok(());
    };
    if rows == 0 {
        let configured: Vec<&str> = config.connections.iter().map(|c| c.name.as_str()).collect();
        anyhow::bail!(
            "no connection named {:?} in {} (configured: {}), and nothing of that name to list",
            printable(name),
            path.display(),
            if configured.is_empty() {
                "none".to_owned()
            } else {
                configured.join(", ")
            }
        );
    }
    eprintln!(
        "note: connection {:?} is not in {}; showing what the store still holds for it",
        printable(name),
        path.display()
    );
    Ok(())
}

/// Text from an IdP or the database, made safe for a terminal: control characters (escape
/// sequences a name could carry) are shown escaped instead of being interpreted.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// [`printable`] line by line, for a text of several lines (a run's summary and plan) that
/// quotes an IdP's names and messages: its own line breaks stay.
fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

fn scim_token(path: &Path, command: ScimTokenCommand) -> anyhow::Result<()> {
    let config = load(path)?;
    let store = Store::open(&config.database)?;
    let now = chrono::Utc::now();
    match command {
        ScimTokenCommand::Create { connection, label } => {
            config.connection(&connection).with_context(|| {
                format!("no connection named {connection:?} in {}", path.display())
            })?;
            let issued = crate::scim::tokens::create_token(&store, &connection, &label, now)?;
            say!(
                "SCIM token {} for connection {connection}",
                issued.record.id
            );
            say!();
            say!(
                "Paste into the IdP (Entra ID: Enterprise app > Provisioning > Admin Credentials):"
            );
            say!("  Tenant URL:    {}", scim_tenant_url(&config, &connection));
            say!("  Secret Token:  {}", issued.token);
            say!();
            say!("The token is shown only now; provisiond keeps a hash of it.");
        }
        ScimTokenCommand::List { connection } => {
            let tokens = store.read(|tx| tx.scim_tokens(connection.as_deref()))?;
            check_listed_connection(&config, path, connection.as_deref(), tokens.len())?;
            say!(
                "{:<36}  {:<12}  {:<20}  {:<19}  {:<19}  REVOKED",
                "ID",
                "CONNECTION",
                "LABEL",
                "CREATED",
                "LAST USED"
            );
            let time = |t: Option<chrono::NaiveDateTime>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".to_string())
            };
            for token in &tokens {
                say!(
                    "{:<36}  {:<12}  {:<20}  {:<19}  {:<19}  {}",
                    token.id,
                    token.connection,
                    token.label,
                    time(Some(token.created_at)),
                    time(token.last_used_at),
                    time(token.revoked_at),
                );
            }
            say!("{} token(s)", tokens.len());
        }
        ScimTokenCommand::Revoke { id } => {
            let revoked = store.write(|tx| tx.revoke_scim_token(&id, now.naive_utc()))?;
            if !revoked {
                anyhow::bail!("no unrevoked SCIM token has id {id:?}");
            }
            say!(
                "revoked SCIM token {id}; running servers refuse it within {} seconds",
                crate::scim::tokens::TOKEN_CACHE_SECONDS
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escape_sequences_in_listed_values_are_shown_escaped() {
        assert_eq!(printable("Alice Smith"), "Alice Smith");
        assert_eq!(
            printable("Mallory\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n"),
            "Mallory\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\r\\n"
        );
    }
}
