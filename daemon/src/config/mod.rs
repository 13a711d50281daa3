//! Configuration: the YAML file, secrets from the environment or files, and validation.
//!
//! [`load`] parses the raw file and turns it into typed values (addresses, URLs, schedules,
//! loaded IdP metadata), collecting every problem at once so an admin fixes them in one pass.
//! Nothing outside this module reads YAML. Secrets are wrapped in [`Secret`] as soon as they
//! are read.

mod build;
mod raw;
mod secret;
mod typed;

use std::fmt;
use std::path::{Path, PathBuf};

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
    /// The file is not valid YAML for this schema (unknown key, wrong type).
    #[error("config file {path} is not valid: {message}")]
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

/// serde stops at the first problem; list every unknown key too, so one check-config run
/// shows them all, with the first type error (if that is what stopped serde).
fn syntax_problems(text: &str, path: &Path, err: &serde_yaml::Error) -> ConfigError {
    let Ok(value) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return ConfigError::Syntax {
            path: path.to_path_buf(),
            message: err.to_string(),
        };
    };
    let mut problems = raw::unknown_keys(&value);
    let message = err.to_string();
    if !message.contains("unknown field") {
        let key = message.split(':').next().unwrap_or("(file)").to_string();
        problems.push(Problem {
            key,
            message: message.clone(),
        });
    }
    if problems.is_empty() {
        return ConfigError::Syntax {
            path: path.to_path_buf(),
            message,
        };
    }
    ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    }
}

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(&text, path)
}

/// Parses and validates configuration text; `path` names it in errors and anchors relative
/// file paths (metadata files, the SQLite database) at its folder.
pub fn load_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let raw: raw::RawConfig = if text.trim().is_empty() {
        raw::RawConfig::default()
    } else {
        serde_yaml::from_str(text).map_err(|err| syntax_problems(text, path, &err))?
    };
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    build::build(raw, &base_dir).map_err(|problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    })
}

#[cfg(test)]
mod tests;
