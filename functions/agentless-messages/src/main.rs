//! agentless-messages Lambda: reads settings, builds the runtime, the claim store and the
//! DLQ client once, serves invocations.

use std::sync::Arc;

use agentless_messages::{handle, Messenger, CLAIM_TTL};
use bridge::http::HttpClient;
use bridge::idempotency::DynamoIdempotency;
use bridge::queue::SqsDeadLetters;
use bridge::settings::Settings;
use bridge::Runtime;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bridge::telemetry::init(true);
    let settings = Settings::from_lookup(|k| std::env::var(k).ok())?;
    let table = Settings::require(&settings.idempotency_table, "BRIDGE_IDEMPOTENCY_TABLE")?;
    let dlq = Settings::require(&settings.message_dlq_url, "BRIDGE_MESSAGE_DLQ_URL")?;
    // One HTTP client and one SDK config for every upstream: Genesys, Secrets Manager,
    // DynamoDB and SQS.
    let http = HttpClient::new()?;
    let aws = bridge::aws::sdk_config_with(settings.aws_endpoint_url.as_deref(), &http).await;
    let messenger = Messenger::new(
        Arc::new(Runtime::from_settings(&settings, http, Some(&aws))?),
        Arc::new(DynamoIdempotency::from_conf(&aws, table).with_ttl(CLAIM_TTL)),
        Arc::new(SqsDeadLetters::from_conf(&aws, dlq)),
    );
    let messenger = &messenger;
    lambda_runtime::run(service_fn(
        move |ev: LambdaEvent<serde_json::Value>| async move {
            handle(messenger, ev.payload, ev.context).await
        },
    ))
    .await
}
