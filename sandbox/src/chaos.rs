//! Faults at a rate, for chaos runs: each upstream request is, with a set probability,
//! answered the way a struggling Genesys or Zendesk answers: 429 with `Retry-After`, 500,
//! 503, no answer before the client's timeout, a dropped connection, or (Zendesk safe
//! updates) a conflict because someone else changed the ticket just before.
//!
//! Timeouts and dropped connections come in two kinds, because they mean different things
//! to the client: *before* (nothing was done) and *after* (the request was applied and only
//! its answer is lost). The client cannot tell them apart; a run that ends with an effect
//! done twice usually met an *after*.
//!
//! A decision is a pure function of the seed, the request's method and path, and how many
//! requests with that method and path came before it. Concurrent unrelated requests
//! therefore do not change each other's fate, and the same seed injects the same faults
//! into the same requests run after run. Fault rules ([`crate::Fault`]) take precedence.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::journal::Upstream;

/// What [`crate::Sandbox::set_chaos`] takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChaosConfig {
    /// Same seed, same faults for the same requests.
    pub seed: u64,
    /// Share of requests that get a fault, 0.0..=1.0.
    pub rate: f64,
    /// `Retry-After` of injected 429s, in seconds.
    pub retry_after_secs: u64,
    /// How long a timed-out request is held before the connection is closed: longer than
    /// the client waits.
    pub stall: Duration,
}

impl ChaosConfig {
    pub fn new(seed: u64, rate: f64) -> ChaosConfig {
        ChaosConfig {
            seed,
            rate: rate.clamp(0.0, 1.0),
            retry_after_secs: 1,
            stall: Duration::from_secs(11),
        }
    }

    pub fn stall(mut self, stall: Duration) -> ChaosConfig {
        self.stall = stall;
        self
    }

    pub fn retry_after(mut self, secs: u64) -> ChaosConfig {
        self.retry_after_secs = secs;
        self
    }
}

/// One kind of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChaosFault {
    /// 429 with `Retry-After` (Zendesk: text/plain, as the real one).
    TooManyRequests,
    /// 500.
    ServerError,
    /// 503.
    Unavailable,
    /// No answer until the client gives up; nothing was done.
    TimeoutBefore,
    /// Applied, but the answer comes only after the client gave up.
    TimeoutAfter,
    /// The connection closes before anything was done.
    DroppedBefore,
    /// Applied, then the connection closes: the answer is lost.
    DroppedAfter,
    /// Zendesk ticket update: the ticket changes just before it is handled, so a safe
    /// update gets the real 409 `UpdateConflict`.
    Conflict,
}

impl ChaosFault {
    pub const ALL: [ChaosFault; 8] = [
        ChaosFault::TooManyRequests,
        ChaosFault::ServerError,
        ChaosFault::Unavailable,
        ChaosFault::TimeoutBefore,
        ChaosFault::TimeoutAfter,
        ChaosFault::DroppedBefore,
        ChaosFault::DroppedAfter,
        ChaosFault::Conflict,
    ];

    /// Short name for summaries and the journal.
    pub fn name(self) -> &'static str {
        match self {
            ChaosFault::TooManyRequests => "429",
            ChaosFault::ServerError => "500",
            ChaosFault::Unavailable => "503",
            ChaosFault::TimeoutBefore => "timeout",
            ChaosFault::TimeoutAfter => "timeout-after-apply",
            ChaosFault::DroppedBefore => "dropped",
            ChaosFault::DroppedAfter => "dropped-after-apply",
            ChaosFault::Conflict => "409-conflict",
        }
    }

    /// The status answered instead of handling the request, for the faults that are an
    /// answer.
    pub(crate) fn status(self) -> Option<u16> {
        match self {
            ChaosFault::TooManyRequests => Some(429),
            ChaosFault::ServerError => Some(500),
            ChaosFault::Unavailable => Some(503),
            _ => None,
        }
    }

    /// Whether the request is handled (its effect applied) despite the fault.
    pub(crate) fn applies(self) -> bool {
        matches!(
            self,
            ChaosFault::TimeoutAfter | ChaosFault::DroppedAfter | ChaosFault::Conflict
        )
    }

    pub(crate) fn is_timeout(self) -> bool {
        matches!(self, ChaosFault::TimeoutBefore | ChaosFault::TimeoutAfter)
    }

    pub(crate) fn is_dropped(self) -> bool {
        matches!(self, ChaosFault::DroppedBefore | ChaosFault::DroppedAfter)
    }

    /// Relative weight among the faults a request can get.
    fn weight(self) -> u64 {
        match self {
            ChaosFault::TooManyRequests => 30,
            ChaosFault::ServerError | ChaosFault::Unavailable => 12,
            ChaosFault::TimeoutBefore | ChaosFault::TimeoutAfter => 4,
            ChaosFault::DroppedBefore | ChaosFault::DroppedAfter => 8,
            ChaosFault::Conflict => 22,
        }
    }
}

