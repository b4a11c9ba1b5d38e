//! The DynamoDB idempotency store against a real AWS emulator (moto on loopback, started
//! by scripts/test.sh). Fails, never skips, when the emulator is missing.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use bridge::idempotency::{key, Claim, DynamoIdempotency, IdempotencyStore, RecordStatus};
use bridge::{ErrorKind, Upstream};
use bridge_testkit::ids::ORG_A;
use bridge_testkit::{aws_test_config, unique_name};

const NOW: u64 = 1_800_000_000_000;

/// Creates a table shaped like infra/template.yaml's: partition key `id` (S), TTL on
/// `expiration`.
async fn table() -> (aws_sdk_dynamodb::Client, String) {
    let conf = aws_test_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let name = unique_name("bridge-idempotency");
    ddb.create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    ddb.update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expiration")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");
    (ddb, name)
}

#[tokio::test]
async fn claim_complete_release_and_expiry() {
    let (ddb, name) = table().await;
    let store = DynamoIdempotency::new(ddb.clone(), &name).with_ttl(Duration::from_secs(600));
    let k = key(ORG_A, "evt-1");

    assert_eq!(
        store.begin(&k, NOW + 5_000, NOW).await.unwrap(),
        Claim::Acquired
    );
    let r = store.record(&k).await.unwrap().unwrap();
    assert_eq!(r.status, RecordStatus::InProgress);
    assert_eq!(r.in_progress_expiration, Some(NOW + 5_000));
    assert_eq!(r.expiration, NOW / 1000 + 600);

    // The same event while the first invocation is still running.
    assert_eq!(
        store.begin(&k, NOW + 6_000, NOW + 1_000).await.unwrap(),
        Claim::Duplicate(RecordStatus::InProgress)
    );
    // The first invocation died: after its deadline the event can be taken over.
    assert_eq!(
        store.begin(&k, NOW + 20_000, NOW + 5_001).await.unwrap(),
        Claim::Acquired
    );

    store.complete(&k, NOW + 6_000).await.unwrap();
    let r = store.record(&k).await.unwrap().unwrap();
    assert_eq!(r.status, RecordStatus::Completed);
    assert_eq!(r.in_progress_expiration, None);
    assert_eq!(r.expiration, (NOW + 6_000) / 1000 + 600);
    assert_eq!(
        store.begin(&k, NOW + 99_000, NOW + 60_000).await.unwrap(),
        Claim::Duplicate(RecordStatus::Completed)
    );

    // After the record TTL the event counts as new (DynamoDB deletes lazily).
    assert_eq!(
        store.begin(&k, NOW + 700_000, NOW + 607_000).await.unwrap(),
        Claim::Acquired
    );

    // A release (queueing failed) lets the retry proceed at once.
    store.release(&k).await.unwrap();
    assert!(store.record(&k).await.unwrap().is_none());
    assert_eq!(
        store.begin(&k, NOW + 700_000, NOW + 607_001).await.unwrap(),
        Claim::Acquired
    );

    // Keys are per org and event.
    assert_eq!(
        store
            .begin(&key(ORG_A, "evt-2"), NOW + 5_000, NOW)
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
    let tries = (0..8).map(|_| {
        let s = store.clone();
        let k = k.clone();
        tokio::spawn(async move { s.begin(&k, NOW + 5_000, NOW).await })
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
    let err = store.begin(&key(ORG_A, "e"), NOW, NOW).await.unwrap_err();
    assert_eq!(err.upstream, Some(Upstream::DynamoDb), "{err}");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err:?}");
    assert!(err.to_string().contains(&name), "{err}");
}
