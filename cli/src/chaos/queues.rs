//! The job queues between webhook-ingest and the workers, and the event source mappings
//! that feed the workers: batches of up to 10, at most 5 invocations per consumer at
//! once, handled messages deleted, failed ones (`batchItemFailures`, or all of a failed or
//! timed-out invocation) visible again soon, and moved to the job DLQ once received
//! `maxReceiveCount` times.
//!
//! Two kinds of queue behind one trait: in memory (webhook-ingest sends to bridge's
//! `MemoryQueue`; a model of SQS takes the jobs from there) and SQS in the AWS emulator.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName,
};
use bridge::jobs::{Consumer, JobEnvelope};
use bridge::queue::MemoryQueue;
use bridge::Runtime;
use lambda_runtime::Diagnostic;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::logs::JobLogs;
use super::model::{
    BATCH_SIZE, CONSUMER_CONCURRENCY, MAX_RECEIVE_COUNT, REDELIVERY_DELAY, WORKER_TIMEOUT,
};
use super::senders::context;
use crate::dev::Function;

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub receipt: String,
    pub body: String,
    pub job_id: String,
    pub receives: u32,
}

impl Received {
    /// The SQS record of an event source mapping's event.
    fn record(&self, consumer: Consumer) -> Value {
        json!({
            "messageId": self.message_id,
            "receiptHandle": self.receipt,
            "body": self.body,
            "attributes": {"ApproximateReceiveCount": self.receives.to_string(), "SentTimestamp": "0"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:genesys-bridge-{}-jobs", Function::of_consumer(consumer).name()),
            "awsRegion": "us-east-1",
        })
    }
}

fn job_id_of(body: &str) -> String {
    JobEnvelope::from_json(body)
        .map(|j| j.job_id)
        .unwrap_or_default()
}

/// A job queue as the event source mapping sees it.
#[async_trait]
pub trait JobQueues: Send + Sync {
    /// Up to `max` visible messages for `consumer` (each one's receive count goes up; one
    /// received `maxReceiveCount` times already goes to the DLQ instead).
    async fn receive(&self, consumer: Consumer, max: usize) -> Result<Vec<Received>, String>;
    /// Deletes the handled messages; makes the failed ones visible again soon.
    async fn settle(&self, consumer: Consumer, handled: &[Received], failed: &[Received]);
    /// Messages waiting, in flight or waiting to be visible again, for `consumer`.
    async fn pending(&self, consumer: Consumer) -> Result<usize, String>;
    /// The job ids in the job DLQs.
    async fn dead_letters(&self) -> Result<Vec<String>, String>;
}

/// SQS in memory, fed from the `MemoryQueue` webhook-ingest sends to.
pub struct MemoryQueues {
    source: Arc<MemoryQueue>,
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    messages: HashMap<Consumer, Vec<MemoryMessage>>,
    dead: Vec<String>,
    next_id: u64,
}

struct MemoryMessage {
    id: String,
    body: String,
    job_id: String,
    receives: u32,
    visible_at: Instant,
    in_flight: bool,
}

impl MemoryQueues {
    pub fn new(source: Arc<MemoryQueue>) -> MemoryQueues {
        MemoryQueues {
            source,
            inner: Mutex::new(MemoryInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every job sent so far becomes a message of its own (sending a job twice makes two).
    fn pump(&self, consumer: Consumer) {
        let jobs = self.source.drain(consumer);
        if jobs.is_empty() {
            return;
        }
        let mut inner = self.lock();
        for job in jobs {
            inner.next_id += 1;
            let id = format!("mem-{:08}", inner.next_id);
            let m = MemoryMessage {
                id,
                body: job.to_json(),
                job_id: job.job_id,
                receives: 0,
                visible_at: Instant::now(),
                in_flight: false,
            };
            inner.messages.entry(consumer).or_default().push(m);
        }
    }
}

#[async_trait]
impl JobQueues for MemoryQueues {
    async fn receive(&self, consumer: Consumer, max: usize) -> Result<Vec<Received>, String> {
        self.pump(consumer);
        let now = Instant::now();
        let mut inner = self.lock();
        let MemoryInner { messages, dead, .. } = &mut *inner;
        let queue = messages.entry(consumer).or_default();
        let mut out = Vec::new();
        let mut i = 0;
        while i < queue.len() && out.len() < max {
            let m = &mut queue[i];
            if m.in_flight || m.visible_at > now {
                i += 1;
                continue;
            }
            if m.receives >= MAX_RECEIVE_COUNT {
                dead.push(queue.remove(i).job_id);
                continue;
            }
            m.receives += 1;
            m.in_flight = true;
            out.push(Received {
                message_id: m.id.clone(),
                receipt: format!("{}-{}", m.id, m.receives),
                body: m.body.clone(),
                job_id: m.job_id.clone(),
                receives: m.receives,
            });
            i += 1;
        }
        Ok(out)
    }

    async fn settle(&self, consumer: Consumer, handled: &[Received], failed: &[Received]) {
        let done: HashSet<&str> = handled.iter().map(|r| r.message_id.as_str()).collect();
        let again: HashSet<&str> = failed.iter().map(|r| r.message_id.as_str()).collect();
        let mut inner = self.lock();
        let queue = inner.messages.entry(consumer).or_default();
        queue.retain(|m| !done.contains(m.id.as_str()));
        for m in queue.iter_mut().filter(|m| again.contains(m.id.as_str())) {
            m.in_flight = false;
            m.visible_at = Instant::now() + REDELIVERY_DELAY;
        }
    }

    async fn pending(&self, consumer: Consumer) -> Result<usize, String> {
        self.pump(consumer);
        Ok(self.lock().messages.get(&consumer).map_or(0, Vec::len))
    }

    async fn dead_letters(&self) -> Result<Vec<String>, String> {
        Ok(self.lock().dead.clone())
    }
}

/// SQS queues (and their DLQs, redrive `maxReceiveCount`) in the AWS emulator.
pub struct SqsQueues {
    pub sqs: aws_sdk_sqs::Client,
    /// (consumer, queue URL, DLQ URL).
    pub queues: Vec<(Consumer, String, String)>,
}

impl SqsQueues {
    fn urls(&self, consumer: Consumer) -> (&str, &str) {
        self.queues
            .iter()
            .find(|(c, _, _)| *c == consumer)
            .map(|(_, q, d)| (q.as_str(), d.as_str()))
            .unwrap_or(("", ""))
    }
}

fn sqs_error(e: impl std::fmt::Display) -> String {
    format!("SQS (emulator): {e}")
}

#[async_trait]
impl JobQueues for SqsQueues {
    async fn receive(&self, consumer: Consumer, max: usize) -> Result<Vec<Received>, String> {
        let (url, _) = self.urls(consumer);
        let out = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| sqs_error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let body = m.body().unwrap_or_default().to_string();
                let receives = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Received {
                    message_id: m.message_id().unwrap_or_default().to_string(),
                    receipt: m.receipt_handle().unwrap_or_default().to_string(),
                    job_id: job_id_of(&body),
                    body,
                    receives,
                }
            })
            .collect())
    }

