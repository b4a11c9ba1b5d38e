//! The plan of a chaos run, a pure function of the seed: the world added to the sandbox (one
//! conversation per call, its caller in Zendesk, its ticket) and the events that go through
//! the pipeline, each with the effect it must have, and the order they are delivered in,
//! duplicates included.
//!
//! A call (conversation `k`) makes up to three events: `customer.start` (EventBridge; a
//! `participant.enrich` job where the org enriches), a `participant.attributes` command
//! over HTTPS (shared-secret bearer or HMAC) writing `chaos_k`, and one wrap-up for its
//! ticket: an EventBridge `.acw` or `.wrapup`, an HMAC-signed `.acw` notification over
//! HTTPS, or a `ticket.wrapup` command. Every ticket gets exactly one wrap-up, so its notes
//! can be counted per job. Some calls end on a closed ticket (reported, or a follow-up
//! ticket where the org asks for one), and a few events are poison that must end in a
//! dead-letter queue: an EventBridge event of an org that is not configured, and a wrap-up
//! command for a ticket that does not exist.
//!
//! Events are delivered in an order that interleaves calls and sometimes reverses a call's
//! own events; about one event in six is delivered again with the same event id, right away
//! (concurrently) or much later.

use std::collections::BTreeMap;

use bridge::OrgConfig;
use bridge_sandbox::{unit, ConversationSeed, ParticipantSeed, Seed, TicketSeed, ZendeskUserSeed};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

/// An org the run can use: configured in the org files and seeded in the sandbox.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub subdomain: String,
    /// The org's webhook shared secret (local example value), for bearer and HMAC.
    pub secret: String,
    pub enrichment: bool,
    /// `rules.closedTicket` is `followUp`.
    pub follow_up: bool,
    pub ticket_id_attribute: String,
    /// Mapped wrap-up codes and their statuses.
    pub codes: Vec<(String, String)>,
}

impl Org {
    pub fn from_config(cfg: &OrgConfig) -> Option<Org> {
        let zendesk = cfg.zendesk.as_ref()?;
        let codes: Vec<(String, String)> = cfg
            .rules
            .wrapup_status
            .iter()
            .map(|(c, s)| (c.clone(), s.clone()))
            .filter(|(_, s)| s != "closed")
            .collect();
        if codes.is_empty() {
            return None;
        }
        Some(Org {
            id: cfg.org_id.clone(),
            subdomain: zendesk.subdomain.clone(),
            secret: cfg.webhook.shared_secret.expose_secret().to_string(),
            enrichment: cfg.rules.enrichment.enabled
                && cfg.rules.enrichment.user_id_attribute.is_some(),
            follow_up: matches!(
                cfg.rules.closed_ticket,
                bridge::config::ClosedTicketPolicy::FollowUp
            ),
            ticket_id_attribute: cfg.rules.ticket_id_attribute.clone(),
            codes,
        })
    }
}

/// How an event reaches webhook-ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    /// An EventBridge partner event (asynchronous invocation).
    EventBridge,
    /// A Function URL request with `Authorization: Bearer <shared secret>`.
    Bearer,
    /// A Function URL request signed with `X-Bridge-Signature`.
    Hmac,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::EventBridge => "EventBridge",
            Channel::Bearer => "HTTPS bearer",
            Channel::Hmac => "HTTPS HMAC",
        }
    }
}

/// What kind of event, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    CustomerStart,
    Attributes,
    Acw,
    Wrapup,
    AcwNotification,
    WrapupCommand,
    ClosedTicket,
    UnknownOrg,
    MissingTicket,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::CustomerStart => "customer.start",
            Kind::Attributes => "participant.attributes command",
            Kind::Acw => "acw",
            Kind::Wrapup => "wrapup",
            Kind::AcwNotification => "acw notification over HTTPS",
            Kind::WrapupCommand => "ticket.wrapup command",
            Kind::ClosedTicket => "wrap-up of a closed ticket",
            Kind::UnknownOrg => "event of an unknown org (poison)",
            Kind::MissingTicket => "wrap-up of a missing ticket (poison)",
        }
    }
}

