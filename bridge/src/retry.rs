//! The one retry policy, as a pure function of (outcome, attempt, remaining time, jitter).
//!
//! 429 honours `Retry-After` (and gives up at once if the wait would pass the deadline);
//! 5xx except 501 and transport errors back off exponentially with full jitter; 401 asks the
//! caller to refresh its credential once; every other 4xx stops. Nothing waits past the
//! deadline it is given. Being pure, it is tested by tables, not by sleeping.

use std::time::{Duration, SystemTime};

/// What one attempt produced, reduced to what the policy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer that was not a success.
    Status {
        status: u16,
        retry_after: Option<Duration>,
        /// The upstream said "throttled" in a non-429 way (the Genesys token endpoint's
        /// `400 invalid_request ... rate limit exceeded`).
        throttled: bool,
    },
    /// No HTTP answer. `may_have_been_sent` is false for connect errors: only then, or for
    /// idempotent requests, is a retry safe.
    Transport { may_have_been_sent: bool },
}

/// Tunables. Defaults follow the Genesys SDKs' practice and fit inside a Lambda deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Used when a 429 carries no usable `Retry-After`.
    pub default_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(3),
            default_retry_after: Duration::from_secs(1),
        }
    }
}

/// Why the policy stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// This outcome is final (4xx other than 401/429, 501, or a non-idempotent send).
    NotRetryable,
    /// 401 after the credential was already refreshed once.
    AuthRejectedAfterRefresh,
    /// Out of attempts.
    AttemptsExhausted,
    /// Waiting `wait` would pass the deadline (`remaining` left).
    BeyondDeadline { wait: Duration, remaining: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Stop(StopReason),
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Refresh the credential (once), then try again at once.
    RefreshAuth,
}

/// Inputs that vary per call.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// 1-based number of the attempt that just failed.
    pub number: u32,
    /// Whether the credential was already refreshed during this call.
    pub auth_refreshed: bool,
    /// Whether repeating the request is harmless (GET, PATCH of attributes, safe updates).
    pub idempotent: bool,
    /// Time left before the deadline (already minus the safety margin); `None` = unbounded.
    pub remaining: Option<Duration>,
    /// A number in [0, 1) drawn by the caller; tests pass fixed values.
    pub jitter: f64,
}

/// The policy. Pure: same inputs, same decision.
pub fn decide(policy: &RetryPolicy, outcome: Outcome, attempt: Attempt) -> Decision {
    let wait = match outcome {
        Outcome::Status { status: 401, .. } => {
            return if attempt.auth_refreshed {
                Decision::Stop(StopReason::AuthRejectedAfterRefresh)
            } else {
                Decision::RefreshAuth
            };
        }
        Outcome::Status {
            status,
            retry_after,
            throttled,
        } if status == 429 || throttled => retry_after.unwrap_or(policy.default_retry_after),
        Outcome::Status { status, .. } if (500..=599).contains(&status) && status != 501 => {
            if !attempt.idempotent {
                return Decision::Stop(StopReason::NotRetryable);
            }
            backoff(policy, attempt.number, attempt.jitter)
        }
        Outcome::Status { .. } => return Decision::Stop(StopReason::NotRetryable),
        Outcome::Transport { may_have_been_sent } => {
            if may_have_been_sent && !attempt.idempotent {
                return Decision::Stop(StopReason::NotRetryable);
            }
            backoff(policy, attempt.number, attempt.jitter)
        }
    };
    if attempt.number >= policy.max_attempts {
        return Decision::Stop(StopReason::AttemptsExhausted);
    }
    if let Some(remaining) = attempt.remaining {
        if wait >= remaining {
            return Decision::Stop(StopReason::BeyondDeadline { wait, remaining });
        }
    }
    Decision::RetryAfter(wait)
}

/// Exponential backoff with full jitter: a uniform draw in [0, min(max, base * 2^(n-1))],
/// but never less than a tenth of the cap, so retries do not hammer at once.
pub fn backoff(policy: &RetryPolicy, attempt: u32, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    let cap = policy
        .base_backoff
        .saturating_mul(1u32 << exp)
        .min(policy.max_backoff);
    let jitter = jitter.clamp(0.0, 1.0);
    let floor = cap / 10;
    floor + (cap - floor).mul_f64(jitter)
}