    async fn settle(&self, consumer: Consumer, handled: &[Received], failed: &[Received]) {
        let (url, _) = self.urls(consumer);
        if !handled.is_empty() {
            let entries = handled
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&r.receipt)
                        .build()
                        .ok()
                })
                .collect();
            if let Err(e) = self
                .sqs
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not delete handled messages");
            }
        }
        if !failed.is_empty() {
            let entries = failed
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&r.receipt)
                        .visibility_timeout(REDELIVERY_DELAY.as_secs() as i32)
                        .build()
                        .ok()
                })
                .collect();
            if let Err(e) = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not release failed messages");
            }
        }
    }

    async fn pending(&self, consumer: Consumer) -> Result<usize, String> {
        let (url, _) = self.urls(consumer);
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| sqs_error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(out
            .attributes()
            .map(|a| {
                a.values()
                    .filter_map(|v| v.parse::<usize>().ok())
                    .sum::<usize>()
            })
            .unwrap_or(0))
    }

    async fn dead_letters(&self) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for (_, _, dlq) in &self.queues {
            loop {
                let got = self
                    .sqs
                    .receive_message()
                    .queue_url(dlq)
                    .max_number_of_messages(10)
                    .visibility_timeout(600)
                    .send()
                    .await
                    .map_err(|e| sqs_error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
                if got.messages().is_empty() {
                    break;
                }
                out.extend(
                    got.messages()
                        .iter()
                        .map(|m| job_id_of(m.body().unwrap_or_default())),
                );
            }
        }
        Ok(out)
    }
}

