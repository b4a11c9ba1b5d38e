//! The state webhook-ingest builds once at cold start, and the two routes it serves: HTTPS
//! (the events route proven by shared secret or HMAC, or the user route) and EventBridge.
//! The handler in lib.rs reads the input, picks the route and measures the invocation.

use std::sync::Arc;

use bridge::idempotency::IdempotencyStore;
use bridge::queue::JobQueue;
use bridge::{BridgeError, Runtime};
use lambda_runtime::Context;

use crate::apply::{Delivered, Delivery, StatsSnapshot};
use crate::auth::Auth;
use crate::clock::{Clock, SystemClock};
use crate::input::{HttpRequest, PartnerEvent, Route};
use crate::limits::Limits;
use crate::response::{Answer, Reject};

/// What the handler needs, built once at cold start.
pub struct Ingest {
    pub(crate) rt: Arc<Runtime>,
    clock: Arc<dyn Clock>,
    pub(crate) max_body_bytes: usize,
    auth: Auth,
    pub(crate) delivery: Delivery,
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
            auth: Auth::new(limits.hmac_window, limits.token_verdict_ttl),
            delivery: Delivery::new(queue, idempotency, clock, claim),
        }
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.delivery.stats.snapshot()
    }
}

pub(crate) async fn https(
    ingest: &Ingest,
    req: Result<HttpRequest, Reject>,
    ctx: &Context,
) -> Result<Answer, Reject> {
    let (req, now) = (req?, ingest.clock.now_ms());
    if req.route == Route::UserEvents {
        let (rt, auth, delivery) = (&ingest.rt, &ingest.auth, &ingest.delivery);
        let written = crate::user::serve(rt, auth, delivery, &req, now, ctx).await?;
        return Ok(Answer::Written(written));
    }
    let org = ingest.auth.authenticate(&ingest.rt, &req, now).await?;
    let plan = crate::plan::https(&org, &req, now).map_err(|e| {
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

pub(crate) async fn eventbridge(
    ingest: &Ingest,
    ev: PartnerEvent,
    ctx: &Context,
) -> Result<Delivered, BridgeError> {
    let now = ingest.clock.now_ms();
    // An unconfigured org is an error, not a quiet drop: it lands in the dead-letter queue
    // where an operator sees it (a new tenant not onboarded yet, or a wrong event bus).
    let org = crate::apply::org(&ingest.rt, &ev.org_id).await?;
    let plan = crate::plan::partner_event(&org, &ev, now).map_err(|e| e.with_org(&org.org_id))?;
    let delivered = ingest
        .delivery
        .deliver(&plan, &ctx.request_id, ctx.deadline)
        .await;
    delivered.map_err(|n| n.into_error(&plan.org_id))
}
