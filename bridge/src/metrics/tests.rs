//! The EMF lines against the specification, the recorder's attribution rules, and the
//! README's table against the catalogue.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};

use super::catalogue::{metric_name, Scope, CATALOGUE};
use super::emf::{render, validate, Document};
use super::*;

const ACME: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
const GLOBEX: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";

fn parse(line: &str) -> Value {
    validate(line).unwrap_or_else(|e| panic!("not valid EMF ({e}): {line}"))
}

/// The directives of a document as (dimension sets, metric names, units).
fn directives(doc: &Value) -> Vec<(Value, Vec<String>, Vec<String>)> {
    doc["_aws"]["CloudWatchMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let names = d["Metrics"].as_array().unwrap();
            (
                d["Dimensions"].clone(),
                names
                    .iter()
                    .map(|m| m["Name"].as_str().unwrap().to_string())
                    .collect(),
                names
                    .iter()
                    .map(|m| m["Unit"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn a_document_of_one_org_publishes_each_metric_under_its_dimension_sets() {
    let values = vec![
        ("Updated".to_string(), 3.0),
        ("Superseded".to_string(), 1.0),
        ("GenesysThrottled".to_string(), 2.0),
        ("Latency".to_string(), 12.3456),
    ];
    let lines = render(&Document {
        namespace: "GenesysBridge",
        function: "ticket-status",
        org_id: Some(ACME),
        timestamp_ms: 1_700_000_000_123,
        values: &values,
    });
    assert_eq!(lines.len(), 1);
    let doc = parse(&lines[0]);
    assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_123u64);
    assert_eq!(doc["Function"], "ticket-status");
    assert_eq!(doc["OrgId"], ACME);
    assert_eq!(doc["Updated"], 3);
    assert_eq!(doc["Superseded"], 1);
    assert_eq!(doc["GenesysThrottled"], 2);
    assert_eq!(doc["Latency"], 12.346);
    for d in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
        assert_eq!(d["Namespace"], "GenesysBridge");
    }
    assert_eq!(
        directives(&doc),
        vec![
            (
                json!([["Function"], ["OrgId"]]),
                vec!["Updated".into(), "GenesysThrottled".into()],
                vec!["Count".into(), "Count".into()]
            ),
            (
                json!([["Function"]]),
                vec!["Superseded".into()],
                vec!["Count".into()]
            ),
            (
                json!([["Function"], ["Function", "OrgId"]]),
                vec!["Latency".into()],
                vec!["Milliseconds".into()]
            ),
        ]
    );
}

#[test]
fn a_document_without_an_org_is_published_for_all_orgs_only() {
    let values = vec![("Failed".to_string(), 1.0), ("Latency".to_string(), 4.0)];
    let lines = render(&Document {
        namespace: "Bridge/prod",
        function: "webhook-ingest",
        org_id: None,
        timestamp_ms: 1,
        values: &values,
    });
    let doc = parse(&lines[0]);
    assert!(doc.get("OrgId").is_none());
    assert_eq!(
        directives(&doc),
        vec![(
            json!([["Function"]]),
            vec!["Failed".into(), "Latency".into()],
            vec!["Count".into(), "Milliseconds".into()]
        )]
    );
}

#[test]
fn more_than_a_hundred_metrics_make_more_documents() {
    let values: Vec<(String, f64)> = (0..150).map(|i| (format!("Outcome{i}"), 1.0)).collect();
    let lines = render(&Document {
        namespace: "GenesysBridge",
        function: "f",
        org_id: None,
        timestamp_ms: 1,
        values: &values,
    });
    assert_eq!(lines.len(), 2);
    let counts: Vec<usize> = lines
        .iter()
        .map(|l| directives(&parse(l)).iter().map(|d| d.1.len()).sum())
        .collect();
    assert_eq!(counts, vec![100, 50]);
}

/// A change that breaks a valid document.
type Mutation = Box<dyn Fn(&mut Value)>;

// long: a table of mutations, one per rule of the EMF specification the checker enforces.
#[test]
fn the_checker_refuses_what_the_specification_forbids() {
    let good = json!({
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": [
            {"Namespace": "GenesysBridge", "Dimensions": [["Function"]], "Metrics": [{"Name": "Failed", "Unit": "Count"}]}
        ]},
        "Function": "f", "Failed": 1
    });
    assert!(validate(&good.to_string()).is_ok());
    let broken: Vec<(&str, Mutation)> = vec![
        (
            "no _aws",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("_aws");
            }),
        ),
        (
            "float timestamp",
            Box::new(|d| d["_aws"]["Timestamp"] = json!(1.5)),
        ),
        (
            "no directives",
            Box::new(|d| d["_aws"]["CloudWatchMetrics"] = json!([])),
        ),
        (
            "extra directive member",
            Box::new(|d| d["_aws"]["CloudWatchMetrics"][0]["Extra"] = json!(1)),
        ),
        (
            "bad namespace",
            Box::new(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("has space")),
        ),
        (
            "dimension without value",
            Box::new(|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([["Function", "OrgId"]])
            }),
        ),
        (
            "dimension value not a string",
            Box::new(|d| d["Function"] = json!(7)),
        ),
        (
            "dimension value not ASCII",
            Box::new(|d| d["Function"] = json!("fünf")),
        ),
        (
            "31 dimension keys",
            Box::new(|d| {
                let keys: Vec<String> = (0..31).map(|i| format!("K{i}")).collect();
                for k in &keys {
                    d[k.as_str()] = json!("v");
                }
                d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([keys]);
            }),
        ),
        (
            "metric without value",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("Failed");
            }),
        ),
        (
            "metric value a string",
            Box::new(|d| d["Failed"] = json!("1")),
        ),
        (
            "unknown unit",
            Box::new(|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Widgets")
            }),
        ),
        (
            "extra metric member",
            Box::new(|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Why"] = json!("x")),
        ),
        (
            "bad storage resolution",
            Box::new(|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"] = json!(5)
            }),
        ),
    ];
    for (what, mutate) in broken {
        let mut d = good.clone();
        mutate(&mut d);
        assert!(validate(&d.to_string()).is_err(), "{what}: accepted {d}");
    }
    assert!(validate(&format!("{good} trailing")).is_err());
    assert!(validate(&format!("prefix {good}")).is_err());
}

