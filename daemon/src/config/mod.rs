//! Configuration: the YAML file, secrets from the environment or files, and validation.
//!
//! [`load`] parses the raw file and turns it into typed values (addresses, URLs, schedules,
//! loaded IdP metadata), collecting every problem at once so an admin fixes them in one pass:
//! unknown keys, values of the wrong kind and wrong values together. [`check`] also returns the
//! adapters that `check-config` asks about their settings. Nothing outside this module reads
//! YAML. Secrets are wrapped in [`Secret`] as soon as they are read, and no message quotes the
//! value of a key that may hold one.

mod adapter;
mod build;
mod raw;
mod schedule;
mod secret;
mod typed;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

pub use schedule::{Schedule, parse_schedule};
pub use secret::Secret;
pub use typed::*;

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the offending key, e.g. `connections[0].saml.metadata_file`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "cannot read config file {path} (give another with --config FILE or PROVISIOND_CONFIG)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not YAML; the message says where, never a value.
    #[error("config file {path} is not valid YAML: {message}")]
    Syntax { path: PathBuf, message: String },
    /// The file parsed but some values are wrong; every problem is listed.
    #[error("config file {path} has {} problem(s):\n{}", problems.len(), list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything `check-config` reports: every problem of the file, and the adapters to load and
/// ask about their settings (those of connections whose adapter could be read), even when
/// other sections have problems.
#[derive(Debug)]
pub struct Checked {
    /// The configuration, when the file has no problem.
    pub config: Option<Config>,
    /// Every problem found, section by section.
    pub problems: Vec<Problem>,
    /// The adapters to check.
    pub adapters: Vec<AdapterCheck>,
}

impl Checked {
    /// Adds problems found later (by the adapters, say), leaving out those at a key that has
    /// a problem already: an adapter asked about settings without a value the daemon could not
    /// resolve reports that value as missing.
    pub fn add_problems(&mut self, problems: impl IntoIterator<Item = Problem>) {
        let known: Vec<String> = self.problems.iter().map(|p| p.key.clone()).collect();
        let mut check = Checker {
            problems: std::mem::take(&mut self.problems),
            unusable: Vec::new(),
        };
        check
            .problems
            .extend(problems.into_iter().filter(|p| !known.contains(&p.key)));
        self.problems = check.into_problems();
        if !self.problems.is_empty() {
            self.config = None;
        }
    }
}

/// One connection's adapter, for `check-config` to load and ask about its settings.
#[derive(Debug)]
pub struct AdapterCheck {
    /// The connection's key, `connections[i]`.
    pub key: String,
    /// The adapter's name.
    pub name: String,
    /// Where its library is looked up; `None` when `adapters_dir` is unusable (reported).
    pub dir: Option<PathBuf>,
    /// Its settings as JSON, without the values that could not be read or resolved (each
    /// reported); `None` when `adapter_config` is not a mapping (reported). Never print it.
    pub settings: Option<Secret>,
}

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = read(path)?;
    load_str(&text, path)
}

/// Parses and validates configuration text; `path` names it in errors and anchors relative
/// file paths (metadata files, the SQLite database) at its folder.
pub fn load_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let checked = check_str(text, path)?;
    match checked.config {
        Some(config) if checked.problems.is_empty() => Ok(config),
        _ => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems: checked.problems,
        }),
    }
}

/// Reads a configuration file for `check-config`: every problem, and the adapters to check.
/// Fails only when the file cannot be read or is not YAML.
pub fn check(path: &Path) -> Result<Checked, ConfigError> {
    let text = read(path)?;
    check_str(&text, path)
}

/// [`check`] on text; `path` as for [`load_str`].
pub fn check_str(text: &str, path: &Path) -> Result<Checked, ConfigError> {
    let doc = yaml::parse(text).map_err(|message| ConfigError::Syntax {
        path: path.to_path_buf(),
        message,
    })?;
    let mut check = Checker::default();
    if !matches!(doc, yaml::Node::Map(_) | yaml::Node::Null) {
        check.add(
            "(file)",
            format!(
                "expected a mapping of sections (server, database, connections, ...), found {}",
                doc.kind_name()
            ),
        );
        return Ok(Checked {
            config: None,
            problems: check.into_problems(),
            adapters: Vec::new(),
        });
    }

    let raw = raw::RawConfig::read(&doc, &mut check);
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (config, adapters) = build::build(raw, &base_dir, &mut check);
    let problems = check.into_problems();
    Ok(Checked {
        config: config.filter(|_| problems.is_empty()),
        problems,
        adapters,
    })
}

/// Collects problems while the file is read and built. A key the reader could not use hides
/// the problems that would only follow from that (a "missing" value, a section's defaults).
#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
    unusable: Vec<String>,
}

impl Checker {
    /// Reports a problem at `key`, unless it follows from an unusable key at or above it.
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        if self.is_unusable(&key) {
            return;
        }
        self.problems.push(Problem {
            key,
            message: message.into(),
        });
    }

    /// Reports a value that could not be used at all, and hides what follows from it.
    fn unreadable(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        self.add(key.clone(), message);
        self.unusable.push(key);
    }

    /// Hides the problems that follow from `key` without reporting one there.
    fn hide(&mut self, key: impl Into<String>) {
        self.unusable.push(key.into());
    }

    /// Whether `key` is, or is inside, a key that could not be used.
    fn is_unusable(&self, key: &str) -> bool {
        self.unusable.iter().any(|bad| {
            key.strip_prefix(bad.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    /// The problems, section by section in the order of the file's reference (unknown
    /// top-level keys first, connections last and in order), each section's in the order found.
    fn into_problems(mut self) -> Vec<Problem> {
        self.problems
            .sort_by_key(|problem| section_rank(&problem.key));
        self.problems
    }
}

fn section_rank(key: &str) -> (usize, usize) {
    const SECTIONS: &[&str] = &["server", "database", "webhook", "adapters_dir"];
    if let Some(rest) = key.strip_prefix("connections") {
        let index = rest
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
            .and_then(|index| index.parse().ok())
            .unwrap_or(0);
        return (SECTIONS.len() + 1, index);
    }
    let section = key.split(['.', '[']).next().unwrap_or_default();
    let rank = SECTIONS
        .iter()
        .position(|known| *known == section)
        .map_or(0, |position| position + 1);
    (rank, 0)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
