//! Typed reading of untrusted JSON whose errors name the path and the expected type, and
//! never a value.
//!
//! serde's own error text quotes what it met (`invalid type: string "…", expected …`), and
//! what it met can be a secret pasted into the wrong field of an org config or a customer's
//! email in a job. [`from_value`] deserializes through a small deserializer of
//! `serde_json::Value` whose error type keeps the *kind* of what was met and serde's
//! *expectation* (text from our types, not from the input), with the path from
//! `serde_path_to_error`. Map keys in the path are untrusted too, and are cut with
//! [`preview`].

use std::fmt;

use serde::de::{
    self, value::MapDeserializer, value::SeqDeserializer, DeserializeSeed, Deserializer,
    EnumAccess, Expected, IntoDeserializer, Unexpected, VariantAccess, Visitor,
};
use serde::Deserialize;
use serde_json::Value;

use crate::error::BridgeError;
use crate::input::{preview, PREVIEW_CHARS};

/// Why a value does not have the expected shape: where, what was expected, and the kind of
/// what was found (never the value itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// Dotted path (`genesys.clientSecret`, `changes[0].action`); keys cut to a preview.
    pub path: String,
    /// What the field must be, in words ("an object", "one of apiToken, oauth").
    pub expected: String,
}

impl ShapeError {
    /// The path under `at` (`""` for the root), or `at` itself (or `fallback`) for the
    /// root.
    pub fn field(&self, at: &str, fallback: &str) -> String {
        match (at.is_empty(), self.path.is_empty()) {
            (true, true) => fallback.to_string(),
            (true, false) => self.path.clone(),
            (false, true) => at.to_string(),
            (false, false) if self.path.starts_with('[') => format!("{at}{}", self.path),
            (false, false) => format!("{at}.{}", self.path),
        }
    }

    /// As an input error, the field named under `at` (`""` for the root, then `fallback`).
    pub fn validation(&self, at: &str, fallback: &str) -> BridgeError {
        BridgeError::validation(self.field(at, fallback), self.expected.clone())
    }

    /// As an org config error (the field is the document path).
    pub fn config(&self) -> BridgeError {
        BridgeError::config(self.field("", "<document>"), self.expected.clone())
    }
}

/// Deserializes `T` from `v`; an error names the path and what was expected, never what
/// was sent.
pub fn from_value<'a, T: Deserialize<'a>>(v: &'a Value) -> Result<T, ShapeError> {
    serde_path_to_error::deserialize(De(v)).map_err(|e| {
        let mut path = path_text(e.path());
        let expected = match e.inner() {
            DeError::Mismatch { expected, got } => format!("expected {expected}; got {got}"),
            DeError::Length { expected, len } => {
                format!("expected {expected}; got {len} element(s)")
            }
            DeError::UnknownField { known } => {
                if known.is_empty() {
                    "unknown field; this object takes no fields".to_string()
                } else {
                    format!("unknown field; expected only {}", known.join(", "))
                }
            }
            DeError::UnknownVariant { known } => format!("expected one of {}", known.join(", ")),
            DeError::MissingField(name) => {
                path = join(&path, name);
                "the field is missing".to_string()
            }
            DeError::DuplicateField(name) => {
                path = join(&path, name);
                "the field is given twice".to_string()
            }
            DeError::Other => "expected another form here".to_string(),
        };
        ShapeError { path, expected }
    })
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn preview_key(k: &str) -> String {
    preview(k, PREVIEW_CHARS)
}

fn path_text(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out = join(&out, &preview_key(key)),
            Segment::Enum { variant } => out = join(&out, &preview_key(variant)),
            Segment::Unknown => {}
        }
    }
    out
}

