//! Checking: each stated expectation becomes a [`Verdict`], for a step (what the invocation
//! answered, the jobs it made) or for the end state of a run (tickets, attributes,
//! contacts, upstream calls, dead letters).

use std::collections::BTreeMap;

use bridge::metrics::Summary;
use serde::Serialize;
use serde_json::Value;

use super::fixtures::Expect;
use super::report::{short, StepReport};
use super::state::{contact_fields, ticket_status};
use crate::dev::Pipeline;

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub what: String,
    pub ok: bool,
    /// What was found, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
}

fn verdict(what: String, ok: bool, got: impl FnOnce() -> String) -> Verdict {
    Verdict {
        what,
        ok,
        got: if ok { None } else { Some(got()) },
    }
}

/// `want` is a subset of `got`: every key of an object, recursively; other values equal.
fn subset(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| subset(v, gv))),
        _ => want == got,
    }
}

/// Checks what one step did: its outcome, error type, HTTP status, output, jobs and
/// failed messages.
pub(super) fn check_step(
    e: &Expect,
    s: &StepReport,
    kinds: &[String],
    entry_failed: Option<usize>,
) -> Vec<Verdict> {
    let mut v = Vec::new();
    if let Some(want) = &e.outcome {
        v.push(verdict(
            format!("outcome {want}"),
            &s.outcome == want,
            || {
                format!(
                    "{}{}",
                    s.outcome,
                    s.error_type
                        .as_deref()
                        .map(|t| format!(" {t}"))
                        .unwrap_or_default()
                )
            },
        ));
    }
    if let Some(want) = &e.error_type {
        v.push(verdict(
            format!("error {want}"),
            s.error_type.as_deref() == Some(want),
            || s.error_type.clone().unwrap_or_else(|| "no error".into()),
        ));
    }
    if let Some(want) = &e.error_contains {
        let said = s
            .output
            .get("errorMessage")
            .or_else(|| s.output.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        v.push(verdict(
            format!("error says {want:?}"),
            s.outcome == "error" && said.contains(want.as_str()),
            || short(&Value::String(said.to_string()), 200),
        ));
    }
    if let Some(want) = e.http_status {
        v.push(verdict(
            format!("HTTP {want}"),
            s.http_status == Some(want),
            || {
                s.http_status
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "no HTTP answer".into())
            },
        ));
    }
    if let Some(want) = &e.output {
        v.push(verdict(
            format!("output ⊇ {}", short(want, 80)),
            subset(want, &s.output),
            || short(&s.output, 200),
        ));
    }
    v.extend(job_verdicts(e, kinds, ""));
    if let Some(want) = e.failed_messages {
        v.push(verdict(
            format!("{want} failed message(s)"),
            entry_failed == Some(want),
            || {
                entry_failed
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "the whole batch failed".into())
            },
        ));
    }
    v
}

/// The verdicts on the jobs made (`kinds`): `jobs` and `jobKinds`. `scope` follows "job(s)"
/// and "jobs" in their text (" in all" for a scenario's jobs together).
fn job_verdicts(e: &Expect, kinds: &[String], scope: &str) -> Vec<Verdict> {
    let mut v = Vec::new();
    if let Some(want) = e.jobs {
        v.push(verdict(
            format!("{want} job(s){scope}"),
            kinds.len() == want,
            || kinds.len().to_string(),
        ));
    }
    if let Some(want) = &e.job_kinds {
        v.push(verdict(
            format!("jobs{scope} [{}]", want.join(", ")),
            kinds == want.as_slice(),
            || format!("[{}]", kinds.join(", ")),
        ));
    }
    v
}

