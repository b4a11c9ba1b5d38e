//! `bridge chaos`: N events through webhook-ingest → queue → workers, with the real
//! handlers, while the sandbox (and, with `--aws`, a proxy in front of the AWS emulator)
//! fails a set share of requests; then every event is judged from what the run left
//! behind, and one summary says whether anything was lost or done twice.
//!
//! The pieces, in the order a run uses them: [`plan`] (the seeded world and events),
//! [`senders`] (EventBridge's asynchronous invocations and HTTPS senders, with their
//! retries and dead letters), [`queues`] (in-memory or SQS queues and the event source
//! mappings that feed the workers), [`emulator`] (the AWS side on moto), [`logs`] (what the
//! workers said about each job), [`judge`] (the verdicts) and [`report`] (the summary). The
//! numbers of the simulated AWS are in [`model`].

mod emulator;
mod judge;
mod logs;
pub mod model;
mod plan;
mod queues;
mod report;
mod senders;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bridge::http::HttpClient;
use bridge::idempotency::{DynamoIdempotency, IdempotencyStore, MemoryIdempotency};
use bridge::jobs::Consumer;
use bridge::queue::{JobQueue, MemoryQueue, SqsQueue};
use bridge::secrets::{MemorySource, SecretSource, DEFAULT_TTL};
use bridge::{OrgConfig, Runtime};
use bridge_sandbox::{default_seed, ChaosConfig, Sandbox, Upstream};
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;
use tracing::instrument::WithSubscriber;
use webhook_ingest::Ingest;

pub use judge::Verdict;
pub use report::{Finding, Report};

use crate::exit::CliError;
use emulator::Emulator;
use logs::JobLogs;
use plan::Org;
use queues::{JobQueues, MemoryQueues, Workers};
use senders::Ledger;

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    pub events: usize,
    /// Share of upstream (and, with `aws_endpoint`, AWS) requests that get a fault.
    pub fault_rate: f64,
    pub seed: u64,
    /// The AWS emulator (loopback): SQS and DynamoDB there instead of in memory.
    pub aws_endpoint: Option<String>,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    pub orgs_dir: PathBuf,
}

impl Options {
    /// The command line that runs this again.
    pub fn command(&self) -> String {
        format!(
            "cargo run --release -p bridge-cli -- chaos --events {} --fault-rate {} --seed {} --concurrency {}{}",
            self.events,
            self.fault_rate,
            self.seed,
            self.concurrency,
            if self.aws_endpoint.is_some() { " --aws" } else { "" }
        )
    }

    fn check(&self) -> Result<(), CliError> {
        if self.events == 0 {
            return Err(CliError::usage("--events: expected at least 1"));
        }
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(CliError::usage(format!(
                "--fault-rate: expected a share between 0 and 1 (0.2 is 20 %); got {}",
                self.fault_rate
            )));
        }
        if self.concurrency == 0 {
            return Err(CliError::usage("--concurrency: expected at least 1"));
        }
        Ok(())
    }
}

