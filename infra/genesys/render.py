#!/usr/bin/env python3
"""Fill the Genesys data action definitions in this folder for one org.

A Lambda data action's event carries only the action's input, not the org id,
so each org imports its own copy whose request template names the org
(@@GENESYS_ORG_ID@@) and whose requestUrlTemplate is the function ARN
(@@FUNCTION_ARN@@). This script writes those copies; stdlib only.

    python3 infra/genesys/render.py --org-id <uuid> \\
        --function-arn <AttributeWriterFunctionArn> \\
        --function-arn <TicketStatusFunctionArn> --out DIR

Each ARN is matched to its action by the function name's suffix
(<stack>-attribute-writer, <stack>-ticket-status, as infra/template.yaml names
them); for other names say which action it is: --function-arn ticket-status=ARN.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORG_PLACEHOLDER = "@@GENESYS_ORG_ID@@"
ARN_PLACEHOLDER = "@@FUNCTION_ARN@@"
# action key (= cargo binary name) -> definition file in this folder
ACTIONS = {
    "attribute-writer": "attribute-writer.action.json",
    "ticket-status": "ticket-status.action.json",
}
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Unqualified, version- or alias-qualified function ARN in any partition.
ARN_RE = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9_$-]+)?$"
)


class RenderError(Exception):
    """A problem with the arguments, worded for the person running the script."""


def validate_org_id(org_id: str) -> str:
    if not UUID_RE.match(org_id.strip()):
        raise RenderError(
            f"--org-id {org_id!r} is not a Genesys Cloud organization id: expected a UUID like "
            "1a2b3c4d-0000-4000-8000-0123456789ab (Genesys Cloud Admin > Organization Settings)."
        )
    # Genesys shows org ids in lower case; secrets are named <prefix><lower-case id>.
    return org_id.strip().lower()


def assign_arns(specs: list[str]) -> dict[str, str]:
    """Map each --function-arn to its action key."""
    assigned: dict[str, str] = {}
    for spec in specs:
        key, sep, arn = spec.partition("=")
        if not sep:
            key, arn = "", spec
        m = ARN_RE.match(arn)
        if not m:
            raise RenderError(
                f"--function-arn {arn!r} is not a Lambda function ARN "
                "(arn:aws:lambda:<region>:<account>:function:<name>); use the stack outputs "
                "AttributeWriterFunctionArn / TicketStatusFunctionArn."
            )
        if not key:
            matches = [k for k in ACTIONS if m.group("name").endswith(k)]
            if len(matches) != 1:
                raise RenderError(
                    f"cannot tell which action {arn} is for; write it as "
                    f"--function-arn {'|'.join(ACTIONS)}=ARN"
                )
            key = matches[0]
        if key not in ACTIONS:
            raise RenderError(f"unknown action {key!r}; expected one of {', '.join(ACTIONS)}")
        if key in assigned and assigned[key] != arn:
            raise RenderError(f"two different ARNs given for {key}: {assigned[key]} and {arn}")
        assigned[key] = arn
    if not assigned:
        raise RenderError("give at least one --function-arn")
    return assigned


def render_action(text: str, org_id: str, function_arn: str) -> str:
    """Fill one definition; the result must still be a JSON document with no placeholder left."""
    filled = text.replace(ORG_PLACEHOLDER, org_id).replace(ARN_PLACEHOLDER, function_arn)
    leftover = re.findall(r"@@[A-Z_]+@@", filled)
    if leftover:
        raise RenderError(f"unfilled placeholders {sorted(set(leftover))}")
    json.loads(filled)  # both values are JSON-safe by their regexes; prove it
    return filled


def render(org_id: str, function_arns: list[str], out_dir: Path, source_dir: Path = HERE) -> list[Path]:
    org = validate_org_id(org_id)
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for key, arn in sorted(assign_arns(function_arns).items()):
        text = (source_dir / ACTIONS[key]).read_text(encoding="utf-8")
        target = out_dir / ACTIONS[key]
        target.write_text(render_action(text, org, arn), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--org-id", required=True, help="Genesys Cloud organization id (UUID)")
    parser.add_argument(
        "--function-arn", action="append", default=[], required=True, metavar="[ACTION=]ARN",
        help="data-action function ARN (repeat for both); ACTION is attribute-writer or ticket-status",
    )
    parser.add_argument("--out", required=True, type=Path, help="directory for the filled definitions")
    args = parser.parse_args(argv)
    try:
        for path in render(args.org_id, args.function_arn, args.out):
            print(f"wrote {path}")
    except RenderError as e:
        print(f"render.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
