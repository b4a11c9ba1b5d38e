//! Where webhook-ingest puts jobs: one queue per consumer function; and where a worker
//! sets a job aside itself ([`DeadLetters`]).
//!
//! [`JobQueue`] is the seam; [`SqsQueue`] is the AWS adapter (`SendMessageBatch`, at most
//! 10 entries and 256 KiB per call, failed entries retried a bounded number of times) and
//! `MemoryQueue` the local one (`bridge dev`, handler tests), with the `local` feature.
//!
//! A job whose effect may already have happened (a message to a customer whose send timed
//! out) must not go back to SQS for a retry: its worker puts it into the queue's DLQ itself,
//! with message attributes that say why ([`MAY_HAVE_BEEN_SENT`]), and reports it done.
//! `bridge dlq replay` reads those attributes.
//!
//! Delivery is at least once: if one batch of a multi-batch send fails, the caller fails
//! and retries the whole event, so the batches that did go out are sent again. Job ids are
//! deterministic (`<eventId>:<n>`), which is what lets a consumer recognise the repeat.

#[cfg(feature = "sqs")]
use std::time::Duration;

use async_trait::async_trait;
#[cfg(feature = "sqs")]
use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchRequestEntry};

use crate::error::Result;
#[cfg(feature = "sqs")]
use crate::error::{BridgeError, ErrorKind, Upstream};
#[cfg(feature = "sqs")]
use crate::jobs::Consumer;
use crate::jobs::JobEnvelope;

/// SQS message attribute of a job its worker dead-lettered itself: what became of it.
pub const OUTCOME_ATTRIBUTE: &str = "bridge-outcome";
/// [`OUTCOME_ATTRIBUTE`] of a job whose effect may have happened: never sent again unless
/// an operator says so (`bridge dlq replay --resend-ambiguous`).
pub const MAY_HAVE_BEEN_SENT: &str = "may-have-been-sent";
/// SQS message attribute: why the worker dead-lettered the job (no customer data).
pub const REASON_ATTRIBUTE: &str = "bridge-reason";
/// SQS message attribute: the stable error type behind it.
pub const ERROR_TYPE_ATTRIBUTE: &str = "bridge-error-type";
/// SQS message attribute: the Genesys conversation the job was about, when known.
pub const CONVERSATION_ATTRIBUTE: &str = "bridge-conversation-id";

/// SQS limits per `SendMessageBatch` call.
pub const MAX_BATCH_ENTRIES: usize = 10;
pub const MAX_BATCH_BYTES: usize = 262_144;

/// Sends jobs to the queue of their consumer ([`crate::jobs::Job::consumer`]).
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Queues every job or fails; on failure some jobs may have been queued already (see
    /// the module docs).
    async fn send(&self, jobs: &[JobEnvelope]) -> Result<()>;
}

/// Splits jobs by consumer, keeping their order within each consumer.
#[cfg(feature = "sqs")]
fn by_consumer(jobs: &[JobEnvelope]) -> Vec<(Consumer, Vec<&JobEnvelope>)> {
    let mut out: Vec<(Consumer, Vec<&JobEnvelope>)> = Vec::new();
    for job in jobs {
        let c = job.job.consumer();
        match out.iter_mut().find(|(k, _)| *k == c) {
            Some((_, v)) => v.push(job),
            None => out.push((c, vec![job])),
        }
    }
    out
}

/// Chunks serialized messages into batches SQS accepts (count and total size).
#[cfg(feature = "sqs")]
fn batches(bodies: Vec<(&JobEnvelope, String)>) -> Vec<Vec<(&JobEnvelope, String)>> {
    let mut out: Vec<Vec<(&JobEnvelope, String)>> = Vec::new();
    let mut size = 0;
    for (job, body) in bodies {
        let fits = out
            .last()
            .is_some_and(|b| b.len() < MAX_BATCH_ENTRIES && size + body.len() <= MAX_BATCH_BYTES);
        if !fits {
            out.push(Vec::new());
            size = 0;
        }
        size += body.len();
        out.last_mut().expect("just pushed").push((job, body));
    }
    out
}

