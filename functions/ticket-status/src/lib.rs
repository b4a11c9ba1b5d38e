//! `ticket-status`: moves a Zendesk ticket to a status, from an Architect Lambda data action
//! (synchronous) or from SQS batches of `ticket.wrapup` jobs (agent wrap-up), with safe
//! updates, no-op when nothing would change, and errors that say which side refused and why.
//!
//! [`handle`] asks `bridge::event` which of the two it was given, then:
//! - a data action runs [`action`]: read the input ([`input`]) and update the ticket
//!   ([`apply`]);
//! - an SQS batch runs `bridge::batch` with this function's [`worker`]: map each job's code
//!   and find its ticket, collapse the jobs per ticket ([`plan`]), update ([`apply`]), and
//!   report one [`outcome`] per message.

pub mod action;
pub mod apply;
pub mod input;
pub mod outcome;
pub mod plan;
pub mod worker;

use bridge::event::{accept, EventKind};
use bridge::metrics;
use bridge::{BridgeError, Runtime};
use lambda_runtime::{Context, Diagnostic};
use serde_json::Value;
use tracing::Instrument;

pub use action::{data_action_deadline, ActionOutput, DATA_ACTION_BUDGET};
pub use apply::{Applied, MAX_SAFE_UPDATE_TRIES};
pub use input::ActionInput;
pub use outcome::Outcome;
pub use plan::Change;
pub use worker::Wrapups;

/// The function's name in messages ("ticket-status takes ...").
pub const FUNCTION: &str = "ticket-status";

/// The kinds of event the function is wired to: the Genesys data action and its job queue.
pub const TAKES: [EventKind; 2] = [EventKind::DataAction, EventKind::SqsBatch];

/// The Lambda handler for both kinds. Data action: the flat output object, or a Lambda
/// error whose `errorType` is the stable [`BridgeError::error_type`] string. SQS: the
/// `batchItemFailures` response (an error only when every message failed). The invocation
/// is measured: its latency, and the outcome of a data action (a batch's messages are
/// counted by `bridge::batch`).
pub async fn handle(rt: &Runtime, event: Value, ctx: Context) -> Result<Value, Diagnostic> {
    rt.metrics.measure(FUNCTION, measured(rt, event, ctx)).await
}

async fn measured(rt: &Runtime, event: Value, ctx: Context) -> Result<Value, Diagnostic> {
    let kind = accept(&event, FUNCTION, &TAKES).map_err(|e| {
        metrics::outcome(metrics::catalogue::FAILED);
        failed(FUNCTION, e)
    })?;
    let span = tracing::info_span!("ticket_status", request_id = %ctx.request_id, kind = ?kind);
    async move {
        match kind {
            EventKind::SqsBatch => bridge::batch::run(&Wrapups::new(rt, rt.deadline(&ctx)), event)
                .await
                .and_then(to_value)
                .map_err(|e| failed("SQS batch", e)),
            // `accept` lets through only what TAKES names.
            _ => {
                let out = action::run(rt, &event, &ctx).await;
                count(&out);
                out.and_then(to_value).map_err(|e| failed("data action", e))
            }
        }
    }
    .instrument(span)
    .await
}

/// Logs what failed and why; the error then becomes the Lambda error.
fn failed(what: &str, e: BridgeError) -> Diagnostic {
    tracing::warn!(error_type = %e.error_type(), org_id = e.org_id.as_deref().unwrap_or(""),
        status = e.status.unwrap_or(0), correlation_id = e.correlation_id.as_deref().unwrap_or(""),
        error = %e, "{what} failed");
    e.into()
}

/// Counts a data action like a wrap-up job: `updated`, `unchanged`, `follow_up`, `closed`
/// (a closed ticket refused), or `failed`.
fn count(out: &bridge::Result<ActionOutput>) {
    metrics::outcome(match out {
        Ok(o) if o.changed => "updated",
        Ok(o) if !o.follow_up_ticket_id.is_empty() => "follow_up",
        Ok(_) => "unchanged",
        Err(e) if e.kind == bridge::ErrorKind::ClosedTicket => "closed",
        Err(_) => metrics::catalogue::FAILED,
    });
}

fn to_value<T: serde::Serialize>(v: T) -> bridge::Result<Value> {
    serde_json::to_value(v)
        .map_err(|e| BridgeError::internal(format!("could not write the output: {e}")))
}
