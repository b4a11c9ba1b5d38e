//! `bridge dev --replay DIR`: runs every fixture under DIR through the local pipeline and
//! checks each outcome against what the fixture's expectation file says.
//!
//! Conventions (also in events/replay/README.md):
//! - A fixture `NAME.json` is one Lambda event: an EventBridge envelope or a Function URL
//!   request (-> webhook-ingest), an SQS batch or a data action input (-> the function of
//!   its directory, `events/<function>/`, or the one named in its expectation).
//! - Its expectation is the sibling `NAME.expect.json` (fields in [`Expect`]). A fixture
//!   without one fails the replay: an unstated outcome cannot be "as expected".
//! - A scenario (a file with `"steps"`, e.g. under events/replay/) runs several events in
//!   one pipeline, each step with an optional `expect`, and a final `expect` on the state.
//! - Every fixture or scenario gets a fresh sandbox and pipeline, so outcomes do not depend
//!   on the order of the files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bridge::jobs::JobEnvelope;
use bridge_sandbox::{JournalEntry, StateHandle};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    describe_call, describe_job, diagnostic_json, Function, OrgFiles, Pipeline, WorkerRun,
};
use crate::exit::CliError;

/// What a fixture is expected to do. Every field is optional; only stated fields are
/// checked. Unknown fields are errors, so a typo cannot silently check nothing.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// Shown in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which function takes the event, when its directory does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// "ok" or "error": the invocation's result (for Function URL requests: a 2xx status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The stable error type (`Zendesk.ClosedTicket`; for HTTP answers the body's errorType).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
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
}

/// A scenario: several events in one pipeline.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Scenario {
    #[serde(default)]
    description: Option<String>,
    steps: Vec<ScenarioStep>,
    #[serde(default)]
    expect: Option<Expect>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioStep {
    /// A fixture file, relative to the scenario file.
    #[serde(default)]
    fixture: Option<String>,
    /// Or the event itself.
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    function: Option<String>,
    #[serde(default)]
    expect: Option<Expect>,
}

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub what: String,
    pub ok: bool,
    /// What was found, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerReport {
    pub function: String,
    pub jobs: usize,
    pub failed: usize,
    pub dead_lettered: usize,
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub event: String,
    pub function: String,
    pub shape: String,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    pub output: Value,
    pub jobs: Vec<String>,
    pub workers: Vec<WorkerReport>,
    pub calls: Vec<String>,
    pub verdicts: Vec<Verdict>,
}

/// A state change the run made, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub what: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureReport {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub steps: Vec<StepReport>,
    pub changes: Vec<Change>,
    pub dead_letters: Vec<String>,
    pub verdicts: Vec<Verdict>,
    /// Why the fixture could not be run or checked at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub as_expected: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    pub dir: String,
    pub orgs_dir: String,
    pub fixtures: Vec<FixtureReport>,
}

