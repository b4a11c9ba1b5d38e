//! The SDK config every AWS client of a process shares, and SDK errors as [`BridgeError`]s.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::connector::ReqwestHttpClient;
use crate::error::{BridgeError, ErrorKind, Upstream};
use crate::http::HttpClient;

/// Builds the shared SDK config for tools that have no [`HttpClient`] of their own (the CLI,
/// tests): [`sdk_config_with`] a new one.
pub async fn sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    load(endpoint_url, new_transport()).await
}

/// The SDK transport over a new [`HttpClient`]. One that cannot be built (it does not happen
/// with the compiled-in TLS roots) makes every AWS call fail with the reason, like an
/// unreachable service would.
fn new_transport() -> ReqwestHttpClient {
    let client = HttpClient::new()
        .map(|http| http.reqwest().clone())
        .map_err(|e| e.to_string());
    ReqwestHttpClient::new(client)
}

/// Builds the shared SDK config: explicit timeouts and retries (well inside a Lambda
/// deadline), an endpoint override for the local AWS emulator, and `http` as the transport,
/// so that AWS calls share the process's connection pool and TLS settings (and the SDK
/// builds no TLS stack of its own).
pub async fn sdk_config_with(endpoint_url: Option<&str>, http: &HttpClient) -> SdkConfig {
    load(
        endpoint_url,
        ReqwestHttpClient::new(Ok(http.reqwest().clone())),
    )
    .await
}

/// The transport, timeouts, retries and endpoint of [`sdk_config`] on a loader that already
/// says the rest (a fixed region and credentials for the local emulator, in tests and chaos
/// runs). The transport is a new [`HttpClient`].
pub fn configure(loader: ConfigLoader, endpoint_url: Option<&str>) -> ConfigLoader {
    configure_with(loader, endpoint_url, new_transport())
}

fn configure_with(
    loader: ConfigLoader,
    endpoint_url: Option<&str>,
    http: ReqwestHttpClient,
) -> ConfigLoader {
    let mut loader = loader
        .http_client(http)
        // The connector takes each request body as bytes and never polls it, so the SDK's
        // upload stall check would see a body that never finishes and, five seconds into a
        // slow answer, fail (and retry) a request the service had applied. The attempt and
        // operation timeouts below bound every call instead.
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            // The connect timeout is the shared client's (crate::http).
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(4))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader
}

async fn load(endpoint_url: Option<&str>, http: ReqwestHttpClient) -> SdkConfig {
    let mut loader = configure_with(
        aws_config::defaults(BehaviorVersion::latest()),
        endpoint_url,
        http,
    );
    if lambda_environment() {
        // Where the default chains look first, and find the answer in Lambda. Naming the
        // environment providers gives the same credentials and region without building the
        // rest of each chain (profile files, web identity with its STS client, container
        // and instance metadata clients): most of this function's share of a cold start.
        loader = loader
            .region(aws_config::environment::EnvironmentVariableRegionProvider::new())
            .credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            );
    }
    loader.load().await
}

/// Credentials and region are in the environment, as Lambda sets them.
fn lambda_environment() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    set("AWS_ACCESS_KEY_ID")
        && set("AWS_SECRET_ACCESS_KEY")
        && (set("AWS_REGION") || set("AWS_DEFAULT_REGION"))
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
            format!("{}", DisplayErrorContext(other)),
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
