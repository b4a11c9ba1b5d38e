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
    let creds =
        aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "bridge-tests");
    bridge::aws::sdk_config(Some(&endpoint))
        .await
        .into_builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(creds))
        .timeout_config(aws_config::timeout::TimeoutConfig::disabled())
        .build()
}

/// A name unique to this process and call, for emulator resources shared by parallel tests.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
