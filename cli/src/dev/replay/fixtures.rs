//! Finding and loading fixtures: the files under a directory, each event's expectation,
//! scenarios and their steps, and which function takes an event.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bridge::event::{classify, EventKind};
use bridge::jobs::JobEnvelope;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::{Function, Invoked};
use crate::exit::CliError;

/// What a fixture is expected to do. Every field is optional; only stated fields are
/// checked. Unknown fields are errors, so a typo cannot silently check nothing.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// Shown in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which function takes the event (overrides its kind and directory), and the alias it
    /// is invoked through, as Lambda names it: `ticket-status:org-<orgId>` is the org
    /// alias Genesys invokes for that org's data action in the shared stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// "ok" or "error": the invocation's result (for Function URL requests: a 2xx status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The stable error type (`Zendesk.ClosedTicket`; for HTTP answers the body's errorType).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Text the error message contains (for HTTP answers: the body's `message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_contains: Option<String>,
    /// Function URL requests: the HTTP status answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// A subset of the output (HTTP answers: of the JSON body) that must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// How many jobs webhook-ingest queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<usize>,
    /// Their kinds, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_kinds: Option<Vec<String>>,
    /// SQS fixtures: how many of the batch's messages the function reported as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_messages: Option<usize>,
    /// Jobs that failed every delivery in the worker stage (the local DLQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letters: Option<usize>,
    /// Final Zendesk ticket statuses: `"<subdomain>/<ticketId>": "solved"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tickets: Option<BTreeMap<String, String>>,
    /// Final participant attributes: `"<conversationId>/<participantId>": {"key": "value"}`;
    /// `null` means "absent".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, BTreeMap<String, Option<String>>>>,
    /// Final external contact custom fields (a subset): `"<contactId>": {"tier_text": "gold"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<BTreeMap<String, Value>>,
    /// Upstream call counts: `"PUT /zendesk/*/api/v2/tickets/*.json": 1` (globs as in the
    /// sandbox: `*` one segment, `**` any number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<BTreeMap<String, usize>>,
    /// Agentless messages Genesys took (the sandbox), across orgs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_sent: Option<usize>,
    /// Dead letters marked "may have been sent" (agentless-messages' own DLQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub may_have_been_sent: Option<usize>,
    /// Not a check: sandbox fault rules (its `POST /__sandbox/faults` JSON) added before the
    /// event runs, e.g. a 504 "applied, but the answer was lost".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Vec<bridge_sandbox::Fault>>,
    /// What the functions' metrics add up to over the whole run: `"Updated": 1` (all
    /// orgs) or `"<orgId>/Updated": 1` (one org); an unstated metric is not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BTreeMap<String, f64>>,
}