/// The effect an event must have, judged from the sandbox's final state.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// The participant has `key` = `value` (an attribute write; repeating it changes
    /// nothing).
    Attribute {
        conversation: String,
        participant: String,
        key: String,
        value: String,
    },
    /// The customer has the enrichment attributes of Zendesk user `user_id`.
    Enriched {
        conversation: String,
        participant: String,
        key: String,
        user_id: u64,
    },
    /// The ticket has `status` and exactly one wrap-up note of this event's job.
    Note {
        subdomain: String,
        ticket: u64,
        status: String,
    },
    /// Exactly one follow-up ticket of the closed ticket `source` carries this event's job.
    FollowUp { subdomain: String, source: u64 },
    /// The closed ticket stays as it was, and the worker says it handled the job as closed.
    ClosedUnchanged { subdomain: String, ticket: u64 },
    /// Accepted without a job (the org does not enrich).
    NoJob,
    /// Poison: it must end in a dead-letter queue.
    DeadLetter,
}

/// One event, as first sent.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    /// The org of the route (the source or path): an unknown one for poison.
    pub org: String,
    pub kind: Kind,
    pub channel: Channel,
    /// The EventBridge envelope, or the HTTPS body.
    pub body: Value,
    pub expect: Expect,
}

impl Event {
    /// The id of the one job the event makes (`<eventId>:0`).
    pub fn job_id(&self) -> String {
        format!("{}:0", self.id)
    }
}

/// One delivery: an event, first sent (`copy` 0) or again (`copy` 1, 2: a duplicate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivery {
    pub event: usize,
    pub copy: u32,
}

pub struct Plan {
    /// The sandbox's default seed with the run's conversations, callers and tickets.
    pub seed: Seed,
    pub events: Vec<Event>,
    /// In the order they are sent.
    pub deliveries: Vec<Delivery>,
}

/// Not a configured org: its events must end in the DLQ.
pub const UNKNOWN_ORG: &str = "0c4a05e0-0000-4000-8000-000000000bad";
const TICKETS_FROM: u64 = 500_000;
const USERS_FROM: u64 = 5_000_000;
const MISSING_TICKETS_FROM: u64 = 900_000_000;
/// 2026-11-21T10:00:00Z: event times count from here.
const EPOCH_MS: i64 = 1_795_255_200_000;

/// A pure plan for `events` events over `orgs` (the first one gets most calls).
pub fn plan(seed: u64, events: usize, orgs: &[Org], mut base: Seed) -> Plan {
    let mut b = Builder {
        seed,
        events: Vec::new(),
        times: Vec::new(),
    };
    let mut k: u64 = 0;
    while b.events.len() < events && !orgs.is_empty() {
        k += 1;
        let org = match orgs.len() {
            1 => &orgs[0],
            _ if b.draw("org", k) < 0.7 => &orgs[0],
            _ => &orgs[1 + (k as usize % (orgs.len() - 1))],
        };
        let u = b.draw("scenario", k);
        if u < 0.03 {
            b.poison(k, org);
            continue;
        }
        let call = Call::new(k, org);
        call.seed_into(&mut base, org, u < 0.08);
        if u < 0.08 {
            b.closed_ticket(&call, org);
        } else {
            b.call(&call, org);
        }
    }
    b.events.truncate(events);
    b.times.truncate(events);
    let deliveries = b.deliveries();
    Plan {
        seed: base,
        events: b.events,
        deliveries,
    }
}

/// One call: conversation `k` of an org with its customer, agent, caller and ticket.
struct Call {
    k: u64,
    conversation: String,
    customer: String,
    agent: String,
    agent_user: String,
    phone: String,
    user: u64,
    ticket: u64,
}

impl Call {
    fn new(k: u64, org: &Org) -> Call {
        let tag = |t: u32| format!("{t:08x}-{:04x}-4000-8000-{k:012x}", org_tag(org));
        Call {
            k,
            conversation: tag(0xc4a0_0000),
            customer: tag(0xc4a1_0000),
            agent: tag(0xc4a2_0000),
            agent_user: tag(0xd4a0_0000),
            phone: format!("+1444{k:07}"),
            user: USERS_FROM + k,
            ticket: TICKETS_FROM + k,
        }
    }

