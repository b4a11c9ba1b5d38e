//! Pure reading of what arrives, through `bridge::input`: the data action's input object
//! and the payload of a `message.agentless` job. Both become a
//! [`AgentlessMessageJob`] (what to send, to whom, under which idempotency key); whether it
//! can be sent for the org is the plan's to decide, with the org's config.
//!
//! The data action must carry an `idempotencyKey`: Genesys may run an action again (a retry
//! after a timeout), and without a key of the flow's own the second run could not be told
//! from a new message, so the customer could be texted twice.

use std::collections::BTreeMap;

use bridge::input::{json_kind, preview, uuid_field, Fields, PREVIEW_CHARS};
use bridge::jobs::{AgentlessMessageJob, Job};
use bridge::{BridgeError, Result};
use serde_json::{Map, Value};

/// The fields the data action may send; anything else is a contract mismatch.
pub const INPUT_FIELDS: [&str; 10] = [
    "orgId",
    "idempotencyKey",
    "template",
    "sender",
    "text",
    "toAddress",
    "conversationId",
    "parametersJson",
    "parameters",
    "useExistingActiveConversation",
];

/// Longest idempotency key (characters): long enough for a conversation id and a purpose.
pub const MAX_KEY_CHARS: usize = 200;

/// A data action request, shape-checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionInput {
    /// Lower-case hyphenated UUID.
    pub org_id: String,
    /// What to send; its `idempotency_key` is the action's.
    pub message: AgentlessMessageJob,
}

/// Reads a data action input: `{orgId, idempotencyKey, template | sender + text,
/// toAddress | conversationId, parametersJson | parameters, useExistingActiveConversation?}`.
pub fn parse_action_input(event: &Value) -> Result<ActionInput> {
    let f = Fields::of(event, "")?;
    f.only(&INPUT_FIELDS)?;
    let org_id = f.uuid("orgId").map_err(|e| {
        e.with_hint("the data action's request template must supply the Genesys org id (see infra/genesys/README.md)")
    })?;
    let key = idempotency_key(&f)?;
    let message = AgentlessMessageJob {
        template: name(&f, "template")?,
        sender: name(&f, "sender")?,
        text: f.opt_text("text")?.map(str::to_string),
        to_address: f.opt_str("toAddress")?.map(str::to_string),
        conversation_id: f.opt_uuid("conversationId")?,
        parameters: parameters(&f)?,
        use_existing_active_conversation: f.opt_bool("useExistingActiveConversation")?,
        idempotency_key: Some(key),
        resend: 0,
    };
    check_shape(&message, "")?;
    Ok(ActionInput { org_id, message })
}

fn idempotency_key(f: &Fields) -> Result<String> {
    let key = f.opt_str("idempotencyKey")?.ok_or_else(|| {
        f.invalid(
            "idempotencyKey",
            "missing: expected a key unique to this message, e.g. Call.ConversationId + \"-missed-call\". Without it a Genesys retry of the action could text the customer twice",
        )
    })?;
    let chars = key.chars().count();
    if chars > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(f.invalid(
            "idempotencyKey",
            format!("expected at most {MAX_KEY_CHARS} printable characters; got {chars}"),
        ));
    }
    Ok(key.to_string())
}

/// A template or sender name, as the org config names them.
fn name(f: &Fields, field: &str) -> Result<Option<String>> {
    Ok(f.opt_str(field)?.map(str::to_string))
}

