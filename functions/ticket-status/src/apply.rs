//! The I/O of both paths, through the shared clients: moving one Zendesk ticket to a
//! status safely (read, compare, safe-update, re-read on conflict; a closed ticket ends in
//! a clear error or a follow-up ticket, per org rule), and the conversation reads of a
//! batch, each made once.
//!
//! The data action and the wrap-up worker both end in [`update_ticket`], so they behave the
//! same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bridge::config::{ClosedTicketPolicy, OrgConfig};
use bridge::genesys::Conversation;
use bridge::zendesk::{Comment, TicketUpdate, ZendeskAccount, CLOSED_TICKET_HINT};
use bridge::{BridgeError, Deadline, ErrorKind, Result, Runtime, Upstream};
use tokio::sync::OnceCell;

use crate::plan::Change;

/// Safe-update attempts per ticket (the first included). Each try is one read and one PUT,
/// and every PUT counts against Zendesk's 30 updates per ticket per 10 minutes, so this
/// stays small; a ticket still contended after this is retried later (SQS) or reported.
pub const MAX_SAFE_UPDATE_TRIES: u32 = 3;

/// What happened to the ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The status was changed from `previous`.
    Updated { previous: String },
    /// The ticket already had the status: nothing was sent (Zendesk's per-ticket update
    /// budget is small).
    Unchanged,
    /// The ticket is closed and the org's rule is `followUp`: this ticket was created.
    FollowUp { follow_up_id: u64 },
}

/// Applies `change` for the org, safely. After a Zendesk 401 the org config is re-read
/// once (the credential may have been rotated in the secret since it was cached); if it
/// holds a new credential, the change is tried once more with it.
pub async fn update_ticket(
    rt: &Runtime,
    cfg: Arc<OrgConfig>,
    deadline: Deadline,
    change: &Change,
) -> Result<Applied> {
    let (_, result) = rt
        .with_rotation(cfg, |cfg| async move {
            apply_with(rt, &cfg, deadline, change).await
        })
        .await;
    result.map_err(|e| in_context(e, change))
}

/// Says which ticket and target status the error is about (once).
fn in_context(mut e: BridgeError, change: &Change) -> BridgeError {
    let tag = format!(
        "ticket {} (target status \"{}\")",
        change.ticket_id, change.status
    );
    if !e.message.starts_with(&tag) {
        e.message = format!("{tag}: {}", e.message);
    }
    e
}

async fn apply_with(
    rt: &Runtime,
    cfg: &OrgConfig,
    deadline: Deadline,
    change: &Change,
) -> Result<Applied> {
    let zd = rt.zendesk.account(cfg, deadline)?;
    let id = change.ticket_id;
    let mut tries = 0;
    loop {
        tries += 1;
        let ticket = zd.ticket(id).await?;
        if ticket.status == change.status {
            tracing::info!(org_id = %cfg.org_id, ticket_id = id, status = %change.status, tries,
                "ticket already has the status: no update sent");
            return Ok(Applied::Unchanged);
        }
        if ticket.status == "closed" {
            return closed(&zd, cfg, change, None).await;
        }
        let Some(stamp) = ticket.updated_at.clone() else {
            return Err(BridgeError::upstream(
                Upstream::Zendesk,
                ErrorKind::UnexpectedResponse,
                "Zendesk returned the ticket without `updated_at`, so a safe update is impossible; nothing was changed",
            )
            .with_org(cfg.org_id.clone())
            .with_operation("read the Zendesk ticket"));
        };
        let update = TicketUpdate {
            status: Some(change.status.clone()),
            comment: change.comment.clone(),
            safe_update_stamp: Some(stamp),
        };
        match zd.update_ticket(id, &update).await {
            Ok(_) => {
                tracing::info!(org_id = %cfg.org_id, ticket_id = id, status = %change.status,
                    previous_status = %ticket.status, tries, "ticket status updated");
                return Ok(Applied::Updated {
                    previous: ticket.status,
                });
            }
            Err(e) if e.kind == ErrorKind::Conflict && tries < MAX_SAFE_UPDATE_TRIES => {
                tracing::info!(org_id = %cfg.org_id, ticket_id = id, attempt = tries,
                    correlation_id = e.correlation_id.as_deref().unwrap_or(""),
                    "safe update conflict (the ticket changed since it was read): reading it again");
            }
            Err(mut e) if e.kind == ErrorKind::Conflict => {
                e.message = format!(
                    "{} (gave up after {tries} safe-update tries: the ticket keeps changing)",
                    e.message
                );
                return Err(e);
            }
            // Closed between our read and our write.
            Err(e) if e.kind == ErrorKind::ClosedTicket => {
                return closed(&zd, cfg, change, Some(e)).await
            }
            Err(e) => return Err(e),
        }
    }
}

