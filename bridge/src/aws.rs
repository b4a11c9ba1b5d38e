//! AWS SDK setup in one place, and the mapping of SDK errors onto [`BridgeError`].
//!
//! The SDK is linked only with the `aws` feature (which `secretsmanager`, `sqs` and
//! `dynamodb` turn on), so a binary that uses no AWS client carries none of it.
//!
//! [`BridgeError`]: crate::BridgeError

#[cfg(feature = "aws")]
mod connector;
#[cfg(feature = "aws")]
mod sdk;
#[cfg(feature = "aws")]
pub use sdk::{configure, sdk_config, sdk_config_with, sdk_error};

/// The process's AWS SDK config, loaded once in `main` ([`sdk_config`]) and shared by every
/// AWS client. A build without AWS clients has none: the type then has no values.
#[cfg(feature = "aws")]
pub type AwsConfig = aws_config::SdkConfig;
/// The process's AWS SDK config. This build has no AWS clients, so there is none.
#[cfg(not(feature = "aws"))]
pub enum AwsConfig {}
