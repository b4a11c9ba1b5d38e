//! `bridge orgs onboard|offboard|render` through the binary, against the AWS emulator
//! (moto) that scripts/test.sh starts (`BRIDGE_TEST_AWS_ENDPOINT`).
//!
//! What moto runs: CloudFormation stacks from the real `infra/org.yaml` (parameters,
//! conditions, outputs), the IAM role it makes (trust policy and inline policy are read
//! back from moto's IAM), Secrets Manager. What moto cannot run, covered by
//! `infra/tests/test_org_stack.py` instead: `AWS::Lambda::Alias` (moto's CloudFormation
//! skips the type, so the aliases are not created here) and the partner event bus + rule
//! (moto cannot put a rule on a bus whose name holds `/`, as every partner bus name does).
//! The shared stack is a stand-in with the outputs of `infra/template.yaml` that org stacks
//! read, because moto cannot run the SAM transform; a test checks the names match.

mod common;

use std::path::Path;
use std::process::Output;

use aws_sdk_cloudformation::types::Capability;
use bridge_testkit::ids::ORG_A;
use bridge_testkit::{aws_test_config, aws_test_endpoint, example_org, repo_root};
use common::{aws_env, bridge, stdout, with_env};
use serde_json::Value;

const STAND_IN_SHARED: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Description: stand-in for infra/template.yaml in moto (same outputs for org stacks)
Parameters:
  OrgSecretPrefix:
    Type: String
Resources:
  FunctionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  WebhookIngestFunction:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-webhook-ingest"
      Runtime: provided.al2023
      Handler: bootstrap
      Role: !GetAtt FunctionRole.Arn
      Code: {ZipFile: "stand-in"}
  AttributeWriterFunction:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-attribute-writer"
      Runtime: provided.al2023
      Handler: bootstrap
      Role: !GetAtt FunctionRole.Arn
      Code: {ZipFile: "stand-in"}
  TicketStatusFunction:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-ticket-status"
      Runtime: provided.al2023
      Handler: bootstrap
      Role: !GetAtt FunctionRole.Arn
      Code: {ZipFile: "stand-in"}
  AgentlessMessagesFunction:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-agentless-messages"
      Runtime: provided.al2023
      Handler: bootstrap
      Role: !GetAtt FunctionRole.Arn
      Code: {ZipFile: "stand-in"}
  EventDeliveryDlq:
    Type: AWS::SQS::Queue
Outputs:
  WebhookIngestFunctionArn:
    Value: !GetAtt WebhookIngestFunction.Arn
  AttributeWriterFunctionArn:
    Value: !GetAtt AttributeWriterFunction.Arn
  TicketStatusFunctionArn:
    Value: !GetAtt TicketStatusFunction.Arn
  AgentlessMessagesFunctionArn:
    Value: !GetAtt AgentlessMessagesFunction.Arn
  EventDeliveryDlqArn:
    Value: !GetAtt EventDeliveryDlq.Arn
  OrgSecretPrefix:
    Value: !Ref OrgSecretPrefix
"#;

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A stand-in shared stack with a name (and secret prefix) of its own, so reruns against
/// one emulator never meet each other's stacks.
async fn shared_stack(conf: &aws_config::SdkConfig) -> String {
    let name = format!("gbt-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    aws_sdk_cloudformation::Client::new(conf)
        .create_stack()
        .stack_name(&name)
        .template_body(STAND_IN_SHARED)
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("OrgSecretPrefix")
                .parameter_value(format!("{name}/orgs/"))
                .build(),
        )
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .expect("moto creates the stand-in shared stack");
    name
}

/// An org file for a fresh org id (the Acme example with another id).
fn org_file(dir: &Path, name: &str) -> (String, String) {
    let org = uuid::Uuid::new_v4().hyphenated().to_string();
    let mut doc = example_org(ORG_A);
    doc["orgId"] = Value::String(org.clone());
    doc["name"] = Value::String(name.into());
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    (org, path.to_str().unwrap().to_string())
}

async fn org_stack(
    conf: &aws_config::SdkConfig,
    name: &str,
) -> Option<aws_sdk_cloudformation::types::Stack> {
    let out = aws_sdk_cloudformation::Client::new(conf)
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .ok()?;
    out.stacks()
        .first()
        .filter(|s| {
            s.stack_status()
                .is_some_and(|st| st.as_str() != "DELETE_COMPLETE")
        })
        .cloned()
}

fn output(stack: &aws_sdk_cloudformation::types::Stack, key: &str) -> String {
    stack
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some(key))
        .and_then(|o| o.output_value())
        .unwrap_or_else(|| panic!("no output {key}"))
        .to_string()
}

