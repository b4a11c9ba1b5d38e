//! The local pipeline of `bridge dev`: invoke a function's real handler with a Lambda
//! event, then drain the in-memory queue into the three consumers as SQS batches,
//! redelivering failed jobs and dead-lettering them the way SQS and the event source
//! mappings would. agentless-messages also dead-letters a message that may have been sent
//! itself, into its (in-memory) DLQ, as it does in AWS. The functions' metrics lines are
//! kept ([`Pipeline::metrics`]) instead of printed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bridge::http::HttpClient;
use bridge::idempotency::{IdempotencyStore, MemoryIdempotency, DEFAULT_RECORD_TTL};
use bridge::jobs::{Consumer, JobEnvelope};
use bridge::metrics::{Captured, Metrics};
use bridge::queue::{
    JobQueue, MemoryDeadLetters, MemoryQueue, MAX_BATCH_ENTRIES, MAY_HAVE_BEEN_SENT,
    OUTCOME_ATTRIBUTE, REASON_ATTRIBUTE,
};
use bridge::secrets::{MemorySource, DEFAULT_TTL};
use bridge::Runtime;
use bridge_sandbox::Sandbox;
use lambda_runtime::{Context, Diagnostic};
use serde_json::{json, Value};

use super::{
    describe_diagnostic, sandbox_with_orgs, start_sandbox, Function, Invoked, LocalOrg, OrgFiles,
};
use crate::exit::CliError;

/// SQS delivers a message this many times before it moves it to the DLQ (the
/// `maxReceiveCount` of infra/template.yaml's redrive policies).
pub const MAX_RECEIVES: u32 = 3;

/// What a Lambda invocation has to finish in locally: the Lambda timeout of the functions.
const INVOCATION_BUDGET: Duration = Duration::from_secs(30);

/// One consumer invocation with a batch of jobs.
#[derive(Debug, Clone)]
pub struct WorkerRun {
    pub function: Function,
    pub jobs: Vec<JobEnvelope>,
    pub result: Result<Value, Diagnostic>,
    /// Job ids reported in `batchItemFailures` (or all, when the invocation failed).
    pub failed: Vec<String>,
    /// Failed jobs that reached [`MAX_RECEIVES`] and went to the (local) DLQ.
    pub dead_lettered: Vec<String>,
}

/// A job that failed [`MAX_RECEIVES`] deliveries, or that its worker dead-lettered itself.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub job: JobEnvelope,
    pub function: Function,
    pub reason: String,
    /// The SQS message attributes the worker set (`bridge-outcome`, ...); empty for a job
    /// SQS moved after its deliveries.
    pub attributes: BTreeMap<String, String>,
}

impl DeadLetter {
    /// Marked "may have been sent": `bridge dlq replay` refuses it unless told
    /// `--resend-ambiguous`.
    pub fn may_have_been_sent(&self) -> bool {
        self.attributes.get(OUTCOME_ATTRIBUTE).map(String::as_str) == Some(MAY_HAVE_BEEN_SENT)
    }
}

/// The consumers, in the order the pipeline drains their queues.
const CONSUMERS: [Consumer; 3] = [
    Consumer::AttributeWriter,
    Consumer::TicketStatus,
    Consumer::AgentlessMessages,
];

/// The local pipeline: one sandbox, one runtime (like one warm Lambda container per
/// function, sharing caches), one queue, one idempotency store.
pub struct Pipeline {
    pub sandbox: Sandbox,
    pub rt: Arc<Runtime>,
    /// The EMF lines every invocation wrote (what CloudWatch would turn into metrics).
    pub metrics: Captured,
    pub queue: Arc<MemoryQueue>,
    pub ingest: webhook_ingest::Ingest,
    pub messenger: agentless_messages::Messenger,
    /// agentless-messages' own DLQ (messages that may have been sent).
    pub message_dlq: Arc<MemoryDeadLetters>,
    pub orgs: Vec<LocalOrg>,
    receives: Mutex<HashMap<String, u32>>,
    dead_letters: Mutex<Vec<DeadLetter>>,
}

impl Pipeline {
    /// Starts a sandbox with the default seed and loads every `<orgId>.json` of `orgs_dir`
    /// pointed at it (the files are not changed).
    pub async fn start(orgs_dir: &Path) -> Result<Pipeline, CliError> {
        Ok(Pipeline::start_reading(orgs_dir).await?.0)
    }

