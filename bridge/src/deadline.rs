//! The time an invocation has left, minus a safety margin: every wait is bounded by it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A point in time after which no new attempt may start. `Deadline::none()` is unbounded
/// (CLI, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Option<Instant>,
}

impl Deadline {
    pub fn none() -> Deadline {
        Deadline { at: None }
    }

    pub fn after(d: Duration) -> Deadline {
        Deadline {
            at: Some(Instant::now() + d),
        }
    }

    /// From a Lambda context deadline (epoch milliseconds) minus `margin`, which leaves the
    /// handler time to report the failure instead of being killed mid-flight.
    pub fn from_epoch_ms(deadline_ms: u64, margin: Duration) -> Deadline {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        if deadline_ms == 0 {
            // `Context::default()` in tests carries 0: treat as "no deadline".
            return Deadline::none();
        }
        let left = Duration::from_millis(deadline_ms.saturating_sub(now)).saturating_sub(margin);
        Deadline::after(left)
    }

    /// Time left, `None` if unbounded.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    pub fn is_expired(&self) -> bool {
        self.remaining() == Some(Duration::ZERO)
    }

    /// Caps a per-request timeout by the time left.
    pub fn cap(&self, timeout: Duration) -> Duration {
        match self.remaining() {
            Some(left) => timeout.min(left),
            None => timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_math() {
        assert_eq!(Deadline::none().remaining(), None);
        assert_eq!(Deadline::from_epoch_ms(0, Duration::ZERO), Deadline::none());
        let past = Deadline::from_epoch_ms(1, Duration::ZERO);
        assert!(past.is_expired());
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = Deadline::from_epoch_ms(now_ms + 10_000, Duration::from_secs(1));
        let left = d.remaining().unwrap();
        assert!(
            left <= Duration::from_secs(9) && left > Duration::from_secs(8),
            "{left:?}"
        );
        assert!(d.cap(Duration::from_secs(30)) <= Duration::from_secs(9));
        assert_eq!(d.cap(Duration::from_millis(5)), Duration::from_millis(5));
    }
}