/// `parameters` (an object, for direct invokes) or `parametersJson` (an object as a
/// string, how Architect builds maps): string values; numbers and booleans become text.
fn parameters(f: &Fields) -> Result<BTreeMap<String, String>> {
    let text = f
        .get("parametersJson")
        .filter(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()));
    let (field, map): (&str, Map<String, Value>) = match (f.get("parameters"), text) {
        (Some(_), Some(_)) => {
            return Err(f.invalid(
                "parameters",
                "expected either `parameters` (an object) or `parametersJson` (a string), not both",
            ))
        }
        (Some(Value::Object(m)), None) => ("parameters", m.clone()),
        (Some(other), None) => {
            return Err(f.invalid(
                "parameters",
                format!("expected an object of names to values; got {}", json_kind(other)),
            ))
        }
        (None, Some(Value::String(s))) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => ("parametersJson", m),
            _ => {
                return Err(f.invalid(
                    "parametersJson",
                    "expected a JSON object as a string, e.g. {\"date\":\"Monday\"}; escape quotes in the values",
                ))
            }
        },
        (None, Some(other)) => {
            return Err(f.invalid(
                "parametersJson",
                format!("expected a string holding a JSON object; got {}", json_kind(other)),
            ))
        }
        (None, None) => return Ok(BTreeMap::new()),
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let value = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(BridgeError::validation(
                    format!("{}.{}", f.path(field), preview(&k, PREVIEW_CHARS)),
                    format!(
                        "expected a string, number or boolean; got {}",
                        json_kind(&other)
                    ),
                ))
            }
        };
        out.insert(k, value);
    }
    Ok(out)
}

/// What needs no config: a template or a sender with text (not both), and a way to find
/// the recipient. `at` prefixes the field names (`""` or `"payload."`).
fn check_shape(m: &AgentlessMessageJob, at: &str) -> Result<()> {
    match (&m.template, &m.sender, &m.text) {
        (Some(_), None, None) => {}
        (None, Some(_), Some(_)) => {}
        (None, Some(_), None) => {
            return Err(BridgeError::validation(
                format!("{at}text"),
                "expected the message text; it is empty (or send `template` instead)",
            ))
        }
        (Some(_), _, _) => {
            return Err(BridgeError::validation(
                format!("{at}template"),
                "expected either `template` (a template of the org's messaging config) or `sender` with `text`, not both",
            ))
        }
        (None, None, _) => {
            return Err(BridgeError::validation(
                format!("{at}template"),
                "expected `template` (a template of the org's messaging config) or `sender` with `text`",
            ))
        }
    }
    if m.to_address.is_none() && m.conversation_id.is_none() {
        return Err(BridgeError::validation(
            format!("{at}toAddress"),
            "expected the recipient (`toAddress`), or `conversationId` to send to the conversation's customer",
        ));
    }
    Ok(())
}

