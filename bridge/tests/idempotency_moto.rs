//! The DynamoDB idempotency store against a real AWS emulator (moto on loopback, started
//! by scripts/test.sh). Fails, never skips, when the emulator is missing.

use std::sync::Arc;
use std::time::Duration;

use bridge::idempotency::{key, Claim, DynamoIdempotency, IdempotencyStore, RecordStatus};
use bridge::{ErrorKind, Upstream};
use bridge_sandbox::{AwsFault, AwsProxy};
use bridge_testkit::ids::ORG_A;
use bridge_testkit::{
    aws_function_config, aws_test_config, aws_test_endpoint, idempotency_table, unique_name,
};

const NOW: u64 = 1_800_000_000_000;

/// A table shaped like infra/template.yaml's: partition key `id` (S), TTL on `expiration`.
async fn table() -> (aws_sdk_dynamodb::Client, String) {
    let conf = aws_test_config().await;
    let name = idempotency_table(&conf).await;
    (aws_sdk_dynamodb::Client::new(&conf), name)
}

#[tokio::test]
async fn claim_complete_release_and_expiry() {
    let (ddb, name) = table().await;
    let store = DynamoIdempotency::new(ddb.clone(), &name).with_ttl(Duration::from_secs(600));
    let k = key(ORG_A, "evt-1");

    assert_eq!(
        store.begin(&k, "inv-1", NOW + 5_000, NOW).await.unwrap(),
        Claim::Acquired
    );
    let r = store.record(&k).await.unwrap().unwrap();
    assert_eq!(r.status, RecordStatus::InProgress);
    assert_eq!(r.in_progress_expiration, Some(NOW + 5_000));
    assert_eq!(r.expiration, NOW / 1000 + 600);

    // The same event while the first invocation is still running.
    assert_eq!(
        store
            .begin(&k, "inv-2", NOW + 6_000, NOW + 1_000)
            .await
            .unwrap(),
        Claim::Duplicate(RecordStatus::InProgress)
    );
    // The first invocation died: after its deadline the event can be taken over.
    assert_eq!(
        store
            .begin(&k, "inv-3", NOW + 20_000, NOW + 5_001)
            .await
            .unwrap(),
        Claim::Acquired
    );

    store.complete(&k, NOW + 6_000).await.unwrap();
    let r = store.record(&k).await.unwrap().unwrap();
    assert_eq!(r.status, RecordStatus::Completed);
    assert_eq!(r.in_progress_expiration, None);
    assert_eq!(r.expiration, (NOW + 6_000) / 1000 + 600);
    assert_eq!(
        store
            .begin(&k, "inv-4", NOW + 99_000, NOW + 60_000)
            .await
            .unwrap(),
        Claim::Duplicate(RecordStatus::Completed)
    );

    // After the record TTL the event counts as new (DynamoDB deletes lazily).
    assert_eq!(
        store
            .begin(&k, "inv-5", NOW + 700_000, NOW + 607_000)
            .await
            .unwrap(),
        Claim::Acquired
    );

    // A release (queueing failed) lets the retry proceed at once.
    store.release(&k, "inv-5").await.unwrap();
    assert!(store.record(&k).await.unwrap().is_none());
    assert_eq!(
        store
            .begin(&k, "inv-6", NOW + 700_000, NOW + 607_001)
            .await
            .unwrap(),
        Claim::Acquired
    );

    // Keys are per org and event.
    assert_eq!(
        store
            .begin(&key(ORG_A, "evt-2"), "inv-7", NOW + 5_000, NOW)
            .await
            .unwrap(),
        Claim::Acquired
    );
}

#[tokio::test]
async fn concurrent_claims_have_one_winner() {
    let (ddb, name) = table().await;
    let store = Arc::new(DynamoIdempotency::new(ddb, &name));
    let k = key(ORG_A, "evt-race");
    let tries = (0..8).map(|n| {
        let s = store.clone();
        let k = k.clone();
        tokio::spawn(async move { s.begin(&k, &format!("inv-{n}"), NOW + 5_000, NOW).await })
    });
    let claims: Vec<Claim> = futures::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(
        claims.iter().filter(|c| **c == Claim::Acquired).count(),
        1,
        "{claims:?}"
    );
    assert_eq!(
        claims
            .iter()
            .filter(|c| **c == Claim::Duplicate(RecordStatus::InProgress))
            .count(),
        7
    );
}

#[tokio::test]
async fn a_missing_table_is_a_dynamodb_error_that_names_it() {
    let conf = aws_test_config().await;
    let name = unique_name("bridge-no-such-table");
    let store = DynamoIdempotency::from_conf(&conf, &name);
    let err = store
        .begin(&key(ORG_A, "e"), "inv-1", NOW, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.upstream, Some(Upstream::DynamoDb), "{err}");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err:?}");
    assert!(err.to_string().contains(&name), "{err}");
}

/// The claim's `PutItem` is applied, but its answer is lost on the way back (the proxy
/// drops the connection after the emulator did it). The SDK retries the put, which meets
/// the invocation's own INPROGRESS record: the claim must recognise itself and carry on.
#[tokio::test]
async fn a_claim_whose_answer_was_lost_recognises_itself() {
    let conf = aws_test_config().await;
    let name = idempotency_table(&conf).await;
    let proxy = AwsProxy::start(&aws_test_endpoint()).await.unwrap();
    let store = DynamoIdempotency::from_conf(&aws_function_config(&proxy.endpoint()).await, &name);
    let k = key(ORG_A, "evt-lost-answer");

    proxy.inject("PutItem", [Some(AwsFault::AnswerLost)]);
    let claim = store.begin(&k, "req-1", NOW + 10_000, NOW).await;
    assert_eq!(
        proxy.requests().get("PutItem"),
        Some(&2),
        "the SDK sent the put again after the lost answer"
    );
    assert_eq!(claim.unwrap(), Claim::Acquired);
    let r = store.record(&k).await.unwrap().unwrap();
    assert_eq!(r.status, RecordStatus::InProgress);
    assert_eq!(r.owner.as_deref(), Some("req-1"));

    // Another invocation still finds the event in progress, and cannot release it.
    assert_eq!(
        store
            .begin(&k, "req-2", NOW + 11_000, NOW + 500)
            .await
            .unwrap(),
        Claim::Duplicate(RecordStatus::InProgress)
    );
    store.release(&k, "req-2").await.unwrap();
    assert!(store.record(&k).await.unwrap().is_some());
    // Its owner can.
    store.release(&k, "req-1").await.unwrap();
    assert!(store.record(&k).await.unwrap().is_none());
}
