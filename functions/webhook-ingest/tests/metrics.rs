//! What webhook-ingest's invocations tell CloudWatch: real events through the handler
//! (in-memory queue and idempotency store, org configs pointed at the sandbox), then the
//! EMF lines they wrote, checked against the format and against what each one answered.

use std::sync::Arc;
use std::time::Duration;

use bridge::idempotency::MemoryIdempotency;
use bridge::metrics::Captured;
use bridge_sandbox::{Fault, Sandbox};
use bridge_testkit::ids::*;
use bridge_testkit::{ctx_with_deadline, emf_documents, metrics_summary, FaultyQueue, OrgHarness};
use lambda_runtime::Context;
use serde_json::{json, Value};
use webhook_ingest::{handle, Ingest, Limits, ManualClock};

/// 2026-11-21T10:08:00Z, when the Function URL fixtures were "sent".
const NOW_MS: u64 = 1_795_255_680_000;

struct H {
    sandbox: Sandbox,
    ingest: Ingest,
    queue: Arc<FaultyQueue>,
    metrics: Captured,
}

async fn harness() -> H {
    let OrgHarness {
        sandbox,
        rt,
        metrics,
        ..
    } = OrgHarness::start().await;
    let queue = Arc::new(FaultyQueue::new());
    let ingest = Ingest::with(
        Arc::new(rt),
        queue.clone(),
        Arc::new(MemoryIdempotency::default()),
        Limits::default(),
        Arc::new(ManualClock::new(NOW_MS)),
    );
    H {
        sandbox,
        ingest,
        queue,
        metrics,
    }
}

fn fixture(name: &str) -> Value {
    bridge_testkit::fixture(&format!("webhook-ingest/{name}"))
}

impl H {
    async fn call(&self, event: Value) -> Result<Value, lambda_runtime::Diagnostic> {
        handle(&self.ingest, event, Context::default()).await
    }

    async fn status(&self, event: Value) -> u64 {
        self.call(event)
            .await
            .expect("Function URL requests answer")["statusCode"]
            .as_u64()
            .unwrap()
    }
}

/// The bearer command fixture with another `Authorization` and path org.
fn bearer_request(org: &str, authorization: &str) -> Value {
    let mut ev = fixture("function-url-command-attributes.json");
    ev["rawPath"] = json!(format!("/orgs/{org}/events"));
    ev["requestContext"]["http"]["path"] = ev["rawPath"].clone();
    ev["headers"]["authorization"] = json!(authorization);
    ev
}

#[tokio::test]
async fn eventbridge_events_count_accepted_then_duplicate_for_their_org() {
    let h = harness().await;
    for _ in 0..2 {
        h.call(fixture("eventbridge-acw.json"))
            .await
            .expect("accepted");
    }
    let docs = emf_documents(&h.metrics);
    assert_eq!(docs.len(), 2, "one line per invocation: {docs:?}");
    assert_eq!(
        (&docs[0]["OrgId"], &docs[0]["Accepted"]),
        (&json!(ORG_A), &json!(1))
    );
    assert_eq!(
        (&docs[1]["OrgId"], &docs[1]["Duplicate"]),
        (&json!(ORG_A), &json!(1))
    );
    // A duplicate is all-orgs only: one metric per function, not one per org.
    let dup_dims: Vec<&Value> = docs[1]["_aws"]["CloudWatchMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["Name"] == "Duplicate")
        })
        .map(|d| &d["Dimensions"])
        .collect();
    assert_eq!(dup_dims, vec![&json!([["Function"]])]);
    assert!(docs.iter().all(|d| d["Function"] == "webhook-ingest"));
}

#[tokio::test]
async fn https_refusals_count_for_the_org_whose_endpoint_refused() {
    let h = harness().await;
    let unknown = "0e0e0e0e-0000-4000-8000-000000000000";
    assert_eq!(
        h.status(fixture("function-url-command-attributes.json"))
            .await,
        202
    );
    let wrong_secret = "Bearer globex-webhook-secret-local-0123456789abcdef";
    assert_eq!(h.status(bearer_request(ORG_A, wrong_secret)).await, 401);
    assert_eq!(h.status(bearer_request(unknown, wrong_secret)).await, 401);
    let mut bad_body = fixture("function-url-command-attributes.json");
    bad_body["body"] = json!("{\"command\": \"participant.attributes\"}");
    assert_eq!(h.status(bad_body).await, 400);
    h.queue.fail_next(1);
    let mut retry = fixture("function-url-command-attributes.json");
    retry["headers"]["idempotency-key"] = json!("another-run");
    assert_eq!(h.status(retry).await, 500);

    let s = metrics_summary(&h.metrics);
    assert_eq!(s.get(Some(ORG_A), "Accepted"), 1.0);
    assert_eq!(
        s.get(Some(ORG_A), "Rejected"),
        2.0,
        "the wrong secret and the bad body"
    );
    assert_eq!(s.get(Some(ORG_A), "Failed"), 1.0, "the queue failure (500)");
    assert_eq!(
        s.get(None, "Rejected"),
        1.0,
        "an unknown org is no dimension value"
    );
    let text = h.metrics.lines().join("\n");
    assert!(!text.contains(unknown), "{text}");
    assert!(!text.contains("globex-webhook-secret"), "{text}");
    assert!(!text.contains("flow-run-5521"), "no event id: {text}");
}

#[tokio::test]
async fn an_unconfigured_orgs_event_counts_rejected_without_its_org() {
    let h = harness().await;
    h.call(fixture("eventbridge-unknown-org.json"))
        .await
        .expect_err("no config for the org");
    let docs = emf_documents(&h.metrics);
    assert_eq!(docs.len(), 1);
    assert!(docs[0].get("OrgId").is_none(), "{}", docs[0]);
    assert_eq!(docs[0]["Rejected"], 1);
    let source = fixture("eventbridge-unknown-org.json")["source"]
        .as_str()
        .unwrap()
        .to_string();
    let org_in_source = source.split('/').nth(3).unwrap();
    assert!(!h.metrics.lines()[0].contains(org_in_source));
}

#[tokio::test]
async fn a_throttled_genesys_token_check_counts_for_the_org() {
    let h = harness().await;
    h.sandbox.inject(
        Fault::new("GET", "/api/v2/tokens/me")
            .statuses([429])
            .retry_after(60),
    );
    let token = h.sandbox.state().issue_token("acme-bridge-client");
    // Genesys tokens are checked only on the user route; /events takes none.
    let mut request = bearer_request(ORG_A, &format!("Bearer {token}"));
    request["rawPath"] = json!(format!("/orgs/{ORG_A}/user/events"));
    request["requestContext"]["http"]["path"] = request["rawPath"].clone();
    // A 60 s Retry-After does not fit the invocation: it gives up at once.
    let out = handle(
        &h.ingest,
        request,
        ctx_with_deadline(Duration::from_secs(5)),
    )
    .await
    .expect("Function URL requests answer");
    assert_eq!(
        out["statusCode"], 503,
        "the token cannot be checked now: {out}"
    );
    let s = metrics_summary(&h.metrics);
    assert_eq!(s.get(Some(ORG_A), "GenesysThrottled"), 1.0);
    assert_eq!(s.get(Some(ORG_A), "Failed"), 1.0);
    assert!(!h.metrics.lines().join("\n").contains(&token));
}
