//! Pure reading of what arrives: the data action's input object and the payloads of queued
//! jobs, through `bridge::input`. Ids become canonical UUIDs and attribute values strings
//! before any secret or upstream call; every refusal names the field by its full path.
//!
//! Genesys stores participant attributes as strings only, so this is where "a number was
//! sent" becomes its string form and "a nested object was sent" a clear error that names
//! the key, instead of a 400 from Genesys or, worse, a 202 and nothing stored.

use std::collections::BTreeMap;

use bridge::genesys::ContactChange;
use bridge::input::{json_kind, number_text, preview, uuid_field, Fields, PREVIEW_CHARS};
use bridge::jobs::Job;
use bridge::zendesk::UserLookup;
use bridge::{BridgeError, Result};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A data action input, shape-checked (ids are UUIDs, values are strings) but not yet
/// checked against the org's limits, which need the org's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionInput {
    pub org_id: String,
    pub conversation_id: String,
    pub participant_id: String,
    pub attributes: BTreeMap<String, String>,
    pub verify: bool,
}

/// Reads a data action input object: `{orgId, conversationId, participantId, attributes |
/// attributesJson, verify?}`. Unknown fields are ignored (the action's input schema allows
/// them, and Architect may add some).
pub fn parse_action_input(event: &Value) -> Result<ActionInput> {
    let f = Fields::of(event, "")?;
    let org_id = f.uuid("orgId").map_err(|mut e| {
        // The org id is not something the flow designer types: it comes from the request
        // template, so say where to fix it.
        e.hint = Some(
            "the data action's request template must supply the Genesys org id (see infra/genesys/README.md)"
                .into(),
        );
        e
    })?;
    let conversation_id = f.uuid("conversationId")?;
    let participant_id = f.uuid("participantId")?;
    let attributes = match attribute_object(&f)? {
        Attributes::Object(map) => normalize(map)?,
        Attributes::Text(map) => map,
    };
    let verify = f.opt_bool("verify")?.unwrap_or(false);
    Ok(ActionInput {
        org_id,
        conversation_id,
        participant_id,
        attributes,
        verify,
    })
}

/// Where the attributes came from.
enum Attributes<'a> {
    /// `attributes`: a JSON object the runtime parsed (numbers are checked by [`normalize`]).
    Object(&'a Map<String, Value>),
    /// `attributesJson`: read here from its text, numbers kept exactly as written.
    Text(BTreeMap<String, String>),
}

/// The attributes, from `attributes` (an object) or `attributesJson` (an object serialised
/// as a string, which is how Architect builds dynamic maps; blank counts as absent).
fn attribute_object<'a>(f: &Fields<'a>) -> Result<Attributes<'a>> {
    let direct = f.get("attributes");
    let text = f
        .get("attributesJson")
        .filter(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()));
    match (direct, text) {
        (Some(_), Some(_)) => Err(f.invalid(
            "attributes",
            "expected either `attributes` (an object) or `attributesJson` (a string), not both",
        )),
        (Some(Value::Object(m)), None) => Ok(Attributes::Object(m)),
        (Some(other), None) => Err(f.invalid(
            "attributes",
            format!(
                "expected an object of attribute names to values; got {}",
                json_kind(other)
            ),
        )),
        (None, Some(Value::String(s))) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(_)) => attributes_text(s).map(Attributes::Text),
            Ok(other) => Err(f.invalid(
                "attributesJson",
                format!(
                    "expected a JSON object such as {{\"crm_tier\":\"gold\"}}; the string holds {}",
                    json_kind(&other)
                ),
            )),
            Err(e) => Err(f.invalid(
                "attributesJson",
                format!(
                    "expected a JSON object such as {{\"crm_tier\":\"gold\"}}; the string is not valid JSON ({e}); escape quotes and backslashes in the values"
                ),
            )),
        },
        (None, Some(other)) => Err(f.invalid(
            "attributesJson",
            format!("expected a string holding a JSON object; got {}", json_kind(other)),
        )),
        (None, None) => Err(f.invalid(
            "attributes",
            "expected `attributes` (an object) or `attributesJson` (a JSON object as a string) with at least one attribute",
        )),
    }
}

