//! The user route, `POST /orgs/{orgId}/user/events`: an agent's own Genesys token writes
//! participant attributes, synchronously, with that token.
//!
//! Synchronous on purpose: the write must be made with the user's token (so Genesys applies
//! the user's permissions and divisions), and that token is never stored or queued; the
//! caller (an agent-desktop app) gets Genesys' answer at once. Idempotency still applies:
//! the request's event id (namespaced by user) is claimed right before the conversation
//! read and the write, marked COMPLETED after the write, and released on any refusal.

use bridge::idempotency::{self, Claim, RecordStatus};
use bridge::{Deadline, Runtime};

use crate::apply::{self, Delivery, NotDelivered};
use crate::auth::Auth;
use crate::input::HttpRequest;
use crate::plan::user::{self as rules, Refusal, UserWrite};
use crate::response::Reject;

/// A user's write, made (or dropped as a duplicate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWritten {
    pub event_id: String,
    pub duplicate: bool,
    /// Attributes sent (0 for a duplicate).
    pub written: usize,
    /// `ININ-Correlation-Id` of the PATCH.
    pub correlation_id: Option<String>,
}

/// Authenticates the user, checks the request, then reads the conversation and writes with
/// the user's token, once per event id, within the invocation's deadline.
pub async fn serve(
    rt: &Runtime,
    auth: &Auth,
    delivery: &Delivery,
    req: &HttpRequest,
    now_ms: u64,
    ctx: &lambda_runtime::Context,
) -> Result<UserWritten, Reject> {
    let deadline = rt.deadline(ctx);
    let user = auth.authenticate_user(rt, req, now_ms, deadline).await?;
    let w = rules::request(&user.org, req, &user.user_id, now_ms).map_err(|r| {
        let (status, e) = match r {
            Refusal::BadRequest(e) => (400, e),
            Refusal::Forbidden(e) => (403, e),
        };
        tracing::info!(org_id = %user.org.org_id, user_id = %user.user_id, status, field = e.field.as_deref(), error = %e, "user request refused");
        if status == 403 {
            Reject::Forbidden(e)
        } else {
            Reject::BadRequest(e)
        }
    })?;
    let (org_id, event_id) = (w.org_id.as_str(), w.event_id.as_str());
    // One owner for the claim and its release (a context without a request id gets a
    // fresh one from each call of `owner`).
    let owner = idempotency::owner(&ctx.request_id);
    match delivery
        .claim_event(org_id, event_id, &owner, ctx.deadline)
        .await?
    {
        Claim::Duplicate(RecordStatus::Completed) => {
            delivery.duplicate();
            tracing::info!(org_id, event_id, user_id = %w.user_id, "duplicate user write dropped");
            return Ok(UserWritten {
                event_id: w.event_id.clone(),
                duplicate: true,
                written: 0,
                correlation_id: None,
            });
        }
        Claim::Duplicate(RecordStatus::InProgress) => {
            return Err(NotDelivered::InProgress {
                event_id: w.event_id.clone(),
            }
            .into())
        }
        Claim::Acquired => {}
    }
    let result = write(rt, &user, &w, deadline).await;
    delivery
        .finish(org_id, event_id, &owner, result.is_ok())
        .await;
    result
}

/// The participant check and the write, both with the user's token.
async fn write(
    rt: &Runtime,
    user: &crate::auth::UserRequest,
    w: &UserWrite,
    deadline: Deadline,
) -> Result<UserWritten, Reject> {
    let refused = |e: bridge::BridgeError| {
        tracing::info!(org_id = %w.org_id, user_id = %w.user_id, conversation_id = %w.conversation_id,
            error_type = %e.error_type(), status = e.status.unwrap_or(0),
            correlation_id = e.correlation_id.as_deref().unwrap_or(""), error = %e, "user write refused");
        e
    };
    let conversation =
        apply::conversation_as_user(rt, &user.org, &user.token, &w.conversation_id, deadline)
            .await
            .map_err(|e| Reject::Upstream(refused(e)))?;
    rules::check_participant(&conversation, w).map_err(|e| Reject::Forbidden(refused(e)))?;
    let written = apply::write_as_user(rt, &user.org, &user.token, w, deadline)
        .await
        .map_err(|e| Reject::Upstream(refused(e)))?;
    tracing::info!(org_id = %w.org_id, user_id = %w.user_id, conversation_id = %w.conversation_id,
        participant_id = %w.participant_id, keys = w.attributes.len(), status = written.status,
        correlation_id = written.correlation_id.as_deref().unwrap_or(""), "participant attributes written with the user's token");
    Ok(UserWritten {
        event_id: w.event_id.clone(),
        duplicate: false,
        written: w.attributes.len(),
        correlation_id: written.correlation_id,
    })
}
