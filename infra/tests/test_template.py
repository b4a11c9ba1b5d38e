"""infra/template.yaml keeps its invariants, and each check can fail.

Every mutation below breaks one invariant in a copy of the real template; the
test asserts the checker names it. A checker that never fails proves nothing.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import invariants
from invariants import check, load_template

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


@pytest.fixture(scope="module")
def real() -> dict:
    return load_template(TEMPLATE)


@pytest.fixture
def t(real) -> dict:
    return copy.deepcopy(real)


def res(t: dict, name: str) -> dict:
    return t["Resources"][name]


def props(t: dict, name: str) -> dict:
    return res(t, name)["Properties"]


def role_statements(t: dict, role: str) -> list[dict]:
    return props(t, role)["Policies"][0]["PolicyDocument"]["Statement"]


def statement(t: dict, role: str, sid: str) -> dict:
    return next(s for s in role_statements(t, role) if s.get("Sid") == sid)


# ------------------------------------------------------------------ the loader

def test_loader_turns_short_form_tags_into_long_form(real):
    assert props(real, "AttributeJobQueue")["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["AttributeJobDlq", "Arn"]
    }
    assert props(real, "GenesysEventsRule")["EventBusName"] == {"Ref": "GenesysEventSourceName"}
    assert real["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    secret = statement(real, "AttributeWriterRole", "OrgSecrets")["Resource"]
    assert secret == {"Fn::Sub": invariants.SECRET_PREFIX_ARN}


# ---------------------------------------------------------- the real template

def test_real_template_has_no_violations(real):
    assert check(real) == []


def test_every_parameter_and_output_is_documented(real):
    for section in ("Parameters", "Outputs"):
        undocumented = [k for k, v in real[section].items() if not v.get("Description")]
        assert undocumented == [], f"{section} without Description: {undocumented}"


def test_outputs_cover_what_operators_need(real):
    assert {
        "WebhookIngestFunctionUrl", "AttributeJobQueueUrl", "TicketJobQueueUrl", "AttributeJobDlqUrl",
        "TicketJobDlqUrl", "EventDeliveryDlqUrl", "IngestFailureDlqUrl", "IdempotencyTableName",
        "GenesysDataActionRoleArn", "AttributeWriterFunctionArn", "TicketStatusFunctionArn",
    } <= set(real["Outputs"])


def test_functions_build_with_cargo_lambda_from_the_workspace_root(real):
    binaries = {}
    for name, r, binary in invariants._functions(real):
        assert r["Metadata"]["BuildMethod"] == "rust-cargolambda"
        assert r["Properties"]["CodeUri"] == "..", "CodeUri must be the directory holding the workspace Cargo.toml"
        assert r["Properties"]["LoggingConfig"]["LogFormat"] == "JSON"
        binaries[name] = binary
    assert sorted(binaries.values()) == ["attribute-writer", "ticket-status", "webhook-ingest"]
    glob = real["Globals"]["Function"]
    assert glob["Runtime"] == "provided.al2023" and glob["Handler"] == "bootstrap"
    assert glob["Architectures"] == [{"Ref": "Architecture"}]
    assert real["Parameters"]["Architecture"]["Default"] == "arm64"


def test_every_dlq_and_function_has_an_alarm(real):
    alarmed = {
        invariants._ref_target(d["Value"])
        for _, a in invariants._of_type(real, "AWS::CloudWatch::Alarm")
        for d in a["Properties"]["Dimensions"]
    }
    dlqs = {"AttributeJobDlq", "TicketJobDlq", "EventDeliveryDlq", "IngestFailureDlq"}
    functions = {name for name, _, _ in invariants._functions(real)}
    assert dlqs | functions <= alarmed
    for _, a in invariants._of_type(real, "AWS::CloudWatch::Alarm"):
        assert a["Properties"]["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic"


def test_idempotency_table_shape(real):
    p = props(real, "IdempotencyTable")
    assert p["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert p["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_event_rule_filters_the_topics_used(real):
    p = props(real, "GenesysEventsRule")
    assert sorted(p["EventPattern"]["detail-type"]) == sorted(
        f"v2.detail.events.conversation.{{id}}.{s}" for s in ("customer.start", "acw", "wrapup")
    )
    target = p["Targets"][0]
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["EventDeliveryDlq", "Arn"]}
    assert "MaximumRetryAttempts" in target["RetryPolicy"]


# ------------------------------------------------------- each check can fail

def _remove_redrive(t):
    del props(t, "AttributeJobQueue")["RedrivePolicy"]


def _redrive_to_nowhere(t):
    props(t, "TicketJobQueue")["RedrivePolicy"]["deadLetterTargetArn"] = "arn:aws:sqs:us-east-1:123456789012:elsewhere"


def _drop_report_batch_item_failures(t):
    ev = props(t, "TicketStatusFunction")["Events"]["TicketJobs"]["Properties"]
    del ev["FunctionResponseTypes"]


def _raw_mapping_without_batch_failures(t):
    t["Resources"]["ExtraMapping"] = {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "EventSourceArn": {"Fn::GetAtt": ["AttributeJobQueue", "Arn"]},
            "FunctionName": {"Ref": "AttributeWriterFunction"},
        },
    }


def _short_visibility(t):
    props(t, "AttributeJobQueue")["VisibilityTimeout"] = 30


def _widen_queue_resource(t):
    statement(t, "WebhookIngestRole", "EnqueueJobs")["Resource"] = "*"


def _widen_table_resource_inside_a_list(t):
    statement(t, "WebhookIngestRole", "IdempotencyRecords")["Resource"] = [
        {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}, "arn:aws:dynamodb:*:*:*",
    ]


def _wildcard_action(t):
    statement(t, "TicketStatusRole", "ConsumeOwnQueue")["Action"] = "sqs:*"


def _genesys_may_invoke_ingest(t):
    statement(t, "GenesysDataActionRole", "InvokeDataActions")["Resource"].append(
        {"Fn::GetAtt": ["WebhookIngestFunction", "Arn"]}
    )


def _genesys_may_invoke_a_new_function(t):
    t["Resources"]["FourthFunction"] = copy.deepcopy(res(t, "WebhookIngestFunction"))
    t["Resources"]["FourthFunction"]["Metadata"]["BuildProperties"]["Binary"] = "fourth"
    statement(t, "GenesysDataActionRole", "InvokeDataActions")["Resource"].append(
        {"Fn::Sub": "${FourthFunction.Arn}:*"}
    )


def _genesys_role_extra_action(t):
    statement(t, "GenesysDataActionRole", "InvokeDataActions")["Action"] = [
        "lambda:InvokeFunction", "lambda:UpdateFunctionCode",
    ]


def _genesys_role_without_external_id(t):
    del props(t, "GenesysDataActionRole")["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]


def _genesys_role_loses_ticket_status(t):
    st = statement(t, "GenesysDataActionRole", "InvokeDataActions")
    st["Resource"] = [r for r in st["Resource"] if "TicketStatusFunction" not in str(r)]


def _slow_data_action(t):
    props(t, "AttributeWriterFunction")["Timeout"] = 25


def _no_timeout(t):
    del props(t, "WebhookIngestFunction")["Timeout"]


def _secret_any_name(t):
    statement(t, "TicketStatusRole", "OrgSecrets")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*"
    }


def _secret_write_access(t):
    statement(t, "AttributeWriterRole", "OrgSecrets")["Action"] = [
        "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
    ]


def _missing_env(t):
    del props(t, "WebhookIngestFunction")["Environment"]["Variables"]["BRIDGE_IDEMPOTENCY_TABLE"]


BREAKAGES = {
    "dlq: redrive removed": (_remove_redrive, "AttributeJobQueue has no RedrivePolicy"),
    "dlq: redrive outside template": (_redrive_to_nowhere, "TicketJobQueue: RedrivePolicy.deadLetterTargetArn"),
    "sqs: SAM event without ReportBatchItemFailures": (_drop_report_batch_item_failures, "TicketStatusFunction.Events.TicketJobs"),
    "sqs: raw mapping without ReportBatchItemFailures": (_raw_mapping_without_batch_failures, "ExtraMapping"),
    "sqs: visibility < 6x timeout": (_short_visibility, "VisibilityTimeout 30s"),
    "iam: Resource *": (_widen_queue_resource, "EnqueueJobs]: Resource \"*\" for ['sqs:SendMessage']"),
    "iam: wildcard ARN in a list": (_widen_table_resource_inside_a_list, "IdempotencyRecords]: Resource"),
    "iam: action wildcard": (_wildcard_action, "action wildcard ['sqs:*']"),
    "genesys: may invoke ingest": (_genesys_may_invoke_ingest, "may invoke ['WebhookIngestFunction']"),
    "genesys: may invoke a third function": (_genesys_may_invoke_a_new_function, "may invoke ['FourthFunction']"),
    "genesys: extra action": (_genesys_role_extra_action, "lambda:UpdateFunctionCode"),
    "genesys: no external id": (_genesys_role_without_external_id, "sts:ExternalId"),
    "genesys: cannot invoke ticket-status": (_genesys_role_loses_ticket_status, "cannot invoke data-action function(s) ['TicketStatusFunction']"),
    "timeout: data action too slow": (_slow_data_action, "Timeout 25s must be <= 15s"),
    "timeout: none set": (_no_timeout, "WebhookIngestFunction: Timeout must be an explicit number"),
    "secrets: any secret": (_secret_any_name, "is not the org prefix"),
    "secrets: write access": (_secret_write_access, "secretsmanager:PutSecretValue"),
    "contract: env var missing": (_missing_env, "BRIDGE_IDEMPOTENCY_TABLE"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_each_broken_copy_is_caught(t, breakage):
    mutate, expected = BREAKAGES[breakage]
    mutate(t)
    violations = check(t)
    assert violations, f"{breakage}: the checker found nothing"
    assert any(expected in v for v in violations), f"{breakage}: expected {expected!r} in {violations}"


def test_wildcard_only_actions_are_allowed_with_star(t):
    # cloudwatch:PutMetricData has no resource type, so "*" is its only scope.
    role_statements(t, "WebhookIngestRole").append(
        {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}
    )
    assert check(t) == []


def test_cli_exit_codes(tmp_path, real, capsys):
    assert invariants.main([str(TEMPLATE)]) == 0
    broken = tmp_path / "broken.yaml"
    text = TEMPLATE.read_text().replace("FunctionResponseTypes: [ReportBatchItemFailures]", "BatchSize: 5", 1)
    broken.write_text(text)
    assert invariants.main([str(broken)]) == 1
    assert "ReportBatchItemFailures" in capsys.readouterr().out


@pytest.mark.parametrize(
    "param, good, bad",
    [
        ("GenesysOrgId", ["1a2b3c4d-0000-4000-8000-0123456789ab"], ["1A2B3C4D-0000-4000-8000-0123456789AB", "my-org", ""]),
        ("GenesysAwsAccountId", ["123456789012"], ["12345678901", "arn:aws:iam::123456789012:root", ""]),
        (
            "GenesysEventSourceName",
            ["", "aws.partner/genesys.com/cloud/1a2b3c4d-0000-4000-8000-0123456789ab/bridge"],
            ["aws.partner/genesys.com/cloud/my-org/bridge", "genesys-bridge"],
        ),
        ("OrgSecretPrefix", ["genesys-bridge/orgs/"], ["genesys-bridge/orgs", ""]),
        ("AlarmTopicArn", ["", "arn:aws:sns:eu-west-1:123456789012:ops"], ["ops", "arn:aws:sqs:eu-west-1:123456789012:q"]),
    ],
)
def test_parameter_patterns(real, param, good, bad):
    import re

    pattern = real["Parameters"][param]["AllowedPattern"]
    for value in good:
        assert re.fullmatch(pattern, value), f"{param} should accept {value!r}"
    for value in bad:
        assert not re.fullmatch(pattern, value), f"{param} should reject {value!r}"


def test_render_output_satisfies_the_org_id_parameter(real):
    import re

    import render

    pattern = real["Parameters"]["GenesysOrgId"]["AllowedPattern"]
    assert re.fullmatch(pattern, render.validate_org_id("1A2B3C4D-0000-4000-8000-0123456789AB"))
