//! The Genesys data-action definitions of `infra/genesys/`, filled in for one org: the one
//! renderer of the project (`bridge orgs onboard` writes them with the org's alias ARNs,
//! `bridge orgs render` for any ARN).
//!
//! A Lambda data action's event carries only the action's input, not the org id, so each
//! org imports its own copy: the request template names the org (`@@GENESYS_ORG_ID@@`) and
//! `requestUrlTemplate` is the function ARN Genesys invokes (`@@FUNCTION_ARN@@`), in the
//! shared-stack deployment the org's alias `…:function:<name>:org-<orgId>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::exit::CliError;

pub const ORG_PLACEHOLDER: &str = "@@GENESYS_ORG_ID@@";
pub const ARN_PLACEHOLDER: &str = "@@FUNCTION_ARN@@";

/// One data action: its key (the cargo binary name of its function), the file it is
/// written to, the org stack output holding the org's alias ARN, and the definition.
#[derive(Debug)]
pub struct DataAction {
    pub key: &'static str,
    pub file: &'static str,
    pub alias_output: &'static str,
    pub definition: &'static str,
}

/// Every data action. Adding a data-action function adds one row here, its definition in
/// `infra/genesys/`, and its block in `infra/org.yaml`.
pub const ACTIONS: &[DataAction] = &[
    DataAction {
        key: "attribute-writer",
        file: "attribute-writer.action.json",
        alias_output: "AttributeWriterAliasArn",
        definition: include_str!("../../../infra/genesys/attribute-writer.action.json"),
    },
    DataAction {
        key: "ticket-status",
        file: "ticket-status.action.json",
        alias_output: "TicketStatusAliasArn",
        definition: include_str!("../../../infra/genesys/ticket-status.action.json"),
    },
    DataAction {
        key: "agentless-messages",
        file: "agentless-messages.action.json",
        alias_output: "AgentlessMessagesAliasArn",
        definition: include_str!("../../../infra/genesys/agentless-messages.action.json"),
    },
];

/// The org id as Genesys, IAM's external id and the alias names write it: a lower-case
/// UUID. Anything else is a usage error naming `flag`.
pub fn org_id(flag: &str, value: &str) -> Result<String, CliError> {
    bridge::input::canonical_uuid(value).ok_or_else(|| {
        CliError::usage(format!(
            "{flag} {value:?} is not a Genesys Cloud organization id: expected a UUID like 1a2b3c4d-0000-4000-8000-0123456789ab (Genesys Cloud Admin > Organization Settings)"
        ))
    })
}

/// The parts of a Lambda function ARN `arn:aws…:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArn {
    pub name: String,
    pub qualifier: Option<String>,
}

fn name_chars(s: &str, extra: &[char]) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || extra.contains(&c))
}

pub fn parse_function_arn(arn: &str) -> Option<FunctionArn> {
    let parts: Vec<&str> = arn.split(':').collect();
    let ok = matches!(parts.len(), 7 | 8)
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "lambda"
        && name_chars(parts[3], &[])
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5] == "function"
        && parts[6].len() <= 64
        && name_chars(parts[6], &[])
        && parts.get(7).is_none_or(|q| name_chars(q, &['$']));
    ok.then(|| FunctionArn {
        name: parts[6].to_string(),
        qualifier: parts.get(7).map(|q| q.to_string()),
    })
}

fn action(key: &str) -> Option<&'static DataAction> {
    ACTIONS.iter().find(|a| a.key == key)
}

fn keys() -> String {
    ACTIONS.iter().map(|a| a.key).collect::<Vec<_>>().join("|")
}

