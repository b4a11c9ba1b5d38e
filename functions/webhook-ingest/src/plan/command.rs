//! A direct command from an HTTPS caller (`{"command": "<kind>", "payload": {...},
//! "correlationId"?}`) to its one job, checked against the org's rules.

use std::collections::BTreeMap;

use bridge::config::{AttributeViolation, Messaging, Rules};
use bridge::genesys::ContactChange;
use bridge::input::{json_kind, preview, Fields, PREVIEW_CHARS};
use bridge::jobs::{ContactFields, Job, ParticipantAttributes, ParticipantEnrich, TicketWrapup};
use bridge::BridgeError;
use serde_json::Value;

use super::Routed;

/// The commands an HTTPS caller may send.
pub const COMMANDS: [&str; 5] = [
    "participant.attributes",
    "contact.fields",
    "participant.enrich",
    "ticket.wrapup",
    "message.agentless",
];

/// Routes a command. `now_ms` stands in for a `ticket.wrapup` command's missing
/// `eventTimeMs`; `messaging` is the org's, for `message.agentless`.
pub fn route(
    rules: &Rules,
    messaging: &Messaging,
    v: &Value,
    now_ms: u64,
) -> Result<Routed, BridgeError> {
    let c = Fields::of(v, "body")?;
    let kind = c.str("command")?;
    // Payload fields are named from `payload`, as the command's contract documents them.
    let p = Fields::of(c.get("payload").unwrap_or(&Value::Null), "payload")?;
    let job = match kind {
        "participant.attributes" => Job::ParticipantAttributes(ParticipantAttributes {
            conversation_id: p.uuid("conversationId")?,
            participant_id: p.uuid("participantId")?,
            attributes: attributes(rules, &p)?,
        }),
        "contact.fields" => Job::ContactFields(ContactFields {
            contact_id: p.uuid("contactId")?,
            changes: changes(&p)?,
        }),
        // The worker skips enrichment for an org that has it off; a 202 would promise
        // work that is never done, so the command is refused here, saying why.
        "participant.enrich" if !rules.enrichment.enabled => {
            return Err(c.invalid(
                "command",
                "participant.enrich needs enrichment turned on for this org: its config has rules.enrichment.enabled false (set it to true, with the attribute names to write, or do not send this command)",
            ))
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
            ticket_id: ticket_id(&p, "ticketId")?,
        }),
        "message.agentless" => super::message::command(messaging, &p)?,
        other => {
            return Err(c.invalid(
                "command",
                format!(
                    "expected one of {}; got {:?}",
                    COMMANDS.join(", "),
                    preview(other, PREVIEW_CHARS)
                ),
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

/// A Zendesk ticket id: a positive whole number (or digit string); absent is `None`.
fn ticket_id(p: &Fields, name: &str) -> Result<Option<u64>, BridgeError> {
    match p.opt_int(name)? {
        None => Ok(None),
        Some(n) if n > 0 => Ok(Some(n as u64)),
        Some(n) => Err(p.invalid(
            name,
            format!("expected a Zendesk ticket id (a positive number); got {n}"),
        )),
    }
}

/// `payload.changes`: contact field changes as Genesys takes them.
fn changes(p: &Fields) -> Result<Vec<ContactChange>, BridgeError> {
    match p.get("changes") {
        // serde's message would quote the value (an unknown action, whole): the shape
        // error says where in the array (`[0].action`) and what it takes.
        Some(ch @ Value::Array(a)) if !a.is_empty() => {
            bridge::shape::from_value::<Vec<ContactChange>>(ch).map_err(|e| {
                p.invalid(
                    "changes",
                    format!("{}: {} (each change is {{\"field\": \"$.customFields.x\", \"value\": ..., \"action\": \"Update\"}})", e.path, e.expected),
                )
            })
        }
        _ => Err(p.invalid("changes", "expected a non-empty array of field changes")),
    }
}

/// `payload.attributes`: string values only, within the org's limits.
fn attributes(rules: &Rules, p: &Fields) -> Result<BTreeMap<String, String>, BridgeError> {
    let limits = rules.attribute_limits;
    let Some(Value::Object(map)) = p.get("attributes") else {
        return Err(p.invalid(
            "attributes",
            "expected an object of string values, e.g. {\"zendesk_ticket_id\": \"1001\"}",
        ));
    };
    if limits.count_violation(map.len()).is_some() {
        return Err(p.invalid(
            "attributes",
            format!(
                "expected 1 to {} attributes (rules.attributeLimits.maxKeys); got {}",
                limits.max_keys,
                map.len()
            ),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in map {
        // The key is untrusted: the field names at most a preview of it.
        let field = || format!("payload.attributes.{}", preview(k, PREVIEW_CHARS));
        match limits.key_violation(k) {
            None => {}
            Some(AttributeViolation::ControlCharacter { .. }) => {
                return Err(BridgeError::validation(
                    field(),
                    "expected a key without control characters (NUL, line break, tab, DEL); values may hold line breaks and tabs",
                ))
            }
            Some(_) => {
                return Err(BridgeError::validation(
                    field(),
                    format!(
                        "expected a key of 1 to {} characters (rules.attributeLimits.maxKeyChars)",
                        limits.max_key_chars
                    ),
                ))
            }
        }
        let Value::String(s) = v else {
            return Err(BridgeError::validation(
                field(),
                format!("expected a string value (Genesys attributes are strings only; send numbers and booleans as text); got {}", json_kind(v)),
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
    use crate::plan::tests::{rules, AGENT, CONV, CUST};
    use serde_json::json;

    #[test]
    fn commands() {
        let c = json!({"command": "participant.attributes", "correlationId": "c-1",
                       "payload": {"conversationId": CONV, "participantId": CUST, "attributes": {"tier": "gold"}}});
        let r = route(&rules(false), &Messaging::default(), &c, 5).unwrap();
        assert_eq!(r.what, "command:participant.attributes");
        assert_eq!(r.correlation_id.as_deref(), Some("c-1"));
        let c = json!({"command": "ticket.wrapup", "payload": {"conversationId": CONV, "participantId": AGENT, "ticketId": "1001"}});
        match &route(&rules(false), &Messaging::default(), &c, 5)
            .unwrap()
            .jobs[0]
        {
            Job::TicketWrapup(t) => {
                assert_eq!(t.event_time_ms, 5);
                assert_eq!(t.ticket_id, Some(1001));
            }
            j => panic!("{j:?}"),
        }
        let c = json!({"command": "contact.fields", "payload": {"contactId": "e0a00001-0000-4000-8000-000000000000",
                       "changes": [{"field": "$.customFields.tier_text", "value": "gold", "action": "Update"}]}});
        assert_eq!(
            route(&rules(false), &Messaging::default(), &c, 5)
                .unwrap()
                .jobs[0]
                .kind(),
            "contact.fields"
        );

        let bad = |v: Value, field: &str| {
            let e = route(&rules(false), &Messaging::default(), &v, 5).expect_err(field);
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
        let enrich = json!({"command": "participant.enrich", "payload": {"conversationId": CONV, "participantId": CUST}});
        let e = bad(enrich.clone(), "body.command");
        assert!(e.message.contains("rules.enrichment.enabled"), "{e}");
        assert_eq!(
            route(&rules(true), &Messaging::default(), &enrich, 5)
                .unwrap()
                .jobs[0]
                .kind(),
            "participant.enrich"
        );
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
