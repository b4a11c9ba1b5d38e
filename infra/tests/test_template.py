"""infra/template.yaml (the shared stack) keeps its invariants, and each check can fail.

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
    assert props(real, "GenesysRulesInvokePermission")["SourceArn"] == {"Fn::Sub": invariants.GENESYS_RULES_ARN}
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
        "AttributeWriterFunctionArn", "TicketStatusFunctionArn",
    } <= set(real["Outputs"])


def test_outputs_cover_what_org_stacks_and_the_cli_read(real):
    # bridge orgs onboard passes these as infra/org.yaml parameters, and stores the
    # org secret under OrgSecretPrefix.
    assert {
        "WebhookIngestFunctionArn", "AttributeWriterFunctionArn", "TicketStatusFunctionArn",
        "EventDeliveryDlqArn", "OrgSecretPrefix",
    } <= set(real["Outputs"])
    assert "GenesysDataActionRoleArn" not in real["Outputs"], "the data-action role is per org now"


def test_functions_build_with_cargo_lambda_from_the_workspace_root(real):
    binaries = {}
    for name, r, binary in invariants._functions(real):
        assert r["Metadata"]["BuildMethod"] == "rust-cargolambda"
        assert r["Properties"]["CodeUri"] == "..", "CodeUri must be the directory holding the workspace Cargo.toml"
        assert r["Properties"]["LoggingConfig"]["LogFormat"] == "JSON"
        binaries[name] = binary
    assert sorted(binaries.values()) == ["agentless-messages", "attribute-writer", "ticket-status", "webhook-ingest"]
    glob = real["Globals"]["Function"]
    assert glob["Runtime"] == "provided.al2023" and glob["Handler"] == "bootstrap"
    assert glob["Architectures"] == [{"Ref": "Architecture"}]
    assert real["Parameters"]["Architecture"]["Default"] == "arm64"


def test_every_dlq_and_function_has_an_alarm(real):
    alarmed = {
        invariants._ref_target(d["Value"])
        for _, a in invariants._of_type(real, "AWS::CloudWatch::Alarm")
        for d in a["Properties"].get("Dimensions", [])
    }
    dlqs = {"AttributeJobDlq", "TicketJobDlq", "MessageJobDlq", "EventDeliveryDlq", "IngestFailureDlq"}
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


def test_data_action_functions_get_the_single_org_setting_empty_by_default(real):
    for name in ("AttributeWriterFunction", "TicketStatusFunction", "AgentlessMessagesFunction"):
        env = props(real, name)["Environment"]["Variables"]
        assert env["BRIDGE_SINGLE_ORG_ID"] == {"Ref": "SingleOrgId"}
    assert "BRIDGE_SINGLE_ORG_ID" not in props(real, "WebhookIngestFunction")["Environment"]["Variables"]
    # Empty: the shared-stack deployment, where every data action needs its org alias.
    assert real["Parameters"]["SingleOrgId"]["Default"] == ""
    assert "RequireOrgAlias" not in real["Parameters"]


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


def _org_parameter_back(t):
    t["Parameters"]["GenesysOrgId"] = {"Type": "String", "Description": "one org"}


def _event_source_parameter_back(t):
    t["Parameters"]["EventSource"] = {
        "Type": "String", "AllowedPattern": "^aws\\.partner/genesys\\.com/cloud/.*$", "Description": "one org",
    }


def _alias_in_shared(t):
    t["Resources"]["AcmeAlias"] = {
        "Type": "AWS::Lambda::Alias",
        "Properties": {"FunctionName": {"Ref": "AttributeWriterFunction"}, "FunctionVersion": "$LATEST", "Name": "org-acme"},
    }


def _genesys_role_in_shared(t):
    t["Resources"]["GenesysRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": {"Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::765628985471:root"}, "Action": "sts:AssumeRole",
        }]}},
    }


def _org_uuid_in_shared(t):
    props(t, "WebhookIngestFunction")["Environment"]["Variables"]["ONLY_ORG"] = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11"


def _permission_per_rule(t):
    t["Resources"]["AcmeRulePermission"] = copy.deepcopy(res(t, "GenesysRulesInvokePermission"))
    props(t, "AcmeRulePermission")["SourceArn"] = {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/aws.partner/genesys.com/cloud/acme/x/r"
    }


def _permission_any_rule(t):
    props(t, "GenesysRulesInvokePermission")["SourceArn"] = {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*"
    }


def _permission_without_source_account(t):
    del props(t, "GenesysRulesInvokePermission")["SourceAccount"]


def _permission_on_a_data_action(t):
    props(t, "GenesysRulesInvokePermission")["FunctionName"] = {"Ref": "TicketStatusFunction"}


def _queue_policy_statement_per_rule(t):
    doc = props(t, "EventDeliveryDlqPolicy")["PolicyDocument"]
    extra = copy.deepcopy(doc["Statement"][0])
    extra["Sid"] = "AcmeRule"
    doc["Statement"].append(extra)


def _queue_policy_one_rule_only(t):
    st = props(t, "EventDeliveryDlqPolicy")["PolicyDocument"]["Statement"][0]
    st["Condition"] = {"ArnEquals": {"aws:SourceArn": "arn:aws:events:eu-west-1:123456789012:rule/acme"}}


def _no_queue_policy(t):
    del t["Resources"]["EventDeliveryDlqPolicy"]


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


def _single_org_by_default(t):
    t["Parameters"]["SingleOrgId"]["Default"] = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11"


def _single_org_read_by_ingest(t):
    props(t, "WebhookIngestFunction")["Environment"]["Variables"]["BRIDGE_SINGLE_ORG_ID"] = {"Ref": "SingleOrgId"}


def _single_org_in_a_policy(t):
    statement(t, "TicketStatusRole", "OrgSecrets")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${OrgSecretPrefix}${SingleOrgId}"
    }


def _missing_env(t):
    del props(t, "WebhookIngestFunction")["Environment"]["Variables"]["BRIDGE_IDEMPOTENCY_TABLE"]


def _messages_without_their_dlq_setting(t):
    del props(t, "AgentlessMessagesFunction")["Environment"]["Variables"]["BRIDGE_MESSAGE_DLQ_URL"]


def _worker_sends_back_to_its_queue(t):
    # A message that may have been sent would be retried: exactly what must not happen.
    statement(t, "AgentlessMessagesRole", "DeadLetterOwnMessages")["Resource"] = [
        {"Fn::GetAtt": ["MessageJobDlq", "Arn"]}, {"Fn::GetAtt": ["MessageJobQueue", "Arn"]},
    ]


def _worker_sends_to_another_dlq(t):
    statement(t, "AgentlessMessagesRole", "DeadLetterOwnMessages")["Resource"] = {"Fn::GetAtt": ["TicketJobDlq", "Arn"]}


def _consumer_enqueues_jobs(t):
    statements = props(t, "TicketStatusRole")["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Sid": "Enqueue", "Effect": "Allow", "Action": "sqs:SendMessage",
                       "Resource": {"Fn::GetAtt": ["AttributeJobQueue", "Arn"]}})


def _messages_without_a_queue(t):
    del props(t, "AgentlessMessagesFunction")["Events"]["MessageJobs"]["Properties"]["FunctionResponseTypes"]
def _no_metrics_namespace(t):
    del t["Globals"]["Function"]["Environment"]["Variables"]["BRIDGE_METRICS_NAMESPACE"]


def _literal_metrics_namespace(t):
    props(t, "TicketStatusFunction")["Environment"]["Variables"]["BRIDGE_METRICS_NAMESPACE"] = "GenesysBridge"


def _metrics_off(t):
    props(t, "AttributeWriterFunction")["Environment"]["Variables"]["BRIDGE_METRICS"] = "off"


def _receive_count_differs(t):
    props(t, "TicketStatusFunction")["Environment"]["Variables"]["BRIDGE_MAX_RECEIVE_COUNT"] = 3


def _receive_count_missing(t):
    del props(t, "AttributeWriterFunction")["Environment"]["Variables"]["BRIDGE_MAX_RECEIVE_COUNT"]


def _alarm_for_one_org(t):
    t["Resources"]["AcmeFailuresAlarm"] = copy.deepcopy(res(t, "DeadLetteredJobsAlarm"))
    dims = props(t, "AcmeFailuresAlarm")["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]
    dims.append({"Name": "OrgId", "Value": "acme"})


def _search_in_alarm(t):
    props(t, "OrgDeadLetteredAlarm")["Metrics"][0]["Expression"] = {
        "Fn::Sub": "SEARCH('{\"${MetricsNamespace}\",OrgId} MetricName=\"DeadLettered\"', 'Sum', 300)"
    }


def _insights_alarm_for_one_org(t):
    props(t, "OrgFailuresAlarm")["Metrics"][0]["Expression"] = {
        "Fn::Sub": "SELECT SUM(Failed) FROM SCHEMA(\"${MetricsNamespace}\", OrgId) WHERE OrgId = 'acme'"
    }


def _insights_alarm_not_grouped(t):
    props(t, "OrgFailuresAlarm")["Metrics"][0]["Expression"] = {
        "Fn::Sub": "SELECT SUM(Failed) FROM SCHEMA(\"${MetricsNamespace}\", OrgId)"
    }


def _alarm_literal_namespace(t):
    props(t, "DeadLetteredJobsAlarm")["Metrics"][1]["MetricStat"]["Metric"]["Namespace"] = "GenesysBridge"


def _insights_alarm_literal_namespace(t):
    props(t, "OrgDeadLetteredAlarm")["Metrics"][0]["Expression"] = (
        'SELECT SUM(DeadLettered) FROM SCHEMA("GenesysBridge", OrgId) GROUP BY OrgId'
    )


def _dashboard_widget_for_one_org(t):
    body = props(t, "MetricsDashboard")["DashboardBody"]
    body["Fn::Sub"] = body["Fn::Sub"].replace('MetricName=\\"DeadLettered\\"', 'MetricName=\\"DeadLettered\\" OrgId=\\"acme\\"', 1)


def _dashboard_literal_namespace(t):
    body = props(t, "MetricsDashboard")["DashboardBody"]
    body["Fn::Sub"] = body["Fn::Sub"].replace('\\"${MetricsNamespace}\\",OrgId} MetricName', '\\"GenesysBridge\\",OrgId} MetricName', 1)


BREAKAGES = {
    "dlq: redrive removed": (_remove_redrive, "AttributeJobQueue has no RedrivePolicy"),
    "dlq: redrive outside template": (_redrive_to_nowhere, "TicketJobQueue: RedrivePolicy.deadLetterTargetArn"),
    "sqs: SAM event without ReportBatchItemFailures": (_drop_report_batch_item_failures, "TicketStatusFunction.Events.TicketJobs"),
    "sqs: raw mapping without ReportBatchItemFailures": (_raw_mapping_without_batch_failures, "ExtraMapping"),
    "sqs: visibility < 6x timeout": (_short_visibility, "VisibilityTimeout 30s"),
    "iam: Resource *": (_widen_queue_resource, "EnqueueJobs]: Resource \"*\" for ['sqs:SendMessage']"),
    "iam: wildcard ARN in a list": (_widen_table_resource_inside_a_list, "IdempotencyRecords]: Resource"),
    "iam: action wildcard": (_wildcard_action, "action wildcard ['sqs:*']"),
    "shared: org parameter": (_org_parameter_back, "parameter GenesysOrgId is org-specific"),
    "shared: event source parameter": (_event_source_parameter_back, "parameter EventSource is org-specific"),
    "shared: per-org alias": (_alias_in_shared, "AcmeAlias (AWS::Lambda::Alias) is per org"),
    "shared: Genesys role": (_genesys_role_in_shared, "role GenesysRole trusts an AWS account"),
    "shared: an org id": (_org_uuid_in_shared, "UUID literal 4f2b1c9e"),
    "shared: single org by default": (_single_org_by_default, "SingleOrgId must default to \"\""),
    "shared: single org read by ingest": (_single_org_read_by_ingest, "WebhookIngestFunction.Properties.Environment.Variables.BRIDGE_SINGLE_ORG_ID reads SingleOrgId"),
    "shared: single org in a policy": (_single_org_in_a_policy, "reads SingleOrgId; only the data-action functions may"),
    "rules: a permission per rule": (_permission_per_rule, "2 Lambda permissions for events.amazonaws.com"),
    "rules: any rule of the account": (_permission_any_rule, "is not the Genesys partner-bus rules"),
    "rules: no source account": (_permission_without_source_account, "SourceAccount must be this account"),
    "rules: invoke a data action": (_permission_on_a_data_action, "only webhook-ingest takes events"),
    "rules: a DLQ statement per rule": (_queue_policy_statement_per_rule, "2 statements; one statement"),
    "rules: DLQ accepts one rule": (_queue_policy_one_rule_only, "is not ArnLike aws:SourceArn"),
    "rules: no DLQ policy": (_no_queue_policy, "0 queue policies on the event-delivery DLQ"),
    "timeout: data action too slow": (_slow_data_action, "Timeout 25s must be <= 15s"),
    "timeout: none set": (_no_timeout, "WebhookIngestFunction: Timeout must be an explicit number"),
    "secrets: any secret": (_secret_any_name, "is not the org prefix"),
    "secrets: write access": (_secret_write_access, "secretsmanager:PutSecretValue"),
    "contract: env var missing": (_missing_env, "BRIDGE_IDEMPOTENCY_TABLE"),
    "contract: messages without their DLQ": (_messages_without_their_dlq_setting, "BRIDGE_MESSAGE_DLQ_URL"),
    "send: worker back to its job queue": (_worker_sends_back_to_its_queue, "may only send to its DLQ ['MessageJobDlq'], not {'Fn::GetAtt': ['MessageJobQueue', 'Arn']}"),
    "send: worker to another DLQ": (_worker_sends_to_another_dlq, "AgentlessMessagesFunction consumes ['MessageJobQueue'] and may only send to its DLQ"),
    "send: consumer enqueues jobs": (_consumer_enqueues_jobs, "TicketStatusRole[Enqueue]"),
    "sqs: messages without ReportBatchItemFailures": (_messages_without_a_queue, "AgentlessMessagesFunction.Events.MessageJobs"),
    "metrics: no namespace": (_no_metrics_namespace, "BRIDGE_METRICS_NAMESPACE is None"),
    "metrics: a literal namespace": (_literal_metrics_namespace, "TicketStatusFunction: BRIDGE_METRICS_NAMESPACE is 'GenesysBridge'"),
    "metrics: off": (_metrics_off, "AttributeWriterFunction: BRIDGE_METRICS is off"),
    "metrics: receive count differs": (_receive_count_differs, "BRIDGE_MAX_RECEIVE_COUNT is 3, not its queue TicketJobQueue"),
    "metrics: receive count missing": (_receive_count_missing, "AttributeWriterFunction (AttributeWriterFunction.Events.AttributeJobs): BRIDGE_MAX_RECEIVE_COUNT is None"),
    "alarms: one org's alarm": (_alarm_for_one_org, "alarm AcmeFailuresAlarm watches one org"),
    "alarms: SEARCH": (_search_in_alarm, "OrgDeadLetteredAlarm: SEARCH is not allowed in alarms"),
    "alarms: query for one org": (_insights_alarm_for_one_org, "OrgFailuresAlarm: its query"),
    "alarms: query not grouped by org": (_insights_alarm_not_grouped, "OrgFailuresAlarm: its query"),
    "alarms: literal namespace": (_alarm_literal_namespace, "DeadLetteredJobsAlarm: namespace 'GenesysBridge'"),
    "alarms: query with a literal namespace": (_insights_alarm_literal_namespace, "OrgDeadLetteredAlarm: its Metrics Insights query must read"),
    "dashboard: a widget for one org": (_dashboard_widget_for_one_org, "has a widget for one org"),
    "dashboard: literal namespace": (_dashboard_literal_namespace, "names the namespace 'GenesysBridge'"),
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
    org = TEMPLATE.with_name("org.yaml")
    assert invariants.main([str(TEMPLATE), str(org)]) == 0
    broken = tmp_path / "broken.yaml"
    text = TEMPLATE.read_text().replace("FunctionResponseTypes: [ReportBatchItemFailures]", "BatchSize: 5", 1)
    broken.write_text(text)
    assert invariants.main([str(broken), str(org)]) == 1
    assert "ReportBatchItemFailures" in capsys.readouterr().out
    broken_org = tmp_path / "org.yaml"
    broken_org.write_text(org.read_text().replace('Name: !Sub "org-${OrgId}"', "Name: live", 1))
    assert invariants.main([str(TEMPLATE), str(broken_org)]) == 1
    assert "must be org-${OrgId}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "param, good, bad",
    [
        ("OrgSecretPrefix", ["genesys-bridge/orgs/"], ["genesys-bridge/orgs", ""]),
        ("AlarmTopicArn", ["", "arn:aws:sns:eu-west-1:123456789012:ops"], ["ops", "arn:aws:sqs:eu-west-1:123456789012:q"]),
        (
            "SingleOrgId",
            ["", "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11"],
            ["true", "false", "acme", "4F2B1C9E-8A31-4D6E-9B7A-2C5D8E1F0A11", "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11 "],
        ),
    ],
)
def test_parameter_patterns(real, param, good, bad):
    import re

    pattern = real["Parameters"][param]["AllowedPattern"]
    for value in good:
        assert re.fullmatch(pattern, value), f"{param} should accept {value!r}"
    for value in bad:
        assert not re.fullmatch(pattern, value), f"{param} should reject {value!r}"


# ------------------------------------------------------------- metrics, per org

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_metrics() -> set[str]:
    """Metric names of the README's "Metrics" table (the Rust catalogue is checked
    against the same table by bridge's tests)."""
    section = README.read_text().split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    return {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}


