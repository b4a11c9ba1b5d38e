//! Builds the org-config source a command works on: a directory of files (default
//! `examples/orgs`) or AWS Secrets Manager.

use std::path::PathBuf;
use std::sync::Arc;

use bridge::secrets::{DirSource, SecretSource, SecretsManagerSource, DEFAULT_PREFIX};

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
}

pub const DEFAULT_ORGS_DIR: &str = "examples/orgs";

/// Which source the flags select, before anything is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceChoice {
    Dir(PathBuf),
    SecretsManager { prefix: String },
}

impl SourceChoice {
    pub fn from_args(args: &SourceArgs) -> SourceChoice {
        if args.secrets_manager || args.secret_prefix.is_some() {
            SourceChoice::SecretsManager {
                prefix: args
                    .secret_prefix
                    .clone()
                    .unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
            }
        } else {
            SourceChoice::Dir(
                args.orgs_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_ORGS_DIR)),
            )
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
    match SourceChoice::from_args(args) {
        SourceChoice::Dir(dir) => {
            if must_exist && !dir.is_dir() {
                return Err(CliError::usage(format!(
                    "org directory {} does not exist; pass --orgs-dir DIR (default {DEFAULT_ORGS_DIR}, relative to the current directory) or --secrets-manager",
                    dir.display()
                )));
            }
            Ok(Arc::new(DirSource::new(dir)))
        }
        SourceChoice::SecretsManager { prefix } => {
            let conf = bridge::aws::sdk_config(env.aws_endpoint_url.as_deref()).await;
            if conf.region().is_none_or(|r| r.as_ref().trim().is_empty()) {
                return Err(CliError::usage(
                    "--secrets-manager needs an AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile with a region)",
                ));
            }
            Ok(Arc::new(SecretsManagerSource::from_conf(&conf, prefix)))
        }
    }
}