/// Reads IAM from moto with a query call (moto routes by the credential scope and does not
/// check signatures), so the test needs no IAM SDK. Returns the response XML.
async fn iam(params: &[(&str, &str)]) -> String {
    let mut form = vec![("Version", "2010-05-08")];
    form.extend_from_slice(params);
    reqwest::Client::new()
        .post(format!("{}/", aws_test_endpoint()))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .form(&form)
        .send()
        .await
        .expect("moto answers IAM")
        .text()
        .await
        .unwrap()
}

async fn secret(conf: &aws_config::SdkConfig, id: &str) -> Option<String> {
    aws_sdk_secretsmanager::Client::new(conf)
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .ok()
        .and_then(|o| o.secret_string().map(str::to_string))
}

fn onboard_args<'a>(org: &'a str, file: &'a str, stack: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "orgs", "onboard", "--org", org, "--file", file, "--stack", stack, "--out", out,
    ]
}

#[tokio::test]
async fn onboard_twice_then_offboard_twice() {
    let conf = aws_test_config().await;
    let shared = shared_stack(&conf).await;
    let dir = tempfile::tempdir().unwrap();
    let (org, file) = org_file(dir.path(), "acme");
    let out_dir = dir.path().join("genesys");
    let out = out_dir.to_str().unwrap();
    let aws = aws_env();
    let env = with_env(&aws);
    let stack_name = format!("{shared}-org-{org}");

    let o = bridge(&onboard_args(&org, &file, &shared, out), &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = stdout(&o);
    assert!(
        s.starts_with(&format!(
            "onboarded org {org} (acme) into shared stack {shared}"
        )),
        "{s}"
    );
    assert!(
        s.contains(&format!(
            "secret      created    Secrets Manager secret {shared}/orgs/{org}"
        )),
        "{s}"
    );
    assert!(
        s.contains(&format!(
            "org stack   created    {stack_name} (CREATE_COMPLETE)"
        )),
        "{s}"
    );
    assert!(s.contains("Next steps in Genesys Cloud"), "{s}");
    assert!(s.contains("events                 none"), "{s}");

    // The secret holds the file as written.
    let stored = secret(&conf, &format!("{shared}/orgs/{org}"))
        .await
        .expect("the secret was stored");
    assert_eq!(stored, std::fs::read_to_string(&file).unwrap());

    // The org stack: the org's parameters, no event source, outputs naming only this org.
    let stack = org_stack(&conf, &stack_name)
        .await
        .expect("the org stack exists");
    let params: Vec<(String, String)> = stack
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap().to_string(),
                p.parameter_value().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        params.contains(&("OrgId".into(), org.clone())),
        "{params:?}"
    );
    assert!(
        params.contains(&("EventSourceSuffix".into(), String::new())),
        "{params:?}"
    );
    assert!(
        params.contains(&("GenesysAwsAccountId".into(), "765628985471".into())),
        "{params:?}"
    );
    let role_arn = output(&stack, "DataActionRoleArn");
    let aw_alias = output(&stack, "AttributeWriterAliasArn");
    let ts_alias = output(&stack, "TicketStatusAliasArn");
    let am_alias = output(&stack, "AgentlessMessagesAliasArn");
    assert_eq!(
        am_alias,
        format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{shared}-agentless-messages:org-{org}"
        )
    );
    assert_eq!(
        aw_alias,
        format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{shared}-attribute-writer:org-{org}"
        )
    );
    assert_eq!(
        ts_alias,
        format!("arn:aws:lambda:us-east-1:123456789012:function:{shared}-ticket-status:org-{org}")
    );
    assert!(
        s.contains(&role_arn),
        "the role ARN is printed for Genesys: {s}"
    );

    // The role as IAM has it: Genesys' account, external id = this org, only its aliases.
    let role_name = role_arn.rsplit('/').next().unwrap();
    let role = iam(&[("Action", "GetRole"), ("RoleName", role_name)]).await;
    assert!(
        role.contains("765628985471") && role.contains(&org),
        "{role}"
    );
    assert!(
        role.contains("sts%3AExternalId") || role.contains("sts:ExternalId"),
        "{role}"
    );
    let policy = iam(&[
        ("Action", "GetRolePolicy"),
        ("RoleName", role_name),
        ("PolicyName", "invoke-own-org-aliases"),
    ])
    .await;
    assert!(
        policy.contains(&aw_alias) && policy.contains(&ts_alias) && policy.contains(&am_alias),
        "{policy}"
    );
    assert_eq!(
        policy.matches("arn:aws:lambda:").count(),
        3,
        "only the three aliases: {policy}"
    );

    // The Genesys files point at the aliases and name the org.
    for (file_name, alias) in [
        ("attribute-writer.action.json", &aw_alias),
        ("ticket-status.action.json", &ts_alias),
        ("agentless-messages.action.json", &am_alias),
    ] {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(out_dir.join(file_name)).unwrap())
                .unwrap();
        assert_eq!(
            doc["config"]["request"]["requestUrlTemplate"],
            alias.as_str(),
            "{file_name}"
        );
        let template = doc["config"]["request"]["requestTemplate"]
            .as_str()
            .unwrap();
        assert!(
            template.contains(&format!("\"orgId\\\":\\\"{org}\\\""))
                || template.contains(&format!("\"orgId\":\"{org}\"")),
            "{template}"
        );
    }

    // Again: nothing changes, and it says so.
    let o = bridge(&onboard_args(&org, &file, &shared, out), &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).starts_with(&format!(
            "org {org} (acme) is already onboarded as configured: nothing changed"
        )),
        "{}",
        text(&o)
    );

    // A changed config updates the secret only.
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    doc["name"] = Value::String("acme renamed".into());
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let o = bridge(&onboard_args(&org, &file, &shared, out), &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("secret      updated") && stdout(&o).contains("org stack   unchanged"),
        "{}",
        text(&o)
    );

    // Offboarding asks first; without a terminal and without --yes nothing is removed.
    let off = ["orgs", "offboard", "--org", &org, "--stack", &shared];
    let o = bridge(&off, &env);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("pass --yes"), "{}", text(&o));
    assert!(
        org_stack(&conf, &stack_name).await.is_some(),
        "nothing was removed"
    );

    let mut off_yes = off.to_vec();
    off_yes.push("--yes");
    let o = bridge(&off_yes, &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).starts_with(&format!("offboarded org {org}")),
        "{}",
        text(&o)
    );
    assert!(
        stdout(&o).contains("org stack   removed") && stdout(&o).contains("secret      removed"),
        "{}",
        text(&o)
    );
    assert!(
        org_stack(&conf, &stack_name).await.is_none(),
        "the org stack is gone"
    );
    assert!(
        secret(&conf, &format!("{shared}/orgs/{org}"))
            .await
            .is_none(),
        "the secret is gone"
    );

    let o = bridge(&off_yes, &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).starts_with(&format!("org {org} is not onboarded: nothing to remove")),
        "{}",
        text(&o)
    );
}