/// A scenario: several events in one pipeline.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Scenario {
    #[serde(default)]
    pub description: Option<String>,
    pub steps: Vec<ScenarioStep>,
    #[serde(default)]
    pub expect: Option<Expect>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ScenarioStep {
    /// A fixture file, relative to the scenario file.
    #[serde(default)]
    fixture: Option<String>,
    /// Or the event itself.
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// Finds the fixtures under `dir` (or `dir` itself if it is a file), sorted.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    if !dir.is_dir() {
        return Err(CliError::usage(format!("{} does not exist", dir.display())));
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| CliError::usage(format!("could not list {}: {e}", d.display())))?;
        for entry in entries {
            let path = entry.map_err(|e| CliError::usage(e.to_string()))?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".json") && !name.ends_with(".expect.json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

pub(super) fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// The expectation of the fixture at `path`: its sibling `NAME.expect.json`, which must
/// exist (an unstated outcome cannot be "as expected").
pub(super) fn load_expect(path: &Path) -> Result<Expect, String> {
    let ep = expect_path(path);
    read_json(&ep)
        .and_then(|v| serde_json::from_value(v).map_err(|e| format!("{}: {e}", ep.display())))
        .and_then(|e: Expect| {
            check_faults(&e).map_err(|why| format!("{}: {why}", ep.display()))?;
            Ok(e)
        })
        .map_err(|e| {
            if ep.exists() {
                e
            } else {
                format!(
                    "no expectation: add {} stating the expected outcome (see events/replay/README.md)",
                    ep.display()
                )
            }
        })
}

/// Every fault rule of `e` is one the sandbox takes.
pub(super) fn check_faults(e: &Expect) -> Result<(), String> {
    for (i, f) in e.faults.iter().flatten().enumerate() {
        f.validate().map_err(|why| format!("faults[{i}]: {why}"))?;
    }
    Ok(())
}

fn expect_path(fixture: &Path) -> PathBuf {
    let stem = fixture
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    fixture.with_file_name(format!("{stem}.expect.json"))
}

/// A scenario document, read and checked: its final `expect` may only check state.
pub(super) fn load_scenario(doc: Value) -> Result<Scenario, String> {
    let scenario: Scenario =
        serde_json::from_value(doc).map_err(|e| format!("not a valid scenario: {e}"))?;
    for (i, step) in scenario.steps.iter().enumerate() {
        if let Some(e) = &step.expect {
            check_faults(e).map_err(|why| format!("step {}: {why}", i + 1))?;
        }
    }
    if let Some(e) = &scenario.expect {
        if e.outcome.is_some()
            || e.error_type.is_some()
            || e.error_contains.is_some()
            || e.faults.is_some()
            || e.http_status.is_some()
            || e.output.is_some()
            || e.failed_messages.is_some()
            || e.function.is_some()
        {
            return Err("a scenario's final \"expect\" checks state (jobs, jobKinds, tickets, attributes, contacts, calls, deadLetters, messagesSent, mayHaveBeenSent); put outcome, errorType, errorContains, httpStatus, output, failedMessages and faults in a step's \"expect\"".into());
        }
    }
    Ok(scenario)
}

/// The event of step `i` (from 0) of the scenario at `path`, with the path that decides its
/// function (the fixture's, or the scenario's for an inline event) and its label.
pub(super) fn step_event(
    path: &Path,
    i: usize,
    step: &mut ScenarioStep,
) -> Result<(Value, PathBuf, String), String> {
    let base = path.parent().unwrap_or(Path::new("."));
    match (&step.fixture, step.event.take()) {
        (Some(f), None) => {
            let p = base.join(f);
            let v = read_json(&p).map_err(|e| format!("step {}: {e}", i + 1))?;
            Ok((v, p, f.clone()))
        }
        (None, Some(v)) => Ok((
            v,
            path.to_path_buf(),
            format!("inline event of step {}", i + 1),
        )),
        _ => Err(format!(
            "step {}: give exactly one of \"fixture\" and \"event\"",
            i + 1
        )),
    }
}

/// The fixture's file name, as the report shows it.
pub(super) fn display_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

/// The function that takes `event` (see [`pick_function`]) and the alias it is invoked
/// through: `named` may be `<function>:<qualifier>`, like a Lambda function name. Without
/// a qualifier the function is invoked unqualified (a data action is then refused in the
/// shared-stack deployment: that is a case worth a fixture).
pub(super) fn pick_invoked(
    path: &Path,
    event: &Value,
    named: Option<&str>,
) -> Result<Invoked, String> {
    let (name, qualifier) = match named.map(|n| n.split_once(':')) {
        Some(Some((_, ""))) => {
            return Err(format!(
                "{:?}: the qualifier after \":\" is empty; write <function>:org-<orgId>",
                named.unwrap_or_default()
            ))
        }
        Some(Some((name, q))) => (Some(name), Some(q.to_string())),
        Some(None) => (named, None),
        None => (None, None),
    };
    let function = pick_function(path, event, name)?;
    Ok(Invoked {
        function,
        qualifier,
    })
}

/// Which function takes `event` (the fixture at `path`): the one its expectation `named`,
/// else by its kind ([`classify`]): an EventBridge event or a Function URL request goes to
/// webhook-ingest, an SQS batch to the consumer of its jobs; a data action input (or a
/// batch with no readable job, or an event the classifier refuses, whose refusal is then
/// the function's to make) goes to the function of its directory, `events/<function>/`.
pub(super) fn pick_function(
    path: &Path,
    event: &Value,
    named: Option<&str>,
) -> Result<Function, String> {
    if let Some(n) = named {
        return Function::from_name(n).ok_or_else(|| {
            format!(
                "unknown function {n:?}; expected one of {}",
                Function::names()
            )
        });
    }
    let kind = classify(event);
    match kind {
        Ok(EventKind::EventBridge | EventKind::FunctionUrl) => return Ok(Function::WebhookIngest),
        Ok(EventKind::SqsBatch) => {
            if let Some(f) = consumer_of_batch(event) {
                return Ok(f);
            }
        }
        Ok(EventKind::DataAction) | Err(_) => {}
    }
    if let Some(f) = function_of_directory(path) {
        return Ok(f);
    }
    let refused = kind.err().map(|e| format!(" ({e})")).unwrap_or_default();
    Err(format!("cannot tell which function takes this event{refused}: put it under events/<function>/ or name the function in its expectation (\"function\")"))
}

/// The consumer of the first job in an SQS batch whose body is a job envelope.
fn consumer_of_batch(event: &Value) -> Option<Function> {
    event
        .get("Records")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|r| r.get("body").and_then(Value::as_str))
        .find_map(|b| JobEnvelope::from_json(b).ok())
        .map(|j| Function::of_consumer(j.job.consumer()))
}