/// Maps each `[ACTION=]ARN` to its action: by the explicit key, else by the function
/// name's suffix (`<stack>-attribute-writer`, as infra/template.yaml names them).
pub fn assign_arns(specs: &[String]) -> Result<BTreeMap<&'static str, String>, CliError> {
    let mut assigned: BTreeMap<&'static str, String> = BTreeMap::new();
    for spec in specs {
        let (key, arn) = match spec.split_once('=') {
            Some((k, a)) => (Some(k), a),
            None => (None, spec.as_str()),
        };
        let parsed = parse_function_arn(arn).ok_or_else(|| {
            CliError::usage(format!(
                "--function-arn {arn:?} is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>[:<alias>]); use the org stack outputs AttributeWriterAliasArn / TicketStatusAliasArn / AgentlessMessagesAliasArn"
            ))
        })?;
        let found = match key {
            Some(k) => action(k).ok_or_else(|| {
                CliError::usage(format!("unknown action {k:?}; expected one of {}", keys()))
            })?,
            None => {
                let matches: Vec<_> = ACTIONS
                    .iter()
                    .filter(|a| parsed.name.ends_with(a.key))
                    .collect();
                match matches.as_slice() {
                    [one] => *one,
                    _ => {
                        return Err(CliError::usage(format!(
                        "cannot tell which action {arn} is for; write it as --function-arn {}=ARN",
                        keys()
                    )))
                    }
                }
            }
        };
        if let Some(previous) = assigned.get(found.key) {
            if previous != arn {
                return Err(CliError::usage(format!(
                    "two different ARNs given for {}: {previous} and {arn}",
                    found.key
                )));
            }
        }
        assigned.insert(found.key, arn.to_string());
    }
    if assigned.is_empty() {
        return Err(CliError::usage("give at least one --function-arn"));
    }
    Ok(assigned)
}

/// Fills one definition; the result is still a JSON document, with no placeholder left.
pub fn render_action(
    definition: &str,
    org_id: &str,
    function_arn: &str,
) -> Result<String, CliError> {
    let filled = definition
        .replace(ORG_PLACEHOLDER, org_id)
        .replace(ARN_PLACEHOLDER, function_arn);
    if let Some(start) = filled.find("@@") {
        let rest = &filled[start..];
        let end = rest[2..].find("@@").map_or(rest.len(), |i| i + 4);
        return Err(CliError::usage(format!(
            "unfilled placeholder {} in a data-action definition",
            &rest[..end]
        )));
    }
    // Both values are JSON-safe (a UUID, an ARN checked above); prove it.
    serde_json::from_str::<serde_json::Value>(&filled).map_err(|e| {
        CliError::usage(format!(
            "the rendered data action is not JSON ({e}); nothing was written"
        ))
    })?;
    Ok(filled)
}

/// What writing one file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    Created,
    Updated,
    Unchanged,
}

impl FileChange {
    pub fn as_str(self) -> &'static str {
        match self {
            FileChange::Created => "created",
            FileChange::Updated => "updated",
            FileChange::Unchanged => "unchanged",
        }
    }
}

