//! What became of one queued job: the worker's answer to `bridge::batch`, which logs one
//! line per message and reports the failures to SQS.

use bridge::batch::{self, Message};
use bridge::BridgeError;

/// What became of one SQS message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The job's attributes were written, in the one merged write of its participant.
    Written {
        conversation_id: String,
        participant_id: String,
        /// Keys of the merged write.
        keys: usize,
        /// Jobs of the batch merged into it.
        jobs: usize,
    },
    /// The external contact's fields were patched.
    ContactPatched { contact_id: String, changes: usize },
    /// Nothing to write, by design (enrichment disabled, no single Zendesk match).
    Nothing { reason: String },
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
            Outcome::Written { .. } => "written",
            Outcome::ContactPatched { .. } => "contact_patched",
            Outcome::Nothing { .. } => "nothing_to_write",
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
            Outcome::Written {
                conversation_id,
                participant_id,
                keys,
                jobs,
            } => tracing::info!(%message_id, %job_id, %org_id, outcome, %conversation_id,
                %participant_id, keys, jobs, "job done: participant attributes written"),
            Outcome::ContactPatched {
                contact_id,
                changes,
            } => tracing::info!(%message_id, %job_id, %org_id, outcome, %contact_id, changes,
                "job done: external contact fields patched"),
            Outcome::Nothing { reason } => tracing::info!(%message_id, %job_id, %org_id,
                outcome, %reason, "job done: nothing to write"),
            Outcome::Failed(_) => {}
        }
    }
}
