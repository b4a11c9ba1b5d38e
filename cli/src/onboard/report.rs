//! What `bridge orgs onboard` and `offboard` did, and the text that says it (with the next
//! steps in Genesys Cloud).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::actions;
use super::org_stack::EVENT_SOURCE_PREFIX;
use super::stack::StackInfo;

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
    Removed,
    Absent,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
            Change::Removed => "removed",
            Change::Absent => "not there",
        }
    }
}

/// What `onboard` did.
#[derive(Debug, Clone)]
pub struct OnboardReport {
    pub org: String,
    pub name: Option<String>,
    pub region: String,
    pub shared_stack: String,
    pub secret: (Change, String),
    pub stack: (Change, StackInfo),
    pub aliases: BTreeMap<&'static str, String>,
    pub files: Vec<(PathBuf, actions::FileChange)>,
}

impl OnboardReport {
    /// True when the run changed nothing (a repeated onboard).
    pub fn unchanged(&self) -> bool {
        self.secret.0 == Change::Unchanged
            && self.stack.0 == Change::Unchanged
            && self
                .files
                .iter()
                .all(|(_, c)| *c == actions::FileChange::Unchanged)
    }

    pub fn event_source(&self) -> Option<String> {
        let suffix = self.stack.1.parameters.get("EventSourceSuffix")?;
        (!suffix.is_empty()).then(|| format!("{EVENT_SOURCE_PREFIX}{}/{suffix}", self.org))
    }

    pub fn render(&self) -> String {
        let org = &self.org;
        let named = self
            .name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let mut out = if self.unchanged() {
            format!("org {org}{named} is already onboarded as configured: nothing changed\n")
        } else {
            format!(
                "onboarded org {org}{named} into shared stack {} ({})\n",
                self.shared_stack, self.region
            )
        };
        let (stack_change, info) = &self.stack;
        out.push_str(&format!(
            "  secret      {:<9}  {}\n",
            self.secret.0.as_str(),
            self.secret.1
        ));
        out.push_str(&format!(
            "  org stack   {:<9}  {} ({})\n",
            stack_change.as_str(),
            info.name,
            info.status
        ));
        let role = info
            .outputs
            .get("DataActionRoleArn")
            .cloned()
            .unwrap_or_default();
        out.push_str(&format!("  role                   {role}\n"));
        for (key, arn) in &self.aliases {
            out.push_str(&format!("  alias                  {arn}  ({key})\n"));
        }
        match self.event_source() {
            Some(source) => out.push_str(&format!(
                "  events                 {source} -> webhook-ingest\n"
            )),
            None => out.push_str("  events                 none (no --event-source yet)\n"),
        }
        for (path, change) in &self.files {
            out.push_str(&format!(
                "  file        {:<9}  {}\n",
                change.as_str(),
                path.display()
            ));
        }
        out.push_str(&self.next_steps(&role));
        out
    }

    fn next_steps(&self, role: &str) -> String {
        let org = &self.org;
        let account = role.split(':').nth(4).unwrap_or("<your AWS account>");
        let dir = self
            .files
            .first()
            .and_then(|(p, _)| p.parent())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut s = format!("\nNext steps in Genesys Cloud (org {org}):\n");
        s.push_str(&format!(
            "  1. Admin > Integrations: add (or open) the \"AWS Lambda Data Actions\" integration; under Configuration > Credentials set the Role ARN to\n       {role}\n     and activate it. Genesys assumes the role with external id {org}.\n"
        ));
        s.push_str(&format!(
            "  2. Admin > Integrations > Actions > Import: each file in {dir}/ with that integration; open each action, Setup > Test with real ids, then Save & Publish (infra/genesys/README.md).\n"
        ));
        match self.event_source() {
            Some(source) => s.push_str(&format!(
                "  3. Events: {source} is associated with its event bus, and its rule sends the customer.start, acw and wrapup topics to webhook-ingest. Keep the EventBridge Source integration subscribed to those topics.\n"
            )),
            None => s.push_str(&format!(
                "  3. Events (optional): Admin > Integrations: add \"Amazon EventBridge Source\" with AWS account {account}, region {}, an event source suffix; subscribe it to v2.detail.events.conversation.{{id}}.customer.start, .acw and .wrapup; activate it. Then run again with --event-source {EVENT_SOURCE_PREFIX}{org}/<suffix>.\n",
                self.region
            )),
        }
        s
    }
}

/// What `offboard` did.
#[derive(Debug, Clone)]
pub struct OffboardReport {
    pub org: String,
    pub stack: (Change, String),
    pub secret: (Change, String),
}

impl OffboardReport {
    pub fn render(&self) -> String {
        let mut out = if self.stack.0 == Change::Absent && self.secret.0 == Change::Absent {
            format!("org {} is not onboarded: nothing to remove\n", self.org)
        } else {
            format!("offboarded org {}\n", self.org)
        };
        out.push_str(&format!(
            "  org stack   {:<9}  {}\n",
            self.stack.0.as_str(),
            self.stack.1
        ));
        out.push_str(&format!(
            "  secret      {:<9}  {}\n",
            self.secret.0.as_str(),
            self.secret.1
        ));
        if self.secret.0 == Change::Removed {
            out.push_str("  (Secrets Manager keeps the secret for its recovery window: `aws secretsmanager restore-secret` brings it back)\n");
        }
        out.push_str("Remove the org's data actions and its AWS Lambda Data Actions / EventBridge Source integrations in Genesys Cloud too.\n");
        out
    }
}
