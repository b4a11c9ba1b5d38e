//! A fixture's expectation (`events/**/NAME.expect.json`, the format of
//! `events/replay/README.md`) judged against what a function run outside the process did:
//! its answer, the jobs it queued, and the sandbox's final state and journal.
//!
//! The replay (`bridge dev --replay`) judges the same files in process; this reads them for
//! functions invoked through `cargo lambda invoke`. Unknown fields are errors here too, so
//! an expectation the two would read differently cannot pass silently.

use std::collections::BTreeMap;

use bridge_sandbox::{JournalEntry, StateHandle};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub error_type: Option<String>,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub output: Option<Value>,
    #[serde(default)]
    pub jobs: Option<usize>,
    #[serde(default)]
    pub job_kinds: Option<Vec<String>>,
    #[serde(default)]
    pub failed_messages: Option<usize>,
    #[serde(default)]
    pub dead_letters: Option<usize>,
    #[serde(default)]
    pub tickets: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, BTreeMap<String, Option<String>>>>,
    #[serde(default)]
    pub contacts: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub calls: Option<BTreeMap<String, usize>>,
    /// Metric totals over the fixture's EMF lines: `Name` (all orgs) or `<orgId>/Name`.
    #[serde(default)]
    pub metrics: Option<BTreeMap<String, f64>>,
    /// Checked by the replay only (`bridge dev --replay`): messages the sandbox took, dead
    /// letters marked may-have-been-sent, an error text, and the fault rules a fixture needs.
    #[serde(default)]
    pub messages_sent: Option<usize>,
    #[serde(default)]
    pub may_have_been_sent: Option<usize>,
    #[serde(default)]
    pub error_contains: Option<String>,
    #[serde(default)]
    pub faults: Option<serde_json::Value>,
}

/// What one invocation did, seen from outside.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// "ok" or "error" (a Function URL answer is "ok" when its status is 2xx).
    pub outcome: String,
    pub error_type: Option<String>,
    pub http_status: Option<u16>,
    /// The output (a Function URL answer's JSON body; an error's `{errorType, errorMessage}`).
    pub output: Value,
    /// Kinds of the jobs webhook-ingest queued, in order.
    pub job_kinds: Vec<String>,
    /// SQS batches: messages reported in `batchItemFailures` (`None`: the batch failed).
    pub failed_messages: Option<usize>,
    /// Jobs that failed every delivery to their worker.
    pub dead_letters: usize,
    /// The EMF lines the function (and, for webhook-ingest, its workers) wrote to stdout.
    pub emf_lines: Vec<String>,
}

impl Observation {
    /// Reads a Lambda answer: `Ok(output)` or `Err({errorType, errorMessage})`.
    pub fn from_answer(answer: Result<Value, Value>, sqs_batch: bool) -> Observation {
        match answer {
            Err(err) => Observation {
                outcome: "error".into(),
                error_type: err
                    .get("errorType")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                output: err,
                ..Observation::default()
            },
            Ok(v) => match v.get("statusCode").and_then(Value::as_u64) {
                Some(status) => {
                    let body = v
                        .get("body")
                        .and_then(Value::as_str)
                        .map(|b| {
                            serde_json::from_str(b).unwrap_or_else(|_| Value::String(b.into()))
                        })
                        .unwrap_or(Value::Null);
                    let ok = (200..300).contains(&status);
                    Observation {
                        outcome: if ok { "ok" } else { "error" }.into(),
                        error_type: if ok {
                            None
                        } else {
                            body.get("errorType")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        },
                        http_status: Some(status as u16),
                        output: body,
                        ..Observation::default()
                    }
                }
                None => Observation {
                    outcome: "ok".into(),
                    failed_messages: sqs_batch.then(|| {
                        v.get("batchItemFailures")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len)
                    }),
                    output: v,
                    ..Observation::default()
                },
            },
        }
    }
}

/// One check and its result.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub what: String,
    pub ok: bool,
    /// What was found instead, when it failed.
    pub got: Option<String>,
}

