//! What an accepted event turns into, before idempotency and queueing: the event id and
//! one versioned job message per job the org's rules ask for. Pure: no I/O, "now" passed
//! in; every error names the field at fault.
//!
//! The routing itself is in [`notification`] (Genesys topics), [`command`] (direct
//! commands over HTTPS) and [`message`] (the org's messaging rules, and the
//! `message.agentless` command); what a Genesys user's token may ask for is in [`user`].

pub mod command;
pub mod message;
pub mod notification;
pub mod user;

use bridge::jobs::{Job, JobEnvelope, JOB_VERSION};
use bridge::{BridgeError, OrgConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::input::{self, HttpRequest, PartnerEvent};

pub use crate::input::IDEMPOTENCY_KEY_HEADER;

/// What an input asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    /// The topic or `command:<kind>`, for logs and the unrouted count.
    pub what: String,
    pub jobs: Vec<Job>,
    /// Why there is no job, when there is none.
    pub skipped: Option<&'static str>,
    /// `metadata.CorrelationId` of a notification, `correlationId` of a command.
    pub correlation_id: Option<String>,
}

/// What an event turns into, before idempotency and queueing.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub org_id: String,
    pub event_id: String,
    /// What the event asked for; its `jobs` were moved into [`Plan::jobs`] (left empty).
    pub routed: Routed,
    pub jobs: Vec<JobEnvelope>,
}

/// Plans an EventBridge event of `cfg`'s org (the org its `source` names).
pub fn partner_event(cfg: &OrgConfig, ev: &PartnerEvent, now_ms: u64) -> Result<Plan, BridgeError> {
    let routed = notified(cfg, &ev.detail, "detail")?;
    Ok(envelopes(&cfg.org_id, &ev.event_id, routed, now_ms))
}

/// A notification's jobs: the topic's own, then the ones the org's messaging rules ask for.
fn notified(cfg: &OrgConfig, v: &Value, at: &str) -> Result<Routed, BridgeError> {
    let mut routed = notification::route(&cfg.rules, v, at)?;
    let messages = message::rule_jobs(&cfg.messaging, &bridge::input::Fields::of(v, at)?)?;
    if !messages.is_empty() {
        routed.jobs.extend(messages);
        routed.skipped = None;
    }
    Ok(routed)
}

/// Plans an authenticated HTTPS request of `cfg`'s org: a notification or a command.
pub fn https(cfg: &OrgConfig, req: &HttpRequest, now_ms: u64) -> Result<Plan, BridgeError> {
    // serde_json's syntax errors give a line and column, never the text.
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| BridgeError::validation("body", format!("expected a JSON object: {e}")))?;
    let Some(obj) = body.as_object() else {
        return Err(BridgeError::validation("body", "expected a JSON object"));
    };
    let is_command = obj.contains_key("command");
    // The body parsed, so it is UTF-8 JSON; a number a parse would change is refused with
    // its path (commands name fields from `payload`, notifications from `body`).
    if let Some(path) = std::str::from_utf8(&req.body)
        .ok()
        .and_then(bridge::input::inexact_number)
    {
        let field = if is_command {
            path
        } else {
            format!("body.{path}")
        };
        return Err(BridgeError::validation(
            field,
            "this number cannot be kept exactly (it would be read as a nearby binary fraction); send it as a string",
        ));
    }
    let routed = if is_command {
        command::route(&cfg.rules, &cfg.messaging, &body, now_ms)?
    } else if obj.contains_key("topicName") {
        notified(cfg, &body, "body")?
    } else {
        return Err(BridgeError::validation(
            "body",
            "expected a Genesys notification {\"topicName\", \"eventBody\"} or a command {\"command\", \"payload\"}",
        ));
    };
    let event_id = https_event_id(req, obj.get("id"))?;
    Ok(envelopes(&cfg.org_id, &event_id, routed, now_ms))
}

/// The event id of an HTTPS request: the `Idempotency-Key` header (already checked by
/// `input`, and never on a signed request), else the body's `id`, else a digest of the
/// body.
pub(crate) fn https_event_id(
    req: &HttpRequest,
    body_id: Option<&Value>,
) -> Result<String, BridgeError> {
    match (&req.idempotency_key, body_id) {
        (Some(k), _) => Ok(k.clone()),
        (None, Some(Value::String(id))) => input::event_id("body.id", id),
        (None, Some(v)) if !v.is_null() => {
            Err(BridgeError::validation("body.id", "expected a string"))
        }
        // No id given: the same body is the same event (a retry of the same POST).
        _ => Ok(format!(
            "sha256:{}",
            &hex::encode(Sha256::digest(&req.body))[..32]
        )),
    }
}

/// One job message per routed job, with deterministic ids (`<eventId>:<n>`), so that a
/// replay of the same event makes the same messages.
fn envelopes(org_id: &str, event_id: &str, mut routed: Routed, now_ms: u64) -> Plan {
    let created_at = rfc3339(now_ms);
    let jobs = std::mem::take(&mut routed.jobs)
        .into_iter()
        .enumerate()
        .map(|(n, job)| JobEnvelope {
            v: JOB_VERSION,
            job_id: format!("{event_id}:{n}"),
            org_id: org_id.to_string(),
            event_id: event_id.to_string(),
            created_at: created_at.clone(),
            correlation_id: routed.correlation_id.clone(),
            job,
        })
        .collect();
    Plan {
        org_id: org_id.to_string(),
        event_id: event_id.to_string(),
        routed,
        jobs,
    }
}

fn rfc3339(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use bridge::config::{AttributeLimits, ClosedTicketPolicy, Enrichment, Rules};

    pub const CONV: &str = "c0a00001-0000-4000-8000-000000000000";
    pub const CUST: &str = "c0a00001-0000-4000-8000-00000000c001";
    pub const AGENT: &str = "c0a00001-0000-4000-8000-00000000a001";

    pub fn rules(enrich: bool) -> Rules {
        Rules {
            ticket_id_attribute: "zendesk_ticket_id".into(),
            wrapup_status: BTreeMap::new(),
            default_wrapup_status: None,
            enrichment: Enrichment {
                enabled: enrich,
                user_id_attribute: None,
                user_name_attribute: None,
                open_ticket_attribute: None,
            },
            closed_ticket: ClosedTicketPolicy::Report,
            attribute_limits: AttributeLimits {
                max_keys: 3,
                max_key_chars: 10,
                max_value_chars: 5,
            },
        }
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(super::rfc3339(1_795_255_680_000), "2026-11-21T10:08:00Z");
    }
}
