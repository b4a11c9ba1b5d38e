//! CloudFormation for `bridge orgs onboard|offboard`: reading a stack, telling what its
//! status allows, creating/updating/deleting it and waiting for the result with progress.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{Capability, Parameter, Tag};
use aws_sdk_cloudformation::Client;

use crate::exit::CliError;
use crate::progress::Spinner;

/// What `describe` found.
#[derive(Debug, Clone, Default)]
pub struct StackInfo {
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
}

/// What a stack's status allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No such stack (or only a deleted one).
    Missing,
    /// Settled in a good state: it can be updated or deleted.
    Ready,
    /// An operation is running: wait for it.
    Busy,
    /// Settled in a failed state: the message says what to do.
    Failed(String),
}

/// The decision table of stack statuses, for a stack named `name` of org `org`.
pub fn classify(status: &str, name: &str, org: &str) -> State {
    let events = format!("aws cloudformation describe-stack-events --stack-name {name}");
    match status {
        "" | "DELETE_COMPLETE" => State::Missing,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => State::Ready,
        s if s.ends_with("_IN_PROGRESS") && s != "REVIEW_IN_PROGRESS" => State::Busy,
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" | "REVIEW_IN_PROGRESS" => {
            State::Failed(format!(
                "its creation failed ({status}); CloudFormation cannot update such a stack. Find the cause with `{events}`, fix it, then run `bridge orgs offboard --org {org} --yes` (deletes the failed stack and the secret) and onboard again"
            ))
        }
        "UPDATE_ROLLBACK_FAILED" => State::Failed(format!(
            "an update failed and so did its rollback ({status}). Find the cause with `{events}`, then `aws cloudformation continue-update-rollback --stack-name {name}` and run this again"
        )),
        "DELETE_FAILED" => State::Failed(format!(
            "a deletion failed ({status}). Find the cause with `{events}`, fix it, then run `bridge orgs offboard --org {org}` again"
        )),
        other => State::Failed(format!(
            "it is in an unexpected state {other}; see `{events}`"
        )),
    }
}

/// An AWS error worded for the operator: the service's code and message, or why no
/// answer came, and which permission a refusal is about.
pub fn aws_error<E, R>(action: &str, err: SdkError<E, R>) -> CliError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(se) if se.err().code().is_some() => {
            let e = se.err();
            let code = e.code().unwrap_or_default();
            let msg = e.message().unwrap_or("");
            let hint = if code.contains("AccessDenied") || code.contains("UnauthorizedOperation") {
                " (the AWS identity in use lacks this permission; see the README, \"Deploy\", for what onboarding needs)"
            } else if code == "ExpiredToken" || code == "InvalidClientTokenId" {
                " (the AWS credentials are invalid or expired: log in again, e.g. aws sso login)"
            } else {
                ""
            };
            CliError::failed(format!("AWS refused to {action}: [{code}] {msg}{hint}"))
        }
        _ => CliError::failed(format!("could not {action}: {}", DisplayErrorContext(&err))),
    }
}

fn is_missing<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist"))
}

/// The stack, or `None` when there is none of that name.
pub async fn describe(client: &Client, name: &str) -> Result<Option<StackInfo>, CliError> {
    let out = match client.describe_stacks().stack_name(name).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(is_missing) => return Ok(None),
        Err(e) => return Err(aws_error(&format!("describe stack {name}"), e)),
    };
    let Some(s) = out.stacks().first() else {
        return Ok(None);
    };
    let info = StackInfo {
        name: name.to_string(),
        status: s
            .stack_status()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        reason: s.stack_status_reason().map(str::to_string),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
            .collect(),
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_string(),
                    p.parameter_value()?.to_string(),
                ))
            })
            .collect(),
    };
    Ok((info.status != "DELETE_COMPLETE").then_some(info))
}

/// The template body the stack was last deployed with.
pub async fn template_body(client: &Client, name: &str) -> Result<String, CliError> {
    let out = client
        .get_template()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| aws_error(&format!("read the template of stack {name}"), e))?;
    Ok(out.template_body().unwrap_or_default().to_string())
}

/// What create/update is asked to deploy.
#[derive(Debug, Clone)]
pub struct Deployment<'a> {
    pub name: &'a str,
    pub template: &'a str,
    pub parameters: &'a BTreeMap<String, String>,
    pub tags: &'a [(String, String)],
}

impl Deployment<'_> {
    fn parameters(&self) -> Vec<Parameter> {
        self.parameters
            .iter()
            .map(|(k, v)| {
                Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build()
            })
            .collect()
    }

    fn tags(&self) -> Vec<Tag> {
        self.tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    }
}

pub async fn create(client: &Client, d: &Deployment<'_>) -> Result<(), CliError> {
    client
        .create_stack()
        .stack_name(d.name)
        .template_body(d.template)
        .set_parameters(Some(d.parameters()))
        .set_tags(Some(d.tags()))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .map_err(|e| aws_error(&format!("create stack {}", d.name), e))?;
    Ok(())
}

