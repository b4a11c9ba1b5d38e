//! The one SQS batch runner every worker plugs into: prepare each record, merge, apply,
//! report.
//!
//! A worker ([`Worker`]) says three things: how one job becomes an item of work
//! ([`Worker::prepare`], per message, I/O allowed: an org config, a Zendesk lookup); how
//! the items of a batch group into units of work ([`Worker::merge`], pure: one PATCH per
//! participant, one update per ticket); and how one unit is carried out
//! ([`Worker::apply`], I/O), answering an outcome for each message the unit holds. [`run`]
//! does the rest the same way for every worker: it reads the records, runs both I/O steps
//! with bounded concurrency, gives every message exactly one outcome, logs one line per
//! message (`message_id`, `job_id`, `org_id`, `outcome`), counts each outcome for its org
//! in the invocation's metrics (`crate::metrics`), and answers `batchItemFailures` (which
//! needs `ReportBatchItemFailures` on the event source mapping). It is the shape of
//! aws-lambda-rust-runtime's `advanced-sqs-partial-batch-failures` example (a per-message
//! function lifted to the batch by a generic helper) with the merge step added.
//!
//! One bad job never fails the others. A message fails when its record cannot be read,
//! when `prepare` fails it, or when `apply` says so (a failed unit usually fails every
//! message it holds). Every failed message is reported: SQS redelivers it and, after the
//! queue's `maxReceiveCount`, moves it to the dead-letter queue. A message the worker gave
//! no outcome is failed as a bug, never dropped. The invocation itself errors only when
//! every record failed, so a fully broken batch shows as a function error.
//!
//! An effect that must happen at most once (a message to a customer) claims its key in an
//! [`IdempotencyStore`](crate::idempotency::IdempotencyStore) in `apply`, right before the
//! effect; a redelivered or repeated message then finds the claim and ends as a handled
//! duplicate (see the test `a_worker_can_claim_each_message_before_its_effect`).

use std::collections::btree_map::{BTreeMap, Entry};
use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::error::{BridgeError, Result};
use crate::jobs::JobEnvelope;

/// Which message of the batch an item, a unit or an outcome belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Position in the batch: items reach `merge` and outcomes reach the report in this
    /// order (merges that let later jobs win rely on it).
    pub index: usize,
    /// The SQS message id: what `batchItemFailures` names.
    pub message_id: String,
    /// `""` when the body is not a readable job.
    pub job_id: String,
    /// The org the job names; `""` when the body is not a readable job.
    pub org_id: String,
}

/// What became of one message, as its worker names it: a handled outcome (with a name and
/// the fields of its log line) or a failure (reported to SQS). `From<BridgeError>` makes
/// the failure, so `?` works in `prepare`.
pub trait Outcome: From<BridgeError> + Send {
    /// The `outcome` field of the log line: `updated`, `superseded`, `failed`, ...
    fn name(&self) -> &'static str;
    /// The error when the message failed; it is then listed in `batchItemFailures`.
    fn failure(&self) -> Option<&BridgeError>;
    /// Writes the log line of a handled outcome: `message_id`, `job_id`, `org_id` of
    /// `message`, `outcome` = [`Outcome::name`], and the outcome's own fields. Not called
    /// for failures: the runner logs those the same way for every worker.
    fn log(&self, message: &Message);
}

/// A batch worker: what one kind of queue's jobs become, in three steps (module docs).
pub trait Worker: Sync {
    /// One prepared job.
    type Item: Send;
    /// A unit of work: one or more items applied together, with their [`Message`]s.
    type Unit: Send;
    /// What becomes of a message.
    type Outcome: Outcome;
    /// Messages prepared, and units applied, at once (bounded by the upstreams' budgets).
    const CONCURRENCY: usize;

    /// Reads and checks one job (I/O allowed). `Err` finishes the message there with that
    /// outcome: handled early (nothing to do) or failed.
    fn prepare(
        &self,
        job: JobEnvelope,
    ) -> impl Future<Output = std::result::Result<Self::Item, Self::Outcome>> + Send;

    /// Groups the prepared items of the batch, in batch order, into units of work. Pure.
    fn merge(&self, items: Vec<(Message, Self::Item)>) -> Vec<Self::Unit>;

