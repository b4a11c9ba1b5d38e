//! Every metric the functions write: its name, unit, which dimension sets it is published
//! under, and what it means. The README's "Metrics" table is this list (a test compares
//! them), and the shared stack's alarms and dashboard use only these names.
//!
//! A metric name is the outcome name of the logs in PascalCase: a job logged with
//! `outcome=updated` counts in `Updated`. An outcome that is not listed here (a new
//! function's) is still published, but only under the all-orgs dimension set
//! `[Function]`: it costs one metric per function, never one per org, until a row here
//! says otherwise.

/// A CloudWatch unit, as EMF spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Which dimension sets a metric is published under. Every distinct combination of
/// dimension values is one custom metric on the bill, so only the metrics an operator
/// reads per tenant carry the org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `[Function]` only: all orgs together, one metric per function.
    AllOrgs,
    /// `[Function]` and `[OrgId]`: all orgs per function, and each org across functions.
    PerOrg,
    /// `[Function]` and `[Function, OrgId]`: each org per function (latency, whose values
    /// differ too much between functions to mix).
    PerFunctionAndOrg,
}

impl Scope {
    /// The dimension sets of a document that carries an `OrgId` (`with_org`) or not.
    pub fn dimension_sets(self, with_org: bool) -> &'static [&'static [&'static str]] {
        match (self, with_org) {
            (_, false) | (Scope::AllOrgs, true) => &[&["Function"]],
            (Scope::PerOrg, true) => &[&["Function"], &["OrgId"]],
            (Scope::PerFunctionAndOrg, true) => &[&["Function"], &["Function", "OrgId"]],
        }
    }
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    pub name: &'static str,
    pub unit: Unit,
    pub scope: Scope,
    /// The functions that write it.
    pub functions: &'static str,
    /// What one unit of it means, for the README.
    pub meaning: &'static str,
}

const fn count(
    name: &'static str,
    scope: Scope,
    functions: &'static str,
    meaning: &'static str,
) -> MetricInfo {
    MetricInfo {
        name,
        unit: Unit::Count,
        scope,
        functions,
        meaning,
    }
}

const INGEST: &str = "webhook-ingest";
const WRITER: &str = "attribute-writer";
const TICKETS: &str = "ticket-status";
const MESSAGES: &str = "agentless-messages";
const WORKERS: &str = "attribute-writer, ticket-status, agentless-messages";
const ZENDESK_WORKERS: &str = "attribute-writer, ticket-status";
const ALL: &str = "all";

/// The metric of an invocation's duration.
pub const LATENCY: &str = "Latency";
/// The metric of a failed message on its last delivery (it moves to the DLQ next).
pub const DEAD_LETTERED: &str = "DeadLettered";
/// The outcome (and metric) of an invocation or message that failed.
pub const FAILED: &str = "failed";

/// Every metric, in the README's order.
pub const CATALOGUE: &[MetricInfo] = &[
    count("Accepted", Scope::PerOrg, INGEST, "an event accepted and its jobs queued"),
    count("Duplicate", Scope::AllOrgs, "webhook-ingest, agentless-messages", "an event already delivered, dropped (no job); for agentless-messages, a message sent before under the same claim (nothing sent now)"),
    count("Unrouted", Scope::AllOrgs, INGEST, "an event accepted that asks for no job (other topic, enrichment off)"),
    count("Rejected", Scope::PerOrg, INGEST, "a request or event refused as sent: 4xx (bad credential, bad input, too large, wrong path), an invalid EventBridge event or one of an org with no config"),
    count("InProgress", Scope::AllOrgs, INGEST, "an event another invocation is delivering right now (409, retried by the sender)"),
    count("Failed", Scope::PerOrg, ALL, "an invocation (event, data action) or an SQS message delivery that failed; a message counts once per delivery"),
    count("Written", Scope::PerOrg, WRITER, "participant attributes written: a data action, or a job whose merged write went through"),
    count("VerifyFailed", Scope::PerOrg, WRITER, "a data action whose read-back did not show the written values (also counted in Written)"),
    count("ContactPatched", Scope::AllOrgs, WRITER, "a contact.fields job applied"),
    count("NothingToWrite", Scope::AllOrgs, WRITER, "an enrichment job with nothing to write (disabled, no single Zendesk match)"),
    count("Updated", Scope::PerOrg, TICKETS, "a ticket moved to a new status (data action or wrap-up job)"),
    count("Unchanged", Scope::PerOrg, TICKETS, "a ticket that already had the status: no update sent"),
    count("Closed", Scope::PerOrg, TICKETS, "a closed ticket that cannot change (rules.closedTicket report)"),
    count("FollowUp", Scope::AllOrgs, TICKETS, "a follow-up ticket created for a closed one"),
    count("Unmapped", Scope::AllOrgs, TICKETS, "a wrap-up code that maps to no status: ticket left alone"),
    count("NoTicket", Scope::AllOrgs, TICKETS, "a wrap-up with no usable ticket id"),
    count("Superseded", Scope::AllOrgs, TICKETS, "a wrap-up job that a later one for the same ticket in the batch replaced"),
    count("Sent", Scope::PerOrg, MESSAGES, "an agentless message Genesys took (data action or message job)"),
    count("MayHaveBeenSent", Scope::PerOrg, MESSAGES, "a message whose send reached Genesys without an answer saying whether it took effect: not sent again (a data action's Genesys.MayHaveBeenSent, a job put in the DLQ marked so)"),
    count(DEAD_LETTERED, Scope::PerOrg, WORKERS, "a message that failed its last delivery (ApproximateReceiveCount reached BRIDGE_MAX_RECEIVE_COUNT): SQS moves it to the DLQ"),
    count("GenesysThrottled", Scope::PerOrg, ALL, "a Genesys answer that throttled: 429, or the token endpoint's 400 rate limit"),
    count("Genesys5xx", Scope::PerOrg, ALL, "a Genesys 5xx answer"),
    count("GenesysUnreachable", Scope::AllOrgs, ALL, "a Genesys request with no answer (connect, TLS, timeout, reset)"),
    count("ZendeskThrottled", Scope::PerOrg, ZENDESK_WORKERS, "a Zendesk 429 answer"),
    count("Zendesk5xx", Scope::PerOrg, ZENDESK_WORKERS, "a Zendesk 5xx answer"),
    count("ZendeskUnreachable", Scope::AllOrgs, ZENDESK_WORKERS, "a Zendesk request with no answer (connect, TLS, timeout, reset)"),
    MetricInfo {
        name: LATENCY,
        unit: Unit::Milliseconds,
        scope: Scope::PerFunctionAndOrg,
        functions: ALL,
        meaning: "one invocation, from the event to the answer; per org when the invocation served one org",
    },
];

/// The catalogue row of `name`.
pub fn info(name: &str) -> Option<&'static MetricInfo> {
    CATALOGUE.iter().find(|m| m.name == name)
}

/// How `name` is published: its row's unit and scope, or an unlisted outcome's (a count,
/// all orgs only).
pub fn unit_and_scope(name: &str) -> (Unit, Scope) {
    info(name).map_or((Unit::Count, Scope::AllOrgs), |m| (m.unit, m.scope))
}

/// The metric name of an outcome name: `contact_patched` -> `ContactPatched` (names that
/// are already PascalCase stay as they are).
pub fn metric_name(outcome: &str) -> String {
    let mut out = String::with_capacity(outcome.len());
    let mut upper = true;
    for c in outcome.chars() {
        if c == '_' || c == '-' || c == '.' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