    fn seed_into(&self, seed: &mut Seed, org: &Org, closed: bool) {
        let participant = |id: &str, purpose: &str| ParticipantSeed {
            id: id.to_string(),
            purpose: purpose.to_string(),
            name: None,
            address: None,
            user_id: None,
            queue_id: None,
            attributes: BTreeMap::new(),
        };
        let mut customer = participant(&self.customer, "customer");
        customer.name = Some(format!("Chaos caller {}", self.k));
        customer.address = Some(format!("tel:{}", self.phone));
        let mut agent = participant(&self.agent, "agent");
        agent.user_id = Some(self.agent_user.clone());
        agent
            .attributes
            .insert(org.ticket_id_attribute.clone(), self.ticket.to_string());
        if let Some(o) = seed.genesys.orgs.iter_mut().find(|o| o.id == org.id) {
            o.conversations.push(ConversationSeed {
                id: self.conversation.clone(),
                start_time: None,
                end_time: None,
                participants: vec![customer, agent],
            });
        }
        if let Some(a) = seed
            .zendesk
            .accounts
            .iter_mut()
            .find(|a| a.subdomain == org.subdomain)
        {
            a.users.push(ZendeskUserSeed {
                id: self.user,
                name: format!("Chaos Caller {}", self.k),
                email: format!("caller{}@chaos.example", self.k),
                phone: Some(self.phone.clone()),
                role: "end-user".into(),
            });
            a.tickets.push(TicketSeed {
                id: self.ticket,
                subject: format!("Call {}", self.k),
                status: if closed { "closed" } else { "open" }.into(),
                requester_id: self.user,
                custom_status_id: None,
                created_at: None,
                updated_at: None,
            });
        }
    }
}

fn org_tag(org: &Org) -> u16 {
    u16::from_str_radix(&org.id[..4], 16).unwrap_or(0)
}

struct Builder {
    seed: u64,
    events: Vec<Event>,
    /// When each event is sent, in abstract time units (a call takes about 4).
    times: Vec<f64>,
}

impl Builder {
    fn draw(&self, what: &str, n: u64) -> f64 {
        unit(self.seed, what, n, 0)
    }

    fn push(&mut self, e: Event, k: u64, offset: f64) {
        let n = self.events.len() as u64;
        let jitter = self.draw("jitter", n) * 6.0;
        self.times.push(k as f64 * 4.0 + offset + jitter);
        self.events.push(e);
    }

    fn id(&self) -> String {
        format!("chaos-{}-{:06}", self.seed, self.events.len())
    }

