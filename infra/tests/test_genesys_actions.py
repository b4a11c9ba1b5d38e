"""The Genesys data action definitions in infra/genesys/.

They are filled in for an org by one renderer, in Rust (cli/src/onboard/actions.rs,
run by `bridge orgs onboard` and `bridge orgs render`; its tests are there). These
tests check the definitions themselves: their contracts, and that their Velocity
request templates produce valid JSON. The org placeholder stays in the templates
here, as plain text: filling it is the renderer's job, not this file's.

`velocity()` below is a deliberately tiny stand-in for Genesys' Velocity engine:
it knows only the constructs our request templates use (${input.x}, $!{input.x},
$esc.jsonString(...), flat #if/#elseif/#else/#end on string comparisons) and
fails loudly on anything else, so a template change that it cannot follow
breaks this test instead of passing by accident.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[1]
GENESYS = INFRA / "genesys"
RENDERER = INFRA.parent / "cli" / "src" / "onboard" / "actions.rs"
# The placeholders the renderer fills (ORG_PLACEHOLDER / ARN_PLACEHOLDER in actions.rs).
ORG_PLACEHOLDER = "@@GENESYS_ORG_ID@@"
ARN_PLACEHOLDER = "@@FUNCTION_ARN@@"
DEFINITIONS = sorted(p.name for p in GENESYS.glob("*.action.json"))


def _value(inputs: dict, name: str):
    v = inputs.get(name)
    if isinstance(v, bool):
        return "true" if v else "false"  # Velocity prints Java booleans this way
    return v


def velocity(template: str, inputs: dict) -> str:
    def cond(expr: str) -> bool:
        m = re.fullmatch(r'\s*"\$!\{input\.(\w+)\}"\s*(==|!=)\s*"([^"]*)"\s*', expr)
        assert m, f"unsupported #if condition: {expr}"
        actual = _value(inputs, m.group(1)) or ""
        return (actual == m.group(3)) if m.group(2) == "==" else (actual != m.group(3))

    def directive(m: re.Match) -> str:
        # Split "#if(c1)A#elseif(c2)B#else C" into (condition, body) branches.
        branches = re.split(r"#elseif\(|#else", m.group(0)[len("#if("):-len("#end")])
        for branch in branches:
            if ")" in branch and branch.lstrip().startswith('"'):
                c, body = branch.split(")", 1)
                if cond(c):
                    return body
            else:
                return branch
        return ""

    out = re.sub(r"#if\(.*?#end", directive, template)

    def esc(m: re.Match) -> str:
        v = _value(inputs, m.group(1))
        assert v is not None, f"${{input.{m.group(1)}}} is null: Velocity would print the name"
        return json.dumps(v, ensure_ascii=False)[1:-1]

    out = re.sub(r"\$esc\.jsonString\(\$\{input\.(\w+)\}\)", esc, out)
    out = re.sub(r"\$!\{input\.(\w+)\}", lambda m: _value(inputs, m.group(1)) or "", out)
    assert "$" not in out and "#" not in out, f"construct the stand-in does not know: {out}"
    return out


def load(name: str) -> dict:
    return json.loads((GENESYS / name).read_text(encoding="utf-8"))


@pytest.fixture
def templates() -> dict:
    """The request template of each definition, by action key (file name stem)."""
    return {
        name.removesuffix(".action.json"): load(name)["config"]["request"]["requestTemplate"] for name in DEFINITIONS
    }


def test_every_definition_is_one_the_renderer_knows():
    assert DEFINITIONS == ["agentless-messages.action.json", "attribute-writer.action.json", "ticket-status.action.json"]
    renderer = RENDERER.read_text(encoding="utf-8")
    for name in DEFINITIONS:
        assert f'file: "{name}"' in renderer, f"{name} has no row in {RENDERER}"
        assert f'include_str!("../../../infra/genesys/{name}")' in renderer
    assert f'"{ORG_PLACEHOLDER}"' in renderer and f'"{ARN_PLACEHOLDER}"' in renderer


@pytest.mark.parametrize("name", DEFINITIONS)
def test_definition_is_a_lambda_custom_action(name):
    action = load(name)
    assert action["actionType"] == "custom"
    assert action["integrationType"] == "aws-lambda-data-actions"
    assert action["config"]["request"]["requestUrlTemplate"] == ARN_PLACEHOLDER
    assert action["config"]["request"]["requestTemplate"].count(ORG_PLACEHOLDER) == 1
    assert action["config"]["response"]["successTemplate"] == "${rawResult}"
    # Outputs stay flat: Architect maps only primitive output fields cleanly.
    for field, schema in action["contract"]["output"]["successSchema"]["properties"].items():
        assert schema["type"] in ("string", "integer", "number", "boolean"), field


def test_attribute_writer_contract():
    action = load("attribute-writer.action.json")
    schema = action["contract"]["input"]["inputSchema"]
    assert set(schema["required"]) == {"conversationId", "participantId", "attributesJson"}
    assert schema["properties"]["verify"]["type"] == "boolean"
    out = action["contract"]["output"]["successSchema"]["properties"]
    assert {k: v["type"] for k, v in out.items()} == {
        "ok": "boolean", "written": "integer", "verified": "boolean", "verifyReason": "string",
        "conversationId": "string", "participantId": "string", "correlationId": "string",
    }


def test_ticket_status_contract():
    action = load("ticket-status.action.json")
    schema = action["contract"]["input"]["inputSchema"]
    assert set(schema["required"]) == {"ticketId", "status"}
    assert schema["properties"]["status"]["enum"] == ["new", "open", "pending", "hold", "solved", "closed"]
    out = action["contract"]["output"]["successSchema"]["properties"]
    assert {k: v["type"] for k, v in out.items()} == {
        "ok": "boolean", "ticketId": "string", "status": "string", "previousStatus": "string", "changed": "boolean",
        "followUpTicketId": "string",
    }


def test_agentless_messages_contract():
    action = load("agentless-messages.action.json")
    schema = action["contract"]["input"]["inputSchema"]
    # The key is what keeps a Genesys retry of the action from texting the customer twice.
    assert schema["required"] == ["idempotencyKey"]
    assert schema["properties"]["useExistingActiveConversation"]["type"] == "boolean"
    assert set(schema["properties"]) == {
        "idempotencyKey", "template", "sender", "text", "toAddress", "conversationId", "parametersJson",
        "useExistingActiveConversation",
    }
    out = action["contract"]["output"]["successSchema"]["properties"]
    assert {k: v["type"] for k, v in out.items()} == {
        "ok": "boolean", "messageId": "string", "conversationId": "string", "messengerType": "string",
        "duplicate": "boolean", "correlationId": "string",
    }


def test_message_request_is_valid_json_with_only_what_is_set(templates):
    template = templates["agentless-messages"]
    body = json.loads(velocity(template, {"idempotencyKey": "c-1-missed", "template": "missed-call", "conversationId": "c-1"}))
    assert body == {"orgId": ORG_PLACEHOLDER, "idempotencyKey": "c-1-missed", "template": "missed-call", "conversationId": "c-1"}
    text = 'Your "order" ships\ntoday: 50% off \\ no'
    inputs = {"idempotencyKey": "k", "sender": "acme-sms", "text": text, "toAddress": "+15551230001",
              "parametersJson": json.dumps({"date": "Monday"}), "useExistingActiveConversation": True}
    body = json.loads(velocity(template, inputs))
    assert body == {"orgId": ORG_PLACEHOLDER, "idempotencyKey": "k", "sender": "acme-sms", "text": text,
                    "toAddress": "+15551230001", "parametersJson": '{"date": "Monday"}',
                    "useExistingActiveConversation": True}
    # Architect's empty strings are left out, as unset.
    body = json.loads(velocity(template, {"idempotencyKey": "k", "template": "t", "toAddress": "", "text": ""}))
    assert body == {"orgId": ORG_PLACEHOLDER, "idempotencyKey": "k", "template": "t"}


def test_attribute_request_is_valid_json_even_with_hostile_input(templates):
    attributes = {"crm_tier": 'gold "VIP"', "note": "line1\nline2\\end", "lang": "ar: محمد"}
    inputs = {
        "conversationId": "c-1", "participantId": "p-1",
        "attributesJson": json.dumps(attributes, ensure_ascii=False),
    }
    body = json.loads(velocity(templates["attribute-writer"], inputs))
    assert body == {
        "orgId": ORG_PLACEHOLDER, "conversationId": "c-1", "participantId": "p-1", "attributesJson": inputs["attributesJson"],
    }
    assert json.loads(body["attributesJson"]) == attributes
    for flag in (True, False):
        body = json.loads(velocity(templates["attribute-writer"], {**inputs, "verify": flag}))
        assert body["verify"] is flag


def test_ticket_request_is_valid_json_with_and_without_optionals(templates):
    template = templates["ticket-status"]
    body = json.loads(velocity(template, {"ticketId": "42", "status": "solved"}))
    assert body == {"orgId": ORG_PLACEHOLDER, "ticketId": "42", "status": "solved"}
    body = json.loads(velocity(template, {"ticketId": "42", "status": "pending", "comment": 'Caller said "later"\n', "public": False}))
    assert body == {"orgId": ORG_PLACEHOLDER, "ticketId": "42", "status": "pending", "comment": 'Caller said "later"\n', "public": False}
