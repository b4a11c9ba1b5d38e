//! The job messages that flow from webhook-ingest to the workers: versioned JSON.
//!
//! Every message is an [`JobEnvelope`]: `{"v": 1, "jobId", "orgId", "eventId", "createdAt",
//! "correlationId"?, "kind": "...", "payload": {...}}`. A consumer that meets a version it
//! does not know fails that one message with a clear error (it goes to the DLQ), never
//! guesses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{BridgeError, Result};
use crate::genesys::ContactChange;

/// The version this build writes and reads.
pub const JOB_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEnvelope {
    pub v: u32,
    /// Unique per job: `<eventId>:<n>` so replays of one event make the same ids.
    pub job_id: String,
    pub org_id: String,
    /// The event that produced the job (EventBridge id, Idempotency-Key, notification id).
    pub event_id: String,
    /// RFC 3339.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(flatten)]
    pub job: Job,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum Job {
    /// Set the given attributes on a participant (merge).
    #[serde(rename = "participant.attributes")]
    ParticipantAttributes(ParticipantAttributes),
    /// Field-level changes to an external contact.
    #[serde(rename = "contact.fields")]
    ContactFields(ContactFields),
    /// Look the caller up in Zendesk and write the org's enrichment attributes.
    #[serde(rename = "participant.enrich")]
    ParticipantEnrich(ParticipantEnrich),
    /// An agent wrapped up: move the Zendesk ticket to the mapped status.
    #[serde(rename = "ticket.wrapup")]
    TicketWrapup(TicketWrapup),
    /// Send an agentless outbound message (SMS, WhatsApp) to a customer, at most once.
    #[serde(rename = "message.agentless")]
    MessageAgentless(AgentlessMessageJob),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantAttributes {
    pub conversation_id: String,
    pub participant_id: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactFields {
    pub contact_id: String,
    pub changes: Vec<ContactChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantEnrich {
    pub conversation_id: String,
    pub participant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketWrapup {
    pub conversation_id: String,
    pub participant_id: String,
    /// As the event carries it (an id [U]); mapped through the org's rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapup_code: Option<String>,
    /// The agent's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_user_id: Option<String>,
    /// Epoch milliseconds of the wrap-up event; orders jobs for the same ticket.
    pub event_time_ms: i64,
    /// Set when the event or command already knows the ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<u64>,
}

/// A message to send: a template of the org's `messaging` config, or a sender with text;
/// the recipient given, or the customer of `conversationId`. Checked by the worker against
/// the org's config before anything is sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentlessMessageJob {
    /// A template name of `messaging.templates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// A sender name of `messaging.senders` (with `text`, instead of a template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The recipient; when absent, the customer's address in `conversationId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_address: Option<String>,
    /// The conversation the message is about (where a rule fired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Values for the template's `{{placeholders}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_existing_active_conversation: Option<bool>,
    /// What the at-most-once claim is keyed on; the job id when absent. A rule sets
    /// `rule:<template>:<conversationId>`, so that the ACW and the wrap-up event of one
    /// conversation (or two agents' wrap-ups) send one message, not two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// How often an operator deliberately sent this message again after an ambiguous
    /// outcome (`bridge dlq replay --resend-ambiguous`); each resend is a new claim.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resend: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Which worker consumes a job (one queue each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Consumer {
    AttributeWriter,
    TicketStatus,
    AgentlessMessages,
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::ParticipantAttributes(_) => "participant.attributes",
            Job::ContactFields(_) => "contact.fields",
            Job::ParticipantEnrich(_) => "participant.enrich",
            Job::TicketWrapup(_) => "ticket.wrapup",
            Job::MessageAgentless(_) => "message.agentless",
        }
    }

    pub fn consumer(&self) -> Consumer {
        match self {
            Job::TicketWrapup(_) => Consumer::TicketStatus,
            Job::MessageAgentless(_) => Consumer::AgentlessMessages,
            _ => Consumer::AttributeWriter,
        }
    }
}

impl JobEnvelope {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("job envelopes always serialize")
    }

    /// Parses a queued message; a wrong version or shape names what is wrong.
    pub fn from_json(text: &str) -> Result<JobEnvelope> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            BridgeError::validation("body", format!("expected a JSON job message: {e}"))
        })?;
        match v.get("v").and_then(|x| x.as_u64()) {
            Some(n) if n == JOB_VERSION as u64 => {}
            Some(n) => {
                return Err(BridgeError::validation(
                    "v",
                    format!("job message version {n} is not supported by this build (expects {JOB_VERSION}); deploy matching versions of ingest and workers, then replay the DLQ"),
                ))
            }
            None => return Err(BridgeError::validation("v", "expected the job message version number")),
        }
        // The kind is named (as a preview) when unknown: serde's own text would quote
        // whole values, so everything else is described by path and type only.
        match v.get("kind").and_then(|k| k.as_str()) {
            Some(k) if KINDS.contains(&k) => {}
            Some(k) => {
                return Err(BridgeError::validation(
                    "kind",
                    format!(
                        "expected one of {}; got {:?}",
                        KINDS.join(", "),
                        crate::input::preview(k, crate::input::PREVIEW_CHARS)
                    ),
                ))
            }
            None => {
                return Err(BridgeError::validation(
                    "kind",
                    format!("expected the job kind, one of {}", KINDS.join(", ")),
                ))
            }
        }
        if let Some(path) = crate::input::inexact_number(text) {
            return Err(BridgeError::validation(
                path,
                "a number that a parse would change; the producer must send it as a string",
            ));
        }
        crate::shape::from_value(&v).map_err(|e| {
            // `job` is flattened, and serde reads a flattened part from a buffer that
            // loses the path: read the kind and payload alone to name the field.
            let job = serde_json::json!({"kind": v.get("kind"), "payload": v.get("payload")});
            match crate::shape::from_value::<Job>(&job) {
                Err(inner) => inner.validation("", "body"),
                Ok(_) => e.validation("", "body"),
            }
        })
    }
}

