//! The replay's report: what each fixture did and whether it was as expected, as the text
//! a person reads (`render`) and as JSON (serde).

use bridge::metrics::Summary;
use serde::Serialize;
use serde_json::Value;

use super::verdicts::Verdict;

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
    /// The event's kind in words ("EventBridge event"). The JSON key is `shape`, as it
    /// was before there was one event classifier: scripts read it.
    #[serde(rename = "shape")]
    pub kind: String,
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
    /// What the functions' EMF lines added up to, per org.
    pub metrics: Summary,
    pub verdicts: Vec<Verdict>,
    /// Why the fixture could not be run or checked at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub as_expected: bool,
}

impl FixtureReport {
    /// The report of a fixture that could not be run: not as expected, saying why.
    pub(super) fn problem(path: &std::path::Path, problem: String) -> FixtureReport {
        FixtureReport {
            path: path.display().to_string(),
            description: None,
            steps: Vec::new(),
            changes: Vec::new(),
            dead_letters: Vec::new(),
            metrics: Summary::default(),
            verdicts: Vec::new(),
            problem: Some(problem),
            as_expected: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    pub dir: String,
    pub orgs_dir: String,
    pub fixtures: Vec<FixtureReport>,
}

impl ReplayReport {
    /// What the metrics of every fixture add up to, per org.
    pub fn metrics(&self) -> Summary {
        let mut all = Summary::default();
        for f in &self.fixtures {
            all.merge(&f.metrics);
        }
        all
    }

    pub fn passed(&self) -> bool {
        !self.fixtures.is_empty() && self.fixtures.iter().all(|f| f.as_expected)
    }

    /// The text a person reads: a header, a block per fixture, a one-line summary.
    pub fn render(&self) -> String {
        let mut out = format!(
            "bridge dev --replay {}: {} fixture(s), each through a fresh pipeline (sandbox, org files from {}, in-memory queue and idempotency, the real handlers)\n",
            self.dir,
            self.fixtures.len(),
            self.orgs_dir
        );
        for f in &self.fixtures {
            out.push('\n');
            render_fixture(&mut out, f);
        }
        out.push('\n');
        let metrics = self.metrics();
        if !metrics.rows().is_empty() {
            out.push_str("metrics (the functions' EMF lines, all fixtures), per org:\n");
            for (who, counts) in metrics.rows() {
                out.push_str(&format!("  {who:<36}  {counts}\n"));
            }
            out.push('\n');
        }
        out.push_str(&self.summary());
        out
    }

    fn summary(&self) -> String {
        let failed: Vec<&str> = self
            .fixtures
            .iter()
            .filter(|f| !f.as_expected)
            .map(|f| f.path.as_str())
            .collect();
        if failed.is_empty() && !self.fixtures.is_empty() {
            format!(
                "{} fixture(s), every outcome as expected\n",
                self.fixtures.len()
            )
        } else if self.fixtures.is_empty() {
            "no fixtures found\n".to_string()
        } else {
            format!(
                "{} fixture(s), {} not as expected: {}\n",
                self.fixtures.len(),
                failed.len(),
                failed.join(", ")
            )
        }
    }
}

/// One fixture: its mark and path, its steps, the state it changed, its dead letters and
/// its verdicts (a single step's with the fixture's; a scenario's under each step).
fn render_fixture(out: &mut String, f: &FixtureReport) {
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
        render_step(out, &prefix, s);
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
    for (who, counts) in f.metrics.rows() {
        out.push_str(&format!("    metrics {who}: {counts}\n"));
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

/// One step: which function took which event and answered what, the jobs it made, the
/// consumers' runs and the upstream calls.
fn render_step(out: &mut String, prefix: &str, s: &StepReport) {
    let status = s.http_status.map(|h| format!(" {h}")).unwrap_or_default();
    out.push_str(&format!(
        "    {prefix}{} ({}) <- {}: {}{status}{}\n",
        s.function,
        s.kind,
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

/// `s`, cut to `max` characters (and "…").
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// `v` as JSON text, cut to `max` characters.
pub(super) fn short(v: &Value, max: usize) -> String {
    clip(&v.to_string(), max)
}