/// Starts an update; `false` when CloudFormation says there is nothing to update.
pub async fn update(client: &Client, d: &Deployment<'_>) -> Result<bool, CliError> {
    match client
        .update_stack()
        .stack_name(d.name)
        .template_body(d.template)
        .set_parameters(Some(d.parameters()))
        .set_tags(Some(d.tags()))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.message()
                    .is_some_and(|m| m.contains("No updates are to be performed"))
            }) =>
        {
            Ok(false)
        }
        Err(e) => Err(aws_error(&format!("update stack {}", d.name), e)),
    }
}

pub async fn delete(client: &Client, name: &str) -> Result<(), CliError> {
    client
        .delete_stack()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| aws_error(&format!("delete stack {name}"), e))?;
    Ok(())
}

/// How long and how often `wait` polls.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub poll: Duration,
    pub timeout: Duration,
}

/// Polls until the stack leaves `*_IN_PROGRESS` (or disappears), showing its status and
/// latest resource event; returns the settled stack (`None` once deleted).
pub async fn wait(
    client: &Client,
    name: &str,
    wait: Wait,
    progress: &mut Spinner,
) -> Result<Option<StackInfo>, CliError> {
    let started = Instant::now();
    loop {
        let stack = describe(client, name).await?;
        let Some(info) = stack else {
            return Ok(None);
        };
        if !info.status.ends_with("_IN_PROGRESS") || info.status == "REVIEW_IN_PROGRESS" {
            return Ok(Some(info));
        }
        let latest = latest_event(client, name).await.unwrap_or_default();
        progress.set(format!("{name}: {}{latest}", info.status));
        if started.elapsed() >= wait.timeout {
            return Err(CliError::failed(format!(
                "stack {name} is still {} after {} s; it goes on in AWS: watch it with `aws cloudformation describe-stacks --stack-name {name}` and run this command again once it settled",
                info.status,
                wait.timeout.as_secs()
            )));
        }
        tokio::time::sleep(wait.poll).await;
    }
}

async fn latest_event(client: &Client, name: &str) -> Option<String> {
    let out = client
        .describe_stack_events()
        .stack_name(name)
        .send()
        .await
        .ok()?;
    let e = out.stack_events().first()?;
    Some(format!(
        " · {} {}",
        e.logical_resource_id().unwrap_or("?"),
        e.resource_status().map(|s| s.as_str()).unwrap_or("?")
    ))
}

/// Why the last operation failed: the stack's reason and the `*_FAILED` resource events
/// of its most recent page of events (at most five), for the error message.
pub async fn failure_reasons(client: &Client, info: &StackInfo) -> String {
    let mut reasons: Vec<String> = Vec::new();
    if let Ok(out) = client
        .describe_stack_events()
        .stack_name(&info.name)
        .send()
        .await
    {
        for e in out.stack_events() {
            let failed = e
                .resource_status()
                .is_some_and(|s| s.as_str().ends_with("_FAILED"));
            if failed && e.logical_resource_id() != Some(info.name.as_str()) {
                reasons.push(format!(
                    "{}: {}",
                    e.logical_resource_id().unwrap_or("?"),
                    e.resource_status_reason().unwrap_or("(no reason given)")
                ));
            }
            if reasons.len() == 5 {
                break;
            }
        }
    }
    if reasons.is_empty() {
        if let Some(r) = &info.reason {
            reasons.push(r.clone());
        }
    }
    if reasons.is_empty() {
        String::new()
    } else {
        format!("; what failed: {}", reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "1a2b3c4d-0000-4000-8000-0123456789ab";

    #[test]
    fn statuses_decide_what_onboarding_may_do() {
        let c = |s: &str| classify(s, "gb-org-x", ORG);
        assert_eq!(c(""), State::Missing);
        assert_eq!(c("DELETE_COMPLETE"), State::Missing);
        for ready in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
        ] {
            assert_eq!(c(ready), State::Ready, "{ready}");
        }
        for busy in [
            "CREATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "DELETE_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
        ] {
            assert_eq!(c(busy), State::Busy, "{busy}");
        }
        let State::Failed(m) = c("ROLLBACK_COMPLETE") else {
            panic!("ROLLBACK_COMPLETE is a failed state")
        };
        assert!(m.contains("cannot update"), "{m}");
        assert!(
            m.contains(&format!("bridge orgs offboard --org {ORG} --yes")),
            "{m}"
        );
        assert!(
            m.contains("describe-stack-events --stack-name gb-org-x"),
            "{m}"
        );
        let State::Failed(m) = c("UPDATE_ROLLBACK_FAILED") else {
            panic!("UPDATE_ROLLBACK_FAILED is a failed state")
        };
        assert!(
            m.contains("continue-update-rollback --stack-name gb-org-x"),
            "{m}"
        );
        assert!(matches!(c("DELETE_FAILED"), State::Failed(m) if m.contains("offboard")));
        assert!(matches!(c("REVIEW_IN_PROGRESS"), State::Failed(_)));
        assert!(
            matches!(c("SOMETHING_NEW"), State::Failed(m) if m.contains("unexpected state SOMETHING_NEW"))
        );
    }
}