/// Every job kind, as the wire names it.
pub const KINDS: [&str; 5] = [
    "participant.attributes",
    "contact.fields",
    "participant.enrich",
    "ticket.wrapup",
    "message.agentless",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_format_is_stable() {
        let job = JobEnvelope {
            v: 1,
            job_id: "evt-1:0".into(),
            org_id: "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11".into(),
            event_id: "evt-1".into(),
            created_at: "2026-11-21T10:00:00Z".into(),
            correlation_id: None,
            job: Job::TicketWrapup(TicketWrapup {
                conversation_id: "c".into(),
                participant_id: "p".into(),
                wrapup_code: Some("w".into()),
                agent_user_id: None,
                event_time_ms: 5,
                ticket_id: Some(42),
            }),
        };
        let v: serde_json::Value = serde_json::from_str(&job.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"v": 1, "jobId": "evt-1:0", "orgId": "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11", "eventId": "evt-1",
                   "createdAt": "2026-11-21T10:00:00Z", "kind": "ticket.wrapup",
                   "payload": {"conversationId": "c", "participantId": "p", "wrapupCode": "w", "eventTimeMs": 5, "ticketId": 42}})
        );
        assert_eq!(JobEnvelope::from_json(&job.to_json()).unwrap(), job);
        assert_eq!(job.job.consumer(), Consumer::TicketStatus);
    }

    #[test]
    fn message_jobs_go_to_their_own_queue() {
        let v = json!({"v": 1, "jobId": "evt-2:1", "orgId": "o", "eventId": "evt-2",
                       "createdAt": "2026-11-21T10:00:00Z", "kind": "message.agentless",
                       "payload": {"template": "missed-call", "conversationId": "c",
                                   "idempotencyKey": "rule:missed-call:c"}});
        let job = JobEnvelope::from_json(&v.to_string()).unwrap();
        assert_eq!(job.job.consumer(), Consumer::AgentlessMessages);
        assert_eq!(job.job.kind(), "message.agentless");
        let Job::MessageAgentless(m) = &job.job else {
            panic!("{job:?}")
        };
        assert_eq!(m.resend, 0);
        assert!(m.parameters.is_empty());
        // Defaults are left out, so the message reads as it was written.
        assert_eq!(serde_json::to_value(&job).unwrap(), v);
    }

    #[test]
    fn bad_messages_name_the_problem() {
        let e = JobEnvelope::from_json(r#"{"v": 2, "kind": "x"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("v"));
        let e = JobEnvelope::from_json("not json").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
        let e = JobEnvelope::from_json(r#"{"v":1,"jobId":"j","orgId":"o","eventId":"e","createdAt":"t","kind":"nope","payload":{}}"#).unwrap_err();
        assert!(e.message.contains("nope"), "{e}");
    }

    #[test]
    fn bad_messages_never_quote_more_than_a_preview() {
        let head = r#""v":1,"jobId":"j","orgId":"o","eventId":"e","createdAt":"t""#;
        let long = "x".repeat(100_000);
        let rows = [
            (
                format!(r#"{{{head},"kind":"{long}","payload":{{}}}}"#),
                "kind",
            ),
            (
                format!(
                    r#"{{{head},"kind":"ticket.wrapup","payload":{{"conversationId":["{long}"]}}}}"#
                ),
                "payload.conversationId",
            ),
            (
                format!(
                    r#"{{{head},"kind":"contact.fields","payload":{{"contactId":"c","changes":[{{"field":"f","value":12345678901234567890123,"action":"Update"}}]}}}}"#
                ),
                "payload.changes[0].value",
            ),
            (
                format!(r#"{{{head},"kind":"participant.enrich"}}"#),
                "payload",
            ),
        ];
        for (text, field) in rows {
            let e = JobEnvelope::from_json(&text).unwrap_err();
            assert_eq!(
                e.field.as_deref(),
                Some(field),
                "{}",
                &e.message[..e.message.len().min(300)]
            );
            assert!(e.message.len() < 400, "{} bytes", e.message.len());
            assert_eq!(e.error_type(), "Input.InvalidInput");
        }
    }
}
