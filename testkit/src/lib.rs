//! `bridge-testkit`: the one set of test helpers every crate's tests share. It is only ever
//! a dev-dependency, so nothing here reaches a deployed function or the `bridge` binary.
//!
//! - [`ids`]: the ids of the sandbox's default seed, under one naming scheme;
//! - [`OrgHarness`]: a sandbox, the example orgs of `examples/orgs` pointed at it in a
//!   [`CountingSource`], and a [`bridge::Runtime`] over them whose metrics it captures;
//! - [`ctx_with_deadline`]: a Lambda context as a real invocation gets it; [`data_action_ctx`]
//!   one invoked through the org alias of the event's org ([`org_alias_arn`]);
//! - [`fixture`], [`example_org`]: the files under `events/` and `examples/orgs/`;
//! - [`capture_logs`]: everything `tracing` writes, for redaction tests;
//! - [`emf_documents`], [`metrics_summary`]: the metrics lines a handler wrote, checked;
//! - [`calls`], [`show`], [`token_requests`]: views of the sandbox's journal;
//! - [`aws_test_config`], [`aws_function_config`], [`idempotency_table`], [`unique_name`]:
//!   the AWS emulator that `scripts/test.sh` starts;
//! - [`FaultyQueue`]: the in-memory job queue with injected failures;
//! - [`props`]: arbitrary JSON, the org secrets and case counts of the property tests.

mod aws;
mod counting;
mod files;
pub mod ids;
mod journal;
mod lambda;
mod logs;
mod metrics;
mod orgs;
pub mod props;
mod queue;

pub use aws::{
    aws_function_config, aws_test_config, aws_test_endpoint, idempotency_table, unique_name,
};
pub use counting::CountingSource;
pub use files::{example_org, example_org_for, fixture, repo_root};
pub use journal::{calls, show, token_requests};
pub use lambda::{
    ctx_with_deadline, data_action_ctx, data_action_ctx_with_deadline, org_alias_arn,
};
pub use logs::{capture_logs, Logs};
pub use metrics::{emf_documents, metrics_summary, uncatalogued_metrics};
pub use orgs::{edit_org, sandbox_orgs_from_dir, OrgHarness, MAX_RECEIVE_COUNT};
pub use queue::FaultyQueue;
