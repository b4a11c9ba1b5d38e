//! The time an invocation has left, minus a safety margin: every wait is bounded by it.
//!
//! Lambda hands each invocation its deadline as epoch milliseconds
//! (`Lambda-Runtime-Deadline-Ms`). Local emulators do not always: cargo-lambda 1.9's
//! `cargo lambda watch` sends the timeout as a duration (`600000`), which read as epoch
//! milliseconds is a moment in 1970, so every call would fail with "no time left".
//! [`effective_epoch_ms`] is the one place that reads a raw context deadline: a value that
//! cannot be a real deadline (a duration, a moment long past, or further ahead than any
//! Lambda timeout) is replaced by what it most plausibly means, and the assumption is
//! logged once per process. A real deadline, one that is at most a Lambda timeout away,
//! is kept as it is, even when it has just passed.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A point in time after which no new attempt may start. `Deadline::none()` is unbounded
/// (CLI, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Option<Instant>,
}

/// The longest Lambda timeout (15 minutes): no real deadline lies further away than this,
/// ahead or, at the start of an invocation, behind.
pub const MAX_LAMBDA_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Below this a "deadline" is not an epoch time of this era (2020-01-01T00:00:00Z): it is
/// a duration, as cargo-lambda's emulator sends.
pub const PLAUSIBLE_EPOCH_MS: u64 = 1_577_836_800_000;

/// What a raw context deadline was taken to mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineReading {
    /// `0`: no deadline (`Context::default()` in tests and local runs).
    Absent,
    /// A plausible epoch deadline, used as it is.
    Epoch(u64),
    /// A duration (an implausibly small epoch time): now + that duration, at most
    /// [`MAX_LAMBDA_TIMEOUT`].
    Duration { raw: u64, at: u64 },
    /// Longer ago than any Lambda timeout: a wrong clock or a stale value, not "no time
    /// left". Now + [`MAX_LAMBDA_TIMEOUT`].
    FarPast { raw: u64, at: u64 },
    /// Further ahead than any Lambda timeout: capped at now + [`MAX_LAMBDA_TIMEOUT`].
    FarFuture { raw: u64, at: u64 },
}

impl DeadlineReading {
    /// The decision, as a pure function of the raw value and the time (both epoch ms).
    pub fn of(raw_ms: u64, now_ms: u64) -> DeadlineReading {
        let max = MAX_LAMBDA_TIMEOUT.as_millis() as u64;
        let cap = now_ms.saturating_add(max);
        if raw_ms == 0 {
            DeadlineReading::Absent
        } else if raw_ms < PLAUSIBLE_EPOCH_MS {
            DeadlineReading::Duration {
                raw: raw_ms,
                at: now_ms.saturating_add(raw_ms.min(max)),
            }
        } else if raw_ms.saturating_add(max) < now_ms {
            DeadlineReading::FarPast {
                raw: raw_ms,
                at: cap,
            }
        } else if raw_ms > cap {
            DeadlineReading::FarFuture {
                raw: raw_ms,
                at: cap,
            }
        } else {
            DeadlineReading::Epoch(raw_ms)
        }
    }

    /// The epoch deadline to use, `None` if there is none.
    pub fn epoch_ms(self) -> Option<u64> {
        match self {
            DeadlineReading::Absent => None,
            DeadlineReading::Epoch(at)
            | DeadlineReading::Duration { at, .. }
            | DeadlineReading::FarPast { at, .. }
            | DeadlineReading::FarFuture { at, .. } => Some(at),
        }
    }

    /// Which assumption was made (a bit per kind, for logging each once), and what it was.
    fn assumption(self) -> Option<(u8, &'static str, u64)> {
        match self {
            DeadlineReading::Absent | DeadlineReading::Epoch(_) => None,
            DeadlineReading::Duration { raw, .. } => Some((
                1,
                "the invocation deadline is a duration, not an epoch time (a local emulator such as cargo lambda watch); assuming it counts from now, at most 15 minutes",
                raw,
            )),
            DeadlineReading::FarPast { raw, .. } => Some((
                2,
                "the invocation deadline lies further in the past than any Lambda timeout (a wrong clock or a stale emulator value); assuming 15 minutes from now",
                raw,
            )),
            DeadlineReading::FarFuture { raw, .. } => Some((
                4,
                "the invocation deadline lies further ahead than any Lambda timeout; assuming 15 minutes from now",
                raw,
            )),
        }
    }
}

/// Kinds of assumption already logged by this process.
static LOGGED: AtomicU8 = AtomicU8::new(0);