    /// [`Pipeline::start`], also returning the org files it read, so that more pipelines
    /// ([`Pipeline::start_with`]) do not read them again.
    pub async fn start_reading(orgs_dir: &Path) -> Result<(Pipeline, OrgFiles), CliError> {
        let (sandbox, source) = sandbox_with_orgs(
            orgs_dir,
            "; run from the repository root or pass --orgs-dir DIR",
        )
        .await?;
        let files = OrgFiles::read(orgs_dir, &source).await?;
        let pipeline = Pipeline::new(sandbox, source, files.orgs.clone())?;
        Ok((pipeline, files))
    }

    /// A pipeline with a new sandbox and its own copy of `files`.
    pub async fn start_with(files: &OrgFiles) -> Result<Pipeline, CliError> {
        let sandbox = start_sandbox().await?;
        let source = files.source_for(&sandbox.base_url());
        Pipeline::new(sandbox, source, files.orgs.clone())
    }

    fn new(
        sandbox: Sandbox,
        source: MemorySource,
        orgs: Vec<LocalOrg>,
    ) -> Result<Pipeline, CliError> {
        let http = HttpClient::new().map_err(CliError::from)?;
        let mut rt = Runtime::new(Arc::new(source), DEFAULT_TTL, http);
        let (metrics, captured) = Metrics::capture();
        rt.metrics = metrics.with_max_receive_count(Some(MAX_RECEIVES));
        let rt = Arc::new(rt);
        let queue = Arc::new(MemoryQueue::new());
        let idempotency: Arc<dyn IdempotencyStore> =
            Arc::new(MemoryIdempotency::new(DEFAULT_RECORD_TTL));
        let ingest = webhook_ingest::Ingest::new(
            rt.clone(),
            queue.clone() as Arc<dyn JobQueue>,
            idempotency.clone(),
        );
        let message_dlq = Arc::new(MemoryDeadLetters::new());
        let messenger =
            agentless_messages::Messenger::new(rt.clone(), idempotency, message_dlq.clone());
        Ok(Pipeline {
            sandbox,
            rt,
            metrics: captured,
            queue,
            ingest,
            messenger,
            message_dlq,
            orgs,
            receives: Mutex::new(HashMap::new()),
            dead_letters: Mutex::new(Vec::new()),
        })
    }

    /// A Lambda context with a deadline, like a real invocation, and the invoked ARN (an
    /// org alias for a data action, as Genesys invokes it in the shared stack).
    fn context(&self, invoked: &Invoked) -> Context {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut ctx = Context::default();
        ctx.request_id = uuid::Uuid::new_v4().to_string();
        ctx.deadline = (now + INVOCATION_BUDGET).as_millis() as u64;
        ctx.invoked_function_arn = invoked.arn();
        ctx
    }

    /// Invokes `function`'s real handler with `event`, unqualified, as an event source
    /// mapping, a rule or the Function URL would.
    pub async fn invoke(&self, function: Function, event: Value) -> Result<Value, Diagnostic> {
        self.invoke_as(&Invoked::unqualified(function), event).await
    }

    /// Invokes the real handler of `invoked` (a function, with the alias it is invoked
    /// through, if any) with `event`, as Lambda would.
    pub async fn invoke_as(&self, invoked: &Invoked, event: Value) -> Result<Value, Diagnostic> {
        let ctx = self.context(invoked);
        match invoked.function {
            Function::WebhookIngest => webhook_ingest::handle(&self.ingest, event, ctx).await,
            Function::AttributeWriter => attribute_writer::handle(&self.rt, event, ctx).await,
            Function::TicketStatus => ticket_status::handle(&self.rt, event, ctx).await,
            Function::AgentlessMessages => {
                agentless_messages::handle(&self.messenger, event, ctx).await
            }
        }
    }

    /// Takes every queued job: the attribute-writer's, the ticket-status's, then the
    /// agentless-messages', each oldest first.
    pub fn take_queued(&self) -> Vec<JobEnvelope> {
        CONSUMERS
            .into_iter()
            .flat_map(|c| self.queue.drain(c))
            .collect()
    }

    /// Queues `jobs` again (nothing if there are none); a failure is logged.
    pub async fn requeue(&self, jobs: &[JobEnvelope]) {
        if jobs.is_empty() {
            return;
        }
        if let Err(e) = self.queue.send(jobs).await {
            tracing::error!(error = %e, "could not queue the jobs again");
        }
    }

    /// Takes what is queued now and hands it to the consumers, in batches of up to 10
    /// ([`MAX_BATCH_ENTRIES`]) like the SQS event source mapping. Failed jobs are queued again, up to
    /// [`MAX_RECEIVES`] deliveries, then dead-lettered.
    pub async fn drain_once(&self) -> Vec<WorkerRun> {
        let mut runs = Vec::new();
        for consumer in CONSUMERS {
            let jobs = self.queue.drain(consumer);
            for batch in jobs.chunks(MAX_BATCH_ENTRIES) {
                runs.push(self.deliver(Function::of_consumer(consumer), batch).await);
            }
        }
        runs
    }

