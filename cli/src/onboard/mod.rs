//! `bridge orgs onboard|offboard|render`: one command adds a Genesys org to a deployed
//! shared stack (its secret, its org stack from `infra/org.yaml`, its Genesys data-action
//! files) and one removes it again. Both check everything before they change anything,
//! and both are idempotent: run twice, the second run changes nothing and says so.

pub mod actions;
pub mod args;
mod progress;
pub mod stack;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::config::ProvideCredentials;
use aws_sdk_cloudformation::error::DisplayErrorContext;
use bridge::secrets::{SecretSource, SecretsManagerSource};
use bridge::OrgConfig;
use secrecy::{ExposeSecret, SecretString};

pub use args::{OffboardArgs, OnboardArgs, RenderArgs};
use progress::Progress;
use stack::{Deployment, StackInfo, State, Wait};

use crate::exit::CliError;
use crate::source::Env;

/// The org stack's template, built into the binary: what is deployed is what was tested.
pub const ORG_TEMPLATE: &str = include_str!("../../../infra/org.yaml");

/// Genesys partner event sources are named `aws.partner/genesys.com/cloud/<orgId>/<suffix>`.
pub const EVENT_SOURCE_PREFIX: &str = "aws.partner/genesys.com/cloud/";

/// How often a stack operation is polled.
const POLL: Duration = Duration::from_secs(3);

/// The org's stack: named after its shared stack, so two deployments in one account
/// (staging, production) keep their org stacks apart.
pub fn org_stack_name(shared: &str, org: &str) -> String {
    format!("{shared}-org-{org}")
}

/// The parameter names of a template's `Parameters:` section (its two-space keys).
pub fn template_parameters(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') && !line.trim().is_empty() {
            inside = line.trim_end() == "Parameters:";
            continue;
        }
        if let Some(key) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if inside && !key.starts_with([' ', '#']) {
                names.push(key.to_string());
            }
        }
    }
    names
}

/// The suffix of `--event-source`, which must be a Genesys event source of `org` itself.
pub fn event_source_suffix(org: &str, name: &str) -> Result<String, CliError> {
    let expected = format!("{EVENT_SOURCE_PREFIX}{org}/<suffix>");
    let rest = name.trim().strip_prefix(EVENT_SOURCE_PREFIX).ok_or_else(|| {
        CliError::usage(format!(
            "--event-source {name:?} is not a Genesys partner event source: expected {expected} (EventBridge > Partner event sources)"
        ))
    })?;
    let (source_org, suffix) = rest.split_once('/').unwrap_or((rest, ""));
    if bridge::input::canonical_uuid(source_org).as_deref() != Some(org) {
        return Err(CliError::usage(format!(
            "--event-source {name:?} belongs to org {source_org:?}, not to {org}: an org stack takes only its own org's event source (expected {expected})"
        )));
    }
    let valid = !suffix.is_empty()
        && suffix.len() <= 200
        && !suffix.starts_with('/')
        && suffix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
    if !valid {
        return Err(CliError::usage(format!(
            "--event-source {name:?}: the suffix after the org id must be 1-200 of A-Z a-z 0-9 . _ - / (expected {expected})"
        )));
    }
    Ok(suffix.to_string())
}

/// The AWS setup of a command: a region and credentials that resolve, checked before
/// the first call so the error says what is missing.
pub struct Aws {
    pub conf: SdkConfig,
    pub cfn: aws_sdk_cloudformation::Client,
    pub region: String,
}

impl Aws {
    pub async fn connect(env: &Env, command: &str) -> Result<Aws, CliError> {
        let conf = env
            .aws_config(&format!(
                "{command} needs an AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile with a region); it is the region of the shared stack"
            ))
            .await?;
        let no_creds = |why: String| {
            CliError::usage(format!(
                "{command} needs AWS credentials and found none ({why}): set AWS_PROFILE (then `aws sso login` if it uses SSO), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; nothing was changed"
            ))
        };
        let provider = conf
            .credentials_provider()
            .ok_or_else(|| no_creds("no credential provider".into()))?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| no_creds(DisplayErrorContext(&e).to_string()))?;
        let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
        Ok(Aws {
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            conf,
            region,
        })
    }
}