/// The AWS adapter: one standard or FIFO queue per consumer.
#[cfg(feature = "sqs")]
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    attribute_queue_url: String,
    ticket_queue_url: String,
    /// `""` until [`SqsQueue::with_message_queue_url`] sets it.
    message_queue_url: String,
}

/// Attempts per batch for entries SQS reports as failed (not sender faults), and the pause
/// between them (times the attempt number).
#[cfg(feature = "sqs")]
const MAX_ATTEMPTS: usize = 3;
#[cfg(feature = "sqs")]
const BACKOFF: Duration = Duration::from_millis(50);

#[cfg(feature = "sqs")]
impl SqsQueue {
    pub fn new(
        client: aws_sdk_sqs::Client,
        attribute_queue_url: impl Into<String>,
        ticket_queue_url: impl Into<String>,
    ) -> SqsQueue {
        SqsQueue {
            client,
            attribute_queue_url: attribute_queue_url.into(),
            ticket_queue_url: ticket_queue_url.into(),
            message_queue_url: String::new(),
        }
    }

    /// The queue of `message.agentless` jobs (`BRIDGE_MESSAGE_QUEUE_URL`). Without it, an
    /// event that makes a message job fails to queue, naming the variable.
    pub fn with_message_queue_url(mut self, url: Option<String>) -> SqsQueue {
        self.message_queue_url = url.unwrap_or_default();
        self
    }

    pub fn from_conf(
        conf: &aws_config::SdkConfig,
        attribute_queue_url: impl Into<String>,
        ticket_queue_url: impl Into<String>,
    ) -> SqsQueue {
        SqsQueue::new(
            aws_sdk_sqs::Client::new(conf),
            attribute_queue_url,
            ticket_queue_url,
        )
    }

    /// The queue of `consumer`'s jobs; `""` when none was configured.
    pub fn queue_url(&self, consumer: Consumer) -> &str {
        match consumer {
            Consumer::AttributeWriter => &self.attribute_queue_url,
            Consumer::TicketStatus => &self.ticket_queue_url,
            Consumer::AgentlessMessages => &self.message_queue_url,
        }
    }

