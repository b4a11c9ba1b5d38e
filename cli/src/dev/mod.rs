//! `bridge dev`: the whole pipeline on one machine with the embedded defaults — the
//! sandbox for Genesys and Zendesk, org files from a directory, an in-memory queue and
//! idempotency store — running the real handlers of all three functions.
//!
//! [`Pipeline`] is the wiring, shared by the HTTP server ([`server`]) and the fixture
//! replay ([`replay`]): invoke a function with a Lambda event, then drain the queue into
//! the two consumers as SQS batches, the way the event source mappings would.

pub mod replay;
pub mod server;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bridge::http::HttpClient;
use bridge::idempotency::{MemoryIdempotency, DEFAULT_RECORD_TTL};
use bridge::jobs::{Consumer, JobEnvelope};
use bridge::queue::{JobQueue, MemoryQueue, MAX_BATCH_ENTRIES};
use bridge::secrets::{MemorySource, SecretSource, DEFAULT_TTL};
use bridge::{OrgConfig, Runtime};
use bridge_sandbox::{default_seed, JournalEntry, Sandbox};
use lambda_runtime::{Context, Diagnostic};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::exit::CliError;

/// SQS delivers a message this many times before it moves it to the DLQ (the
/// `maxReceiveCount` of infra/template.yaml's redrive policies).
pub const MAX_RECEIVES: u32 = 3;

/// What a Lambda invocation has to finish in locally: the Lambda timeout of the functions.
const INVOCATION_BUDGET: Duration = Duration::from_secs(30);

/// The three functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    WebhookIngest,
    AttributeWriter,
    TicketStatus,
}

impl Function {
    pub const ALL: [Function; 3] = [
        Function::WebhookIngest,
        Function::AttributeWriter,
        Function::TicketStatus,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::WebhookIngest => "webhook-ingest",
            Function::AttributeWriter => "attribute-writer",
            Function::TicketStatus => "ticket-status",
        }
    }

    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn of_consumer(c: Consumer) -> Function {
        match c {
            Consumer::AttributeWriter => Function::AttributeWriter,
            Consumer::TicketStatus => Function::TicketStatus,
        }
    }
}

/// Starts a sandbox with the default seed.
pub async fn start_sandbox() -> Result<Sandbox, CliError> {
    Sandbox::start(default_seed())
        .await
        .map_err(|e| CliError::failed(format!("could not start the sandbox: {e}")))
}

/// Starts a sandbox and loads every `<orgId>.json` of `orgs_dir` pointed at it (in memory:
/// the files are not changed; messages name the files, so a newcomer knows what to edit).
/// A missing directory is a usage error, "org directory DIR does not exist" then `advice`.
pub async fn sandbox_with_orgs(
    orgs_dir: &Path,
    advice: &str,
) -> Result<(Sandbox, MemorySource), CliError> {
    if !orgs_dir.is_dir() {
        return Err(CliError::usage(format!(
            "org directory {} does not exist{advice}",
            orgs_dir.display()
        )));
    }
    let sandbox = start_sandbox().await?;
    let base_url = sandbox.base_url();
    let source = MemorySource::from_dir(orgs_dir, |doc| {
        bridge_sandbox::point_org_config(doc, &base_url)
    })
    .map_err(|e| {
        CliError::usage(format!(
            "could not load the org files of {}: {e}",
            orgs_dir.display()
        ))
    })?;
    Ok((sandbox, source))
}

/// The org files of a directory, read and checked once, for pipelines that each point a
/// copy of them at their own sandbox ([`Pipeline::start_with`]).
pub struct OrgFiles {
    dir: PathBuf,
    /// (org id, document), in the order of [`SecretSource::list`].
    docs: Vec<(String, Value)>,
    orgs: Vec<LocalOrg>,
}