    fn code<'o>(&self, org: &'o Org, k: u64) -> &'o (String, String) {
        &org.codes[(self.draw("code", k) * org.codes.len() as f64) as usize % org.codes.len()]
    }

    fn call(&mut self, c: &Call, org: &Org) {
        let id = self.id();
        let expect = if org.enrichment {
            Expect::Enriched {
                conversation: c.conversation.clone(),
                participant: c.customer.clone(),
                key: "zendesk_user_id".into(),
                user_id: c.user,
            }
        } else {
            Expect::NoJob
        };
        let start = notification(c, "customer.start", &c.customer, None, c.k);
        self.push(
            eventbridge(&id, &org.id, start, Kind::CustomerStart, expect),
            c.k,
            0.0,
        );

        let id = self.id();
        let key = format!("chaos_{}", c.k);
        let value = format!("call-{}-{}", c.k, self.seed);
        let body = json!({"command": "participant.attributes", "payload": {
            "conversationId": c.conversation, "participantId": c.customer, "attributes": {key.clone(): value.clone()}}});
        let channel = if self.draw("auth", c.k) < 0.5 {
            Channel::Bearer
        } else {
            Channel::Hmac
        };
        let expect = Expect::Attribute {
            conversation: c.conversation.clone(),
            participant: c.customer.clone(),
            key,
            value,
        };
        self.push(
            https(&id, org, channel, body, Kind::Attributes, expect),
            c.k,
            1.0,
        );

        let (code, status) = self.code(org, c.k).clone();
        let expect = Expect::Note {
            subdomain: org.subdomain.clone(),
            ticket: c.ticket,
            status,
        };
        let id = self.id();
        let u = self.draw("wrapup", c.k);
        let event = if u < 0.5 {
            let n = notification(c, "acw", &c.agent, Some(&code), c.k);
            eventbridge(&id, &org.id, n, Kind::Acw, expect)
        } else if u < 0.65 {
            let n = notification(c, "wrapup", &c.agent, Some(&code), c.k);
            eventbridge(&id, &org.id, n, Kind::Wrapup, expect)
        } else if u < 0.8 {
            let n = notification(c, "acw", &c.agent, Some(&code), c.k);
            https(&id, org, Channel::Hmac, n, Kind::AcwNotification, expect)
        } else {
            let body = wrapup_command(c, &code, c.ticket);
            https(&id, org, Channel::Bearer, body, Kind::WrapupCommand, expect)
        };
        self.push(event, c.k, 2.5);
    }

    fn closed_ticket(&mut self, c: &Call, org: &Org) {
        let (code, _) = self.code(org, c.k).clone();
        let expect = if org.follow_up {
            Expect::FollowUp {
                subdomain: org.subdomain.clone(),
                source: c.ticket,
            }
        } else {
            Expect::ClosedUnchanged {
                subdomain: org.subdomain.clone(),
                ticket: c.ticket,
            }
        };
        let id = self.id();
        let n = notification(c, "acw", &c.agent, Some(&code), c.k);
        self.push(
            eventbridge(&id, &org.id, n, Kind::ClosedTicket, expect),
            c.k,
            2.5,
        );
    }

    fn poison(&mut self, k: u64, org: &Org) {
        let c = Call::new(k, org);
        let (code, _) = self.code(org, k).clone();
        let id = self.id();
        let event = if self.draw("poison", k) < 0.5 {
            let n = notification(&c, "acw", &c.agent, Some(&code), k);
            eventbridge(&id, UNKNOWN_ORG, n, Kind::UnknownOrg, Expect::DeadLetter)
        } else {
            let body = wrapup_command(&c, &code, MISSING_TICKETS_FROM + k);
            https(
                &id,
                org,
                Channel::Bearer,
                body,
                Kind::MissingTicket,
                Expect::DeadLetter,
            )
        };
        self.push(event, k, 2.0);
    }

    /// Every event once, plus duplicates, in sending order.
    fn deliveries(&self) -> Vec<Delivery> {
        let span = self.times.iter().cloned().fold(0.0, f64::max);
        let mut timed: Vec<(f64, Delivery)> = Vec::new();
        for (event, &t) in self.times.iter().enumerate() {
            timed.push((t, Delivery { event, copy: 0 }));
            let n = event as u64;
            let u = self.draw("duplicate", n);
            let copies = if u < 0.03 {
                2
            } else if u < 0.15 {
                1
            } else {
                0
            };
            for copy in 1..=copies {
                let soon = self.draw("soon", n * 4 + u64::from(copy)) < 0.4;
                let later = self.draw("later", n * 4 + u64::from(copy));
                let delay = if soon {
                    later * 0.5
                } else {
                    2.0 + later * (span * 0.25).max(10.0)
                };
                timed.push((t + delay, Delivery { event, copy }));
            }
        }
        timed.sort_by(|a, b| a.0.total_cmp(&b.0));
        timed.into_iter().map(|(_, d)| d).collect()
    }
}

/// A Genesys notification `{topicName, version, eventBody, metadata}` of the call.
fn notification(c: &Call, topic: &str, participant: &str, code: Option<&str>, k: u64) -> Value {
    let mut body = json!({
        "eventTime": EPOCH_MS + k as i64 * 1_000,
        "conversationId": c.conversation,
        "participantId": participant,
        "mediaType": "VOICE",
        "direction": "INBOUND",
        "ani": format!("tel:{}", c.phone),
        "dnis": "tel:+15559990000",
    });
    if let Some(code) = code {
        body["wrapupCode"] = json!(code);
        body["userId"] = json!(c.agent_user);
        body["wrapupDurationMs"] = json!(30_000);
    }
    json!({
        "topicName": format!("v2.detail.events.conversation.{}.{topic}", c.conversation),
        "version": "2",
        "eventBody": body,
        "metadata": {"CorrelationId": format!("chaos-corr-{k}")},
    })
}

fn wrapup_command(c: &Call, code: &str, ticket: u64) -> Value {
    json!({"command": "ticket.wrapup", "payload": {
        "conversationId": c.conversation, "participantId": c.agent, "agentUserId": c.agent_user,
        "wrapupCode": code, "ticketId": ticket, "eventTimeMs": EPOCH_MS + c.k as i64 * 1_000}})
}