/// Runs the chaos suite and judges it. An error is a run that could not be set up.
pub async fn run(opts: &Options) -> Result<Report, CliError> {
    opts.check()?;
    let started = Instant::now();
    let orgs = orgs(&opts.orgs_dir).await?;
    let plan = plan::plan(opts.seed, opts.events, &orgs, default_seed());
    let sandbox = Sandbox::start(plan.seed.clone())
        .await
        .map_err(|e| CliError::failed(format!("could not start the sandbox: {e}")))?;
    sandbox.set_chaos(Some(
        ChaosConfig::new(opts.seed, opts.fault_rate).stall(model::STALL),
    ));
    let stage = Stage::build(opts, &sandbox).await?;
    let logs = JobLogs::default();
    let ledger = Arc::new(Ledger::new(plan.events.len()));
    let (finished, watch) = tokio::sync::watch::channel(false);
    let consumers: Vec<_> = [Consumer::AttributeWriter, Consumer::TicketStatus]
        .into_iter()
        .map(|c| {
            tokio::spawn(queues::consume(
                stage.queues.clone(),
                stage.workers.clone(),
                c,
                logs.clone(),
                watch.clone(),
            ))
        })
        .collect();
    send_all(opts, &plan, &orgs, stage.ingest.clone(), &ledger, &logs).await;
    let _ = finished.send(true);
    let mut consumed = queues::Consumed::default();
    for c in consumers {
        let s = c
            .await
            .map_err(|e| CliError::failed(format!("a consumer stopped: {e}")))?
            .map_err(CliError::failed)?;
        consumed.invocations += s.invocations;
        consumed.redeliveries += s.redeliveries;
        consumed.timeouts += s.timeouts;
    }
    let job_dlq = stage
        .queues
        .dead_letters()
        .await
        .map_err(CliError::failed)?;
    let ledger = ledger.logs();
    let evidence = judge::Evidence {
        plan: &plan,
        state: sandbox.state(),
        ledger: &ledger,
        job_dlq: &job_dlq,
        job_logs: &logs,
    };
    let verdicts = judge::judge(&evidence);
    let mut report = summary(opts, &plan, &sandbox, &ledger, consumed);
    if let Some(em) = &stage.emulator {
        report.aws_faults = named(em.proxy.injected(), |f| f.name());
        report.aws_calls = em.proxy.requests().values().sum();
        em.remove().await;
    }
    let findings: Vec<(Verdict, Finding)> = verdicts
        .into_iter()
        .zip(&plan.events)
        .map(|(v, e)| (v, Finding::of(e)))
        .collect();
    report.tally(&findings);
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What the events go through: webhook-ingest with its queue and store, the job queues
/// the workers are fed from, the workers, and the AWS side when there is one.
struct Stage {
    ingest: Arc<Ingest>,
    queues: Arc<dyn JobQueues>,
    workers: Arc<Workers>,
    emulator: Option<Emulator>,
}

impl Stage {
    /// One runtime per function (its own caches, as its own Lambda), over the org files
    /// pointed at the sandbox, with the run's short per-attempt timeout.
    async fn build(opts: &Options, sandbox: &Sandbox) -> Result<Stage, CliError> {
        let http = HttpClient::new()
            .map_err(CliError::from)?
            .with_request_timeout(model::REQUEST_TIMEOUT);
        let runtime = || -> Result<Runtime, CliError> {
            let source = MemorySource::from_dir(&opts.orgs_dir, |doc| {
                bridge_sandbox::point_org_config(doc, &sandbox.base_url())
            })
            .map_err(|e| CliError::usage(format!("{}: {e}", opts.orgs_dir.display())))?;
            Ok(Runtime::new(Arc::new(source), DEFAULT_TTL, http.clone()))
        };
        let workers = Arc::new(Workers {
            attribute_writer: runtime()?,
            ticket_status: runtime()?,
        });
        let rt = Arc::new(runtime()?);
        let Some(endpoint) = &opts.aws_endpoint else {
            let memory = Arc::new(MemoryQueue::new());
            let store: Arc<dyn IdempotencyStore> = Arc::new(MemoryIdempotency::default());
            let ingest = Ingest::new(rt, memory.clone() as Arc<dyn JobQueue>, store);
            return Ok(Stage {
                ingest: Arc::new(ingest),
                queues: Arc::new(MemoryQueues::new(memory)),
                workers,
                emulator: None,
            });
        };
        let run_name = format!(
            "chaos-{}-{}",
            opts.seed,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let em = Emulator::start(endpoint, &run_name, opts.seed, opts.fault_rate).await?;
        let queue = SqsQueue::from_conf(
            &em.function_conf,
            em.queue_url(Consumer::AttributeWriter),
            em.queue_url(Consumer::TicketStatus),
        );
        let store = DynamoIdempotency::from_conf(&em.function_conf, &em.table);
        Ok(Stage {
            ingest: Arc::new(Ingest::new(rt, Arc::new(queue), Arc::new(store))),
            queues: Arc::new(queues::SqsQueues {
                sqs: em.queues.sqs.clone(),
                queues: em.queues.queues.clone(),
            }),
            workers,
            emulator: Some(em),
        })
    }
}

/// The report's counts of what was sent, injected and called (the verdicts come after).
fn summary(
    opts: &Options,
    plan: &plan::Plan,
    sandbox: &Sandbox,
    ledger: &[senders::EventLog],
    consumed: queues::Consumed,
) -> Report {
    let journal = sandbox.journal();
    let calls = |which: &[Upstream]| {
        journal
            .iter()
            .filter(|e| which.contains(&e.upstream))
            .count()
    };
    let (most, ticket) = judge::most_ticket_updates(&journal);
    let mut report = Report {
        command: opts.command(),
        mode: match &opts.aws_endpoint {
            None => "in-memory queue and idempotency store".to_string(),
            Some(e) => {
                format!("SQS and DynamoDB on the AWS emulator at {e}, behind a fault proxy")
            }
        },
        seed: opts.seed,
        fault_rate: opts.fault_rate,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        events: plan.events.len(),
        duplicate_deliveries: plan.deliveries.iter().filter(|d| d.copy > 0).count(),
        answered_duplicate: ledger.iter().map(|l| u64::from(l.duplicates)).sum(),
        upstream_faults: named(sandbox.chaos_injected(), |f| f.name()),
        ingest_invocations: ledger.iter().map(|l| u64::from(l.invocations)).sum(),
        worker_invocations: consumed.invocations,
        redeliveries: consumed.redeliveries,
        worker_timeouts: consumed.timeouts,
        genesys_calls: calls(&[Upstream::Genesys, Upstream::GenesysLogin]),
        zendesk_calls: calls(&[Upstream::Zendesk]),
        most_ticket_updates: most,
        most_updated_ticket: ticket,
        ..Report::default()
    };
    for e in &plan.events {
        *report.kinds.entry(e.kind.name().to_string()).or_default() += 1;
        *report
            .channels
            .entry(e.channel.name().to_string())
            .or_default() += 1;
    }
    report
}

/// Sends every delivery of the plan, in order, `opts.concurrency` at a time.
async fn send_all(
    opts: &Options,
    plan: &plan::Plan,
    orgs: &[Org],
    ingest: Arc<Ingest>,
    ledger: &Arc<Ledger>,
    logs: &JobLogs,
) {
    let slots = Arc::new(Semaphore::new(opts.concurrency));
    let events = Arc::new(plan.events.clone());
    let orgs: Arc<BTreeMap<String, Org>> =
        Arc::new(orgs.iter().map(|o| (o.id.clone(), o.clone())).collect());
    let dispatch = logs.dispatch();
    let mut tasks = tokio::task::JoinSet::new();
    for d in &plan.deliveries {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (ingest, ledger, events, orgs) =
            (ingest.clone(), ledger.clone(), events.clone(), orgs.clone());
        let index = d.event;
        tasks.spawn(
            async move {
                let e = &events[index];
                senders::deliver(&ingest, orgs.get(&e.org), e, index, &ledger).await;
                drop(slot);
            }
            .with_subscriber(dispatch.clone()),
        );
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// The orgs of `dir` that the sandbox's seed has (the example orgs), ready for a run.
async fn orgs(dir: &Path) -> Result<Vec<Org>, CliError> {
    if !dir.is_dir() {
        return Err(CliError::usage(format!(
            "org directory {} does not exist; run from the repository root or pass --orgs-dir DIR",
            dir.display()
        )));
    }
    let source = MemorySource::from_dir(dir, |_| {})
        .map_err(|e| CliError::usage(format!("{}: {e}", dir.display())))?;
    let seeded: Vec<String> = default_seed()
        .genesys
        .orgs
        .iter()
        .map(|o| o.id.clone())
        .collect();
    let mut out = Vec::new();
    for id in source.list().await.map_err(CliError::from)? {
        let Some(doc) = source.fetch(&id).await.map_err(CliError::from)? else {
            continue;
        };
        let cfg = OrgConfig::from_json_for(doc.expose_secret(), &id).map_err(|e| {
            CliError::usage(format!(
                "{}/{id}.json is not a valid org config: {e}",
                dir.display()
            ))
        })?;
        if seeded.contains(&cfg.org_id) {
            out.extend(Org::from_config(&cfg));
        }
    }
    if out.is_empty() {
        return Err(CliError::usage(format!(
            "no org file in {} is one of the sandbox's seeded orgs with Zendesk and a mapped wrap-up code (examples/orgs has two)",
            dir.display()
        )));
    }
    // The org with enrichment first: it gets most calls.
    out.sort_by_key(|o| (!o.enrichment, o.id.clone()));
    Ok(out)
}

fn named<K: Copy>(m: BTreeMap<K, u64>, name: impl Fn(K) -> &'static str) -> BTreeMap<String, u64> {
    m.into_iter()
        .map(|(k, v)| (name(k).to_string(), v))
        .collect()
}
