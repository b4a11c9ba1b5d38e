//! Builds the org-config source a command works on: a directory of files (default
//! `examples/orgs`) or AWS Secrets Manager.

use std::path::PathBuf;
use std::sync::Arc;

use aws_config::SdkConfig;
use bridge::secrets::{DirSource, SecretSource, SecretsManagerSource, DEFAULT_PREFIX};
use bridge::settings::SecretSourceSetting;

use crate::args::SourceArgs;
use crate::exit::CliError;

/// Settings the CLI takes from its environment (read once in `main`).
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `AWS_ENDPOINT_URL`: the local AWS emulator, if set.
    pub aws_endpoint_url: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            aws_endpoint_url: std::env::var("AWS_ENDPOINT_URL")
                .ok()
                .filter(|v| !v.trim().is_empty()),
        }
    }

    /// The AWS SDK config, for a command that needs a region: without one, a usage error
    /// with `no_region` (which says how to set it).
    pub async fn aws_config(&self, no_region: &str) -> Result<SdkConfig, CliError> {
        let conf = bridge::aws::sdk_config(self.aws_endpoint_url.as_deref()).await;
        if conf.region().is_none_or(|r| r.as_ref().trim().is_empty()) {
            return Err(CliError::usage(no_region));
        }
        Ok(conf)
    }
}

/// The org directory when no flag names one (relative to the current directory).
pub const DEFAULT_ORGS_DIR: &str = "examples/orgs";

/// Which source the flags select, before anything is opened.
pub fn setting(args: &SourceArgs) -> SecretSourceSetting {
    if args.secrets_manager || args.secret_prefix.is_some() {
        SecretSourceSetting::SecretsManager {
            prefix: args
                .secret_prefix
                .clone()
                .unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
        }
    } else {
        SecretSourceSetting::Dir {
            path: args
                .orgs_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_ORGS_DIR)),
        }
    }
}

/// Opens the selected source. A directory that does not exist is a usage error for
/// reading commands (`must_exist`); `orgs put` creates it.
pub async fn open(
    args: &SourceArgs,
    env: &Env,
    must_exist: bool,
) -> Result<Arc<dyn SecretSource>, CliError> {
    match setting(args) {
        SecretSourceSetting::Dir { path } => {
            if must_exist && !path.is_dir() {
                return Err(CliError::usage(format!(
                    "org directory {} does not exist; pass --orgs-dir DIR (default {DEFAULT_ORGS_DIR}, relative to the current directory) or --secrets-manager",
                    path.display()
                )));
            }
            Ok(Arc::new(DirSource::new(path)))
        }
        SecretSourceSetting::SecretsManager { prefix } => {
            // The config checked for a region is the one the source uses: loaded once.
            let conf = env
                .aws_config(
                    "--secrets-manager needs an AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile with a region)",
                )
                .await?;
            Ok(Arc::new(SecretsManagerSource::from_conf(&conf, prefix)))
        }
    }
}
