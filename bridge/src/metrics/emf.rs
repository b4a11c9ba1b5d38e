//! CloudWatch Embedded Metric Format: one invocation's counts for one org as one JSON log
//! line ([`render`]), and a checker of the format ([`validate`]) that tests, and the
//! local replay, run on every line written.
//!
//! A document carries one value per dimension key, so the counts of an org and the counts
//! of another (or of no org) are two documents; one invocation writes one line per org it
//! served, never one per event, message or call. Limits [U: the EMF specification and the
//! aws-embedded-metrics client libraries, not yet in upstream-facts.md]: at most 100
//! metrics per document, 100 values per metric, 30 keys per dimension set; a namespace of
//! 1 to 256 of `[A-Za-z0-9._#:/-]`; dimension values of 1 to 1024 ASCII characters.

use serde_json::{json, Map, Value};

use super::catalogue::{unit_and_scope, Unit};

/// Most metrics in one document.
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;
const MAX_VALUES_PER_METRIC: usize = 100;
const MAX_DIMENSION_SET_KEYS: usize = 30;
const MAX_DIMENSION_VALUE_CHARS: usize = 1024;
const MAX_NAMESPACE_CHARS: usize = 256;
const MAX_METRIC_NAME_CHARS: usize = 1024;

/// The units CloudWatch accepts (`StandardUnit`).
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The metrics of one invocation for one org (`org_id`), or for work no configured org can
/// be named for (`None`: published under the all-orgs dimension set only).
#[derive(Debug, Clone, PartialEq)]
pub struct Document<'a> {
    pub namespace: &'a str,
    pub function: &'a str,
    pub org_id: Option<&'a str>,
    /// Epoch milliseconds.
    pub timestamp_ms: u64,
    /// (metric name, value), in the order they are to be listed.
    pub values: &'a [(String, f64)],
}

/// The document as one line of JSON (no newline). More than
/// [`MAX_METRICS_PER_DOCUMENT`] metrics make more lines.
pub fn render(doc: &Document) -> Vec<String> {
    doc.values
        .chunks(MAX_METRICS_PER_DOCUMENT)
        .map(|values| render_one(doc, values))
        .collect()
}