    /// Carries out one unit; answers one outcome for each message the unit holds.
    fn apply(&self, unit: Self::Unit)
        -> impl Future<Output = Vec<(Message, Self::Outcome)>> + Send;
}

/// Runs an invocation payload that was classified as an SQS batch through `worker`: the
/// partial-failure response, or an error when every record failed.
pub async fn run<W: Worker>(worker: &W, event: Value) -> Result<SqsBatchResponse> {
    let event = parse_sqs_event(event)?;
    let settled = settle(worker, &event).await;
    count(&event, &settled);
    report(&settled)
}

/// Counts every message's outcome for its org in the invocation's metrics, with the
/// message's delivery count (`ApproximateReceiveCount`), so that a failure on the last
/// delivery also counts as dead-lettered.
fn count<O: Outcome>(event: &SqsEvent, settled: &[(Message, O)]) {
    for (message, outcome) in settled {
        let receive_count = event
            .records
            .get(message.index)
            .and_then(|r| r.attributes.get("ApproximateReceiveCount"))
            .and_then(|n| n.parse().ok());
        let org_id = match message.org_id.as_str() {
            "" => outcome
                .failure()
                .and_then(|e| e.org_id.as_deref())
                .unwrap_or(""),
            named => named,
        };
        crate::metrics::job_outcome(
            org_id,
            outcome.name(),
            outcome.failure().is_some(),
            receive_count,
        );
    }
}

/// The outcome of every message of `event`, in batch order, without reporting them (what
/// [`run`] reports; tests look at the outcomes themselves).
pub async fn settle<W: Worker>(worker: &W, event: &SqsEvent) -> Vec<(Message, W::Outcome)> {
    let records = records(event);
    tracing::info!(records = records.len(), "job batch received");
    let messages: Vec<Message> = records.iter().map(|r| r.message.clone()).collect();
    let (items, mut settled) = prepare_all(worker, records).await;
    let units = worker.merge(items);
    settled.extend(apply_all(worker, units).await);
    in_batch_order(messages, settled)
}

/// Reads an invocation payload that was classified as an SQS batch; an unreadable one is an
/// input error on `Records`.
pub fn parse_sqs_event(event: Value) -> Result<SqsEvent> {
    // By path and type: serde's own text would quote a record's values.
    crate::shape::from_value(&event).map_err(|e| {
        BridgeError::validation(
            e.field("", "Records"),
            format!("not a valid SQS event: {}", e.expected),
        )
    })
}

/// One SQS record, read.
#[derive(Debug)]
pub struct Record {
    pub message: Message,
    pub job: Result<JobEnvelope>,
}

/// Reads every record; a record without a message id gets a placeholder (SQS always sets
/// one, and without it the failure could not be reported anyway).
pub fn records(event: &SqsEvent) -> Vec<Record> {
    event
        .records
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let job = match &r.body {
                Some(b) => JobEnvelope::from_json(b),
                None => Err(BridgeError::validation(
                    "body",
                    "expected a job message, got an empty SQS body",
                )),
            };
            let (job_id, org_id) = match &job {
                Ok(j) => (j.job_id.clone(), j.org_id.clone()),
                Err(_) => (String::new(), String::new()),
            };
            let message_id = r
                .message_id
                .clone()
                .unwrap_or_else(|| format!("record-{index}"));
            Record {
                message: Message {
                    index,
                    message_id,
                    job_id,
                    org_id,
                },
                job,
            }
        })
        .collect()
}

type Prepared<W> = (
    Vec<(Message, <W as Worker>::Item)>,
    Vec<(Message, <W as Worker>::Outcome)>,
);

/// Prepares every readable record; returns the items to merge (in batch order) and the
/// messages already finished.
async fn prepare_all<W: Worker>(worker: &W, records: Vec<Record>) -> Prepared<W> {
    let prepared: Vec<_> = stream::iter(records)
        .map(|r| async move {
            let result = match r.job {
                Ok(job) => worker.prepare(job).await,
                Err(e) => Err(W::Outcome::from(e)),
            };
            (r.message, result)
        })
        // `buffered`, not `buffer_unordered`: the items stay in batch order.
        .buffered(W::CONCURRENCY.max(1))
        .collect()
        .await;
    let (mut items, mut finished) = (Vec::new(), Vec::new());
    for (message, result) in prepared {
        match result {
            Ok(item) => items.push((message, item)),
            Err(outcome) => finished.push((message, outcome)),
        }
    }
    (items, finished)
}

