//! Reading untrusted input (events, data action inputs, commands, job payloads): the one
//! reader every function uses. Errors are `Input.InvalidInput`, name the field by its full
//! path (`payload.attributes.tier`), say what was expected, and never echo more than a
//! short preview of what was sent ([`preview`]).

use serde_json::{Map, Value};

use crate::error::{BridgeError, Result};

/// Longest piece of untrusted text any message or log line quotes (characters).
pub const PREVIEW_CHARS: usize = 64;

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

/// `s` cut to `max` characters, with `…` when something was cut: the one way untrusted text
/// is quoted in messages and logs (a 120 KB key must not become a 240 KB error). Control
/// characters are written escaped (`\n`, `\u{0}`), so that quoted text cannot break a log
/// line or hide in it.
pub fn preview(s: &str, max: usize) -> String {
    let (shown, cut) = match s.char_indices().nth(max) {
        None => (s, false),
        Some((end, _)) => (&s[..end], true),
    };
    let mut out = String::with_capacity(shown.len() + 3);
    for c in shown.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if cut {
        out.push('…');
    }
    out
}

/// What a UUID field expects, quoting at most a preview of what was sent.
pub fn uuid_expectation(value: &str) -> String {
    format!(
        "expected a UUID like 4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11; got {:?}",
        preview(value, PREVIEW_CHARS)
    )
}