    async fn send_batch(&self, url: &str, batch: &[(&JobEnvelope, String)]) -> Result<()> {
        let fifo = url.ends_with(".fifo");
        // Entry ids only need to be unique within one call; job ids contain ':' which SQS
        // does not allow there, so the position is the id.
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let entries = pending
                .iter()
                .map(|&i| {
                    let (job, body) = &batch[i];
                    let mut e = SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body.clone());
                    if fifo {
                        // Per-org ordering; SQS drops a repeat of the same job for 5 min.
                        e = e
                            .message_group_id(job.org_id.clone())
                            .message_deduplication_id(dedup_id(job));
                    }
                    e.build().map_err(|err| {
                        BridgeError::internal(format!("could not build an SQS batch entry: {err}"))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let out =
                self.client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| {
                        crate::aws::sdk_error(Upstream::Sqs, "send job messages to SQS", e)
                            .with_hint(format!(
                        "check that queue {url} exists and the function may sqs:SendMessage to it"
                    ))
                    })?;
            let failed = out.failed();
            if failed.is_empty() {
                return Ok(());
            }
            let sender_fault = failed.iter().any(|f| f.sender_fault());
            if sender_fault || attempt >= MAX_ATTEMPTS {
                return Err(failed_entries_error(url, batch, failed, attempt));
            }
            tracing::warn!(
                upstream = "SQS",
                queue_url = url,
                failed = failed.len(),
                attempt,
                "some job messages were not queued; retrying them"
            );
            pending = failed
                .iter()
                .filter_map(|f| f.id().parse::<usize>().ok())
                .filter(|i| *i < batch.len())
                .collect();
            tokio::time::sleep(BACKOFF * attempt as u32).await;
        }
    }
}

/// The error for entries SQS still refused: how many, which jobs, and SQS's reasons. A
/// sender fault (the message itself is invalid) is not retryable; anything else is.
#[cfg(feature = "sqs")]
fn failed_entries_error(
    url: &str,
    batch: &[(&JobEnvelope, String)],
    failed: &[BatchResultErrorEntry],
    attempts: usize,
) -> BridgeError {
    let reasons: Vec<String> = failed
        .iter()
        .map(|f| {
            let job = f
                .id()
                .parse::<usize>()
                .ok()
                .and_then(|i| batch.get(i))
                .map(|(j, _)| j.job_id.as_str())
                .unwrap_or("?");
            format!("job {job}: {} {}", f.code(), f.message().unwrap_or(""))
        })
        .collect();
    let kind = if failed.iter().any(|f| f.sender_fault()) {
        ErrorKind::InvalidRequest
    } else {
        ErrorKind::ServerError
    };
    let mut e = BridgeError::upstream(
        Upstream::Sqs,
        kind,
        format!(
            "{} of {} job message(s) were not queued to {url} after {attempts} attempt(s): {}",
            failed.len(),
            batch.len(),
            reasons.join("; ")
        ),
    )
    .with_operation("send job messages to SQS");
    if let Some(f) = failed.first() {
        e = e.with_code(f.code().to_string());
    }
    e
}

/// The FIFO deduplication id of a job: hex SHA-256 of (org id, event id, job id), each
/// length-prefixed. 64 characters, within SQS's 128 alphanumerics; distinct (org, event,
/// job) never share one (a cut or filtered job id did: the same key in two orgs, `order 1`
/// and `order1`), and a redelivery of the same event keeps it, so SQS still drops repeats
/// for 5 minutes.
#[cfg(feature = "sqs")]
fn dedup_id(job: &JobEnvelope) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [&job.org_id, &job.event_id, &job.job_id] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(feature = "sqs")]
#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, jobs: &[JobEnvelope]) -> Result<()> {
        for (consumer, group) in by_consumer(jobs) {
            let url = self.queue_url(consumer).to_string();
            if url.is_empty() {
                return Err(BridgeError::config(
                    "BRIDGE_MESSAGE_QUEUE_URL",
                    "expected the queue URL of message.agentless jobs (infra/template.yaml sets it); nothing was queued",
                ));
            }
            let bodies = group.into_iter().map(|j| (j, j.to_json())).collect();
            for batch in batches(bodies) {
                self.send_batch(&url, &batch).await?;
            }
        }
        Ok(())
    }
}

/// Where a worker dead-letters a job itself, with attributes that say why (module docs).
#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// Puts `job` into the DLQ with `attributes` (name, value); fails if it could not.
    async fn put(&self, job: &JobEnvelope, attributes: &[(&str, String)]) -> Result<()>;
}

/// The AWS adapter: `SendMessage` to the worker's own DLQ.
#[derive(Clone, Debug)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsDeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> SqsDeadLetters {
        SqsDeadLetters {
            client,
            url: url.into(),
        }
    }

    pub fn from_conf(conf: &aws_config::SdkConfig, url: impl Into<String>) -> SqsDeadLetters {
        SqsDeadLetters::new(aws_sdk_sqs::Client::new(conf), url)
    }
}

#[async_trait]
impl DeadLetters for SqsDeadLetters {
    async fn put(&self, job: &JobEnvelope, attributes: &[(&str, String)]) -> Result<()> {
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(job.to_json());
        for (name, value) in attributes.iter().filter(|(_, v)| !v.is_empty()) {
            let value = aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value.clone())
                .build()
                .map_err(|e| {
                    BridgeError::internal(format!("could not build an SQS message attribute: {e}"))
                })?;
            send = send.message_attributes(*name, value);
        }
        if self.url.ends_with(".fifo") {
            send = send
                .message_group_id(job.org_id.clone())
                .message_deduplication_id(dedup_id(job));
        }
        send.send().await.map_err(|e| {
            crate::aws::sdk_error(Upstream::Sqs, "dead-letter a job", e).with_hint(format!(
                "check that queue {} exists and the function may sqs:SendMessage to it",
                self.url
            ))
        })?;
        Ok(())
    }
}