/// The shared stack, settled and with the outputs org stacks need.
async fn shared_stack(aws: &Aws, name: &str) -> Result<StackInfo, CliError> {
    let info = stack::describe(&aws.cfn, name).await?.ok_or_else(|| {
        CliError::usage(format!(
            "shared stack {name:?} not found in {}: deploy infra/template.yaml first (sam build && sam deploy, README \"Deploy\"), or name it with --stack; nothing was changed",
            aws.region
        ))
    })?;
    match stack::classify(&info.status, name, "") {
        State::Ready => {}
        State::Busy => {
            return Err(CliError::failed(format!(
                "shared stack {name} is being changed ({}); run this again when it is done; nothing was changed",
                info.status
            )))
        }
        _ => {
            return Err(CliError::failed(format!(
                "shared stack {name} is in {}: repair it (sam deploy) before onboarding or removing orgs; nothing was changed",
                info.status
            )))
        }
    }
    let missing: Vec<&str> = [
        "OrgSecretPrefix",
        "EventDeliveryDlqArn",
        "WebhookIngestFunctionArn",
    ]
    .into_iter()
    .filter(|k| !info.outputs.contains_key(*k))
    .collect();
    if !missing.is_empty() {
        return Err(CliError::usage(format!(
            "stack {name} has no output {}: it is not a genesys-bridge shared stack, or it predates org stacks; deploy the current infra/template.yaml; nothing was changed",
            missing.join(", ")
        )));
    }
    Ok(info)
}

/// The org stack's parameters: the org's own, and every other parameter of
/// `infra/org.yaml` from the shared stack's output of the same name.
pub fn org_parameters(
    org: &str,
    suffix: &str,
    genesys_account: &str,
    shared: &StackInfo,
) -> Result<BTreeMap<String, String>, CliError> {
    let own = ["OrgId", "EventSourceSuffix", "GenesysAwsAccountId"];
    // Tuning with defaults in the template; not taken from the shared stack.
    let defaulted = ["EventRetryAttempts", "EventMaxAgeSeconds"];
    let mut params = BTreeMap::from([
        ("OrgId".to_string(), org.to_string()),
        ("EventSourceSuffix".to_string(), suffix.to_string()),
        (
            "GenesysAwsAccountId".to_string(),
            genesys_account.to_string(),
        ),
    ]);
    let mut missing = Vec::new();
    for name in template_parameters(ORG_TEMPLATE) {
        if own.contains(&name.as_str()) || defaulted.contains(&name.as_str()) {
            continue;
        }
        match shared.outputs.get(&name) {
            Some(v) => {
                params.insert(name, v.clone());
            }
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        return Err(CliError::usage(format!(
            "shared stack {} has no output {} that infra/org.yaml needs: deploy the current infra/template.yaml first; nothing was changed",
            shared.name,
            missing.join(", ")
        )));
    }
    Ok(params)
}

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

/// The validated org file: its text (stored as written) and display name.
fn read_config(file: &Path, org: &str) -> Result<(SecretString, Option<String>), CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::usage(format!("could not read {}: {e}", file.display())))?;
    let cfg = OrgConfig::from_json(&text).map_err(|e| {
        CliError::usage(format!(
            "{} is not a valid org config, nothing was changed: {}",
            file.display(),
            e.message
        ))
    })?;
    if !cfg.org_id.eq_ignore_ascii_case(org) {
        return Err(CliError::usage(format!(
            "{} is the config of org {} (its orgId), not of {org}; refusing to onboard one org with another org's credentials",
            file.display(),
            cfg.org_id
        )));
    }
    Ok((SecretString::from(text), cfg.name))
}

