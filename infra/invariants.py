"""Safety invariants of the two stacks, as a pure checker.

`check(template)` takes the parsed shared template (infra/template.yaml; a dict,
short-form tags already turned into their long form by `load_template`) and
`check_org(org, shared)` the org template (infra/org.yaml) next to it; both return
human-readable violations, and an empty list means every invariant holds. The
tests in infra/tests break a copy of a template on purpose to prove each check
fires.

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
DATA_ACTION_BINARIES = {"attribute-writer", "ticket-status", "agentless-messages"}

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
        "BRIDGE_ATTRIBUTE_QUEUE_URL", "BRIDGE_TICKET_QUEUE_URL", "BRIDGE_MESSAGE_QUEUE_URL",
        "BRIDGE_IDEMPOTENCY_TABLE", "BRIDGE_MAX_BODY_BYTES",
    },
    # Data-action functions refuse invocations that do not come through an org alias
    # unless this names the one org a single-org deployment serves.
    "attribute-writer": {"BRIDGE_SINGLE_ORG_ID"},
    "ticket-status": {"BRIDGE_SINGLE_ORG_ID"},
    # Its claims, and the DLQ it puts messages that may have been sent into.
    "agentless-messages": {"BRIDGE_SINGLE_ORG_ID", "BRIDGE_IDEMPOTENCY_TABLE", "BRIDGE_MESSAGE_DLQ_URL"},
}

# The one shared-stack parameter that may name an org: empty in the multi-org
# deployment (the default), an org id only in a deployment that serves that org
# alone. It may only reach the data-action functions, as BRIDGE_SINGLE_ORG_ID.
SINGLE_ORG_PARAMETER = "SingleOrgId"
SINGLE_ORG_ENV = "BRIDGE_SINGLE_ORG_ID"

# Metrics (README, "Metrics"): every function writes embedded-metric-format lines
# under this parameter's namespace, and the alarms and dashboard read it there.
METRICS_NAMESPACE_PARAM = "MetricsNamespace"
METRICS_NAMESPACE_ENV = "BRIDGE_METRICS_NAMESPACE"
# An SQS consumer counts a job that fails its last delivery as DeadLettered: it must
# be told its queue's maxReceiveCount.
MAX_RECEIVE_COUNT_ENV = "BRIDGE_MAX_RECEIVE_COUNT"
# The dimension that names an org in the functions' metrics.
ORG_DIMENSION = "OrgId"

# Genesys partner-bus rules: rule ARNs are rule/<bus name>/<rule name>, and a
# Genesys partner bus is named after its event source,
# aws.partner/genesys.com/cloud/<orgId>/<suffix>. One statement with this pattern
# lets every org's rule in the account and region through.
GENESYS_RULES_ARN = (
    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/aws.partner/genesys.com/cloud/*"
)

# What only an org stack may hold: parameters naming an org, its event source or
# the Genesys account that assumes its role; and per-org resource types.
ORG_PARAMETER_WORDS = ("orgid", "eventsource", "genesysawsaccount", "externalid")
PER_ORG_RESOURCE_TYPES = ("AWS::Lambda::Alias", "AWS::Events::Rule", "AWS::Events::EventBus")

UUID_LITERAL = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


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
    # Org stacks' rules dead-letter into a queue whose policy lets EventBridge send.
    for _, res in _of_type(t, "AWS::SQS::QueuePolicy"):
        for st in _statements(_props(res).get("PolicyDocument")):
            if st.get("Principal") == {"Service": "events.amazonaws.com"}:
                dlqs |= _refs_anywhere(_props(res).get("Queues"))
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


def check_consumers_send_only_to_their_dlq(t: dict) -> list[str]:
    """A queue consumer may sqs:SendMessage to the DLQ of the queue it consumes and to
    nothing else: a job it must not retry (a message that may have been sent) goes there,
    never back onto a job queue, and never to another function's queue."""
    out: list[str] = []
    queues = dict(_of_type(t, "AWS::SQS::Queue"))
    consumed: dict[str, set[str]] = {}
    for _, fname, _, qname in _sqs_event_sources(t):
        consumed.setdefault(fname, set()).add(qname or "?")
    roles = {_ref_target(_props(res).get("Role")): name for name, res, _ in _functions(t)}
    for role, res in _of_type(t, "AWS::IAM::Role"):
        fname = roles.get(role)
        if fname not in consumed:
            continue
        own_dlqs = {
            _ref_target((_props(queues[q]).get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
            for q in consumed[fname] if q in queues
        }
        for pol in _as_list(_props(res).get("Policies")):
            doc = pol.get("PolicyDocument") if isinstance(pol, dict) else None
            for i, st in enumerate(_statements(doc)):
                actions = [a for a in _as_list(st.get("Action")) if isinstance(a, str)]
                if st.get("Effect") != "Allow" or not any(a.lower().startswith("sqs:send") for a in actions):
                    continue
                for r in _as_list(st.get("Resource")):
                    target = _ref_target(r)
                    if target not in own_dlqs:
                        out.append(
                            f"{role}[{st.get('Sid', i)}]: {fname} consumes {sorted(consumed[fname])} and may only "
                            f"send to its DLQ {sorted(x for x in own_dlqs if x)}, not {r!r}"
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
    """Roles whose trust policy lets an AWS account (Genesys') assume them."""
    for name, res in _of_type(t, "AWS::IAM::Role"):
        trust = _props(res).get("AssumeRolePolicyDocument")
        for st in _statements(trust):
            principal = st.get("Principal") or {}
            if isinstance(principal, dict) and "AWS" in principal:
                yield name, res
                break


def check_no_org_specifics(t: dict) -> list[str]:
    """The shared stack names no org: adding or removing one never changes it."""
    out = []
    for name, p in (t.get("Parameters") or {}).items():
        if name == SINGLE_ORG_PARAMETER:
            continue  # check_single_org_opt_out holds it to its rules
        lowered = name.lower()
        pattern = str((p or {}).get("AllowedPattern", ""))
        if any(w in lowered for w in ORG_PARAMETER_WORDS) or "genesys" in pattern or "[0-9a-f-]{36}" in pattern:
            out.append(f"shared stack parameter {name} is org-specific; it belongs in infra/org.yaml")
    for name, res in _resources(t).items():
        rtype = res.get("Type") if isinstance(res, dict) else None
        if rtype in PER_ORG_RESOURCE_TYPES:
            out.append(f"shared stack resource {name} ({rtype}) is per org; it belongs in infra/org.yaml")
    for name, _ in _genesys_roles(t):
        out.append(f"shared stack role {name} trusts an AWS account (Genesys'); data-action roles are per org (infra/org.yaml)")
    if UUID_LITERAL.search(str(t)):
        out.append(f"shared stack holds a UUID literal {UUID_LITERAL.search(str(t)).group(0)}: an org id has no place here")
    return out


def check_single_org_opt_out(t: dict) -> list[str]:
    """SingleOrgId names no org by default, and only the data-action functions read it,
    as BRIDGE_SINGLE_ORG_ID."""
    out = []
    param = (t.get("Parameters") or {}).get(SINGLE_ORG_PARAMETER)
    if param is None:
        return out
    if (param or {}).get("Default") != "":
        out.append(
            f"shared stack parameter {SINGLE_ORG_PARAMETER} must default to \"\": the shared-stack "
            "deployment names no org, and its data actions need their org alias"
        )
    allowed: set[int] = set()
    for _, res, binary in _functions(t):
        env = ((_props(res).get("Environment") or {}).get("Variables")) or {}
        value = env.get(SINGLE_ORG_ENV)
        if binary in DATA_ACTION_BINARIES and value == {"Ref": SINGLE_ORG_PARAMETER}:
            allowed.add(id(value))

    def uses(v: Any, where: str) -> None:
        if isinstance(v, dict):
            refs = _sub_refs(v) | {r for r in [_ref_target(v)] if r}
            if SINGLE_ORG_PARAMETER in refs and id(v) not in allowed:
                out.append(f"{where} reads {SINGLE_ORG_PARAMETER}; only the data-action functions may, as {SINGLE_ORG_ENV}")
                return
            for k, x in v.items():
                uses(x, f"{where}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                uses(x, f"{where}[{i}]")

    for section in ("Resources", "Outputs", "Conditions", "Globals"):
        uses(t.get(section) or {}, section)
    return out


def _webhook_ingest(t: dict) -> str | None:
    return next((name for name, _, binary in _functions(t) if binary == "webhook-ingest"), None)


def _sub_string(v: Any) -> str | None:
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        return s[0] if isinstance(s, list) else s
    return v if isinstance(v, str) else None


def check_one_rule_permission(t: dict) -> list[str]:
    """One wildcard statement lets every Genesys partner-bus rule invoke webhook-ingest
    and dead-letter into EventDeliveryDlq: its size never grows with the orgs."""
    out = []
    ingest = _webhook_ingest(t)
    perms = [
        (name, _props(res)) for name, res in _of_type(t, "AWS::Lambda::Permission")
        if _props(res).get("Principal") == "events.amazonaws.com"
    ]
    if len(perms) != 1:
        out.append(
            f"{len(perms)} Lambda permissions for events.amazonaws.com ({sorted(n for n, _ in perms)}); "
            "exactly one wildcard statement must cover every org's rule (a resource policy is capped at 20 KB)"
        )
    for name, p in perms:
        if _ref_target(p.get("FunctionName")) != ingest:
            out.append(f"{name}: lets EventBridge invoke {p.get('FunctionName')!r}; only webhook-ingest takes events")
        if _sub_string(p.get("SourceArn")) != GENESYS_RULES_ARN:
            out.append(f"{name}: SourceArn {p.get('SourceArn')!r} is not the Genesys partner-bus rules of this account: {GENESYS_RULES_ARN}")
        if p.get("SourceAccount") != {"Ref": "AWS::AccountId"}:
            out.append(f"{name}: SourceAccount must be this account (Ref AWS::AccountId)")
    dlqs = {
        _ref_target((target.get("DeadLetterConfig") or {}).get("Arn"))
        for _, rule in _of_type(t, "AWS::Events::Rule") for target in _as_list(_props(rule).get("Targets"))
        if isinstance(target, dict)
    }
    dlqs.add("EventDeliveryDlq")
    policies = [
        (name, _props(res)) for name, res in _of_type(t, "AWS::SQS::QueuePolicy")
        if _refs_anywhere(_props(res).get("Queues")) & dlqs
    ]
    if len(policies) != 1:
        out.append(f"{len(policies)} queue policies on the event-delivery DLQ; exactly one must let the Genesys rules dead-letter")
    for name, p in policies:
        statements = _statements(p.get("PolicyDocument"))
        if len(statements) != 1:
            out.append(f"{name}: {len(statements)} statements; one statement must cover every org's rule")
        for st in statements:
            like = ((st.get("Condition") or {}).get("ArnLike") or {}).get("aws:SourceArn")
            if _sub_string(like) != GENESYS_RULES_ARN:
                out.append(f"{name}: condition {st.get('Condition')!r} is not ArnLike aws:SourceArn {GENESYS_RULES_ARN}")
            if st.get("Principal") != {"Service": "events.amazonaws.com"} or st.get("Action") != "sqs:SendMessage":
                out.append(f"{name}: only events.amazonaws.com may sqs:SendMessage")
    return out


# ------------------------------------------------------------ the org stack

def _pascal(binary: str) -> str:
    return "".join(part.capitalize() for part in binary.split("-"))


def data_action_parameters(shared: dict) -> dict[str, str]:
    """{org.yaml parameter name: binary} for every data-action function of the shared stack."""
    return {
        f"{_pascal(binary)}FunctionArn": binary
        for _, _, binary in _functions(shared) if binary in DATA_ACTION_BINARIES
    }


def own_alias_arn(param: str) -> str:
    return "${" + param + "}:org-${OrgId}"


def check_org_role(org: dict, shared: dict) -> list[str]:
    """The org's role: trusted by Genesys' account for this org's external id only, and
    may invoke this org's aliases of the data-action functions and nothing else."""
    out = []
    da_params = data_action_parameters(shared)
    roles = list(_genesys_roles(org))
    if len(roles) != 1:
        return [f"org stack has {len(roles)} roles trusted by an AWS account; exactly one (the data-action role) is expected"]
    rname, role = roles[0]
    for st in _statements(_props(role).get("AssumeRolePolicyDocument")):
        principal = (st.get("Principal") or {}).get("AWS")
        if "GenesysAwsAccountId" not in _refs_anywhere(principal) or _sub_refs(principal) - {"GenesysAwsAccountId", "AWS::Partition"}:
            out.append(f"{rname}: trust principal {principal!r} is not Genesys' account (GenesysAwsAccountId)")
        ext = ((st.get("Condition") or {}).get("StringEquals") or {}).get("sts:ExternalId")
        if ext != {"Ref": "OrgId"}:
            out.append(f"{rname}: trust statement lacks Condition StringEquals sts:ExternalId = Ref OrgId (confused deputy)")
    if _props(role).get("ManagedPolicyArns"):
        out.append(f"{rname}: has ManagedPolicyArns; the data-action role may only invoke the org's aliases")
    docs = [p.get("PolicyDocument") for p in _as_list(_props(role).get("Policies")) if isinstance(p, dict)]
    for _, pol in list(_of_type(org, "AWS::IAM::Policy")) + list(_of_type(org, "AWS::IAM::ManagedPolicy")):
        if rname in _refs_anywhere(_props(pol).get("Roles")):
            docs.append(_props(pol).get("PolicyDocument"))
    allowed = {own_alias_arn(p): p for p in da_params}
    invoked: set[str] = set()
    for doc in docs:
        for st in _statements(doc):
            if st.get("Effect") != "Allow":
                continue
            if set(_as_list(st.get("Action"))) != {"lambda:InvokeFunction"}:
                out.append(f"{rname}: grants {_as_list(st.get('Action'))}; only lambda:InvokeFunction is allowed")
            for r in _as_list(st.get("Resource")):
                arn = _sub_string(r)
                if arn in allowed:
                    invoked.add(allowed[arn])
                else:
                    out.append(
                        f"{rname}: may invoke {r!r}; only the org's own aliases "
                        f"{sorted(allowed)} are allowed (not the unqualified function, another alias, or webhook-ingest)"
                    )
    missing = set(da_params) - invoked
    if missing:
        out.append(f"{rname}: cannot invoke the org alias of {sorted(da_params[m] for m in missing)}")
    return out


def check_org_aliases(org: dict, shared: dict) -> list[str]:
    """One alias org-<OrgId> on $LATEST per data-action function, and a parameter for it."""
    out = []
    da_params = data_action_parameters(shared)
    params = set((org.get("Parameters") or {}))
    for p in sorted(set(da_params) - params):
        out.append(f"org stack has no parameter {p} for data-action function {da_params[p]}")
    aliased = set()
    for name, res in _of_type(org, "AWS::Lambda::Alias"):
        p = _props(res)
        target = _ref_target(p.get("FunctionName"))
        if target not in da_params:
            out.append(f"{name}: an alias of {p.get('FunctionName')!r}; org aliases are for data-action functions only")
        aliased.add(target)
        if _sub_string(p.get("Name")) != "org-${OrgId}":
            out.append(f"{name}: Name {p.get('Name')!r} must be org-${{OrgId}} (the functions read the org from it)")
        if p.get("FunctionVersion") != "$LATEST":
            out.append(f"{name}: FunctionVersion {p.get('FunctionVersion')!r}; $LATEST follows every deploy of the shared stack")
    for p in sorted(set(da_params) - aliased):
        out.append(f"org stack has no alias of {da_params[p]} ({p})")
    outputs = set((shared.get("Outputs") or {}))
    own = {"OrgId", "GenesysAwsAccountId", "EventSourceSuffix"}
    for name, p in (org.get("Parameters") or {}).items():
        if name not in own and "Default" not in (p or {}) and name not in outputs:
            out.append(f"org stack parameter {name} has no shared stack output of that name to come from")
    return out


def check_org_events(org: dict) -> list[str]:
    """The org's rule: on the org's own bus, the three topics, to webhook-ingest, with
    retries and the shared DLQ."""
    out = []
    bus_name = "aws.partner/genesys.com/cloud/${OrgId}/${EventSourceSuffix}"
    for name, res in _of_type(org, "AWS::Events::EventBus"):
        p = _props(res)
        if _sub_string(p.get("Name")) != bus_name or _sub_string(p.get("EventSourceName")) != bus_name:
            out.append(f"{name}: Name and EventSourceName must be {bus_name} (the org's own event source)")
    for name, res in _of_type(org, "AWS::Events::Rule"):
        p = _props(res)
        pattern = p.get("EventPattern") or {}
        if [_sub_string(x) for x in _as_list(pattern.get("source"))] != [bus_name]:
            out.append(f"{name}: EventPattern source must be [{bus_name}]")
        topics = sorted(pattern.get("detail-type") or [])
        wanted = sorted(f"v2.detail.events.conversation.{{id}}.{t}" for t in ("customer.start", "acw", "wrapup"))
        if topics != wanted:
            out.append(f"{name}: detail-type {topics} is not the topics webhook-ingest acts on {wanted}")
        for target in _as_list(p.get("Targets")):
            if target.get("Arn") != {"Ref": "WebhookIngestFunctionArn"}:
                out.append(f"{name}: targets {target.get('Arn')!r}; only webhook-ingest")
            if (target.get("DeadLetterConfig") or {}).get("Arn") != {"Ref": "EventDeliveryDlqArn"}:
                out.append(f"{name}: target without the shared DLQ (DeadLetterConfig EventDeliveryDlqArn): undeliverable events would be lost")
            if "MaximumRetryAttempts" not in (target.get("RetryPolicy") or {}):
                out.append(f"{name}: target without RetryPolicy")
    return out


def check_org_names_no_literal_org(org: dict) -> list[str]:
    """Every org-specific name is built from OrgId: a UUID literal could be another org's."""
    found = UUID_LITERAL.search(str({k: org.get(k) for k in ("Resources", "Outputs", "Conditions")}))
    return [f"org stack holds the UUID literal {found.group(0)}; build names from ${{OrgId}}"] if found else []


# ------------------------------------------- rendering an org stack for one org

PSEUDO = {
    "AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012",
    "AWS::StackName": "genesys-bridge-org", "AWS::URLSuffix": "amazonaws.com",
}


def render(t: dict, params: dict[str, str]) -> Any:
    """Resources and Outputs with parameters, pseudo parameters and conditions resolved;
    a reference to a resource becomes "<Logical>" / "<Logical>.<Attr>"."""
    values = {k: str(v.get("Default", "")) for k, v in (t.get("Parameters") or {}).items()}
    values.update(params)
    values.update(PSEUDO)

    def cond(c: Any) -> bool:
        if isinstance(c, dict) and "Condition" in c:
            return cond(t["Conditions"][c["Condition"]])
        if isinstance(c, dict) and "Fn::Not" in c:
            return not cond(c["Fn::Not"][0])
        if isinstance(c, dict) and "Fn::Equals" in c:
            a, b = (resolve(x) for x in c["Fn::Equals"])
            return a == b
        if isinstance(c, dict) and "Fn::And" in c:
            return all(cond(x) for x in c["Fn::And"])
        if isinstance(c, dict) and "Fn::Or" in c:
            return any(cond(x) for x in c["Fn::Or"])
        raise ValueError(f"condition not understood: {c!r}")

    def resolve(v: Any) -> Any:
        if isinstance(v, dict) and len(v) == 1:
            (k, x), = v.items()
            if k == "Ref":
                return values.get(x, f"<{x}>")
            if k == "Fn::GetAtt":
                return f"<{x[0]}.{x[1]}>"
            if k == "Fn::Sub":
                text, extra = (x[0], x[1]) if isinstance(x, list) else (x, {})
                return re.sub(r"\$\{([^!}][^}]*)\}", lambda m: str(resolve(extra[m.group(1)])) if m.group(1) in extra
                              else values.get(m.group(1), f"<{m.group(1)}>"), text)
            if k == "Fn::If":
                return resolve(x[1] if cond({"Condition": x[0]}) else x[2])
            if k == "Fn::Join":
                return x[0].join(str(resolve(i)) for i in x[1])
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    rendered = {}
    for section in ("Resources", "Outputs"):
        rendered[section] = {
            name: resolve(body) for name, body in (t.get(section) or {}).items()
            if not (isinstance(body, dict) and "Condition" in body and not cond({"Condition": body["Condition"]}))
        }
    return rendered


def check_org_isolation(org: dict, a: str = "1a2b3c4d-0000-4000-8000-0000000000aa",
                        b: str = "1a2b3c4d-0000-4000-8000-0000000000bb") -> list[str]:
    """Renders two org stacks (with event sources) and checks that neither names the
    other org, and that each org-specific name carries its own org id."""
    out = []
    shared_values = {
        p: f"arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-{p}" for p in (org.get("Parameters") or {})
        if p.endswith("FunctionArn")
    }
    shared_values["EventDeliveryDlqArn"] = "arn:aws:sqs:eu-west-1:123456789012:genesys-bridge-EventDeliveryDlq"
    renders = {
        o: render(org, {**shared_values, "OrgId": o, "EventSourceSuffix": "bridge"}) for o in (a, b)
    }
    for mine, other in ((a, b), (b, a)):
        text = str(renders[mine])
        if other in text:
            out.append(f"the org stack rendered for {mine} names org {other}")
        res = renders[mine]["Resources"]
        for name, body in res.items():
            p = body.get("Properties") or {}
            for key in ("Name", "EventSourceName"):
                if key in p and mine not in str(p[key]):
                    out.append(f"{name}.{key} {p[key]!r} does not carry the org id {mine}")
            if body.get("Type") == "AWS::Lambda::Alias" and p.get("Name") != f"org-{mine}":
                out.append(f"{name}: alias rendered as {p.get('Name')!r}, not org-{mine}")
    return out


ORG_CHECKS = (
    check_org_role,
    check_org_aliases,
)
ORG_ONLY_CHECKS = (
    check_org_events,
    check_org_names_no_literal_org,
    check_org_isolation,
)


def check_org(org: dict, shared: dict) -> list[str]:
    """All violations of the org stack's invariants, read against the shared stack."""
    violations: list[str] = []
    for c in ORG_CHECKS:
        violations.extend(c(org, shared))
    for c in ORG_ONLY_CHECKS:
        violations.extend(c(org))
    # The general ones apply to the org stack as well.
    violations.extend(check_no_wildcard_resources(org))
    return violations


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


def _function_env(t: dict, res: dict) -> dict:
    env = {}
    if res.get("Type") == "AWS::Serverless::Function":
        env.update(((_globals_function(t).get("Environment") or {}).get("Variables")) or {})
    env.update(((_props(res).get("Environment") or {}).get("Variables")) or {})
    return env


def check_metrics_contract(t: dict) -> list[str]:
    """Every function writes its metrics under the MetricsNamespace parameter (what the
    alarms and dashboard read), none has them off, and each SQS consumer knows the
    maxReceiveCount of the queue it consumes (to count a job's last failure as
    DeadLettered)."""
    out = []
    if METRICS_NAMESPACE_PARAM not in (t.get("Parameters") or {}):
        out.append(f"no {METRICS_NAMESPACE_PARAM} parameter: the functions' metrics namespace must be one setting the alarms and dashboard share")
    queues = dict(_of_type(t, "AWS::SQS::Queue"))
    funcs = {name: res for name, res, _ in _functions(t)}
    for name, res in funcs.items():
        env = _function_env(t, res)
        if env.get(METRICS_NAMESPACE_ENV) != {"Ref": METRICS_NAMESPACE_PARAM}:
            out.append(
                f"function {name}: {METRICS_NAMESPACE_ENV} is {env.get(METRICS_NAMESPACE_ENV)!r}, not Ref "
                f"{METRICS_NAMESPACE_PARAM}: its metrics would miss the alarms and the dashboard"
            )
        if str(env.get("BRIDGE_METRICS", "emf")).lower() == "off":
            out.append(f"function {name}: BRIDGE_METRICS is off; the alarms read its metrics")
    for where, fname, _, qname in _sqs_event_sources(t):
        if fname not in funcs or qname not in queues:
            continue
        redrive = _props(queues[qname]).get("RedrivePolicy") or {}
        want = redrive.get("maxReceiveCount") if isinstance(redrive, dict) else None
        got = _function_env(t, funcs[fname]).get(MAX_RECEIVE_COUNT_ENV)
        if got is None or got != want:
            out.append(
                f"function {fname} ({where}): {MAX_RECEIVE_COUNT_ENV} is {got!r}, not its queue {qname}'s "
                f"maxReceiveCount {want!r}: jobs that go to the DLQ would not count as DeadLettered"
            )
    return out


# "OrgId = 'x'", "OrgId != ...", "OrgId IN (...)", "OrgId LIKE ...", and SEARCH's OrgId="x".
_SELECTS_ONE_ORG = re.compile(ORG_DIMENSION + r"\s*(=|!=|<>|\bIN\b|\bLIKE\b)", re.IGNORECASE)
_GROUPS_BY_ORG = re.compile(r"GROUP\s+BY\s+(\w+\s*,\s*)*" + ORG_DIMENSION + r"\b", re.IGNORECASE)


def _uses_namespace_param(v: Any) -> bool:
    return v == {"Ref": METRICS_NAMESPACE_PARAM} or METRICS_NAMESPACE_PARAM in _sub_refs(v)


def _alarm_metrics(p: dict) -> list[dict]:
    """The metrics an alarm names: its own (Namespace, Dimensions) and each MetricStat's."""
    metrics = [{"Namespace": p.get("Namespace"), "Dimensions": p.get("Dimensions")}]
    for q in _as_list(p.get("Metrics")):
        if isinstance(q, dict):
            metrics.append((q.get("MetricStat") or {}).get("Metric") or {})
    return metrics


def check_alarms_scale_with_orgs(t: dict) -> list[str]:
    """Alarms and dashboards work for any number of orgs: none names one org (an OrgId
    dimension value, a query that selects one org), alarms use no SEARCH (CloudWatch
    refuses it in alarms; a Metrics Insights query grouped by OrgId makes each org a
    contributor instead), and the functions' metrics are read under the MetricsNamespace
    parameter, not a copy of its value."""
    out = []
    default_ns = ((t.get("Parameters") or {}).get(METRICS_NAMESPACE_PARAM) or {}).get("Default")
    for name, res in _of_type(t, "AWS::CloudWatch::Alarm"):
        p = _props(res)
        for m in _alarm_metrics(p):
            dims = [d for d in _as_list(m.get("Dimensions")) if isinstance(d, dict)]
            if any(d.get("Name") == ORG_DIMENSION for d in dims):
                out.append(f"alarm {name} watches one org (dimension {ORG_DIMENSION}); group by {ORG_DIMENSION} in a Metrics Insights query instead")
            ns = m.get("Namespace")
            if ns is not None and not _uses_namespace_param(ns) and not str(ns).startswith("AWS/"):
                out.append(f"alarm {name}: namespace {ns!r}; the functions' metrics are under Ref {METRICS_NAMESPACE_PARAM}")
        for q in _as_list(p.get("Metrics")):
            if not isinstance(q, dict) or "Expression" not in q:
                continue
            expr = _sub_string(q["Expression"]) or ""
            if "SEARCH(" in expr.upper():
                out.append(f"alarm {name}: SEARCH is not allowed in alarms; use a Metrics Insights query (SELECT ... GROUP BY {ORG_DIMENSION})")
            if expr.upper().lstrip().startswith("SELECT"):
                if not _uses_namespace_param(q["Expression"]):
                    out.append(f"alarm {name}: its Metrics Insights query must read SCHEMA(\"${{{METRICS_NAMESPACE_PARAM}}}\", ...)")
                if _SELECTS_ONE_ORG.search(expr) or (ORG_DIMENSION in expr and not _GROUPS_BY_ORG.search(expr)):
                    out.append(f"alarm {name}: its query {expr!r} must not select orgs; GROUP BY {ORG_DIMENSION} makes each org a contributor")
    for name, res in _of_type(t, "AWS::CloudWatch::Dashboard"):
        body = _props(res).get("DashboardBody")
        text = (_sub_string(body) or "").replace('\\"', '"')
        if not _uses_namespace_param(body):
            out.append(f"dashboard {name} does not read ${{{METRICS_NAMESPACE_PARAM}}}")
        if default_ns and (f'"{default_ns}"' in text or f"{{{default_ns}," in text):
            out.append(f"dashboard {name} names the namespace {default_ns!r}; use ${{{METRICS_NAMESPACE_PARAM}}}")
        if _SELECTS_ONE_ORG.search(text):
            out.append(f"dashboard {name} has a widget for one org ({ORG_DIMENSION}=...); SEARCH or GROUP BY {ORG_DIMENSION} show every org")
    return out


CHECKS = (
    check_job_queues_have_dlq,
    check_sqs_sources_report_batch_failures,
    check_queue_visibility,
    check_consumers_send_only_to_their_dlq,
    check_no_wildcard_resources,
    check_no_org_specifics,
    check_single_org_opt_out,
    check_one_rule_permission,
    check_timeouts,
    check_secret_scope,
    check_runtime_contract,
    check_metrics_contract,
    check_alarms_scale_with_orgs,
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
    here = Path(__file__).parent
    shared_path = args[0] if args else str(here / "template.yaml")
    org_path = args[1] if len(args) > 1 else str(here / "org.yaml")
    shared = load_template(shared_path)
    total = 0
    for path, violations in ((shared_path, check(shared)), (org_path, check_org(load_template(org_path), shared))):
        for v in violations:
            print(f"VIOLATION: {v}")
        print(f"{path}: {len(violations)} violation(s)")
        total += len(violations)
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