/// The message of a queued job, checked; any other kind is a routing bug in the producer.
pub fn parse_job(job: Job) -> Result<AgentlessMessageJob> {
    let mut m = match job {
        Job::MessageAgentless(m) => m,
        other => {
            return Err(BridgeError::validation(
                "kind",
                format!(
                    "this function takes \"message.agentless\" jobs; got {:?} (a routing bug in the producer)",
                    other.kind()
                ),
            ))
        }
    };
    if let Some(c) = &m.conversation_id {
        m.conversation_id = Some(uuid_field("payload.conversationId", c)?);
    }
    let blank = |s: &Option<String>| s.as_deref().is_some_and(|s| s.trim().is_empty());
    if blank(&m.text) {
        m.text = None;
    }
    if blank(&m.to_address) {
        m.to_address = None;
    }
    check_shape(&m, "payload.")?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORG: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
    const CONV: &str = "c0a00001-0000-4000-8000-000000000000";

    fn input(extra: Value) -> Value {
        let mut v = json!({"orgId": ORG, "idempotencyKey": "k-1"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn input_table() {
        type Want = std::result::Result<(), (&'static str, &'static str)>;
        let rows: Vec<(Value, Want)> = vec![
            (
                input(json!({"template": "missed-call", "conversationId": CONV})),
                Ok(()),
            ),
            (
                input(json!({"sender": "acme-sms", "text": "hi", "toAddress": "+15551230001"})),
                Ok(()),
            ),
            (
                input(
                    json!({"template": "t", "toAddress": "+1", "parametersJson": "{\"date\":\"Mon\",\"n\":2}"}),
                ),
                Ok(()),
            ),
            (
                input(
                    json!({"template": "t", "toAddress": "+1", "parametersJson": "", "useExistingActiveConversation": "true"}),
                ),
                Ok(()),
            ),
            (
                json!({"orgId": ORG, "template": "t", "toAddress": "+1"}),
                Err(("idempotencyKey", "twice")),
            ),
            (
                input(json!({"idempotencyKey": " ", "template": "t", "toAddress": "+1"})),
                Err(("idempotencyKey", "missing")),
            ),
            (
                input(
                    json!({"idempotencyKey": "x".repeat(201), "template": "t", "toAddress": "+1"}),
                ),
                Err(("idempotencyKey", "at most 200")),
            ),
            (
                input(json!({"toAddress": "+1"})),
                Err(("template", "or `sender` with `text`")),
            ),
            (
                input(json!({"sender": "acme-sms", "text": "  ", "toAddress": "+1"})),
                Err(("text", "empty")),
            ),
            (
                input(json!({"template": "t", "sender": "s", "text": "x", "toAddress": "+1"})),
                Err(("template", "not both")),
            ),
            (
                input(json!({"template": "t"})),
                Err(("toAddress", "conversationId")),
            ),
            (
                input(json!({"template": "t", "conversationId": "c-1"})),
                Err(("conversationId", "UUID")),
            ),
            (
                input(json!({"template": "t", "toAddress": "+1", "parametersJson": "[1]"})),
                Err(("parametersJson", "JSON object")),
            ),
            (
                input(json!({"template": "t", "toAddress": "+1", "parameters": {"a": {"b": 1}}})),
                Err(("parameters.a", "an object")),
            ),
            (
                input(
                    json!({"template": "t", "toAddress": "+1", "parameters": {}, "parametersJson": "{}"}),
                ),
                Err(("parameters", "not both")),
            ),
            (
                input(json!({"template": "t", "toAddress": "+1", "textBody": "typo"})),
                Err(("textBody", "unknown field")),
            ),
            (
                input(json!({"orgId": "acme", "template": "t", "toAddress": "+1"})),
                Err(("orgId", "UUID")),
            ),
        ];
        for (event, want) in rows {
            match (parse_action_input(&event), want) {
                (Ok(i), Ok(())) => {
                    assert_eq!(i.org_id, ORG);
                    assert_eq!(i.message.idempotency_key.as_deref(), Some("k-1"));
                }
                (Err(e), Err((field, part))) => {
                    assert_eq!(e.field.as_deref(), Some(field), "{event}: {e}");
                    assert!(e.to_string().contains(part), "{event}: {e} lacks {part:?}");
                    assert_eq!(e.error_type(), "Input.InvalidInput");
                }
                (got, want) => panic!("{event}: got {got:?}, want {want:?}"),
            }
        }
        let i = parse_action_input(&input(
            json!({"template": "t", "toAddress": "+1", "parametersJson": "{\"n\":2,\"ok\":true}"}),
        ))
        .unwrap();
        assert_eq!(i.message.parameters["n"], "2");
        assert_eq!(i.message.parameters["ok"], "true");
    }

    #[test]
    fn job_table() {
        let job = |payload: Value| -> Job {
            serde_json::from_value(json!({"kind": "message.agentless", "payload": payload}))
                .unwrap()
        };
        let m = parse_job(job(
            json!({"template": "t", "conversationId": CONV.to_uppercase(), "toAddress": " "}),
        ))
        .unwrap();
        assert_eq!(m.conversation_id.as_deref(), Some(CONV));
        assert_eq!(m.to_address, None, "blank counts as absent");
        for (payload, field) in [
            (
                json!({"template": "t", "conversationId": "nope"}),
                "payload.conversationId",
            ),
            (json!({"template": "t"}), "payload.toAddress"),
            (json!({"sender": "s", "toAddress": "+1"}), "payload.text"),
        ] {
            let e = parse_job(job(payload.clone())).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{payload}: {e}");
        }
        let wrong: Job = serde_json::from_value(json!({"kind": "ticket.wrapup",
            "payload": {"conversationId": CONV, "participantId": CONV, "eventTimeMs": 1}}))
        .unwrap();
        assert_eq!(parse_job(wrong).unwrap_err().field.as_deref(), Some("kind"));
    }
}