#[tokio::test]
async fn two_orgs_get_stacks_that_name_only_themselves() {
    let conf = aws_test_config().await;
    let shared = shared_stack(&conf).await;
    let dir = tempfile::tempdir().unwrap();
    let aws = aws_env();
    let env = with_env(&aws);
    let mut orgs = Vec::new();
    for name in ["acme", "globex"] {
        let (org, file) = org_file(dir.path(), name);
        let out = dir.path().join(name);
        let o = bridge(
            &onboard_args(&org, &file, &shared, out.to_str().unwrap()),
            &env,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        orgs.push(org);
    }
    for (i, org) in orgs.iter().enumerate() {
        let other = &orgs[1 - i];
        let stack = org_stack(&conf, &format!("{shared}-org-{org}"))
            .await
            .unwrap();
        let everything = format!("{:?} {:?}", stack.parameters(), stack.outputs());
        assert!(
            everything.contains(org.as_str()) && !everything.contains(other.as_str()),
            "{everything}"
        );
        let role_name = output(&stack, "DataActionRoleArn")
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let role = iam(&[("Action", "GetRole"), ("RoleName", &role_name)]).await;
        let policy = iam(&[
            ("Action", "GetRolePolicy"),
            ("RoleName", &role_name),
            ("PolicyName", "invoke-own-org-aliases"),
        ])
        .await;
        for doc in [&role, &policy] {
            assert!(
                doc.contains(org.as_str()) && !doc.contains(other.as_str()),
                "{doc}"
            );
        }
        // The alias ARNs this org's role may invoke are the ones the data-action functions
        // take this org from: a request template naming the other org is refused there.
        let rule = bridge::tenancy::DataActionOrgs::PerOrgAlias;
        for name in ["AttributeWriterAliasArn", "TicketStatusAliasArn"] {
            let alias = output(&stack, name);
            assert!(policy.contains(&alias), "{policy}");
            assert_eq!(rule.org_for(&alias, org).unwrap(), *org);
            let e = rule.org_for(&alias, other).unwrap_err();
            assert_eq!(e.error_type(), "Bridge.WrongOrg", "{alias}");
        }
        let files = std::fs::read_dir(dir.path().join(["acme", "globex"][i])).unwrap();
        for f in files {
            let t = std::fs::read_to_string(f.unwrap().path()).unwrap();
            assert!(t.contains(org.as_str()) && !t.contains(other.as_str()));
        }
    }
    // Removing one org leaves the other as it was.
    let o = bridge(
        &[
            "orgs", "offboard", "--org", &orgs[0], "--stack", &shared, "--yes",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(org_stack(&conf, &format!("{shared}-org-{}", orgs[0]))
        .await
        .is_none());
    assert!(org_stack(&conf, &format!("{shared}-org-{}", orgs[1]))
        .await
        .is_some());
    assert!(secret(&conf, &format!("{shared}/orgs/{}", orgs[1]))
        .await
        .is_some());
}

#[tokio::test]
async fn clear_errors_and_nothing_changed() {
    let conf = aws_test_config().await;
    let shared = shared_stack(&conf).await;
    let dir = tempfile::tempdir().unwrap();
    let (org, file) = org_file(dir.path(), "acme");
    let (other, _) = org_file(dir.path(), "globex");
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let aws = aws_env();
    let env = with_env(&aws);
    let check = |args: &[&str], env: &[(&str, &str)], code: i32, needle: &str| {
        let o = bridge(args, env);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(needle),
            "{args:?} should say {needle:?}: {}",
            text(&o)
        );
    };

    check(
        &onboard_args("my-org", &file, &shared, out),
        &env,
        2,
        "is not a Genesys Cloud organization id",
    );
    check(
        &onboard_args(&other, &file, &shared, out),
        &env,
        2,
        &format!("is the config of org {org}"),
    );
    let mut a = onboard_args(&org, &file, &shared, out);
    let foreign = format!("aws.partner/genesys.com/cloud/{other}/bridge");
    a.extend(["--event-source", &foreign]);
    check(
        &a,
        &env,
        2,
        &format!("belongs to org \"{other}\", not to {org}"),
    );
    check(
        &onboard_args(&org, &file, "no-such-stack", out),
        &env,
        2,
        "shared stack \"no-such-stack\" not found in us-east-1",
    );
    check(
        &[
            "orgs",
            "offboard",
            "--org",
            &org,
            "--stack",
            "no-such-stack",
            "--yes",
        ],
        &env,
        2,
        "not found",
    );

    let no_region: Vec<_> = env
        .iter()
        .filter(|(k, _)| *k != "AWS_REGION")
        .cloned()
        .collect();
    check(
        &onboard_args(&org, &file, &shared, out),
        &no_region,
        2,
        "needs an AWS region",
    );
    let empty = dir.path().join("no-aws-files");
    let (config, credentials) = (empty.join("config"), empty.join("credentials"));
    let mut no_creds: Vec<_> = env
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_SECRET") && !k.starts_with("AWS_ACCESS"))
        .cloned()
        .collect();
    no_creds.push(("AWS_CONFIG_FILE", config.to_str().unwrap()));
    no_creds.push(("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()));
    check(
        &onboard_args(&org, &file, &shared, out),
        &no_creds,
        2,
        "needs AWS credentials and found none",
    );

    // None of these changed anything.
    assert!(org_stack(&conf, &format!("{shared}-org-{org}"))
        .await
        .is_none());
    assert!(secret(&conf, &format!("{shared}/orgs/{org}"))
        .await
        .is_none());
    assert!(!Path::new(out).exists(), "no Genesys file was written");
}

#[test]
fn the_stand_in_has_the_outputs_org_stacks_read_from_the_real_shared_stack() {
    let real = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    let outputs = &real[real
        .find("\nOutputs:\n")
        .expect("template.yaml has Outputs")..];
    for name in [
        "WebhookIngestFunctionArn",
        "AttributeWriterFunctionArn",
        "TicketStatusFunctionArn",
        "AgentlessMessagesFunctionArn",
        "EventDeliveryDlqArn",
        "OrgSecretPrefix",
    ] {
        assert!(
            outputs.contains(&format!("\n  {name}:\n")),
            "infra/template.yaml has no output {name}"
        );
        assert!(
            STAND_IN_SHARED.contains(&format!("\n  {name}:\n")),
            "the stand-in lacks output {name}"
        );
    }
}

#[test]
fn render_writes_the_same_files_without_aws() {
    let dir = tempfile::tempdir().unwrap();
    let org = "1a2b3c4d-0000-4000-8000-0123456789ab";
    let arn = format!(
        "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-ticket-status:org-{org}"
    );
    let out = dir.path().to_str().unwrap();
    let o = bridge(
        &[
            "orgs",
            "render",
            "--org",
            &org.to_uppercase(),
            "--function-arn",
            &arn,
            "--out",
            out,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ticket-status.action.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["config"]["request"]["requestUrlTemplate"], arn.as_str());
    let o = bridge(
        &[
            "orgs",
            "render",
            "--org",
            "nope",
            "--function-arn",
            &arn,
            "--out",
            out,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is not a Genesys Cloud organization id"));
}