impl ReplayReport {
    pub fn passed(&self) -> bool {
        !self.fixtures.is_empty() && self.fixtures.iter().all(|f| f.as_expected)
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "bridge dev --replay {}: {} fixture(s), each through a fresh pipeline (sandbox, org files from {}, in-memory queue and idempotency, the real handlers)\n",
            self.dir,
            self.fixtures.len(),
            self.orgs_dir
        );
        for f in &self.fixtures {
            out.push('\n');
            out.push_str(&format!(
                "{} {}\n",
                if f.as_expected { "✓" } else { "✗" },
                f.path
            ));
            if let Some(d) = &f.description {
                out.push_str(&format!("    {d}\n"));
            }
            if let Some(p) = &f.problem {
                out.push_str(&format!("    problem: {p}\n"));
            }
            let multi = f.steps.len() > 1;
            for (i, s) in f.steps.iter().enumerate() {
                let prefix = if multi {
                    format!("step {}: ", i + 1)
                } else {
                    String::new()
                };
                let status = s.http_status.map(|h| format!(" {h}")).unwrap_or_default();
                out.push_str(&format!(
                    "    {prefix}{} ({}) <- {}: {}{status}{}\n",
                    s.function,
                    s.shape,
                    s.event,
                    s.outcome,
                    s.error_type
                        .as_deref()
                        .map(|t| format!(" {t}"))
                        .unwrap_or_default()
                ));
                out.push_str(&format!("      output  {}\n", short(&s.output, 200)));
                if !s.jobs.is_empty() {
                    out.push_str(&format!(
                        "      jobs    {}\n",
                        s.jobs.join("\n              ")
                    ));
                }
                for w in &s.workers {
                    out.push_str(&format!(
                        "      worker  {}: {} job(s), {} failed{} -> {}\n",
                        w.function,
                        w.jobs,
                        w.failed,
                        if w.dead_lettered > 0 {
                            format!(", {} dead-lettered", w.dead_lettered)
                        } else {
                            String::new()
                        },
                        w.outcome
                    ));
                }
                if s.calls.is_empty() {
                    out.push_str("      calls   (none)\n");
                } else {
                    out.push_str(&format!(
                        "      calls   {}\n",
                        s.calls.join("\n              ")
                    ));
                }
                if multi && !s.verdicts.is_empty() {
                    out.push_str(&format!("      expect  {}\n", render_verdicts(&s.verdicts)));
                }
            }
            for c in &f.changes {
                out.push_str(&format!(
                    "    state   {}: {} -> {}\n",
                    c.what, c.before, c.after
                ));
            }
            for d in &f.dead_letters {
                out.push_str(&format!("    DLQ     {}\n", clip(d, 320)));
            }
            let mut all: Vec<Verdict> = if multi {
                Vec::new()
            } else {
                f.steps.iter().flat_map(|s| s.verdicts.clone()).collect()
            };
            all.extend(f.verdicts.iter().cloned());
            if !all.is_empty() {
                out.push_str(&format!("    expect  {}\n", render_verdicts(&all)));
            }
        }
        let failed: Vec<&str> = self
            .fixtures
            .iter()
            .filter(|f| !f.as_expected)
            .map(|f| f.path.as_str())
            .collect();
        out.push('\n');
        if failed.is_empty() && !self.fixtures.is_empty() {
            out.push_str(&format!(
                "{} fixture(s), every outcome as expected\n",
                self.fixtures.len()
            ));
        } else if self.fixtures.is_empty() {
            out.push_str("no fixtures found\n");
        } else {
            out.push_str(&format!(
                "{} fixture(s), {} not as expected: {}\n",
                self.fixtures.len(),
                failed.len(),
                failed.join(", ")
            ));
        }
        out
    }
}