/// Parses a `Retry-After` value: delay-seconds (integer, or decimal as some proxies send) or
/// an HTTP-date, relative to `now`. Unparseable or negative values give `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(3),
        default_retry_after: Duration::from_secs(1),
    };

    fn at(number: u32, remaining_ms: Option<u64>) -> Attempt {
        Attempt {
            number,
            auth_refreshed: false,
            idempotent: true,
            remaining: remaining_ms.map(Duration::from_millis),
            jitter: 1.0,
        }
    }
    fn st(status: u16, ra: Option<u64>) -> Outcome {
        Outcome::Status {
            status,
            retry_after: ra.map(Duration::from_secs),
            throttled: false,
        }
    }

    #[test]
    fn decision_table() {
        use Decision::*;
        use StopReason::*;
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        let rows: Vec<(&str, Outcome, Attempt, Decision)> = vec![
            (
                "429 honours Retry-After",
                st(429, Some(2)),
                at(1, Some(10_000)),
                RetryAfter(s(2)),
            ),
            (
                "429 without header uses default",
                st(429, None),
                at(1, None),
                RetryAfter(s(1)),
            ),
            (
                "429 beyond deadline fails fast",
                st(429, Some(30)),
                at(1, Some(5_000)),
                Stop(BeyondDeadline {
                    wait: s(30),
                    remaining: ms(5_000),
                }),
            ),
            (
                "token endpoint 400 rate limit is throttling",
                Outcome::Status {
                    status: 400,
                    retry_after: None,
                    throttled: true,
                },
                at(1, None),
                RetryAfter(s(1)),
            ),
            (
                "500 backs off",
                st(500, None),
                at(1, None),
                RetryAfter(ms(100)),
            ),
            (
                "503 second attempt doubles",
                st(503, None),
                at(2, None),
                RetryAfter(ms(200)),
            ),
            (
                "backoff is capped",
                st(502, None),
                at(3, None),
                RetryAfter(ms(400)),
            ),
            (
                "501 never retries",
                st(501, None),
                at(1, None),
                Stop(NotRetryable),
            ),
            (
                "400 never retries",
                st(400, None),
                at(1, None),
                Stop(NotRetryable),
            ),
            (
                "403 never retries",
                st(403, None),
                at(1, None),
                Stop(NotRetryable),
            ),
            (
                "404 never retries",
                st(404, None),
                at(1, None),
                Stop(NotRetryable),
            ),
            (
                "409 is the caller's business",
                st(409, None),
                at(1, None),
                Stop(NotRetryable),
            ),
            (
                "422 never retries",
                st(422, None),
                at(1, None),
                Stop(NotRetryable),
            ),
            (
                "401 refreshes once",
                st(401, None),
                at(1, None),
                RefreshAuth,
            ),
            (
                "401 after refresh stops",
                st(401, None),
                Attempt {
                    auth_refreshed: true,
                    ..at(2, None)
                },
                Stop(AuthRejectedAfterRefresh),
            ),
            (
                "attempts run out",
                st(503, None),
                at(4, None),
                Stop(AttemptsExhausted),
            ),
            (
                "429 attempts run out",
                st(429, Some(1)),
                at(4, None),
                Stop(AttemptsExhausted),
            ),
            (
                "connect error retries",
                Outcome::Transport {
                    may_have_been_sent: false,
                },
                at(1, None),
                RetryAfter(ms(100)),
            ),
            (
                "sent non-idempotent request is not repeated",
                Outcome::Transport {
                    may_have_been_sent: true,
                },
                Attempt {
                    idempotent: false,
                    ..at(1, None)
                },
                Stop(NotRetryable),
            ),
            (
                "5xx of a non-idempotent request is not repeated",
                st(503, None),
                Attempt {
                    idempotent: false,
                    ..at(1, None)
                },
                Stop(NotRetryable),
            ),
            (
                "backoff beyond deadline stops",
                st(503, None),
                at(1, Some(50)),
                Stop(BeyondDeadline {
                    wait: ms(100),
                    remaining: ms(50),
                }),
            ),
        ];
        for (name, outcome, attempt, want) in rows {
            assert_eq!(decide(&P, outcome, attempt), want, "{name}");
        }
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for n in 1..10 {
            let lo = backoff(&P, n, 0.0);
            let hi = backoff(&P, n, 0.999_999);
            assert!(lo <= hi);
            assert!(hi <= P.max_backoff);
            assert!(lo >= P.base_backoff / 10);
        }
        assert_eq!(backoff(&P, 30, 1.0), P.max_backoff);
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Sun, 22 Nov 2026 10:00:00 GMT").unwrap();
        let rows: &[(&str, Option<Duration>)] = &[
            ("7", Some(Duration::from_secs(7))),
            (" 0 ", Some(Duration::ZERO)),
            ("1.5", Some(Duration::from_millis(1500))),
            (
                "Sun, 22 Nov 2026 10:00:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Sun, 22 Nov 2026 09:59:00 GMT", Some(Duration::ZERO)),
            ("-3", None),
            ("soon", None),
            ("", None),
        ];
        for (raw, want) in rows {
            assert_eq!(parse_retry_after(raw, now), *want, "{raw:?}");
        }
    }
}
