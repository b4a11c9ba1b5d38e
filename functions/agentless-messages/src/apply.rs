//! The I/O of both paths: the org's config, the conversation's customer, and the one
//! at-most-once send ([`send_once`]: look at the claim, claim, send, record), plus the
//! worker's own dead-lettering of a message that may have been sent.
//!
//! The claim is taken in the idempotency store right before the POST and lasts until the
//! invocation's deadline; the outcome is recorded right after. A claim found still
//! `INPROGRESS` after its deadline means the invocation that held it stopped between the
//! claim and the record, so the message may have gone out: it is treated like an ambiguous
//! send, never sent again. (The store's own rule would let a new claim take the expired one
//! over, which is right for queueing jobs but not for texting a customer; so the record is
//! read before the claim.)

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bridge::config::OrgConfig;
use bridge::genesys::AgentlessRequest;
use bridge::idempotency::{Claim, IdempotencyStore};
use bridge::jobs::JobEnvelope;
use bridge::queue::{
    DeadLetters, CONVERSATION_ATTRIBUTE, ERROR_TYPE_ATTRIBUTE, MAY_HAVE_BEEN_SENT,
    OUTCOME_ATTRIBUTE, REASON_ATTRIBUTE,
};
use bridge::{BridgeError, Deadline, Result, Runtime};

use crate::plan::{
    after_send, before_send, customer_of, earlier_may_have_been_sent, in_progress_error, AfterSend,
    BeforeSend, Customer, Recorded,
};

/// What the function lends its handler: the shared runtime, the store messages are claimed
/// in, and the DLQ it puts ambiguous messages into. Built once at cold start.
pub struct Messenger {
    pub rt: Arc<Runtime>,
    pub claims: Arc<dyn IdempotencyStore>,
    pub dead_letters: Arc<dyn DeadLetters>,
}

impl Messenger {
    pub fn new(
        rt: Arc<Runtime>,
        claims: Arc<dyn IdempotencyStore>,
        dead_letters: Arc<dyn DeadLetters>,
    ) -> Messenger {
        Messenger {
            rt,
            claims,
            dead_letters,
        }
    }

    /// The config of `org_id` (cached across warm invocations).
    pub async fn org(&self, org_id: &str) -> Result<Arc<OrgConfig>> {
        self.rt.orgs.get(org_id).await.map_err(|e| e.or_org(org_id))
    }

    /// The customer of `conversation_id` (`GET /api/v2/conversations/{id}`).
    pub async fn customer(
        &self,
        org: &OrgConfig,
        conversation_id: &str,
        deadline: Deadline,
    ) -> Result<Customer> {
        let conv = self
            .rt
            .genesys
            .org(org, deadline)
            .conversation(conversation_id)
            .await
            .map_err(|mut e| {
                e.operation = Some("read the conversation to find its customer".into());
                e
            })?;
        Ok(customer_of(&conv))
    }
}

/// Epoch milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// What one at-most-once send came to (a refusal is an `Err`).
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Genesys took it, now or (`duplicate`) in an earlier call with the same key.
    Sent {
        message_id: Option<String>,
        conversation_id: Option<String>,
        correlation_id: Option<String>,
        duplicate: bool,
    },
    /// It may have been sent, now or earlier; recorded as such, never sent again by itself.
    /// `dead_lettered` when its job is already in the DLQ.
    MayHaveBeenSent {
        error: BridgeError,
        dead_lettered: bool,
    },
}

/// Sends `req` for `org` at most once under `key`: the claim's record decides first
/// ([`before_send`]), then the send's result ([`after_send`]). `Err` means it was not sent
/// (the claim is released, or another invocation holds it); the error says whether a retry
/// can help. `owner` is the invocation's claim owner (`bridge::idempotency::owner`),
/// `claim_until_ms` its deadline (epoch ms).
pub async fn send_once(
    m: &Messenger,
    org: Arc<OrgConfig>,
    key: &str,
    owner: &str,
    req: &AgentlessRequest,
    claim_until_ms: u64,
    deadline: Deadline,
) -> Result<Delivery> {
    let org_id = org.org_id.clone();
    match claim(m, key, owner, claim_until_ms, &org_id).await? {
        BeforeSend::Claim => {}
        found => return earlier(found, &org_id),
    }
    let rt = &m.rt;
    let (_, result) = rt
        .with_rotation(org, |org| async move {
            rt.genesys
                .org(&org, deadline)
                .send_agentless_message(req)
                .await
        })
        .await;
    match after_send(result.map_err(|e| e.or_org(&org_id))) {
        AfterSend::Sent(sent) => {
            let recorded = Recorded::Sent {
                message_id: sent.message_id.clone(),
                conversation_id: sent.conversation_id.clone(),
            };
            record(m, key, &recorded, &org_id).await;
            tracing::info!(org_id = %org_id, messenger_type = %req.to_address_messenger_type,
                message_id = sent.message_id.as_deref().unwrap_or(""),
                conversation_id = sent.conversation_id.as_deref().unwrap_or(""),
                correlation_id = sent.correlation_id.as_deref().unwrap_or(""),
                status = sent.status, "agentless message sent");
            Ok(Delivery::Sent {
                message_id: sent.message_id,
                conversation_id: sent.conversation_id,
                correlation_id: sent.correlation_id,
                duplicate: false,
            })
        }
        AfterSend::NotSent(e) => {
            // Genesys did not act: a retry may send it.
            if let Err(re) = m.claims.release(key, owner).await {
                tracing::error!(org_id = %org_id, error = %re,
                    "could not release the claim of a message that was not sent; a retry will treat it as possibly sent");
            }
            Err(e)
        }
        AfterSend::MayHaveBeenSent(e) => {
            let recorded = Recorded::MayHaveBeenSent {
                error_type: e.error_type(),
                correlation_id: e.correlation_id.clone(),
                dead_lettered: false,
            };
            record(m, key, &recorded, &org_id).await;
            tracing::error!(org_id = %org_id, error_type = %e.error_type(),
                correlation_id = e.correlation_id.as_deref().unwrap_or(""), error = %e,
                "agentless message may have been sent; it is not sent again");
            Ok(Delivery::MayHaveBeenSent {
                error: e,
                dead_lettered: false,
            })
        }
    }
}

