//! One serving daemon per SQLite file: its write queue is the file's only writer by design,
//! and its housekeeping, checkpoints and in-memory caches assume no other daemon shares it.
//!
//! The lock is an exclusive `flock` on the database file itself, so every name of the file
//! (a symbolic or hard link, another relative path) meets the same lock. On Linux `flock` and
//! the `fcntl` locks SQLite takes do not interact; and WAL mode already requires a local file
//! system, where that holds.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::StoreError;

/// The serving lock of one database file.
#[derive(Debug)]
pub struct ServingLock {
    file: File,
}

impl ServingLock {
    /// Keeps the lock until the process ends. Closing any descriptor of a database file drops
    /// the `fcntl` locks SQLite holds on it in this process, so the descriptor is never closed.
    pub fn keep_until_exit(self) {
        std::mem::forget(self.file);
    }
}

/// Takes the serving lock of the SQLite file at `database` (creating the file when missing,
/// as opening the store would), or says that another daemon holds it.
pub fn claim(database: &Path) -> Result<ServingLock, StoreError> {
    let open_error = |cause: std::io::Error| StoreError::Open {
        target: database.display().to_string(),
        cause: cause.to_string(),
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(database)
        .map_err(open_error)?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(ServingLock { file });
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Err(StoreError::Open {
            target: database.display().to_string(),
            cause: "another provisiond is serving this SQLite database (under this or another \
                    name of the file); several daemons need PostgreSQL"
                .into(),
        });
    }
    Err(open_error(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_of_a_database_file_meets_the_same_lock() {
        let dir = crate::testing::TempDir::new("serving");
        let database = dir.0.join("provisiond.db");
        let first = claim(&database).unwrap();

        let symlink = dir.0.join("link.db");
        std::os::unix::fs::symlink(&database, &symlink).unwrap();
        let hard = dir.0.join("hard.db");
        std::fs::hard_link(&database, &hard).unwrap();
        let dotted = dir.0.join(".").join("provisiond.db");
        for name in [&database, &symlink, &hard, &dotted] {
            let err = claim(name).unwrap_err().to_string();
            assert!(
                err.contains("another provisiond"),
                "{}: {err}",
                name.display()
            );
        }
        assert!(
            claim(&dir.0.join("other.db")).is_ok(),
            "other files are not locked"
        );

        drop(first);
        assert!(claim(&hard).is_ok(), "free again once the holder is gone");
    }
}