/// Checks the state the run left (tickets, attributes, contacts, calls, dead letters) and,
/// for scenarios, the jobs of all steps together (`all_kinds`).
pub(super) fn check_final(e: &Expect, p: &Pipeline, all_kinds: Option<&[String]>) -> Vec<Verdict> {
    let state = p.sandbox.state();
    let mut v = Vec::new();
    if let Some(kinds) = all_kinds {
        v.extend(job_verdicts(e, kinds, " in all"));
    }
    if let Some(want) = e.dead_letters {
        let got = p.dead_letters().len();
        v.push(verdict(
            format!("{want} dead letter(s)"),
            got == want,
            || got.to_string(),
        ));
    }
    for (key, want) in e.tickets.iter().flatten() {
        let got = key
            .split_once('/')
            .and_then(|(sub, id)| Some((sub, id.parse::<u64>().ok()?)))
            .and_then(|(sub, id)| ticket_status(&state, sub, id));
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
        let shown: BTreeMap<&String, Option<&String>> = want
            .keys()
            .map(|k| (k, got.as_ref().and_then(|g| g.get(k))))
            .collect();
        v.push(verdict(
            format!(
                "attributes {key} {}",
                serde_json::to_string(want).unwrap_or_default()
            ),
            ok,
            || {
                if got.is_none() {
                    "no such participant".into()
                } else {
                    serde_json::to_string(&shown).unwrap_or_default()
                }
            },
        ));
    }
    for (id, want) in e.contacts.iter().flatten() {
        let orgs = p.orgs.iter().map(|o| o.org_id.as_str());
        let got = contact_fields(&state, orgs, id).unwrap_or(Value::Null);
        v.push(verdict(
            format!("contact {id} {}", want),
            subset(want, &got),
            || got.to_string(),
        ));
    }
    v.extend(message_verdicts(e, p));
    v.extend(metric_verdicts(e, &p.metrics.lines()));
    let journal = p.sandbox.journal();
    for (call, want) in e.calls.iter().flatten() {
        let (method, glob) = call.split_once(' ').unwrap_or(("*", call.as_str()));
        let got = bridge_sandbox::count(&journal, method, glob);
        v.push(verdict(format!("{want}× {call}"), got == *want, || {
            format!("{got}×")
        }));
    }
    v
}

/// The agentless messages the run sent, and the dead letters marked "may have been sent".
fn message_verdicts(e: &Expect, p: &Pipeline) -> Vec<Verdict> {
    let mut v = Vec::new();
    if let Some(want) = e.messages_sent {
        let got = p.sandbox.state().messages_sent();
        v.push(verdict(
            format!("{want} message(s) sent"),
            got == want,
            || got.to_string(),
        ));
    }
    if let Some(want) = e.may_have_been_sent {
        let got = p
            .dead_letters()
            .iter()
            .filter(|d| d.may_have_been_sent())
            .count();
        v.push(verdict(
            format!("{want} dead letter(s) marked may-have-been-sent"),
            got == want,
            || got.to_string(),
        ));
    }
    v
}

/// The stated metric totals of the run's EMF `lines`, and a failed verdict for any line
/// that is not a valid EMF document (none when all are).
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
    let summary = Summary::of_lines(lines);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metric_expectations_read_the_emf_lines() {
        let org = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
        let line = |org: Option<&str>, n: u64| {
            let mut doc = json!({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [
                {"Namespace": "GenesysBridge", "Dimensions": [["Function"]], "Metrics": [{"Name": "Updated", "Unit": "Count"}]}]},
                "Function": "ticket-status", "Updated": n});
            if let Some(o) = org {
                doc["OrgId"] = json!(o);
            }
            doc.to_string()
        };
        let lines = vec![line(Some(org), 2), line(None, 1)];
        let e = Expect {
            metrics: Some(BTreeMap::from([
                ("Updated".to_string(), 3.0),
                (format!("{org}/Updated"), 2.0),
                ("Failed".to_string(), 1.0),
            ])),
            ..Expect::default()
        };
        let v = metric_verdicts(&e, &lines);
        let oks: Vec<(String, bool)> = v.iter().map(|v| (v.what.clone(), v.ok)).collect();
        assert_eq!(
            oks,
            vec![
                (format!("metric {org}/Updated 2"), true),
                ("metric Failed 1".to_string(), false),
                ("metric Updated 3".to_string(), true),
            ],
            "in the order of the keys"
        );
        let broken = vec![line(None, 1).replace("\"Updated\":1", "\"Other\":1")];
        let v = metric_verdicts(&Expect::default(), &broken);
        assert_eq!(v.len(), 1);
        assert!(!v[0].ok && v[0].what == "metrics are valid EMF", "{v:?}");
    }

    #[test]
    fn subset_matching() {
        let got = json!({"ok": true, "n": 2, "inner": {"a": "x", "b": "y"}, "list": [1, 2]});
        assert!(subset(&json!({"ok": true}), &got));
        assert!(subset(&json!({"inner": {"a": "x"}}), &got));
        assert!(subset(&json!({"list": [1, 2]}), &got));
        assert!(!subset(&json!({"list": [1]}), &got), "arrays compare whole");
        assert!(!subset(&json!({"n": "2"}), &got), "types matter");
        assert!(!subset(&json!({"missing": null}), &got));
    }
}