async fn store_secret(
    source: &SecretsManagerSource,
    org: &str,
    doc: &SecretString,
) -> Result<Change, CliError> {
    if let Some(current) = source.fetch(org).await.map_err(CliError::from)? {
        if current.expose_secret() == doc.expose_secret() {
            return Ok(Change::Unchanged);
        }
    }
    let replaced = source.put(org, doc).await.map_err(CliError::from)?;
    Ok(if replaced {
        Change::Updated
    } else {
        Change::Created
    })
}

/// Creates or updates the org stack and waits for it; unchanged when the stack already
/// has this template and these parameters.
async fn deploy(
    aws: &Aws,
    existing: Option<&StackInfo>,
    d: &Deployment<'_>,
    wait: Wait,
) -> Result<(Change, StackInfo), CliError> {
    let change = match existing {
        None => {
            stack::create(&aws.cfn, d).await?;
            Change::Created
        }
        Some(info) => {
            let same_params = d
                .parameters
                .iter()
                .all(|(k, v)| info.parameters.get(k) == Some(v));
            if same_params && stack::template_body(&aws.cfn, d.name).await? == d.template {
                return Ok((Change::Unchanged, info.clone()));
            }
            if !stack::update(&aws.cfn, d).await? {
                return Ok((Change::Unchanged, info.clone()));
            }
            Change::Updated
        }
    };
    let mut progress = Progress::start(&format!("{}: {} …", d.name, change.as_str()));
    let settled = stack::wait(&aws.cfn, d.name, wait, &mut progress).await;
    progress.finish();
    let expected = if change == Change::Created {
        "CREATE_COMPLETE"
    } else {
        "UPDATE_COMPLETE"
    };
    match settled? {
        Some(info) if info.status == expected => Ok((change, info)),
        Some(info) => {
            let why = stack::failure_reasons(&aws.cfn, &info).await;
            let after = if change == Change::Created {
                format!(
                    "; a stack in that state cannot be updated: after fixing the cause run `bridge orgs offboard --org {} --yes` and onboard again",
                    d.parameters.get("OrgId").map(String::as_str).unwrap_or("<org>")
                )
            } else {
                "; the previous configuration is still in place".to_string()
            };
            Err(CliError::failed(format!(
                "org stack {} ended in {} (not {expected}){why}{after}; the org secret was stored",
                d.name, info.status
            )))
        }
        None => Err(CliError::failed(format!(
            "org stack {} disappeared while it was being {}; see the stack events in the CloudFormation console",
            d.name,
            change.as_str()
        ))),
    }
}

/// The org's alias ARN per action, from the org stack's outputs, each checked to be the
/// shared function's alias `org-<org>`: a file is never written with another org's ARN.
fn alias_arns(
    org: &str,
    shared: &StackInfo,
    org_stack: &StackInfo,
) -> Result<BTreeMap<&'static str, String>, CliError> {
    let mut arns = BTreeMap::new();
    for a in actions::ACTIONS {
        let function_output = a.alias_output.replace("AliasArn", "FunctionArn");
        let expected = shared
            .outputs
            .get(&function_output)
            .map(|f| format!("{f}:org-{org}"));
        let got = org_stack.outputs.get(a.alias_output);
        match (got, expected) {
            (Some(got), Some(expected)) if *got == expected => {
                arns.insert(a.key, got.clone());
            }
            (got, expected) => {
                return Err(CliError::failed(format!(
                    "org stack {} output {} is {:?}, expected {:?} (the alias org-{org} of the shared stack's {function_output}); nothing was written to Genesys files",
                    org_stack.name, a.alias_output, got, expected
                )))
            }
        }
    }
    Ok(arns)
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