/// The error of [`De`]: structured, so that nothing of the input is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DeError {
    Mismatch {
        expected: String,
        got: &'static str,
    },
    Length {
        expected: String,
        len: usize,
    },
    /// The unknown key itself is the last segment of the path.
    UnknownField {
        known: &'static [&'static str],
    },
    UnknownVariant {
        known: &'static [&'static str],
    },
    MissingField(&'static str),
    DuplicateField(&'static str),
    /// A free-text error of a `Deserialize` impl: its text may quote the value, so it is
    /// dropped.
    Other,
}

// Never shown: `from_value` builds its message from the variants.
impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the value does not have the expected shape")
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        DeError::Other
    }
    fn invalid_type(unexp: Unexpected, exp: &dyn Expected) -> Self {
        DeError::Mismatch {
            expected: words(exp),
            got: kind(&unexp),
        }
    }
    fn invalid_value(unexp: Unexpected, exp: &dyn Expected) -> Self {
        DeError::Mismatch {
            expected: words(exp),
            got: match unexp {
                Unexpected::Str(_) | Unexpected::Char(_) => "another string",
                Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_) => {
                    "another number"
                }
                other => kind(&other),
            },
        }
    }
    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        DeError::Length {
            expected: words(exp),
            len,
        }
    }
    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::UnknownVariant { known: expected }
    }
    fn unknown_field(_field: &str, expected: &'static [&'static str]) -> Self {
        DeError::UnknownField { known: expected }
    }
    fn missing_field(field: &'static str) -> Self {
        DeError::MissingField(field)
    }
    fn duplicate_field(field: &'static str) -> Self {
        DeError::DuplicateField(field)
    }
}

/// serde's expectation in words an admin reads ("struct RawWebhook" is "an object").
fn words(exp: &dyn Expected) -> String {
    let text = exp.to_string();
    if text.starts_with("struct ") || text == "a map" || text.starts_with("internally tagged") {
        "an object".into()
    } else if text.starts_with("adjacently tagged") || text.starts_with("enum ") {
        "an object naming its kind".into()
    } else if text == "a sequence" || text.starts_with("a tuple") || text.starts_with("tuple") {
        "an array".into()
    } else if matches!(
        text.as_str(),
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize"
    ) {
        "a whole number".into()
    } else if matches!(text.as_str(), "f32" | "f64") {
        "a number".into()
    } else {
        text
    }
}

fn kind(u: &Unexpected) -> &'static str {
    match u {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_) => "a number",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "bytes",
        Unexpected::Unit | Unexpected::Option => "null",
        Unexpected::Seq => "an array",
        Unexpected::Map => "an object",
        Unexpected::NewtypeStruct | Unexpected::Other(_) => "a value",
        Unexpected::Enum
        | Unexpected::UnitVariant
        | Unexpected::NewtypeVariant
        | Unexpected::TupleVariant
        | Unexpected::StructVariant => "a variant",
    }
}

/// The kind of a JSON value, in the words of [`kind`].
fn unexpected(v: &Value) -> Unexpected<'static> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("a number"),
        Value::String(_) => Unexpected::Other("a string"),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// A deserializer of a borrowed `serde_json::Value` with the structured [`DeError`].
#[derive(Clone, Copy)]
struct De<'a>(&'a Value);

impl<'de> IntoDeserializer<'de, DeError> for De<'de> {
    type Deserializer = De<'de>;
    fn into_deserializer(self) -> De<'de> {
        self
    }
}

