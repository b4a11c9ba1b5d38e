//! The I/O of webhook-ingest, through the shared clients: reading an org's config, asking
//! Genesys with a user's own token whose it is, reading the conversation and writing the
//! attributes with that token, and delivering a plan (claim the event in the idempotency
//! store, queue its jobs, mark it COMPLETED, or release it for a retry).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bridge::genesys::{CallerToken, Conversation, Written};
use bridge::idempotency::{self, Claim, IdempotencyStore, RecordStatus};
use bridge::queue::JobQueue;
use bridge::{BridgeError, Deadline, ErrorKind, OrgConfig, Runtime};

use crate::clock::Clock;
use crate::plan::user::UserWrite;
use crate::plan::Plan;

/// The config of `org_id` from the org store (cached across warm invocations).
pub async fn org(rt: &Runtime, org_id: &str) -> Result<Arc<OrgConfig>, BridgeError> {
    rt.orgs.get(org_id).await.map_err(|e| e.or_org(org_id))
}

/// The org a caller's Genesys token belongs to: `GET /api/v2/tokens/me` with that token,
/// on `org`'s own API host (never another org's).
pub async fn token_org(
    rt: &Runtime,
    org: &OrgConfig,
    token: &CallerToken,
    deadline: Deadline,
) -> Result<String, BridgeError> {
    let info = rt
        .genesys
        .as_caller(org, token, deadline)
        .tokens_me()
        .await?;
    Ok(info.organization.id)
}

/// The user a caller's Genesys token belongs to: `GET /api/v2/users/me` with that token.
pub async fn token_user(
    rt: &Runtime,
    org: &OrgConfig,
    token: &CallerToken,
    deadline: Deadline,
) -> Result<String, BridgeError> {
    Ok(rt
        .genesys
        .as_caller(org, token, deadline)
        .users_me()
        .await?
        .id)
}

/// The conversation as the token's user sees it (`GET /api/v2/conversations/{id}` with the
/// user's token: Genesys applies the user's permissions and divisions).
pub async fn conversation_as_user(
    rt: &Runtime,
    org: &OrgConfig,
    token: &CallerToken,
    conversation_id: &str,
    deadline: Deadline,
) -> Result<Conversation, BridgeError> {
    rt.genesys
        .as_caller(org, token, deadline)
        .conversation(conversation_id)
        .await
}

/// Writes the user's attributes with the user's own token (never the org's OAuth client).
pub async fn write_as_user(
    rt: &Runtime,
    org: &OrgConfig,
    token: &CallerToken,
    w: &UserWrite,
    deadline: Deadline,
) -> Result<Written, BridgeError> {
    rt.genesys
        .as_caller(org, token, deadline)
        .patch_participant_attributes(&w.conversation_id, &w.participant_id, &w.attributes)
        .await
}

/// The result of delivering a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub event_id: String,
    pub duplicate: bool,
    pub jobs: usize,
}

/// Why a plan was not delivered; nothing was marked done, so the sender's retry can work.
#[derive(Debug)]
pub enum NotDelivered {
    /// Another invocation holds the claim on this event right now.
    InProgress { event_id: String },
    /// The idempotency store or the queue failed.
    Failed(BridgeError),
}

impl NotDelivered {
    /// As an invocation error (EventBridge: Lambda retries it, then dead-letters it).
    pub fn into_error(self, org_id: &str) -> BridgeError {
        match self {
            NotDelivered::InProgress { event_id } => BridgeError::new(
                ErrorKind::Conflict,
                format!("event {event_id} is being processed by another invocation; retry later"),
            )
            .with_org(org_id),
            NotDelivered::Failed(e) => e,
        }
    }
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

    /// Counts an invocation that was not accepted (any refusal or failure).
    pub fn rejected(&self) {
        bump(&self.rejected, 1);
    }
}