async fn apply_all<W: Worker>(worker: &W, units: Vec<W::Unit>) -> Vec<(Message, W::Outcome)> {
    stream::iter(units)
        .map(|unit| worker.apply(unit))
        .buffer_unordered(W::CONCURRENCY.max(1))
        .flat_map(stream::iter)
        .collect()
        .await
}

/// One outcome per message, in batch order. A message with no outcome fails (a worker bug
/// must not drop a job); of two outcomes for one message, a failure wins (redelivery is
/// the safe side).
fn in_batch_order<O: Outcome>(
    messages: Vec<Message>,
    settled: Vec<(Message, O)>,
) -> Vec<(Message, O)> {
    let mut by_index: BTreeMap<usize, O> = BTreeMap::new();
    for (message, outcome) in settled {
        match by_index.entry(message.index) {
            Entry::Vacant(slot) => {
                slot.insert(outcome);
            }
            Entry::Occupied(mut held) => {
                tracing::error!(message_id = %message.message_id, job_id = %message.job_id,
                    first = held.get().name(), second = outcome.name(),
                    "the worker gave one message two outcomes (a bug); a failure wins");
                if outcome.failure().is_some() {
                    held.insert(outcome);
                }
            }
        }
    }
    messages
        .into_iter()
        .map(|message| {
            let outcome = by_index.remove(&message.index).unwrap_or_else(|| {
                O::from(BridgeError::internal(
                    "the worker gave this message no outcome (a bug); it is reported as failed so that it is not lost",
                ))
            });
            (message, outcome)
        })
        .collect()
}

/// Logs one line per message and builds the response: the failed messages in
/// `batchItemFailures`, or an error carrying the first reason when every record failed.
pub fn report<O: Outcome>(settled: &[(Message, O)]) -> Result<SqsBatchResponse> {
    let mut failed: Vec<&str> = Vec::new();
    let mut first_error: Option<&BridgeError> = None;
    let mut failures = 0;
    for (message, outcome) in settled {
        match outcome.failure() {
            None => outcome.log(message),
            Some(error) => {
                log_failure(message, outcome.name(), error);
                failures += 1;
                first_error.get_or_insert(error);
                if !failed.contains(&message.message_id.as_str()) {
                    failed.push(&message.message_id);
                }
            }
        }
    }
    tracing::info!(records = settled.len(), failed = failures, "job batch done");
    match first_error {
        Some(first) if failures == settled.len() => Err(all_failed(first, failures)),
        _ => {
            let mut resp = SqsBatchResponse::default();
            resp.batch_item_failures = failed
                .into_iter()
                .map(|id| {
                    let mut f = BatchItemFailure::default();
                    f.item_identifier = id.to_string();
                    f
                })
                .collect();
            Ok(resp)
        }
    }
}

/// A retryable error will be redelivered by SQS; a permanent one ends in the DLQ after the
/// queue's redeliveries. Either way the log line says why.
fn log_failure(message: &Message, outcome: &str, error: &BridgeError) {
    let Message {
        message_id,
        job_id,
        org_id,
        ..
    } = message;
    let org_id = match org_id.as_str() {
        "" => error.org_id.as_deref().unwrap_or(""),
        named => named,
    };
    let (error_type, retryable) = (error.error_type(), error.retryable());
    let correlation_id = error.correlation_id.as_deref().unwrap_or("");
    if retryable {
        tracing::warn!(message_id = %message_id, job_id = %job_id, org_id, outcome, %error_type,
            retryable, correlation_id, reason = %error, "job failed; SQS will redeliver it");
    } else {
        tracing::error!(message_id = %message_id, job_id = %job_id, org_id, outcome, %error_type,
            retryable, correlation_id, reason = %error,
            "job cannot succeed as sent; it goes to the DLQ after the queue's redeliveries");
    }
}

/// The first error, with its upstream, status, correlation id and hint, under a message
/// that says the whole batch failed.
fn all_failed(first: &BridgeError, failures: usize) -> BridgeError {
    let mut e = first.clone();
    e.message = format!(
        "every job of the batch failed ({failures} of {failures}); first error: {}",
        e.message
    );
    e.credential = None;
    e.retry_after = None;
    e
}

#[cfg(test)]
mod tests;
