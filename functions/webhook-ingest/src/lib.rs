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
//! stages, and writes at once with that token instead of queueing.

pub mod apply;
pub mod auth;
pub mod clock;
pub mod input;
pub mod limits;
pub mod plan;
pub mod response;
pub mod user;

use std::sync::Arc;

use bridge::idempotency::IdempotencyStore;
use bridge::queue::JobQueue;
use bridge::{BridgeError, Runtime};
use lambda_runtime::{Context, Diagnostic};
use serde_json::Value;
use tracing::Instrument;

pub use apply::{Delivered, StatsSnapshot};
pub use auth::AuthMethod;
pub use clock::{Clock, ManualClock, SystemClock};
pub use input::{HttpRequest, Inbound, PartnerEvent, Route};
pub use limits::Limits;
pub use plan::{Plan, Routed};
pub use response::{Answer, Reject};
pub use user::UserWritten;

/// The function's name in metrics and messages.
pub const FUNCTION: &str = "webhook-ingest";

/// What the handler needs, built once at cold start.
pub struct Ingest {
    rt: Arc<Runtime>,
    clock: Arc<dyn Clock>,
    max_body_bytes: usize,
    auth: auth::Auth,
    delivery: apply::Delivery,
}

impl Ingest {
    pub fn new(
        rt: Arc<Runtime>,
        queue: Arc<dyn JobQueue>,
        idempotency: Arc<dyn IdempotencyStore>,
    ) -> Ingest {
        let clock = Arc::new(SystemClock);
        Ingest::with(rt, queue, idempotency, Limits::default(), clock)
    }

    pub fn with(
        rt: Arc<Runtime>,
        queue: Arc<dyn JobQueue>,
        idempotency: Arc<dyn IdempotencyStore>,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Ingest {
        let claim = limits.in_progress_without_deadline;
        Ingest {
            rt,
            clock: clock.clone(),
            max_body_bytes: limits.max_body_bytes,
            auth: auth::Auth::new(limits.hmac_window, limits.token_verdict_ttl),
            delivery: apply::Delivery::new(queue, idempotency, clock, claim),
        }
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.delivery.stats.snapshot()
    }
}

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
            let out = https(ingest, req, &ctx).instrument(span).await;
            if out.is_err() {
                ingest.delivery.stats.rejected();
            }
            bridge::metrics::outcome(response::outcome(&out));
            return Ok(response::http_answer(&out));
        }
        Ok(Inbound::Partner(ev)) => {
            let span = tracing::info_span!("eventbridge", request_id = %ctx.request_id);
            eventbridge(ingest, ev, &ctx).instrument(span).await
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

async fn https(
    ingest: &Ingest,
    req: Result<HttpRequest, Reject>,
    ctx: &Context,
) -> Result<Answer, Reject> {
    let (req, now) = (req?, ingest.clock.now_ms());
    if req.route == Route::UserEvents {
        let (rt, auth, delivery) = (&ingest.rt, &ingest.auth, &ingest.delivery);
        let written = user::serve(rt, auth, delivery, &req, now, ctx).await?;
        return Ok(Answer::Written(written));
    }
    let org = ingest.auth.authenticate(&ingest.rt, &req, now).await?;
    let plan = plan::https(&org, &req, now).map_err(|e| {
        tracing::info!(org_id = %org.org_id, field = e.field.as_deref(), error = %e, "bad request");
        Reject::BadRequest(e)
    })?;
    Ok(Answer::Queued(
        ingest
            .delivery
            .deliver(&plan, &ctx.request_id, ctx.deadline)
            .await?,
    ))
}

async fn eventbridge(
    ingest: &Ingest,
    ev: PartnerEvent,
    ctx: &Context,
) -> Result<Delivered, BridgeError> {
    let now = ingest.clock.now_ms();
    // An unconfigured org is an error, not a quiet drop: it lands in the dead-letter queue
    // where an operator sees it (a new tenant not onboarded yet, or a wrong event bus).
    let org = apply::org(&ingest.rt, &ev.org_id).await?;
    let plan = plan::partner_event(&org, &ev, now).map_err(|e| e.with_org(&org.org_id))?;
    let delivered = ingest
        .delivery
        .deliver(&plan, &ctx.request_id, ctx.deadline)
        .await;
    delivered.map_err(|n| n.into_error(&plan.org_id))
}
