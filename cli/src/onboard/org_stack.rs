//! What an org stack is made of: the template (`infra/org.yaml`, built in), its name, its
//! parameters (the org's own, and the shared stack's outputs of the same name), and what
//! comes out of it (the org's alias ARNs, checked against the shared functions).

use std::collections::BTreeMap;

use super::actions;
use super::stack::StackInfo;
use crate::exit::CliError;

/// The org stack's template, built into the binary: what is deployed is what was tested.
pub const ORG_TEMPLATE: &str = include_str!("../../../infra/org.yaml");

/// Genesys partner event sources are named `aws.partner/genesys.com/cloud/<orgId>/<suffix>`.
pub const EVENT_SOURCE_PREFIX: &str = "aws.partner/genesys.com/cloud/";

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

/// The org's alias ARN per action, from the org stack's outputs, each checked to be the
/// shared function's alias `org-<org>`: a file is never written with another org's ARN.
pub(super) fn alias_arns(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onboard::args;

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
                "AgentlessMessagesFunctionArn",
                "arn:aws:lambda:eu-west-1:123456789012:function:gb-agentless-messages",
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
            ("AgentlessMessagesAliasArn", "AgentlessMessagesFunctionArn"),
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