fn verdict(what: String, ok: bool, got: impl FnOnce() -> String) -> Verdict {
    Verdict {
        what,
        ok,
        got: (!ok).then(got),
    }
}

/// `want` is a subset of `got`: every key of an object, recursively; other values equal.
pub fn subset(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| subset(v, gv))),
        _ => want == got,
    }
}

/// Every check `e` states, against the observation, the sandbox's state and its journal
/// (`orgs`: the org ids whose external contacts to look in).
pub fn judge(
    e: &Expect,
    o: &Observation,
    state: &StateHandle,
    journal: &[JournalEntry],
    orgs: &[String],
) -> Vec<Verdict> {
    let mut v = Vec::new();
    if let Some(want) = &e.outcome {
        v.push(verdict(
            format!("outcome {want}"),
            &o.outcome == want,
            || format!("{} {}", o.outcome, o.error_type.as_deref().unwrap_or("")),
        ));
    }
    if let Some(want) = &e.error_type {
        v.push(verdict(
            format!("error {want}"),
            o.error_type.as_deref() == Some(want),
            || o.error_type.clone().unwrap_or_else(|| "no error".into()),
        ));
    }
    if let Some(want) = e.http_status {
        v.push(verdict(
            format!("HTTP {want}"),
            o.http_status == Some(want),
            || format!("{:?}", o.http_status),
        ));
    }
    if let Some(want) = &e.output {
        v.push(verdict(
            format!("output ⊇ {want}"),
            subset(want, &o.output),
            || o.output.to_string(),
        ));
    }
    if let Some(want) = e.jobs {
        v.push(verdict(
            format!("{want} job(s)"),
            o.job_kinds.len() == want,
            || o.job_kinds.len().to_string(),
        ));
    }
    if let Some(want) = &e.job_kinds {
        v.push(verdict(
            format!("jobs [{}]", want.join(", ")),
            &o.job_kinds == want,
            || format!("[{}]", o.job_kinds.join(", ")),
        ));
    }
    if let Some(want) = e.failed_messages {
        v.push(verdict(
            format!("{want} failed message(s)"),
            o.failed_messages == Some(want),
            || format!("{:?}", o.failed_messages),
        ));
    }
    if let Some(want) = e.dead_letters {
        v.push(verdict(
            format!("{want} dead letter(s)"),
            o.dead_letters == want,
            || o.dead_letters.to_string(),
        ));
    }
    v.extend(judge_state(e, state, journal, orgs));
    v.extend(metric_verdicts(e, &o.emf_lines));
    v
}

fn judge_state(
    e: &Expect,
    state: &StateHandle,
    journal: &[JournalEntry],
    orgs: &[String],
) -> Vec<Verdict> {
    let mut v = Vec::new();
    for (key, want) in e.tickets.iter().flatten() {
        let got = key
            .split_once('/')
            .and_then(|(sub, id)| Some((sub, id.parse::<u64>().ok()?)))
            .and_then(|(sub, id)| state.ticket(sub, id))
            .and_then(|t| t.get("status").and_then(Value::as_str).map(str::to_string));
        v.push(verdict(
            format!("ticket {key} {want}"),
            got.as_deref() == Some(want),
            || got.clone().unwrap_or_else(|| "no such ticket".into()),
        ));
    }
    for (key, want) in e.attributes.iter().flatten() {
        let got = key
            .split_once('/')
            .and_then(|(c, p)| state.participant_attributes(c, p));
        let ok = got
            .as_ref()
            .is_some_and(|g| want.iter().all(|(k, w)| g.get(k) == w.as_ref()));
        v.push(verdict(
            format!(
                "attributes {key} {}",
                serde_json::to_string(want).unwrap_or_default()
            ),
            ok,
            || format!("{got:?}"),
        ));
    }
    for (id, want) in e.contacts.iter().flatten() {
        let got = orgs
            .iter()
            .find_map(|o| state.contact(o, id))
            .and_then(|c| c.get("customFields").cloned())
            .unwrap_or(Value::Null);
        v.push(verdict(
            format!("contact {id} {want}"),
            subset(want, &got),
            || got.to_string(),
        ));
    }
    for (call, want) in e.calls.iter().flatten() {
        let (method, glob) = call.split_once(' ').unwrap_or(("*", call.as_str()));
        let got = bridge_sandbox::count(journal, method, glob);
        v.push(verdict(format!("{want}× {call}"), got == *want, || {
            format!("{got}×")
        }));
    }
    v
}

