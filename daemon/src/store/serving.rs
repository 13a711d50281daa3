//! One serving daemon per SQLite file: its write queue is the file's only writer by design,
//! and its housekeeping, checkpoints and in-memory caches assume no other daemon shares it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::StoreError;

/// Held by the daemon serving a SQLite file for as long as it runs; the lock goes with the
/// process, however it ends.
#[derive(Debug)]
pub struct ServingLock {
    _file: File,
}

/// The lock file beside a database file.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-serving.lock");
    PathBuf::from(name)
}

/// Takes the serving lock of the SQLite file at `database`, or says which daemon holds it.
pub fn claim(database: &Path) -> Result<ServingLock, StoreError> {
    let path = lock_path(database);
    let open_error = |cause: std::io::Error| StoreError::Open {
        target: path.display().to_string(),
        cause: cause.to_string(),
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(open_error)?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(StoreError::Open {
                target: database.display().to_string(),
                cause: format!(
                    "another provisiond ({}) is serving this SQLite database; several daemons \
                     need PostgreSQL",
                    holder.trim()
                ),
            });
        }
        return Err(open_error(err));
    }
    // Who holds it, for the message above; the lock, not the text, is what counts.
    file.set_len(0).map_err(open_error)?;
    std::io::Write::write_all(
        &mut &file,
        format!("process {}", std::process::id()).as_bytes(),
    )
    .map_err(open_error)?;
    Ok(ServingLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_on_one_database_is_refused_until_the_first_is_dropped() {
        let dir = std::env::temp_dir().join(format!("provisiond-serving-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let database = dir.join("provisiond.db");

        let first = claim(&database).unwrap();
        let err = claim(&database).unwrap_err().to_string();
        assert!(err.contains("another provisiond"), "{err}");
        assert!(
            err.contains(&format!("process {}", std::process::id())),
            "{err}"
        );
        assert!(
            claim(&dir.join("other.db")).is_ok(),
            "other files are not locked"
        );
        drop(first);
        assert!(claim(&database).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
