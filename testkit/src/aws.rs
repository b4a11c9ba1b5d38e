//! The AWS emulator (moto) that `scripts/test.sh` starts on loopback. A test that needs it
//! and does not find it fails with instructions: it never skips silently.

/// The emulator's endpoint, from `BRIDGE_TEST_AWS_ENDPOINT`.
///
/// # Panics
/// When the variable is unset or empty, with the way to set it.
pub fn aws_test_endpoint() -> String {
    match std::env::var("BRIDGE_TEST_AWS_ENDPOINT") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "this test needs the AWS emulator: run `scripts/test.sh` (it creates a venv with moto, starts it on loopback and sets BRIDGE_TEST_AWS_ENDPOINT), or start `moto_server -H 127.0.0.1 -p PORT` and export BRIDGE_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

/// SDK config for the emulator, with fixed fake credentials and region. Its transport is
/// the functions' own HTTP client (`bridge::aws`): the workspace builds the SDK without one.
/// Not the functions' attempt timeouts, though: a test's set-up call (a `CreateTable`) that
/// the emulator applies slowly on a loaded machine must not be retried into "already
/// exists".
pub async fn aws_test_config() -> aws_config::SdkConfig {
    let endpoint = aws_test_endpoint();
    bridge::aws::configure(fake_account(), Some(&endpoint))
        .timeout_config(aws_config::timeout::TimeoutConfig::disabled())
        .load()
        .await
}

/// The SDK config a function builds (`bridge::aws::sdk_config`: its timeouts and retries),
/// with the fixed fake credentials and region, pointed at `endpoint`: the emulator, or an
/// `AwsProxy` in front of it.
pub async fn aws_function_config(endpoint: &str) -> aws_config::SdkConfig {
    bridge::aws::configure(fake_account(), Some(endpoint))
        .load()
        .await
}

fn fake_account() -> aws_config::ConfigLoader {
    let creds =
        aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "bridge-tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
}

/// Creates an idempotency table shaped like infra/template.yaml's (partition key `id` of
/// type S, TTL on `expiration`) through `conf`; returns its name.
pub async fn idempotency_table(conf: &aws_config::SdkConfig) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let ddb = aws_sdk_dynamodb::Client::new(conf);
    let name = unique_name("bridge-idempotency");
    ddb.create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("complete"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("complete"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the idempotency table");
    ddb.update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expiration")
                .build()
                .expect("complete"),
        )
        .send()
        .await
        .expect("enable TTL on the idempotency table");
    name
}

/// A name unique to this process and call, for emulator resources shared by parallel tests.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
