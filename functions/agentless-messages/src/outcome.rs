//! What became of one `message.agentless` job: the worker's answer to `bridge::batch`, which
//! logs one line per message and reports the failures to SQS.
//!
//! A message that may have been sent is handled, not failed: the worker put it into its DLQ
//! itself, marked as such, so that SQS does not deliver it again and nothing sends it twice.

use bridge::batch::{self, Message};
use bridge::{BridgeError, ErrorKind};

use crate::action::ActionOutput;

/// What became of one SQS message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Genesys took the message.
    Sent {
        message_id: Option<String>,
        conversation_id: Option<String>,
        messenger_type: String,
    },
    /// Sent before under the same key (a redelivery, the ACW and the wrap-up event of one
    /// conversation, a repeat in the batch): nothing was sent now.
    Duplicate { key: String },
    /// The send reached Genesys and may have taken effect; the job is in the DLQ marked
    /// "may have been sent" (`bridge dlq replay` refuses it unless `--resend-ambiguous`).
    MayHaveBeenSent {
        error_type: String,
        conversation_id: Option<String>,
    },
    /// Reported to SQS as failed (redelivered; after maxReceiveCount, the DLQ).
    Failed(BridgeError),
}

impl From<BridgeError> for Outcome {
    fn from(e: BridgeError) -> Self {
        Outcome::Failed(e)
    }
}

impl batch::Outcome for Outcome {
    fn name(&self) -> &'static str {
        match self {
            Outcome::Sent { .. } => "sent",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::MayHaveBeenSent { .. } => "may_have_been_sent",
            Outcome::Failed(_) => "failed",
        }
    }

    fn failure(&self) -> Option<&BridgeError> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    fn log(&self, m: &Message) {
        let (message_id, job_id, org_id) = (&m.message_id, &m.job_id, &m.org_id);
        let outcome = batch::Outcome::name(self);
        match self {
            Outcome::Sent {
                message_id: sent_id,
                conversation_id,
                messenger_type,
            } => tracing::info!(%message_id, %job_id, %org_id, outcome, %messenger_type,
                sent_message_id = sent_id.as_deref().unwrap_or(""),
                conversation_id = conversation_id.as_deref().unwrap_or(""),
                "job done: agentless message sent"),
            Outcome::Duplicate { key } => tracing::info!(%message_id, %job_id, %org_id, outcome,
                claim = %key, "job done: this message was sent before; not sent again"),
            Outcome::MayHaveBeenSent {
                error_type,
                conversation_id,
            } => tracing::warn!(%message_id, %job_id, %org_id, outcome, %error_type,
                conversation_id = conversation_id.as_deref().unwrap_or(""),
                "job done: the message may have been sent; it is in the DLQ marked so and is not sent again"),
            Outcome::Failed(_) => {}
        }
    }
}

/// The metrics outcome of a data action, named as a job's would be: `sent`, `duplicate`
/// (sent before under the key), `may_have_been_sent` (the Lambda error
/// `Genesys.MayHaveBeenSent`), or `failed` (refused before or by Genesys: nothing sent).
pub fn of_action(out: &bridge::Result<ActionOutput>) -> &'static str {
    match out {
        Ok(o) if o.duplicate => "duplicate",
        Ok(_) => "sent",
        Err(e) if e.kind == ErrorKind::MayHaveBeenSent => "may_have_been_sent",
        Err(_) => bridge::metrics::catalogue::FAILED,
    }
}

impl Outcome {
    /// What a repeat of the unit's job (same claim key, later in the batch) comes to, when
    /// the unit's own outcome is `self`: a retryable failure fails it too, so that SQS
    /// delivers it again and none is lost; otherwise the first one stands for it.
    pub fn for_repeat(&self, key: &str) -> Outcome {
        match self {
            Outcome::Failed(e) if e.retryable() => Outcome::Failed(e.clone()),
            _ => Outcome::Duplicate {
                key: key.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge::batch::Outcome as _;
    use bridge::Upstream;

    #[test]
    fn repeats_follow_the_first_only_into_a_retry() {
        let retry = Outcome::Failed(BridgeError::upstream(
            Upstream::Genesys,
            ErrorKind::RateLimited,
            "x",
        ));
        assert_eq!(retry.for_repeat("k").name(), "failed");
        let refused = Outcome::Failed(BridgeError::upstream(
            Upstream::Genesys,
            ErrorKind::MissingPermission,
            "x",
        ));
        assert_eq!(refused.for_repeat("k").name(), "duplicate");
        let maybe = Outcome::MayHaveBeenSent {
            error_type: "Genesys.MayHaveBeenSent".into(),
            conversation_id: None,
        };
        assert_eq!(
            maybe.for_repeat("k"),
            Outcome::Duplicate { key: "k".into() }
        );
        assert!(
            maybe.failure().is_none(),
            "handled: SQS must not deliver it again"
        );
    }
}