fn render_verdicts(v: &[Verdict]) -> String {
    v.iter()
        .map(|v| match (&v.got, v.ok) {
            (_, true) => format!("{} ✓", v.what),
            (Some(got), false) => format!("{} ✗ (got {got})", v.what),
            (None, false) => format!("{} ✗", v.what),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

fn short(v: &Value, max: usize) -> String {
    clip(&v.to_string(), max)
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

fn expect_path(fixture: &Path) -> PathBuf {
    let stem = fixture
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    fixture.with_file_name(format!("{stem}.expect.json"))
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// The pipelines of a replay, one per fixture: the org files are read (and checked) for
/// the first one that is needed, and copied for the others.
struct Pipelines<'a> {
    orgs_dir: &'a Path,
    files: Option<OrgFiles>,
}

impl Pipelines<'_> {
    async fn start(&mut self) -> Result<Pipeline, CliError> {
        if let Some(files) = &self.files {
            return Pipeline::start_with(files).await;
        }
        let (pipeline, files) = Pipeline::start_reading(self.orgs_dir).await?;
        self.files = Some(files);
        Ok(pipeline)
    }
}

/// Runs every fixture under `dir` with the orgs of `orgs_dir`.
pub async fn run(dir: &Path, orgs_dir: &Path) -> Result<ReplayReport, CliError> {
    let fixtures = discover(dir)?;
    // Never changed: the "before" of every state change.
    let reference = super::start_sandbox().await?;
    let mut pipelines = Pipelines {
        orgs_dir,
        files: None,
    };
    let mut reports = Vec::new();
    for path in fixtures {
        let report = match read_json(&path) {
            Err(problem) => problem_report(&path, problem),
            Ok(doc) if doc.get("steps").is_some() => {
                run_scenario(&path, doc, &mut pipelines, &reference.state()).await?
            }
            Ok(doc) => run_fixture(&path, doc, &mut pipelines, &reference.state()).await?,
        };
        reports.push(report);
    }
    Ok(ReplayReport {
        dir: dir.display().to_string(),
        orgs_dir: orgs_dir.display().to_string(),
        fixtures: reports,
    })
}

fn problem_report(path: &Path, problem: String) -> FixtureReport {
    FixtureReport {
        path: path.display().to_string(),
        description: None,
        steps: Vec::new(),
        changes: Vec::new(),
        dead_letters: Vec::new(),
        verdicts: Vec::new(),
        problem: Some(problem),
        as_expected: false,
    }
}

async fn run_fixture(
    path: &Path,
    event: Value,
    pipelines: &mut Pipelines<'_>,
    reference: &StateHandle,
) -> Result<FixtureReport, CliError> {
    let ep = expect_path(path);
    let expect: Expect = match read_json(&ep)
        .and_then(|v| serde_json::from_value(v).map_err(|e| format!("{}: {e}", ep.display())))
    {
        Ok(e) => e,
        Err(_) if !ep.exists() => {
            return Ok(problem_report(
                path,
                format!(
                "no expectation: add {} stating the expected outcome (see events/replay/README.md)",
                ep.display()
            ),
            ))
        }
        Err(e) => return Ok(problem_report(path, e)),
    };
    let function = match pick_function(path, &event, expect.function.as_deref()) {
        Ok(f) => f,
        Err(problem) => return Ok(problem_report(path, problem)),
    };
    let pipeline = pipelines.start().await?;
    let step = run_step(&pipeline, function, event, display_name(path)).await;
    let mut step_report = step.report;
    step_report.verdicts = check_step(&expect, &step_report, &step.kinds, step.entry_failed);
    let finals = check_final(&expect, &pipeline, None);
    Ok(finish(
        path,
        expect.description.clone(),
        vec![step_report],
        finals,
        &pipeline,
        reference,
    ))
}

async fn run_scenario(
    path: &Path,
    doc: Value,
    pipelines: &mut Pipelines<'_>,
    reference: &StateHandle,
) -> Result<FixtureReport, CliError> {
    let scenario: Scenario = match serde_json::from_value(doc) {
        Ok(s) => s,
        Err(e) => return Ok(problem_report(path, format!("not a valid scenario: {e}"))),
    };
    if let Some(e) = &scenario.expect {
        if e.outcome.is_some()
            || e.error_type.is_some()
            || e.http_status.is_some()
            || e.output.is_some()
            || e.failed_messages.is_some()
            || e.function.is_some()
        {
            return Ok(problem_report(
                path,
                "a scenario's final \"expect\" checks state (jobs, jobKinds, tickets, attributes, contacts, calls, deadLetters); put outcome, errorType, httpStatus, output and failedMessages in a step's \"expect\"".into(),
            ));
        }
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let pipeline = pipelines.start().await?;
    let mut steps = Vec::new();
    let mut all_kinds: Vec<String> = Vec::new();
    for (i, s) in scenario.steps.into_iter().enumerate() {
        let (event, fixture_path, label) = match (&s.fixture, s.event) {
            (Some(f), None) => {
                let p = base.join(f);
                match read_json(&p) {
                    Ok(v) => (v, p, f.clone()),
                    Err(e) => return Ok(problem_report(path, format!("step {}: {e}", i + 1))),
                }
            }
            (None, Some(v)) => (
                v,
                path.to_path_buf(),
                format!("inline event of step {}", i + 1),
            ),
            _ => {
                return Ok(problem_report(
                    path,
                    format!(
                        "step {}: give exactly one of \"fixture\" and \"event\"",
                        i + 1
                    ),
                ))
            }
        };
        let function = match pick_function(&fixture_path, &event, s.function.as_deref()) {
            Ok(f) => f,
            Err(problem) => return Ok(problem_report(path, format!("step {}: {problem}", i + 1))),
        };
        let step = run_step(&pipeline, function, event, label).await;
        all_kinds.extend(step.kinds.iter().cloned());
        let mut report = step.report;
        if let Some(e) = &s.expect {
            report.verdicts = check_step(e, &report, &step.kinds, step.entry_failed);
        }
        steps.push(report);
    }
    let expect = scenario.expect.unwrap_or_default();
    let finals = check_final(&expect, &pipeline, Some(&all_kinds));
    Ok(finish(
        path,
        scenario.description.or(expect.description.clone()),
        steps,
        finals,
        &pipeline,
        reference,
    ))
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

/// Which function takes `event`: by its shape, else by the fixture's directory, else by
/// the expectation's `function`.
fn pick_function(path: &Path, event: &Value, named: Option<&str>) -> Result<Function, String> {
    if let Some(n) = named {
        return Function::from_name(n).ok_or_else(|| format!("unknown function {n:?}; expected webhook-ingest, attribute-writer or ticket-status"));
    }
    let obj = event.as_object();
    let is_ingest = obj.is_some_and(|o| {
        o.contains_key("requestContext")
            || (o.contains_key("detail-type") && o.contains_key("source"))
    });
    if is_ingest {
        return Ok(Function::WebhookIngest);
    }
    let dir_function = path
        .components()
        .rev()
        .skip(1)
        .find_map(|c| c.as_os_str().to_str().and_then(Function::from_name));
    if let Some(f) = dir_function {
        return Ok(f);
    }
    // An SQS batch of jobs goes to the consumer of its jobs.
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let consumer = records
            .iter()
            .filter_map(|r| r.get("body").and_then(Value::as_str))
            .find_map(|b| JobEnvelope::from_json(b).ok())
            .map(|j| j.job.consumer());
        if let Some(c) = consumer {
            return Ok(Function::of_consumer(c));
        }
    }
    Err("cannot tell which function takes this event: put it under events/<function>/ or name the function in its expectation (\"function\")".into())
}

fn shape_of(function: Function, event: &Value) -> &'static str {
    if event.get("requestContext").is_some() {
        "Function URL request"
    } else if event.get("detail-type").is_some() {
        "EventBridge event"
    } else if event.get("Records").is_some() {
        "SQS batch"
    } else if function == Function::WebhookIngest {
        "event"
    } else {
        "data action"
    }
}

struct StepRun {
    report: StepReport,
    kinds: Vec<String>,
    /// SQS entry: messages reported failed.
    entry_failed: Option<usize>,
}

async fn run_step(p: &Pipeline, function: Function, event: Value, label: String) -> StepRun {
    let mark = p.sandbox.last_seq();
    let shape = shape_of(function, &event);
    let result = p.invoke(function, event).await;
    // The jobs this event queued, looked at before the consumers take them.
    let made = p.take_queued();
    p.requeue(&made).await;
    let (outcome, error_type, http_status, output) = read_result(&result);
    // An SQS batch that failed as a whole reports no messages.
    let entry_failed = match &result {
        Ok(v) if shape == "SQS batch" => Some(
            v.get("batchItemFailures")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
        ),
        _ => None,
    };
    let runs = p.drain().await;
    let calls = p.sandbox.journal_since(mark);
    StepRun {
        kinds: made.iter().map(|j| j.job.kind().to_string()).collect(),
        report: StepReport {
            event: label,
            function: function.name().to_string(),
            shape: shape.to_string(),
            outcome,
            error_type,
            http_status,
            output,
            jobs: made.iter().map(describe_job).collect(),
            workers: runs.iter().map(worker_report).collect(),
            calls: calls.iter().map(describe_call).collect(),
            verdicts: Vec::new(),
        },
        entry_failed,
    }
}

/// (outcome, error type, HTTP status, output) of an invocation. A Function URL answer is
/// "ok" when its status is 2xx, and its JSON body is the output.
fn read_result(
    result: &Result<Value, lambda_runtime::Diagnostic>,
) -> (String, Option<String>, Option<u16>, Value) {
    match result {
        Err(d) => (
            "error".into(),
            Some(d.error_type.clone()),
            None,
            diagnostic_json(d),
        ),
        Ok(v) => match v.get("statusCode").and_then(Value::as_u64) {
            Some(status) => {
                let body = v
                    .get("body")
                    .and_then(Value::as_str)
                    .map(|b| {
                        serde_json::from_str(b).unwrap_or_else(|_| Value::String(b.to_string()))
                    })
                    .unwrap_or(Value::Null);
                let ok = (200..300).contains(&status);
                let et = if ok {
                    None
                } else {
                    body.get("errorType")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                (
                    if ok { "ok" } else { "error" }.into(),
                    et,
                    Some(status as u16),
                    body,
                )
            }
            None => ("ok".into(), None, None, v.clone()),
        },
    }
}

fn worker_report(w: &WorkerRun) -> WorkerReport {
    WorkerReport {
        function: w.function.name().to_string(),
        jobs: w.jobs.len(),
        failed: w.failed.len(),
        dead_lettered: w.dead_lettered.len(),
        outcome: match &w.result {
            Ok(v) => format!("ok {}", short(v, 120)),
            Err(d) => format!(
                "error {}: {}",
                d.error_type,
                short(&Value::String(d.error_message.clone()), 160)
            ),
        },
    }
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

fn check_step(
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

/// The status of Zendesk ticket `id` of account `sub`.
fn ticket_status(state: &StateHandle, sub: &str, id: u64) -> Option<String> {
    state
        .ticket(sub, id)
        .and_then(|t| t.get("status").and_then(Value::as_str).map(str::to_string))
}

/// The customFields of external contact `id`, in the first of `orgs` that has the contact.
fn contact_fields<'a>(
    state: &StateHandle,
    mut orgs: impl Iterator<Item = &'a str>,
    id: &str,
) -> Option<Value> {
    orgs.find_map(|o| state.contact(o, id))
        .and_then(|c| c.get("customFields").cloned())
}

/// Checks the state the run left (tickets, attributes, contacts, calls, dead letters) and,
/// for scenarios, the jobs of all steps together (`all_kinds`).
fn check_final(e: &Expect, p: &Pipeline, all_kinds: Option<&[String]>) -> Vec<Verdict> {
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

fn finish(
    path: &Path,
    description: Option<String>,
    steps: Vec<StepReport>,
    verdicts: Vec<Verdict>,
    p: &Pipeline,
    reference: &StateHandle,
) -> FixtureReport {
    let checked = steps.iter().any(|s| !s.verdicts.is_empty()) || !verdicts.is_empty();
    let as_expected = checked
        && steps
            .iter()
            .flat_map(|s| s.verdicts.iter())
            .chain(verdicts.iter())
            .all(|v| v.ok);
    let problem = (!checked).then(|| "the expectation states nothing to check".to_string());
    let outputs: Vec<&Value> = steps.iter().map(|s| &s.output).collect();
    FixtureReport {
        path: path.display().to_string(),
        description,
        changes: changes(
            &p.sandbox.journal(),
            &p.sandbox.state(),
            reference,
            &outputs,
        ),
        dead_letters: p
            .dead_letters()
            .iter()
            .map(|d| {
                format!(
                    "{} ({}) after {} deliveries: {}",
                    d.job.job_id,
                    d.function.name(),
                    super::MAX_RECEIVES,
                    d.reason
                )
            })
            .collect(),
        steps,
        verdicts,
        problem,
        as_expected,
    }
}

/// What the run changed upstream, before -> after, found through the journal.
fn changes(
    journal: &[JournalEntry],
    state: &StateHandle,
    reference: &StateHandle,
    outputs: &[&Value],
) -> Vec<Change> {
    let mut tickets: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut attrs: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut contacts: BTreeSet<(String, String)> = BTreeSet::new();
    for e in journal.iter().filter(|e| (200..300).contains(&e.status)) {
        let seg: Vec<&str> = e.path.trim_start_matches('/').split('/').collect();
        match (e.method.as_str(), seg.as_slice()) {
            ("PUT", ["zendesk", sub, "api", "v2", "tickets", file]) => {
                if let Some(id) = file.strip_suffix(".json").and_then(|i| i.parse().ok()) {
                    tickets.insert((sub.to_string(), id));
                }
            }
            ("POST", ["zendesk", sub, "api", "v2", "tickets.json"]) => {
                // The new ticket's id is in the function's output.
                for o in outputs {
                    if let Some(id) = o
                        .get("followUpTicketId")
                        .and_then(|v| v.as_str())
                        .and_then(|s| s.parse().ok())
                    {
                        tickets.insert((sub.to_string(), id));
                    }
                }
            }
            ("PATCH", ["api", "v2", "conversations", c, "participants", p, "attributes"]) => {
                let keys = e
                    .body
                    .as_ref()
                    .and_then(|b| b.get("attributes"))
                    .and_then(Value::as_object)
                    .map(|o| o.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default();
                attrs
                    .entry((c.to_string(), p.to_string()))
                    .or_default()
                    .extend(keys);
            }
            ("PATCH", ["api", "v2", "externalcontacts", "contacts", id]) => {
                if let Some(org) = &e.org_id {
                    contacts.insert((org.clone(), id.to_string()));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let status = |s: &StateHandle, sub: &str, id: u64| {
        ticket_status(s, sub, id).unwrap_or_else(|| "(none)".into())
    };
    for (sub, id) in tickets {
        out.push(Change {
            what: format!("ticket {sub}/{id} status"),
            before: status(reference, &sub, id),
            after: status(state, &sub, id),
        });
    }
    for ((c, p), keys) in attrs {
        let before = reference.participant_attributes(&c, &p).unwrap_or_default();
        let after = state.participant_attributes(&c, &p).unwrap_or_default();
        let show = |m: &BTreeMap<String, String>| {
            let sub: BTreeMap<&String, Option<&String>> =
                keys.iter().map(|k| (k, m.get(k))).collect();
            serde_json::to_string(&sub).unwrap_or_default()
        };
        out.push(Change {
            what: format!("attributes {c}/{p}"),
            before: show(&before),
            after: show(&after),
        });
    }
    for (org, id) in contacts {
        let fields = |s: &StateHandle| {
            contact_fields(s, std::iter::once(org.as_str()), &id)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "(none)".into())
        };
        out.push(Change {
            what: format!("contact {id} customFields"),
            before: fields(reference),
            after: fields(state),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn which_function_takes_a_fixture() {
        let p = |s: &str| PathBuf::from(s);
        let eb = json!({"detail-type": "x", "source": "aws.partner/genesys.com/cloud/x/y", "detail": {}});
        assert_eq!(
            pick_function(&p("events/ticket-status/x.json"), &eb, None),
            Ok(Function::WebhookIngest)
        );
        let url = json!({"requestContext": {}});
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
    fn results_are_read_like_lambda_and_function_urls() {
        let http =
            json!({"statusCode": 401, "headers": {}, "body": "{\"errorType\":\"Unauthorized\"}"});
        let (outcome, et, status, body) = read_result(&Ok(http));
        assert_eq!(
            (outcome.as_str(), et.as_deref(), status),
            ("error", Some("Unauthorized"), Some(401))
        );
        assert_eq!(body["errorType"], "Unauthorized");
        let err = lambda_runtime::Diagnostic {
            error_type: "Zendesk.ClosedTicket".into(),
            error_message: "closed".into(),
        };
        let (outcome, et, status, _) = read_result(&Err(err));
        assert_eq!(
            (outcome.as_str(), et.as_deref(), status),
            ("error", Some("Zendesk.ClosedTicket"), None)
        );
        let (outcome, et, _, body) = read_result(&Ok(json!({"ok": true})));
        assert_eq!((outcome.as_str(), et), ("ok", None));
        assert_eq!(body, json!({"ok": true}));
    }
}
