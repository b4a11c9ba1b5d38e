//! Which Lambda event an invocation payload is: the one classifier every function and the
//! `bridge` CLI use, so that "is this an SQS batch?" has one answer everywhere.
//!
//! The four kinds are told apart by structure only, never by a field a data action's
//! request template could also send. Each edge case has one answer (table-tested below):
//!
//! | payload | kind |
//! |---|---|
//! | not a JSON object | refused, field `event` |
//! | `requestContext` is an object with `http` | [`EventKind::FunctionUrl`] |
//! | `requestContext` anything else | refused, field `requestContext` |
//! | `Records` is an array whose records all say `eventSource: "aws:sqs"` | [`EventKind::SqsBatch`] |
//! | `Records: []` | [`EventKind::SqsBatch`] with nothing in it (SQS never sends one; answering "no failures" harms nothing) |
//! | `Records` not an array | refused, field `Records` |
//! | a record that is not an object, or whose `eventSource` is missing or not `aws:sqs` | refused, field `Records[i].eventSource` |
//! | both `source` and `detail-type` | [`EventKind::EventBridge`] (EventBridge always sets both) |
//! | only one of `source` / `detail-type` | refused, naming the missing one |
//! | any other object | [`EventKind::DataAction`] (the action's input object, as Genesys sends it) |
//!
//! A function then says which kinds it takes ([`accept`]); any other kind is refused with a
//! message that names what the function takes and what arrived.

use serde_json::Value;

use crate::error::{BridgeError, Result};
use crate::input::json_kind;

/// The kinds of invocation payload the functions receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The input object of a Genesys Cloud AWS Lambda data action (no envelope).
    DataAction,
    /// An SQS event (`Records[].eventSource == "aws:sqs"`), from an event source mapping.
    SqsBatch,
    /// An EventBridge event (`source`, `detail-type`, `detail`), e.g. a Genesys partner event.
    EventBridge,
    /// A Lambda Function URL request (`requestContext.http`).
    FunctionUrl,
}

impl EventKind {
    /// Words for messages and reports ("an SQS batch").
    pub fn describe(self) -> &'static str {
        match self {
            EventKind::DataAction => "data action input",
            EventKind::SqsBatch => "an SQS batch",
            EventKind::EventBridge => "an EventBridge event",
            EventKind::FunctionUrl => "a Function URL request",
        }
    }
}

/// The SQS event source name in `Records[].eventSource`.
pub const SQS_EVENT_SOURCE: &str = "aws:sqs";

/// Tells which kind `event` is (see the module table).
pub fn classify(event: &Value) -> Result<EventKind> {
    let Some(obj) = event.as_object() else {
        return Err(BridgeError::validation(
            "event",
            format!(
                "expected a JSON object (data action input, SQS batch, EventBridge event or Function URL request); got {}",
                json_kind(event)
            ),
        ));
    };
    if let Some(rc) = obj.get("requestContext") {
        return match rc.get("http") {
            Some(http) if rc.is_object() && http.is_object() => Ok(EventKind::FunctionUrl),
            _ => Err(BridgeError::validation(
                "requestContext",
                "expected the Function URL request context {\"http\": {\"method\", \"path\", ...}, ...}",
            )),
        };
    }
    if let Some(records) = obj.get("Records") {
        let Some(records) = records.as_array() else {
            return Err(BridgeError::validation(
                "Records",
                format!(
                    "expected an array of SQS records; got {}",
                    json_kind(records)
                ),
            ));
        };
        for (i, r) in records.iter().enumerate() {
            let source = r.get("eventSource").and_then(Value::as_str);
            if source != Some(SQS_EVENT_SOURCE) {
                let got = match source {
                    Some(s) => format!("{:?}", crate::input::preview(s, 40)),
                    None => "none".to_string(),
                };
                return Err(BridgeError::validation(
                    format!("Records[{i}].eventSource"),
                    format!("expected \"{SQS_EVENT_SOURCE}\" (only SQS event source mappings are wired to these functions); got {got}"),
                ));
            }
        }
        return Ok(EventKind::SqsBatch);
    }
    match (obj.contains_key("source"), obj.contains_key("detail-type")) {
        (true, true) => Ok(EventKind::EventBridge),
        (true, false) => Err(BridgeError::validation(
            "detail-type",
            "expected an EventBridge event: `source` is set but `detail-type` is missing",
        )),
        (false, true) => Err(BridgeError::validation(
            "source",
            "expected an EventBridge event: `detail-type` is set but `source` is missing",
        )),
        (false, false) => Ok(EventKind::DataAction),
    }
}

