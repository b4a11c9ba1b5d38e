//! The function's own settings, read once at cold start (`main.rs`); tests shorten them.

use std::time::Duration;

use bridge::{BridgeError, Result};

/// Settings of this function (see [`Options::from_lookup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Wait before the second read-back when the first did not show the values
    /// (`BRIDGE_VERIFY_RETRY_DELAY_MS`, default 500). Skipped when the deadline leaves no
    /// room for it.
    pub verify_retry_delay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            verify_retry_delay: Duration::from_millis(500),
        }
    }
}

/// Longest accepted verify delay: a data action must answer within Genesys' 20 s limit.
const MAX_VERIFY_DELAY_MS: u64 = 5_000;

impl Options {
    /// Reads the options through `get` (pass `|k| std::env::var(k).ok()`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Options> {
        let mut o = Options::default();
        if let Some(v) = get("BRIDGE_VERIFY_RETRY_DELAY_MS")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            let ms = v
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= MAX_VERIFY_DELAY_MS)
                .ok_or_else(|| {
                    BridgeError::config(
                        "BRIDGE_VERIFY_RETRY_DELAY_MS",
                        format!("expected whole milliseconds from 0 to {MAX_VERIFY_DELAY_MS}; got {v:?}"),
                    )
                })?;
            o.verify_retry_delay = Duration::from_millis(ms);
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let o = Options::from_lookup(|_| None).unwrap();
        assert_eq!(o.verify_retry_delay, Duration::from_millis(500));
        let o =
            Options::from_lookup(|k| (k == "BRIDGE_VERIFY_RETRY_DELAY_MS").then(|| "50".into()))
                .unwrap();
        assert_eq!(o.verify_retry_delay, Duration::from_millis(50));
        for bad in ["soon", "-1", "60000"] {
            let e = Options::from_lookup(|_| Some(bad.into())).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("BRIDGE_VERIFY_RETRY_DELAY_MS"));
        }
    }
}
