//! The clock adapters see, injectable so tests control time and never really sleep.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of time that can also wait (for retry backoff).
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_unix_millis(&self) -> i64;

    /// Waits for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The wall clock; `sleep` blocks the thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_millis(&self) -> i64 {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock for tests: time moves only when advanced, and `sleep` advances it instantly and
/// records the wait.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
    sleeps: Mutex<Vec<Duration>>,
}

impl ManualClock {
    /// A clock reading `start_unix_millis`.
    pub fn new(start_unix_millis: i64) -> Self {
        Self {
            now: AtomicI64::new(start_unix_millis),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    /// Moves time forward.
    pub fn advance(&self, duration: Duration) {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        self.now.fetch_add(millis, Ordering::SeqCst);
    }

    /// Every wait requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps
            .lock()
            .map(|sleeps| sleeps.clone())
            .unwrap_or_default()
    }
}

impl Clock for ManualClock {
    fn now_unix_millis(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn sleep(&self, duration: Duration) {
        if let Ok(mut sleeps) = self.sleeps.lock() {
            sleeps.push(duration);
        }
        self.advance(duration);
    }
}
