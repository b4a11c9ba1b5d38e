//! What became of one `ticket.wrapup` job: the worker's answer to `bridge::batch`, which
//! logs one line per message and reports the failures to SQS.
//!
//! Business outcomes (unmapped code, no ticket id, closed ticket) are handled, not failed;
//! only errors that a later try or an operator's fix can cure go back to SQS (and from
//! there to the DLQ).

use bridge::batch::{self, Message};
use bridge::{BridgeError, ErrorKind, Result};

use crate::apply::Applied;

/// What became of one SQS message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Updated {
        ticket_id: u64,
        status: String,
        previous_status: String,
    },
    /// Already at the status: no update sent.
    Unchanged { ticket_id: u64, status: String },
    /// Closed ticket, org rule `followUp`.
    FollowUp {
        ticket_id: u64,
        follow_up_ticket_id: u64,
    },
    /// Closed ticket, org rule `report`: permanent, handled.
    Closed { ticket_id: u64, error: BridgeError },
    /// The wrap-up code maps to no status (or there is none and no default): left alone.
    Unmapped { wrapup_code: Option<String> },
    /// No usable ticket id in the job or on the conversation: handled, with the reason.
    NoTicket { reason: String },
    /// Another job of the batch for the same ticket had a later event and won.
    Superseded { ticket_id: u64, by_job_id: String },
    /// Reported to SQS as failed (redelivered; after maxReceiveCount, the DLQ).
    Failed(BridgeError),
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Updated { .. } => "updated",
            Outcome::Unchanged { .. } => "unchanged",
            Outcome::FollowUp { .. } => "follow_up",
            Outcome::Closed { .. } => "closed",
            Outcome::Unmapped { .. } => "unmapped",
            Outcome::NoTicket { .. } => "no_ticket",
            Outcome::Superseded { .. } => "superseded",
            Outcome::Failed(_) => "failed",
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }

    /// What the update of `ticket_id` to `status` came to for the winning job.
    pub fn of_update(ticket_id: u64, status: &str, result: Result<Applied>) -> Outcome {
        match result {
            Ok(Applied::Updated { previous }) => Outcome::Updated {
                ticket_id,
                status: status.to_string(),
                previous_status: previous,
            },
            Ok(Applied::Unchanged) => Outcome::Unchanged {
                ticket_id,
                status: status.to_string(),
            },
            Ok(Applied::FollowUp { follow_up_id }) => Outcome::FollowUp {
                ticket_id,
                follow_up_ticket_id: follow_up_id,
            },
            Err(e) if e.kind == ErrorKind::ClosedTicket => Outcome::Closed {
                ticket_id,
                error: e,
            },
            Err(e) => Outcome::Failed(e),
        }
    }

    /// What a job superseded by the winner `by_job_id` (whose outcome is `self`) comes to:
    /// a retryable failure fails it too, so that all the jobs go back to SQS and meet again
    /// (none is lost); any other outcome of the winner stands for it.
    pub fn for_superseded(&self, ticket_id: u64, by_job_id: &str) -> Outcome {
        match self {
            Outcome::Failed(e) if e.retryable() => Outcome::Failed(e.clone()),
            _ => Outcome::Superseded {
                ticket_id,
                by_job_id: by_job_id.to_string(),
            },
        }
    }
}

impl From<BridgeError> for Outcome {
    fn from(e: BridgeError) -> Self {
        Outcome::Failed(e)
    }
}

impl batch::Outcome for Outcome {
    fn name(&self) -> &'static str {
        Outcome::name(self)
    }

    fn failure(&self) -> Option<&BridgeError> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    fn log(&self, m: &Message) {
        let (message_id, job_id, org_id) = (&m.message_id, &m.job_id, &m.org_id);
        let outcome = self.name();
        match self {
            Outcome::Updated {
                ticket_id,
                status,
                previous_status,
            } => tracing::info!(
                %message_id, %job_id, %org_id, outcome, ticket_id, %status, %previous_status,
                "ticket.wrapup job done"),
            Outcome::Unchanged { ticket_id, status } => tracing::info!(
                %message_id, %job_id, %org_id, outcome, ticket_id, %status,
                "ticket.wrapup job done: ticket already had the status"),
            Outcome::FollowUp {
                ticket_id,
                follow_up_ticket_id,
            } => tracing::info!(
                %message_id, %job_id, %org_id, outcome, ticket_id, follow_up_ticket_id,
                "ticket.wrapup job done: closed ticket, follow-up created"),
            Outcome::Closed { ticket_id, error } => tracing::warn!(
                %message_id, %job_id, %org_id, outcome, ticket_id, error_type = %error.error_type(),
                %error, "ticket.wrapup job handled: closed tickets cannot change; create a follow-up"),
            // The code is the sender's text: quoted as a preview.
            Outcome::Unmapped { wrapup_code } => tracing::info!(
                %message_id, %job_id, %org_id, outcome,
                wrapup_code = %bridge::input::preview(wrapup_code.as_deref().unwrap_or(""), bridge::input::PREVIEW_CHARS),
                "ticket.wrapup job handled: wrap-up code maps to no status, ticket left alone"),
            Outcome::NoTicket { reason } => tracing::warn!(
                %message_id, %job_id, %org_id, outcome, %reason,
                "ticket.wrapup job handled: no ticket to update"),
            Outcome::Superseded {
                ticket_id,
                by_job_id,
            } => tracing::info!(
                %message_id, %job_id, %org_id, outcome, ticket_id, %by_job_id,
                "ticket.wrapup job handled: a later wrap-up for the same ticket in this batch won"),
            Outcome::Failed(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge::Upstream;

    #[test]
    fn superseded_jobs_follow_a_retryable_failure_of_the_winner_only() {
        let throttled = BridgeError::upstream(Upstream::Zendesk, ErrorKind::RateLimited, "429");
        let forbidden = BridgeError::upstream(Upstream::Zendesk, ErrorKind::Forbidden, "403");
        let rows = [
            (
                Outcome::Failed(throttled.clone()),
                Outcome::Failed(throttled),
            ),
            (
                Outcome::Failed(forbidden),
                Outcome::Superseded {
                    ticket_id: 7,
                    by_job_id: "j2".into(),
                },
            ),
            (
                Outcome::Unchanged {
                    ticket_id: 7,
                    status: "solved".into(),
                },
                Outcome::Superseded {
                    ticket_id: 7,
                    by_job_id: "j2".into(),
                },
            ),
        ];
        for (winner, want) in rows {
            assert_eq!(winner.for_superseded(7, "j2"), want, "{winner:?}");
        }
    }

    #[test]
    fn a_closed_ticket_is_handled_not_failed() {
        let closed = BridgeError::upstream(Upstream::Zendesk, ErrorKind::ClosedTicket, "closed");
        let o = Outcome::of_update(5, "solved", Err(closed));
        assert_eq!(o.name(), "closed");
        assert!(!o.is_failed());
        let o = Outcome::of_update(
            5,
            "solved",
            Ok(Applied::Updated {
                previous: "open".into(),
            }),
        );
        assert_eq!(
            o,
            Outcome::Updated {
                ticket_id: 5,
                status: "solved".into(),
                previous_status: "open".into()
            }
        );
    }
}
