//! SQS batches of `message.agentless` jobs through the public handler against the sandbox:
//! one message per claim, partial failures, and the dead-lettering of messages that may
//! have been sent (never redelivered, never sent twice).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bridge::idempotency::{IdempotencyStore, MemoryIdempotency};
use bridge::jobs::JobEnvelope;
use bridge::queue::{
    DeadLetters, MemoryDeadLetters, CONVERSATION_ATTRIBUTE, ERROR_TYPE_ATTRIBUTE,
    MAY_HAVE_BEEN_SENT, OUTCOME_ATTRIBUTE, REASON_ATTRIBUTE,
};
use bridge::{BridgeError, ErrorKind, Upstream};
use bridge_sandbox::{count, Fault};
use bridge_testkit::ids::*;
use bridge_testkit::show;
use common::*;
use serde_json::{json, Value};

const M: [&str; 3] = [
    "5b1e0001-0000-4000-8000-000000000001",
    "5b1e0002-0000-4000-8000-000000000002",
    "5b1e0003-0000-4000-8000-000000000003",
];

fn rule_job(event: &str) -> Value {
    job(
        ORG_A,
        event,
        json!({"template": "missed-call", "conversationId": CONV_A1,
               "idempotencyKey": format!("rule:missed-call:{CONV_A1}")}),
    )
}

fn text_job(event: &str) -> Value {
    job(
        ORG_A,
        event,
        json!({"sender": "acme-sms", "text": "Your table is ready.", "toAddress": "+15551230001",
               "conversationId": CONV_A2}),
    )
}

#[tokio::test]
async fn one_message_per_claim_and_redeliveries_send_nothing() {
    let h = Harness::start().await;
    let out = h.invoke(fixture("sqs-batch.json")).await.expect("batch");
    assert_eq!(failures(&out), Vec::<String>::new());
    let j = h.journal();
    assert_eq!(h.posts(), 2, "{}", show(&j));
    let sent = h.sandbox.state().sent_messages(ORG_A);
    let texts: Vec<&str> = sent
        .iter()
        .map(|m| m["textBody"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        vec![
            "Hi Jane Doe, sorry we missed your call to Acme Support. Reply here or call us back at +15550000100.",
            "Acme Support: a reminder of your appointment on Monday 3 March at 10:30.",
        ]
    );
    // SQS delivers the whole batch again (visibility timeout): nothing is sent again.
    let out = h.invoke(fixture("sqs-batch.json")).await.expect("batch");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(h.posts(), 2);
    assert!(h.dlq.snapshot().is_empty());
}

#[tokio::test]
async fn a_bad_job_fails_alone() {
    let h = Harness::start().await;
    let bad = job(
        ORG_A,
        "evt-bad",
        json!({"template": "no-such", "toAddress": "+15551230001"}),
    );
    let other_org = job(
        ORG_B,
        "evt-b",
        json!({"template": "missed-call", "toAddress": "+15559870001"}),
    );
    let out = h
        .invoke(sqs(&[
            (M[0], bad),
            (M[1], text_job("evt-ok")),
            (M[2], other_org),
        ]))
        .await
        .expect("batch");
    assert_eq!(
        failures(&out),
        vec![M[0].to_string(), M[2].to_string()],
        "org B has no messaging config"
    );
    assert_eq!(h.messages(), 1);
}

#[tokio::test]
async fn a_message_that_may_have_been_sent_goes_to_the_dlq_once_and_is_never_resent() {
    let h = Harness::start().await;
    h.sandbox
        .inject(Fault::new("POST", AGENTLESS).applied().statuses([503]));
    let event = sqs(&[(M[0], text_job("evt-lost"))]);
    let out = h.invoke(event.clone()).await.expect("batch");
    assert_eq!(
        failures(&out),
        Vec::<String>::new(),
        "reported done: SQS must not redeliver it"
    );
    assert_eq!(h.posts(), 1, "a 503 of this POST is not retried");
    assert_eq!(h.messages(), 1);
    let dlq = h.dlq.snapshot();
    assert_eq!(dlq.len(), 1);
    let (job, attrs) = &dlq[0];
    assert_eq!(job.job_id, "evt-lost:0");
    assert_eq!(attrs[OUTCOME_ATTRIBUTE], MAY_HAVE_BEEN_SENT);
    assert_eq!(attrs[ERROR_TYPE_ATTRIBUTE], "Genesys.MayHaveBeenSent");
    assert_eq!(attrs[CONVERSATION_ATTRIBUTE], CONV_A2);
    assert!(attrs[REASON_ATTRIBUTE].contains("503"), "{attrs:?}");
    assert!(
        !attrs[REASON_ATTRIBUTE].contains("1230001"),
        "no phone number: {attrs:?}"
    );

    // A redelivery (SQS is at least once) finds the claim: no send, no second DLQ entry.
    let out = h.invoke(event).await.expect("batch");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(h.posts(), 1);
    assert_eq!(h.dlq.snapshot().len(), 1);
}

/// A DLQ that refuses the first `fail` puts.
struct FlakyDlq {
    inner: MemoryDeadLetters,
    fail: AtomicUsize,
}

#[async_trait]
impl DeadLetters for FlakyDlq {
    async fn put(&self, job: &JobEnvelope, attributes: &[(&str, String)]) -> bridge::Result<()> {
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(BridgeError::upstream(
                Upstream::Sqs,
                ErrorKind::ServerError,
                "SQS is down",
            ));
        }
        self.inner.put(job, attributes).await
    }
}

