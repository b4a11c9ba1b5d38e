//! What ticket-status's invocations tell CloudWatch: real invocations against the sandbox,
//! then the EMF lines they wrote (captured by the harness), checked against the format and
//! against what the invocation did.

mod common;

use std::time::Duration;

use bridge_sandbox::{count, Fault};
use bridge_testkit::ids::*;
use bridge_testkit::{
    ctx_with_deadline, data_action_ctx, emf_documents, metrics_summary, uncatalogued_metrics,
    OrgHarness, MAX_RECEIVE_COUNT,
};
use common::*;
use lambda_runtime::Context;
use serde_json::{json, Value};
use ticket_status::{handle, FUNCTION};

/// `event` with every record's delivery count set to `receives`.
fn delivered(mut event: Value, receives: u32) -> Value {
    for r in event["Records"].as_array_mut().unwrap() {
        r["attributes"]["ApproximateReceiveCount"] = json!(receives.to_string());
    }
    event
}

#[tokio::test]
async fn data_actions_count_updated_unchanged_closed_and_follow_up_per_org() {
    let env = OrgHarness::start().await;
    for f in [
        "data-action-solve.json",
        "data-action-numeric-id.json",
        "data-action-followup-globex.json",
    ] {
        let event = fixture(f);
        let ctx = data_action_ctx(FUNCTION, &event);
        handle(&env.rt, event, ctx)
            .await
            .unwrap_or_else(|e| panic!("{f}: {e:?}"));
    }
    let closed = fixture("data-action-closed-ticket.json");
    let ctx = data_action_ctx(FUNCTION, &closed);
    handle(&env.rt, closed, ctx)
        .await
        .expect_err("a closed ticket is a Lambda error for the flow");
    let docs = emf_documents(&env.metrics);
    assert_eq!(docs.len(), 4, "one line per invocation: {docs:?}");
    let s = metrics_summary(&env.metrics);
    assert_eq!(s.get(Some(ORG_A), "Updated"), 1.0);
    assert_eq!(s.get(Some(ORG_A), "Unchanged"), 1.0);
    assert_eq!(
        s.get(Some(ORG_A), "Closed"),
        1.0,
        "a closed ticket is not a failure"
    );
    assert_eq!(s.get(Some(ORG_B), "FollowUp"), 1.0);
    assert_eq!(s.all_orgs("Failed"), 0.0);
    let latency = s.orgs[ORG_A]["Latency"];
    assert_eq!(
        latency.samples, 3,
        "one latency sample per invocation of the org"
    );
    // Besides the checked keys (emf_documents): no comment text or Zendesk credential.
    let text = env.metrics.lines().join("\n");
    let comment = fixture("data-action-solve.json")["comment"]
        .as_str()
        .expect("the fixture has a comment")
        .to_string();
    for secret in [
        ZENDESK_TOKEN_A.1,
        ZENDESK_TOKEN_B.0,
        "acme",
        comment.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn a_wrap_up_batch_counts_each_message_outcome_for_its_org() {
    let env = OrgHarness::start().await;
    handle(
        &env.rt,
        fixture("sqs-wrapup-batch.json"),
        Context::default(),
    )
    .await
    .expect("batch answered");
    let s = metrics_summary(&env.metrics);
    let records = fixture("sqs-wrapup-batch.json")["Records"]
        .as_array()
        .unwrap()
        .len();
    let counted: f64 = ["Updated", "Superseded", "Unmapped", "Closed", "Failed"]
        .iter()
        .map(|m| s.all_orgs(m))
        .sum();
    assert_eq!(counted, records as f64, "every message counts once: {s:?}");
    assert_eq!(
        (
            s.get(Some(ORG_A), "Updated"),
            s.get(Some(ORG_A), "Superseded"),
            s.get(Some(ORG_A), "Unmapped"),
            s.get(Some(ORG_A), "Closed")
        ),
        (2.0, 1.0, 1.0, 1.0)
    );
    assert!(uncatalogued_metrics(&env.metrics).is_empty());
}

#[tokio::test]
async fn zendesk_throttling_counts_per_answer_and_the_last_delivery_is_dead_lettered() {
    let env = OrgHarness::start().await;
    env.sandbox.inject(
        Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json")
            .statuses([429, 429])
            .retry_after(30),
    );
    let body = job(
        1,
        ORG_A,
        CONV_A1,
        CONV_A1_AGENT,
        Some(SOLVED_CODE),
        1,
        Some(1001),
    )
    .to_string();
    for receives in [1, MAX_RECEIVE_COUNT] {
        handle(
            &env.rt,
            delivered(sqs(&[("m1", body.clone())]), receives),
            ctx_with_deadline(Duration::from_secs(5)),
        )
        .await
        .expect_err("the only message failed: the invocation fails, SQS redelivers");
    }
    let puts = count(
        &env.sandbox.journal(),
        "PUT",
        "/zendesk/acme/api/v2/tickets/1001.json",
    );
    assert_eq!(puts, 2, "one PUT per delivery, no spinning");
    let s = metrics_summary(&env.metrics);
    assert_eq!(s.get(Some(ORG_A), "ZendeskThrottled"), puts as f64);
    assert_eq!(s.get(Some(ORG_A), "Failed"), 2.0);
    assert_eq!(
        s.get(Some(ORG_A), "DeadLettered"),
        1.0,
        "only the failure on delivery {MAX_RECEIVE_COUNT} goes to the DLQ"
    );
}

#[tokio::test]
async fn a_batch_of_two_orgs_writes_a_line_for_each() {
    let env = OrgHarness::start().await;
    let a = job(
        1,
        ORG_A,
        CONV_A2,
        CONV_A2_AGENT,
        Some(SOLVED_CODE),
        1,
        Some(1005),
    );
    let b = job(
        2,
        ORG_B,
        CONV_B2,
        CONV_B2_AGENT,
        Some(SOLVED_CODE_B),
        2,
        Some(2001),
    );
    let resp = handle(
        &env.rt,
        sqs(&[("m1", a.to_string()), ("m2", b.to_string())]),
        Context::default(),
    )
    .await
    .unwrap();
    assert!(failures(&resp).is_empty(), "{resp}");
    let docs = emf_documents(&env.metrics);
    let orgs: Vec<Option<&str>> = docs.iter().map(|d| d["OrgId"].as_str()).collect();
    let mut sorted_orgs = [ORG_A, ORG_B];
    sorted_orgs.sort();
    assert_eq!(
        orgs,
        vec![Some(sorted_orgs[0]), Some(sorted_orgs[1]), None],
        "a line per org, and the batch's latency once for all orgs"
    );
    for d in &docs[..2] {
        assert_eq!(d["Updated"], 1, "{d}");
        assert!(d.get("Latency").is_none(), "{d}");
    }
}
