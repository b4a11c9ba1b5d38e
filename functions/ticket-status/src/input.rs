//! Pure reading of what arrives, through `bridge::input`: the data action's input (`{orgId,
//! ticketId, status, comment?, public?}`) and the payload of a `ticket.wrapup` job.
//! Everything is checked before any call, and every refusal names the field and what was
//! expected.

use bridge::config::TICKET_STATUSES;
use bridge::input::{json_kind, preview, Fields, PREVIEW_CHARS};
use bridge::jobs::{Job, TicketWrapup};
use bridge::{BridgeError, Result};
use serde_json::Value;

/// The fields the data action may send; anything else is a contract mismatch.
pub const INPUT_FIELDS: [&str; 5] = ["orgId", "ticketId", "status", "comment", "public"];

/// What a Zendesk ticket id looks like, for messages.
const TICKET_ID: &str = "expected a Zendesk ticket id: digits only, e.g. \"1001\" or 1001";

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
        let f = Fields::of(event, "")?;
        f.only(&INPUT_FIELDS)?;
        let org_id = f.uuid("orgId").map_err(|e| {
            e.with_hint("the data action's request template must supply the Genesys org id (see infra/genesys/README.md)")
        })?;
        let ticket_id = f
            .opt_id("ticketId")
            .map_err(|_| {
                f.invalid(
                    "ticketId",
                    format!("{TICKET_ID}; got {}", shown(f.get("ticketId"))),
                )
            })?
            .ok_or_else(|| {
                f.invalid(
                    "ticketId",
                    format!("missing: {TICKET_ID} (empty or unset: is the flow variable set?)"),
                )
            })?;
        Ok(ActionInput {
            org_id,
            ticket_id,
            status: status(&f)?,
            // Architect sends "" for an unset optional string: that means "no comment".
            comment: f.opt_text("comment")?.map(str::to_string),
            public: f.opt_bool("public")?.unwrap_or(false),
        })
    }
}

/// A value as a refusal quotes it: strings cut to a preview, other values by their type.
fn shown(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => format!("{:?}", preview(s, PREVIEW_CHARS)),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => json_kind(other).to_string(),
        None => "nothing".into(),
    }
}

fn status(f: &Fields<'_>) -> Result<String> {
    let expected = format!(
        "expected a Zendesk status: one of {}",
        TICKET_STATUSES.join(", ")
    );
    match f.get("status") {
        Some(Value::String(s)) if TICKET_STATUSES.contains(&s.as_str()) => Ok(s.clone()),
        Some(Value::String(s)) => Err(f.invalid(
            "status",
            format!("{expected} (lower case); got {:?}", preview(s, 40)),
        )),
        None => Err(f.invalid("status", format!("missing: {expected}"))),
        Some(other) => Err(f.invalid("status", format!("{expected}; got {}", json_kind(other)))),
    }
}

/// The wrap-up of a queued job; any other kind is a routing bug in the producer.
pub fn wrapup_job(job: Job) -> Result<TicketWrapup> {
    let wrapup = match job {
        Job::TicketWrapup(w) => w,
        other => {
            return Err(BridgeError::validation(
                "kind",
                format!(
                    "this function takes \"ticket.wrapup\" jobs; got {:?} (a routing bug in the producer: the job belongs on the attribute-writer queue)",
                    other.kind()
                ),
            ))
        }
    };
    if wrapup.ticket_id == Some(0) {
        return Err(BridgeError::validation(
            "payload.ticketId",
            "expected a Zendesk ticket id (1 or more); got 0",
        ));
    }
    Ok(wrapup)
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
    fn comments_are_kept_as_written_and_ids_are_quoted_cut() {
        let i = ActionInput::parse(
            &json!({"orgId": ORG, "ticketId": "1", "status": "open", "comment": " line 1\nline 2 "}),
        )
        .unwrap();
        assert_eq!(i.comment.as_deref(), Some(" line 1\nline 2 "));
        let e = ActionInput::parse(
            &json!({"orgId": ORG, "ticketId": "9".repeat(10_000) + "x", "status": "open"}),
        )
        .unwrap_err();
        assert!(e.message.len() < 300, "{}", e.message.len());
        let e = ActionInput::parse(&json!({"ticketId": "1", "status": "open"})).unwrap_err();
        assert!(
            e.hint.as_deref().unwrap_or("").contains("request template"),
            "{e}"
        );
    }

    #[test]
    fn wrapup_jobs_only() {
        let job = |kind: &str, payload: Value| -> Job {
            serde_json::from_value(json!({"kind": kind, "payload": payload})).unwrap()
        };
        let w = json!({"conversationId": "c", "participantId": "p", "eventTimeMs": 1});
        assert!(wrapup_job(job("ticket.wrapup", w.clone())).is_ok());
        let mut zero = w.clone();
        zero["ticketId"] = json!(0);
        assert_eq!(
            wrapup_job(job("ticket.wrapup", zero))
                .unwrap_err()
                .field
                .as_deref(),
            Some("payload.ticketId")
        );
        let e = wrapup_job(job(
            "participant.attributes",
            json!({"conversationId": "c", "participantId": "p", "attributes": {}}),
        ))
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("kind"));
        assert!(e.message.contains("participant.attributes"), "{e}");
    }
}
