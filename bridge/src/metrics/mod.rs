//! Per-org metrics as CloudWatch Embedded Metric Format (EMF) log lines: no API call, no
//! agent. Lambda sends standard output to CloudWatch Logs, which turns each EMF line into
//! metric values.
//!
//! How a function uses it: its handler's outer function runs the invocation inside
//! [`Metrics::measure`], which times it and, at the end, writes what was counted as one
//! line per org served (a document carries one value per dimension, so two orgs make two
//! lines; never one line per event, message or call). Inside, the code that already knows
//! a fact counts it, and nothing else needs to pass a recorder around:
//! - the handler names its outcome with [`outcome`] (`written`, `updated`, `failed`, ...);
//! - `bridge::batch` counts every message's outcome ([`job_outcome`]), and a failure on
//!   the last delivery as `DeadLettered`;
//! - `bridge::http` counts 429s, 5xx and unanswered requests per upstream
//!   ([`upstream_answer`]);
//! - the org store marks each org whose config loaded ([`org_loaded`]).
//!
//! Outside a measured invocation, these calls do nothing.
//!
//! An `OrgId` dimension value is always a canonical UUID, and only one of two: an org
//! whose config loaded during the invocation (so a configured org, never text from an
//! event), or the org a job message names (only webhook-ingest writes jobs, for an org it
//! authenticated). So neither customer data nor an attacker's made-up org ids reach
//! CloudWatch or the bill. Work no such org can be named for is counted under the all-orgs
//! dimension set only. The names, units and dimension sets are in [`catalogue`]; the
//! README's "Metrics" section documents them and the alarms that read them.

pub mod catalogue;
pub mod emf;
mod sink;
mod summary;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub use catalogue::{MetricInfo, Scope, Unit, CATALOGUE};
pub use sink::{Captured, Sink, Stdout};
pub use summary::{Summary, Total, NO_ORG};

use crate::error::{BridgeError, Result, Upstream};

/// The namespace when `BRIDGE_METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "GenesysBridge";

/// The metrics setting of a process: where lines go, under which namespace, and the queue's
/// `maxReceiveCount` (to tell a message's last delivery). Built once at cold start; cheap
/// to clone.
#[derive(Clone)]
pub struct Metrics {
    config: Option<Arc<Config>>,
}

struct Config {
    namespace: String,
    max_receive_count: Option<u32>,
    sink: Arc<dyn Sink>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.config {
            None => f.write_str("Metrics(off)"),
            Some(c) => f
                .debug_struct("Metrics")
                .field("namespace", &c.namespace)
                .field("max_receive_count", &c.max_receive_count)
                .finish_non_exhaustive(),
        }
    }
}

impl Metrics {
    /// Nothing is recorded or written; [`Metrics::measure`] only awaits the work.
    pub fn off() -> Metrics {
        Metrics { config: None }
    }

    /// Lines under `namespace` to `sink`. An invalid namespace is a config error naming
    /// `BRIDGE_METRICS_NAMESPACE`.
    pub fn new(namespace: &str, sink: Arc<dyn Sink>) -> Result<Metrics> {
        if !emf::valid_namespace(namespace) {
            return Err(BridgeError::config(
                "BRIDGE_METRICS_NAMESPACE",
                format!("expected 1 to 256 of A-Z a-z 0-9 . _ # : / -; got {namespace:?}"),
            ));
        }
        Ok(Metrics {
            config: Some(Arc::new(Config {
                namespace: namespace.to_string(),
                max_receive_count: None,
                sink,
            })),
        })
    }

    /// Lines under [`DEFAULT_NAMESPACE`] kept in memory: the metrics and what they wrote.
    pub fn capture() -> (Metrics, Captured) {
        let captured = Captured::new();
        let metrics = Metrics::new(DEFAULT_NAMESPACE, Arc::new(captured.clone()))
            .expect("the default namespace is valid");
        (metrics, captured)
    }

