//! The function's claims in DynamoDB and its own dead-lettering into SQS, against the AWS
//! emulator (moto on loopback, started by scripts/test.sh), with Genesys from the sandbox.
//! Fails, never skips, when the emulator is missing.

mod common;

use std::sync::Arc;

use agentless_messages::plan::{BeforeSend, Recorded};
use agentless_messages::CLAIM_TTL;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use bridge::idempotency::{DynamoIdempotency, IdempotencyStore, MemoryIdempotency, RecordStatus};
use bridge::queue::{MemoryDeadLetters, SqsDeadLetters, MAY_HAVE_BEEN_SENT};
use bridge_sandbox::Fault;
use bridge_testkit::ids::*;
use bridge_testkit::{aws_test_config, unique_name};
use common::*;
use serde_json::json;

struct Aws {
    store: Arc<DynamoIdempotency>,
    sqs: aws_sdk_sqs::Client,
    dlq_url: String,
}

/// A table shaped like infra/template.yaml's IdempotencyTable and a DLQ, both new.
async fn aws() -> Aws {
    let conf = aws_test_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let table = unique_name("bridge-claims");
    ddb.create_table()
        .table_name(&table)
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
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let dlq_url = sqs
        .create_queue()
        .queue_name(unique_name("bridge-message-dlq"))
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .unwrap()
        .to_string();
    Aws {
        store: Arc::new(DynamoIdempotency::new(ddb, table).with_ttl(CLAIM_TTL)),
        sqs,
        dlq_url,
    }
}

async fn harness(aws: &Aws) -> Harness {
    Harness::start_on(
        |_| {},
        Arc::new(MemoryIdempotency::default()),
        Arc::new(MemoryDeadLetters::new()),
        aws.store.clone(),
        Arc::new(SqsDeadLetters::new(aws.sqs.clone(), &aws.dlq_url)),
    )
    .await
}

async fn dlq_messages(aws: &Aws) -> Vec<aws_sdk_sqs::types::Message> {
    aws.sqs
        .receive_message()
        .queue_url(&aws.dlq_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .expect("receive")
        .messages()
        .to_vec()
}

#[tokio::test]
async fn a_claim_in_dynamodb_sends_once_and_records_the_ids() {
    let aws = aws().await;
    let h = harness(&aws).await;
    let event = fixture("data-action-sms-text.json");
    let first = h.invoke(event.clone()).await.expect("sent");
    let again = h.invoke(event).await.expect("answered");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["messageId"], first["messageId"]);
    assert_eq!(h.posts(), 1);
    let record = aws
        .store
        .record(&format!("{ORG_A}#agentless:flow-42-reminder"))
        .await
        .unwrap()
        .expect("the claim is stored");
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(
        Recorded::read(record.outcome.as_deref()),
        Some(Recorded::Sent {
            message_id: first["messageId"].as_str().map(str::to_string),
            conversation_id: first["conversationId"].as_str().map(str::to_string),
        })
    );
    // The record outlives SQS's longest retention, so a replay from a DLQ still finds it.
    let now_s = agentless_messages::apply::now_ms() / 1000;
    assert!(record.expiration >= now_s + 14 * 24 * 3600, "{record:?}");
}

#[tokio::test]
async fn an_ambiguous_send_lands_in_the_sqs_dlq_marked_and_once() {
    let aws = aws().await;
    let h = harness(&aws).await;
    h.sandbox
        .inject(Fault::new("POST", AGENTLESS).applied().statuses([500]));
    let event = sqs(&[(
        "5b1e0009-0000-4000-8000-000000000009",
        job(
            ORG_A,
            "evt-moto",
            json!({"template": "missed-call", "conversationId": CONV_A1}),
        ),
    )]);
    let out = h.invoke(event.clone()).await.expect("batch");
    assert_eq!(failures(&out), Vec::<String>::new());
    let got = dlq_messages(&aws).await;
    assert_eq!(got.len(), 1);
    let attrs = got[0].message_attributes().unwrap();
    let attr = |k: &str| attrs[k].string_value().unwrap().to_string();
    assert_eq!(attr("bridge-outcome"), MAY_HAVE_BEEN_SENT);
    assert_eq!(attr("bridge-conversation-id"), CONV_A1);
    assert_eq!(attr("bridge-error-type"), "Genesys.MayHaveBeenSent");
    assert!(got[0].body().unwrap().contains("\"jobId\":\"evt-moto:0\""));
    // Redelivered: nothing sent, nothing dead-lettered again.
    let out = h.invoke(event).await.expect("batch");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(h.posts(), 1);
    assert!(
        dlq_messages(&aws).await.is_empty(),
        "the first is in flight, no second"
    );
}

#[tokio::test]
async fn a_claim_left_in_progress_past_its_deadline_is_never_taken_over() {
    let aws = aws().await;
    let h = harness(&aws).await;
    let now = agentless_messages::apply::now_ms();
    let key = format!("{ORG_A}#agentless:flow-42-reminder");
    aws.store
        .begin(&key, "crashed-invocation", now - 1, now - 5_000)
        .await
        .unwrap();
    let record = aws.store.record(&key).await.unwrap();
    assert_eq!(
        agentless_messages::plan::before_send(record.as_ref(), now),
        BeforeSend::MayHaveBeenSent {
            dead_lettered: false
        }
    );
    let d = h
        .invoke(fixture("data-action-sms-text.json"))
        .await
        .unwrap_err();
    assert_eq!(d.error_type, "Genesys.MayHaveBeenSent");
    assert_eq!(
        h.posts(),
        0,
        "DynamoDB would have let a new claim take it over"
    );
}