/// Reads the claim's record and, when nobody has it, takes it. Answers what
/// [`before_send`] says about the record found ([`BeforeSend::Claim`]: it is ours now).
async fn claim(
    m: &Messenger,
    key: &str,
    owner: &str,
    until_ms: u64,
    org_id: &str,
) -> Result<BeforeSend> {
    let now = now_ms();
    let found = m.claims.record(key).await.map_err(|e| e.or_org(org_id))?;
    let decision = before_send(found.as_ref(), now);
    if decision != BeforeSend::Claim {
        return Ok(decision);
    }
    match m
        .claims
        .begin(key, owner, until_ms.max(now + 1), now)
        .await
        .map_err(|e| e.or_org(org_id))?
    {
        Claim::Acquired => Ok(BeforeSend::Claim),
        // Someone claimed it between the read and the put.
        Claim::Duplicate(_) => {
            let found = m.claims.record(key).await.map_err(|e| e.or_org(org_id))?;
            Ok(match before_send(found.as_ref(), now_ms()) {
                BeforeSend::Claim => BeforeSend::InProgress,
                other => other,
            })
        }
    }
}

/// What an existing claim answers instead of a send.
fn earlier(found: BeforeSend, org_id: &str) -> Result<Delivery> {
    match found {
        BeforeSend::AlreadySent {
            message_id,
            conversation_id,
        } => Ok(Delivery::Sent {
            message_id,
            conversation_id,
            correlation_id: None,
            duplicate: true,
        }),
        BeforeSend::MayHaveBeenSent { dead_lettered } => Ok(Delivery::MayHaveBeenSent {
            error: earlier_may_have_been_sent(org_id),
            dead_lettered,
        }),
        BeforeSend::InProgress | BeforeSend::Claim => Err(in_progress_error(org_id)),
    }
}

/// Records the outcome in the claim. If that fails the claim stays `INPROGRESS` until its
/// deadline, after which it reads as "may have been sent": never as "not sent".
async fn record(m: &Messenger, key: &str, recorded: &Recorded, org_id: &str) {
    if let Err(e) = m
        .claims
        .complete_with(key, now_ms(), &recorded.to_json())
        .await
    {
        tracing::error!(org_id = %org_id, error = %e,
            "could not record the outcome of a message; a redelivery will treat it as possibly sent");
    }
}

/// Puts `job` into the function's DLQ marked "may have been sent", with the reason and the
/// conversation (when known), then records that in the claim so a redelivery does not put
/// it there again.
pub async fn dead_letter(
    m: &Messenger,
    job: &JobEnvelope,
    key: &str,
    error: &BridgeError,
    conversation_id: Option<&str>,
) -> Result<()> {
    let reason = bridge::input::preview(&error.to_string(), 240);
    let attributes = [
        (OUTCOME_ATTRIBUTE, MAY_HAVE_BEEN_SENT.to_string()),
        (REASON_ATTRIBUTE, reason),
        (ERROR_TYPE_ATTRIBUTE, error.error_type()),
        (
            CONVERSATION_ATTRIBUTE,
            conversation_id.unwrap_or_default().to_string(),
        ),
    ];
    m.dead_letters
        .put(job, &attributes)
        .await
        .map_err(|e| e.or_org(&job.org_id))?;
    let recorded = Recorded::MayHaveBeenSent {
        error_type: error.error_type(),
        correlation_id: error.correlation_id.clone(),
        dead_lettered: true,
    };
    record(m, key, &recorded, &job.org_id).await;
    Ok(())
}