/// Every key of a line is the EMF block, a dimension, or a metric of the catalogue (or
/// an outcome): never an id of a conversation, a phone number or an email.
fn assert_only_org_and_outcomes(doc: &Value) {
    for (k, v) in doc.as_object().unwrap() {
        match k.as_str() {
            "_aws" => {}
            "Function" => assert!(v
                .as_str()
                .unwrap()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-')),
            "OrgId" => {
                let id = v.as_str().unwrap();
                assert_eq!(crate::input::canonical_uuid(id).as_deref(), Some(id));
            }
            name => assert!(v.is_number(), "{name} = {v} is not a metric value"),
        }
    }
}

async fn loaded_then(orgs: &[&str], f: impl FnOnce()) {
    for o in orgs {
        org_loaded(o);
    }
    f();
}

#[tokio::test]
async fn a_data_action_writes_one_line_for_its_org() {
    let (m, captured) = Metrics::capture();
    m.measure(
        "attribute-writer",
        loaded_then(&[&ACME.to_uppercase()], || {
            outcome("written");
            outcome("verify_failed");
            upstream_answer(
                Upstream::Genesys,
                ACME,
                Answer::Status {
                    status: 429,
                    throttled: false,
                },
            );
            upstream_answer(
                Upstream::Genesys,
                ACME,
                Answer::Status {
                    status: 202,
                    throttled: false,
                },
            );
        }),
    )
    .await;
    let lines = captured.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let doc = parse(&lines[0]);
    assert_only_org_and_outcomes(&doc);
    assert_eq!(doc["OrgId"], ACME, "the canonical (lower-case) id");
    assert_eq!(
        (doc["Written"].clone(), doc["VerifyFailed"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(doc["GenesysThrottled"], 1);
    assert!(doc.get("Genesys2xx").is_none() && doc["Latency"].is_number());
}

#[tokio::test]
async fn a_batch_of_two_orgs_writes_a_line_per_org_and_latency_once() {
    let (m, captured) = Metrics::capture();
    let m = m.with_max_receive_count(Some(5));
    m.measure(
        "ticket-status",
        loaded_then(&[ACME], || {
            job_outcome(ACME, "updated", false, Some(1));
            job_outcome(ACME, "updated", false, Some(2));
            job_outcome(GLOBEX, "failed", true, Some(4));
            job_outcome(GLOBEX, "failed", true, Some(5));
            // A job's org counts even when its config did not load (jobs come from ingest);
            // an org id that is not a UUID is no dimension value.
            job_outcome(&GLOBEX.to_uppercase(), "superseded", false, Some(1));
            job_outcome("+15551234567", "failed", true, Some(5));
            job_outcome("", "failed", true, None);
            // Upstream answers name an org only once its config loaded.
            upstream_answer(
                Upstream::Zendesk,
                "11111111-2222-4333-8444-555555555555",
                Answer::Unreachable,
            );
        }),
    )
    .await;
    let docs: Vec<Value> = captured.lines().iter().map(|l| parse(l)).collect();
    assert_eq!(docs.len(), 3, "{docs:?}");
    for d in &docs {
        assert_only_org_and_outcomes(d);
    }
    assert_eq!(docs[0]["OrgId"], ACME);
    assert_eq!(docs[0]["Updated"], 2);
    assert_eq!(docs[1]["OrgId"], GLOBEX);
    assert_eq!(
        (docs[1]["Failed"].clone(), docs[1]["DeadLettered"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(docs[1]["Superseded"], 1);
    assert!(docs[2].get("OrgId").is_none());
    assert_eq!(
        (docs[2]["Failed"].clone(), docs[2]["DeadLettered"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(docs[2]["ZendeskUnreachable"], 1);
    let latencies: Vec<usize> = docs
        .iter()
        .map(|d| usize::from(d.get("Latency").is_some()))
        .collect();
    assert_eq!(
        latencies,
        vec![0, 0, 1],
        "one latency sample, in the org-less line"
    );
    let text = captured.lines().join("\n");
    assert!(
        !text.contains("11111111-2222") && !text.contains("5551234567"),
        "{text}"
    );
    let s = captured.summary();
    assert_eq!(
        (
            s.get(Some(ACME), "Updated"),
            s.all_orgs("Failed"),
            s.all_orgs("DeadLettered")
        ),
        (2.0, 4.0, 2.0)
    );
}

#[tokio::test]
async fn without_max_receive_count_nothing_is_dead_lettered() {
    let (m, captured) = Metrics::capture();
    m.measure(
        "attribute-writer",
        loaded_then(&[ACME], || job_outcome(ACME, "failed", true, Some(99))),
    )
    .await;
    assert_eq!(captured.summary().all_orgs("DeadLettered"), 0.0);
    assert_eq!(captured.summary().get(Some(ACME), "Failed"), 1.0);
}

#[tokio::test]
async fn nothing_is_counted_outside_an_invocation_or_when_off() {
    outcome("written");
    org_loaded(ACME);
    let (m, captured) = Metrics::capture();
    m.measure("f", async {}).await;
    let doc = parse(&captured.lines()[0]);
    assert_eq!(
        directives(&doc)[0].1,
        vec!["Latency".to_string()],
        "only the latency: {doc}"
    );
    let off = Metrics::off();
    assert!(!off.is_on());
    assert_eq!(
        off.measure("f", async {
            outcome("written");
            7
        })
        .await,
        7
    );
}

#[tokio::test]
async fn two_invocations_in_one_task_count_apart() {
    let (m, captured) = Metrics::capture();
    let a = m.measure("attribute-writer", async {
        org_loaded(ACME);
        tokio::task::yield_now().await;
        outcome("written");
    });
    let b = m.measure("attribute-writer", async {
        org_loaded(GLOBEX);
        tokio::task::yield_now().await;
        outcome("failed");
    });
    tokio::join!(a, b);
    let s = captured.summary();
    assert_eq!(
        (s.get(Some(ACME), "Written"), s.get(Some(ACME), "Failed")),
        (1.0, 0.0)
    );
    assert_eq!(
        (
            s.get(Some(GLOBEX), "Failed"),
            s.get(Some(GLOBEX), "Written")
        ),
        (1.0, 0.0)
    );
}

#[test]
fn upstream_answers_and_their_metrics() {
    let s = |status| Answer::Status {
        status,
        throttled: false,
    };
    let rows = [
        (Upstream::Genesys, s(429), Some("GenesysThrottled")),
        (
            Upstream::Genesys,
            Answer::Status {
                status: 400,
                throttled: true,
            },
            Some("GenesysThrottled"),
        ),
        (Upstream::Genesys, s(503), Some("Genesys5xx")),
        (Upstream::Genesys, s(501), Some("Genesys5xx")),
        (
            Upstream::Genesys,
            Answer::Unreachable,
            Some("GenesysUnreachable"),
        ),
        (Upstream::Zendesk, s(429), Some("ZendeskThrottled")),
        (Upstream::Zendesk, s(500), Some("Zendesk5xx")),
        (
            Upstream::Zendesk,
            Answer::Unreachable,
            Some("ZendeskUnreachable"),
        ),
        (Upstream::Genesys, s(200), None),
        (Upstream::Zendesk, s(404), None),
        (Upstream::Zendesk, s(409), None),
        (Upstream::Sqs, s(500), None),
    ];
    for (upstream, answer, want) in rows {
        assert_eq!(
            upstream_metric(upstream, answer),
            want,
            "{upstream} {answer:?}"
        );
    }
}

#[test]
fn outcome_names_become_metric_names() {
    for (outcome, metric) in [
        ("written", "Written"),
        ("contact_patched", "ContactPatched"),
        ("nothing_to_write", "NothingToWrite"),
        ("follow_up", "FollowUp"),
        ("no_ticket", "NoTicket"),
        ("verify_failed", "VerifyFailed"),
        ("in_progress", "InProgress"),
        ("Accepted", "Accepted"),
    ] {
        assert_eq!(metric_name(outcome), metric);
    }
}

#[test]
fn a_bad_namespace_is_refused_naming_the_setting() {
    let e = Metrics::new("not ok", Arc::new(Stdout)).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("BRIDGE_METRICS_NAMESPACE"));
    assert!(Metrics::new("GenesysBridge/prod", Arc::new(Stdout)).is_ok());
}

/// The README's "Metrics" table rows: (name, unit, dimension sets text).
fn readme_rows() -> Vec<(String, String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("the README is readable");
    let section = readme
        .split("\n## Metrics\n")
        .nth(1)
        .expect("the README has a \"## Metrics\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (
                cells[0].trim_matches('`').to_string(),
                cells[1].to_string(),
                cells[2].to_string(),
            )
        })
        .collect()
}

#[test]
fn the_readme_documents_every_metric_as_published() {
    let rows = readme_rows();
    let documented: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let catalogued: BTreeSet<&str> = CATALOGUE.iter().map(|m| m.name).collect();
    assert_eq!(documented, catalogued, "README Metrics table vs catalogue");
    assert_eq!(catalogued.len(), CATALOGUE.len(), "names are unique");
    for m in CATALOGUE {
        let (_, unit, dims) = rows.iter().find(|r| r.0 == m.name).unwrap();
        assert_eq!(unit, m.unit.as_str(), "{}: unit", m.name);
        let want = match m.scope {
            Scope::AllOrgs => "`[Function]`",
            Scope::PerOrg => "`[Function]`, `[OrgId]`",
            Scope::PerFunctionAndOrg => "`[Function]`, `[Function, OrgId]`",
        };
        assert_eq!(dims, want, "{}: dimension sets", m.name);
    }
}
