//! webhook-ingest Lambda: wires settings, the org store, SQS and DynamoDB, then serves.

use std::sync::Arc;

use bridge::http::HttpClient;
use bridge::idempotency::DynamoIdempotency;
use bridge::queue::SqsQueue;
use bridge::settings::Settings;
use bridge::Runtime;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use webhook_ingest::{handle, Ingest, Limits, SystemClock};

#[tokio::main]
async fn main() -> Result<(), Error> {
    bridge::telemetry::init(true);
    let settings = Settings::from_lookup(|k| std::env::var(k).ok())?;
    let attribute_queue =
        Settings::require(&settings.attribute_queue_url, "BRIDGE_ATTRIBUTE_QUEUE_URL")?;
    let ticket_queue = Settings::require(&settings.ticket_queue_url, "BRIDGE_TICKET_QUEUE_URL")?;
    let table = Settings::require(&settings.idempotency_table, "BRIDGE_IDEMPOTENCY_TABLE")?;
    // One HTTP client and one SDK config for every upstream: Genesys, Secrets Manager, SQS
    // and DynamoDB.
    let http = HttpClient::new()?;
    let aws = bridge::aws::sdk_config_with(settings.aws_endpoint_url.as_deref(), &http).await;
    let ingest = Ingest::with(
        Arc::new(Runtime::from_settings(&settings, http, Some(&aws))?),
        Arc::new(
            SqsQueue::from_conf(&aws, attribute_queue, ticket_queue)
                .with_message_queue_url(settings.message_queue_url.clone()),
        ),
        Arc::new(DynamoIdempotency::from_conf(&aws, table)),
        Limits::from_settings(&settings),
        Arc::new(SystemClock),
    );
    let ingest = &ingest;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            handle(ingest, event.payload, event.context).await
        },
    ))
    .await
}
