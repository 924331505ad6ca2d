//! Waiting longer after each failure in a row: the collector when the log
//! refuses an append, the inotify reader when reading fails. A failure
//! that persists is retried every minute, not every second, and is not a
//! rescan of every watched path each time.

use std::time::Duration;

/// The first wait after a failure.
pub const FIRST: Duration = Duration::from_secs(1);
/// The longest wait.
pub const LONGEST: Duration = Duration::from_secs(60);

/// Failures in a row and the wait before the next try.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    first: Duration,
    longest: Duration,
    /// Failures since the last success.
    pub failures: u32,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new(FIRST, LONGEST)
    }
}

impl Backoff {
    /// Waits from `first`, doubling up to `longest`.
    pub fn new(first: Duration, longest: Duration) -> Backoff {
        Backoff {
            next: first,
            first,
            longest,
            failures: 0,
        }
    }

    /// A failure: how long to wait before trying again.
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.longest);
        self.failures = self.failures.saturating_add(1);
        wait
    }

    /// A success: the next failure waits `first` again.
    pub fn succeeded(&mut self) {
        self.next = self.first;
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_minute_and_start_over_after_a_success() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..9).map(|_| b.failed().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.failures, 9);
        b.succeeded();
        assert_eq!((b.failed(), b.failures), (FIRST, 1));
    }
}