impl OrgFiles {
    /// Reads the documents of `source` (the files of `dir`): each must be a valid org
    /// config, and there must be at least one.
    async fn read(dir: &Path, source: &dyn SecretSource) -> Result<OrgFiles, CliError> {
        let mut docs = Vec::new();
        let mut orgs = Vec::new();
        for id in source.list().await.map_err(CliError::from)? {
            let doc = source
                .fetch(&id)
                .await
                .map_err(CliError::from)?
                .unwrap_or_default();
            let cfg = OrgConfig::from_json_for(doc.expose_secret(), &id).map_err(|e| {
                CliError::usage(format!(
                    "{}/{id}.json is not a valid org config: {e}",
                    dir.display()
                ))
            })?;
            orgs.push(LocalOrg {
                org_id: cfg.org_id.clone(),
                name: cfg.name.clone(),
                webhook_secret: cfg.webhook.shared_secret.expose_secret().to_string(),
            });
            // A valid config is JSON.
            docs.push((
                id,
                serde_json::from_str(doc.expose_secret()).unwrap_or_default(),
            ));
        }
        if orgs.is_empty() {
            return Err(CliError::usage(format!(
                "no <orgId>.json org files in {}",
                dir.display()
            )));
        }
        Ok(OrgFiles {
            dir: dir.to_path_buf(),
            docs,
            orgs,
        })
    }

    /// A fresh in-memory copy of the documents, pointed at the sandbox at `base_url`.
    fn source_for(&self, base_url: &str) -> MemorySource {
        let source = MemorySource::copied_from(&self.dir);
        for (id, doc) in &self.docs {
            let mut doc = doc.clone();
            bridge_sandbox::point_org_config(&mut doc, base_url);
            source.insert(id, doc.to_string());
        }
        source
    }
}

/// An org loaded for the local run (for the startup banner and curl examples).
#[derive(Debug, Clone)]
pub struct LocalOrg {
    pub org_id: String,
    pub name: Option<String>,
    /// The example's local, fake shared secret: printed in the curl examples on purpose.
    pub webhook_secret: String,
}

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

/// A job that failed [`MAX_RECEIVES`] deliveries.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub job: JobEnvelope,
    pub function: Function,
    pub reason: String,
}

