//! A Genesys notification (`{topicName, eventBody, metadata?}`, the `detail` of an
//! EventBridge event or the body of an HTTPS post) to the job its topic asks for.
//!
//! | topic | job |
//! |---|---|
//! | `v2.detail.events.conversation.{id}.customer.start` | `participant.enrich` (if `rules.enrichment.enabled`) |
//! | `...{id}.acw`, `...{id}.wrapup` | `ticket.wrapup` |
//! | any other topic | none (accepted and counted) |

use bridge::config::Rules;
use bridge::input::{canonical_uuid, preview, Fields, PREVIEW_CHARS};
use bridge::jobs::{Job, ParticipantEnrich, TicketWrapup};
use bridge::BridgeError;
use serde_json::Value;

use super::Routed;

pub const TOPIC_PREFIX: &str = "v2.detail.events.conversation.";

/// Which Genesys topic a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic<'a> {
    CustomerStart { conversation_id: &'a str },
    Acw { conversation_id: &'a str },
    Wrapup { conversation_id: &'a str },
    Other,
}

pub fn topic(name: &str) -> Topic<'_> {
    let Some(rest) = name.strip_prefix(TOPIC_PREFIX) else {
        return Topic::Other;
    };
    let Some((conversation_id, suffix)) = rest.split_once('.') else {
        return Topic::Other;
    };
    match suffix {
        "customer.start" => Topic::CustomerStart { conversation_id },
        "acw" => Topic::Acw { conversation_id },
        "wrapup" => Topic::Wrapup { conversation_id },
        _ => Topic::Other,
    }
}

/// Routes a notification found at `at` ("detail" for EventBridge, "body" for HTTPS).
pub fn route(rules: &Rules, v: &Value, at: &str) -> Result<Routed, BridgeError> {
    let n = Fields::of(v, at)?;
    let topic_name = n.str("topicName")?;
    let body_at = n.path("eventBody");
    let body = Fields::of(n.get("eventBody").unwrap_or(&Value::Null), &body_at)?;
    let correlation_id = n
        .get("metadata")
        .and_then(|m| m.get("CorrelationId"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut routed = Routed {
        // Logged with every event: the sender's text, so a preview of it.
        what: preview(topic_name, PREVIEW_CHARS),
        jobs: Vec::new(),
        skipped: None,
        correlation_id,
    };
    match topic(topic_name) {
        Topic::CustomerStart { conversation_id } => {
            if !rules.enrichment.enabled {
                routed.skipped = Some("enrichment is disabled for this org");
                return Ok(routed);
            }
            let job = enrich(&n, &body, conversation_id)?;
            routed.jobs.push(job);
        }
        Topic::Acw { conversation_id } | Topic::Wrapup { conversation_id } => {
            let job = wrapup(rules, &n, &body, conversation_id)?;
            routed.jobs.push(job);
        }
        Topic::Other => routed.skipped = Some("no job for this topic"),
    }
    Ok(routed)
}

/// `customer.start`: look the caller up by the address Genesys saw.
fn enrich(n: &Fields, body: &Fields, from_topic: &str) -> Result<Job, BridgeError> {
    let conversation_id = conversation(n, body, from_topic)?;
    let participant_id = body.uuid("participantId")?;
    let (mut phone, mut email) = match body.opt_str("ani")? {
        Some(ani) => contact_of(ani),
        None => (None, None),
    };
    // [U] Genesys documents `ani` for this topic; an explicit address field wins when a
    // media type carries one.
    if let Some(e) = body.opt_str("email")? {
        email = Some(e.to_string());
    }
    if let Some(p) = body.opt_str("phone")? {
        phone = Some(p.to_string());
    }
    Ok(Job::ParticipantEnrich(ParticipantEnrich {
        conversation_id,
        participant_id,
        phone,
        email,
    }))
}

/// `acw` / `wrapup`: the ticket-status job, with the time the agent wrapped up.
fn wrapup(rules: &Rules, n: &Fields, body: &Fields, from_topic: &str) -> Result<Job, BridgeError> {
    let conversation_id = conversation(n, body, from_topic)?;
    let participant_id = body.uuid("participantId")?;
    let event_time_ms = body.opt_int("eventTime")?.ok_or_else(|| {
        body.invalid("eventTime", "expected the event time in epoch milliseconds")
    })?;
    Ok(Job::TicketWrapup(TicketWrapup {
        conversation_id,
        participant_id,
        wrapup_code: body.opt_str("wrapupCode")?.map(str::to_string),
        agent_user_id: body.opt_uuid("userId")?,
        event_time_ms,
        ticket_id: ticket_in_event(rules, body),
    }))
}

/// The conversation of a notification: `eventBody.conversationId`, or the topic's id; if
/// both are there they must agree.
fn conversation(n: &Fields, body: &Fields, from_topic: &str) -> Result<String, BridgeError> {
    let topic_id = canonical_uuid(from_topic);
    match (body.opt_uuid("conversationId")?, topic_id) {
        (Some(b), Some(t)) if b != t => Err(body.invalid(
            "conversationId",
            format!("expected the conversation of topicName ({t}); got {b}"),
        )),
        (Some(b), _) => Ok(b),
        (None, Some(t)) => Ok(t),
        (None, None) => Err(n.invalid(
            "topicName",
            format!(
                "expected v2.detail.events.conversation.{{conversationId}}.<event> with a UUID; got {:?} and no eventBody.conversationId",
                preview(from_topic, PREVIEW_CHARS)
            ),
        )),
    }
}

/// A ticket id the event itself carries (`eventBody.ticketId`, or the org's ticket-id
/// attribute in `eventBody.attributes`). Normally there is none and the worker reads the
/// participant attribute; an unusable value is left to the worker too, which reports it
/// with the conversation's context rather than failing the whole event here.
fn ticket_in_event(rules: &Rules, body: &Fields) -> Option<u64> {
    let parsed = match body.get("ticketId") {
        Some(v) => {
            let parsed = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            if parsed.is_none() {
                ignoring_ticket_id(v);
            }
            parsed
        }
        None => {
            let s = body
                .get("attributes")?
                .get(&rules.ticket_id_attribute)?
                .as_str()?;
            let parsed = s.trim().parse().ok();
            if parsed.is_none() {
                // Logged as JSON, like a `ticketId` value.
                ignoring_ticket_id(&Value::from(s));
            }
            parsed
        }
    };
    parsed.filter(|n| *n > 0)
}

fn ignoring_ticket_id(value: &Value) {
    tracing::warn!(value = %preview(&value.to_string(), PREVIEW_CHARS), "ignoring a ticket id in the event that is not a number");
}

/// Phone or email from a Genesys address: `tel:+1555...`, `sip:+1555...@host`,
/// `mailto:x@y`, or a bare value.
pub fn contact_of(address: &str) -> (Option<String>, Option<String>) {
    let a = address.trim();
    let lower = a.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("mailto:").map(|_| &a[7..]) {
        return (
            None,
            Some(rest.trim().to_string()).filter(|s| s.contains('@')),
        );
    }
    let (a, sip) = if lower.starts_with("tel:") {
        (&a[4..], false)
    } else if lower.starts_with("sip:") {
        (&a[4..], true)
    } else {
        (a, false)
    };
    let user = if sip {
        a.split(['@', ';']).next().unwrap_or("")
    } else {
        a.split(';').next().unwrap_or("")
    };
    let phone_like = user.chars().filter(char::is_ascii_digit).count() >= 3
        && user
            .chars()
            .all(|c| c.is_ascii_digit() || "+-(). ".contains(c));
    if phone_like {
        (Some(user.trim().to_string()), None)
    } else if !sip && a.contains('@') && !a.contains(' ') {
        (None, Some(a.to_string()))
    } else {
        (None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{rules, AGENT, CONV, CUST};
    use serde_json::json;

    #[test]
    fn topics() {
        assert_eq!(
            topic(&format!("{TOPIC_PREFIX}{CONV}.customer.start")),
            Topic::CustomerStart {
                conversation_id: CONV
            }
        );
        assert_eq!(
            topic(&format!("{TOPIC_PREFIX}{CONV}.acw")),
            Topic::Acw {
                conversation_id: CONV
            }
        );
        assert_eq!(
            topic(&format!("{TOPIC_PREFIX}{CONV}.wrapup")),
            Topic::Wrapup {
                conversation_id: CONV
            }
        );
        assert_eq!(
            topic(&format!("{TOPIC_PREFIX}{CONV}.customer.end")),
            Topic::Other
        );
        assert_eq!(topic("v2.users.x.presence"), Topic::Other);
        assert_eq!(topic(TOPIC_PREFIX), Topic::Other);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            contact_of("tel:+15551230001"),
            (Some("+15551230001".into()), None)
        );
        assert_eq!(
            contact_of("sip:+15551230001@pbx.example;user=phone"),
            (Some("+15551230001".into()), None)
        );
        assert_eq!(
            contact_of("+1 (555) 123-0003"),
            (Some("+1 (555) 123-0003".into()), None)
        );
        assert_eq!(
            contact_of("mailto:jane.doe@example.com"),
            (None, Some("jane.doe@example.com".into()))
        );
        assert_eq!(
            contact_of("jane.doe@example.com"),
            (None, Some("jane.doe@example.com".into()))
        );
        assert_eq!(contact_of("sip:agent@pbx.example"), (None, None));
        assert_eq!(contact_of("Anonymous"), (None, None));
    }

    #[test]
    fn customer_start_only_when_enrichment_is_on() {
        let n = json!({"topicName": format!("{TOPIC_PREFIX}{CONV}.customer.start"),
                       "eventBody": {"conversationId": CONV, "participantId": CUST, "ani": "tel:+15551230001"}});
        let r = route(&rules(true), &n, "detail").unwrap();
        assert_eq!(
            r.jobs,
            vec![Job::ParticipantEnrich(ParticipantEnrich {
                conversation_id: CONV.into(),
                participant_id: CUST.into(),
                phone: Some("+15551230001".into()),
                email: None
            })]
        );
        let r = route(&rules(false), &n, "detail").unwrap();
        assert!(r.jobs.is_empty());
        assert!(r.skipped.is_some());
    }

    #[test]
    fn wrapup_fields() {
        let n = json!({"topicName": format!("{TOPIC_PREFIX}{CONV}.acw"),
                       "metadata": {"CorrelationId": "corr-1"},
                       "eventBody": {"participantId": AGENT, "eventTime": 1_779_000_000_000_i64,
                                     "wrapupCode": "w-1", "userId": "d0a00001-0000-4000-8000-000000000000",
                                     "attributes": {"zendesk_ticket_id": "1001"}}});
        let r = route(&rules(false), &n, "detail").unwrap();
        assert_eq!(r.correlation_id.as_deref(), Some("corr-1"));
        assert_eq!(
            r.jobs,
            vec![Job::TicketWrapup(TicketWrapup {
                conversation_id: CONV.into(),
                participant_id: AGENT.into(),
                wrapup_code: Some("w-1".into()),
                agent_user_id: Some("d0a00001-0000-4000-8000-000000000000".into()),
                event_time_ms: 1_779_000_000_000,
                ticket_id: Some(1001),
            })]
        );
    }

    #[test]
    fn errors_name_the_field() {
        let acw = |body: Value| json!({"topicName": format!("{TOPIC_PREFIX}{CONV}.acw"), "eventBody": body});
        let rows: Vec<(Value, &str)> = vec![
            (json!({"eventBody": {}}), "detail.topicName"),
            (json!({"topicName": 5}), "detail.topicName"),
            (json!({"topicName": "x"}), "detail.eventBody"),
            (
                acw(json!({"eventTime": 1})),
                "detail.eventBody.participantId",
            ),
            (
                acw(json!({"participantId": "p-1", "eventTime": 1})),
                "detail.eventBody.participantId",
            ),
            (
                acw(json!({"participantId": AGENT})),
                "detail.eventBody.eventTime",
            ),
            (
                acw(json!({"participantId": AGENT, "eventTime": "soon"})),
                "detail.eventBody.eventTime",
            ),
            (
                acw(json!({"participantId": AGENT, "eventTime": 1, "conversationId": CUST})),
                "detail.eventBody.conversationId",
            ),
            (
                acw(json!({"participantId": AGENT, "eventTime": 1, "wrapupCode": {"id": "x"}})),
                "detail.eventBody.wrapupCode",
            ),
            (
                json!({"topicName": format!("{TOPIC_PREFIX}nope.acw"), "eventBody": {"participantId": AGENT, "eventTime": 1}}),
                "detail.topicName",
            ),
        ];
        for (v, field) in rows {
            let e = route(&rules(true), &v, "detail").expect_err(field);
            assert_eq!(e.field.as_deref(), Some(field), "{v}: {e}");
        }
    }
}