    /// A message that fails on its `n`th delivery goes to the DLQ next (the queue's
    /// `maxReceiveCount`); without it, `DeadLettered` is never counted.
    pub fn with_max_receive_count(mut self, n: Option<u32>) -> Metrics {
        if let Some(c) = &self.config {
            self.config = Some(Arc::new(Config {
                namespace: c.namespace.clone(),
                max_receive_count: n.filter(|n| *n > 0),
                sink: c.sink.clone(),
            }));
        }
        self
    }

    /// What the settings say: EMF lines to stdout under `BRIDGE_METRICS_NAMESPACE`, with
    /// `BRIDGE_MAX_RECEIVE_COUNT`; or off (`BRIDGE_METRICS=off`).
    pub fn from_settings(settings: &crate::settings::Settings) -> Result<Metrics> {
        if !settings.metrics_enabled {
            return Ok(Metrics::off());
        }
        Ok(Metrics::new(&settings.metrics_namespace, Arc::new(Stdout))?
            .with_max_receive_count(settings.max_receive_count))
    }

    pub fn is_on(&self) -> bool {
        self.config.is_some()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.config.as_deref().map(|c| c.namespace.as_str())
    }

    /// Runs one invocation of `function` (its work is `work`), counting what happens
    /// inside; then writes its lines and returns the work's output. When off, only awaits.
    pub async fn measure<F: Future>(&self, function: &'static str, work: F) -> F::Output {
        let Some(config) = &self.config else {
            return work.await;
        };
        let started = Instant::now();
        let recorder = Arc::new(Mutex::new(Recorder::new(config.max_receive_count)));
        let out = CURRENT.scope(recorder.clone(), work).await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let recorder = std::mem::take(&mut *recorder.lock().expect("poisoned"));
        for line in recorder.lines(&config.namespace, function, elapsed_ms, now_ms()) {
            config.sink.write(&line);
        }
        out
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

tokio::task_local! {
    static CURRENT: Arc<Mutex<Recorder>>;
}

/// Runs `f` on the recorder of the current invocation, if there is one.
fn with_recorder(f: impl FnOnce(&mut Recorder)) {
    let _ = CURRENT.try_with(|r| f(&mut r.lock().expect("poisoned")));
}

/// What one invocation counted.
#[derive(Debug, Default)]
struct Recorder {
    max_receive_count: Option<u32>,
    /// Canonical ids of the orgs whose config loaded.
    orgs: BTreeSet<String>,
    /// Those and the orgs of the job messages counted: the orgs the invocation served.
    served: BTreeSet<String>,
    /// Per org (`None`: no loaded org) and metric name, in the order first counted.
    counts: BTreeMap<Option<String>, Vec<(String, f64)>>,
}

impl Recorder {
    fn new(max_receive_count: Option<u32>) -> Recorder {
        Recorder {
            max_receive_count,
            ..Recorder::default()
        }
    }

    /// `org_id` as a dimension value: its canonical form, if its config loaded.
    fn loaded_org(&self, org_id: &str) -> Option<String> {
        let id = crate::input::canonical_uuid(org_id)?;
        self.orgs.contains(&id).then_some(id)
    }

    /// The org of the whole invocation: the one org it served, if it served exactly one.
    fn invocation_org(&self) -> Option<String> {
        match self.served.len() {
            1 => self.served.iter().next().cloned(),
            _ => None,
        }
    }

    fn add(&mut self, org: Option<String>, metric: String, n: f64) {
        let values = self.counts.entry(org).or_default();
        match values.iter_mut().find(|(name, _)| *name == metric) {
            Some((_, v)) => *v += n,
            None => values.push((metric, n)),
        }
    }

    /// The EMF lines: one per org counted (orgs in id order, then the org-less counts).
    /// The latency goes to the invocation's org when it served exactly one, else to the
    /// org-less document, so the all-orgs view gets one sample per invocation.
    fn lines(mut self, namespace: &str, function: &str, elapsed_ms: f64, at: u64) -> Vec<String> {
        let latency_org = self.invocation_org();
        self.add(latency_org, catalogue::LATENCY.to_string(), elapsed_ms);
        let mut out = Vec::new();
        // BTreeMap order puts `None` first; the org-less document goes last.
        let (orgless, by_org): (Vec<_>, Vec<_>) =
            self.counts.into_iter().partition(|(org, _)| org.is_none());
        for (org, values) in by_org.into_iter().chain(orgless) {
            out.extend(emf::render(&emf::Document {
                namespace,
                function,
                org_id: org.as_deref(),
                timestamp_ms: at,
                values: &values,
            }));
        }
        out
    }
}

/// Marks `org_id` as an org whose config loaded in this invocation: from now on it may
/// appear as an `OrgId` dimension value. The org store calls it.
pub fn org_loaded(org_id: &str) {
    with_recorder(|r| {
        if let Some(id) = crate::input::canonical_uuid(org_id) {
            r.served.insert(id.clone());
            r.orgs.insert(id);
        }
    });
}

/// Counts one `outcome` (a log outcome name: `written`, `failed`, ...) of the invocation,
/// for its org (the one org it served, if it served exactly one: a data action's or an
/// event's, once its config loaded).
pub fn outcome(outcome: &str) {
    with_recorder(|r| {
        let org = r.invocation_org();
        r.add(org, catalogue::metric_name(outcome), 1.0);
    });
}

/// Counts the outcome of one SQS message of `org_id`; a failure on the message's last
/// delivery (`receive_count` reached the queue's `maxReceiveCount`) also counts as
/// `DeadLettered`.
pub fn job_outcome(org_id: &str, outcome: &str, failed: bool, receive_count: Option<u32>) {
    // The job's org, even when its config did not load (an org offboarded since, a
    // Secrets Manager failure): jobs come only from webhook-ingest, for an org it proved.
    let org = crate::input::canonical_uuid(org_id);
    with_recorder(|r| {
        if let Some(id) = &org {
            r.served.insert(id.clone());
        }
        r.add(org.clone(), catalogue::metric_name(outcome), 1.0);
        let last = matches!((receive_count, r.max_receive_count), (Some(n), Some(max)) if n >= max);
        if failed && last {
            r.add(org, catalogue::DEAD_LETTERED.to_string(), 1.0);
        }
    });
}

/// One answer (or none) from an upstream, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP status; `throttled` when the upstream's reader says it is throttling
    /// without a 429 (the Genesys token endpoint's 400).
    Status { status: u16, throttled: bool },
    /// No (complete) answer: connect, TLS, timeout, reset.
    Unreachable,
}

/// Counts one attempt's answer from `upstream` for `org_id`: 429 (or throttling) as
/// `<Upstream>Throttled`, 5xx as `<Upstream>5xx`, no answer as `<Upstream>Unreachable`;
/// other answers are not counted (the outcomes say what came of them).
pub fn upstream_answer(upstream: Upstream, org_id: &str, answer: Answer) {
    let Some(name) = upstream_metric(upstream, answer) else {
        return;
    };
    with_recorder(|r| {
        let org = r.loaded_org(org_id);
        r.add(org, name.to_string(), 1.0);
    });
}

/// The metric an upstream answer counts in, if any.
pub fn upstream_metric(upstream: Upstream, answer: Answer) -> Option<&'static str> {
    let kind = match answer {
        Answer::Status { status: 429, .. }
        | Answer::Status {
            throttled: true, ..
        } => 0,
        Answer::Status { status, .. } if (500..600).contains(&status) => 1,
        Answer::Status { .. } => return None,
        Answer::Unreachable => 2,
    };
    let names = match upstream {
        Upstream::Genesys => ["GenesysThrottled", "Genesys5xx", "GenesysUnreachable"],
        Upstream::Zendesk => ["ZendeskThrottled", "Zendesk5xx", "ZendeskUnreachable"],
        // AWS services are called through their SDKs, not the HTTP door.
        _ => return None,
    };
    Some(names[kind])
}

#[cfg(test)]
mod tests;