fn eventbridge(id: &str, org: &str, detail: Value, kind: Kind, expect: Expect) -> Event {
    let topic = detail["topicName"].as_str().unwrap_or_default();
    let detail_type = match topic.rsplit_once(".conversation.") {
        Some((_, rest)) => match rest.split_once('.') {
            Some((_, suffix)) => format!("v2.detail.events.conversation.{{id}}.{suffix}"),
            None => topic.to_string(),
        },
        None => topic.to_string(),
    };
    let body = json!({
        "version": "0",
        "id": id,
        "detail-type": detail_type,
        "source": format!("aws.partner/genesys.com/cloud/{org}/chaos"),
        "account": "123456789012",
        "time": "2026-11-21T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    });
    Event {
        id: id.to_string(),
        org: org.to_string(),
        kind,
        channel: Channel::EventBridge,
        body,
        expect,
    }
}

/// An HTTPS event. A signed (HMAC) request names its event in the body's `id`, which the
/// signature covers; an unsigned one sends it as `Idempotency-Key` (`senders`).
fn https(
    id: &str,
    org: &Org,
    channel: Channel,
    mut body: Value,
    kind: Kind,
    expect: Expect,
) -> Event {
    if channel == Channel::Hmac {
        if let Some(obj) = body.as_object_mut() {
            obj.insert("id".into(), Value::String(id.to_string()));
        }
    }
    Event {
        id: id.to_string(),
        org: org.id.clone(),
        kind,
        channel,
        body,
        expect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_sandbox::default_seed;

    fn orgs() -> Vec<Org> {
        let org = |id: &str, sub: &str, follow_up: bool| Org {
            id: id.into(),
            subdomain: sub.into(),
            secret: "s".repeat(30),
            enrichment: !follow_up,
            follow_up,
            ticket_id_attribute: "zendesk_ticket_id".into(),
            codes: vec![("w".into(), "solved".into())],
        };
        vec![
            org("4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11", "acme", false),
            org("9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22", "globex", true),
        ]
    }

    #[test]
    fn a_seed_makes_the_same_plan_and_every_kind_shows_up() {
        let a = plan(7, 600, &orgs(), default_seed());
        let b = plan(7, 600, &orgs(), default_seed());
        assert_eq!(a.events.len(), 600);
        assert_eq!(a.deliveries, b.deliveries);
        let ids: Vec<&str> = a.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            b.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>()
        );
        assert_ne!(
            a.deliveries,
            plan(8, 600, &orgs(), default_seed()).deliveries
        );
        for kind in [
            Kind::CustomerStart,
            Kind::Attributes,
            Kind::Acw,
            Kind::Wrapup,
            Kind::AcwNotification,
            Kind::WrapupCommand,
            Kind::ClosedTicket,
            Kind::UnknownOrg,
            Kind::MissingTicket,
        ] {
            assert!(a.events.iter().any(|e| e.kind == kind), "{kind:?}");
        }
        // Every event is delivered; some more than once, and some out of order.
        let mut firsts: Vec<usize> = a
            .deliveries
            .iter()
            .filter(|d| d.copy == 0)
            .map(|d| d.event)
            .collect();
        let dups = a.deliveries.len() - firsts.len();
        assert!((40..=160).contains(&dups), "{dups} duplicates");
        assert!(firsts.windows(2).any(|w| w[0] > w[1]), "some reordering");
        firsts.sort_unstable();
        assert_eq!(firsts, (0..600).collect::<Vec<_>>());
        // A duplicate never comes before its event's first delivery.
        for (i, d) in a.deliveries.iter().enumerate().filter(|(_, d)| d.copy > 0) {
            let first = a
                .deliveries
                .iter()
                .position(|x| x.event == d.event && x.copy == 0)
                .unwrap();
            assert!(first < i);
        }
    }

    #[test]
    fn every_ticket_gets_one_wrapup_and_the_world_is_seeded() {
        let p = plan(3, 300, &orgs(), default_seed());
        let mut per_ticket: BTreeMap<u64, usize> = BTreeMap::new();
        for e in &p.events {
            if let Expect::Note { ticket, .. }
            | Expect::FollowUp { source: ticket, .. }
            | Expect::ClosedUnchanged { ticket, .. } = e.expect
            {
                *per_ticket.entry(ticket).or_default() += 1;
            }
        }
        assert!(per_ticket.values().all(|n| *n == 1));
        let acme = p
            .seed
            .zendesk
            .accounts
            .iter()
            .find(|a| a.subdomain == "acme")
            .unwrap();
        for t in per_ticket
            .keys()
            .filter(|t| acme.tickets.iter().any(|x| x.id == **t))
        {
            assert!(acme
                .users
                .iter()
                .any(|u| u.id == *t - TICKETS_FROM + USERS_FROM));
        }
        let conversations: usize = p
            .seed
            .genesys
            .orgs
            .iter()
            .map(|o| o.conversations.len())
            .sum();
        assert!(conversations > 80, "{conversations}");
    }
}