/// Classifies `event` and checks that `function` takes that kind; the refusal names what
/// the function takes and what arrived.
pub fn accept(event: &Value, function: &str, takes: &[EventKind]) -> Result<EventKind> {
    let kind = classify(event)?;
    if takes.contains(&kind) {
        return Ok(kind);
    }
    let wanted = takes
        .iter()
        .map(|k| k.describe())
        .collect::<Vec<_>>()
        .join(" or ");
    Err(BridgeError::validation(
        "event",
        format!(
            "{function} takes {wanted}; this is {} (check what invokes the function)",
            kind.describe()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_answer_per_edge_case() {
        type Want = std::result::Result<EventKind, &'static str>;
        let sqs = |src: Value| json!({"Records": [{"messageId": "m1", "eventSource": src, "body": "{}"}]});
        let rows: Vec<(Value, Want)> = vec![
            (json!({"orgId": "x"}), Ok(EventKind::DataAction)),
            (json!({}), Ok(EventKind::DataAction)),
            (sqs(json!("aws:sqs")), Ok(EventKind::SqsBatch)),
            (json!({"Records": []}), Ok(EventKind::SqsBatch)),
            (sqs(json!("aws:sns")), Err("Records[0].eventSource")),
            (sqs(Value::Null), Err("Records[0].eventSource")),
            (
                json!({"Records": [{"body": "{}"}]}),
                Err("Records[0].eventSource"),
            ),
            (json!({"Records": [1]}), Err("Records[0].eventSource")),
            (
                json!({"Records": [{"eventSource": "aws:sqs"}, {"eventSource": "aws:s3"}]}),
                Err("Records[1].eventSource"),
            ),
            (json!({"Records": 1}), Err("Records")),
            (
                json!({"Records": {"eventSource": "aws:sqs"}}),
                Err("Records"),
            ),
            (
                json!({"source": "aws.partner/genesys.com/cloud/x/y", "detail-type": "t", "detail": {}}),
                Ok(EventKind::EventBridge),
            ),
            (
                json!({"source": "x", "detail-type": "t"}),
                Ok(EventKind::EventBridge),
            ),
            (json!({"source": "x", "detail": {}}), Err("detail-type")),
            (json!({"detail-type": "t", "detail": {}}), Err("source")),
            (
                json!({"requestContext": {"http": {"method": "POST"}}, "rawPath": "/"}),
                Ok(EventKind::FunctionUrl),
            ),
            (json!({"requestContext": {}}), Err("requestContext")),
            (json!({"requestContext": "x"}), Err("requestContext")),
            (json!([1]), Err("event")),
            (json!("text"), Err("event")),
            (Value::Null, Err("event")),
        ];
        for (event, want) in rows {
            match (classify(&event), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{event}"),
                (Err(e), Err(field)) => {
                    assert_eq!(e.field.as_deref(), Some(field), "{event}: {e}");
                    assert_eq!(e.error_type(), "Input.InvalidInput");
                }
                (got, want) => panic!("{event}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn long_event_sources_are_cut() {
        let long = "x".repeat(10_000);
        let e = classify(&json!({"Records": [{"eventSource": long}]})).unwrap_err();
        assert!(e.message.len() < 300, "{}", e.message.len());
    }

    #[test]
    fn accept_names_what_the_function_takes() {
        let e = accept(
            &json!({"orgId": "x"}),
            "webhook-ingest",
            &[EventKind::EventBridge, EventKind::FunctionUrl],
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("event"));
        assert!(
            e.message.contains("webhook-ingest takes an EventBridge event or a Function URL request; this is data action input"),
            "{e}"
        );
        assert_eq!(
            accept(
                &json!({"Records": []}),
                "ticket-status",
                &[EventKind::DataAction, EventKind::SqsBatch]
            )
            .unwrap(),
            EventKind::SqsBatch
        );
    }
}
