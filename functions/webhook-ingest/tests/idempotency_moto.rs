//! webhook-ingest with its DynamoDB idempotency table in the AWS emulator (moto on
//! loopback, started by scripts/test.sh), behind the sandbox's AWS fault proxy: the claim's
//! `PutItem` is applied but its answer is lost, and the SDK sends it again. Fails, never
//! skips, when the emulator is missing.

use std::sync::Arc;
use std::time::Duration;

use bridge::http::HttpClient;
use bridge::idempotency::{self, DynamoIdempotency, IdempotencyStore, RecordStatus};
use bridge::jobs::Consumer;
use bridge::Runtime;
use bridge_sandbox::{default_seed, AwsFault, AwsProxy, Sandbox};
use bridge_testkit::ids::ORG_A;
use bridge_testkit::{
    aws_function_config, aws_test_config, aws_test_endpoint, ctx_with_deadline, fixture,
    idempotency_table, repo_root, sandbox_orgs_from_dir, FaultyQueue,
};
use serde_json::Value;
use webhook_ingest::{handle, Ingest};

struct H {
    _sandbox: Sandbox,
    proxy: AwsProxy,
    ingest: Ingest,
    queue: Arc<FaultyQueue>,
    store: Arc<DynamoIdempotency>,
}

async fn harness() -> H {
    let sandbox = Sandbox::start(default_seed()).await.unwrap();
    let orgs =
        sandbox_orgs_from_dir(&repo_root().join("examples/orgs"), &sandbox.base_url()).unwrap();
    let rt = Runtime::new(
        Arc::new(orgs),
        Duration::from_secs(300),
        HttpClient::new().unwrap(),
    );
    let table = idempotency_table(&aws_test_config().await).await;
    let proxy = AwsProxy::start(&aws_test_endpoint()).await.unwrap();
    let conf = aws_function_config(&proxy.endpoint()).await;
    let store = Arc::new(DynamoIdempotency::from_conf(&conf, table));
    let queue = Arc::new(FaultyQueue::new());
    let ingest = Ingest::new(Arc::new(rt), queue.clone(), store.clone());
    H {
        _sandbox: sandbox,
        proxy,
        ingest,
        queue,
        store,
    }
}

#[tokio::test]
async fn an_eventbridge_event_whose_claim_answer_was_lost_is_accepted_once() {
    let h = harness().await;
    h.proxy.inject("PutItem", [Some(AwsFault::AnswerLost)]);
    let event = fixture("webhook-ingest/eventbridge-acw.json");
    let out = handle(
        &h.ingest,
        event.clone(),
        ctx_with_deadline(Duration::from_secs(10)),
    )
    .await;
    assert_eq!(h.proxy.requests().get("PutItem"), Some(&2), "{out:?}");
    let out = out.expect("the invocation's own claim is not 'in progress elsewhere'");
    assert_eq!(out["duplicate"], false, "{out}");
    assert_eq!(out["jobs"], 1, "{out}");
    assert_eq!(h.queue.len(Consumer::TicketStatus), 1);
    let key = idempotency::key(ORG_A, "8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e02");
    let r = h.store.record(&key).await.unwrap().unwrap();
    assert_eq!(r.status, RecordStatus::Completed);

    // A redelivery by EventBridge is a duplicate, and queues nothing.
    let again = handle(&h.ingest, event, ctx_with_deadline(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(h.queue.len(Consumer::TicketStatus), 1);
}

#[tokio::test]
async fn an_https_command_whose_claim_answer_was_lost_gets_202_not_409() {
    let h = harness().await;
    h.proxy.inject("PutItem", [Some(AwsFault::AnswerLost)]);
    let event = fixture("webhook-ingest/function-url-command-attributes.json");
    let out = handle(&h.ingest, event, ctx_with_deadline(Duration::from_secs(10)))
        .await
        .unwrap();
    let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(out["statusCode"], 202, "{body}");
    assert_eq!(body["jobs"], 1, "{body}");
    assert_eq!(h.queue.len(Consumer::AttributeWriter), 1);
}

/// The claim's `PutItem` is applied, its answer lost, and every retry of the SDK fails
/// (throttled): the invocation fails without knowing whether it holds the claim. It must
/// not leave one behind, or the sender's retry gets 409 "in progress elsewhere" for an
/// event nobody is processing, until the claim expires.
#[tokio::test]
async fn a_claim_that_failed_after_being_applied_does_not_block_the_retry() {
    let h = harness().await;
    h.proxy.inject(
        "PutItem",
        [
            Some(AwsFault::AnswerLost),
            Some(AwsFault::Throttled),
            Some(AwsFault::Throttled),
        ],
    );
    let event = fixture("webhook-ingest/function-url-command-attributes.json");
    let first = handle(
        &h.ingest,
        event.clone(),
        ctx_with_deadline(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert_eq!(first["statusCode"], 500, "{first}");
    assert_eq!(h.queue.len(Consumer::AttributeWriter), 0);

    let retry = handle(&h.ingest, event, ctx_with_deadline(Duration::from_secs(10)))
        .await
        .unwrap();
    let body: Value = serde_json::from_str(retry["body"].as_str().unwrap()).unwrap();
    assert_eq!(retry["statusCode"], 202, "{body}");
    assert_eq!(h.queue.len(Consumer::AttributeWriter), 1);
}