/// Strings pass; numbers and booleans become their string form; objects, arrays and nulls
/// are refused with the key named. An empty set is refused. The object was parsed before
/// the function saw it, so a number's own text is gone: one that may have lost precision
/// is refused ([`bridge::input::number_text`]).
pub fn normalize(raw: &Map<String, Value>) -> Result<BTreeMap<String, String>> {
    if raw.is_empty() {
        return Err(empty_set());
    }
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => number_text(n).ok_or_else(|| inexact(key))?,
            Value::Bool(b) => b.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => {
                return Err(not_a_scalar(key, json_kind(value)))
            }
        };
        out.insert(key.clone(), text);
    }
    Ok(out)
}

/// `attributesJson`'s object (already known to be one), each value as written: strings
/// unescaped, numbers and booleans as their exact text (Genesys stores strings, so
/// `12345678901234567890123` stays that, digit for digit).
fn attributes_text(text: &str) -> Result<BTreeMap<String, String>> {
    let raw: BTreeMap<String, &RawValue> = serde_json::from_str(text).map_err(|_| {
        BridgeError::validation(
            "attributesJson",
            "expected a JSON object of attribute names to values",
        )
    })?;
    if raw.is_empty() {
        return Err(empty_set());
    }
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let written = value.get().trim();
        let text = match written.as_bytes().first() {
            Some(b'"') => serde_json::from_str::<String>(written).map_err(|_| {
                BridgeError::validation(attribute_field(&key), "expected a JSON string")
            })?,
            Some(b'-' | b'0'..=b'9') | Some(b't' | b'f') => written.to_string(),
            Some(b'n') => return Err(not_a_scalar(&key, "null")),
            Some(b'[') => return Err(not_a_scalar(&key, "an array")),
            _ => return Err(not_a_scalar(&key, "an object")),
        };
        out.insert(key, text);
    }
    Ok(out)
}

fn empty_set() -> BridgeError {
    BridgeError::validation(
        "attributes",
        "expected at least one attribute to write; the set is empty",
    )
}

fn not_a_scalar(key: &str, kind: &str) -> BridgeError {
    BridgeError::validation(
        attribute_field(key),
        format!(
            "attribute {:?} is {kind}; expected a string, number or boolean (Genesys stores participant attributes as strings only; serialise nested data yourself, or send \"\" to blank a value)",
            preview(key, PREVIEW_CHARS),
        ),
    )
}

fn inexact(key: &str) -> BridgeError {
    BridgeError::validation(
        attribute_field(key),
        "this number may not be kept exactly (more than 15 significant digits, an exponent, or beyond 64 bits); send it as a string, e.g. \"12345678901234567890123\"",
    )
}

/// The field an error reports for one attribute (long keys cut: the full one is useless
/// in a log line).
pub fn attribute_field(key: &str) -> String {
    format!("attributes.{}", preview(key, PREVIEW_CHARS))
}

/// What a queued job asks of this worker, with its ids checked.
#[derive(Debug, Clone, PartialEq)]
pub enum JobInput {
    /// `participant.attributes`: write these attributes (merged with the batch's others).
    Write {
        conversation_id: String,
        participant_id: String,
        attributes: BTreeMap<String, String>,
    },
    /// `contact.fields`: field-level changes to an external contact.
    Contact {
        contact_id: String,
        changes: Vec<ContactChange>,
    },
    /// `participant.enrich`: look the caller up in Zendesk.
    Enrich(EnrichInput),
}

/// A `participant.enrich` job, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrichInput {
    pub conversation_id: String,
    pub participant_id: String,
    /// From the job's `phone` (preferred) or `email`; `None`: use the participant's address.
    pub lookup: Option<UserLookup>,
}