/// Renders every assigned action for `org_id` into `out_dir`. Everything is rendered (and
/// so checked) before the first file is written.
pub fn write_actions(
    org_id: &str,
    arns: &BTreeMap<&'static str, String>,
    out_dir: &Path,
) -> Result<Vec<(PathBuf, FileChange)>, CliError> {
    let mut rendered = Vec::new();
    for (key, arn) in arns {
        let a = action(key).ok_or_else(|| CliError::usage(format!("unknown action {key:?}")))?;
        rendered.push((
            out_dir.join(a.file),
            render_action(a.definition, org_id, arn)?,
        ));
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| CliError::usage(format!("could not create {}: {e}", out_dir.display())))?;
    let mut written = Vec::new();
    for (path, text) in rendered {
        let change = match std::fs::read_to_string(&path) {
            Ok(old) if old == text => FileChange::Unchanged,
            Ok(_) => FileChange::Updated,
            Err(_) => FileChange::Created,
        };
        if change != FileChange::Unchanged {
            std::fs::write(&path, &text)
                .map_err(|e| CliError::usage(format!("could not write {}: {e}", path.display())))?;
        }
        written.push((path, change));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const ORG: &str = "1a2b3c4d-0000-4000-8000-0123456789ab";
    const ARN_AW: &str =
        "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-attribute-writer";
    const ARN_TS: &str =
        "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-ticket-status";

    fn request(doc: &Value) -> &Value {
        &doc["config"]["request"]
    }

    #[test]
    fn every_definition_holds_both_placeholders_and_is_a_lambda_action() {
        for a in ACTIONS {
            let doc: Value = serde_json::from_str(a.definition).expect(a.file);
            assert_eq!(
                request(&doc)["requestUrlTemplate"],
                ARN_PLACEHOLDER,
                "{}",
                a.file
            );
            let template = request(&doc)["requestTemplate"].as_str().unwrap();
            assert!(template.contains(ORG_PLACEHOLDER), "{}", a.file);
            assert_eq!(doc["integrationType"], "aws-lambda-data-actions");
            assert_eq!(
                a.alias_output
                    .strip_suffix("AliasArn")
                    .map(|s| s.is_empty()),
                Some(false)
            );
        }
    }

    #[test]
    fn fills_both_placeholders_with_the_org_in_lower_case() {
        let dir = tempfile::tempdir().unwrap();
        let org = org_id("--org", &ORG.to_uppercase()).unwrap();
        let arns = assign_arns(&[ARN_AW.to_string(), ARN_TS.to_string()]).unwrap();
        let written = write_actions(&org, &arns, dir.path()).unwrap();
        assert_eq!(written.len(), 2);
        for (path, change) in &written {
            assert_eq!(*change, FileChange::Created);
            let text = std::fs::read_to_string(path).unwrap();
            assert!(!text.contains("@@"), "{text}");
            let doc: Value = serde_json::from_str(&text).unwrap();
            assert!(request(&doc)["requestTemplate"]
                .as_str()
                .unwrap()
                .contains(ORG));
        }
        let aw: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("attribute-writer.action.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(request(&aw)["requestUrlTemplate"], ARN_AW);
        let ts: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("ticket-status.action.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(request(&ts)["requestUrlTemplate"], ARN_TS);
        // A second run writes nothing new.
        let again = write_actions(&org, &arns, dir.path()).unwrap();
        assert!(again.iter().all(|(_, c)| *c == FileChange::Unchanged));
    }

    #[test]
    fn refuses_an_org_id_that_is_not_a_uuid() {
        for bad in [
            "",
            "my-org",
            "1a2b3c4d00004000800001234567890",
            "1a2b3c4d-0000-4000-8000-0123456789ab-x",
            "zzzzzzzz-0000-4000-8000-0123456789ab",
        ] {
            let e = org_id("--org", bad).unwrap_err();
            assert!(
                e.message.contains("is not a Genesys Cloud organization id"),
                "{}",
                e.message
            );
            assert!(e.message.contains("UUID"));
        }
    }

    #[test]
    fn refuses_a_bad_arn_an_ambiguous_name_and_two_arns_for_one_action() {
        let e = assign_arns(&["arn:aws:sqs:eu-west-1:123456789012:queue".into()]).unwrap_err();
        assert!(
            e.message.contains("not a Lambda function ARN"),
            "{}",
            e.message
        );
        let e = assign_arns(&["arn:aws:lambda:eu-west-1:123456789012:function:my-writer".into()])
            .unwrap_err();
        assert!(
            e.message.contains("cannot tell which action"),
            "{}",
            e.message
        );
        let e = assign_arns(&[ARN_AW.into(), format!("{ARN_AW}:org-{ORG}")]).unwrap_err();
        assert!(
            e.message
                .contains("two different ARNs given for attribute-writer"),
            "{}",
            e.message
        );
        let e = assign_arns(&[format!("fourth={ARN_AW}")]).unwrap_err();
        assert!(
            e.message.contains("unknown action \"fourth\""),
            "{}",
            e.message
        );
        assert!(assign_arns(&[]).is_err());
    }

    #[test]
    fn accepts_an_explicit_action_and_an_alias_qualified_arn() {
        let arn = format!("arn:aws:lambda:eu-west-1:123456789012:function:my-writer:org-{ORG}");
        let arns = assign_arns(&[format!("attribute-writer={arn}")]).unwrap();
        assert_eq!(arns.get("attribute-writer"), Some(&arn));
        let parsed = parse_function_arn(&arn).unwrap();
        assert_eq!(parsed.name, "my-writer");
        assert_eq!(
            parsed.qualifier.as_deref(),
            Some(format!("org-{ORG}").as_str())
        );
        assert!(parse_function_arn(
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:$LATEST"
        )
        .is_some());
        assert!(parse_function_arn("arn:aws:lambda:eu-west-1:12345678901:function:f").is_none());
        assert!(
            parse_function_arn("arn:aws:lambda:eu-west-1:123456789012:function:f:a:b").is_none()
        );
    }

    #[test]
    fn a_leftover_placeholder_is_an_error_and_nothing_is_written() {
        let e = render_action("{\"a\":\"@@OTHER_THING@@\"}", ORG, ARN_AW).unwrap_err();
        assert!(e.message.contains("@@OTHER_THING@@"), "{}", e.message);
        let e = render_action("{\"a\":", ORG, ARN_AW).unwrap_err();
        assert!(e.message.contains("not JSON"), "{}", e.message);
    }
}