    /// Drains until the queue is empty (redeliveries included).
    pub async fn drain(&self) -> Vec<WorkerRun> {
        let mut runs = Vec::new();
        // Each round either empties the queue or brings a failed job closer to the DLQ.
        for _ in 0..=MAX_RECEIVES + 1 {
            if self.queue.is_empty() {
                break;
            }
            runs.extend(self.drain_once().await);
        }
        runs
    }

    /// Hands `batch` to `function` as one SQS event; failed jobs are queued again, or
    /// dead-lettered once they reached [`MAX_RECEIVES`] deliveries.
    async fn deliver(&self, function: Function, batch: &[JobEnvelope]) -> WorkerRun {
        let delivery = self.records(function, batch);
        let result = self
            .invoke(function, json!({ "Records": delivery.records }))
            .await;
        let reason = match &result {
            Ok(_) => "reported in batchItemFailures".to_string(),
            Err(d) => describe_diagnostic(d),
        };
        let mut failed = Vec::new();
        let mut dead_lettered = Vec::new();
        let mut again = Vec::new();
        for m in failed_messages(&result, &delivery.jobs) {
            let Some(job) = delivery.jobs.get(&m) else {
                continue;
            };
            failed.push(job.job_id.clone());
            let receives = delivery
                .receives
                .get(job.job_id.as_str())
                .copied()
                .unwrap_or(0);
            if receives >= MAX_RECEIVES {
                dead_lettered.push(job.job_id.clone());
                self.dead_letters
                    .lock()
                    .expect("poisoned")
                    .push(DeadLetter {
                        job: (*job).clone(),
                        function,
                        reason: reason.clone(),
                        attributes: BTreeMap::new(),
                    });
            } else {
                again.push((*job).clone());
            }
        }
        if !again.is_empty() {
            if let Err(e) = self.queue.send(&again).await {
                tracing::error!(error = %e, "could not queue failed jobs again");
            }
        }
        WorkerRun {
            function,
            jobs: batch.to_vec(),
            result,
            failed,
            dead_lettered,
        }
    }

    /// The SQS records of `batch`, as the event source mapping would make them: a new
    /// message id each, and each job's delivery count so far (this one included).
    fn records<'a>(&self, function: Function, batch: &'a [JobEnvelope]) -> Delivery<'a> {
        let mut d = Delivery {
            records: Vec::new(),
            jobs: BTreeMap::new(),
            receives: HashMap::new(),
        };
        for job in batch {
            let receives = {
                let mut r = self.receives.lock().expect("poisoned");
                let n = r.entry(job.job_id.clone()).or_default();
                *n += 1;
                *n
            };
            d.receives.insert(&job.job_id, receives);
            let message_id = uuid::Uuid::new_v4().to_string();
            let body = job.to_json();
            d.records.push(json!({
                "messageId": message_id,
                "receiptHandle": format!("local-{message_id}"),
                "body": body,
                "attributes": {"ApproximateReceiveCount": receives.to_string(), "SentTimestamp": "0"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:local:000000000000:genesys-bridge-{}-jobs", function.name()),
                "awsRegion": "local",
            }));
            d.jobs.insert(message_id, job);
        }
        d
    }

    /// Every dead letter so far: jobs that failed every delivery, then the messages
    /// agentless-messages dead-lettered itself.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        let mut all = self.dead_letters.lock().expect("poisoned").clone();
        all.extend(
            self.message_dlq
                .snapshot()
                .into_iter()
                .map(|(job, attributes)| DeadLetter {
                    reason: attributes
                        .get(REASON_ATTRIBUTE)
                        .cloned()
                        .unwrap_or_default(),
                    job,
                    function: Function::AgentlessMessages,
                    attributes,
                }),
        );
        all
    }
}

/// One SQS event being delivered.
struct Delivery<'a> {
    records: Vec<Value>,
    /// Message id -> its job.
    jobs: BTreeMap<String, &'a JobEnvelope>,
    /// Job id -> deliveries so far, this one included (a job twice in the batch: the later
    /// count).
    receives: HashMap<&'a str, u32>,
}

/// The message ids a consumer's answer reports failed: its `batchItemFailures`, or every
/// message of `jobs` when the whole invocation failed (SQS then redelivers them all).
fn failed_messages(
    result: &Result<Value, Diagnostic>,
    jobs: &BTreeMap<String, &JobEnvelope>,
) -> Vec<String> {
    match result {
        Ok(v) => v
            .get("batchItemFailures")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| {
                        f.get("itemIdentifier")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => jobs.keys().cloned().collect(),
    }
}
