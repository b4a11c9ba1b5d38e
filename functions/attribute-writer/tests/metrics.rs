//! What attribute-writer's invocations tell CloudWatch: real invocations against the
//! sandbox, then the EMF lines they wrote (captured by the harness), checked against the
//! format and against the sandbox's journal.

mod common;

use bridge_sandbox::{matching, Fault};
use bridge_testkit::ids::*;
use bridge_testkit::{emf_documents, metrics_summary, uncatalogued_metrics, MAX_RECEIVE_COUNT};
use common::*;
use serde_json::{json, Value};

/// The SQS fixture's first record with these (message id, body, delivery count).
fn sqs(records: &[(&str, Value, u32)]) -> Value {
    let template = fixture("sqs-batch.json")["Records"][0].clone();
    let recs: Vec<Value> = records
        .iter()
        .map(|(id, body, receives)| {
            let mut r = template.clone();
            r["messageId"] = json!(id);
            r["body"] = json!(body.to_string());
            r["attributes"]["ApproximateReceiveCount"] = json!(receives.to_string());
            r
        })
        .collect();
    json!({ "Records": recs })
}

fn attrs_job(org: &str, conv: &str, part: &str) -> Value {
    json!({"v": 1, "jobId": format!("evt-{part}:0"), "orgId": org, "eventId": "evt-m", "createdAt": "2026-11-21T10:00:00Z",
           "kind": "participant.attributes",
           "payload": {"conversationId": conv, "participantId": part, "attributes": {"tier": "gold"}}})
}

#[tokio::test]
async fn a_data_action_writes_one_line_for_its_org_with_written_and_latency() {
    let h = Harness::start().await;
    h.invoke(fixture("data-action-attributes-json.json"))
        .await
        .expect("the write succeeds");
    let docs = emf_documents(&h.metrics);
    assert_eq!(docs.len(), 1, "one line per invocation: {docs:?}");
    let doc = &docs[0];
    assert_eq!(
        (&doc["Function"], &doc["OrgId"], &doc["Written"]),
        (&json!("attribute-writer"), &json!(ORG_A), &json!(1))
    );
    assert!(doc["Latency"].as_f64().is_some_and(|ms| ms > 0.0));
    let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    let dims_of = |name: &str| {
        directives
            .iter()
            .find(|d| {
                d["Metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["Name"] == name)
            })
            .map(|d| d["Dimensions"].clone())
    };
    assert_eq!(dims_of("Written"), Some(json!([["Function"], ["OrgId"]])));
    assert_eq!(
        dims_of("Latency"),
        Some(json!([["Function"], ["Function", "OrgId"]]))
    );
    // Ids of conversations and participants, attribute values and credentials are
    // never in a metric line.
    let line = &h.metrics.lines()[0];
    for text in [
        CONV_A1,
        CONV_A1_CUSTOMER,
        "platinum",
        CLIENT_A.0,
        CLIENT_A.1,
        "Bearer",
    ] {
        assert!(!line.contains(text), "{text} in {line}");
    }
}

#[tokio::test]
async fn a_read_back_that_disagrees_counts_verify_failed_besides_written() {
    let h = Harness::start().await;
    let mut event = fixture("data-action-verify.json");
    event["conversationId"] = json!(CONV_A3_ENDED);
    event["participantId"] = json!(CONV_A3_CUSTOMER);
    let out = h.invoke(event).await.expect("the write is accepted");
    assert_eq!(
        (&out["verified"], &out["verifyReason"]),
        (&json!(false), &json!("conversation ended"))
    );
    let s = metrics_summary(&h.metrics);
    assert_eq!(
        (
            s.get(Some(ORG_A), "Written"),
            s.get(Some(ORG_A), "VerifyFailed")
        ),
        (1.0, 1.0)
    );
}

#[tokio::test]
async fn upstream_429_and_5xx_count_per_answer_for_the_org() {
    let h = Harness::start().await;
    h.sandbox.inject(
        Fault::new("PATCH", ATTR_PATCH)
            .statuses([429, 503])
            .retry_after(0),
    );
    h.invoke(fixture("data-action-attributes-json.json"))
        .await
        .expect("succeeds on the third attempt");
    let statuses: Vec<u16> = matching(&h.journal(), "PATCH", ATTR_PATCH)
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, vec![429, 503, 202]);
    let s = metrics_summary(&h.metrics);
    assert_eq!(s.get(Some(ORG_A), "GenesysThrottled"), 1.0);
    assert_eq!(s.get(Some(ORG_A), "Genesys5xx"), 1.0);
    assert_eq!(s.get(Some(ORG_A), "Written"), 1.0);
    assert_eq!(s.all_orgs("Failed"), 0.0);
}