impl<'de> Deserializer<'de> for De<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (_, Some(i), _) => visitor.visit_i64(i),
                (_, _, Some(f)) => visitor.visit_f64(f),
                _ => Err(DeError::Other),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(a) => {
                let mut seq = SeqDeserializer::new(a.iter().map(De));
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Object(m) => {
                let mut map = MapDeserializer::new(m.iter().map(|(k, v)| (k.as_str(), De(v))));
                let out = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(Variant(s, None)),
            Value::Object(m) if m.len() == 1 => {
                let (k, v) = m.iter().next().expect("one entry");
                visitor.visit_enum(Variant(k, Some(v)))
            }
            other => Err(de::Error::invalid_type(
                unexpected(other),
                &"a string or an object with one key",
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// An externally tagged enum value: the variant name, and its content if any.
struct Variant<'a>(&'a str, Option<&'a Value>);

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = DeError;
    type Variant = Self;
    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), DeError> {
        let name = seed.deserialize(self.0.into_deserializer())?;
        Ok((name, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'de> {
    type Error = DeError;
    fn unit_variant(self) -> Result<(), DeError> {
        match self.1 {
            None | Some(Value::Null) => Ok(()),
            Some(v) => Err(de::Error::invalid_type(unexpected(v), &"no content")),
        }
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, DeError> {
        seed.deserialize(De(self.1.unwrap_or(&Value::Null)))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        De(self.1.unwrap_or(&Value::Null)).deserialize_any(visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        De(self.1.unwrap_or(&Value::Null)).deserialize_any(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        #[serde(default)]
        limits: Option<Limits>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        map: BTreeMap<String, u32>,
        #[serde(default)]
        mode: Option<Mode>,
    }
    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limits {
        max_keys: usize,
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    enum Mode {
        Fast,
        Slow,
    }

    #[test]
    fn errors_name_the_path_and_the_type_never_the_value() {
        let rows: Vec<(Value, &str, &str)> = vec![
            (
                json!({"name": ["SECRET"]}),
                "name",
                "expected a string; got an array",
            ),
            (
                json!({"name": "x", "limits": "SECRET"}),
                "limits",
                "expected an object; got a string",
            ),
            (
                json!({"name": "x", "limits": {"maxKeys": "SECRET"}}),
                "limits.maxKeys",
                "expected a whole number; got a string",
            ),
            (
                json!({"name": "x", "limits": {}}),
                "limits.maxKeys",
                "missing",
            ),
            (
                json!({"name": "x", "tags": ["a", 5]}),
                "tags[1]",
                "expected a string; got a number",
            ),
            (
                json!({"name": "x", "map": {"k": "SECRET"}}),
                "map.k",
                "whole number",
            ),
            (
                json!({"name": "x", "mode": "SECRET"}),
                "mode",
                "one of Fast, Slow",
            ),
            (
                json!({"name": "x", "SECRETkey": 1}),
                "SECRETkey",
                "unknown field; expected only name",
            ),
            (
                json!({"name": "x", "limits": {"maxKeys": -1}}),
                "limits.maxKeys",
                "got another number",
            ),
            (json!("SECRET"), "", "expected an object; got a string"),
        ];
        for (v, path, expected) in rows {
            let e = from_value::<Doc>(&v).unwrap_err();
            assert_eq!(e.path, path, "{v}: {e:?}");
            assert!(e.expected.contains(expected), "{v}: {e:?}");
            assert!(!e.expected.contains("SECRET"), "{v}: {e:?}");
        }
        let ok: Doc =
            from_value(&json!({"name": "n", "limits": {"maxKeys": 3}, "mode": "Fast"})).unwrap();
        assert_eq!(ok.name, "n");
    }

    #[test]
    fn long_keys_are_cut_and_fields_are_prefixed() {
        let long = "k".repeat(100_000);
        let e = from_value::<Doc>(&json!({"name": "x", "map": {long.clone(): "v"}})).unwrap_err();
        assert!(e.path.len() < 100, "{}", e.path.len());
        let e = from_value::<Doc>(&json!({"name": "x", long: 1})).unwrap_err();
        assert!(e.path.len() < 100, "{}", e.path.len());
        let e = from_value::<Doc>(&json!({"name": 1})).unwrap_err();
        assert_eq!(e.field("payload", "body"), "payload.name");
        assert_eq!(e.validation("", "body").field.as_deref(), Some("name"));
        let e = from_value::<Vec<Doc>>(&json!([{"name": 1}])).unwrap_err();
        assert_eq!(e.field("changes", "body"), "changes[0].name");
        let e = from_value::<Doc>(&json!(1)).unwrap_err();
        assert_eq!(e.field("", "body"), "body");
    }
}
