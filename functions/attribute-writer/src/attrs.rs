//! Pure validation of attribute writes: what a data action or a job asks for, checked and
//! normalised before any upstream call.
//!
//! Genesys stores participant attributes as strings only and documents no size limits
//! outside bot flows, so this module is where "a number was sent", "a nested object was
//! sent" and "this value is too long for the org's configured limit" become clear errors that
//! name the key, instead of a 400 from Genesys or, worse, a 202 and nothing stored.

use std::collections::BTreeMap;

use bridge::config::{AttributeLimits, AttributeViolation};
use bridge::{BridgeError, Result};
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

/// A UUID field of the input, normalised to lower-case hyphenated form.
pub fn uuid_input(field: &str, value: Option<&Value>) -> Result<String> {
    match value {
        Some(Value::String(s)) => bridge::input::uuid_field(field, s),
        Some(other) => Err(BridgeError::validation(
            field,
            format!("expected a UUID string; got {}", kind(other)),
        )),
        None => Err(BridgeError::validation(
            field,
            "expected a UUID; the field is missing",
        )),
    }
}

/// Reads a data action input object: `{orgId, conversationId, participantId, attributes |
/// attributesJson, verify?}`. Unknown fields are ignored (the action's input schema allows
/// them, and Architect may add some).
pub fn parse_action_input(event: &Value) -> Result<ActionInput> {
    let Value::Object(obj) = event else {
        return Err(BridgeError::validation(
            "event",
            format!(
                "expected the data action's input object; got {}",
                kind(event)
            ),
        ));
    };
    let org_id = uuid_input("orgId", obj.get("orgId")).map_err(|mut e| {
        // The org id is not something the flow designer types: it comes from the request
        // template, so say where to fix it.
        e.hint = Some(
            "the data action's request template must supply the Genesys org id (see infra/genesys/README.md)"
                .into(),
        );
        e
    })?;
    let conversation_id = uuid_input("conversationId", obj.get("conversationId"))?;
    let participant_id = uuid_input("participantId", obj.get("participantId"))?;
    let raw = attribute_object(obj)?;
    let attributes = normalize(&raw)?;
    let verify = match obj.get("verify") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        // Architect hands booleans over as text in some places; accept the two spellings.
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") || s.is_empty() => false,
        Some(other) => {
            return Err(BridgeError::validation(
                "verify",
                format!("expected true or false; got {}", kind(other)),
            ))
        }
    };
    Ok(ActionInput {
        org_id,
        conversation_id,
        participant_id,
        attributes,
        verify,
    })
}

/// The attributes as a JSON object, from `attributes` (an object) or `attributesJson` (an
/// object serialised as a string, which is how Architect builds dynamic maps).
fn attribute_object(obj: &Map<String, Value>) -> Result<Map<String, Value>> {
    let direct = obj.get("attributes").filter(|v| !v.is_null());
    let text = obj
        .get("attributesJson")
        .filter(|v| !v.is_null() && v.as_str() != Some(""));
    match (direct, text) {
        (Some(_), Some(_)) => Err(BridgeError::validation(
            "attributes",
            "expected either `attributes` (an object) or `attributesJson` (a string), not both",
        )),
        (Some(Value::Object(m)), None) => Ok(m.clone()),
        (Some(other), None) => Err(BridgeError::validation(
            "attributes",
            format!(
                "expected an object of attribute names to values; got {}",
                kind(other)
            ),
        )),
        (None, Some(Value::String(s))) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(other) => Err(BridgeError::validation(
                "attributesJson",
                format!(
                    "expected a JSON object such as {{\"crm_tier\":\"gold\"}}; the string holds {}",
                    kind(&other)
                ),
            )),
            Err(e) => Err(BridgeError::validation(
                "attributesJson",
                format!(
                    "expected a JSON object such as {{\"crm_tier\":\"gold\"}}; the string is not valid JSON ({e}); escape quotes and backslashes in the values"
                ),
            )),
        },
        (None, Some(other)) => Err(BridgeError::validation(
            "attributesJson",
            format!("expected a string holding a JSON object; got {}", kind(other)),
        )),
        (None, None) => Err(BridgeError::validation(
            "attributes",
            "expected `attributes` (an object) or `attributesJson` (a JSON object as a string) with at least one attribute",
        )),
    }
}

