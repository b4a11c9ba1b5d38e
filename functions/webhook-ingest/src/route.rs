//! From a Genesys notification or a direct command to the jobs it asks for, per the org's
//! rules. Pure: no I/O, no clock of its own; every error names the field at fault.
//!
//! | input | job |
//! |---|---|
//! | topic `v2.detail.events.conversation.{id}.customer.start` | `participant.enrich` (if `rules.enrichment.enabled`) |
//! | topic `...{id}.acw`, `...{id}.wrapup` | `ticket.wrapup` |
//! | any other topic | none (accepted and counted) |
//! | `{"command": "<kind>", "payload": {...}}` | that job |

use std::collections::BTreeMap;

use bridge::config::{AttributeViolation, Rules};
use bridge::genesys::ContactChange;
use bridge::jobs::{ContactFields, Job, ParticipantAttributes, ParticipantEnrich, TicketWrapup};
use bridge::BridgeError;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::inbound::canonical_uuid;

pub const TOPIC_PREFIX: &str = "v2.detail.events.conversation.";

/// The commands an HTTPS caller may send.
pub const COMMANDS: [&str; 4] = [
    "participant.attributes",
    "contact.fields",
    "participant.enrich",
    "ticket.wrapup",
];

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

/// A typed view on a JSON object that names fields by their full path in errors.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    at: &'a str,
}

impl<'a> Fields<'a> {
    fn of(v: &'a Value, at: &'a str) -> Result<Fields<'a>, BridgeError> {
        v.as_object().map(|obj| Fields { obj, at }).ok_or_else(|| {
            BridgeError::validation(at, format!("expected a JSON object; got {}", type_name(v)))
        })
    }

    fn path(&self, name: &str) -> String {
        format!("{}.{name}", self.at)
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    fn opt_str(&self, name: &str) -> Result<Option<&'a str>, BridgeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(v) => Err(BridgeError::validation(
                self.path(name),
                format!("expected a string; got {}", type_name(v)),
            )),
        }
    }

    fn str(&self, name: &str) -> Result<&'a str, BridgeError> {
        self.opt_str(name)?
            .ok_or_else(|| BridgeError::validation(self.path(name), "expected a non-empty string"))
    }

    fn opt_uuid(&self, name: &str) -> Result<Option<String>, BridgeError> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(s) => canonical_uuid(s).map(Some).ok_or_else(|| {
                BridgeError::validation(
                    self.path(name),
                    format!("expected a Genesys id (UUID like 4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11); got {s:?}"),
                )
            }),
        }
    }

    fn uuid(&self, name: &str) -> Result<String, BridgeError> {
        self.opt_uuid(name)?
            .ok_or_else(|| BridgeError::validation(self.path(name), "expected a Genesys id (UUID)"))
    }

    /// A whole number, as a JSON number or a string of digits.
    fn opt_int(&self, name: &str) -> Result<Option<i64>, BridgeError> {
        let bad = |v: &Value| {
            BridgeError::validation(self.path(name), format!("expected a whole number; got {v}"))
        };
        match self.get(name) {
            None => Ok(None),
            Some(v @ Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| bad(v)),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v @ Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(v)),
            Some(v) => Err(bad(v)),
        }
    }

    fn opt_ticket_id(&self, name: &str) -> Result<Option<u64>, BridgeError> {
        match self.opt_int(name)? {
            None => Ok(None),
            Some(n) if n > 0 => Ok(Some(n as u64)),
            Some(n) => Err(BridgeError::validation(
                self.path(name),
                format!("expected a Zendesk ticket id (a positive number); got {n}"),
            )),
        }
    }
}

use bridge::input::json_kind as type_name;

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

/// Routes a notification `{topicName, eventBody, metadata?}` found at `at` ("detail" for
/// EventBridge, "body" for HTTPS).
pub fn notification(rules: &Rules, v: &Value, at: &str) -> Result<Routed, BridgeError> {
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
        what: topic_name.to_string(),
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
            let conversation_id = conversation(&n, &body, conversation_id)?;
            let participant_id = body.uuid("participantId")?;
            let (mut phone, mut email) = match body.opt_str("ani")? {
                Some(ani) => contact_of(ani),
                None => (None, None),
            };
            // [U] Genesys documents `ani` for this topic; an explicit address field wins
            // when a media type carries one.
            if let Some(e) = body.opt_str("email")? {
                email = Some(e.to_string());
            }
            if let Some(p) = body.opt_str("phone")? {
                phone = Some(p.to_string());
            }
            routed.jobs.push(Job::ParticipantEnrich(ParticipantEnrich {
                conversation_id,
                participant_id,
                phone,
                email,
            }));
        }
        Topic::Acw { conversation_id } | Topic::Wrapup { conversation_id } => {
            let conversation_id = conversation(&n, &body, conversation_id)?;
            let participant_id = body.uuid("participantId")?;
            let event_time_ms = body.opt_int("eventTime")?.ok_or_else(|| {
                BridgeError::validation(
                    body.path("eventTime"),
                    "expected the event time in epoch milliseconds",
                )
            })?;
            routed.jobs.push(Job::TicketWrapup(TicketWrapup {
                conversation_id,
                participant_id,
                wrapup_code: body.opt_str("wrapupCode")?.map(str::to_string),
                agent_user_id: body.opt_uuid("userId")?,
                event_time_ms,
                ticket_id: ticket_in_event(rules, &body),
            }));
        }
        Topic::Other => routed.skipped = Some("no job for this topic"),
    }
    Ok(routed)
}

