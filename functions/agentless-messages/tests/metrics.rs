//! What agentless-messages' invocations tell CloudWatch: real invocations against the
//! sandbox, then the EMF lines they wrote (captured by the harness), checked against the
//! format and against what the invocation did: messages sent, may-have-been-sent, refused.

mod common;

use std::time::Duration;

use bridge_sandbox::Fault;
use bridge_testkit::ids::*;
use bridge_testkit::{emf_documents, metrics_summary, uncatalogued_metrics, MAX_RECEIVE_COUNT};
use common::*;
use serde_json::{json, Value};

/// `event` with every record's delivery count set to `receives`.
fn delivered(mut event: Value, receives: u32) -> Value {
    for r in event["Records"].as_array_mut().unwrap() {
        r["attributes"]["ApproximateReceiveCount"] = json!(receives.to_string());
    }
    event
}

/// A free-text job of org A (its claim: the job id).
fn text_job(event: &str) -> Value {
    job(
        ORG_A,
        event,
        json!({"sender": "acme-sms", "text": "Your table is ready.", "toAddress": "+15551230001"}),
    )
}

#[tokio::test]
async fn data_actions_count_sent_duplicate_refused_and_may_have_been_sent_per_org() {
    let h = Harness::start().await;
    let text = fixture("data-action-sms-text.json");
    h.invoke(text.clone()).await.expect("sent");
    let again = h.invoke(text.clone()).await.expect("a repeat answers");
    assert_eq!(again["duplicate"], true);
    h.invoke(fixture("data-action-not-e164.json"))
        .await
        .expect_err("refused before any call");
    h.sandbox
        .inject(Fault::new("POST", AGENTLESS).applied().statuses([504]));
    let d = h
        .invoke(fixture("data-action-may-have-been-sent.json"))
        .await
        .expect_err("a lost answer is a Lambda error for the flow");
    assert_eq!(d.error_type, "Genesys.MayHaveBeenSent");

    let docs = emf_documents(&h.metrics);
    assert_eq!(docs.len(), 4, "one line per invocation: {docs:?}");
    let s = metrics_summary(&h.metrics);
    assert_eq!(s.get(Some(ORG_A), "Sent"), 1.0);
    assert_eq!(s.all_orgs("Duplicate"), 1.0);
    assert_eq!(s.get(Some(ORG_A), "Failed"), 1.0, "the refused number");
    assert_eq!(s.get(Some(ORG_A), "MayHaveBeenSent"), 1.0);
    assert_eq!(
        s.get(Some(ORG_A), "Genesys5xx"),
        1.0,
        "the one 504, answered once: never retried"
    );
    assert_eq!(s.orgs[ORG_A]["Latency"].samples, 4);
    assert!(uncatalogued_metrics(&h.metrics).is_empty());
    // Besides the checked keys (emf_documents): no recipient, text or sender address.
    let lines = h.metrics.lines().join("\n");
    for private in [
        text["toAddress"].as_str().unwrap(),
        text["text"].as_str().unwrap(),
        SMS_A,
    ] {
        assert!(!lines.contains(private), "{private} in {lines}");
    }
}

#[tokio::test]
async fn another_orgs_data_action_counts_as_failed_for_no_org() {
    let h = Harness::start().await;
    let mut event = fixture("data-action-sms-text.json");
    event["orgId"] = json!(ORG_B);
    let ctx = bridge_testkit::data_action_ctx(
        agentless_messages::FUNCTION,
        &fixture("data-action-sms-text.json"),
    );
    agentless_messages::handle(&h.m, event, ctx)
        .await
        .expect_err("org A's alias, org B's orgId");
    let s = metrics_summary(&h.metrics);
    // No config loaded, so the payload's org id never becomes a dimension value.
    assert!(s.orgs.keys().all(|o| o != ORG_A && o != ORG_B), "{s:?}");
    assert_eq!(s.all_orgs("Failed"), 1.0);
}

#[tokio::test]
async fn a_batch_counts_each_message_for_its_org() {
    let h = Harness::start().await;
    let out = h.invoke(fixture("sqs-batch.json")).await.expect("batch");
    assert!(failures(&out).is_empty());
    let records = fixture("sqs-batch.json")["Records"]
        .as_array()
        .unwrap()
        .len();
    let s = metrics_summary(&h.metrics);
    assert_eq!(
        (s.get(Some(ORG_A), "Sent"), s.all_orgs("Duplicate")),
        (2.0, (records - 2) as f64),
        "two messages, the rule's second job a duplicate: {s:?}"
    );

    // A lost answer: handled (dead-lettered by the function itself, marked), not failed.
    h.sandbox
        .inject(Fault::new("POST", AGENTLESS).applied().statuses([503]));
    let out = h
        .invoke(sqs(&[(
            "5b1e0009-0000-4000-8000-000000000009",
            text_job("evt-lost"),
        )]))
        .await
        .expect("batch");
    assert!(failures(&out).is_empty());
    let s = metrics_summary(&h.metrics);
    assert_eq!(s.get(Some(ORG_A), "MayHaveBeenSent"), 1.0);
    assert_eq!(s.get(Some(ORG_A), "Genesys5xx"), 1.0);
    assert_eq!(s.all_orgs("Failed"), 0.0);
    assert_eq!(
        s.all_orgs("DeadLettered"),
        0.0,
        "it is not SQS that dead-letters it"
    );
    assert!(uncatalogued_metrics(&h.metrics).is_empty());
}

#[tokio::test]
async fn throttling_counts_per_answer_and_the_last_delivery_is_dead_lettered() {
    let h = Harness::start().await;
    h.sandbox.inject(
        Fault::new("POST", AGENTLESS)
            .statuses([429, 429])
            .retry_after(60),
    );
    let event = sqs(&[("5b1e0008-0000-4000-8000-000000000008", text_job("evt-429"))]);
    for receives in [1, MAX_RECEIVE_COUNT] {
        h.invoke_within(delivered(event.clone(), receives), Duration::from_secs(5))
            .await
            .expect_err("the only message failed: SQS redelivers it");
    }
    assert_eq!(
        h.posts(),
        2,
        "one POST per delivery: a 429 beyond the deadline waits for SQS"
    );
    assert_eq!(h.messages(), 0);
    let s = metrics_summary(&h.metrics);
    assert_eq!(s.get(Some(ORG_A), "GenesysThrottled"), 2.0);
    assert_eq!(s.get(Some(ORG_A), "Failed"), 2.0);
    assert_eq!(
        s.get(Some(ORG_A), "DeadLettered"),
        1.0,
        "only the last delivery"
    );
}
