//! What only agentless-messages' tests need: its handler over the shared org harness, with
//! an in-memory claim store and DLQ (or others passed in), its fixtures, and job batches.
#![allow(dead_code)]

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use agentless_messages::Messenger;
use bridge::http::HttpClient;
use bridge::idempotency::{IdempotencyStore, MemoryIdempotency};
use bridge::queue::{DeadLetters, MemoryDeadLetters};
use bridge::secrets::{MemorySource, DEFAULT_TTL};
use bridge::Runtime;
use bridge_testkit::{ctx_with_deadline, data_action_ctx_with_deadline, OrgHarness};
use serde_json::{json, Value};

pub const AGENTLESS: &str = "/api/v2/conversations/messages/agentless";

/// A fixture of `events/agentless-messages/`.
pub fn fixture(name: &str) -> Value {
    bridge_testkit::fixture(&format!("agentless-messages/{name}"))
}

/// The org harness (its fields through `Deref`), the claim store and the DLQ, and the
/// function's [`Messenger`] over them.
pub struct Harness {
    pub orgs: OrgHarness,
    pub claims: Arc<MemoryIdempotency>,
    pub dlq: Arc<MemoryDeadLetters>,
    pub m: Messenger,
}

impl Deref for Harness {
    type Target = OrgHarness;
    fn deref(&self) -> &OrgHarness {
        &self.orgs
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    /// Like [`Harness::start`]; `edit` may change org documents before the runtime sees them.
    pub async fn start_with(edit: impl FnOnce(&MemorySource)) -> Harness {
        let claims = Arc::new(MemoryIdempotency::default());
        let dlq = Arc::new(MemoryDeadLetters::new());
        Harness::start_on(edit, claims.clone(), dlq.clone(), claims, dlq).await
    }

    /// A harness whose messenger uses `store` and `dead_letters` (`claims` and `dlq` are
    /// what the tests look into).
    pub async fn start_on(
        edit: impl FnOnce(&MemorySource),
        claims: Arc<MemoryIdempotency>,
        dlq: Arc<MemoryDeadLetters>,
        store: Arc<dyn IdempotencyStore>,
        dead_letters: Arc<dyn DeadLetters>,
    ) -> Harness {
        let orgs = OrgHarness::start_with(edit).await;
        // The function's own runtime over the harness's org source (the handler takes it
        // shared, as `bridge dev` and main build it).
        let mut rt = Runtime::new(orgs.source.clone(), DEFAULT_TTL, HttpClient::new().unwrap());
        // Its EMF lines go where the harness captures them (`orgs.metrics`).
        rt.metrics = orgs.rt.metrics.clone();
        let m = Messenger::new(Arc::new(rt), store, dead_letters);
        Harness {
            orgs,
            claims,
            dlq,
            m,
        }
    }

    pub async fn invoke(&self, event: Value) -> Result<Value, lambda_runtime::Diagnostic> {
        self.invoke_within(event, Duration::from_secs(15)).await
    }

    /// Invokes the handler with `left` until the Lambda deadline: an SQS batch unqualified,
    /// as its event source mapping does, a data action through its org's alias, as Genesys
    /// does in the shared stack.
    pub async fn invoke_within(
        &self,
        event: Value,
        left: Duration,
    ) -> Result<Value, lambda_runtime::Diagnostic> {
        let ctx = if event.get("Records").is_some() {
            ctx_with_deadline(left)
        } else {
            data_action_ctx_with_deadline(agentless_messages::FUNCTION, &event, left)
        };
        agentless_messages::handle(&self.m, event, ctx).await
    }

    /// The agentless POSTs the sandbox received (answered or not).
    pub fn posts(&self) -> usize {
        bridge_sandbox::count(&self.journal(), "POST", AGENTLESS)
    }

    /// The messages Genesys (the sandbox) took.
    pub fn messages(&self) -> usize {
        self.sandbox.state().messages_sent()
    }
}

/// `event` with `field` set to `value` (for table tests built on a fixture); `null` removes it.
pub fn with(mut event: Value, field: &str, value: Value) -> Value {
    if value.is_null() {
        event.as_object_mut().unwrap().remove(field);
    } else {
        event[field] = value;
    }
    event
}

/// A `message.agentless` job of `org` with id `<event>:0`.
pub fn job(org: &str, event: &str, payload: Value) -> Value {
    json!({"v": 1, "jobId": format!("{event}:0"), "orgId": org, "eventId": event,
           "createdAt": "2026-11-21T10:00:00Z", "kind": "message.agentless", "payload": payload})
}

/// An SQS event holding these (message id, job) records.
pub fn sqs(records: &[(&str, Value)]) -> Value {
    let recs: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            json!({"messageId": id, "receiptHandle": format!("rh-{id}"), "body": body.to_string(),
                   "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795255680000"},
                   "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:genesys-bridge-MessageJobQueue",
                   "awsRegion": "eu-west-1"})
        })
        .collect();
    json!({ "Records": recs })
}

/// The message ids a batch answer reports failed.
pub fn failures(out: &Value) -> Vec<String> {
    out["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a batch response: {out}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}
