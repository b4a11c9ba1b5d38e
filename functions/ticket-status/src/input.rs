//! The Architect data action's contract: the input it sends and the flat output it reads.
//!
//! Input `{orgId, ticketId, status, comment?, public?}`; output `{ok, ticketId, status,
//! previousStatus, changed, followUpTicketId}`. Everything is checked before any call, and
//! every rejection names the field and what was expected.

use bridge::config::TICKET_STATUSES;
use bridge::{BridgeError, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// The fields the data action may send; anything else is a contract mismatch.
pub const INPUT_FIELDS: [&str; 5] = ["orgId", "ticketId", "status", "comment", "public"];

/// A validated data action request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionInput {
    /// Lower-case hyphenated UUID.
    pub org_id: String,
    pub ticket_id: u64,
    /// One of [`TICKET_STATUSES`].
    pub status: String,
    /// `None` when absent, null or blank.
    pub comment: Option<String>,
    /// Whether the comment is visible to the requester (default false: an internal note).
    pub public: bool,
}

impl ActionInput {
    pub fn parse(event: &Value) -> Result<ActionInput> {
        let obj = event.as_object().ok_or_else(|| {
            BridgeError::validation(
                "<event>",
                format!(
                    "expected the data action input object {{orgId, ticketId, status, comment?, public?}}; got {}",
                    json_kind(event)
                ),
            )
        })?;
        if let Some(unknown) = obj.keys().find(|k| !INPUT_FIELDS.contains(&k.as_str())) {
            return Err(BridgeError::validation(
                unknown.clone(),
                format!(
                    "unknown input field; expected only {} (check the data action's input contract)",
                    INPUT_FIELDS.join(", ")
                ),
            ));
        }
        Ok(ActionInput {
            org_id: org_id(obj)?,
            ticket_id: ticket_id_value("ticketId", obj.get("ticketId").unwrap_or(&Value::Null))?,
            status: status(obj)?,
            comment: comment(obj)?,
            public: public(obj)?,
        })
    }
}

fn org_id(obj: &Map<String, Value>) -> Result<String> {
    match obj.get("orgId") {
        None | Some(Value::Null) => Err(BridgeError::validation(
            "orgId",
            "missing: expected the Genesys org id (a UUID); the data action's request template must supply it",
        )),
        Some(Value::String(s)) => bridge::input::uuid_field("orgId", s),
        Some(other) => Err(BridgeError::validation(
            "orgId",
            format!("expected the Genesys org id as a string (a UUID); got {}", json_kind(other)),
        )),
    }
}

/// A Zendesk ticket id given as a JSON string of digits or a whole number.
pub fn ticket_id_value(field: &str, v: &Value) -> Result<u64> {
    let expected = "expected a Zendesk ticket id: digits only, e.g. \"1001\" or 1001";
    match v {
        Value::Null => Err(BridgeError::validation(
            field,
            format!("missing: {expected}"),
        )),
        Value::String(s) => parse_ticket_id(s).ok_or_else(|| {
            let shown: String = s.chars().take(40).collect();
            let why = if s.trim().is_empty() {
                " (empty: is the flow variable set?)"
            } else {
                ""
            };
            BridgeError::validation(field, format!("{expected}; got {shown:?}{why}"))
        }),
        Value::Number(n) => n
            .as_u64()
            .filter(|id| *id > 0)
            .ok_or_else(|| BridgeError::validation(field, format!("{expected}; got {n}"))),
        other => Err(BridgeError::validation(
            field,
            format!("{expected}; got {}", json_kind(other)),
        )),
    }
}

/// Digits only (surrounding blanks allowed), non-zero, fits in u64.
pub fn parse_ticket_id(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|id| *id > 0)
}

fn status(obj: &Map<String, Value>) -> Result<String> {
    let expected = format!(
        "expected a Zendesk status: one of {}",
        TICKET_STATUSES.join(", ")
    );
    match obj.get("status") {
        Some(Value::String(s)) if TICKET_STATUSES.contains(&s.as_str()) => Ok(s.clone()),
        Some(Value::String(s)) => Err(BridgeError::validation(
            "status",
            format!(
                "{expected} (lower case); got {:?}",
                s.chars().take(40).collect::<String>()
            ),
        )),
        None | Some(Value::Null) => Err(BridgeError::validation(
            "status",
            format!("missing: {expected}"),
        )),
        Some(other) => Err(BridgeError::validation(
            "status",
            format!("{expected}; got {}", json_kind(other)),
        )),
    }
}