/// Every EMF line valid, and the stated metric totals, as the replay judges them.
fn metric_verdicts(e: &Expect, lines: &[String]) -> Vec<Verdict> {
    let mut v: Vec<Verdict> = lines
        .iter()
        .filter_map(|l| bridge::metrics::emf::validate(l).err().map(|why| (l, why)))
        .map(|(line, why)| {
            verdict("metrics are valid EMF".into(), false, || {
                format!("{why}: {line}")
            })
        })
        .collect();
    let summary = bridge::metrics::Summary::of_lines(lines);
    for (key, want) in e.metrics.iter().flatten() {
        let got = match key.split_once('/') {
            Some((org, name)) => summary.get(Some(org), name),
            None => summary.all_orgs(key),
        };
        v.push(verdict(
            format!("metric {key} {want}"),
            got == *want,
            || got.to_string(),
        ));
    }
    v
}

/// The EMF documents among a process's output lines (its logs are JSON too, without `_aws`).
pub fn emf_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok_and(|d| d.get("_aws").is_some()))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_read_like_the_replay_reads_them() {
        let url = Observation::from_answer(
            Ok(json!({"statusCode": 401, "body": "{\"errorType\":\"Unauthorized\"}"})),
            false,
        );
        assert_eq!(
            (
                url.outcome.as_str(),
                url.http_status,
                url.error_type.as_deref()
            ),
            ("error", Some(401), Some("Unauthorized"))
        );
        let batch = Observation::from_answer(
            Ok(json!({"batchItemFailures": [{"itemIdentifier": "m2"}]})),
            true,
        );
        assert_eq!(batch.failed_messages, Some(1));
        let err = Observation::from_answer(
            Err(json!({"errorType": "Zendesk.ClosedTicket", "errorMessage": "…"})),
            false,
        );
        assert_eq!(err.error_type.as_deref(), Some("Zendesk.ClosedTicket"));
        assert!(subset(
            &json!({"a": {"b": 1}}),
            &json!({"a": {"b": 1, "c": 2}, "d": 3})
        ));
        assert!(!subset(&json!({"a": 2}), &json!({"a": 1})));
        assert!(serde_json::from_value::<Expect>(json!({"outcme": "ok"})).is_err());
    }

    #[test]
    fn metric_totals_come_from_the_emf_lines_among_the_logs() {
        let org = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
        let (metrics, captured) = bridge::metrics::Metrics::capture();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(metrics.measure("webhook-ingest", async {
            bridge::metrics::org_loaded(org);
            bridge::metrics::outcome("Rejected");
        }));
        let emf = captured.lines();
        assert!(!emf.is_empty());
        let output = format!(
            "{}\n{{\"level\":\"INFO\",\"message\":\"x\"}}\nnot json\n",
            emf.join("\n")
        );
        let lines = emf_lines(&output);
        assert_eq!(lines, emf);
        let expect =
            |m: Value| -> Expect { serde_json::from_value(json!({ "metrics": m })).unwrap() };
        let ok = metric_verdicts(
            &expect(json!({ format!("{org}/Rejected"): 1, "Rejected": 1 })),
            &lines,
        );
        assert!(ok.iter().all(|v| v.ok), "{ok:?}");
        let wrong = metric_verdicts(&expect(json!({ "Accepted": 1 })), &lines);
        assert!(!wrong[0].ok, "{wrong:?}");
        let broken = metric_verdicts(&expect(json!({})), &["{\"_aws\": 1}".to_string()]);
        assert_eq!(broken[0].what, "metrics are valid EMF");
    }
}