/// Reads a job's payload (moved in, not copied). Fields are named as in the message
/// (`payload.conversationId`).
pub fn parse_job(job: Job) -> Result<JobInput> {
    match job {
        Job::ParticipantAttributes(a) => Ok(JobInput::Write {
            conversation_id: uuid_field("payload.conversationId", &a.conversation_id)?,
            participant_id: uuid_field("payload.participantId", &a.participant_id)?,
            attributes: a.attributes,
        }),
        Job::ContactFields(c) => {
            let contact_id = uuid_field("payload.contactId", &c.contact_id)?;
            if c.changes.is_empty() {
                return Err(BridgeError::validation(
                    "payload.changes",
                    "expected at least one change",
                ));
            }
            Ok(JobInput::Contact {
                contact_id,
                changes: c.changes,
            })
        }
        Job::ParticipantEnrich(e) => {
            let given = |s: Option<String>| {
                s.map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            };
            let lookup = match (given(e.phone), given(e.email)) {
                (Some(phone), _) => Some(UserLookup::Phone(phone)),
                (None, Some(email)) => Some(UserLookup::Email(email)),
                (None, None) => None,
            };
            Ok(JobInput::Enrich(EnrichInput {
                conversation_id: uuid_field("payload.conversationId", &e.conversation_id)?,
                participant_id: uuid_field("payload.participantId", &e.participant_id)?,
                lookup,
            }))
        }
        Job::TicketWrapup(_) => Err(BridgeError::validation(
            "kind",
            "ticket.wrapup jobs belong on the ticket-status queue, not the attribute-writer queue; check webhook-ingest's routing",
        )),
        Job::MessageAgentless(_) => Err(BridgeError::validation(
            "kind",
            "message.agentless jobs belong on the agentless-messages queue, not the attribute-writer queue; check webhook-ingest's routing",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORG: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
    const CONV: &str = "c0a00001-0000-4000-8000-000000000000";
    const PART: &str = "c0a00001-0000-4000-8000-00000000c001";

    fn input(extra: Value) -> Value {
        let mut v = json!({"orgId": ORG, "conversationId": CONV, "participantId": PART});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn values_are_normalised_to_strings() {
        let rows: Vec<(Value, &str)> = vec![
            (json!("gold"), "gold"),
            (json!(""), ""),
            (json!(42), "42"),
            (json!(-7), "-7"),
            (json!(2.5), "2.5"),
            (json!(true), "true"),
            (json!(false), "false"),
            (json!("ünïcödé ✓"), "ünïcödé ✓"),
        ];
        for (value, want) in rows {
            let got = normalize(json!({"k": value.clone()}).as_object().unwrap()).unwrap();
            assert_eq!(got["k"], want, "{value}");
        }
    }

    #[test]
    fn nested_values_are_refused_naming_the_key() {
        let rows = [
            (
                json!({"crm": {"tier": "gold"}}),
                "attributes.crm",
                "an object",
            ),
            (json!({"tags": ["a", "b"]}), "attributes.tags", "an array"),
            (json!({"gone": null}), "attributes.gone", "null"),
        ];
        for (attrs, field, what) in rows {
            let e = normalize(attrs.as_object().unwrap()).unwrap_err();
            assert_eq!(e.error_type(), "Input.InvalidInput");
            assert_eq!(e.field.as_deref(), Some(field), "{e}");
            assert!(e.to_string().contains(what), "{e}");
        }
        let e = normalize(&Map::new()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("attributes"));
        assert!(e.message.contains("empty"), "{e}");
    }

    #[test]
    fn input_table() {
        // (input, Ok(attributes, verify) | Err(field, message part))
        type Want = std::result::Result<
            (Vec<(&'static str, &'static str)>, bool),
            (&'static str, &'static str),
        >;
        let rows: Vec<(Value, Want)> = vec![
            (
                input(json!({"attributes": {"a": "1"}})),
                Ok((vec![("a", "1")], false)),
            ),
            (
                input(json!({"attributesJson": "{\"a\":\"1\",\"n\":3}", "verify": true})),
                Ok((vec![("a", "1"), ("n", "3")], true)),
            ),
            (
                input(json!({"attributesJson": "{\"a\":\"x\"}", "verify": "true"})),
                Ok((vec![("a", "x")], true)),
            ),
            (
                input(json!({"attributes": {"a": "1"}, "attributesJson": ""})),
                Ok((vec![("a", "1")], false)),
            ),
            (
                input(json!({"attributes": {"a": "1"}, "verify": null})),
                Ok((vec![("a", "1")], false)),
            ),
            (
                input(json!({"attributes": {"a": "1"}, "verify": 1})),
                Err(("verify", "true or false")),
            ),
            (
                input(json!({})),
                Err(("attributes", "at least one attribute")),
            ),
            (
                input(json!({"attributes": {}})),
                Err(("attributes", "empty")),
            ),
            (
                input(json!({"attributesJson": "{}"})),
                Err(("attributes", "empty")),
            ),
            (
                input(json!({"attributes": "a=1"})),
                Err(("attributes", "got a string")),
            ),
            (
                input(json!({"attributesJson": "{\"a\":\"1\""})),
                Err(("attributesJson", "not valid JSON")),
            ),
            (
                input(json!({"attributesJson": "[1,2]"})),
                Err(("attributesJson", "holds an array")),
            ),
            (
                input(json!({"attributesJson": {"a": "1"}})),
                Err(("attributesJson", "expected a string")),
            ),
            (
                input(json!({"attributes": {"a": "1"}, "attributesJson": "{\"b\":\"2\"}"})),
                Err(("attributes", "not both")),
            ),
            (
                input(json!({"attributesJson": "{\"x\":{\"y\":1}}"})),
                Err(("attributes.x", "an object")),
            ),
            (
                input(json!({"conversationId": "12345", "attributes": {"a": "1"}})),
                Err(("conversationId", "expected a UUID")),
            ),
            (
                input(json!({"participantId": 7, "attributes": {"a": "1"}})),
                Err(("participantId", "got a number")),
            ),
            (
                input(json!({"orgId": "acme", "attributes": {"a": "1"}})),
                Err(("orgId", "expected a UUID")),
            ),
            (
                json!({"conversationId": CONV, "participantId": PART, "attributes": {"a": "1"}}),
                Err(("orgId", "missing")),
            ),
            (json!([1]), Err(("event", "an array"))),
        ];
        for (event, want) in rows {
            let got = parse_action_input(&event);
            match (got, want) {
                (Ok(i), Ok((attrs, verify))) => {
                    let want: BTreeMap<String, String> = attrs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    assert_eq!(i.attributes, want, "{event}");
                    assert_eq!(i.verify, verify, "{event}");
                    assert_eq!(i.org_id, ORG);
                }
                (Err(e), Err((field, part))) => {
                    assert_eq!(e.field.as_deref(), Some(field), "{event}: {e}");
                    assert!(e.to_string().contains(part), "{event}: {e} lacks {part:?}");
                    assert_eq!(e.error_type(), "Input.InvalidInput");
                }
                (got, want) => panic!("{event}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn ids_are_normalised() {
        let i = parse_action_input(&json!({
            "orgId": ORG.to_uppercase(), "conversationId": format!(" {CONV} "),
            "participantId": PART, "attributes": {"a": "b"}
        }))
        .unwrap();
        assert_eq!(i.org_id, ORG);
        assert_eq!(i.conversation_id, CONV);
        let e = parse_action_input(&json!({"orgId": "acme"})).unwrap_err();
        assert!(
            e.hint.as_deref().unwrap_or("").contains("request template"),
            "{e}"
        );
    }

    #[test]
    fn job_table() {
        let job = |kind: &str, payload: Value| -> Job {
            serde_json::from_value(json!({"kind": kind, "payload": payload})).unwrap()
        };
        let change =
            json!([{"field": "$.customFields.tier_text", "value": "gold", "action": "Update"}]);
        let ok = parse_job(job(
            "participant.attributes",
            json!({"conversationId": CONV.to_uppercase(), "participantId": PART, "attributes": {"a": "1"}}),
        ))
        .unwrap();
        assert!(
            matches!(&ok, JobInput::Write { conversation_id, .. } if conversation_id == CONV),
            "{ok:?}"
        );
        let enrich = |extra: Value| {
            let mut p = json!({"conversationId": CONV, "participantId": PART});
            for (k, v) in extra.as_object().unwrap() {
                p[k] = v.clone();
            }
            match parse_job(job("participant.enrich", p)).unwrap() {
                JobInput::Enrich(e) => e.lookup,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            enrich(json!({"phone": " +1 555 ", "email": "a@b.c"})),
            Some(UserLookup::Phone("+1 555".into()))
        );
        assert_eq!(
            enrich(json!({"phone": " ", "email": "a@b.c"})),
            Some(UserLookup::Email("a@b.c".into()))
        );
        assert_eq!(enrich(json!({})), None);
        let rows: Vec<(Job, &str)> = vec![
            (
                job(
                    "participant.attributes",
                    json!({"conversationId": CONV, "participantId": "12345", "attributes": {}}),
                ),
                "payload.participantId",
            ),
            (
                job(
                    "participant.enrich",
                    json!({"conversationId": "c1", "participantId": PART}),
                ),
                "payload.conversationId",
            ),
            (
                job(
                    "contact.fields",
                    json!({"contactId": "jane", "changes": change}),
                ),
                "payload.contactId",
            ),
            (
                job("contact.fields", json!({"contactId": CONV, "changes": []})),
                "payload.changes",
            ),
            (
                job(
                    "ticket.wrapup",
                    json!({"conversationId": CONV, "participantId": PART, "eventTimeMs": 1}),
                ),
                "kind",
            ),
        ];
        for (j, field) in rows {
            let e = parse_job(j).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{e}");
            assert_eq!(e.error_type(), "Input.InvalidInput");
        }
    }
}