def metric_names_read(real: dict) -> set[str]:
    """Every metric name of the functions' namespace that the alarms and dashboard read."""
    import json
    import re

    names = set()
    for _, a in invariants._of_type(real, "AWS::CloudWatch::Alarm"):
        for q in a["Properties"].get("Metrics", []):
            metric = q.get("MetricStat", {}).get("Metric", {})
            if metric.get("Namespace") == {"Ref": "MetricsNamespace"}:
                names.add(metric["MetricName"])
            names |= set(re.findall(r"SELECT \w+\((\w+)\)", invariants._sub_string(q.get("Expression")) or ""))
    rendered = invariants.render(real, {})["Resources"]["MetricsDashboard"]["Properties"]["DashboardBody"]
    for w in json.loads(rendered)["widgets"]:
        for m in w["properties"].get("metrics", []):
            if isinstance(m[0], dict):
                names |= set(re.findall(r'MetricName="(\w+)"', m[0]["expression"]))
                names |= set(re.findall(r"SELECT \w+\((\w+)\)", m[0]["expression"]))
            elif m[0] == "GenesysBridge":
                names.add(m[1])
    return names


def test_alarms_and_dashboard_read_only_documented_metrics(real):
    read = metric_names_read(real)
    assert {"DeadLettered", "Failed", "Latency", "GenesysThrottled", "Zendesk5xx"} <= read
    assert read <= documented_metrics(), read - documented_metrics()


