//! The command line, as clap derive types. Every command has `--help`; the exit codes are
//! part of the contract with scripts and are printed by `bridge --help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub const EXIT_CODES_HELP: &str = "\
Exit codes (stable, for scripts):
  0  everything passed / was done
  1  a check, a replayed message or an expected outcome failed (the output says which)
  2  usage or configuration error: bad flag, invalid org file, unreadable directory,
     missing AWS setting (nothing was changed)";

#[derive(Debug, Parser)]
#[command(
    name = "bridge",
    version,
    about = "Operator tool of genesys-bridge: run the pipeline locally, check an org, onboard orgs, replay dead letters",
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline on this machine: sandbox, org files, in-memory queue, the real
    /// handlers; or replay the fixtures with --replay.
    Dev(DevArgs),
    /// Check an org end to end (config, token, org, roles and permissions, Zendesk) and say
    /// what to fix.
    Doctor(DoctorArgs),
    /// Onboard and manage org configs (a directory of files or AWS Secrets Manager).
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Dead-letter queues.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Drive N events through the real handlers while upstreams (and AWS) fail at a set
    /// rate; judge every event: applied exactly once, or dead-lettered with its reason.
    Chaos(ChaosArgs),
}

/// Where org configs live. Default: the directory `examples/orgs`.
#[derive(Debug, Clone, Args, Default)]
pub struct SourceArgs {
    /// Directory of `<orgId>.json` org files [default: examples/orgs]
    #[arg(long, value_name = "DIR", conflicts_with_all = ["secrets_manager", "secret_prefix"])]
    pub orgs_dir: Option<PathBuf>,
    /// Use AWS Secrets Manager (one secret per org). Honours AWS_ENDPOINT_URL, AWS_REGION and
    /// the usual AWS credential chain.
    #[arg(long)]
    pub secrets_manager: bool,
    /// Secret name prefix; implies --secrets-manager [default: genesys-bridge/orgs/]
    #[arg(long, value_name = "PREFIX")]
    pub secret_prefix: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct DoctorArgs {
    /// The Genesys org id (a UUID) to check
    #[arg(long, value_name = "ORG_ID")]
    pub org: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Print the checks as JSON (one object) instead of a table
    #[arg(long)]
    pub json: bool,
    /// Time budget per upstream check, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub timeout: u64,
    /// Check against the embedded local sandbox instead of the real Genesys and Zendesk:
    /// the org file is read from --orgs-dir and pointed at the sandbox (not changed)
    #[arg(long, conflicts_with_all = ["secrets_manager", "secret_prefix"])]
    pub sandbox: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// Validate FILE as the config of ORG_ID and store it (create or replace)
    #[command(after_help = EXIT_CODES_HELP)]
    Put {
        /// The Genesys org id (must equal the file's `orgId`)
        org_id: String,
        /// The org config JSON file (see examples/orgs/)
        file: PathBuf,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Print one org config, secrets redacted unless --reveal
    #[command(after_help = EXIT_CODES_HELP)]
    Get {
        org_id: String,
        /// Print secret values in clear
        #[arg(long)]
        reveal: bool,
        /// Compact one-line JSON (the default is pretty-printed JSON)
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// List the orgs that have a config, with name, region and Zendesk account
    #[command(after_help = EXIT_CODES_HELP)]
    List {
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Remove an org's config (Secrets Manager keeps its recovery window)
    #[command(after_help = EXIT_CODES_HELP)]
    Rm {
        org_id: String,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Add an org to the deployed shared stack: validate and store its config, create or
    /// update its org stack (infra/org.yaml), write its Genesys data-action files, print the
    /// next steps in Genesys
    Onboard(crate::onboard::OnboardArgs),
    /// Remove an org from the deployment: its org stack and its secret (asks first unless
    /// --yes)
    Offboard(crate::onboard::OffboardArgs),
    /// Fill the Genesys data-action definitions (infra/genesys/) for one org and the given
    /// function or alias ARNs
    Render(crate::onboard::RenderArgs),
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Move dead-lettered jobs back to a queue: each message is sent to the target first and
    /// deleted from the DLQ only after the send succeeded.
    #[command(after_help = EXIT_CODES_HELP)]
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// URL of the dead-letter queue
    #[arg(long, value_name = "DLQ_URL")]
    pub queue: String,
    /// URL of the queue to move the messages to [default: the DLQ's only source queue,
    /// from ListDeadLetterSourceQueues]
    #[arg(long, value_name = "TARGET_URL")]
    pub to: Option<String>,
    /// Show what would be moved; move and delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Move at most N messages
    #[arg(long, value_name = "N")]
    pub max: Option<usize>,
    /// Also move messages marked "may have been sent" (an agentless message whose send
    /// reached Genesys with an unknown outcome), so that they are sent again, deliberately;
    /// without it they are refused and stay in the DLQ
    #[arg(long)]
    pub resend_ambiguous: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct DevArgs {
    /// Directory of org files to load (pointed at the sandbox; the files are not changed)
    #[arg(long, value_name = "DIR", default_value = crate::source::DEFAULT_ORGS_DIR)]
    pub orgs_dir: PathBuf,
    /// Port for the local endpoints on 127.0.0.1 (0 = a free port)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Replay the fixtures under DIR through the pipeline, print a report and exit
    /// (0 only if every outcome was as expected)
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
    /// With --replay: print the report as JSON
    #[arg(long, requires = "replay")]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct ChaosArgs {
    /// How many events to send (duplicates come on top)
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub events: usize,
    /// Share of Genesys, Zendesk (and with --aws, AWS) requests that get a fault, 0..1
    #[arg(long, value_name = "RATE", default_value_t = 0.2)]
    pub fault_rate: f64,
    /// Seed of the events, duplicates and faults: the same seed reproduces a run
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Use SQS and DynamoDB on the local AWS emulator (moto), behind a fault proxy, instead
    /// of the in-memory queue and idempotency store
    #[arg(long)]
    pub aws: bool,
    /// With --aws: the AWS emulator's URL, loopback only (scripts/test.sh exports it)
    #[arg(long, value_name = "URL", env = "BRIDGE_TEST_AWS_ENDPOINT")]
    pub aws_endpoint: Option<String>,
    /// Deliveries in flight at once
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub concurrency: usize,
    /// Directory of org files (the sandbox's seeded orgs are used)
    #[arg(long, value_name = "DIR", default_value = crate::source::DEFAULT_ORGS_DIR)]
    pub orgs_dir: PathBuf,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}
