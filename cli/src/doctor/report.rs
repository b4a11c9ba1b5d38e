//! The doctor's report: one row ([`Check`]) per check, the table a person reads and the
//! JSON a script reads.

use serde::Serialize;
use serde_json::{json, Value};

use bridge::BridgeError;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Could not be decided; not a failure (e.g. a permission that cannot be probed safely).
    Warn,
    /// Not run, because an earlier check failed or it does not apply.
    Skip,
}

impl Status {
    pub fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Warn => "!",
            Status::Skip => "–",
        }
    }
}

/// Whether the OAuth client has a permission, and how we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grant {
    Granted,
    Missing,
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Need {
    pub permission: String,
    pub grant: Grant,
    /// "role" (read from the client's roles) or "probe" (inferred from a safe call).
    pub how: &'static str,
    /// [U]: the vendor sources we verified do not name this permission for the call.
    pub unverified: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable key for scripts: `config`, `genesys.token`, `genesys.org`, `genesys.roles`,
    /// `capability.*`, `zendesk.credential`.
    pub id: &'static str,
    pub title: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The stable error type of the failure behind a ✗ (`Genesys.BadCredentials`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
}

impl Check {
    pub(super) fn new(
        id: &'static str,
        title: &str,
        status: Status,
        detail: impl Into<String>,
    ) -> Check {
        Check {
            id,
            title: title.to_string(),
            status,
            detail: detail.into(),
            fix: None,
            error_type: None,
            needs: Vec::new(),
        }
    }

    pub(super) fn fail(
        id: &'static str,
        title: &str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(id, title, Status::Fail, detail).with_fix(fix)
    }

    pub(super) fn with_fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }

    pub(super) fn with_error(mut self, e: &BridgeError) -> Check {
        self.error_type = Some(e.error_type());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    pub org_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// Where the config was read from.
    pub location: String,
    /// Set when the checks ran against something else than the config's own hosts (the
    /// local sandbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstreams: Option<String>,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// True when no check failed (warnings and skips do not fail).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        v["passed"] = json!(self.passed());
        v
    }

    /// The table a person reads: header, one row per check (and its fix), summary.
    pub fn render(&self) -> String {
        let mut out = self.header();
        out.push('\n');
        let width = self
            .checks
            .iter()
            .map(|c| c.title.chars().count())
            .max()
            .unwrap_or(0);
        for c in &self.checks {
            out.push_str(&row(c, width));
        }
        out.push('\n');
        if self
            .checks
            .iter()
            .any(|c| c.needs.iter().any(|n| n.unverified))
        {
            out.push_str("[U] = the vendor sources we verified do not name this permission for the call; the local sandbox requires it.\n");
        }
        out.push_str(&self.summary());
        out
    }

    /// Which org, where its config came from, and what was checked against.
    fn header(&self) -> String {
        let name = self
            .org_name
            .as_deref()
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default();
        let mut out = format!(
            "bridge doctor: org {}{name}\nconfig from {}\n",
            self.org_id, self.location
        );
        if let Some(u) = &self.upstreams {
            out.push_str(&format!("checked against {u}\n"));
        }
        out
    }

    /// The counts per status, and what to do next.
    fn summary(&self) -> String {
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count();
        format!(
            "{} passed, {} failed, {} warnings, {} skipped: {}\n",
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Warn),
            count(Status::Skip),
            if self.passed() {
                "org is ready"
            } else {
                "fix the ✗ rows above and run `bridge doctor` again"
            }
        )
    }
}

/// One check's line, its title padded to `width`, and its fix below it.
fn row(c: &Check, width: usize) -> String {
    let pad = " ".repeat(width - c.title.chars().count());
    let mut out = format!("  {} {}{pad}  {}\n", c.status.mark(), c.title, c.detail);
    if let Some(fix) = &c.fix {
        out.push_str(&format!("    {}  fix: {fix}\n", " ".repeat(width)));
    }
    out
}