/// The effective deadline (epoch ms) of a raw Lambda context deadline (`ctx.deadline`) at
/// `now_ms`; `None` when there is none. Every use of a context deadline goes through here
/// (the retry deadline, the idempotency record's in-progress expiry), so they agree. Logs
/// once per process and kind what was assumed for a value that cannot be a real deadline.
pub fn effective_epoch_ms(raw_ms: u64, now_ms: u64) -> Option<u64> {
    let reading = DeadlineReading::of(raw_ms, now_ms);
    if let Some((bit, what, raw)) = reading.assumption() {
        if LOGGED.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
            tracing::warn!(
                raw_deadline_ms = raw,
                assumed_deadline_ms = reading.epoch_ms().unwrap_or(0),
                "{what}"
            );
        }
    }
    reading.epoch_ms()
}

/// Milliseconds since the epoch, by the system clock.
pub fn now_epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
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

    /// From a Lambda context deadline minus `margin`, which leaves the handler time to
    /// report the failure instead of being killed mid-flight. The raw value is read by
    /// [`effective_epoch_ms`]: `0` is no deadline, a duration counts from now.
    pub fn from_epoch_ms(deadline_ms: u64, margin: Duration) -> Deadline {
        let now = now_epoch_ms();
        let Some(at) = effective_epoch_ms(deadline_ms, now) else {
            return Deadline::none();
        };
        let left = Duration::from_millis(at.saturating_sub(now)).saturating_sub(margin);
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
        let now_ms = now_epoch_ms();
        // A real deadline that has just passed leaves no time.
        let past = Deadline::from_epoch_ms(now_ms - 1_000, Duration::ZERO);
        assert!(past.is_expired());
        let d = Deadline::from_epoch_ms(now_ms + 10_000, Duration::from_secs(1));
        let left = d.remaining().unwrap();
        assert!(
            left <= Duration::from_secs(9) && left > Duration::from_secs(8),
            "{left:?}"
        );
        assert!(d.cap(Duration::from_secs(30)) <= Duration::from_secs(9));
        assert_eq!(d.cap(Duration::from_millis(5)), Duration::from_millis(5));
    }

    #[test]
    fn reading_table() {
        use DeadlineReading::*;
        let now: u64 = 1_750_000_000_000;
        let min = 60_000;
        let max = MAX_LAMBDA_TIMEOUT.as_millis() as u64;
        let cases: &[(&str, u64, DeadlineReading)] = &[
            ("no deadline", 0, Absent),
            ("real, 3 s left", now + 3_000, Epoch(now + 3_000)),
            ("real, 15 min left", now + max, Epoch(now + max)),
            ("real, just passed: no time left", now - 1, Epoch(now - 1)),
            ("real, passed 15 min ago", now - max, Epoch(now - max)),
            (
                "cargo lambda watch: 600000 is 10 minutes",
                600_000,
                Duration {
                    raw: 600_000,
                    at: now + 10 * min,
                },
            ),
            (
                "a duration of 1 ms",
                1,
                Duration {
                    raw: 1,
                    at: now + 1,
                },
            ),
            (
                "a duration beyond any timeout is capped",
                3_600_000,
                Duration {
                    raw: 3_600_000,
                    at: now + max,
                },
            ),
            (
                "the last implausible epoch",
                PLAUSIBLE_EPOCH_MS - 1,
                Duration {
                    raw: PLAUSIBLE_EPOCH_MS - 1,
                    at: now + max,
                },
            ),
            (
                "an hour ago",
                now - 60 * min,
                FarPast {
                    raw: now - 60 * min,
                    at: now + max,
                },
            ),
            (
                "15 min and 1 ms ago",
                now - max - 1,
                FarPast {
                    raw: now - max - 1,
                    at: now + max,
                },
            ),
            (
                "a day ahead",
                now + 24 * 60 * min,
                FarFuture {
                    raw: now + 24 * 60 * min,
                    at: now + max,
                },
            ),
            (
                "u64::MAX",
                u64::MAX,
                FarFuture {
                    raw: u64::MAX,
                    at: now + max,
                },
            ),
        ];
        for (what, raw, want) in cases {
            assert_eq!(DeadlineReading::of(*raw, now), *want, "{what}");
        }
        assert_eq!(Absent.epoch_ms(), None);
        assert_eq!(Epoch(7).epoch_ms(), Some(7));
    }

    #[test]
    fn an_emulator_duration_leaves_time_for_a_first_attempt() {
        // What cargo lambda watch 1.9 sends: without this reading, every call failed with
        // "no time left before the invocation deadline (attempt 1)".
        let d = Deadline::from_epoch_ms(600_000, Duration::from_millis(500));
        let left = d.remaining().expect("bounded");
        assert!(!d.is_expired());
        assert!(
            left > Duration::from_secs(590) && left <= Duration::from_secs(600),
            "{left:?}"
        );
        // A real deadline is never stretched.
        let real = Deadline::from_epoch_ms(now_epoch_ms() + 2_000, Duration::from_millis(500));
        assert!(real.remaining().unwrap() <= Duration::from_millis(1_500));
    }
}
