//! webhook-ingest: Genesys events in, tenant proven, duplicates dropped, jobs queued.
//!
//! Two kinds of invocation: EventBridge partner events from Genesys (the org comes from the
//! event `source`) and HTTPS requests through a Lambda Function URL
//! (`POST /orgs/{orgId}/events`, the org proven by its shared secret or an HMAC). Each runs
//! the stages once, in order: [`input`] (parse) → [`auth`] (HTTPS only: prove the org) →
//! [`plan`] (route to jobs) → [`apply`] (claim the event in the idempotency store, queue,
//! mark COMPLETED; release on failure so the sender retries) → [`response`].
//!
//! `POST /orgs/{orgId}/user/events` is an agent's own Genesys token: [`user`] runs the same
//! stages, and writes at once with that token instead of queueing. [`ingest`] holds what is
//! built once and the routes.

pub mod apply;
pub mod auth;
pub mod clock;
pub mod ingest;
pub mod input;
pub mod limits;
pub mod plan;
pub mod response;
pub mod user;

use lambda_runtime::{Context, Diagnostic};
use serde_json::Value;
use tracing::Instrument;

pub use apply::{Delivered, StatsSnapshot};
pub use auth::AuthMethod;
pub use clock::{Clock, ManualClock, SystemClock};
pub use ingest::Ingest;
pub use input::{HttpRequest, Inbound, PartnerEvent, Route};
pub use limits::Limits;
pub use plan::{Plan, Routed};
pub use response::{Answer, Reject};
pub use user::UserWritten;

/// The function's name in metrics and messages.
pub const FUNCTION: &str = "webhook-ingest";

/// The Lambda handler: an EventBridge event answers a summary or fails the invocation (so
/// it is retried and finally dead-lettered); a Function URL request always answers an HTTP
/// response. The invocation is measured: its latency and its outcome, for its org.
pub async fn handle(ingest: &Ingest, event: Value, ctx: Context) -> Result<Value, Diagnostic> {
    let metrics = &ingest.rt.metrics;
    metrics
        .measure(FUNCTION, measured(ingest, event, ctx))
        .await
}

async fn measured(ingest: &Ingest, event: Value, ctx: Context) -> Result<Value, Diagnostic> {
    let out = match input::read(&event, ingest.max_body_bytes) {
        Ok(Inbound::Https(req)) => {
            let span = tracing::info_span!("https", request_id = %ctx.request_id);
            let out = ingest::https(ingest, req, &ctx).instrument(span).await;
            if out.is_err() {
                ingest.delivery.stats.rejected();
            }
            bridge::metrics::outcome(response::outcome(&out));
            return Ok(response::http_answer(&out));
        }
        Ok(Inbound::Partner(ev)) => {
            let span = tracing::info_span!("eventbridge", request_id = %ctx.request_id);
            ingest::eventbridge(ingest, ev, &ctx).instrument(span).await
        }
        Err(e) => Err(e),
    };
    bridge::metrics::outcome(match &out {
        Ok(d) => response::delivered_outcome(d),
        Err(e) => response::error_outcome(e),
    });
    out.map(|d| response::summary(&d)).map_err(|e| {
        ingest.delivery.stats.rejected();
        tracing::error!(error_type = %e.error_type(), org_id = e.org_id.as_deref(), error = %e, "event not accepted");
        Diagnostic::from(e)
    })
}