#[cfg(feature = "local")]
pub use memory::{MemoryDeadLetters, MemoryQueue};

#[cfg(feature = "local")]
mod memory {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::JobQueue;
    use crate::error::Result;
    use crate::jobs::{Consumer, JobEnvelope};

    /// The local queue: keeps jobs in memory per consumer, for `bridge dev` to drain into
    /// the consumers. It never fails; tests that need a failing queue wrap it.
    #[derive(Default)]
    pub struct MemoryQueue {
        jobs: Mutex<HashMap<Consumer, Vec<JobEnvelope>>>,
    }

    impl MemoryQueue {
        pub fn new() -> MemoryQueue {
            MemoryQueue::default()
        }

        /// Takes every job queued for `consumer` so far, oldest first.
        pub fn drain(&self, consumer: Consumer) -> Vec<JobEnvelope> {
            self.jobs
                .lock()
                .expect("poisoned")
                .remove(&consumer)
                .unwrap_or_default()
        }

        /// How many jobs wait for `consumer`.
        pub fn len(&self, consumer: Consumer) -> usize {
            self.jobs
                .lock()
                .expect("poisoned")
                .get(&consumer)
                .map_or(0, Vec::len)
        }

        /// Whether no job waits for any consumer.
        pub fn is_empty(&self) -> bool {
            self.jobs
                .lock()
                .expect("poisoned")
                .values()
                .all(Vec::is_empty)
        }
    }

    #[async_trait]
    impl JobQueue for MemoryQueue {
        async fn send(&self, jobs: &[JobEnvelope]) -> Result<()> {
            let mut map = self.jobs.lock().expect("poisoned");
            for job in jobs {
                map.entry(job.job.consumer()).or_default().push(job.clone());
            }
            Ok(())
        }
    }

    /// A job a worker dead-lettered itself, with its attributes.
    pub type DeadLetter = (JobEnvelope, BTreeMap<String, String>);

    /// The local DLQ of workers that dead-letter jobs themselves: kept in memory, in order.
    #[derive(Default)]
    pub struct MemoryDeadLetters {
        jobs: Mutex<Vec<DeadLetter>>,
    }

    impl MemoryDeadLetters {
        pub fn new() -> MemoryDeadLetters {
            MemoryDeadLetters::default()
        }

        /// Every job put so far, oldest first.
        pub fn snapshot(&self) -> Vec<DeadLetter> {
            self.jobs.lock().expect("poisoned").clone()
        }
    }

    #[async_trait]
    impl super::DeadLetters for MemoryDeadLetters {
        async fn put(&self, job: &JobEnvelope, attributes: &[(&str, String)]) -> Result<()> {
            let attributes = attributes
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            self.jobs
                .lock()
                .expect("poisoned")
                .push((job.clone(), attributes));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{Job, ParticipantAttributes, TicketWrapup, JOB_VERSION};

    fn job(n: usize, wrapup: bool, pad: usize) -> JobEnvelope {
        JobEnvelope {
            v: JOB_VERSION,
            job_id: format!("evt:{n}"),
            org_id: "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11".into(),
            event_id: "evt".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            correlation_id: None,
            job: if wrapup {
                Job::TicketWrapup(TicketWrapup {
                    conversation_id: "c".into(),
                    participant_id: "p".into(),
                    wrapup_code: None,
                    agent_user_id: None,
                    event_time_ms: 1,
                    ticket_id: None,
                })
            } else {
                Job::ParticipantAttributes(ParticipantAttributes {
                    conversation_id: "c".into(),
                    participant_id: "p".into(),
                    attributes: [("k".to_string(), "x".repeat(pad))].into(),
                })
            },
        }
    }

    #[test]
    fn batches_respect_count_and_size() {
        let jobs: Vec<JobEnvelope> = (0..23).map(|n| job(n, false, 1)).collect();
        let b = batches(jobs.iter().map(|j| (j, j.to_json())).collect());
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 3]);