/// Strings pass; numbers and booleans become their string form; objects, arrays and nulls
/// are refused with the key named. An empty set is refused.
pub fn normalize(raw: &Map<String, Value>) -> Result<BTreeMap<String, String>> {
    if raw.is_empty() {
        return Err(BridgeError::validation(
            "attributes",
            "expected at least one attribute to write; the set is empty",
        ));
    }
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => {
                return Err(BridgeError::validation(
                    key_field(key),
                    format!(
                        "attribute {key:?} is {}; expected a string, number or boolean (Genesys stores participant attributes as strings only; serialise nested data yourself, or send \"\" to blank a value)",
                        kind(value)
                    ),
                ))
            }
        };
        out.insert(key.clone(), text);
    }
    Ok(out)
}

/// Checks a set of attributes against the org's limits (`rules.attributeLimits`); the error
/// names the key and the limit that was hit.
pub fn check_limits(attributes: &BTreeMap<String, String>, limits: &AttributeLimits) -> Result<()> {
    let Some(violation) = limits.violation(attributes) else {
        return Ok(());
    };
    Err(match violation {
        AttributeViolation::Empty => BridgeError::validation(
            "attributes",
            "expected at least one attribute to write; the set is empty",
        ),
        AttributeViolation::TooManyKeys { count } => BridgeError::validation(
            "attributes",
            format!(
                "{count} attributes in one write; the limit for this org is {} (rules.attributeLimits.maxKeys)",
                limits.max_keys
            ),
        ),
        AttributeViolation::BlankKey { .. } => BridgeError::validation(
            "attributes",
            "attribute names must not be empty or blank",
        ),
        AttributeViolation::KeyTooLong { key, chars } => BridgeError::validation(
            key_field(key),
            format!(
                "attribute name {:?} is {chars} characters long; the limit for this org is {} (rules.attributeLimits.maxKeyChars)",
                preview(key),
                limits.max_key_chars
            ),
        ),
        AttributeViolation::ValueTooLong { key, chars } => BridgeError::validation(
            key_field(key),
            format!(
                "the value of attribute {key:?} is {chars} characters long; the limit for this org is {} (rules.attributeLimits.maxValueChars)",
                limits.max_value_chars
            ),
        ),
    })
}

/// The field name an error reports for one attribute.
fn key_field(key: &str) -> String {
    format!("attributes.{}", preview(key))
}

/// Long keys are cut in messages (the full one is useless in a log line).
fn preview(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(64).collect::<String>())
    }
}

use bridge::input::json_kind as kind;

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
    }

    #[test]
    fn limits_table() {
        let limits = AttributeLimits {
            max_keys: 3,
            max_key_chars: 8,
            max_value_chars: 5,
        };
        let set = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ok = [
            set(&[("a", "12345")]),
            set(&[("abcdefgh", "")]),
            set(&[("a", "1"), ("b", "2"), ("c", "3")]),
            // Characters, not bytes: five two-byte characters fit a five-character limit.
            set(&[("é", "ééééé")]),
        ];
        for s in ok {
            check_limits(&s, &limits).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        }
        let bad: Vec<(BTreeMap<String, String>, &str, &str)> = vec![
            (set(&[]), "attributes", "empty"),
            (
                set(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]),
                "attributes",
                "maxKeys",
            ),
            (
                set(&[("abcdefghi", "1")]),
                "attributes.abcdefghi",
                "maxKeyChars",
            ),
            (
                set(&[("tier", "123456")]),
                "attributes.tier",
                "maxValueChars",
            ),
            (set(&[(" ", "1")]), "attributes", "empty or blank"),
        ];
        for (s, field, part) in bad {
            let e = check_limits(&s, &limits).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{s:?}: {e}");
            assert!(e.to_string().contains(part), "{e}");
        }
        // Defaults (documented in the README).
        let d = AttributeLimits::default();
        assert_eq!(
            (d.max_keys, d.max_key_chars, d.max_value_chars),
            (50, 128, 2000)
        );
    }
}
