//! `agentless-messages`: agentless outbound messages (SMS, WhatsApp) to customers, from
//! Architect Lambda data actions (synchronous) and from SQS batches of `message.agentless`
//! jobs (commands and event rules, from webhook-ingest), never sent twice.
//!
//! [`handle`] asks `bridge::event` which of the two it was given, then:
//! - a data action runs [`action`]: read the input ([`input`]), resolve what to send for the
//!   org ([`plan`]), and send it at most once per `idempotencyKey` ([`apply`]);
//! - an SQS batch runs `bridge::batch` with this function's [`worker`]: resolve each job,
//!   keep one unit per message, send each at most once, and report one [`outcome`] per job.
//!
//! Never twice: each message is claimed in the idempotency store right before the POST and
//! its outcome recorded right after; a send that may have taken effect is never repeated
//! by itself (see the README, "The guarantee").

pub mod action;
pub mod apply;
pub mod input;
pub mod outcome;
pub mod plan;
pub mod worker;

use bridge::event::{accept, EventKind};
use bridge::metrics;
use bridge::{BridgeError, Result};
use lambda_runtime::{Context, Diagnostic};
use serde_json::Value;
use tracing::Instrument;

pub use action::{ActionOutput, DATA_ACTION_BUDGET};
pub use apply::{Delivery, Messenger};
pub use outcome::Outcome;
pub use worker::Jobs;

/// The function's name in messages ("agentless-messages takes ...").
pub const FUNCTION: &str = "agentless-messages";

/// The kinds of event the function is wired to: the Genesys data action and its job queue.
pub const TAKES: [EventKind; 2] = [EventKind::DataAction, EventKind::SqsBatch];

/// How long a claim record lives: past SQS's longest retention (14 days), so that a message
/// replayed from the DLQ still finds its claim.
pub const CLAIM_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 24 * 3600);

/// The Lambda handler: a data action answers its flat output object; an SQS batch answers
/// `{"batchItemFailures": [...]}`. Failures are Lambda errors with the stable error type
/// (`Genesys.MayHaveBeenSent` for a message that may have gone out). The invocation is
/// measured: its latency, and a data action's outcome (a batch's messages are counted by
/// `bridge::batch`).
pub async fn handle(
    m: &Messenger,
    event: Value,
    ctx: Context,
) -> std::result::Result<Value, Diagnostic> {
    m.rt.metrics
        .measure(FUNCTION, measured(m, event, ctx))
        .await
}

async fn measured(
    m: &Messenger,
    event: Value,
    ctx: Context,
) -> std::result::Result<Value, Diagnostic> {
    let result = match accept(&event, FUNCTION, &TAKES) {
        Ok(EventKind::SqsBatch) => {
            let span = tracing::info_span!("job_batch", request_id = %ctx.request_id);
            let owner = bridge::idempotency::owner(&ctx.request_id);
            let jobs = Jobs::new(m, m.rt.deadline(&ctx), action::claim_until(&ctx), owner);
            bridge::batch::run(&jobs, event)
                .instrument(span)
                .await
                .and_then(to_value)
        }
        // `accept` lets through only what TAKES names.
        Ok(_) => {
            let out = action::run(m, &event, &ctx).await;
            metrics::outcome(outcome::of_action(&out));
            out.and_then(to_value)
        }
        Err(e) => {
            metrics::outcome(metrics::catalogue::FAILED);
            Err(e)
        }
    };
    result.map_err(|e| {
        tracing::warn!(error_type = %e.error_type(), org_id = e.org_id.as_deref().unwrap_or(""),
            retryable = e.retryable(), correlation_id = e.correlation_id.as_deref().unwrap_or(""),
            error = %e, "invocation failed");
        Diagnostic::from(e)
    })
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v)
        .map_err(|e| BridgeError::internal(format!("could not write the output: {e}")))
}