#[tokio::test]
async fn when_the_dlq_fails_the_job_is_retried_into_it_not_resent() {
    let claims = Arc::new(MemoryIdempotency::default());
    let flaky = Arc::new(FlakyDlq {
        inner: MemoryDeadLetters::new(),
        fail: AtomicUsize::new(1),
    });
    let h = Harness::start_on(
        |_| {},
        claims.clone(),
        Arc::new(MemoryDeadLetters::new()),
        claims,
        flaky.clone(),
    )
    .await;
    h.sandbox
        .inject(Fault::new("POST", AGENTLESS).applied().statuses([502]));
    let event = sqs(&[(M[0], text_job("evt-dlq"))]);
    let out = h.invoke(event.clone()).await.unwrap_err();
    assert_eq!(
        out.error_type, "SQS.ServerError",
        "the only job failed: {}",
        out.error_message
    );
    assert!(flaky.inner.snapshot().is_empty());
    let out = h.invoke(event).await.expect("batch");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(flaky.inner.snapshot().len(), 1);
    assert_eq!(h.posts(), 1, "never sent twice");
}

#[tokio::test]
async fn claims_of_stopped_and_running_invocations_are_respected() {
    let h = Harness::start().await;
    let now = agentless_messages::apply::now_ms();
    let key = |event: &str| format!("{ORG_A}#agentless:{event}:0");
    // An invocation claimed this message and stopped before recording an outcome: it may
    // have sent it.
    h.claims
        .begin(
            &key("evt-crashed"),
            "crashed-invocation",
            now - 1,
            now - 10_000,
        )
        .await
        .unwrap();
    // Another is sending this one right now.
    h.claims
        .begin(&key("evt-running"), "running-invocation", now + 60_000, now)
        .await
        .unwrap();
    let out = h
        .invoke(sqs(&[
            (M[0], text_job("evt-crashed")),
            (M[1], text_job("evt-running")),
        ]))
        .await
        .expect("batch");
    assert_eq!(
        failures(&out),
        vec![M[1].to_string()],
        "the running one is retried later"
    );
    assert_eq!(h.posts(), 0);
    let dlq = h.dlq.snapshot();
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].0.job_id, "evt-crashed:0");
    assert_eq!(dlq[0].1[OUTCOME_ATTRIBUTE], MAY_HAVE_BEEN_SENT);
}

#[tokio::test]
async fn throttling_past_the_deadline_releases_the_claim_for_the_redelivery() {
    let h = Harness::start().await;
    h.sandbox.inject(
        Fault::new("POST", AGENTLESS)
            .statuses([429])
            .retry_after(60),
    );
    let event = sqs(&[(M[0], rule_job("evt-429")), (M[1], rule_job("evt-429b"))]);
    let out = h.invoke(event.clone()).await.unwrap_err();
    assert_eq!(out.error_type, "Genesys.RateLimited");
    assert_eq!(
        h.posts(),
        1,
        "one unit for the two jobs of the same message"
    );
    let out = h.invoke(event).await.expect("batch");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(h.messages(), 1);
    assert_eq!(count(&h.journal(), "POST", AGENTLESS), 2);
}
