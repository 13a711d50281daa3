//! Finding an adapter library in the adapters directory, loading it and checking its table.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use provisiond_plugin_api::abi::EntryPoint;
use provisiond_plugin_api::{
    AdapterGroup, AdapterInstance, AdapterLibrary, AdapterUser, ConfigProblem, DeltaPage,
    Description, ENTRY_SYMBOL, Page,
};
use serde_json::Value;

use super::PluginError;
use super::host::{DaemonHost, provider};
use super::http::HttpClient;

/// The file names tried for adapter `name`, in order, for the current platform.
///
/// The preferred name follows the crate naming convention: crate `provisiond-adapter-{name}`
/// builds `libprovisiond_adapter_{name}.so` (`.dylib` on macOS,
/// `provisiond_adapter_{name}.dll` on Windows). The short `lib{name}.so` is accepted too. A
/// `-` in the name is read as `_`, as cargo does for library file names.
pub fn library_file_names(name: &str) -> Vec<String> {
    let stem = name.replace('-', "_");
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    vec![
        format!("{prefix}provisiond_adapter_{stem}{suffix}"),
        format!("{prefix}{stem}{suffix}"),
    ]
}

/// Finds the library file of adapter `name` in `dir`.
pub fn find_library(dir: &Path, name: &str) -> Result<PathBuf, PluginError> {
    check_name(name)?;
    let names = library_file_names(name);
    names
        .iter()
        .map(|file| dir.join(file))
        .find(|path| path.is_file())
        .ok_or_else(|| PluginError::LibraryNotFound {
            adapter: name.to_owned(),
            dir: dir.to_path_buf(),
            tried: names.join(", "),
        })
}

/// A loaded, checked adapter library. Cheap to clone; the library stays loaded while any clone
/// or [`AdapterSession`] lives.
#[derive(Clone)]
pub struct LoadedAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    path: PathBuf,
    description: Description,
    api: AdapterLibrary,
    // Declared last: unloaded after everything that points into it.
    _library: libloading::Library,
}

impl fmt::Debug for LoadedAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedAdapter")
            .field("name", &self.inner.name)
            .field("path", &self.inner.path)
            .field("version", &self.inner.description.version)
            .finish()
    }
}

impl LoadedAdapter {
    /// Finds adapter `name` in `dir` (see [`library_file_names`]) and loads it.
    pub fn load(dir: &Path, name: &str) -> Result<Self, PluginError> {
        let path = find_library(dir, name)?;
        Self::load_file(name, &path)
    }