/// A closed ticket cannot change: report it, or create the follow-up the org asked for.
async fn closed(
    zd: &ZendeskAccount<'_>,
    cfg: &OrgConfig,
    change: &Change,
    from_zendesk: Option<BridgeError>,
) -> Result<Applied> {
    let id = change.ticket_id;
    match cfg.rules.closed_ticket {
        ClosedTicketPolicy::Report => Err(from_zendesk.unwrap_or_else(|| closed_error(cfg, id))),
        ClosedTicketPolicy::FollowUp => {
            let intro = format!(
                "Follow-up to closed ticket #{id}: a change to status \"{}\" was requested, and closed tickets cannot change.",
                change.status
            );
            let comment = Comment {
                body: match &change.comment {
                    Some(c) => format!("{intro}\n\n{}", c.body),
                    None => intro,
                },
                public: change.comment.as_ref().is_some_and(|c| c.public),
            };
            let subject = format!("Follow-up to #{id}");
            let key = change.request_key.as_deref();
            let t = zd.create_followup(id, &subject, &comment, key).await?;
            tracing::info!(org_id = %cfg.org_id, ticket_id = id, follow_up_ticket_id = t.id,
                "ticket is closed: created a follow-up ticket (rules.closedTicket = followUp)");
            Ok(Applied::FollowUp { follow_up_id: t.id })
        }
    }
}

/// The same outcome as Zendesk's 422, for a ticket we saw closed before sending anything.
pub fn closed_error(cfg: &OrgConfig, id: u64) -> BridgeError {
    let host = cfg
        .zendesk
        .as_ref()
        .map(|z| format!("{}.zendesk.com", z.subdomain))
        .unwrap_or_else(|| "Zendesk".into());
    BridgeError::upstream(
        Upstream::Zendesk,
        ErrorKind::ClosedTicket,
        format!("ticket {id} in {host} is closed (seen when reading it, so no update was sent)"),
    )
    .with_code("closed")
    .with_org(cfg.org_id.clone())
    .with_operation("update the Zendesk ticket")
    .with_field("ticketId")
    .with_hint(CLOSED_TICKET_HINT)
}

/// The conversation reads of one batch: each (org, conversation) is read once however many
/// jobs need it, and jobs prepared at the same time wait for the one read.
#[derive(Default)]
pub struct ConversationReads {
    reads: Mutex<HashMap<(String, String), Arc<Read>>>,
}

/// One conversation's read: made by the first job that asks, awaited by the others.
type Read = OnceCell<Result<Arc<Conversation>>>;

impl ConversationReads {
    /// The conversation, read (with a re-read of rotated credentials) on first ask.
    pub async fn get(
        &self,
        rt: &Runtime,
        cfg: &Arc<OrgConfig>,
        conversation_id: &str,
        deadline: Deadline,
    ) -> Result<Arc<Conversation>> {
        let cell = self
            .reads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry((cfg.org_id.clone(), conversation_id.to_string()))
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let (_, read) = rt
                .with_rotation(cfg.clone(), |cfg| async move {
                    rt.genesys
                        .org(&cfg, deadline)
                        .conversation(conversation_id)
                        .await
                })
                .await;
            read.map(Arc::new)
        })
        .await
        .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(token: &str) -> OrgConfig {
        OrgConfig::from_json(
            &serde_json::json!({
                "orgId": "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11",
                "genesys": {"region": "mypurecloud.ie", "clientId": "c", "clientSecret": "s"},
                "zendesk": {"subdomain": "acme", "auth": {"type": "apiToken", "email": "bridge@acme.example", "apiToken": token}},
                "webhook": {"sharedSecret": "0123456789abcdef0123456789abcdef"}
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn closed_error_is_the_stable_type_with_the_fix() {
        let e = closed_error(&cfg("a"), 1004);
        assert_eq!(e.error_type(), "Zendesk.ClosedTicket");
        assert!(!e.retryable());
        let text = e.to_string();
        assert!(
            text.contains("closed tickets cannot change; create a follow-up"),
            "{text}"
        );
        assert!(text.contains("acme.zendesk.com"), "{text}");
    }

    #[test]
    fn context_is_added_once() {
        let c = Change {
            ticket_id: 5,
            status: "solved".into(),
            comment: None,
            request_key: None,
        };
        let e = in_context(in_context(BridgeError::internal("boom"), &c), &c);
        assert_eq!(e.message, "ticket 5 (target status \"solved\"): boom");
    }
}
