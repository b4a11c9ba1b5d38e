//! Reading the EMF lines a handler wrote (the harness captures them): each checked against
//! the format and against what a metric line may carry, then added up.

use bridge::metrics::{emf, Captured, Summary, CATALOGUE};
use serde_json::Value;

/// Every line of `captured`, parsed, after checking that each one is a valid EMF document
/// ([`emf::validate`]) that carries nothing but the `_aws` block, the `Function` and
/// `OrgId` dimensions (an org id always in canonical UUID form) and metric values, and
/// that its metrics are under the namespace of the harness (`GenesysBridge`).
///
/// # Panics
/// Naming the line and what is wrong with it.
pub fn emf_documents(captured: &Captured) -> Vec<Value> {
    captured
        .lines()
        .iter()
        .map(|line| {
            let doc = emf::validate(line).unwrap_or_else(|e| panic!("not valid EMF ({e}): {line}"));
            for (key, value) in doc.as_object().expect("validated") {
                match key.as_str() {
                    "_aws" => {}
                    "Function" => assert!(
                        value.as_str().is_some_and(|f| !f.is_empty()
                            && f.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')),
                        "Function {value} is not a function name: {line}"
                    ),
                    "OrgId" => {
                        let id = value.as_str().unwrap_or_default();
                        assert_eq!(
                            bridge::input::canonical_uuid(id).as_deref(),
                            Some(id),
                            "OrgId is not a canonical org id: {line}"
                        );
                    }
                    name => assert!(
                        value.is_number(),
                        "{name} = {value} is not a metric value: {line}"
                    ),
                }
            }
            for d in doc["_aws"]["CloudWatchMetrics"]
                .as_array()
                .expect("validated")
            {
                assert_eq!(d["Namespace"], "GenesysBridge", "{line}");
            }
            doc
        })
        .collect()
}

/// What the checked lines ([`emf_documents`]) add up to, per org.
pub fn metrics_summary(captured: &Captured) -> Summary {
    let mut s = Summary::default();
    for doc in emf_documents(captured) {
        s.add(&doc);
    }
    s
}

/// The metric names the lines carry that the catalogue does not list (outcomes published
/// for all orgs only).
pub fn uncatalogued_metrics(captured: &Captured) -> Vec<String> {
    let mut names: Vec<String> = metrics_summary(captured)
        .orgs
        .values()
        .flat_map(|m| m.keys().cloned())
        .filter(|n| !CATALOGUE.iter().any(|c| c.name == n))
        .collect();
    names.sort();
    names.dedup();
    names
}
