//! What the property tests (our fuzz targets) share: arbitrary JSON, the secrets that no
//! answer or log line may hold, and the case count (bounded in CI, longer on demand).

use proptest::prelude::*;
use serde_json::Value;

use crate::files::example_org;
use crate::ids::{ORG_A, ORG_B};

/// Cases per property: `PROPTEST_CASES` if set (run longer with e.g.
/// `PROPTEST_CASES=20000 cargo test -p webhook-ingest --test properties`), else `default`,
/// which keeps CI fast.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every secret of the example org configs: OAuth client secrets, Zendesk API and OAuth
/// tokens, webhook shared secrets.
pub fn org_secrets() -> Vec<String> {
    let mut out = Vec::new();
    for org in [ORG_A, ORG_B] {
        let d = example_org(org);
        for v in [
            &d["genesys"]["clientSecret"],
            &d["zendesk"]["auth"]["apiToken"],
            &d["zendesk"]["auth"]["accessToken"],
            &d["webhook"]["sharedSecret"],
        ] {
            if let Some(s) = v.as_str() {
                out.push(s.to_string());
            }
        }
    }
    out
}

/// The first secret of [`org_secrets`] found in `text`.
pub fn secret_in(text: &str, secrets: &[String]) -> Option<String> {
    secrets.iter().find(|s| text.contains(s.as_str())).cloned()
}

/// Arbitrary text, weighted toward what breaks parsers: control characters, non-ASCII,
/// quotes, long runs.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => ".{0,24}",
        1 => "[\\x00-\\x1f\\x7f\"\\\\]{1,6}",
        1 => "[é✓\\u{85}\\u{2028}a-z]{0,12}",
        1 => "[a-z]{200,400}",
    ]
}

/// Arbitrary JSON: leaves from `strings` (known-meaningful values) and arbitrary text and
/// numbers (huge ones included), objects keyed by `keys` or arbitrary text, nested 4 deep.
pub fn json_value(
    keys: Vec<&'static str>,
    strings: Vec<&'static str>,
) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(strings).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    let key = prop_oneof![
        3 => prop::sample::select(keys).prop_map(str::to_string),
        1 => text(),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `v` with `value` at `path` (objects made as needed), for mutating a valid fixture.
pub fn set_path(v: &mut Value, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = value;
        return;
    };
    if !v.is_object() {
        *v = Value::Object(Default::default());
    }
    let child = v
        .as_object_mut()
        .expect("made an object above")
        .entry(first.clone())
        .or_insert(Value::Null);
    set_path(child, rest, value);
}

/// A path of object keys to mutate: mostly the input's own `keys`, sometimes any short name.
pub fn key_path(keys: Vec<&'static str>) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(keys).prop_map(str::to_string),
            1 => "[a-z]{1,6}",
        ],
        0..3,
    )
}

/// A refusal as the house rules want it: the stable type, a field, a short message.
pub fn named_refusal(e: &bridge::BridgeError) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.error_type(), "Input.InvalidInput", "{}", e);
    prop_assert!(e.field.as_deref().is_some_and(|f| !f.is_empty()), "{}", e);
    prop_assert!(e.to_string().len() < 1024, "{} bytes", e.to_string().len());
    Ok(())
}

/// The text of a version-1 job message of org A with this kind and payload.
pub fn job_text(kind: &str, payload: Value) -> String {
    serde_json::json!({"v": 1, "jobId": "e:0", "orgId": ORG_A, "eventId": "e",
           "createdAt": "2026-01-01T00:00:00Z", "kind": kind, "payload": payload})
    .to_string()
}