fn render_one(doc: &Document, values: &[(String, f64)]) -> String {
    let mut root = Map::new();
    root.insert("Function".into(), Value::from(doc.function));
    if let Some(org) = doc.org_id {
        root.insert("OrgId".into(), Value::from(org));
    }
    // One directive per distinct group of dimension sets, in the order first met.
    let mut directives: Vec<(&'static [&'static [&'static str]], Vec<Value>)> = Vec::new();
    for (name, value) in values {
        let (unit, scope) = unit_and_scope(name);
        let sets = scope.dimension_sets(doc.org_id.is_some());
        let definition = json!({"Name": name, "Unit": unit.as_str()});
        match directives.iter_mut().find(|(s, _)| *s == sets) {
            Some((_, defs)) => defs.push(definition),
            None => directives.push((sets, vec![definition])),
        }
        root.insert(name.clone(), number(*value, unit));
    }
    let directives: Vec<Value> = directives
        .into_iter()
        .map(
            |(sets, defs)| json!({"Namespace": doc.namespace, "Dimensions": sets, "Metrics": defs}),
        )
        .collect();
    root.insert(
        "_aws".into(),
        json!({"Timestamp": doc.timestamp_ms, "CloudWatchMetrics": directives}),
    );
    Value::Object(root).to_string()
}

/// Counts as integers; durations with at most microsecond precision.
fn number(v: f64, unit: Unit) -> Value {
    match unit {
        Unit::Count if v.fract() == 0.0 && v >= 0.0 => Value::from(v as u64),
        _ => Value::from((v * 1000.0).round() / 1000.0),
    }
}

/// Checks `line` against the EMF specification: one JSON object and nothing else; an
/// `_aws` object with an integer `Timestamp` and a non-empty `CloudWatchMetrics` array of
/// directives, each with exactly `Namespace`, `Dimensions` and `Metrics`; every dimension
/// key and metric name it references present on the root with a value of the right type;
/// units CloudWatch knows; the limits above. Returns the parsed document.
pub fn validate(line: &str) -> Result<Value, String> {
    let doc: Value = serde_json::from_str(line).map_err(|e| format!("not one JSON value: {e}"))?;
    let root = doc.as_object().ok_or("the document is not a JSON object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object on the root")?;
    if !aws.get("Timestamp").is_some_and(Value::is_u64) {
        return Err("_aws.Timestamp must be an integer (epoch milliseconds)".into());
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or("_aws.CloudWatchMetrics must be a non-empty array")?;
    for (i, d) in directives.iter().enumerate() {
        validate_directive(root, d).map_err(|e| format!("CloudWatchMetrics[{i}]: {e}"))?;
    }
    Ok(doc)
}

fn validate_directive(root: &Map<String, Value>, d: &Value) -> Result<(), String> {
    let d = d.as_object().ok_or("not an object")?;
    let mut keys: Vec<&str> = d.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["Dimensions", "Metrics", "Namespace"] {
        return Err(format!(
            "members {keys:?}; a directive has exactly Namespace, Dimensions and Metrics"
        ));
    }
    let ns = d["Namespace"].as_str().ok_or("Namespace is not a string")?;
    if !valid_namespace(ns) {
        return Err(format!(
            "Namespace {ns:?} is not 1..={MAX_NAMESPACE_CHARS} of [A-Za-z0-9._#:/-]"
        ));
    }
    let sets = d["Dimensions"]
        .as_array()
        .ok_or("Dimensions is not an array")?;
    for set in sets {
        let set = set.as_array().ok_or("a dimension set is not an array")?;
        if set.len() > MAX_DIMENSION_SET_KEYS {
            return Err(format!(
                "a dimension set has {} keys (most {MAX_DIMENSION_SET_KEYS})",
                set.len()
            ));
        }
        for key in set {
            let key = key.as_str().ok_or("a dimension key is not a string")?;
            let value = root
                .get(key)
                .and_then(Value::as_str)
                .ok_or(format!("dimension {key} has no string value on the root"))?;
            if value.is_empty()
                || value.chars().count() > MAX_DIMENSION_VALUE_CHARS
                || !value.is_ascii()
                || value.trim().is_empty()
            {
                return Err(format!("dimension {key}: value {value:?} is not 1..={MAX_DIMENSION_VALUE_CHARS} ASCII characters"));
            }
        }
    }
    let metrics = d["Metrics"].as_array().ok_or("Metrics is not an array")?;
    if metrics.len() > MAX_METRICS_PER_DOCUMENT {
        return Err(format!(
            "{} metrics (most {MAX_METRICS_PER_DOCUMENT})",
            metrics.len()
        ));
    }
    for m in metrics {
        validate_metric(root, m)?;
    }
    Ok(())
}

fn validate_metric(root: &Map<String, Value>, m: &Value) -> Result<(), String> {
    let m = m
        .as_object()
        .ok_or("a metric definition is not an object")?;
    if let Some(extra) = m
        .keys()
        .find(|k| !matches!(k.as_str(), "Name" | "Unit" | "StorageResolution"))
    {
        return Err(format!("a metric definition has the member {extra}"));
    }
    let name = m
        .get("Name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty() && n.chars().count() <= MAX_METRIC_NAME_CHARS)
        .ok_or("a metric definition has no valid Name")?;
    if let Some(unit) = m.get("Unit") {
        if !unit.as_str().is_some_and(|u| UNITS.contains(&u)) {
            return Err(format!(
                "metric {name}: Unit {unit} is not a CloudWatch unit"
            ));
        }
    }
    if let Some(r) = m.get("StorageResolution") {
        if !(r == 1 || r == 60) {
            return Err(format!(
                "metric {name}: StorageResolution {r} is not 1 or 60"
            ));
        }
    }
    match root.get(name) {
        Some(Value::Number(_)) => Ok(()),
        Some(Value::Array(values))
            if !values.is_empty()
                && values.len() <= MAX_VALUES_PER_METRIC
                && values.iter().all(Value::is_number) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "metric {name} has no number (or array of 1..={MAX_VALUES_PER_METRIC} numbers) on the root"
        )),
    }
}

/// A namespace CloudWatch accepts.
pub fn valid_namespace(ns: &str) -> bool {
    !ns.is_empty()
        && ns.len() <= MAX_NAMESPACE_CHARS
        && ns
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._#:/-".contains(&b))
}
