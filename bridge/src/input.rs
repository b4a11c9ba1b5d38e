//! Reading untrusted input (events, data action inputs, job payloads): errors are
//! `Input.InvalidInput`, name the field, say what was expected, and never echo long content.

use serde_json::Value;

use crate::config::{uuid_expectation, validate_uuid};
use crate::error::{BridgeError, Result};

/// Names a JSON value's type for messages ("a number", "an object").
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A Genesys id from input: a canonical lower-case hyphenated UUID, or a validation error
/// naming `field`.
pub fn uuid_field(field: &str, value: &str) -> Result<String> {
    validate_uuid(field, value).map_err(|_| BridgeError::validation(field, uuid_expectation(value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_and_uuids() {
        assert_eq!(json_kind(&json!({})), "an object");
        assert_eq!(json_kind(&json!(1.5)), "a number");
        assert_eq!(
            uuid_field("conversationId", "C0A00001-0000-4000-8000-000000000000").unwrap(),
            "c0a00001-0000-4000-8000-000000000000"
        );
        let e = uuid_field("conversationId", "abc").unwrap_err();
        assert_eq!(e.error_type(), "Input.InvalidInput");
        assert_eq!(e.field.as_deref(), Some("conversationId"));
    }
}