fn bump(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

/// Where plans go: the idempotency store and the queue, built once at cold start.
pub struct Delivery {
    pub queue: Arc<dyn JobQueue>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub clock: Arc<dyn Clock>,
    /// How long a claim lasts when the invocation has no deadline (tests, local runs).
    pub claim_without_deadline: Duration,
    pub stats: Stats,
}

impl Delivery {
    pub fn new(
        queue: Arc<dyn JobQueue>,
        idempotency: Arc<dyn IdempotencyStore>,
        clock: Arc<dyn Clock>,
        claim_without_deadline: Duration,
    ) -> Delivery {
        Delivery {
            queue,
            idempotency,
            clock,
            claim_without_deadline,
            stats: Stats::default(),
        }
    }

    /// Claims the event, queues its jobs, and marks it COMPLETED, in that order. Events
    /// that ask for no job skip the store: there is nothing to do twice. `request_id` and
    /// `deadline_ms` are the invocation's (the deadline in epoch ms, 0 when there is none):
    /// the claim is the invocation's until its deadline.
    pub async fn deliver(
        &self,
        plan: &Plan,
        request_id: &str,
        deadline_ms: u64,
    ) -> Result<Delivered, NotDelivered> {
        bump(&self.stats.events, 1);
        let done = |duplicate: bool, jobs: usize| Delivered {
            event_id: plan.event_id.clone(),
            duplicate,
            jobs,
        };
        if plan.jobs.is_empty() {
            bump(&self.stats.unrouted, 1);
            tracing::info!(org_id = %plan.org_id, event_id = %plan.event_id, topic = %plan.routed.what,
                reason = plan.routed.skipped.unwrap_or(""), "event accepted, no job");
            return Ok(done(false, 0));
        }
        let key = idempotency::key(&plan.org_id, &plan.event_id);
        let owner = idempotency::owner(request_id);
        match self.claim(plan, &key, &owner, deadline_ms).await? {
            Claim::Duplicate(RecordStatus::Completed) => {
                bump(&self.stats.duplicates, 1);
                tracing::info!(org_id = %plan.org_id, event_id = %plan.event_id, topic = %plan.routed.what, "duplicate event dropped");
                Ok(done(true, 0))
            }
            Claim::Duplicate(RecordStatus::InProgress) => {
                tracing::info!(org_id = %plan.org_id, event_id = %plan.event_id, "event in progress elsewhere");
                Err(NotDelivered::InProgress {
                    event_id: plan.event_id.clone(),
                })
            }
            Claim::Acquired => {
                self.queue_claimed(plan, &key, &owner).await?;
                Ok(done(false, plan.jobs.len()))
            }
        }
    }

    /// Powertools semantics: the claim lasts until the invocation's deadline; after that, a
    /// retry may take over from an invocation that died. The invocation's own claim, seen
    /// again (its put was applied but the answer lost, and the SDK sent it again), is its.
    /// A claim that failed may still have been made (applied, answer lost, retries failed):
    /// it is released, so that the sender's retry is not told "in progress" for an event
    /// nobody is processing.
    async fn claim(
        &self,
        plan: &Plan,
        key: &str,
        owner: &str,
        deadline_ms: u64,
    ) -> Result<Claim, NotDelivered> {
        self.claim_key(&plan.org_id, &plan.event_id, key, owner, deadline_ms)
            .await
    }

    async fn claim_key(
        &self,
        org_id: &str,
        event_id: &str,
        key: &str,
        owner: &str,
        deadline_ms: u64,
    ) -> Result<Claim, NotDelivered> {
        let now = self.clock.now_ms();
        let until = if deadline_ms > 0 {
            deadline_ms
        } else {
            now + self.claim_without_deadline.as_millis() as u64
        };
        match self.idempotency.begin(key, owner, until, now).await {
            Ok(claim) => Ok(claim),
            Err(e) => {
                tracing::error!(org_id, event_id, error = %e, "could not claim the event; releasing whatever claim was made");
                self.release(org_id, event_id, key, owner).await;
                Err(NotDelivered::Failed(e.or_org(org_id)))
            }
        }
    }

    /// Releases `owner`'s claim; if that fails too, the claim expires at the deadline and a
    /// retry after it succeeds.
    async fn release(&self, org_id: &str, event_id: &str, key: &str, owner: &str) {
        if let Err(e) = self.idempotency.release(key, owner).await {
            tracing::error!(org_id, event_id, error = %e, "could not release the idempotency record");
        }
    }

    /// Claims `event_id` of `org_id` for an effect made at once (a user's write), with the
    /// same semantics as a queued event's claim, for `owner` (the invocation's
    /// [`idempotency::owner`], made once and passed to [`Delivery::finish`] after the effect).
    pub async fn claim_event(
        &self,
        org_id: &str,
        event_id: &str,
        owner: &str,
        deadline_ms: u64,
    ) -> Result<Claim, NotDelivered> {
        let key = idempotency::key(org_id, event_id);
        self.claim_key(org_id, event_id, &key, owner, deadline_ms)
            .await
    }

    /// Marks a claimed event COMPLETED when its effect was made, or releases `owner`'s
    /// claim so that a retry can run (a failure of either is logged: the claim then expires
    /// at the deadline).
    pub async fn finish(&self, org_id: &str, event_id: &str, owner: &str, done: bool) {
        let key = idempotency::key(org_id, event_id);
        if done {
            if let Err(e) = self.idempotency.complete(&key, self.clock.now_ms()).await {
                tracing::error!(org_id, event_id, done, error = %e, "could not update the idempotency record");
            }
        } else {
            self.release(org_id, event_id, &key, owner).await;
        }
        bump(&self.stats.events, 1);
    }

    /// Counts a duplicate that was dropped.
    pub fn duplicate(&self) {
        bump(&self.stats.duplicates, 1);
    }

    /// Queues the jobs of a claimed event, then marks it COMPLETED; if queueing fails, the
    /// claim is released so that the sender's retry can succeed.
    async fn queue_claimed(&self, plan: &Plan, key: &str, owner: &str) -> Result<(), NotDelivered> {
        if let Err(e) = self.queue.send(&plan.jobs).await {
            let e = e.or_org(&plan.org_id);
            tracing::error!(org_id = %plan.org_id, event_id = %plan.event_id, error = %e, "jobs not queued; releasing the event for a retry");
            self.release(&plan.org_id, &plan.event_id, key, owner).await;
            return Err(NotDelivered::Failed(e));
        }
        if let Err(e) = self.idempotency.complete(key, self.clock.now_ms()).await {
            // The jobs are queued: answering an error would make the sender retry and
            // queue them again once the claim expires. Report success and log it.
            tracing::error!(org_id = %plan.org_id, event_id = %plan.event_id, error = %e,
                "jobs queued but the idempotency record could not be marked COMPLETED; a redelivery after the deadline would queue them again");
        }
        bump(&self.stats.jobs, plan.jobs.len() as u64);
        tracing::info!(org_id = %plan.org_id, event_id = %plan.event_id, topic = %plan.routed.what,
            jobs = plan.jobs.len(), kinds = ?plan.jobs.iter().map(|j| j.job.kind()).collect::<Vec<_>>(), "event accepted, jobs queued");
        Ok(())
    }
}
