//! The runner with a fake worker: partial failures, units that fail together, every failure
//! reported, the all-failed invocation error, batch order, bounded concurrency, one log
//! line per message, and an at-most-once effect claimed per message.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::*;
use crate::error::{ErrorKind, Upstream};
use crate::idempotency::{Claim, IdempotencyStore, MemoryIdempotency};
use crate::jobs::{Job, ParticipantAttributes};

const ORG: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";

/// The tests that run the runner take turns. `tracing` caches each log callsite's interest
/// for the whole process: when another test registers the runner's callsites at the moment
/// the log test installs its subscriber, the callsites can stay cached as "never" and the
/// log test sees no lines at all (it failed about one run in five that way).
static TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A job whose conversation id names its unit; its attributes steer the fake:
/// `prepare: invalid | skip`, `apply: fail | forget | twice`, `delay_ms: <n>`.
fn job(message_id: &str, unit: &str, steer: &[(&str, &str)]) -> Value {
    let env = JobEnvelope {
        v: 1,
        job_id: format!("job-{message_id}"),
        org_id: ORG.into(),
        event_id: format!("evt-{message_id}"),
        created_at: "2026-11-21T10:00:00Z".into(),
        correlation_id: None,
        job: Job::ParticipantAttributes(ParticipantAttributes {
            conversation_id: unit.into(),
            participant_id: "p".into(),
            attributes: steer
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }),
    };
    record(message_id, &env.to_json())
}

fn record(message_id: &str, body: &str) -> Value {
    json!({"messageId": message_id, "eventSource": "aws:sqs", "body": body,
           "attributes": {}, "messageAttributes": {}})
}

fn batch(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

fn failures(resp: &SqsBatchResponse) -> BTreeSet<String> {
    resp.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[derive(Debug)]
enum FakeOutcome {
    Done { unit: String },
    Skipped,
    Failed(BridgeError),
}

impl From<BridgeError> for FakeOutcome {
    fn from(e: BridgeError) -> Self {
        FakeOutcome::Failed(e)
    }
}

impl Outcome for FakeOutcome {
    fn name(&self) -> &'static str {
        match self {
            FakeOutcome::Done { .. } => "done",
            FakeOutcome::Skipped => "skipped",
            FakeOutcome::Failed(_) => "failed",
        }
    }
    fn failure(&self) -> Option<&BridgeError> {
        match self {
            FakeOutcome::Failed(e) => Some(e),
            _ => None,
        }
    }
    fn log(&self, m: &Message) {
        let unit = match self {
            FakeOutcome::Done { unit } => unit.as_str(),
            _ => "",
        };
        tracing::info!(message_id = %m.message_id, job_id = %m.job_id, org_id = %m.org_id,
            outcome = self.name(), unit, "fake job handled");
    }
}

struct FakeItem {
    unit: String,
    apply: Option<String>,
}

struct FakeUnit {
    key: String,
    members: Vec<(Message, Option<String>)>,
}

#[derive(Default)]
struct Fake {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    /// The message indexes of each unit, as `merge` made them.
    units: Mutex<Vec<Vec<usize>>>,
}

impl Worker for Fake {
    type Item = FakeItem;
    type Unit = FakeUnit;
    type Outcome = FakeOutcome;
    const CONCURRENCY: usize = 2;

    async fn prepare(&self, job: JobEnvelope) -> std::result::Result<FakeItem, FakeOutcome> {
        let Job::ParticipantAttributes(a) = job.job else {
            return Err(BridgeError::validation("kind", "expected participant.attributes").into());
        };
        if let Some(ms) = a.attributes.get("delay_ms") {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
        }
        match a.attributes.get("prepare").map(String::as_str) {
            Some("invalid") => {
                Err(BridgeError::validation("payload.attributes.prepare", "told to fail").into())
            }
            Some("skip") => Err(FakeOutcome::Skipped),
            _ => Ok(FakeItem {
                unit: a.conversation_id,
                apply: a.attributes.get("apply").cloned(),
            }),
        }
    }

    fn merge(&self, items: Vec<(Message, FakeItem)>) -> Vec<FakeUnit> {
        let mut units: Vec<FakeUnit> = Vec::new();
        for (m, item) in items {
            match units.iter_mut().find(|u| u.key == item.unit) {
                Some(u) => u.members.push((m, item.apply)),
                None => units.push(FakeUnit {
                    key: item.unit,
                    members: vec![(m, item.apply)],
                }),
            }
        }
        *self.units.lock().unwrap() = units
            .iter()
            .map(|u| u.members.iter().map(|(m, _)| m.index).collect())
            .collect();
        units
    }

    async fn apply(&self, unit: FakeUnit) -> Vec<(Message, FakeOutcome)> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let unit_fails = unit
            .members
            .iter()
            .any(|(_, a)| a.as_deref() == Some("fail"));
        let mut out = Vec::new();
        for (m, apply) in unit.members {
            if unit_fails {
                let e = BridgeError::upstream(Upstream::Genesys, ErrorKind::ServerError, "503")
                    .with_status(503);
                out.push((m, FakeOutcome::Failed(e)));
                continue;
            }
            match apply.as_deref() {
                Some("forget") => {}
                Some("twice") => {
                    out.push((
                        m.clone(),
                        FakeOutcome::Done {
                            unit: unit.key.clone(),
                        },
                    ));
                    out.push((m, FakeOutcome::Failed(BridgeError::internal("second"))));
                }
                _ => out.push((
                    m,
                    FakeOutcome::Done {
                        unit: unit.key.clone(),
                    },
                )),
            }
        }
        out
    }
}