        let big: Vec<JobEnvelope> = (0..5).map(|n| job(n, false, 100_000)).collect();
        let b = batches(big.iter().map(|j| (j, j.to_json())).collect());
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        for batch in &b {
            assert!(batch.iter().map(|(_, s)| s.len()).sum::<usize>() <= MAX_BATCH_BYTES);
        }
    }

    #[test]
    fn deduplication_ids_never_collide_for_distinct_jobs() {
        let job_of = |org: &str, event: &str, n: usize| {
            let mut j = job(n, false, 1);
            j.org_id = org.to_string();
            j.event_id = event.to_string();
            j.job_id = format!("{event}:{n}");
            j
        };
        let (a, b) = (
            "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11",
            "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22",
        );
        let long = "x".repeat(200);
        // Pairs that the old id (the job id, cut to 128, spaces and non-ASCII removed)
        // made equal, so SQS dropped the second message after a 202.
        let pairs = [
            (job_of(a, "key-1", 0), job_of(b, "key-1", 0)),
            (job_of(a, "order 1", 0), job_of(a, "order1", 0)),
            (job_of(a, "événement-1", 0), job_of(a, "vnement-1", 0)),
            (
                job_of(a, &format!("{long}-1"), 0),
                job_of(a, &format!("{long}-2"), 0),
            ),
        ];
        for (x, y) in &pairs {
            assert_ne!(dedup_id(x), dedup_id(y), "{} / {}", x.job_id, y.job_id);
        }
        let all: Vec<String> = pairs
            .iter()
            .flat_map(|(x, y)| [dedup_id(x), dedup_id(y)])
            .collect();
        for id in &all {
            assert!(
                id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "{id}"
            );
        }
        // The same job (a redelivery of the same event) keeps its id.
        assert_eq!(dedup_id(&pairs[0].0), dedup_id(&job_of(a, "key-1", 0)));
    }

    #[test]
    fn groups_by_consumer_in_order() {
        let jobs = vec![job(0, false, 1), job(1, true, 1), job(2, false, 1)];
        let g = by_consumer(&jobs);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].0, Consumer::AttributeWriter);
        assert_eq!(
            g[0].1.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(),
            vec!["evt:0", "evt:2"]
        );
        assert_eq!(g[1].0, Consumer::TicketStatus);
    }

    #[test]
    fn refused_entries_name_the_jobs_and_reasons() {
        let jobs = [job(0, false, 1), job(1, false, 1), job(2, false, 1)];
        let batch: Vec<_> = jobs.iter().map(|j| (j, j.to_json())).collect();
        let entry = |id: &str, sender: bool, code: &str| {
            BatchResultErrorEntry::builder()
                .id(id)
                .sender_fault(sender)
                .code(code)
                .message("why")
                .build()
                .unwrap()
        };
        let e = failed_entries_error(
            "https://q",
            &batch,
            &[entry("1", false, "InternalError")],
            3,
        );
        let s = e.to_string();
        assert!(
            s.contains("1 of 3 job message(s)") && s.contains("after 3 attempt(s)"),
            "{s}"
        );
        assert!(s.contains("job evt:1: InternalError why"), "{s}");
        assert!(e.retryable(), "a server-side refusal can succeed later");
        let e = failed_entries_error(
            "https://q",
            &batch,
            &[
                entry("0", false, "InternalError"),
                entry("2", true, "InvalidMessageContents"),
            ],
            1,
        );
        assert!(
            e.to_string().contains("job evt:2: InvalidMessageContents"),
            "{e}"
        );
        assert!(!e.retryable(), "an invalid message stays invalid");
    }
}