def test_dashboard_body_is_json_with_per_org_search_widgets(real):
    import json

    body = json.loads(invariants.render(real, {})["Resources"]["MetricsDashboard"]["Properties"]["DashboardBody"])
    expressions = [
        m[0]["expression"] for w in body["widgets"] for m in w["properties"].get("metrics", []) if isinstance(m[0], dict)
    ]
    per_org = [e for e in expressions if e.startswith("SEARCH(") and "OrgId}" in e]
    assert len(per_org) >= 4, expressions
    assert all('{"GenesysBridge",' in e for e in per_org), "the namespace parameter's default is substituted"


def test_per_org_alarms_group_by_org_and_all_orgs_alarm_adds_every_worker(real):
    for name in ("OrgDeadLetteredAlarm", "OrgFailuresAlarm"):
        (query,) = [q for q in props(real, name)["Metrics"] if q.get("ReturnData")]
        text = invariants._sub_string(query["Expression"])
        assert text.startswith("SELECT SUM(") and "GROUP BY OrgId" in text, text
        assert query["Period"] == 300
    queries = props(real, "DeadLetteredJobsAlarm")["Metrics"]
    functions = {
        d["Value"] for q in queries if "MetricStat" in q for d in q["MetricStat"]["Metric"]["Dimensions"]
    }
    # Every SQS consumer counts DeadLettered, so every one is in the sum.
    binaries = {name: binary for name, _, binary in invariants._functions(real)}
    workers = {binaries[f] for _, f, _, _ in invariants._sqs_event_sources(real)}
    assert workers == {"attribute-writer", "ticket-status", "agentless-messages"}
    assert functions == workers
    (total,) = [q for q in queries if q.get("ReturnData")]
    assert total["Expression"] == "FILL(writer, 0) + FILL(tickets, 0) + FILL(messages, 0)"


def test_metrics_namespace_pattern_matches_what_the_functions_accept(real):
    import re

    pattern = real["Parameters"]["MetricsNamespace"]["AllowedPattern"]
    for ns in ("GenesysBridge", "Bridge/prod", "a.b_c#d:e-f"):
        assert re.fullmatch(pattern, ns)
    for ns in ("", "has space", "x" * 256, "ümlaut"):
        assert not re.fullmatch(pattern, ns)