fn comment(obj: &Map<String, Value>) -> Result<Option<String>> {
    match obj.get("comment") {
        None | Some(Value::Null) => Ok(None),
        // Architect sends "" for an unset optional string: that means "no comment".
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(BridgeError::validation(
            "comment",
            format!("expected a string (or nothing); got {}", json_kind(other)),
        )),
    }
}

fn public(obj: &Map<String, Value>) -> Result<bool> {
    match obj.get("public") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(BridgeError::validation(
            "public",
            format!(
                "expected true or false (default false: an internal note); got {}",
                json_kind(other)
            ),
        )),
    }
}

pub use bridge::input::json_kind;

/// The data action's success output: flat strings and booleans, as Architect wants them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutput {
    pub ok: bool,
    pub ticket_id: String,
    /// The status asked for.
    pub status: String,
    /// The status the ticket had when read.
    pub previous_status: String,
    /// Whether this call changed the ticket's status.
    pub changed: bool,
    /// The follow-up ticket created for a closed ticket (`rules.closedTicket: "followUp"`),
    /// `""` when none.
    pub follow_up_ticket_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORG: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";

    #[test]
    fn parses_the_contract() {
        let i = ActionInput::parse(
            &json!({"orgId": ORG, "ticketId": "1001", "status": "solved",
                                           "comment": "Resolved on the phone", "public": true}),
        )
        .unwrap();
        assert_eq!(
            i,
            ActionInput {
                org_id: ORG.into(),
                ticket_id: 1001,
                status: "solved".into(),
                comment: Some("Resolved on the phone".into()),
                public: true
            }
        );
        let i = ActionInput::parse(
            &json!({"orgId": ORG.to_uppercase(), "ticketId": 7, "status": "hold",
                                           "comment": "", "public": null}),
        )
        .unwrap();
        assert_eq!(
            (i.org_id.as_str(), i.ticket_id, i.comment, i.public),
            (ORG, 7, None, false)
        );
    }

    #[test]
    fn rejections_name_the_field() {
        let base = json!({"orgId": ORG, "ticketId": "1001", "status": "solved"});
        let rows: Vec<(&str, Value)> = vec![
            ("orgId", json!(null)),
            ("orgId", json!("acme")),
            ("orgId", json!(42)),
            ("ticketId", json!(null)),
            ("ticketId", json!("")),
            ("ticketId", json!("12a")),
            ("ticketId", json!("-3")),
            ("ticketId", json!("0")),
            ("ticketId", json!(0)),
            ("ticketId", json!(-1)),
            ("ticketId", json!(10.5)),
            ("ticketId", json!("99999999999999999999999")),
            ("ticketId", json!(["1"])),
            ("status", json!("done")),
            ("status", json!("Solved")),
            ("status", json!(null)),
            ("status", json!(3)),
            ("comment", json!({"body": "x"})),
            ("public", json!("yes")),
        ];
        for (field, value) in rows {
            let mut ev = base.clone();
            ev[field] = value.clone();
            let e = ActionInput::parse(&ev).expect_err(&format!("{field}={value}"));
            assert_eq!(e.field.as_deref(), Some(field), "{field}={value}: {e}");
            assert_eq!(e.error_type(), "Input.InvalidInput");
        }
        let e = ActionInput::parse(
            &json!({"orgId": ORG, "ticketId": "1", "status": "open", "ticketID": "2"}),
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("ticketID"));
        let e = ActionInput::parse(&json!([1, 2])).unwrap_err();
        assert!(e.message.contains("an array"), "{e}");
        let e = ActionInput::parse(&json!({"orgId": ORG, "ticketId": " ", "status": "open"}))
            .unwrap_err();
        assert!(e.message.contains("flow variable"), "{e}");
    }

    #[test]
    fn output_is_flat_camel_case() {
        let o = ActionOutput {
            ok: true,
            ticket_id: "1001".into(),
            status: "solved".into(),
            previous_status: "open".into(),
            changed: true,
            follow_up_ticket_id: String::new(),
        };
        assert_eq!(
            serde_json::to_value(o).unwrap(),
            json!({"ok": true, "ticketId": "1001", "status": "solved", "previousStatus": "open",
                   "changed": true, "followUpTicketId": ""})
        );
    }
}
