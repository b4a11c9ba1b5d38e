//! The command lines of `bridge orgs onboard|offboard|render` (clap derive types).

use std::path::PathBuf;

use clap::Args;

use crate::args::EXIT_CODES_HELP;

/// The shared stack's name when `--stack` is not given (samconfig.toml's stack_name).
pub const DEFAULT_SHARED_STACK: &str = "genesys-bridge";

/// Genesys Cloud's AWS account for Lambda data actions in its commercial regions (Genesys
/// blueprints; upstream-facts.md). FedRAMP uses another: `--genesys-account`.
pub const GENESYS_COMMERCIAL_ACCOUNT: &str = "765628985471";

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct OnboardArgs {
    /// The Genesys org id (a UUID; must equal the file's `orgId`)
    #[arg(long, value_name = "ORG_ID")]
    pub org: String,
    /// The org config JSON file (see examples/orgs/); stored as the org's secret
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// The org's Genesys partner event source, aws.partner/genesys.com/cloud/<orgId>/<suffix>:
    /// the org stack associates its event bus and adds the rule to webhook-ingest. Without
    /// this flag the org stack keeps the event source it has (none at first)
    #[arg(long, value_name = "NAME", conflicts_with = "no_event_source")]
    pub event_source: Option<String>,
    /// Remove the org's event bus and rule (keeps the data actions)
    #[arg(long)]
    pub no_event_source: bool,
    /// Name of the shared stack (infra/template.yaml) the org joins
    #[arg(long, value_name = "NAME", default_value = DEFAULT_SHARED_STACK)]
    pub stack: String,
    /// Directory for the org's Genesys data-action files [default: build/genesys/<orgId>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// AWS account of Genesys Cloud that assumes the data-action role (FedRAMP uses another;
    /// copy it from Genesys' AWS Lambda data actions setup page)
    #[arg(long, value_name = "ACCOUNT_ID", default_value = GENESYS_COMMERCIAL_ACCOUNT)]
    pub genesys_account: String,
    /// Most seconds to wait for the org stack
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct OffboardArgs {
    /// The Genesys org id (a UUID)
    #[arg(long, value_name = "ORG_ID")]
    pub org: String,
    /// Name of the shared stack (infra/template.yaml) the org belongs to
    #[arg(long, value_name = "NAME", default_value = DEFAULT_SHARED_STACK)]
    pub stack: String,
    /// Do not ask for confirmation (for scripts)
    #[arg(long)]
    pub yes: bool,
    /// Most seconds to wait for the org stack's deletion
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct RenderArgs {
    /// The Genesys org id (a UUID), written into each action's request template
    #[arg(long, value_name = "ORG_ID")]
    pub org: String,
    /// [ACTION=]ARN of a data-action function or alias (repeat); ACTION is the function's
    /// binary name, else taken from the function name's suffix
    #[arg(long = "function-arn", value_name = "[ACTION=]ARN", required = true)]
    pub function_arns: Vec<String>,
    /// Directory for the filled definitions
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}
