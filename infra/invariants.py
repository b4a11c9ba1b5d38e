"""Safety invariants of infra/template.yaml, as a pure checker.

`check(template)` takes the parsed template (a dict, short-form tags already
turned into their long form by `load_template`) and returns human-readable
violations; an empty list means the template keeps every invariant. The tests in
infra/tests break a copy of the template on purpose to prove each check fires.

The checks read the SAM source template (before the transform), so they look at
`AWS::Serverless::Function` events as well as raw CloudFormation resources.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

# --------------------------------------------------------------------- loading

# Short-form intrinsic tags and their long form. `!GetAtt A.B` is the one whose
# scalar form needs splitting; `!Ref` keeps its name, every other is `Fn::X`.
_TAGS = [
    "And", "Base64", "Cidr", "Condition", "Equals", "FindInMap", "GetAZs", "GetAtt",
    "If", "ImportValue", "Join", "Length", "Not", "Or", "Ref", "Select", "Split",
    "Sub", "ToJsonString", "Transform",
]


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form tags."""


def _construct(tag_name: str):
    key = tag_name if tag_name in ("Ref", "Condition") else f"Fn::{tag_name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag_name == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _tag in _TAGS:
    CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load_template(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass


# ---------------------------------------------------------------- the policy

# Genesys abandons a Lambda data action after 20 s (upstream-facts.md). A data
# action function must finish well before that: 15 s leaves 5 s for the invoke
# round trip and a cold start.
DATA_ACTION_LIMIT_SECONDS = 20
DATA_ACTION_MAX_TIMEOUT = 15
DATA_ACTION_BINARIES = {"attribute-writer", "ticket-status"}

# AWS guidance for SQS event sources: queue visibility >= 6 x function timeout.
VISIBILITY_FACTOR = 6

# Actions that only accept Resource "*" (IAM's service authorization reference
# lists no resource type for them), so "*" is the only possible scope.
WILDCARD_ONLY_ACTIONS = {
    "cloudwatch:PutMetricData",        # metrics are not resources; scope with cloudwatch:namespace condition
    "xray:PutTraceSegments",           # X-Ray ingestion has no resource type
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:DescribeLogGroups",          # list operation, no resource type
    "sqs:ListQueues",                  # list operation, no resource type
    "secretsmanager:GetRandomPassword",
    "secretsmanager:ListSecrets",
}

SECRET_PREFIX_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${OrgSecretPrefix}*"
)

# The runtime contract the binaries read at cold start.
COMMON_ENV = {"BRIDGE_SECRET_SOURCE", "BRIDGE_SECRET_PREFIX", "BRIDGE_SECRET_TTL_SECONDS", "RUST_LOG"}
BINARY_ENV = {
    "webhook-ingest": {
        "BRIDGE_ATTRIBUTE_QUEUE_URL", "BRIDGE_TICKET_QUEUE_URL",
        "BRIDGE_IDEMPOTENCY_TABLE", "BRIDGE_MAX_BODY_BYTES",
    },
    "attribute-writer": set(),
    "ticket-status": set(),
}


# -------------------------------------------------------------------- helpers

def _resources(t: dict) -> dict:
    return t.get("Resources") or {}


def _of_type(t: dict, rtype: str) -> Iterator[tuple[str, dict]]:
    for name, res in _resources(t).items():
        if isinstance(res, dict) and res.get("Type") == rtype:
            yield name, res


def _props(res: dict) -> dict:
    return res.get("Properties") or {}


def _as_list(v: Any) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _ref_target(v: Any) -> str | None:
    """Logical id referenced by {Ref: X} or {Fn::GetAtt: [X, ...]}."""
    if isinstance(v, dict):
        if "Ref" in v and isinstance(v["Ref"], str):
            return v["Ref"]
        if "Fn::GetAtt" in v:
            target = v["Fn::GetAtt"]
            if isinstance(target, list) and target:
                return target[0]
    return None