// Checks (no change yet), then secret, stack, files, in that order: ~70 lines of steps
// that read best in one place.
pub async fn onboard(env: &Env, a: &OnboardArgs) -> Result<OnboardReport, CliError> {
    let org = actions::org_id("--org", &a.org)?;
    let wanted_suffix = match (&a.event_source, a.no_event_source) {
        (Some(name), _) => Some(event_source_suffix(&org, name)?),
        (None, true) => Some(String::new()),
        (None, false) => None,
    };
    if a.genesys_account.len() != 12 || !a.genesys_account.chars().all(|c| c.is_ascii_digit()) {
        return Err(CliError::usage(format!(
            "--genesys-account {:?} is not a 12-digit AWS account id",
            a.genesys_account
        )));
    }
    let (doc, name) = read_config(&a.file, &org)?;
    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("build/genesys").join(&org));
    let stack_name = org_stack_name(&a.stack, &org);
    if stack_name.len() > 128 {
        return Err(CliError::usage(format!(
            "--stack {:?} is too long: the org stack name {stack_name} must be at most 128 characters",
            a.stack
        )));
    }

    let aws = Aws::connect(env, "bridge orgs onboard").await?;
    let shared = shared_stack(&aws, &a.stack).await?;
    let existing = stack::describe(&aws.cfn, &stack_name).await?;
    if let Some(info) = &existing {
        match stack::classify(&info.status, &stack_name, &org) {
            State::Ready | State::Missing => {}
            State::Busy => {
                return Err(CliError::failed(format!(
                    "org stack {stack_name} is {}: another operation is running; run this again when it is done; nothing was changed",
                    info.status
                )))
            }
            State::Failed(what) => {
                return Err(CliError::failed(format!(
                    "org stack {stack_name} cannot be onboarded into: {what}; nothing was changed"
                )))
            }
        }
    }
    // Without --event-source (or --no-event-source) the stack keeps the one it has.
    let suffix = wanted_suffix.unwrap_or_else(|| {
        existing
            .as_ref()
            .and_then(|s| s.parameters.get("EventSourceSuffix").cloned())
            .unwrap_or_default()
    });
    let params = org_parameters(&org, &suffix, &a.genesys_account, &shared)?;
    let secrets = SecretsManagerSource::from_conf(&aws.conf, &shared.outputs["OrgSecretPrefix"]);

    let secret = store_secret(&secrets, &org, &doc).await?;
    let tags = [
        ("genesys-bridge:org-id".to_string(), org.clone()),
        ("genesys-bridge:shared-stack".to_string(), a.stack.clone()),
    ];
    let deployment = Deployment {
        name: &stack_name,
        template: ORG_TEMPLATE,
        parameters: &params,
        tags: &tags,
    };
    let wait = Wait {
        poll: POLL,
        timeout: Duration::from_secs(a.timeout.max(1)),
    };
    let stack = deploy(&aws, existing.as_ref(), &deployment, wait).await?;
    let aliases = alias_arns(&org, &shared, &stack.1)?;
    let files = actions::write_actions(&org, &aliases, &out_dir)?;
    Ok(OnboardReport {
        secret: (secret, secrets.location(&org)),
        org,
        name,
        region: aws.region,
        shared_stack: a.stack.clone(),
        stack,
        aliases,
        files,
    })
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