/// The local pipeline: one sandbox, one runtime (like one warm Lambda container per
/// function, sharing caches), one queue, one idempotency store.
pub struct Pipeline {
    pub sandbox: Sandbox,
    pub rt: Arc<Runtime>,
    pub queue: Arc<MemoryQueue>,
    pub ingest: webhook_ingest::Ingest,
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
        let rt = Arc::new(Runtime::new(Arc::new(source), DEFAULT_TTL, http));
        let queue = Arc::new(MemoryQueue::new());
        let idempotency = Arc::new(MemoryIdempotency::new(DEFAULT_RECORD_TTL));
        let ingest = webhook_ingest::Ingest::new(
            rt.clone(),
            queue.clone() as Arc<dyn JobQueue>,
            idempotency,
        );
        Ok(Pipeline {
            sandbox,
            rt,
            queue,
            ingest,
            orgs,
            receives: Mutex::new(HashMap::new()),
            dead_letters: Mutex::new(Vec::new()),
        })
    }

    /// A Lambda context with a deadline, like a real invocation.
    fn context(&self, function: Function) -> Context {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut ctx = Context::default();
        ctx.request_id = uuid::Uuid::new_v4().to_string();
        ctx.deadline = (now + INVOCATION_BUDGET).as_millis() as u64;
        ctx.invoked_function_arn = format!(
            "arn:aws:lambda:local:000000000000:function:genesys-bridge-{}",
            function.name()
        );
        ctx
    }

    /// Invokes `function`'s real handler with `event`, as Lambda would.
    pub async fn invoke(&self, function: Function, event: Value) -> Result<Value, Diagnostic> {
        let ctx = self.context(function);
        match function {
            Function::WebhookIngest => webhook_ingest::handle(&self.ingest, event, ctx).await,
            Function::AttributeWriter => attribute_writer::handle(&self.rt, event, ctx).await,
            Function::TicketStatus => ticket_status::handle(&self.rt, event, ctx).await,
        }
    }

    /// Takes every queued job: the attribute-writer's, then the ticket-status's, each
    /// oldest first.
    pub fn take_queued(&self) -> Vec<JobEnvelope> {
        [Consumer::AttributeWriter, Consumer::TicketStatus]
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
        for consumer in [Consumer::AttributeWriter, Consumer::TicketStatus] {
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

    async fn deliver(&self, function: Function, batch: &[JobEnvelope]) -> WorkerRun {
        let mut ids: BTreeMap<String, &JobEnvelope> = BTreeMap::new();
        // Deliveries of each job so far, this one included (a job twice in the batch: the
        // later count).
        let mut receives_of: HashMap<&str, u32> = HashMap::new();
        let mut records = Vec::new();
        for job in batch {
            let receives = {
                let mut r = self.receives.lock().expect("poisoned");
                let n = r.entry(job.job_id.clone()).or_default();
                *n += 1;
                *n
            };
            receives_of.insert(&job.job_id, receives);
            let message_id = uuid::Uuid::new_v4().to_string();
            let body = job.to_json();
            records.push(json!({
                "messageId": message_id,
                "receiptHandle": format!("local-{message_id}"),
                "body": body,
                "attributes": {"ApproximateReceiveCount": receives.to_string(), "SentTimestamp": "0"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:local:000000000000:genesys-bridge-{}-jobs", function.name()),
                "awsRegion": "local",
            }));
            ids.insert(message_id, job);
        }
        let result = self.invoke(function, json!({ "Records": records })).await;
        let failed_messages: Vec<String> = match &result {
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
            // The whole invocation failed: SQS redelivers every message.
            Err(_) => ids.keys().cloned().collect(),
        };
        let reason = match &result {
            Ok(_) => "reported in batchItemFailures".to_string(),
            Err(d) => describe_diagnostic(d),
        };
        let mut failed = Vec::new();
        let mut dead_lettered = Vec::new();
        let mut again = Vec::new();
        for m in failed_messages {
            let Some(job) = ids.get(&m) else { continue };
            failed.push(job.job_id.clone());
            let receives = receives_of.get(job.job_id.as_str()).copied().unwrap_or(0);
            if receives >= MAX_RECEIVES {
                dead_lettered.push(job.job_id.clone());
                self.dead_letters
                    .lock()
                    .expect("poisoned")
                    .push(DeadLetter {
                        job: (*job).clone(),
                        function,
                        reason: reason.clone(),
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

    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.dead_letters.lock().expect("poisoned").clone()
    }
}

/// `METHOD path -> status`, one upstream call.
pub fn describe_call(e: &JournalEntry) -> String {
    format!("{} {} {}", e.method, e.path, e.status)
}

/// A failed invocation as Lambda's invoke API answers it: `{"errorType", "errorMessage"}`.
pub fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({"errorType": d.error_type, "errorMessage": d.error_message})
}

/// `<errorType>: <errorMessage>`, a failed invocation in one line.
pub fn describe_diagnostic(d: &Diagnostic) -> String {
    format!("{}: {}", d.error_type, d.error_message)
}

/// One line per job: kind and the ids that matter.
pub fn describe_job(j: &JobEnvelope) -> String {
    use bridge::jobs::Job;
    let detail = match &j.job {
        Job::ParticipantAttributes(p) => format!(
            "conversation {} participant {} attributes {}",
            p.conversation_id,
            p.participant_id,
            serde_json::to_string(&p.attributes).unwrap_or_default()
        ),
        Job::ContactFields(c) => {
            format!("contact {} ({} change(s))", c.contact_id, c.changes.len())
        }
        Job::ParticipantEnrich(p) => format!(
            "conversation {} participant {}{}{}",
            p.conversation_id,
            p.participant_id,
            p.phone
                .as_deref()
                .map(|x| format!(" phone {x}"))
                .unwrap_or_default(),
            p.email
                .as_deref()
                .map(|x| format!(" email {x}"))
                .unwrap_or_default()
        ),
        Job::TicketWrapup(t) => format!(
            "conversation {}{}{}",
            t.conversation_id,
            t.wrapup_code
                .as_deref()
                .map(|c| format!(" wrap-up code {c}"))
                .unwrap_or_default(),
            t.ticket_id
                .map(|id| format!(" ticket {id}"))
                .unwrap_or_default()
        ),
    };
    format!(
        "{} -> {}: {detail}",
        j.job.kind(),
        Function::of_consumer(j.job.consumer()).name()
    )
}