def _sub_refs(v: Any) -> set[str]:
    """Names referenced inside a Fn::Sub string (${X} and ${X.Attr})."""
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        if isinstance(s, list):
            s = s[0]
        if isinstance(s, str):
            return {m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", s)}
    return set()


def _refs_anywhere(v: Any) -> set[str]:
    """Every logical id or parameter that v references, however deep."""
    found: set[str] = set()
    target = _ref_target(v)
    if target:
        found.add(target)
    found |= _sub_refs(v)
    if isinstance(v, dict):
        for x in v.values():
            found |= _refs_anywhere(x)
    elif isinstance(v, list):
        for x in v:
            found |= _refs_anywhere(x)
    return found


def _if_branches(v: Any) -> list:
    """Both branches of a Fn::If (either may apply), else [v]."""
    if isinstance(v, dict) and "Fn::If" in v and isinstance(v["Fn::If"], list) and len(v["Fn::If"]) == 3:
        return _if_branches(v["Fn::If"][1]) + _if_branches(v["Fn::If"][2])
    return [v]


def _functions(t: dict) -> Iterator[tuple[str, dict, str | None]]:
    """(logical id, resource, cargo binary name) for every SAM and raw function."""
    for rtype in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        for name, res in _of_type(t, rtype):
            binary = ((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
            yield name, res, binary


def _globals_function(t: dict) -> dict:
    return (t.get("Globals") or {}).get("Function") or {}


def _function_prop(t: dict, res: dict, key: str) -> Any:
    props = _props(res)
    if key in props:
        return props[key]
    if res.get("Type") == "AWS::Serverless::Function":
        return _globals_function(t).get(key)
    return None


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _statements(doc: Any) -> list[dict]:
    if not isinstance(doc, dict):
        return []
    return [s for s in _as_list(doc.get("Statement")) if isinstance(s, dict)]


def _policy_documents(t: dict) -> Iterator[tuple[str, dict]]:
    """(where, policy document) for every identity and resource policy in the template."""
    for name, res in _of_type(t, "AWS::IAM::Role"):
        for pol in _as_list(_props(res).get("Policies")):
            if isinstance(pol, dict):
                yield f"{name}/{pol.get('PolicyName', '?')}", pol.get("PolicyDocument")
    for rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        for name, res in _of_type(t, rtype):
            yield name, _props(res).get("PolicyDocument")
    for rtype in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
        for name, res in _of_type(t, rtype):
            yield name, _props(res).get("PolicyDocument")
    # SAM inline statements under a function's Policies (policy templates such as
    # SQSSendMessagePolicy are scoped by SAM itself and are not documents).
    for name, res, _ in _functions(t):
        for pol in _as_list(_props(res).get("Policies")):
            if isinstance(pol, dict) and "Statement" in pol:
                yield f"{name}/Policies", pol


def _allow_statements(t: dict) -> Iterator[tuple[str, dict]]:
    for where, doc in _policy_documents(t):
        for i, st in enumerate(_statements(doc)):
            if st.get("Effect") == "Allow":
                yield f"{where}[{st.get('Sid', i)}]", st


def _is_wildcard_resource(r: Any) -> bool:
    # "*", and ARNs whose resource part is "*" or "<type>/*" ("arn:aws:sqs:*:*:*",
    # "arn:aws:dynamodb:*:*:table/*"): they name every resource of the service.
    if not isinstance(r, str):
        return False
    return r == "*" or re.fullmatch(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:([A-Za-z-]+[/:])?\*", r) is not None


# --------------------------------------------------------------------- checks

def check_job_queues_have_dlq(t: dict) -> list[str]:
    """Every job queue redrives to a DLQ that is defined in this template."""
    out: list[str] = []
    queues = dict(_of_type(t, "AWS::SQS::Queue"))

    # A queue is a dead-letter queue if something dead-letters into it: another
    # queue's redrive, a rule target's DeadLetterConfig, or a Lambda failure
    # destination. Every other queue carries jobs and needs a redrive.
    dlqs: set[str] = set()
    for _, q in queues.items():
        redrive = _props(q).get("RedrivePolicy") or {}
        if isinstance(redrive, dict):
            target = _ref_target(redrive.get("deadLetterTargetArn"))
            if target:
                dlqs.add(target)
    for _, res in _of_type(t, "AWS::Events::Rule"):
        for target in _as_list(_props(res).get("Targets")):
            if isinstance(target, dict):
                dlq = _ref_target((target.get("DeadLetterConfig") or {}).get("Arn"))
                if dlq:
                    dlqs.add(dlq)
    for _, res in _of_type(t, "AWS::Lambda::EventInvokeConfig"):
        dest = ((_props(res).get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if _ref_target(dest):
            dlqs.add(_ref_target(dest))
    for _, res, _ in _functions(t):
        dlc = _props(res).get("DeadLetterQueue") or _props(res).get("DeadLetterConfig") or {}
        if isinstance(dlc, dict):
            target = _ref_target(dlc.get("TargetArn") or dlc.get("Arn"))
            if target:
                dlqs.add(target)

    for name, q in queues.items():
        if name in dlqs:
            continue
        redrive = _props(q).get("RedrivePolicy")
        if not isinstance(redrive, dict):
            out.append(f"job queue {name} has no RedrivePolicy: failed jobs would be retried until they expire, then lost")
            continue
        target = _ref_target(redrive.get("deadLetterTargetArn"))
        if target not in queues:
            out.append(f"job queue {name}: RedrivePolicy.deadLetterTargetArn does not point at an SQS queue in this template")
        if redrive.get("maxReceiveCount") is None:
            out.append(f"job queue {name}: RedrivePolicy has no maxReceiveCount")
    return out


def _sqs_event_sources(t: dict) -> Iterator[tuple[str, str, dict, str | None]]:
    """(where, function logical id, properties, queue logical id) for SQS event sources."""
    queues = {name for name, _ in _of_type(t, "AWS::SQS::Queue")}
    for fname, res, _ in _functions(t):
        for ename, ev in (_props(res).get("Events") or {}).items():
            if isinstance(ev, dict) and ev.get("Type") == "SQS":
                props = ev.get("Properties") or {}
                yield f"{fname}.Events.{ename}", fname, props, _ref_target(props.get("Queue"))
    for name, res in _of_type(t, "AWS::Lambda::EventSourceMapping"):
        props = _props(res)
        src = props.get("EventSourceArn")
        queue = _ref_target(src)
        is_sqs = queue in queues or (isinstance(src, str) and ":sqs:" in src) or (
            isinstance(src, dict) and "Fn::Sub" in src and ":sqs:" in str(src["Fn::Sub"])
        )
        if is_sqs:
            yield name, _ref_target(props.get("FunctionName")) or "?", props, queue


def check_sqs_sources_report_batch_failures(t: dict) -> list[str]:
    out = []
    for where, _, props, _ in _sqs_event_sources(t):
        if "ReportBatchItemFailures" not in _as_list(props.get("FunctionResponseTypes")):
            out.append(
                f"SQS event source {where} lacks FunctionResponseTypes [ReportBatchItemFailures]: "
                "one failed record would re-deliver the whole batch"
            )
    return out


def check_queue_visibility(t: dict) -> list[str]:
    """A consumed queue's visibility timeout is >= 6x its consumer's timeout."""
    out = []
    queues = dict(_of_type(t, "AWS::SQS::Queue"))
    funcs = {name: res for name, res, _ in _functions(t)}
    for where, fname, _, qname in _sqs_event_sources(t):
        if qname not in queues or fname not in funcs:
            continue
        timeout = _as_number(_function_prop(t, funcs[fname], "Timeout")) or 3.0
        vis = _as_number(_props(queues[qname]).get("VisibilityTimeout"))
        vis = 30.0 if vis is None and "VisibilityTimeout" not in _props(queues[qname]) else vis
        if vis is None:
            out.append(f"queue {qname}: VisibilityTimeout is not a literal; cannot prove it is >= {VISIBILITY_FACTOR}x the timeout of {fname}")
        elif vis < VISIBILITY_FACTOR * timeout:
            out.append(
                f"queue {qname}: VisibilityTimeout {vis:g}s < {VISIBILITY_FACTOR} x {fname} Timeout {timeout:g}s "
                f"(consumer of {where}); messages would be redelivered while still in flight"
            )
    return out


def check_no_wildcard_resources(t: dict) -> list[str]:
    out = []
    for where, st in _allow_statements(t):
        actions = [a for a in _as_list(st.get("Action")) if isinstance(a, str)]
        if "NotAction" in st:
            out.append(f"{where}: NotAction grants everything else; list the actions")
        if "NotResource" in st:
            out.append(f"{where}: NotResource grants every other resource; name the resources")
        if any(a == "*" or a.endswith(":*") for a in actions):
            out.append(f"{where}: action wildcard {actions}; list the actions needed")
        resources = [r for branch in _as_list(st.get("Resource")) for r in _if_branches(branch)]
        if any(_is_wildcard_resource(r) for r in resources):
            scopable = [a for a in actions if a not in WILDCARD_ONLY_ACTIONS]
            if scopable:
                out.append(f"{where}: Resource \"*\" for {scopable}; these actions accept resource ARNs, name them")
    return out


def _genesys_roles(t: dict) -> Iterator[tuple[str, dict]]:
    """Roles whose trust policy lets Genesys' AWS account assume them."""
    for name, res in _of_type(t, "AWS::IAM::Role"):
        trust = _props(res).get("AssumeRolePolicyDocument")
        for st in _statements(trust):
            principal = st.get("Principal") or {}
            aws = principal.get("AWS") if isinstance(principal, dict) else principal
            if "GenesysAwsAccountId" in _refs_anywhere(aws):
                yield name, res
                break


def check_genesys_role(t: dict) -> list[str]:
    out = []
    data_action_fns = {name for name, _, binary in _functions(t) if binary in DATA_ACTION_BINARIES}
    other_fns = {name for name, _, binary in _functions(t) if binary not in DATA_ACTION_BINARIES}
    roles = list(_genesys_roles(t))
    if not roles:
        return ["no IAM role trusts GenesysAwsAccountId: Genesys cannot invoke the data actions"]
    for rname, role in roles:
        for st in _statements(_props(role).get("AssumeRolePolicyDocument")):
            cond = st.get("Condition") or {}
            ext = (cond.get("StringEquals") or {}).get("sts:ExternalId")
            if "GenesysOrgId" not in _refs_anywhere(ext):
                out.append(f"{rname}: trust statement lacks Condition StringEquals sts:ExternalId = GenesysOrgId (confused deputy)")
        # Everything the role may do, from its inline policies and any policy
        # resource attached to it.
        docs = [p.get("PolicyDocument") for p in _as_list(_props(role).get("Policies")) if isinstance(p, dict)]
        for _, pol in list(_of_type(t, "AWS::IAM::Policy")) + list(_of_type(t, "AWS::IAM::ManagedPolicy")):
            if rname in _refs_anywhere(_props(pol).get("Roles")):
                docs.append(_props(pol).get("PolicyDocument"))
        if _props(role).get("ManagedPolicyArns"):
            out.append(f"{rname}: has ManagedPolicyArns; the Genesys role may only invoke the data-action functions")
        invoked: set[str] = set()
        for doc in docs:
            for st in _statements(doc):
                if st.get("Effect") != "Allow":
                    continue
                actions = _as_list(st.get("Action"))
                if actions != ["lambda:InvokeFunction"] and set(actions) != {"lambda:InvokeFunction"}:
                    out.append(f"{rname}: grants {actions}; only lambda:InvokeFunction is allowed")
                for r in _as_list(st.get("Resource")):
                    names = {_ref_target(r)} | _sub_refs(r)
                    names.discard(None)
                    if not names or not names <= data_action_fns:
                        bad = sorted(names & other_fns) or [r]
                        out.append(f"{rname}: may invoke {bad}; only the data-action functions {sorted(data_action_fns)} are allowed")
                    invoked |= names & data_action_fns
        missing = data_action_fns - invoked
        if missing:
            out.append(f"{rname}: cannot invoke data-action function(s) {sorted(missing)}")
    return out


def check_timeouts(t: dict) -> list[str]:
    out = []
    for name, res, binary in _functions(t):
        timeout = _as_number(_function_prop(t, res, "Timeout"))
        if timeout is None:
            out.append(f"function {name}: Timeout must be an explicit number (the 3 s default is an accident, not a choice)")
            continue
        if binary in DATA_ACTION_BINARIES and timeout > DATA_ACTION_MAX_TIMEOUT:
            out.append(
                f"function {name} ({binary}) is a Genesys data action: Timeout {timeout:g}s must be <= "
                f"{DATA_ACTION_MAX_TIMEOUT}s (Genesys gives up at {DATA_ACTION_LIMIT_SECONDS}s)"
            )
    return out


def check_secret_scope(t: dict) -> list[str]:
    out = []
    for where, st in _allow_statements(t):
        actions = [a for a in _as_list(st.get("Action")) if isinstance(a, str)]
        secret_actions = [a for a in actions if a.lower().startswith("secretsmanager:")]
        if not secret_actions:
            continue
        extra = [a for a in secret_actions if a not in ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")]
        if extra:
            out.append(f"{where}: secret actions {extra}; the functions only read org secrets")
        for r in _as_list(st.get("Resource")):
            sub = r.get("Fn::Sub") if isinstance(r, dict) else None
            if isinstance(sub, list):
                sub = sub[0]
            if sub != SECRET_PREFIX_ARN:
                out.append(f"{where}: secret resource {r!r} is not the org prefix {SECRET_PREFIX_ARN}")
    return out


def check_runtime_contract(t: dict) -> list[str]:
    out = []
    global_env = ((_globals_function(t).get("Environment") or {}).get("Variables")) or {}
    for name, res, binary in _functions(t):
        if binary not in BINARY_ENV:
            continue
        env = dict(global_env) if res.get("Type") == "AWS::Serverless::Function" else {}
        env.update(((_props(res).get("Environment") or {}).get("Variables")) or {})
        missing = (COMMON_ENV | BINARY_ENV[binary]) - set(env)
        if missing:
            out.append(f"function {name} ({binary}) lacks environment variables {sorted(missing)}")
        if env.get("BRIDGE_SECRET_SOURCE", "secretsmanager") != "secretsmanager":
            out.append(f"function {name}: BRIDGE_SECRET_SOURCE must be secretsmanager in AWS")
    return out


CHECKS = (
    check_job_queues_have_dlq,
    check_sqs_sources_report_batch_failures,
    check_queue_visibility,
    check_no_wildcard_resources,
    check_genesys_role,
    check_timeouts,
    check_secret_scope,
    check_runtime_contract,
)


def check(template: dict) -> list[str]:
    """All violations of all invariants; [] when the template is sound."""
    violations: list[str] = []
    for c in CHECKS:
        violations.extend(c(template))
    return violations


def main(argv: Iterable[str] | None = None) -> int:
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    path = args[0] if args else str(Path(__file__).with_name("template.yaml"))
    violations = check(load_template(path))
    for v in violations:
        print(f"VIOLATION: {v}")
    print(f"{path}: {len(violations)} violation(s)")
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
