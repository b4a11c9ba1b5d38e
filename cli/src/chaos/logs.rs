//! What the workers said about each job, read from their log lines as an operator reads
//! them in CloudWatch: the batch runner logs one line per message with `job_id` and
//! `outcome`, and for a failure its `error_type` and `reason`. The judge takes dead-letter
//! reasons and handled-by-design outcomes from here.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// What was logged about one job, last line wins.
#[derive(Debug, Clone, Default)]
pub struct JobLog {
    /// The last handled outcome (`updated`, `unchanged`, `closed`, `written`, ...).
    pub outcome: Option<String>,
    /// The last failure's error type (`Zendesk.NotFound`, ...), and how many failures.
    pub error_type: Option<String>,
    pub failures: u32,
}

/// The job logs of a run, by job id.
#[derive(Clone, Default)]
pub struct JobLogs(Arc<Mutex<HashMap<String, JobLog>>>);

impl JobLogs {
    pub fn get(&self, job_id: &str) -> Option<JobLog> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(job_id)
            .cloned()
    }

    /// A failure that no log line carries (the invocation was killed at its deadline).
    pub fn failed(&self, job_id: &str, error_type: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let log = map.entry(job_id.to_string()).or_default();
        log.error_type = Some(error_type.to_string());
        log.failures += 1;
    }

    /// A dispatcher that records job lines into these logs (and nothing else).
    pub fn dispatch(&self) -> tracing::Dispatch {
        let layer = Capture(self.clone());
        tracing::Dispatch::new(tracing_subscriber::registry().with(layer))
    }
}

struct Capture(JobLogs);

#[derive(Default)]
struct Fields {
    job_id: Option<String>,
    outcome: Option<String>,
    error_type: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, format!("{value:?}"));
    }
}

impl Fields {
    fn set(&mut self, field: &Field, value: String) {
        match field.name() {
            "job_id" => self.job_id = Some(value),
            "outcome" => self.outcome = Some(value),
            "error_type" => self.error_type = Some(value),
            _ => {}
        }
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        // Only the batch runner's per-message lines name a job and an outcome.
        if meta.fields().field("job_id").is_none() || meta.fields().field("outcome").is_none() {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let Some(job_id) = f.job_id.filter(|j| !j.is_empty()) else {
            return;
        };
        let mut map = (self.0).0.lock().unwrap_or_else(|e| e.into_inner());
        let log = map.entry(job_id).or_default();
        // A handled outcome may carry an error type too (a closed ticket); only `failed`
        // goes back to the queue.
        if f.outcome.as_deref() == Some("failed") {
            log.error_type = f.error_type;
            log.failures += 1;
        } else {
            log.outcome = f.outcome;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::instrument::WithSubscriber;

    #[tokio::test]
    async fn job_lines_are_recorded_and_other_lines_ignored() {
        let logs = JobLogs::default();
        async {
            tracing::info!(job_id = "e:0", outcome = "updated", "job done");
            tracing::warn!(
                job_id = "e:1",
                outcome = "failed",
                error_type = "Zendesk.RateLimited",
                "job failed"
            );
            tracing::error!(
                job_id = "e:1",
                outcome = "failed",
                error_type = "Zendesk.NotFound",
                "job failed"
            );
            tracing::warn!(
                job_id = "e:3",
                outcome = "closed",
                error_type = "Zendesk.ClosedTicket",
                "handled"
            );
            tracing::info!(org_id = "x", "an upstream call");
        }
        .with_subscriber(logs.dispatch())
        .await;
        assert_eq!(logs.get("e:0").unwrap().outcome.as_deref(), Some("updated"));
        let failed = logs.get("e:1").unwrap();
        assert_eq!(failed.error_type.as_deref(), Some("Zendesk.NotFound"));
        assert_eq!(failed.failures, 2);
        let closed = logs.get("e:3").unwrap();
        assert_eq!(
            (closed.outcome.as_deref(), closed.failures),
            (Some("closed"), 0)
        );
        logs.failed("e:2", "Lambda.Timeout");
        assert_eq!(logs.get("e:2").unwrap().failures, 1);
    }
}
