//! webhook-ingest: Genesys events in, tenant proven, duplicates dropped, jobs queued.
//!
//! One handler for two shapes: EventBridge partner events from Genesys (the org comes from
//! the event `source`) and HTTPS requests through a Lambda Function URL
//! (`POST /orgs/{orgId}/events`, the org proven by a credential of that org, see [`auth`]).
//! Each event is routed to jobs by the org's rules ([`plan`]), claimed in the idempotency
//! store under `<orgId>#<eventId>`, queued, and only then marked COMPLETED; if queueing
//! fails, the claim is released and the invocation fails so the sender retries.
//!
//! The steps that need no network ([`inbound`], [`auth::check`], [`plan`]) are plain
//! functions; [`offline`] chains them for the property tests and the benchmark.

pub mod auth;
pub mod clock;
pub mod inbound;
pub mod plan;
mod response;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bridge::idempotency::{self, Claim, IdempotencyStore, RecordStatus};
use bridge::queue::JobQueue;
use bridge::settings::Settings;
use bridge::{BridgeError, ErrorKind, OrgConfig, Runtime};
use lambda_runtime::{Context, Diagnostic};
use serde_json::{json, Value};
use tracing::Instrument;

pub use auth::{AuthMethod, Verdict};
pub use clock::{Clock, ManualClock, SystemClock};
pub use inbound::{HttpRequest, PartnerEvent, Shape};
pub use plan::{Plan, Routed};

/// Limits and windows; defaults are documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `BRIDGE_MAX_BODY_BYTES` (default 262144): larger HTTPS bodies get 413.
    pub max_body_bytes: usize,
    /// How far `X-Bridge-Timestamp` may be from now (default 5 minutes).
    pub hmac_window: Duration,
    /// How long a Genesys-token verdict is reused (default 60 s).
    pub token_verdict_ttl: Duration,
    /// In-progress expiry when the invocation has no deadline (tests, local runs).
    pub in_progress_without_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 262_144,
            hmac_window: auth::DEFAULT_HMAC_WINDOW,
            token_verdict_ttl: auth::DEFAULT_TOKEN_VERDICT_TTL,
            in_progress_without_deadline: Duration::from_secs(60),
        }
    }
}

impl Limits {
    pub fn from_settings(s: &Settings) -> Limits {
        Limits {
            max_body_bytes: s.max_body_bytes,
            ..Limits::default()
        }
    }
}

/// Why an input was not accepted. For HTTPS each is a status code ([`Reject::status`]);
/// for EventBridge every one is an invocation error.
#[derive(Debug)]
pub enum Reject {
    /// 400: the message names the field and what was expected.
    BadRequest(BridgeError),
    /// 401, the same body for every reason; the reason is logged only.
    Unauthorized(&'static str),
    /// 404: not `/orgs/{orgId}/events`.
    NotFound,
    /// 405: not POST.
    MethodNotAllowed,
    /// 409: another invocation is processing the same event right now.
    InProgress { event_id: String },
    /// 413.
    TooLarge { size: usize, limit: usize },
    /// 500: the event could not be recorded or queued; nothing was marked done.
    Failed(BridgeError),
    /// 503: a Genesys token could not be checked right now.
    Unavailable(BridgeError),
}

impl Reject {
    pub fn status(&self) -> u16 {
        match self {
            Reject::BadRequest(_) => 400,
            Reject::Unauthorized(_) => 401,
            Reject::NotFound => 404,
            Reject::MethodNotAllowed => 405,
            Reject::InProgress { .. } => 409,
            Reject::TooLarge { .. } => 413,
            Reject::Failed(_) => 500,
            Reject::Unavailable(_) => 503,
        }
    }
}

/// Parse, authenticate (shared secret or HMAC) and route without any I/O: `orgs` stands in
/// for the org store. A Genesys-token bearer needs the network, so it is refused here.
/// Used by the property tests and the benchmark; the handler runs the same steps.
pub fn offline(
    orgs: impl Fn(&str) -> Option<Arc<OrgConfig>>,
    event: &Value,
    limits: &Limits,
    now_ms: u64,
) -> Result<(Option<AuthMethod>, Plan), Reject> {
    match inbound::shape(event) {
        Shape::FunctionUrl => {
            let req = inbound::parse_http(event, limits.max_body_bytes)?;
            let Some(cfg) = inbound::canonical_uuid(&req.org_id).and_then(|id| orgs(&id)) else {
                auth::check_unknown_org(&req, now_ms / 1000, limits.hmac_window);
                return Err(Reject::Unauthorized("unknown org"));
            };
            let method = match auth::check(&cfg, &req, now_ms / 1000, limits.hmac_window) {
                Verdict::Accepted(m) => m,
                Verdict::CheckToken(_) => {
                    return Err(Reject::Unauthorized("a Genesys token needs the network"))
                }
                Verdict::Denied(why) => return Err(Reject::Unauthorized(why)),
            };
            let plan = plan::https(&cfg, &req, now_ms).map_err(Reject::BadRequest)?;
            Ok((Some(method), plan))
        }
        Shape::EventBridge => {
            let ev = inbound::parse_eventbridge(event).map_err(Reject::BadRequest)?;
            let cfg = orgs(&ev.org_id).ok_or(Reject::Unauthorized("unknown org"))?;
            let plan = plan::partner_event(&cfg, &ev, now_ms).map_err(Reject::BadRequest)?;
            Ok((None, plan))
        }
        Shape::Unknown => Err(Reject::BadRequest(unknown_shape())),
    }
}

fn unknown_shape() -> BridgeError {
    BridgeError::validation(
        "event",
        "expected an EventBridge event from the Genesys partner event source or a Lambda Function URL request",
    )
}

/// Counters since cold start (also logged per event).
#[derive(Debug, Default)]
pub struct Stats {
    events: AtomicU64,
    jobs: AtomicU64,
    duplicates: AtomicU64,
    /// Accepted events that asked for no job (other topics, enrichment off).
    unrouted: AtomicU64,
    rejected: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    pub events: u64,
    pub jobs: u64,
    pub duplicates: u64,
    pub unrouted: u64,
    pub rejected: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            events: g(&self.events),
            jobs: g(&self.jobs),
            duplicates: g(&self.duplicates),
            unrouted: g(&self.unrouted),
            rejected: g(&self.rejected),
        }
    }
}