/// The conversation of a notification: `eventBody.conversationId`, or the topic's id; if
/// both are there they must agree.
fn conversation(n: &Fields, body: &Fields, from_topic: &str) -> Result<String, BridgeError> {
    let topic_id = canonical_uuid(from_topic);
    match (body.opt_uuid("conversationId")?, topic_id) {
        (Some(b), Some(t)) if b != t => Err(BridgeError::validation(
            body.path("conversationId"),
            format!("expected the conversation of topicName ({t}); got {b}"),
        )),
        (Some(b), _) => Ok(b),
        (None, Some(t)) => Ok(t),
        (None, None) => Err(BridgeError::validation(
            n.path("topicName"),
            format!("expected v2.detail.events.conversation.{{conversationId}}.<event> with a UUID; got {from_topic:?} and no eventBody.conversationId"),
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
    tracing::warn!(value = %value, "ignoring a ticket id in the event that is not a number");
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

/// Routes a direct command `{"command": "<kind>", "payload": {...}, "correlationId"?}`.
/// `now_ms` stands in for a `ticket.wrapup` command's missing `eventTimeMs`.
pub fn command(rules: &Rules, v: &Value, now_ms: u64) -> Result<Routed, BridgeError> {
    let c = Fields::of(v, "body")?;
    let kind = c.str("command")?;
    let p = Fields::of(c.get("payload").unwrap_or(&Value::Null), "payload")?;
    let job = match kind {
        "participant.attributes" => Job::ParticipantAttributes(ParticipantAttributes {
            conversation_id: p.uuid("conversationId")?,
            participant_id: p.uuid("participantId")?,
            attributes: attributes(rules, &p)?,
        }),
        "contact.fields" => {
            let contact_id = p.uuid("contactId")?;
            let changes: Vec<ContactChange> = match p.get("changes") {
                Some(ch @ Value::Array(a)) if !a.is_empty() => Vec::<ContactChange>::deserialize(ch).map_err(|e| {
                    BridgeError::validation(
                        "payload.changes",
                        format!("expected [{{\"field\": \"$.customFields.x\", \"value\": ..., \"action\": \"Update\"}}]: {e}"),
                    )
                })?,
                _ => return Err(BridgeError::validation("payload.changes", "expected a non-empty array of field changes")),
            };
            Job::ContactFields(ContactFields {
                contact_id,
                changes,
            })
        }
        "participant.enrich" => Job::ParticipantEnrich(ParticipantEnrich {
            conversation_id: p.uuid("conversationId")?,
            participant_id: p.uuid("participantId")?,
            phone: p.opt_str("phone")?.map(str::to_string),
            email: p.opt_str("email")?.map(str::to_string),
        }),
        "ticket.wrapup" => Job::TicketWrapup(TicketWrapup {
            conversation_id: p.uuid("conversationId")?,
            participant_id: p.uuid("participantId")?,
            wrapup_code: p.opt_str("wrapupCode")?.map(str::to_string),
            agent_user_id: p.opt_uuid("agentUserId")?,
            event_time_ms: p.opt_int("eventTimeMs")?.unwrap_or(now_ms as i64),
            ticket_id: p.opt_ticket_id("ticketId")?,
        }),
        other => {
            return Err(BridgeError::validation(
                "body.command",
                format!("expected one of {}; got {other:?}", COMMANDS.join(", ")),
            ))
        }
    };
    Ok(Routed {
        what: format!("command:{kind}"),
        jobs: vec![job],
        skipped: None,
        correlation_id: c.opt_str("correlationId")?.map(str::to_string),
    })
}

/// `payload.attributes`: string values only, within the org's limits.
fn attributes(rules: &Rules, p: &Fields) -> Result<BTreeMap<String, String>, BridgeError> {
    let limits = rules.attribute_limits;
    let Some(Value::Object(map)) = p.get("attributes") else {
        return Err(BridgeError::validation(
            "payload.attributes",
            "expected an object of string values, e.g. {\"zendesk_ticket_id\": \"1001\"}",
        ));
    };
    if limits.count_violation(map.len()).is_some() {
        return Err(BridgeError::validation(
            "payload.attributes",
            format!(
                "expected 1 to {} attributes (rules.attributeLimits.maxKeys); got {}",
                limits.max_keys,
                map.len()
            ),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let field = || format!("payload.attributes.{k}");
        if limits.key_violation(k).is_some() {
            return Err(BridgeError::validation(
                field(),
                format!(
                    "expected a key of 1 to {} characters (rules.attributeLimits.maxKeyChars)",
                    limits.max_key_chars
                ),
            ));
        }
        let Value::String(s) = v else {
            return Err(BridgeError::validation(
                field(),
                format!("expected a string value (Genesys attributes are strings only; send numbers and booleans as text); got {}", type_name(v)),
            ));
        };
        if let Some(AttributeViolation::ValueTooLong { chars, .. }) = limits.value_violation(k, s) {
            return Err(BridgeError::validation(
                field(),
                format!(
                    "expected at most {} characters (rules.attributeLimits.maxValueChars); got {chars}",
                    limits.max_value_chars,
                ),
            ));
        }
        out.insert(k.clone(), s.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge::config::{AttributeLimits, ClosedTicketPolicy, Enrichment};
    use serde_json::json;

    const CONV: &str = "c0a00001-0000-4000-8000-000000000000";
    const CUST: &str = "c0a00001-0000-4000-8000-00000000c001";
    const AGENT: &str = "c0a00001-0000-4000-8000-00000000a001";

    fn rules(enrich: bool) -> Rules {
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
        let r = notification(&rules(true), &n, "detail").unwrap();
        assert_eq!(
            r.jobs,
            vec![Job::ParticipantEnrich(ParticipantEnrich {
                conversation_id: CONV.into(),
                participant_id: CUST.into(),
                phone: Some("+15551230001".into()),
                email: None
            })]
        );
        let r = notification(&rules(false), &n, "detail").unwrap();
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
        let r = notification(&rules(false), &n, "detail").unwrap();
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
            let e = notification(&rules(true), &v, "detail").expect_err(field);
            assert_eq!(e.field.as_deref(), Some(field), "{v}: {e}");
        }
    }

    #[test]
    fn commands() {
        let c = json!({"command": "participant.attributes", "correlationId": "c-1",
                       "payload": {"conversationId": CONV, "participantId": CUST, "attributes": {"tier": "gold"}}});
        let r = command(&rules(false), &c, 5).unwrap();
        assert_eq!(r.what, "command:participant.attributes");
        assert_eq!(r.correlation_id.as_deref(), Some("c-1"));
        let c = json!({"command": "ticket.wrapup", "payload": {"conversationId": CONV, "participantId": AGENT, "ticketId": "1001"}});
        match &command(&rules(false), &c, 5).unwrap().jobs[0] {
            Job::TicketWrapup(t) => {
                assert_eq!(t.event_time_ms, 5);
                assert_eq!(t.ticket_id, Some(1001));
            }
            j => panic!("{j:?}"),
        }
        let c = json!({"command": "contact.fields", "payload": {"contactId": "e0a00001-0000-4000-8000-000000000000",
                       "changes": [{"field": "$.customFields.tier_text", "value": "gold", "action": "Update"}]}});
        assert_eq!(
            command(&rules(false), &c, 5).unwrap().jobs[0].kind(),
            "contact.fields"
        );

        let bad = |v: Value, field: &str| {
            let e = command(&rules(false), &v, 5).expect_err(field);
            assert_eq!(e.field.as_deref(), Some(field), "{v}: {e}");
            e
        };
        let e = bad(
            json!({"command": "ticket.close", "payload": {}}),
            "body.command",
        );
        assert!(
            e.message.contains("participant.attributes"),
            "lists the valid ones: {e}"
        );
        bad(json!({"command": "ticket.wrapup"}), "payload");
        bad(
            json!({"command": "ticket.wrapup", "payload": {"participantId": AGENT}}),
            "payload.conversationId",
        );
        bad(
            json!({"command": "ticket.wrapup", "payload": {"conversationId": CONV, "participantId": AGENT, "ticketId": -1}}),
            "payload.ticketId",
        );
        let attrs = |a: Value| json!({"command": "participant.attributes", "payload": {"conversationId": CONV, "participantId": CUST, "attributes": a}});
        bad(attrs(json!({"n": 5})), "payload.attributes.n");
        bad(attrs(json!({"n": "toolong"})), "payload.attributes.n");
        bad(
            attrs(json!({"a-very-long-key": "x"})),
            "payload.attributes.a-very-long-key",
        );
        bad(
            attrs(json!({"a": "1", "b": "2", "c": "3", "d": "4"})),
            "payload.attributes",
        );
        bad(attrs(json!({})), "payload.attributes");
        bad(attrs(json!("x")), "payload.attributes");
        bad(
            json!({"command": "contact.fields", "payload": {"contactId": CONV, "changes": [{"field": "x", "action": "Zap"}]}}),
            "payload.changes",
        );
    }
}