/// The two workers the chaos plan feeds, as their Lambda functions: one runtime (one warm
/// container's caches) each. Its events make no `message.agentless` jobs, so
/// agentless-messages is not driven here.
pub struct Workers {
    pub attribute_writer: Runtime,
    pub ticket_status: Runtime,
}

impl Workers {
    async fn invoke(&self, consumer: Consumer, event: Value) -> Result<Value, Diagnostic> {
        let function = Function::of_consumer(consumer);
        let ctx = context(
            &uuid::Uuid::new_v4().to_string(),
            WORKER_TIMEOUT,
            function.name(),
        );
        match consumer {
            Consumer::AttributeWriter => {
                attribute_writer::handle(&self.attribute_writer, event, ctx).await
            }
            Consumer::TicketStatus => ticket_status::handle(&self.ticket_status, event, ctx).await,
            // The chaos plan makes no customer messages (see `Workers`).
            Consumer::AgentlessMessages => Err(Diagnostic {
                error_type: "Bridge.Unsupported".into(),
                error_message: "the chaos run does not drive agentless-messages".into(),
            }),
        }
    }
}

/// Counts of the event source mappings' work.
#[derive(Debug, Default, Clone, Copy)]
pub struct Consumed {
    pub invocations: u64,
    /// Deliveries of a message after its first.
    pub redeliveries: u64,
    /// Invocations that ran past the function's timeout and were stopped.
    pub timeouts: u64,
}

/// Feeds `consumer`'s queue to its worker until `finished` says no more events will come
/// and the queue is empty with nothing in flight.
pub async fn consume(
    queues: Arc<dyn JobQueues>,
    workers: Arc<Workers>,
    consumer: Consumer,
    logs: JobLogs,
    finished: tokio::sync::watch::Receiver<bool>,
) -> Result<Consumed, String> {
    use tracing::instrument::WithSubscriber;
    let slots = Arc::new(Semaphore::new(CONSUMER_CONCURRENCY));
    let stats = Arc::new(Mutex::new(Consumed::default()));
    let dispatch = logs.dispatch();
    let mut idle_rounds = 0;
    loop {
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let batch = queues.receive(consumer, BATCH_SIZE).await?;
        if batch.is_empty() {
            drop(slot);
            let idle = slots.available_permits() == CONSUMER_CONCURRENCY;
            if *finished.borrow() && idle && queues.pending(consumer).await? == 0 {
                // Twice in a row: a message failed just now may not be counted yet.
                idle_rounds += 1;
                if idle_rounds >= 2 {
                    break;
                }
            } else {
                idle_rounds = 0;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        idle_rounds = 0;
        let (queues, workers, logs, stats) =
            (queues.clone(), workers.clone(), logs.clone(), stats.clone());
        tokio::spawn(
            async move {
                let records: Vec<Value> = batch.iter().map(|r| r.record(consumer)).collect();
                let run = workers.invoke(consumer, json!({ "Records": records }));
                let result = tokio::time::timeout(WORKER_TIMEOUT, run).await;
                let failed_ids: HashSet<String> = match &result {
                    Ok(Ok(v)) => v["batchItemFailures"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                        .collect(),
                    Ok(Err(_)) => batch.iter().map(|r| r.message_id.clone()).collect(),
                    Err(_) => {
                        for r in &batch {
                            logs.failed(&r.job_id, "Lambda.Timeout");
                        }
                        batch.iter().map(|r| r.message_id.clone()).collect()
                    }
                };
                let (failed, handled): (Vec<Received>, Vec<Received>) = batch
                    .iter()
                    .cloned()
                    .partition(|r| failed_ids.contains(&r.message_id));
                queues.settle(consumer, &handled, &failed).await;
                let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                s.invocations += 1;
                s.redeliveries += batch.iter().filter(|r| r.receives > 1).count() as u64;
                s.timeouts += u64::from(result.is_err());
                drop(slot);
            }
            .with_subscriber(dispatch.clone()),
        );
    }
    let s = *stats.lock().unwrap_or_else(|e| e.into_inner());
    Ok(s)
}