fn bump(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

/// What the handler needs, built once at cold start.
pub struct Ingest {
    pub rt: Arc<Runtime>,
    pub queue: Arc<dyn JobQueue>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    tokens: auth::TokenVerdicts,
    stats: Stats,
}

impl Ingest {
    pub fn new(
        rt: Arc<Runtime>,
        queue: Arc<dyn JobQueue>,
        idempotency: Arc<dyn IdempotencyStore>,
    ) -> Ingest {
        Ingest::with(
            rt,
            queue,
            idempotency,
            Limits::default(),
            Arc::new(SystemClock),
        )
    }

    pub fn with(
        rt: Arc<Runtime>,
        queue: Arc<dyn JobQueue>,
        idempotency: Arc<dyn IdempotencyStore>,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Ingest {
        Ingest {
            rt,
            queue,
            idempotency,
            limits,
            clock,
            tokens: auth::TokenVerdicts::new(limits.token_verdict_ttl),
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }
}

/// The result of queueing a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub event_id: String,
    pub duplicate: bool,
    pub jobs: usize,
}

impl Delivered {
    pub fn to_json(&self) -> Value {
        json!({"accepted": true, "duplicate": self.duplicate, "eventId": self.event_id, "jobs": self.jobs})
    }
}

/// The Lambda handler: an EventBridge event answers a summary or fails the invocation (so
/// it is retried and finally dead-lettered); a Function URL request always answers an HTTP
/// response.
pub async fn handle(ingest: &Ingest, event: Value, ctx: Context) -> Result<Value, Diagnostic> {
    match inbound::shape(&event) {
        Shape::FunctionUrl => {
            let span = tracing::info_span!("https", request_id = %ctx.request_id);
            let out = handle_http(ingest, &event, &ctx).instrument(span).await;
            Ok(match out {
                Ok(d) => response::accepted(&d),
                Err(r) => {
                    bump(&ingest.stats.rejected, 1);
                    response::rejected(&r)
                }
            })
        }
        Shape::EventBridge => {
            let span = tracing::info_span!("eventbridge", request_id = %ctx.request_id);
            handle_eventbridge(ingest, &event, &ctx)
                .instrument(span)
                .await
                .map(|d| d.to_json())
                .map_err(|e| {
                    bump(&ingest.stats.rejected, 1);
                    tracing::error!(error_type = %e.error_type(), org_id = e.org_id.as_deref(), error = %e, "event not accepted");
                    Diagnostic::from(e)
                })
        }
        Shape::Unknown => {
            bump(&ingest.stats.rejected, 1);
            Err(unknown_shape().into())
        }
    }
}

async fn handle_eventbridge(
    ingest: &Ingest,
    event: &Value,
    ctx: &Context,
) -> Result<Delivered, BridgeError> {
    let now = ingest.clock.now_ms();
    let ev = inbound::parse_eventbridge(event)?;
    // An unconfigured org is an error, not a quiet drop: it lands in the dead-letter queue
    // where an operator sees it (a new tenant not onboarded yet, or a wrong event bus).
    let cfg = ingest
        .rt
        .orgs
        .get(&ev.org_id)
        .await
        .map_err(|e| e.or_org(&ev.org_id))?;
    let plan = plan::partner_event(&cfg, &ev, now).map_err(|e| e.with_org(&cfg.org_id))?;
    deliver(ingest, &plan, ctx).await.map_err(|r| match r {
        Reject::InProgress { event_id } => in_progress_error(&plan.org_id, &event_id),
        Reject::Failed(e) | Reject::Unavailable(e) | Reject::BadRequest(e) => e,
        other => BridgeError::internal(format!("unexpected rejection {other:?}")),
    })
}

fn in_progress_error(org_id: &str, event_id: &str) -> BridgeError {
    BridgeError::new(
        ErrorKind::Conflict,
        format!("event {event_id} is being processed by another invocation; retry later"),
    )
    .with_org(org_id)
}

async fn handle_http(ingest: &Ingest, event: &Value, ctx: &Context) -> Result<Delivered, Reject> {
    let now = ingest.clock.now_ms();
    let req = inbound::parse_http(event, ingest.limits.max_body_bytes)?;
    let path_org: String = req.org_id.chars().take(64).collect();
    let Some(org_id) = inbound::canonical_uuid(&req.org_id) else {
        auth::check_unknown_org(&req, now / 1000, ingest.limits.hmac_window);
        return Err(unauthorized(&path_org, "the path has no org id", &req));
    };
    let cfg = match ingest.rt.orgs.get(&org_id).await {
        Ok(cfg) => cfg,
        Err(e)
            if matches!(
                e.kind,
                ErrorKind::UnknownOrg | ErrorKind::Validation | ErrorKind::Config
            ) =>
        {
            auth::check_unknown_org(&req, now / 1000, ingest.limits.hmac_window);
            if e.kind == ErrorKind::Config {
                tracing::error!(org_id = %path_org, error = %e, "the org's config is invalid; refusing its requests until it is fixed");
            }
            return Err(unauthorized(
                &path_org,
                "unknown org or invalid org config",
                &req,
            ));
        }
        Err(e) => {
            tracing::error!(org_id = %path_org, error = %e, "could not load the org config");
            return Err(Reject::Failed(e));
        }
    };
    let method = match auth::check(&cfg, &req, now / 1000, ingest.limits.hmac_window) {
        Verdict::Accepted(m) => m,
        Verdict::Denied(why) => return Err(unauthorized(&path_org, why, &req)),
        Verdict::CheckToken(token) => {
            let key = auth::TokenVerdicts::key(&cfg.org_id, &token);
            match ingest.tokens.get(&key, now) {
                Some(true) => AuthMethod::GenesysToken,
                Some(false) => {
                    return Err(unauthorized(
                        &path_org,
                        "Genesys token refused (cached)",
                        &req,
                    ))
                }
                None => {
                    let deadline = ingest.rt.deadline(ctx);
                    match ingest
                        .rt
                        .genesys
                        .token_info_of(&cfg, &token, deadline)
                        .await
                    {
                        Ok(info) => {
                            let same = info.organization.id.eq_ignore_ascii_case(&cfg.org_id);
                            ingest.tokens.put(key, same, now);
                            if !same {
                                tracing::warn!(org_id = %cfg.org_id, token_org = %info.organization.id, "a Genesys token of another org was presented");
                                return Err(unauthorized(
                                    &path_org,
                                    "Genesys token of another org",
                                    &req,
                                ));
                            }
                            AuthMethod::GenesysToken
                        }
                        Err(e) if e.retryable() => {
                            tracing::error!(org_id = %cfg.org_id, error = %e, "could not check a Genesys token");
                            return Err(Reject::Unavailable(e));
                        }
                        Err(_) => {
                            ingest.tokens.put(key, false, now);
                            return Err(unauthorized(
                                &path_org,
                                "bearer is neither the shared secret nor a Genesys token",
                                &req,
                            ));
                        }
                    }
                }
            }
        }
    };
    let plan = plan::https(&cfg, &req, now).map_err(|e| {
        tracing::info!(org_id = %cfg.org_id, field = e.field.as_deref(), error = %e, "bad request");
        Reject::BadRequest(e)
    })?;
    tracing::debug!(org_id = %cfg.org_id, auth = method.as_str(), "authenticated");
    deliver(ingest, &plan, ctx).await
}

fn unauthorized(path_org: &str, why: &'static str, req: &HttpRequest) -> Reject {
    tracing::warn!(org_id = %path_org, reason = why, request_id = req.request_id.as_deref(), "request refused (401)");
    Reject::Unauthorized(why)
}

/// Claims the event, queues its jobs, and marks it COMPLETED, in that order. Events that
/// ask for no job skip the store: there is nothing to do twice.
async fn deliver(ingest: &Ingest, plan: &Plan, ctx: &Context) -> Result<Delivered, Reject> {
    let stats = &ingest.stats;
    bump(&stats.events, 1);
    let done = |duplicate: bool, jobs: usize| Delivered {
        event_id: plan.event_id.clone(),
        duplicate,
        jobs,
    };
    if plan.jobs.is_empty() {
        bump(&stats.unrouted, 1);
        tracing::info!(org_id = %plan.org_id, event_id = %plan.event_id, topic = %plan.routed.what,
            reason = plan.routed.skipped.unwrap_or(""), "event accepted, no job");
        return Ok(done(false, 0));
    }
    let key = idempotency::key(&plan.org_id, &plan.event_id);
    let now = ingest.clock.now_ms();
    // Powertools: the claim lasts until the invocation's deadline; after that, a retry may
    // take over from an invocation that died.
    let until = if ctx.deadline > 0 {
        ctx.deadline
    } else {
        now + ingest.limits.in_progress_without_deadline.as_millis() as u64
    };
    let claim = ingest.idempotency.begin(&key, until, now).await.map_err(|e| {
        tracing::error!(org_id = %plan.org_id, event_id = %plan.event_id, error = %e, "could not claim the event");
        Reject::Failed(e.or_org(&plan.org_id))
    })?;
    match claim {
        Claim::Duplicate(RecordStatus::Completed) => {
            bump(&stats.duplicates, 1);
            tracing::info!(org_id = %plan.org_id, event_id = %plan.event_id, topic = %plan.routed.what, "duplicate event dropped");
            Ok(done(true, 0))
        }
        Claim::Duplicate(RecordStatus::InProgress) => {
            tracing::info!(org_id = %plan.org_id, event_id = %plan.event_id, "event in progress elsewhere");
            Err(Reject::InProgress {
                event_id: plan.event_id.clone(),
            })
        }
        Claim::Acquired => {
            if let Err(e) = ingest.queue.send(&plan.jobs).await {
                let e = e.or_org(&plan.org_id);
                tracing::error!(org_id = %plan.org_id, event_id = %plan.event_id, error = %e, "jobs not queued; releasing the event for a retry");
                if let Err(re) = ingest.idempotency.release(&key).await {
                    // The claim then expires at the deadline, and a retry after it succeeds.
                    tracing::error!(org_id = %plan.org_id, event_id = %plan.event_id, error = %re, "could not release the idempotency record");
                }
                return Err(Reject::Failed(e));
            }
            if let Err(e) = ingest
                .idempotency
                .complete(&key, ingest.clock.now_ms())
                .await
            {
                // The jobs are queued: answering an error would make the sender retry and
                // queue them again once the claim expires. Report success and log it.
                tracing::error!(org_id = %plan.org_id, event_id = %plan.event_id, error = %e,
                    "jobs queued but the idempotency record could not be marked COMPLETED; a redelivery after the deadline would queue them again");
            }
            bump(&stats.jobs, plan.jobs.len() as u64);
            tracing::info!(org_id = %plan.org_id, event_id = %plan.event_id, topic = %plan.routed.what,
                jobs = plan.jobs.len(), kinds = ?plan.jobs.iter().map(|j| j.job.kind()).collect::<Vec<_>>(), "event accepted, jobs queued");
            Ok(done(false, plan.jobs.len()))
        }
    }
}
