//! `attribute-writer`: participant attributes and external contact fields, from Architect
//! Lambda data actions (synchronous) and from SQS batches of jobs (webhook-ingest).
//!
//! [`handle`] asks `bridge::event` which of the two it was given, then:
//! - a data action runs [`action`]: read the input ([`input`]), check it against the org's
//!   limits ([`plan`]), write ([`apply`]) and, if asked, read back ([`verify`]);
//! - an SQS batch runs `bridge::batch` with this function's [`worker`]: prepare each job,
//!   merge the writes per participant ([`plan`]), apply them ([`apply`]), and report one
//!   [`outcome`] per message.

pub mod action;
pub mod apply;
pub mod input;
pub mod options;
pub mod outcome;
pub mod plan;
pub mod verify;
pub mod worker;

use bridge::event::{accept, EventKind};
use bridge::metrics;
use bridge::{BridgeError, Result, Runtime};
use lambda_runtime::{Context, Diagnostic};
use serde_json::Value;
use tracing::Instrument;

pub use action::ActionOutput;
pub use options::Options;
pub use outcome::Outcome;
pub use worker::Jobs;

/// The function's name in messages ("attribute-writer takes ...").
pub const FUNCTION: &str = "attribute-writer";

/// The kinds of event the function is wired to: the Genesys data action and its job queue.
pub const TAKES: [EventKind; 2] = [EventKind::DataAction, EventKind::SqsBatch];

/// The Lambda handler: a data action answers its flat output object; an SQS batch answers
/// `{"batchItemFailures": [...]}`. Failures are Lambda errors with the stable error type.
pub async fn handle(
    rt: &Runtime,
    event: Value,
    ctx: Context,
) -> std::result::Result<Value, Diagnostic> {
    handle_with(rt, &Options::default(), event, ctx).await
}

/// [`handle`] with explicit options (main reads them from the environment; tests shorten
/// the verify delay). The invocation is measured: its latency, and the outcome of a data
/// action (a batch's messages are counted by `bridge::batch`).
pub async fn handle_with(
    rt: &Runtime,
    opts: &Options,
    event: Value,
    ctx: Context,
) -> std::result::Result<Value, Diagnostic> {
    rt.metrics
        .measure(FUNCTION, measured(rt, opts, event, ctx))
        .await
}

async fn measured(
    rt: &Runtime,
    opts: &Options,
    event: Value,
    ctx: Context,
) -> std::result::Result<Value, Diagnostic> {
    let result = match accept(&event, FUNCTION, &TAKES) {
        Ok(EventKind::SqsBatch) => {
            let span = tracing::info_span!("job_batch", request_id = %ctx.request_id);
            bridge::batch::run(&Jobs::new(rt, rt.deadline(&ctx)), event)
                .instrument(span)
                .await
                .and_then(to_value)
        }
        // `accept` lets through only what TAKES names.
        Ok(_) => {
            let out = action::run(rt, opts, &event, &ctx).await;
            count(&out);
            out.and_then(to_value)
        }
        Err(e) => {
            metrics::outcome(metrics::catalogue::FAILED);
            Err(e)
        }
    };
    result.map_err(|e| {
        tracing::warn!(error_type = %e.error_type(), org_id = e.org_id.as_deref().unwrap_or(""),
            retryable = e.retryable(), error = %e, "invocation failed");
        Diagnostic::from(e)
    })
}

/// Counts a data action: `written` (and `verify_failed` when the read-back disagreed), or
/// `failed`.
fn count(out: &Result<ActionOutput>) {
    match out {
        Ok(o) => {
            metrics::outcome("written");
            if !o.verify_reason.is_empty() {
                metrics::outcome("verify_failed");
            }
        }
        Err(_) => metrics::outcome(metrics::catalogue::FAILED),
    }
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v)
        .map_err(|e| BridgeError::internal(format!("could not write the output: {e}")))
}