#[tokio::test]
async fn a_failed_data_action_counts_failed_for_its_org_and_every_5xx_answer() {
    let h = Harness::start().await;
    h.sandbox
        .inject(Fault::new("PATCH", ATTR_PATCH).statuses([503, 503, 503, 503, 503]));
    h.invoke(fixture("data-action-attributes-json.json"))
        .await
        .expect_err("Genesys keeps failing");
    let answered_503 = matching(&h.journal(), "PATCH", ATTR_PATCH)
        .iter()
        .filter(|e| e.status == 503)
        .count();
    assert!(answered_503 >= 2, "the PATCH was retried");
    let s = metrics_summary(&h.metrics);
    assert_eq!(s.get(Some(ORG_A), "Failed"), 1.0);
    assert_eq!(s.get(Some(ORG_A), "Genesys5xx"), answered_503 as f64);
    assert_eq!(s.get(Some(ORG_A), "Written"), 0.0);
}

#[tokio::test]
async fn a_failure_before_any_org_loaded_counts_for_all_orgs_only() {
    let h = Harness::start().await;
    let unknown = "0e0e0e0e-0000-4000-8000-000000000000";
    let mut unknown_org = fixture("data-action-attributes-json.json");
    unknown_org["orgId"] = json!(unknown);
    let mut bad_id = fixture("data-action-attributes-json.json");
    bad_id["conversationId"] = json!("+1 555 0100");
    for event in [unknown_org, bad_id] {
        h.invoke(event).await.expect_err("refused");
    }
    let docs = emf_documents(&h.metrics);
    assert_eq!(docs.len(), 2);
    for doc in &docs {
        assert!(doc.get("OrgId").is_none(), "{doc}");
        assert_eq!(doc["Failed"], 1);
    }
    let text = h.metrics.lines().join("\n");
    assert!(
        !text.contains(unknown) && !text.contains("+1 555"),
        "{text}"
    );
}

#[tokio::test]
async fn a_batch_counts_each_message_for_its_org_and_dead_letters_the_last_delivery() {
    let h = Harness::start().await;
    // A job of org A naming org B's conversation: Genesys answers 404 to org A's token.
    let foreign = attrs_job(ORG_A, CONV_B1, CONV_B1_CUSTOMER);
    let out = h
        .invoke(sqs(&[
            ("a-good", attrs_job(ORG_A, CONV_A1, CONV_A1_CUSTOMER), 1),
            ("a-foreign-early", foreign.clone(), 2),
            ("a-foreign-last", foreign, MAX_RECEIVE_COUNT),
            ("b-good", attrs_job(ORG_B, CONV_B2, CONV_B2_CUSTOMER), 1),
            ("unreadable", json!("{"), MAX_RECEIVE_COUNT),
        ]))
        .await
        .expect("a partial failure is a batch response");
    let failed = out["batchItemFailures"].as_array().unwrap().len();
    assert_eq!(failed, 3);
    let s = metrics_summary(&h.metrics);
    assert_eq!(s.get(Some(ORG_A), "Written"), 1.0);
    assert_eq!(s.get(Some(ORG_A), "Failed"), 2.0);
    assert_eq!(
        s.get(Some(ORG_A), "DeadLettered"),
        1.0,
        "only the last delivery"
    );
    assert_eq!(s.get(Some(ORG_B), "Written"), 1.0);
    assert_eq!(
        (s.get(None, "Failed"), s.get(None, "DeadLettered")),
        (1.0, 1.0),
        "a message with no readable org counts for all orgs"
    );
    assert_eq!(s.all_orgs("Failed"), failed as f64);
    let docs = emf_documents(&h.metrics);
    assert_eq!(docs.len(), 3, "one line per org and one without: {docs:?}");
    let latencies: Vec<bool> = docs.iter().map(|d| d.get("Latency").is_some()).collect();
    assert_eq!(
        latencies,
        vec![false, false, true],
        "a batch of two orgs reports its latency once, for all orgs"
    );
    assert!(uncatalogued_metrics(&h.metrics).is_empty());
}
