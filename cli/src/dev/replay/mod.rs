//! `bridge dev --replay DIR`: runs every fixture under DIR through the local pipeline and
//! checks each outcome against what the fixture's expectation file says.
//!
//! Conventions (also in events/replay/README.md):
//! - A fixture `NAME.json` is one Lambda event, of a kind `bridge::event::classify` tells:
//!   an EventBridge event or a Function URL request goes to webhook-ingest, an SQS batch to
//!   the consumer of its jobs, a data action input to the function of its directory
//!   (`events/<function>/`); the expectation's `function` names it outright.
//! - Its expectation is the sibling `NAME.expect.json` (fields in [`Expect`]). A fixture
//!   without one fails the replay: an unstated outcome cannot be "as expected".
//! - A scenario (a file with `"steps"`, e.g. under events/replay/) runs several events in
//!   one pipeline, each step with an optional `expect`, and a final `expect` on the state.
//! - Every fixture or scenario gets a fresh sandbox and pipeline, so outcomes do not depend
//!   on the order of the files.
//!
//! The modules follow a fixture's path: `fixtures` (finding and loading fixtures,
//! expectations, scenarios; which function takes an event), `steps` (running an event
//! through the pipeline), `verdicts` (checking what happened against the expectation),
//! `state` (what the run left and changed upstream) and `report` (the text and JSON).

mod fixtures;
mod report;
mod state;
mod steps;
mod verdicts;

use std::path::Path;

use bridge_sandbox::StateHandle;
use serde_json::Value;

pub use fixtures::{discover, Expect};
pub use report::{Change, FixtureReport, ReplayReport, StepReport, WorkerReport};
pub use verdicts::Verdict;

use super::{OrgFiles, Pipeline, MAX_RECEIVES};
use crate::exit::CliError;
use fixtures::{display_name, load_expect, load_scenario, pick_invoked, read_json, step_event};
use steps::run_step;
use verdicts::{check_final, check_step};

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
            Err(problem) => FixtureReport::problem(&path, problem),
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

/// One event with its expectation file, through a fresh pipeline.
async fn run_fixture(
    path: &Path,
    event: Value,
    pipelines: &mut Pipelines<'_>,
    reference: &StateHandle,
) -> Result<FixtureReport, CliError> {
    let expect = match load_expect(path) {
        Ok(e) => e,
        Err(problem) => return Ok(FixtureReport::problem(path, problem)),
    };
    let invoked = match pick_invoked(path, &event, expect.function.as_deref()) {
        Ok(f) => f,
        Err(problem) => return Ok(FixtureReport::problem(path, problem)),
    };
    let pipeline = pipelines.start().await?;
    inject_faults(&pipeline, &expect);
    let step = run_step(&pipeline, &invoked, event, display_name(path)).await;
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

/// The steps of a scenario, one after the other through one fresh pipeline, then its final
/// expectation on the state.
async fn run_scenario(
    path: &Path,
    doc: Value,
    pipelines: &mut Pipelines<'_>,
    reference: &StateHandle,
) -> Result<FixtureReport, CliError> {
    let scenario = match load_scenario(doc) {
        Ok(s) => s,
        Err(problem) => return Ok(FixtureReport::problem(path, problem)),
    };
    let pipeline = pipelines.start().await?;
    let mut steps = Vec::new();
    let mut all_kinds: Vec<String> = Vec::new();
    for (i, mut s) in scenario.steps.into_iter().enumerate() {
        let (event, fixture_path, label) = match step_event(path, i, &mut s) {
            Ok(e) => e,
            Err(problem) => return Ok(FixtureReport::problem(path, problem)),
        };
        let invoked = match pick_invoked(&fixture_path, &event, s.function.as_deref()) {
            Ok(f) => f,
            Err(problem) => {
                return Ok(FixtureReport::problem(
                    path,
                    format!("step {}: {problem}", i + 1),
                ))
            }
        };
        if let Some(e) = &s.expect {
            inject_faults(&pipeline, e);
        }
        let step = run_step(&pipeline, &invoked, event, label).await;
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

/// Adds the expectation's sandbox fault rules (checked when the expectation was read).
fn inject_faults(p: &Pipeline, e: &Expect) {
    for fault in e.faults.iter().flatten() {
        p.sandbox.inject(fault.clone());
    }
}

/// The report of a fixture that ran: as expected when something was checked and every
/// verdict holds.
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
        changes: state::changes(
            &p.sandbox.journal(),
            &p.sandbox.state(),
            reference,
            &outputs,
        ),
        dead_letters: p
            .dead_letters()
            .iter()
            .map(|d| match d.may_have_been_sent() {
                true => format!(
                    "{} ({}) dead-lettered by the worker, marked may-have-been-sent: {}",
                    d.job.job_id,
                    d.function.name(),
                    d.reason
                ),
                false => format!(
                    "{} ({}) after {} deliveries: {}",
                    d.job.job_id,
                    d.function.name(),
                    MAX_RECEIVES,
                    d.reason
                ),
            })
            .collect(),
        metrics: p.metrics.summary(),
        steps,
        verdicts,
        problem,
        as_expected,
    }
}