/// `Some(lower-case hyphenated)` if `s` (trimmed) is a UUID in the usual 36-character form.
pub fn canonical_uuid(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::parse_str(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// A Genesys id from input: a canonical lower-case hyphenated UUID, or a validation error
/// naming `field`.
pub fn uuid_field(field: &str, value: &str) -> Result<String> {
    canonical_uuid(value).ok_or_else(|| BridgeError::validation(field, uuid_expectation(value)))
}

/// A positive id written as digits only (surrounding blanks allowed), e.g. a Zendesk ticket
/// id: `Some(id)` when it is at least 1 and fits in a `u64`. No sign, no other characters.
pub fn positive_id(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|id| *id > 0)
}

/// Significant digits every decimal number keeps through an `f64` (IEEE 754 double):
/// a decimal of at most 15 significant digits reads back exactly.
const EXACT_DIGITS: usize = 15;

/// The text a JSON number keeps when only its parsed form is left (the Lambda runtime
/// parsed the payload): whole numbers within 64 bits, and fractions of at most 15
/// significant digits written without an exponent. `None` for any other number: it may
/// have lost precision (`12345678901234567890123` reads as `1.2345678901234568e22`), so
/// its caller refuses it, naming the key.
pub fn number_text(n: &serde_json::Number) -> Option<String> {
    if n.is_u64() || n.is_i64() {
        return Some(n.to_string());
    }
    let text = n.to_string();
    let exact = !text.contains(['e', 'E'])
        && decimal(&text).is_some_and(|(_, digits, _)| digits.len() <= EXACT_DIGITS);
    exact.then_some(text)
}

/// Whether a JSON number written as `text` keeps its value when read by serde_json (which
/// reads anything that is not a 64-bit whole number as an `f64`). Compares decimal values,
/// not spellings: `2.50` and `25e-1` survive as 2.5; `12345678901234567890123` does not.
pub fn number_survives(text: &str) -> bool {
    let Ok(n) = text.parse::<serde_json::Number>() else {
        return false;
    };
    if n.is_u64() || n.is_i64() {
        return true;
    }
    match (decimal(text), decimal(&n.to_string())) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// A decimal number in canonical form: (negative, significant digits without leading or
/// trailing zeros, exponent of the first digit); zero is `(false, "", 0)`.
fn decimal(text: &str) -> Option<(bool, String, i64)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let all: String = int.chars().chain(frac.chars()).collect();
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_string();
    if digits.is_empty() {
        return Some((false, String::new(), 0));
    }
    // The position of the first significant digit relative to the decimal point.
    let point = int.len() as i64 - lead as i64 + exp;
    Some((negative, digits, point))
}

/// The path of the first number in `json` (text that already parsed as JSON) whose value
/// serde_json would change ([`number_survives`]), e.g. `payload.changes[0].value`; `None`
/// when every number survives. One pass over the text; keys in the path are cut with
/// [`preview`].
pub fn inexact_number(json: &str) -> Option<String> {
    // Keys are kept as spans of the text: the path is only written out for a bad number, so
    // the common case (every number survives) allocates nothing beyond the stack.
    enum Frame {
        Object(Option<(usize, usize)>),
        Array(usize),
    }
    let bytes = json.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut key_next = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                stack.push(Frame::Object(None));
                key_next = true;
            }
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object(_)) => key_next = true,
                Some(Frame::Array(n)) => *n += 1,
                None => {}
            },
            b'"' => {
                let end = string_end(bytes, i);
                if key_next {
                    if let Some(Frame::Object(k)) = stack.last_mut() {
                        *k = Some((i, end));
                    }
                    key_next = false;
                }
                i = end;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let end = i + bytes[i..]
                    .iter()
                    .position(|b| !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .unwrap_or(bytes.len() - i);
                if !number_survives(&json[i..end]) {
                    let mut path = String::new();
                    for f in &stack {
                        match f {
                            Frame::Object(Some((from, to))) => {
                                let key = serde_json::from_str::<String>(&json[*from..*to])
                                    .unwrap_or_default();
                                if !path.is_empty() {
                                    path.push('.');
                                }
                                path.push_str(&preview(&key, PREVIEW_CHARS));
                            }
                            Frame::Object(None) => {}
                            Frame::Array(n) => path.push_str(&format!("[{n}]")),
                        }
                    }
                    return Some(path);
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just past the string that starts at `start` (a `"`), escapes skipped.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// A typed view on a JSON object that names fields by their full path in errors.
///
/// Conventions, the same for every function: a `null` field counts as absent; a blank
/// string counts as absent for optional strings (Architect sends `""` for an unset
/// variable); ids are canonical UUIDs; whole numbers may come as JSON numbers or strings of
/// digits (Architect builds many values as text).
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    /// Path of this object (`""` for the root).
    at: String,
}

impl<'a> Fields<'a> {
    /// Reads `v` as an object found at path `at` (`""` for the root: fields are then named
    /// bare, `orgId`; otherwise `at.orgId`).
    pub fn of(v: &'a Value, at: &str) -> Result<Fields<'a>> {
        v.as_object()
            .map(|obj| Fields {
                obj,
                at: at.to_string(),
            })
            .ok_or_else(|| {
                let field = if at.is_empty() { "event" } else { at };
                BridgeError::validation(
                    field,
                    format!("expected a JSON object; got {}", json_kind(v)),
                )
            })
    }

    /// The full path of `name` under this object.
    pub fn path(&self, name: &str) -> String {
        if self.at.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.at)
        }
    }

    /// The raw map.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.obj
    }

    /// The field's value; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    /// An error for `name` that says what was expected.
    pub fn invalid(&self, name: &str, expected: impl Into<String>) -> BridgeError {
        BridgeError::validation(self.path(name), expected)
    }

    /// Refuses any field not in `allowed` (a contract mismatch, e.g. a typo in a request
    /// template), naming it (cut) and listing the allowed ones.
    pub fn only(&self, allowed: &[&str]) -> Result<()> {
        match self.obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(unknown) => Err(BridgeError::validation(
                // An empty key is still named: `""`.
                self.path(&match unknown.as_str() {
                    "" => "\"\"".to_string(),
                    k => preview(k, PREVIEW_CHARS),
                }),
                format!(
                    "unknown field; expected only {} (check the caller's contract)",
                    allowed.join(", ")
                ),
            )),
        }
    }

    /// A trimmed string; absent, null or blank is `None`.
    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(v) => Err(self.invalid(name, format!("expected a string; got {}", json_kind(v)))),
        }
    }

    /// A non-blank trimmed string.
    pub fn str(&self, name: &str) -> Result<&'a str> {
        self.opt_str(name)?
            .ok_or_else(|| self.invalid(name, "expected a non-empty string"))
    }

    /// Free text kept as sent (a comment, a note: its blanks and line breaks are the
    /// author's); absent, null or blank is `None`.
    pub fn opt_text(&self, name: &str) -> Result<Option<&'a str>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.invalid(name, format!("expected a string; got {}", json_kind(v)))),
        }
    }

    /// A Genesys id (UUID), canonical; absent, null or blank is `None`.
    pub fn opt_uuid(&self, name: &str) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            // The path is formatted only for the error: ids are read on every event.
            Some(Value::String(s)) => canonical_uuid(s)
                .map(Some)
                .ok_or_else(|| self.invalid(name, uuid_expectation(s))),
            Some(v) => Err(self.invalid(
                name,
                format!("expected a UUID string; got {}", json_kind(v)),
            )),
        }
    }

    /// A required Genesys id (UUID), canonical.
    pub fn uuid(&self, name: &str) -> Result<String> {
        self.opt_uuid(name)?
            .ok_or_else(|| self.invalid(name, "expected a UUID; the field is missing"))
    }

    /// A whole number, as a JSON number or a string of digits; absent, null or blank is
    /// `None`.
    pub fn opt_int(&self, name: &str) -> Result<Option<i64>> {
        let bad =
            |shown: String| self.invalid(name, format!("expected a whole number; got {shown}"));
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| bad(n.to_string())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| bad(format!("{:?}", preview(s, PREVIEW_CHARS)))),
            Some(v) => Err(bad(json_kind(v).to_string())),
        }
    }

    /// A positive id ([`positive_id`]: digits only, at least 1), as a JSON number or a
    /// string of digits; absent, null or blank is `None`.
    pub fn opt_id(&self, name: &str) -> Result<Option<u64>> {
        let bad = |shown: String| {
            self.invalid(
                name,
                format!("expected a positive whole number (digits only); got {shown}"),
            )
        };
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .filter(|id| *id > 0)
                .map(Some)
                .ok_or_else(|| bad(n.to_string())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => positive_id(s)
                .map(Some)
                .ok_or_else(|| bad(format!("{:?}", preview(s, PREVIEW_CHARS)))),
            Some(v) => Err(bad(json_kind(v).to_string())),
        }
    }

    /// `true`/`false`, also as the strings `"true"`/`"false"` (any case; Architect hands
    /// booleans over as text in places); absent, null or `""` is `None`.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(self.invalid(
                name,
                format!("expected true or false; got {}", json_kind(v)),
            )),
        }
    }

    /// A nested object, read with the same conventions; absent or null is `None`.
    pub fn opt_object(&self, name: &str) -> Result<Option<Fields<'a>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(obj)) => Ok(Some(Fields {
                obj,
                at: self.path(name),
            })),
            Some(v) => Err(self.invalid(name, format!("expected an object; got {}", json_kind(v)))),
        }
    }

    /// A required nested object.
    pub fn object(&self, name: &str) -> Result<Fields<'a>> {
        self.opt_object(name)?
            .ok_or_else(|| self.invalid(name, "expected an object; the field is missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_previews_and_uuids() {
        assert_eq!(json_kind(&json!({})), "an object");
        assert_eq!(json_kind(&json!(1.5)), "a number");
        assert_eq!(preview("abc", 5), "abc");
        assert_eq!(preview("abcdef", 3), "abc…");
        assert_eq!(preview("ééééé", 2), "éé…");
        assert_eq!(preview("a\u{0}b\nc", 10), "a\\u{0}b\\nc");
        assert_eq!(
            uuid_field("conversationId", "C0A00001-0000-4000-8000-000000000000").unwrap(),
            "c0a00001-0000-4000-8000-000000000000"
        );
        let e = uuid_field("conversationId", "abc").unwrap_err();
        assert_eq!(e.error_type(), "Input.InvalidInput");
        assert_eq!(e.field.as_deref(), Some("conversationId"));
        let e = uuid_field("conversationId", &"x".repeat(100_000)).unwrap_err();
        assert!(e.message.len() < 300, "cut: {}", e.message.len());
    }

    #[test]
    fn numbers_that_would_change_are_found() {
        for (text, survives) in [
            ("0", true),
            ("-0", true),
            ("42", true),
            ("-9223372036854775808", true),
            ("18446744073709551615", true),
            ("2.5", true),
            ("2.50", true),
            ("25e-1", true),
            ("0.1", true),
            ("1e22", true),
            ("10000000000000000000000", true),
            ("12345678901234567890123", false),
            ("18446744073709551616123", false),
            ("0.10000000000000000001", false),
            ("3.141592653589793238", false),
            ("1e-400", false),
        ] {
            assert_eq!(number_survives(text), survives, "{text}");
        }
        let n = |t: &str| number_text(&t.parse::<serde_json::Number>().unwrap());
        assert_eq!(n("42").as_deref(), Some("42"));
        assert_eq!(n("2.5").as_deref(), Some("2.5"));
        assert_eq!(n("-0.125").as_deref(), Some("-0.125"));
        assert_eq!(n("12345678901234567890123"), None);
        assert_eq!(
            n("0.30000000000000004"),
            None,
            "17 digits may not be what was sent"
        );
        assert_eq!(
            n("1e22"),
            None,
            "the exponent form is not what a flow wrote"
        );

        assert_eq!(
            inexact_number(r#"{"a": 1, "b": [2.5, "12345678901234567890123"]}"#),
            None
        );
        assert_eq!(
            inexact_number(
                r#"{"p": {"changes": [{"value": 1}, {"value": 12345678901234567890123}]}}"#
            )
            .as_deref(),
            Some("p.changes[1].value")
        );
        assert_eq!(
            inexact_number(r#"{"k\"ey": 0.10000000000000000001}"#).as_deref(),
            Some("k\"ey")
        );
        assert_eq!(
            inexact_number("[1, [2, 3.141592653589793238]]").as_deref(),
            Some("[1][1]")
        );
        let long = format!("{{\"{}\": 12345678901234567890123}}", "k".repeat(100_000));
        assert!(inexact_number(&long).unwrap().len() < 300);
    }

    #[test]
    fn ids_and_text() {
        for (s, want) in [
            ("1001", Some(1001)),
            (" 7 ", Some(7)),
            ("0", None),
            ("", None),
            ("-3", None),
            ("+5", None),
            ("12a", None),
            ("ZD-1", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(positive_id(s), want, "{s:?}");
        }
        let v = json!({"a": 1001, "b": "42", "c": " ", "d": 0, "e": -1, "f": 10.5, "g": "12a",
                       "h": ["1"], "t": "  keep  \n", "u": "\t", "n": 3});
        let f = Fields::of(&v, "payload").unwrap();
        assert_eq!(f.opt_id("a").unwrap(), Some(1001));
        assert_eq!(f.opt_id("b").unwrap(), Some(42));
        assert_eq!(f.opt_id("c").unwrap(), None);
        assert_eq!(f.opt_id("missing").unwrap(), None);
        for bad in ["d", "e", "f", "g", "h"] {
            let e = f.opt_id(bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(format!("payload.{bad}").as_str()));
            assert!(e.message.contains("digits only"), "{e}");
        }
        assert_eq!(
            f.opt_text("t").unwrap(),
            Some("  keep  \n"),
            "text is kept as sent"
        );
        assert_eq!(f.opt_text("u").unwrap(), None);
        assert_eq!(
            f.opt_text("n").unwrap_err().field.as_deref(),
            Some("payload.n")
        );
    }

    #[test]
    fn fields_name_the_full_path() {
        let v = json!({"payload": {"conversationId": "nope", "n": "12", "b": "TRUE", "blank": " ",
                       "inner": {"x": 5}}, "extra": 1});
        let root = Fields::of(&v, "").unwrap();
        let p = root.object("payload").unwrap();
        assert_eq!(p.path("n"), "payload.n");
        assert_eq!(p.opt_int("n").unwrap(), Some(12));
        assert_eq!(p.opt_bool("b").unwrap(), Some(true));
        assert_eq!(p.opt_str("blank").unwrap(), None);
        assert_eq!(p.opt_str("missing").unwrap(), None);
        let field = |r: Result<()>| r.unwrap_err().field.clone().unwrap();
        assert_eq!(
            field(p.uuid("conversationId").map(|_| ())),
            "payload.conversationId"
        );
        assert_eq!(field(p.uuid("missing").map(|_| ())), "payload.missing");
        assert_eq!(field(p.str("blank").map(|_| ())), "payload.blank");
        assert_eq!(field(p.opt_bool("n").map(|_| ())), "payload.n");
        let inner = p.object("inner").unwrap();
        assert_eq!(field(inner.opt_str("x").map(|_| ())), "payload.inner.x");
        assert_eq!(field(root.object("extra").map(|_| ())), "extra");
        assert_eq!(field(root.only(&["payload"])), "extra");
        assert!(root.only(&["payload", "extra"]).is_ok());
        let empty = json!({"": 1});
        assert_eq!(field(Fields::of(&empty, "").unwrap().only(&["a"])), "\"\"");
        assert_eq!(field(Fields::of(&json!([1]), "").map(|_| ())), "event");
        assert_eq!(field(Fields::of(&json!(1), "body").map(|_| ())), "body");
        let e = Fields::of(&json!({"n": "9".repeat(1000)}), "")
            .unwrap()
            .opt_int("n")
            .unwrap_err();
        assert!(e.message.len() < 300, "cut: {}", e.message.len());
    }
}