    /// Loads the library at `path` as adapter `name`: checks the entry symbol and ABI version
    /// and asks the adapter to describe itself.
    ///
    /// Loading runs the library's initialisers: only load adapters from a directory the admin
    /// controls.
    pub fn load_file(name: &str, path: &Path) -> Result<Self, PluginError> {
        check_name(name)?;

        // SAFETY: loading a library runs its initialisers; adapters are trusted code installed
        // by the admin, the same trust as the daemon binary itself.
        let library = unsafe { libloading::Library::new(path) }.map_err(|source| {
            PluginError::LoadFailed {
                adapter: name.to_owned(),
                path: path.to_path_buf(),
                source,
            }
        })?;

        // SAFETY: the symbol is declared with the EntryPoint signature by export_adapter!; a
        // library exporting the name with another type is not a provisiond adapter.
        let entry: EntryPoint = match unsafe { library.get::<EntryPoint>(ENTRY_SYMBOL) } {
            Ok(symbol) => *symbol,
            Err(_) => {
                return Err(PluginError::MissingSymbol {
                    adapter: name.to_owned(),
                    path: path.to_path_buf(),
                    symbol: ENTRY_SYMBOL,
                });
            }
        };

        // SAFETY: `entry` is the library's entry symbol, and `library` is stored next to the
        // table in Inner, dropped after every user of it.
        let api = unsafe { AdapterLibrary::from_entry(entry) }
            .map_err(|err| PluginError::from_call(name, path, err))?;
        let description = api
            .describe()
            .map_err(|err| PluginError::from_call(name, path, err))?;

        tracing::info!(
            adapter = name,
            path = %path.display(),
            adapter_name = %description.name,
            version = %description.version,
            "loaded adapter"
        );
        let inner = Inner {
            name: name.to_owned(),
            path: path.to_path_buf(),
            description,
            api,
            _library: library,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The name the adapter was loaded as.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The library file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// What the adapter said about itself at load time.
    pub fn description(&self) -> &Description {
        &self.inner.description
    }

    /// Every problem the adapter finds in `config`; empty when usable.
    pub fn validate_config(&self, config: &Value) -> Result<Vec<ConfigProblem>, PluginError> {
        self.inner
            .api
            .validate_config(config)
            .map_err(|err| self.error(err))
    }

    /// Creates an instance with `config`, doing its I/O through `http`.
    ///
    /// The config (it may hold a client secret) is passed to the adapter only; it never
    /// appears in a log line or an error.
    pub fn create(&self, config: &Value, http: HttpClient) -> Result<AdapterSession, PluginError> {
        let host = provider(DaemonHost::new(self.inner.name.clone(), http));
        let instance = self
            .inner
            .api
            .create(config, host)
            .map_err(|err| self.error(err))?;
        Ok(AdapterSession {
            instance,
            adapter: self.clone(),
        })
    }

    fn error(&self, err: provisiond_plugin_api::CallError) -> PluginError {
        PluginError::from_call(&self.inner.name, &self.inner.path, err)
    }
}

/// A live adapter instance for one connection.
///
/// Every call blocks on the network: call it from `tokio::task::spawn_blocking` (the session
/// is `Send`), never from an async worker thread.
#[derive(Debug)]
pub struct AdapterSession {
    // Declared first: destroyed before the library handle below is released.
    instance: AdapterInstance,
    adapter: LoadedAdapter,
}

impl AdapterSession {
    /// The adapter this session belongs to.
    pub fn adapter(&self) -> &LoadedAdapter {
        &self.adapter
    }

    /// One page of assigned users; `None` for the first page.
    pub fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, PluginError> {
        self.instance
            .users_page(cursor)
            .map_err(|err| self.adapter.error(err))
    }

    /// One page of assigned groups with member user ids; `None` for the first page.
    pub fn groups_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterGroup>, PluginError> {
        self.instance
            .groups_page(cursor)
            .map_err(|err| self.adapter.error(err))
    }

    /// One page of changes since `token` (a cursor of this round or a stored delta token).
    pub fn delta(&mut self, token: Option<&str>) -> Result<DeltaPage, PluginError> {
        self.instance
            .delta(token)
            .map_err(|err| self.adapter.error(err))
    }
}

fn check_name(name: &str) -> Result<(), PluginError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(PluginError::InvalidName {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_directory_are_refused() {
        for name in ["../etc/passwd", "a/b", "", "Entra", ".hidden"] {
            assert!(
                matches!(check_name(name), Err(PluginError::InvalidName { .. })),
                "{name}"
            );
        }
        assert!(check_name("entra").is_ok());
        assert!(check_name("google-workspace").is_ok());
    }

    #[test]
    fn the_crate_naming_convention_comes_first() {
        let names = library_file_names("google-workspace");
        assert!(names[0].contains("provisiond_adapter_google_workspace"));
        assert!(names[1].contains("google_workspace"));
    }

    #[test]
    fn a_missing_library_names_the_directory_and_the_files_tried() {
        let err = find_library(Path::new("/nonexistent-adapters"), "entra");
        let message = err
            .map(|_| ())
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default();
        assert!(message.contains("/nonexistent-adapters"), "{message}");
        assert!(message.contains("provisiond_adapter_entra"), "{message}");
    }
}
