//! One run per connection at a time in this process.
//!
//! [`RunLocks`] is the seam for running several replicas: a database lease (a row per
//! connection with an owner and an expiry, renewed while the run lasts) would hand out the same
//! [`RunGuard`] shape. Until then two processes (a `serve` and a `provisiond sync` of the same
//! connection) are not kept apart; the unique indexes keep the store consistent regardless.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// The connections with a run in progress.
#[derive(Debug, Clone, Default)]
pub struct RunLocks {
    held: Arc<Mutex<HashSet<String>>>,
}

/// Proof that this process runs `connection`; released on drop.
#[derive(Debug)]
pub struct RunGuard {
    held: Arc<Mutex<HashSet<String>>>,
    connection: String,
}

impl RunLocks {
    /// Takes the connection's lock, or `None` when a run of it is in progress.
    pub fn try_acquire(&self, connection: &str) -> Option<RunGuard> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.insert(connection.to_owned()).then(|| RunGuard {
            held: self.held.clone(),
            connection: connection.to_owned(),
        })
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.connection);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_of_the_same_connection_waits_for_the_first() {
        let locks = RunLocks::default();
        let first = locks.try_acquire("acme");
        assert!(first.is_some());
        assert!(locks.try_acquire("acme").is_none());
        assert!(locks.try_acquire("globex").is_some());
        drop(first);
        assert!(locks.try_acquire("acme").is_some());
    }
}
