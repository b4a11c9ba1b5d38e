//! `bridge orgs onboard|offboard|render`: one command adds a Genesys org to a deployed
//! shared stack (its secret, its org stack from `infra/org.yaml`, its Genesys data-action
//! files) and one removes it again. Both check everything before they change anything,
//! and both are idempotent: run twice, the second run changes nothing and says so.

pub mod actions;
pub mod args;
mod org_stack;
mod report;
pub mod stack;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::config::ProvideCredentials;
use aws_sdk_cloudformation::error::DisplayErrorContext;
use bridge::secrets::{SecretSource, SecretsManagerSource};
use bridge::OrgConfig;
use secrecy::{ExposeSecret, SecretString};

pub use args::{OffboardArgs, OnboardArgs, RenderArgs};
use org_stack::alias_arns;
pub use org_stack::{
    event_source_suffix, org_parameters, org_stack_name, template_parameters, EVENT_SOURCE_PREFIX,
    ORG_TEMPLATE,
};
pub use report::{Change, OffboardReport, OnboardReport};
use stack::{Deployment, StackInfo, State, Wait};

use crate::exit::CliError;
use crate::progress::Spinner;
use crate::source::Env;

/// How often a stack operation is polled.
const POLL: Duration = Duration::from_secs(3);

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
    let mut progress = Spinner::start(&format!("{}: {} …", d.name, change.as_str()));
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
        let mut progress = Spinner::start(&format!("{stack_name}: deleting …"));
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