/// The function named by a directory the fixture is in (`events/<function>/...`).
fn function_of_directory(path: &Path) -> Option<Function> {
    path.components()
        .rev()
        .skip(1)
        .find_map(|c| c.as_os_str().to_str().and_then(Function::from_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn which_function_takes_a_fixture() {
        let p = |s: &str| PathBuf::from(s);
        let eb = json!({"detail-type": "x", "source": "aws.partner/genesys.com/cloud/x/y", "detail": {}});
        assert_eq!(
            pick_function(&p("events/ticket-status/x.json"), &eb, None),
            Ok(Function::WebhookIngest)
        );
        let url = json!({"requestContext": {"http": {"method": "POST"}}});
        assert_eq!(
            pick_function(&p("x.json"), &url, None),
            Ok(Function::WebhookIngest)
        );
        let action = json!({"orgId": "x"});
        assert_eq!(
            pick_function(&p("events/ticket-status/a.json"), &action, None),
            Ok(Function::TicketStatus)
        );
        assert_eq!(
            pick_function(&p("events/attribute-writer/a.json"), &action, None),
            Ok(Function::AttributeWriter)
        );
        assert!(pick_function(&p("events/replay/a.json"), &action, None).is_err());
        assert_eq!(
            pick_function(&p("events/replay/a.json"), &action, Some("ticket-status")),
            Ok(Function::TicketStatus)
        );
        assert!(pick_function(&p("a.json"), &action, Some("ticket_status")).is_err());
        let wrapup = JobEnvelope::from_json(
            &json!({"v": 1, "jobId": "e:0", "orgId": "o", "eventId": "e", "createdAt": "2025-01-01T00:00:00Z",
                    "kind": "ticket.wrapup", "payload": {"conversationId": "c", "participantId": "p", "eventTimeMs": 1}})
            .to_string(),
        )
        .unwrap();
        let sqs = json!({"Records": [{"eventSource": "aws:sqs", "body": wrapup.to_json()}]});
        assert_eq!(
            pick_function(&p("x.json"), &sqs, None),
            Ok(Function::TicketStatus)
        );
    }

    #[test]
    fn a_named_function_may_carry_the_alias_it_is_invoked_through() {
        let p = PathBuf::from("events/ticket-status/a.json");
        let action = json!({"orgId": "x"});
        let org = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
        let named = format!("ticket-status:org-{org}");
        let i = pick_invoked(&p, &action, Some(&named)).unwrap();
        assert_eq!(i.function, Function::TicketStatus);
        assert_eq!(i.label(), named);
        let i = pick_invoked(&p, &action, None).unwrap();
        assert_eq!((i.function, i.qualifier), (Function::TicketStatus, None));
        assert!(pick_invoked(&p, &action, Some("ticket-status:")).is_err());
        assert!(pick_invoked(&p, &action, Some("ticket_status:org-x")).is_err());
    }

    #[test]
    fn events_the_classifier_refuses_go_by_their_directory() {
        let p = |s: &str| PathBuf::from(s);
        // A fixture may hold a broken event on purpose: the function's refusal is checked.
        let broken = json!({"detail-type": "x", "detail": {}});
        assert_eq!(
            pick_function(&p("events/webhook-ingest/x.json"), &broken, None),
            Ok(Function::WebhookIngest)
        );
        let e = pick_function(&p("x.json"), &broken, None).unwrap_err();
        assert!(
            e.contains("`source`") && e.contains("events/<function>/"),
            "{e}"
        );
        // A batch with no readable job: its directory.
        let junk = json!({"Records": [{"eventSource": "aws:sqs", "body": "not a job"}]});
        assert_eq!(
            pick_function(&p("events/attribute-writer/x.json"), &junk, None),
            Ok(Function::AttributeWriter)
        );
        assert!(pick_function(&p("x.json"), &junk, None).is_err());
    }
}