/// Whether `method path` is a Zendesk ticket update (the only place a conflict means
/// anything); returns the subdomain and ticket id.
pub(crate) fn ticket_update<'a>(method: &str, path: &'a str) -> Option<(&'a str, u64)> {
    if method != "PUT" {
        return None;
    }
    let rest = path.strip_prefix("/zendesk/")?;
    let (subdomain, rest) = rest.split_once('/')?;
    let id = rest
        .strip_prefix("api/v2/tickets/")?
        .strip_suffix(".json")?;
    Some((subdomain, id.parse().ok()?))
}

/// The decisions and their counts.
#[derive(Default)]
pub(crate) struct Chaos {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    config: Option<ChaosConfig>,
    /// Requests seen per `METHOD path`, for the occurrence part of a decision.
    seen: HashMap<String, u64>,
    injected: BTreeMap<ChaosFault, u64>,
}

impl Chaos {
    pub(crate) fn set(&self, config: Option<ChaosConfig>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.config = config;
        inner.seen.clear();
        inner.injected.clear();
    }

    pub(crate) fn config(&self) -> Option<ChaosConfig> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).config
    }

    pub(crate) fn injected(&self) -> BTreeMap<ChaosFault, u64> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .injected
            .clone()
    }

    /// The fault for this request, if any (and counts it).
    pub(crate) fn decide(
        &self,
        upstream: Upstream,
        method: &str,
        path: &str,
    ) -> Option<ChaosFault> {
        if upstream == Upstream::Other {
            return None;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let config = inner.config?;
        let identity = format!("{method} {path}");
        let n = inner.seen.entry(identity.clone()).or_default();
        *n += 1;
        let occurrence = *n;
        let fault = pick(
            config.seed,
            &identity,
            occurrence,
            config.rate,
            ticket_update(method, path).is_some(),
        )?;
        *inner.injected.entry(fault).or_default() += 1;
        Some(fault)
    }
}

/// The pure decision: whether the `occurrence`-th request of `identity` gets a fault at
/// `rate`, and which one.
fn pick(
    seed: u64,
    identity: &str,
    occurrence: u64,
    rate: f64,
    ticket_update: bool,
) -> Option<ChaosFault> {
    if unit(seed, identity, occurrence, 1) >= rate {
        return None;
    }
    let kinds: Vec<ChaosFault> = ChaosFault::ALL
        .into_iter()
        .filter(|k| ticket_update || *k != ChaosFault::Conflict)
        .collect();
    let total: u64 = kinds.iter().map(|k| k.weight()).sum();
    let mut x = (unit(seed, identity, occurrence, 2) * total as f64) as u64;
    for k in kinds {
        if x < k.weight() {
            return Some(k);
        }
        x -= k.weight();
    }
    None
}

/// A number in [0, 1) from the inputs alone (FNV-1a, then the SplitMix64 finaliser): the
/// same on every platform and run, unlike the standard library's hasher.
pub fn unit(seed: u64, identity: &str, occurrence: u64, salt: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in identity
        .bytes()
        .chain(seed.to_le_bytes())
        .chain(occurrence.to_le_bytes())
        .chain(salt.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_depend_only_on_seed_identity_and_occurrence() {
        let a = pick(7, "GET /api/v2/x", 3, 0.5, false);
        for _ in 0..3 {
            assert_eq!(pick(7, "GET /api/v2/x", 3, 0.5, false), a);
        }
        // Over many requests the rate holds, and every kind shows up.
        let mut hits = BTreeMap::new();
        let n = 20_000;
        for i in 0..n {
            if let Some(k) = pick(1, "PUT /zendesk/a/api/v2/tickets/1.json", i, 0.2, true) {
                *hits.entry(k).or_insert(0u64) += 1;
            }
        }
        let total: u64 = hits.values().sum();
        let rate = total as f64 / n as f64;
        assert!((0.18..0.22).contains(&rate), "{rate}");
        assert_eq!(hits.len(), ChaosFault::ALL.len(), "{hits:?}");
        // A conflict only where it means something.
        assert!((0..5_000).all(|i| pick(1, "GET /x", i, 1.0, false) != Some(ChaosFault::Conflict)));
        assert!((0..100).all(|i| pick(1, "GET /x", i, 0.0, false).is_none()));
    }

    #[test]
    fn ticket_updates_are_recognised() {
        assert_eq!(
            ticket_update("PUT", "/zendesk/acme/api/v2/tickets/1001.json"),
            Some(("acme", 1001))
        );
        assert_eq!(
            ticket_update("GET", "/zendesk/acme/api/v2/tickets/1001.json"),
            None
        );
        assert_eq!(
            ticket_update("PUT", "/zendesk/acme/api/v2/tickets.json"),
            None
        );
        assert_eq!(ticket_update("PUT", "/api/v2/tickets/1.json"), None);
    }
}
