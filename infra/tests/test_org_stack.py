"""infra/org.yaml (one stack per org) keeps its invariants, and each check can fail.

This is also where what the AWS emulator cannot create is covered: moto's
CloudFormation skips AWS::Lambda::Alias and cannot put a rule on a partner event
bus, so the aliases, the bus and the rule are checked here, on the template and on
two org stacks rendered for two orgs (cli/tests/onboard.rs runs the rest on moto).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

import invariants
from invariants import check_org, load_template, render

INFRA = Path(__file__).resolve().parents[1]
ORG_A = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11"
ORG_B = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22"


@pytest.fixture(scope="module")
def shared() -> dict:
    return load_template(INFRA / "template.yaml")


@pytest.fixture(scope="module")
def real() -> dict:
    return load_template(INFRA / "org.yaml")


@pytest.fixture
def t(real) -> dict:
    return copy.deepcopy(real)


def res(t: dict, name: str) -> dict:
    return t["Resources"][name]


def props(t: dict, name: str) -> dict:
    return res(t, name)["Properties"]


def invoke_statement(t: dict) -> dict:
    return props(t, "DataActionRole")["Policies"][0]["PolicyDocument"]["Statement"][0]


def shared_params(real: dict) -> dict[str, str]:
    values = {
        p: f"arn:aws:lambda:eu-west-1:123456789012:function:gb-{p[:-len('FunctionArn')].lower()}"
        for p in real["Parameters"] if p.endswith("FunctionArn")
    }
    values["EventDeliveryDlqArn"] = "arn:aws:sqs:eu-west-1:123456789012:gb-EventDeliveryDlq-X"
    return values


# ---------------------------------------------------------- the real template

def test_real_org_template_has_no_violations(real, shared):
    assert check_org(real, shared) == []


def test_every_parameter_and_output_is_documented(real):
    for section in ("Parameters", "Outputs"):
        undocumented = [k for k, v in real[section].items() if not v.get("Description")]
        assert undocumented == [], f"{section} without Description: {undocumented}"


def test_no_transform_so_plain_cloudformation_runs_it(real):
    # The CLI creates it with CreateStack and CAPABILITY_IAM: no SAM transform, no macro.
    assert "Transform" not in real


def test_rendered_for_one_org_with_an_event_source(real):
    r = render(real, {**shared_params(real), "OrgId": ORG_A, "EventSourceSuffix": "bridge"})
    res_ = r["Resources"]
    source = f"aws.partner/genesys.com/cloud/{ORG_A}/bridge"
    assert res_["AttributeWriterAlias"]["Properties"] == {
        "FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:gb-attributewriter",
        "FunctionVersion": "$LATEST",
        "Name": f"org-{ORG_A}",
        "Description": f"Genesys org {ORG_A}: its data actions invoke attribute-writer through this alias",
    }
    role = res_["DataActionRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::765628985471:root"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": ORG_A}}
    assert role["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"] == [
        f"arn:aws:lambda:eu-west-1:123456789012:function:gb-attributewriter:org-{ORG_A}",
        f"arn:aws:lambda:eu-west-1:123456789012:function:gb-ticketstatus:org-{ORG_A}",
        f"arn:aws:lambda:eu-west-1:123456789012:function:gb-agentlessmessages:org-{ORG_A}",
    ]
    bus = res_["GenesysEventBus"]["Properties"]
    assert bus == {"Name": source, "EventSourceName": source}
    rule = res_["GenesysEventsRule"]["Properties"]
    assert rule["EventBusName"] == "<GenesysEventBus.Name>"
    assert rule["EventPattern"]["source"] == [source]
    assert sorted(rule["EventPattern"]["detail-type"]) == sorted(
        f"v2.detail.events.conversation.{{id}}.{s}" for s in ("customer.start", "acw", "wrapup")
    )
    [target] = rule["Targets"]
    assert target["Arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:gb-webhookingest"
    assert target["DeadLetterConfig"] == {"Arn": "arn:aws:sqs:eu-west-1:123456789012:gb-EventDeliveryDlq-X"}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": "185", "MaximumEventAgeInSeconds": "86400"}
    assert r["Outputs"]["AttributeWriterAliasArn"]["Value"].endswith(f":org-{ORG_A}")


def test_without_an_event_source_there_is_no_bus_and_no_rule(real):
    r = render(real, {**shared_params(real), "OrgId": ORG_A, "EventSourceSuffix": ""})
    assert {"GenesysEventBus", "GenesysEventsRule"}.isdisjoint(r["Resources"])
    assert {"EventBusName", "EventRuleArn"}.isdisjoint(r["Outputs"])
    assert {"AttributeWriterAlias", "TicketStatusAlias", "DataActionRole"} <= set(r["Resources"])


def test_two_org_stacks_share_no_org_specific_name(real):
    renders = [
        render(real, {**shared_params(real), "OrgId": org, "EventSourceSuffix": "bridge"}) for org in (ORG_A, ORG_B)
    ]
    a, b = (str(x) for x in renders)
    assert ORG_A in a and ORG_B not in a
    assert ORG_B in b and ORG_A not in b
    # The only differences are the org ids: same shape, nothing else per org.
    assert a.replace(ORG_A, "ORG") == b.replace(ORG_B, "ORG")


def test_every_data_action_function_of_the_shared_stack_has_its_block(real, shared):
    assert invariants.data_action_parameters(shared) == {
        "AttributeWriterFunctionArn": "attribute-writer",
        "TicketStatusFunctionArn": "ticket-status",
        "AgentlessMessagesFunctionArn": "agentless-messages",
    }
    for p in invariants.data_action_parameters(shared):
        assert p in shared["Outputs"], f"the shared stack must output {p} for org stacks"


@pytest.mark.parametrize(
    "param, good, bad",
    [
        ("OrgId", [ORG_A], [ORG_A.upper(), "my-org", ""]),
        ("GenesysAwsAccountId", ["765628985471"], ["12345678901", "arn:aws:iam::123456789012:root", ""]),
        ("EventSourceSuffix", ["", "bridge", "prod/bridge-1"], ["/bridge", "a b", f"x{'y' * 200}"]),
        (
            "AttributeWriterFunctionArn",
            ["arn:aws:lambda:eu-west-1:123456789012:function:gb-attribute-writer"],
            ["arn:aws:lambda:eu-west-1:123456789012:function:gb-attribute-writer:org-x", "gb-attribute-writer"],
        ),
        ("EventDeliveryDlqArn", ["arn:aws:sqs:eu-west-1:123456789012:gb-Dlq-1"], ["https://sqs.eu-west-1.amazonaws.com/1/q"]),
    ],
)
def test_parameter_patterns(real, param, good, bad):
    pattern = real["Parameters"][param]["AllowedPattern"]
    for value in good:
        assert re.fullmatch(pattern, value), f"{param} should accept {value!r}"
    for value in bad:
        assert not re.fullmatch(pattern, value), f"{param} should reject {value!r}"


def test_genesys_account_default_is_the_commercial_one(real):
    # upstream-facts.md: 765628985471 for commercial regions (Genesys blueprints).
    assert real["Parameters"]["GenesysAwsAccountId"]["Default"] == "765628985471"


# ------------------------------------------------------- each check can fail

def _role_invokes_any_alias(t):
    invoke_statement(t)["Resource"][0] = {"Fn::Sub": "${AttributeWriterFunctionArn}:*"}


def _role_invokes_the_unqualified_function(t):
    invoke_statement(t)["Resource"][0] = {"Ref": "AttributeWriterFunctionArn"}


def _role_invokes_another_orgs_alias(t):
    invoke_statement(t)["Resource"].append({"Fn::Sub": "${TicketStatusFunctionArn}:org-" + ORG_B})


def _role_invokes_ingest(t):
    invoke_statement(t)["Resource"].append({"Fn::Sub": "${WebhookIngestFunctionArn}:org-${OrgId}"})


def _role_extra_action(t):
    invoke_statement(t)["Action"] = ["lambda:InvokeFunction", "lambda:UpdateFunctionCode"]


def _role_without_external_id(t):
    del props(t, "DataActionRole")["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]


def _role_external_id_of_another_org(t):
    cond = props(t, "DataActionRole")["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    cond["StringEquals"]["sts:ExternalId"] = ORG_B


def _role_trusts_anyone(t):
    props(t, "DataActionRole")["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {"AWS": "*"}


def _role_loses_ticket_status(t):
    st = invoke_statement(t)
    st["Resource"] = [r for r in st["Resource"] if "TicketStatus" not in str(r)]


def _role_with_managed_policy(t):
    props(t, "DataActionRole")["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AWSLambda_FullAccess"]


def _alias_with_a_fixed_name(t):
    props(t, "AttributeWriterAlias")["Name"] = "live"


def _alias_named_for_another_org(t):
    props(t, "TicketStatusAlias")["Name"] = "org-" + ORG_B


def _alias_on_a_pinned_version(t):
    props(t, "TicketStatusAlias")["FunctionVersion"] = "7"


def _alias_of_ingest(t):
    props(t, "AttributeWriterAlias")["FunctionName"] = {"Ref": "WebhookIngestFunctionArn"}


def _no_ticket_status_alias(t):
    del t["Resources"]["TicketStatusAlias"]


def _bus_of_another_org(t):
    name = "aws.partner/genesys.com/cloud/" + ORG_B + "/${EventSourceSuffix}"
    props(t, "GenesysEventBus")["Name"] = {"Fn::Sub": name}
    props(t, "GenesysEventBus")["EventSourceName"] = {"Fn::Sub": name}


def _bus_named_by_a_free_parameter(t):
    t["Parameters"]["EventSourceName"] = {"Type": "String", "Default": "x", "Description": "any bus"}
    props(t, "GenesysEventBus")["Name"] = {"Ref": "EventSourceName"}


def _rule_without_dlq(t):
    del props(t, "GenesysEventsRule")["Targets"][0]["DeadLetterConfig"]


def _rule_targets_a_data_action(t):
    props(t, "GenesysEventsRule")["Targets"][0]["Arn"] = {"Ref": "AttributeWriterFunctionArn"}


def _rule_with_every_topic(t):
    props(t, "GenesysEventsRule")["EventPattern"]["detail-type"].append("v2.detail.events.conversation.{id}.user.end")


def _output_names_another_org(t):
    t["Outputs"]["Other"] = {"Description": "x", "Value": ORG_B}


def _parameter_the_shared_stack_does_not_output(t):
    # A function the shared stack does not have (yet).
    t["Parameters"]["SurveySenderFunctionArn"] = copy.deepcopy(t["Parameters"]["TicketStatusFunctionArn"])


BREAKAGES = {
    "role: any alias": (_role_invokes_any_alias, "may invoke {'Fn::Sub': '${AttributeWriterFunctionArn}:*'}"),
    "role: unqualified function": (_role_invokes_the_unqualified_function, "may invoke {'Ref': 'AttributeWriterFunctionArn'}"),
    "role: another org's alias": (_role_invokes_another_orgs_alias, f"org-{ORG_B}"),
    "role: webhook-ingest": (_role_invokes_ingest, "${WebhookIngestFunctionArn}:org-${OrgId}"),
    "role: extra action": (_role_extra_action, "lambda:UpdateFunctionCode"),
    "role: no external id": (_role_without_external_id, "sts:ExternalId = Ref OrgId"),
    "role: another org's external id": (_role_external_id_of_another_org, "sts:ExternalId = Ref OrgId"),
    "role: trusts anyone": (_role_trusts_anyone, "is not Genesys' account"),
    "role: cannot invoke ticket-status": (_role_loses_ticket_status, "cannot invoke the org alias of ['ticket-status']"),
    "role: managed policy": (_role_with_managed_policy, "has ManagedPolicyArns"),
    "alias: fixed name": (_alias_with_a_fixed_name, "Name 'live' must be org-${OrgId}"),
    "alias: another org's name": (_alias_named_for_another_org, "UUID literal"),
    "alias: pinned version": (_alias_on_a_pinned_version, "FunctionVersion '7'"),
    "alias: of webhook-ingest": (_alias_of_ingest, "org aliases are for data-action functions only"),
    "alias: missing": (_no_ticket_status_alias, "has no alias of ticket-status"),
    "bus: another org's": (_bus_of_another_org, "GenesysEventBus.Name 'aws.partner/genesys.com/cloud/" + ORG_B),
    "bus: any name": (_bus_named_by_a_free_parameter, "must be aws.partner/genesys.com/cloud/${OrgId}/${EventSourceSuffix}"),
    "rule: no DLQ": (_rule_without_dlq, "without the shared DLQ"),
    "rule: data action target": (_rule_targets_a_data_action, "only webhook-ingest"),
    "rule: extra topic": (_rule_with_every_topic, "is not the topics webhook-ingest acts on"),
    "names: another org in an output": (_output_names_another_org, "UUID literal"),
    "contract: parameter without shared output": (_parameter_the_shared_stack_does_not_output, "SurveySenderFunctionArn has no shared stack output"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_each_broken_copy_is_caught(t, shared, breakage):
    mutate, expected = BREAKAGES[breakage]
    mutate(t)
    violations = check_org(t, shared)
    assert violations, f"{breakage}: the checker found nothing"
    assert any(expected in v for v in violations), f"{breakage}: expected {expected!r} in {violations}"


def test_isolation_check_catches_a_name_shared_by_two_orgs(t):
    # A name that does not carry the org id is the same in every org stack: two orgs
    # would collide on it (or one would name the other's resource).
    props(t, "GenesysEventBus")["Name"] = "genesys-events"
    found = invariants.check_org_isolation(t)
    assert any("does not carry the org id" in v for v in found), found


def test_isolation_check_catches_a_stack_that_names_the_other_org(t):
    # Rendered for A and for B, a stack that hard-codes B names B in A's stack.
    _bus_of_another_org(t)
    found = invariants.check_org_isolation(t, ORG_A, ORG_B)
    assert f"the org stack rendered for {ORG_A} names org {ORG_B}" in found, found
    assert invariants.check_org_isolation(copy.deepcopy(load_template(INFRA / "org.yaml")), ORG_A, ORG_B) == []


def test_a_new_data_action_function_needs_its_org_block(t, shared):
    # The shared stack grows another data-action function (a hypothetical fifth one): the
    # org stack must grow its parameter, alias and role line, or the checker says what is
    # missing.
    shared = copy.deepcopy(shared)
    fifth = copy.deepcopy(shared["Resources"]["TicketStatusFunction"])
    fifth["Metadata"]["BuildProperties"]["Binary"] = "survey-sender"
    shared["Resources"]["SurveySenderFunction"] = fifth
    invariants.DATA_ACTION_BINARIES.add("survey-sender")
    try:
        found = check_org(t, shared)
    finally:
        invariants.DATA_ACTION_BINARIES.discard("survey-sender")
    assert any("no parameter SurveySenderFunctionArn" in v for v in found), found
    assert any("no alias of survey-sender" in v for v in found), found
    assert any("cannot invoke the org alias of ['survey-sender']" in v for v in found), found