#[tokio::test]
async fn partial_and_total_failure() {
    let _turn = TURNS.lock().await;
    let w = Fake::default();
    let resp = run(
        &w,
        batch(vec![
            job("m1", "u1", &[]),
            job("m2", "u2", &[("prepare", "invalid")]),
            job("m3", "u3", &[]),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert_eq!(resp.batch_item_failures[0].item_identifier, "m2");

    let e = run(
        &w,
        batch(vec![
            job("m1", "u1", &[("prepare", "invalid")]),
            job("m2", "u2", &[("prepare", "invalid")]),
        ]),
    )
    .await
    .unwrap_err();
    assert!(
        e.message.contains("every job of the batch failed (2 of 2)"),
        "{e}"
    );

    assert!(run(&w, batch(vec![]))
        .await
        .unwrap()
        .batch_item_failures
        .is_empty());
}

#[tokio::test]
async fn a_failed_unit_fails_every_message_it_holds() {
    let _turn = TURNS.lock().await;
    let w = Fake::default();
    let resp = run(
        &w,
        batch(vec![
            job("m1", "u1", &[]),
            job("m2", "u2", &[]),
            job("m3", "u1", &[("apply", "fail")]),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        failures(&resp),
        set(&["m1", "m3"]),
        "m1 and m3 made the failed unit"
    );
    assert_eq!(*w.units.lock().unwrap(), vec![vec![0, 2], vec![1]]);
}

#[tokio::test]
async fn every_failure_is_reported_so_it_reaches_the_dlq() {
    let _turn = TURNS.lock().await;
    let w = Fake::default();
    let mut v2: Value = serde_json::from_str(job("x", "u", &[])["body"].as_str().unwrap()).unwrap();
    v2["v"] = json!(2);
    let mut no_body = record("no-body", "");
    no_body.as_object_mut().unwrap().remove("body");
    let event = batch(vec![
        record("v2", &v2.to_string()),
        record("not-json", "{"),
        no_body,
        job("invalid", "u1", &[("prepare", "invalid")]),
        job("unit-failed", "u2", &[("apply", "fail")]),
        job("forgotten", "u3", &[("apply", "forget")]),
        job("twice", "u4", &[("apply", "twice")]),
        job("skipped", "u5", &[("prepare", "skip")]),
        job("good", "u6", &[]),
    ]);
    let resp = run(&w, event.clone()).await.unwrap();
    assert_eq!(
        failures(&resp),
        set(&[
            "v2",
            "not-json",
            "no-body",
            "invalid",
            "unit-failed",
            "forgotten",
            "twice"
        ])
    );
    let settled = settle(&w, &parse_sqs_event(event).unwrap()).await;
    let names: Vec<(&str, &str)> = settled
        .iter()
        .map(|(m, o)| (m.message_id.as_str(), o.name()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("v2", "failed"),
            ("not-json", "failed"),
            ("no-body", "failed"),
            ("invalid", "failed"),
            ("unit-failed", "failed"),
            ("forgotten", "failed"),
            ("twice", "failed"),
            ("skipped", "skipped"),
            ("good", "done"),
        ],
        "one outcome per message, in batch order"
    );
    let forgotten = settled[5].1.failure().unwrap();
    assert_eq!(forgotten.error_type(), "Bridge.Internal");
    assert!(forgotten.message.contains("no outcome"), "{forgotten}");
    assert_eq!(settled[0].1.failure().unwrap().field.as_deref(), Some("v"));
    assert_eq!(
        (settled[8].0.job_id.as_str(), settled[8].0.org_id.as_str()),
        ("job-good", ORG)
    );
    assert_eq!(
        (settled[1].0.job_id.as_str(), settled[1].0.org_id.as_str()),
        ("", "")
    );
}

#[tokio::test]
async fn a_batch_where_every_job_failed_is_an_invocation_error_with_the_reason() {
    let _turn = TURNS.lock().await;
    let w = Fake::default();
    let e = run(
        &w,
        batch(vec![
            job("m1", "u1", &[("prepare", "invalid")]),
            job("m2", "u2", &[("apply", "fail")]),
        ]),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type(), "Input.InvalidInput", "the first reason");
    assert!(
        e.message.contains("every job of the batch failed (2 of 2)"),
        "{e}"
    );
    assert!(e.message.contains("told to fail"), "{e}");
    assert_eq!(e.field.as_deref(), Some("payload.attributes.prepare"));

    // Handled outcomes are not failures: a batch of one skipped job answers no failures.
    let resp = run(&w, batch(vec![job("s", "u", &[("prepare", "skip")])]))
        .await
        .unwrap();
    assert!(resp.batch_item_failures.is_empty());
    // Not an SQS event at all.
    let e = run(&w, json!({"Records": 1})).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("Records"));
}

#[tokio::test(start_paused = true)]
async fn items_reach_merge_in_batch_order_and_units_run_at_most_concurrency_at_once() {
    let _turn = TURNS.lock().await;
    let w = Fake::default();
    // The first jobs take longest to prepare: merge must still see them first.
    let records = (0..6)
        .map(|i| {
            let delay = ((6 - i) * 10).to_string();
            job(&format!("m{i}"), &format!("u{i}"), &[("delay_ms", &delay)])
        })
        .collect();
    let resp = run(&w, batch(records)).await.unwrap();
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(
        *w.units.lock().unwrap(),
        (0..6).map(|i| vec![i]).collect::<Vec<_>>()
    );
    assert_eq!(w.peak.load(Ordering::SeqCst), Fake::CONCURRENCY);
}

/// Everything `tracing` writes while the guard lives (this thread).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

#[tokio::test]
async fn one_log_line_per_message_with_its_ids_and_outcome() {
    let _turn = TURNS.lock().await;
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let w = Fake::default();
    run(
        &w,
        batch(vec![
            job("m1", "u1", &[]),
            job("m2", "u1", &[]),
            job("m3", "u2", &[("apply", "fail")]),
            job("m4", "u3", &[("prepare", "skip")]),
            record("m5", "not json"),
        ]),
    )
    .await
    .unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let mut lines: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(id) = v["message_id"].as_str() {
            lines.entry(id.to_string()).or_default().push(v.clone());
        }
    }
    let outcomes: Vec<(&str, &str)> = lines
        .iter()
        .map(|(id, l)| {
            assert_eq!(l.len(), 1, "one line for {id}: {l:?}");
            (id.as_str(), l[0]["outcome"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("m1", "done"),
            ("m2", "done"),
            ("m3", "failed"),
            ("m4", "skipped"),
            ("m5", "failed")
        ]
    );
    for id in ["m1", "m3", "m4"] {
        let l = &lines[id][0];
        assert_eq!(l["job_id"], format!("job-{id}"), "{l}");
        assert_eq!(l["org_id"], ORG, "{l}");
    }
    let m3 = &lines["m3"][0];
    assert_eq!(m3["error_type"], "Genesys.ServerError");
    assert_eq!(m3["retryable"], true);
    assert_eq!(lines["m5"][0]["job_id"], "");
}

/// A worker whose effect must happen at most once (a message to a customer): `apply`
/// claims the job's key right before the effect.
struct Sender {
    store: MemoryIdempotency,
    effects: AtomicUsize,
}

#[derive(Debug)]
enum Sent {
    Delivered,
    Duplicate,
    Failed(BridgeError),
}

impl From<BridgeError> for Sent {
    fn from(e: BridgeError) -> Self {
        Sent::Failed(e)
    }
}

impl Outcome for Sent {
    fn name(&self) -> &'static str {
        match self {
            Sent::Delivered => "sent",
            Sent::Duplicate => "duplicate",
            Sent::Failed(_) => "failed",
        }
    }
    fn failure(&self) -> Option<&BridgeError> {
        match self {
            Sent::Failed(e) => Some(e),
            _ => None,
        }
    }
    fn log(&self, m: &Message) {
        tracing::info!(message_id = %m.message_id, job_id = %m.job_id, org_id = %m.org_id,
            outcome = self.name(), "message job handled");
    }
}

impl Worker for Sender {
    type Item = String;
    type Unit = (Message, String);
    type Outcome = Sent;
    const CONCURRENCY: usize = 4;

    async fn prepare(&self, job: JobEnvelope) -> std::result::Result<String, Sent> {
        Ok(crate::idempotency::key(&job.org_id, &job.event_id))
    }

    fn merge(&self, items: Vec<(Message, String)>) -> Vec<(Message, String)> {
        items
    }

    async fn apply(&self, (m, key): (Message, String)) -> Vec<(Message, Sent)> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        // Each apply is a claim of its own (a redelivery is another invocation).
        let owner = crate::idempotency::owner("");
        let outcome = match self.store.begin(&key, &owner, now + 60_000, now).await {
            Ok(Claim::Duplicate(_)) => Sent::Duplicate,
            Ok(Claim::Acquired) => {
                self.effects.fetch_add(1, Ordering::SeqCst);
                match self.store.complete(&key, now).await {
                    Ok(()) => Sent::Delivered,
                    Err(e) => Sent::Failed(e),
                }
            }
            Err(e) => Sent::Failed(e),
        };
        vec![(m, outcome)]
    }
}

#[tokio::test]
async fn a_worker_can_claim_each_message_before_its_effect() {
    let _turn = TURNS.lock().await;
    let w = Sender {
        store: MemoryIdempotency::default(),
        effects: AtomicUsize::new(0),
    };
    // The same job twice in one batch (ingest retried), then the batch redelivered.
    let same = job("m1", "u", &[]);
    let mut again = same.clone();
    again["messageId"] = json!("m2");
    let event = parse_sqs_event(batch(vec![same, again])).unwrap();
    let first: BTreeSet<&str> = settle(&w, &event)
        .await
        .iter()
        .map(|(_, o)| o.name())
        .collect();
    assert_eq!(first, BTreeSet::from(["duplicate", "sent"]));
    let second: Vec<&str> = settle(&w, &event)
        .await
        .iter()
        .map(|(_, o)| o.name())
        .collect();
    assert_eq!(second, vec!["duplicate", "duplicate"]);
    assert_eq!(w.effects.load(Ordering::SeqCst), 1, "one effect in all");
}
