//! AWS SDK setup in one place, and the mapping of SDK errors onto [`BridgeError`].

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use crate::error::{BridgeError, ErrorKind, Upstream};

/// Builds the shared SDK config: explicit timeouts and retries (well inside a Lambda
/// deadline), and an endpoint override for the local AWS emulator.
pub async fn sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    configure(
        aws_config::defaults(BehaviorVersion::latest()),
        endpoint_url,
    )
    .load()
    .await
}

/// The timeouts, retries and endpoint of [`sdk_config`] on a loader that already says the
/// rest (a fixed region and credentials for the local emulator, in tests and chaos runs).
pub fn configure(loader: ConfigLoader, endpoint_url: Option<&str>) -> ConfigLoader {
    let mut loader = loader
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(4))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader
}

/// Maps an SDK error to a [`BridgeError`] for `upstream`, naming what we were doing.
pub fn sdk_error<E, R>(upstream: Upstream, operation: &str, err: SdkError<E, R>) -> BridgeError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let (kind, code, message) = match &err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let msg = e.message().unwrap_or("").to_string();
            let kind = match code.as_str() {
                "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "RequestThrottled" => ErrorKind::RateLimited,
                "AccessDeniedException"
                | "AccessDenied"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId" => ErrorKind::Forbidden,
                "ResourceNotFoundException"
                | "AWS.SimpleQueueService.NonExistentQueue"
                | "QueueDoesNotExist" => ErrorKind::NotFound,
                "InternalServiceError"
                | "InternalServerError"
                | "InternalFailure"
                | "ServiceUnavailable" => ErrorKind::ServerError,
                _ => ErrorKind::InvalidRequest,
            };
            (kind, Some(code), msg)
        }
        SdkError::TimeoutError(_) => (ErrorKind::Transport, None, "timed out".to_string()),
        SdkError::DispatchFailure(d) => (
            ErrorKind::Transport,
            None,
            format!("could not reach the service: {d:?}"),
        ),
        SdkError::ResponseError(_) => (
            ErrorKind::UnexpectedResponse,
            None,
            "unparseable response".to_string(),
        ),
        other => (
            ErrorKind::Internal,
            None,
            format!("{}", aws_sdk_sqs::error::DisplayErrorContext(other)),
        ),
    };
    let mut e = BridgeError::upstream(upstream, kind, message).with_operation(operation);
    e.code = code;
    if kind == ErrorKind::Forbidden {
        e.hint = Some(format!(
            "the function's IAM role lacks the {upstream} permission for this call; see infra/template.yaml"
        ));
    }
    e
}