/// Removes the org stack, then the secret, after `confirm` agreed (unless `--yes`).
pub async fn offboard(
    env: &Env,
    a: &OffboardArgs,
    confirm: &mut dyn FnMut(&str) -> Result<bool, CliError>,
) -> Result<OffboardReport, CliError> {
    let org = actions::org_id("--org", &a.org)?;
    let aws = Aws::connect(env, "bridge orgs offboard").await?;
    let shared = shared_stack(&aws, &a.stack).await?;
    let stack_name = org_stack_name(&a.stack, &org);
    let existing = stack::describe(&aws.cfn, &stack_name).await?;
    let secrets = SecretsManagerSource::from_conf(&aws.conf, &shared.outputs["OrgSecretPrefix"]);
    let location = secrets.location(&org);
    let has_secret = secrets.fetch(&org).await.map_err(CliError::from)?.is_some();
    let mut report = OffboardReport {
        org: org.clone(),
        stack: (Change::Absent, stack_name.clone()),
        secret: (Change::Absent, location.clone()),
    };
    if existing.is_none() && !has_secret {
        return Ok(report);
    }
    if let Some(info) = &existing {
        if stack::classify(&info.status, &stack_name, &org) == State::Busy {
            return Err(CliError::failed(format!(
                "org stack {stack_name} is {}: another operation is running; run this again when it is done; nothing was removed",
                info.status
            )));
        }
    }
    let mut what = Vec::new();
    if existing.is_some() {
        what.push(format!(
            "the org stack {stack_name} (data-action role, aliases, event bus and rule)"
        ));
    }
    if has_secret {
        what.push(location.clone());
    }
    let question = format!("Remove org {org}: {}? [y/N] ", what.join(" and "));
    if !a.yes && !confirm(&question)? {
        return Err(CliError::failed("not confirmed; nothing was removed"));
    }
    if existing.is_some() {
        stack::delete(&aws.cfn, &stack_name).await?;
        let wait = Wait {
            poll: POLL,
            timeout: Duration::from_secs(a.timeout.max(1)),
        };
        let mut progress = Progress::start(&format!("{stack_name}: deleting …"));
        let settled = stack::wait(&aws.cfn, &stack_name, wait, &mut progress).await;
        progress.finish();
        if let Some(info) = settled? {
            let why = stack::failure_reasons(&aws.cfn, &info).await;
            return Err(CliError::failed(format!(
                "org stack {stack_name} ended in {}{why}; the secret was kept; fix the cause and run this again",
                info.status
            )));
        }
        report.stack.0 = Change::Removed;
    }
    if has_secret && secrets.delete(&org).await.map_err(CliError::from)? {
        report.secret.0 = Change::Removed;
    }
    Ok(report)
}

