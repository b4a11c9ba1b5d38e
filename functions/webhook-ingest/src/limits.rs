//! Limits and windows of webhook-ingest, with their defaults (documented in the README);
//! read once at cold start.

use std::time::Duration;

use bridge::settings::Settings;

use crate::auth::{DEFAULT_HMAC_WINDOW, DEFAULT_TOKEN_VERDICT_TTL};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `BRIDGE_MAX_BODY_BYTES` (default 262144): larger HTTPS bodies get 413.
    pub max_body_bytes: usize,
    /// How far `X-Bridge-Timestamp` may be from now (default 5 minutes).
    pub hmac_window: Duration,
    /// How long a user-token verdict is reused (default 60 s).
    pub token_verdict_ttl: Duration,
    /// In-progress expiry when the invocation has no deadline (tests, local runs).
    pub in_progress_without_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 262_144,
            hmac_window: DEFAULT_HMAC_WINDOW,
            token_verdict_ttl: DEFAULT_TOKEN_VERDICT_TTL,
            in_progress_without_deadline: Duration::from_secs(60),
        }
    }
}

impl Limits {
    pub fn from_settings(s: &Settings) -> Limits {
        Limits {
            max_body_bytes: s.max_body_bytes,
            ..Limits::default()
        }
    }
}
