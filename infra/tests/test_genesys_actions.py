"""The Genesys data action definitions and render.py.

`velocity()` below is a deliberately tiny stand-in for Genesys' Velocity engine:
it knows only the constructs our request templates use (${input.x}, $!{input.x},
$esc.jsonString(...), flat #if/#elseif/#else/#end on string comparisons) and
fails loudly on anything else, so a template change that it cannot follow
breaks this test instead of passing by accident.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import render

GENESYS = Path(__file__).resolve().parents[1] / "genesys"
ORG = "1a2b3c4d-0000-4000-8000-0123456789ab"
ARN_AW = "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-attribute-writer"
ARN_TS = "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-ticket-status"


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
def rendered(tmp_path) -> dict:
    render.render(ORG.upper(), [ARN_AW, ARN_TS], tmp_path)
    return {key: json.loads((tmp_path / f).read_text()) for key, f in render.ACTIONS.items()}


# ------------------------------------------------------------------ render.py

def test_render_fills_both_placeholders(rendered):
    assert rendered["attribute-writer"]["config"]["request"]["requestUrlTemplate"] == ARN_AW
    assert rendered["ticket-status"]["config"]["request"]["requestUrlTemplate"] == ARN_TS
    for action in rendered.values():
        text = json.dumps(action)
        assert "@@" not in text
        assert ORG in action["config"]["request"]["requestTemplate"], "org id is written in lower case"


def test_render_rejects_a_bad_org_id(tmp_path, capsys):
    assert render.main(["--org-id", "my-org", "--function-arn", ARN_AW, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "is not a Genesys Cloud organization id" in err and "UUID" in err
    assert not (tmp_path / "o").exists(), "nothing is written for a bad org id"


@pytest.mark.parametrize("org", ["", "1a2b3c4d00004000800001234567890", "1a2b3c4d-0000-4000-8000-0123456789ab-x", "zzzzzzzz-0000-4000-8000-0123456789ab"])
def test_validate_org_id_rejects(org):
    with pytest.raises(render.RenderError, match="not a Genesys Cloud organization id"):
        render.validate_org_id(org)


def test_render_rejects_a_bad_arn_and_an_ambiguous_name(tmp_path):
    with pytest.raises(render.RenderError, match="not a Lambda function ARN"):
        render.render(ORG, ["arn:aws:sqs:eu-west-1:123456789012:queue"], tmp_path)
    with pytest.raises(render.RenderError, match="cannot tell which action"):
        render.render(ORG, ["arn:aws:lambda:eu-west-1:123456789012:function:my-writer"], tmp_path)


def test_render_accepts_explicit_action_and_qualified_arn(tmp_path):
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:my-writer:live"
    [path] = render.render(ORG, [f"attribute-writer={arn}"], tmp_path)
    assert json.loads(path.read_text())["config"]["request"]["requestUrlTemplate"] == arn


def test_render_runs_as_a_script(tmp_path):
    script = GENESYS / "render.py"
    ok = subprocess.run(
        [sys.executable, str(script), "--org-id", ORG, "--function-arn", ARN_TS, "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "ticket-status.action.json").exists()
    bad = subprocess.run(
        [sys.executable, str(script), "--org-id", "nope", "--function-arn", ARN_TS, "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert bad.returncode == 2 and "not a Genesys Cloud organization id" in bad.stderr


# --------------------------------------------------------- the definitions

@pytest.mark.parametrize("name", list(render.ACTIONS.values()))
def test_definition_is_a_lambda_custom_action(name):
    action = load(name)
    assert action["actionType"] == "custom"
    assert action["integrationType"] == "aws-lambda-data-actions"
    assert action["config"]["request"]["requestUrlTemplate"] == render.ARN_PLACEHOLDER
    assert render.ORG_PLACEHOLDER in action["config"]["request"]["requestTemplate"]
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


def test_attribute_request_is_valid_json_even_with_hostile_input(rendered):
    attributes = {"crm_tier": 'gold "VIP"', "note": "line1\nline2\\end", "lang": "ar: محمد"}
    inputs = {
        "conversationId": "c-1", "participantId": "p-1",
        "attributesJson": json.dumps(attributes, ensure_ascii=False),
    }
    body = json.loads(velocity(rendered["attribute-writer"]["config"]["request"]["requestTemplate"], inputs))
    assert body == {"orgId": ORG, "conversationId": "c-1", "participantId": "p-1", "attributesJson": inputs["attributesJson"]}
    assert json.loads(body["attributesJson"]) == attributes
    for flag in (True, False):
        body = json.loads(velocity(rendered["attribute-writer"]["config"]["request"]["requestTemplate"], {**inputs, "verify": flag}))
        assert body["verify"] is flag


def test_ticket_request_is_valid_json_with_and_without_optionals(rendered):
    template = rendered["ticket-status"]["config"]["request"]["requestTemplate"]
    body = json.loads(velocity(template, {"ticketId": "42", "status": "solved"}))
    assert body == {"orgId": ORG, "ticketId": "42", "status": "solved"}
    body = json.loads(velocity(template, {"ticketId": "42", "status": "pending", "comment": 'Caller said "later"\n', "public": False}))
    assert body == {"orgId": ORG, "ticketId": "42", "status": "pending", "comment": 'Caller said "later"\n', "public": False}