/// Asks `question` on the terminal; without one, refuses (scripts pass `--yes`).
pub fn confirm_on_terminal(question: &str) -> Result<bool, CliError> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "offboarding asks for confirmation, and stdin is not a terminal: pass --yes to remove without asking; nothing was removed",
        ));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::usage(format!("could not read the answer: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// `bridge orgs render`: the data-action files for any ARNs (a deployment without org
/// stacks, or to look at them); the same renderer as onboarding.
pub fn render(a: &RenderArgs) -> Result<String, CliError> {
    let org = actions::org_id("--org", &a.org)?;
    let arns = actions::assign_arns(&a.function_arns)?;
    let written = actions::write_actions(&org, &arns, &a.out)?;
    Ok(written
        .iter()
        .map(|(p, c)| format!("{} {}\n", c.as_str(), p.display()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "1a2b3c4d-0000-4000-8000-0123456789ab";
    const OTHER: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";

    fn shared() -> StackInfo {
        let outputs = [
            (
                "WebhookIngestFunctionArn",
                "arn:aws:lambda:eu-west-1:123456789012:function:gb-webhook-ingest",
            ),
            (
                "AttributeWriterFunctionArn",
                "arn:aws:lambda:eu-west-1:123456789012:function:gb-attribute-writer",
            ),
            (
                "TicketStatusFunctionArn",
                "arn:aws:lambda:eu-west-1:123456789012:function:gb-ticket-status",
            ),
            (
                "EventDeliveryDlqArn",
                "arn:aws:sqs:eu-west-1:123456789012:gb-EventDeliveryDlq-X",
            ),
            ("OrgSecretPrefix", "genesys-bridge/orgs/"),
            (
                "WebhookIngestFunctionUrl",
                "https://x.lambda-url.eu-west-1.on.aws/",
            ),
        ];
        StackInfo {
            name: "gb".into(),
            status: "UPDATE_COMPLETE".into(),
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..StackInfo::default()
        }
    }

    #[test]
    fn the_org_template_declares_the_parameters_the_cli_fills() {
        let names = template_parameters(ORG_TEMPLATE);
        for p in [
            "OrgId",
            "GenesysAwsAccountId",
            "EventSourceSuffix",
            "WebhookIngestFunctionArn",
            "EventDeliveryDlqArn",
            "AttributeWriterFunctionArn",
            "TicketStatusFunctionArn",
        ] {
            assert!(names.iter().any(|n| n == p), "{p} not in {names:?}");
        }
        assert!(
            !names
                .iter()
                .any(|n| n == "Resources" || n == "HasEventSource"),
            "{names:?}"
        );
        // The CLI's default is the template's default: one Genesys account, written twice.
        assert!(ORG_TEMPLATE.contains(&format!(
            "Default: \"{}\"",
            args::GENESYS_COMMERCIAL_ACCOUNT
        )));
        // CreateStack takes a template body of at most 51,200 bytes.
        assert!(ORG_TEMPLATE.len() < 51_200);
    }

    #[test]
    fn parameters_come_from_the_org_and_the_shared_outputs_of_the_same_name() {
        let p = org_parameters(ORG, "bridge", "765628985471", &shared()).unwrap();
        assert_eq!(p["OrgId"], ORG);
        assert_eq!(p["EventSourceSuffix"], "bridge");
        assert_eq!(
            p["AttributeWriterFunctionArn"],
            shared().outputs["AttributeWriterFunctionArn"]
        );
        assert_eq!(
            p["EventDeliveryDlqArn"],
            shared().outputs["EventDeliveryDlqArn"]
        );
        assert!(
            !p.contains_key("WebhookIngestFunctionUrl"),
            "only parameters of org.yaml are passed"
        );
        assert!(
            !p.contains_key("EventRetryAttempts"),
            "tuning keeps the template's defaults"
        );
        let mut old = shared();
        old.outputs.remove("TicketStatusFunctionArn");
        let e = org_parameters(ORG, "", "765628985471", &old).unwrap_err();
        assert!(
            e.message.contains("has no output TicketStatusFunctionArn"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_event_source_must_be_the_orgs_own() {
        let own = format!("{EVENT_SOURCE_PREFIX}{ORG}/bridge-prod");
        assert_eq!(event_source_suffix(ORG, &own).unwrap(), "bridge-prod");
        let upper = format!("{EVENT_SOURCE_PREFIX}{}/a/b", ORG.to_uppercase());
        assert_eq!(event_source_suffix(ORG, &upper).unwrap(), "a/b");
        let e =
            event_source_suffix(ORG, &format!("{EVENT_SOURCE_PREFIX}{OTHER}/bridge")).unwrap_err();
        assert!(
            e.message
                .contains(&format!("belongs to org \"{OTHER}\", not to {ORG}")),
            "{}",
            e.message
        );
        for bad in [
            "genesys-bridge".to_string(),
            format!("{EVENT_SOURCE_PREFIX}{ORG}"),
            format!("{EVENT_SOURCE_PREFIX}{ORG}/"),
            format!("{EVENT_SOURCE_PREFIX}{ORG}/a b"),
        ] {
            assert!(event_source_suffix(ORG, &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn alias_outputs_must_be_the_orgs_alias_of_the_shared_functions() {
        let mut org_stack = StackInfo {
            name: "gb-org".into(),
            ..StackInfo::default()
        };
        for (k, f) in [
            ("AttributeWriterAliasArn", "AttributeWriterFunctionArn"),
            ("TicketStatusAliasArn", "TicketStatusFunctionArn"),
        ] {
            org_stack
                .outputs
                .insert(k.into(), format!("{}:org-{ORG}", shared().outputs[f]));
        }
        let arns = alias_arns(ORG, &shared(), &org_stack).unwrap();
        assert_eq!(arns.len(), actions::ACTIONS.len());
        org_stack.outputs.insert(
            "TicketStatusAliasArn".into(),
            format!(
                "{}:org-{OTHER}",
                shared().outputs["TicketStatusFunctionArn"]
            ),
        );
        let e = alias_arns(ORG, &shared(), &org_stack).unwrap_err();
        assert!(e.message.contains("TicketStatusAliasArn"), "{}", e.message);
    }
}
