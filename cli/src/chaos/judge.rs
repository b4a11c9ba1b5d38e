//! The verdict on every event, from what the run left behind: the sandbox's final state
//! (participant attributes, tickets, their comments, follow-up tickets), its journal, the
//! dead-letter queues and the workers' log lines.
//!
//! What counts (also in the README, "Chaos suite"):
//! - **attribute write** (`participant.attributes`, `participant.enrich`): applied when the
//!   participant holds the job's value. Writing the same value again changes nothing, so a
//!   repeat is not a duplicated effect (it shows in the calls per event).
//! - **ticket wrap-up**: applied when the ticket has the target status and exactly one
//!   wrap-up note naming the job; every applied update adds a note, so two notes of one job
//!   are the effect done twice.
//! - **follow-up ticket** (a wrap-up of a closed ticket where the org asks for one): exactly
//!   one follow-up of the closed ticket naming the job; two are done twice.
//! - **by design**: an event that asks for no job (accepted), and a closed ticket the org
//!   reports (unchanged, and the worker logged the job as `closed`).
//! - **dead-lettered**: the effect is absent and the event is in a DLQ, with its reason:
//!   the ingest failure DLQ (EventBridge, after Lambda's retries), the sender's failure path
//!   (HTTPS, after its retries, or refused), or a job DLQ (after `maxReceiveCount`).
//! - **lost**: the effect is absent and the event is in no DLQ.

use std::collections::BTreeMap;

use bridge_sandbox::{JournalEntry, StateHandle};

use super::logs::JobLogs;
use super::model::TICKET_UPDATE_WINDOW_MS;
use super::plan::{Event, Expect, Plan};
use super::senders::EventLog;

/// The verdict on one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The effect is there exactly once (`true`: and a delivery of it was dead-lettered
    /// too, after the effect).
    Applied(bool),
    /// Handled by design, with nothing to see.
    ByDesign,
    /// Not applied, and in a dead-letter queue with this reason.
    DeadLettered(String),
    /// Poison, in a dead-letter queue as it must be.
    ExpectedDeadLetter(String),
    /// Not applied and in no dead-letter queue: what was seen.
    Lost(String),
    /// The effect more than once: what was seen.
    Duplicated(String),
}

/// What the judge reads.
pub struct Evidence<'a> {
    pub plan: &'a Plan,
    pub state: StateHandle,
    pub ledger: &'a [EventLog],
    pub job_dlq: &'a [String],
    pub job_logs: &'a JobLogs,
}

/// Follow-up tickets by (subdomain, closed ticket): the first comment of each.
type FollowUps = BTreeMap<(String, u64), Vec<String>>;

/// The verdict on every event, in plan order.
pub fn judge(ev: &Evidence) -> Vec<Verdict> {
    let follow_ups = follow_ups(ev);
    ev.plan
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| verdict(ev, &follow_ups, e, &ev.ledger[i]))
        .collect()
}

/// Where the event was dead-lettered, if it was.
fn dead_letter(ev: &Evidence, e: &Event, log: &EventLog) -> Option<String> {
    if let Some(r) = log.dead_letters.last() {
        return Some(r.clone());
    }
    let job = e.job_id();
    ev.job_dlq.contains(&job).then(|| {
        let why = ev
            .job_logs
            .get(&job)
            .and_then(|l| l.error_type)
            .unwrap_or_else(|| "no reason logged".into());
        format!("job DLQ: {why}")
    })
}

fn verdict(ev: &Evidence, follow_ups: &FollowUps, e: &Event, log: &EventLog) -> Verdict {
    let dead = dead_letter(ev, e, log);
    if e.expect == Expect::DeadLetter {
        return match dead {
            Some(r) => Verdict::ExpectedDeadLetter(r),
            None => Verdict::Lost(format!(
                "poison that is in no DLQ ({} accepted deliveries)",
                log.accepted
            )),
        };
    }
    match (effect(ev, follow_ups, e, log), dead) {
        (Effect::Twice(what), _) => Verdict::Duplicated(what),
        (Effect::Once, d) => Verdict::Applied(d.is_some()),
        (Effect::ByDesign, _) => Verdict::ByDesign,
        (Effect::Absent(_), Some(r)) => Verdict::DeadLettered(r),
        (Effect::Absent(what), None) => Verdict::Lost(format!(
            "{what}; {} delivery(ies) accepted, {} invocation(s)",
            log.accepted, log.invocations
        )),
    }
}

/// What the sandbox's state shows of the event's effect.
fn effect(ev: &Evidence, follow_ups: &FollowUps, e: &Event, log: &EventLog) -> Effect {
    let job = e.job_id();
    match &e.expect {
        Expect::DeadLetter => Effect::Absent("poison".into()),
        Expect::NoJob => Effect::from_bool(log.accepted > 0, true),
        Expect::Attribute {
            conversation,
            participant,
            key,
            value,
        } => {
            let attrs = ev.state.participant_attributes(conversation, participant);
            let got = attrs.as_ref().and_then(|a| a.get(key));
            Effect::from_bool(got == Some(value), false)
        }
        Expect::Enriched {
            conversation,
            participant,
            key,
            user_id,
        } => {
            let attrs = ev.state.participant_attributes(conversation, participant);
            let got = attrs.as_ref().and_then(|a| a.get(key));
            Effect::from_bool(got == Some(&user_id.to_string()), false)
        }
        Expect::Note {
            subdomain,
            ticket,
            status,
        } => {
            let notes = notes_of(ev, subdomain, *ticket, &job);
            let now = ev
                .state
                .ticket(subdomain, *ticket)
                .and_then(|t| t["status"].as_str().map(str::to_string))
                .unwrap_or_default();
            match notes {
                0 => Effect::Absent(format!("ticket {ticket} is {now:?}, no note of job {job}")),
                1 if now == *status => Effect::Once,
                1 => Effect::Absent(format!(
                    "ticket {ticket} has the note of job {job} but is {now:?}, not {status:?}"
                )),
                n => Effect::Twice(format!("ticket {ticket} has {n} notes of job {job}")),
            }
        }
        Expect::FollowUp { subdomain, source } => {
            let n = follow_ups
                .get(&(subdomain.clone(), *source))
                .map_or(0, |c| c.iter().filter(|b| names_job(b, &job)).count());
            match n {
                0 => Effect::Absent(format!(
                    "closed ticket {source} has no follow-up of job {job}"
                )),
                1 => Effect::Once,
                n => Effect::Twice(format!(
                    "closed ticket {source} has {n} follow-ups of job {job}"
                )),
            }
        }
        Expect::ClosedUnchanged { subdomain, ticket } => {
            let notes = ev.state.ticket_comments(subdomain, *ticket).len();
            let follow = follow_ups
                .get(&(subdomain.clone(), *ticket))
                .map_or(0, Vec::len);
            let handled = ev
                .job_logs
                .get(&job)
                .and_then(|l| l.outcome)
                .is_some_and(|o| o == "closed");
            if notes + follow > 0 {
                Effect::Twice(format!(
                    "closed ticket {ticket} (reported, not followed up) got {notes} comment(s) and {follow} follow-up(s)"
                ))
            } else {
                Effect::from_bool(handled, true)
            }
        }
    }
}

enum Effect {
    Once,
    ByDesign,
    Absent(String),
    Twice(String),
}

impl Effect {
    fn from_bool(present: bool, by_design: bool) -> Effect {
        match (present, by_design) {
            (true, true) => Effect::ByDesign,
            (true, false) => Effect::Once,
            (false, _) => Effect::Absent("no effect".into()),
        }
    }
}

/// Wrap-up notes and follow-ups name their job: "... (job <jobId>)."
fn names_job(comment: &str, job: &str) -> bool {
    comment.contains(&format!("(job {job})"))
}

fn notes_of(ev: &Evidence, subdomain: &str, ticket: u64, job: &str) -> usize {
    ev.state
        .ticket_comments(subdomain, ticket)
        .iter()
        .filter(|(body, _)| names_job(body, job))
        .count()
}

/// Every ticket created during the run that follows up another: they get ids after the
/// highest seeded one, one after the other.
fn follow_ups(ev: &Evidence) -> FollowUps {
    let mut out = FollowUps::new();
    for account in &ev.plan.seed.zendesk.accounts {
        let sub = &account.subdomain;
        let first = account.tickets.iter().map(|t| t.id).max().unwrap_or(0) + 1;
        let mut id = first;
        while let Some(t) = ev.state.ticket(sub, id) {
            if let Some(source) = t["via"]["source"]["from"]["ticket_id"].as_u64() {
                let comment = ev
                    .state
                    .ticket_comments(sub, id)
                    .into_iter()
                    .next()
                    .map(|(b, _)| b)
                    .unwrap_or_default();
                out.entry((sub.clone(), source)).or_default().push(comment);
            }
            id += 1;
        }
    }
    out
}

/// The most Zendesk ticket updates (PUTs, whatever their answer) to one ticket within any
/// window of ten minutes, and the ticket.
pub fn most_ticket_updates(journal: &[JournalEntry]) -> (usize, String) {
    let mut per_ticket: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in journal
        .iter()
        .filter(|e| e.matches("PUT", "/zendesk/*/api/v2/tickets/*.json"))
    {
        per_ticket.entry(&e.path).or_default().push(e.at_ms);
    }
    let mut best = (0, String::new());
    for (path, mut times) in per_ticket {
        times.sort_unstable();
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] >= TICKET_UPDATE_WINDOW_MS {
                start += 1;
            }
            if end + 1 - start > best.0 {
                best = (end + 1 - start, path.to_string());
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(path: &str, at_ms: u64) -> JournalEntry {
        JournalEntry {
            seq: 0,
            method: "PUT".into(),
            path: path.into(),
            query: None,
            upstream: bridge_sandbox::Upstream::Zendesk,
            org_id: None,
            user_id: None,
            zendesk_subdomain: Some("acme".into()),
            auth: "basic".into(),
            status: 200,
            body: None,
            latency_ms: 0,
            at_ms,
            fault: None,
        }
    }

    #[test]
    fn ticket_updates_are_counted_per_ticket_in_ten_minute_windows() {
        let a = "/zendesk/acme/api/v2/tickets/1.json";
        let b = "/zendesk/acme/api/v2/tickets/2.json";
        let mut j: Vec<JournalEntry> = (0..5).map(|i| put(a, i * 1_000)).collect();
        // Ten minutes later the window has moved on.
        j.extend((0..3).map(|i| put(a, 700_000 + i)));
        j.extend((0..4).map(|i| put(b, i)));
        j.push(JournalEntry {
            method: "GET".into(),
            ..put(a, 1)
        });
        assert_eq!(most_ticket_updates(&j), (5, a.to_string()));
        assert_eq!(most_ticket_updates(&[]).0, 0);
    }

    /// The judge is not a rubber stamp: with nothing done every event is lost; an effect
    /// applied once passes, twice is caught, and a dead letter explains an absent effect.
    #[tokio::test]
    async fn the_judge_tells_applied_lost_duplicated_and_dead_lettered_apart() {
        use super::super::plan::{plan, Org};
        use bridge_sandbox::{default_seed, Sandbox};
        let acme = Org {
            id: "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11".into(),
            subdomain: "acme".into(),
            secret: "acme-webhook-secret-local-0123456789abcdef".into(),
            enrichment: true,
            follow_up: false,
            ticket_id_attribute: "zendesk_ticket_id".into(),
            codes: vec![(
                "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a21".into(),
                "solved".into(),
            )],
        };
        let p = plan(5, 60, &[acme], default_seed());
        let sandbox = Sandbox::start(p.seed.clone()).await.unwrap();
        let mut ledger = vec![EventLog::default(); p.events.len()];
        let logs = JobLogs::default();
        let verdicts = |ledger: &[EventLog]| {
            judge(&Evidence {
                plan: &p,
                state: sandbox.state(),
                ledger,
                job_dlq: &[],
                job_logs: &logs,
            })
        };
        assert!(verdicts(&ledger)
            .iter()
            .all(|v| matches!(v, Verdict::Lost(_))));

        let find = |want: fn(&Expect) -> bool, skip: usize| {
            p.events
                .iter()
                .enumerate()
                .filter(|(_, e)| want(&e.expect))
                .nth(skip)
                .map(|(i, e)| (i, e.clone()))
                .unwrap()
        };
        let is_attr = |e: &Expect| matches!(e, Expect::Attribute { .. });
        let (applied, a) = find(is_attr, 0);
        if let Expect::Attribute {
            conversation,
            participant,
            key,
            value,
        } = &a.expect
        {
            sandbox
                .state()
                .set_participant_attribute(conversation, participant, key, value);
        }
        let (dead, _) = find(is_attr, 1);
        ledger[dead]
            .dead_letters
            .push("sender gave up after 5 attempts: HTTP 500 SQS.ServerError".into());
        let (twice, n) = find(|e| matches!(e, Expect::Note { .. }), 0);
        let Expect::Note { ticket, status, .. } = &n.expect else {
            unreachable!()
        };
        let http = reqwest::Client::new();
        for _ in 0..2 {
            let note = format!("Status set by genesys-bridge (job {}).", n.job_id());
            let r = http
                .put(format!("{}/zendesk/acme/api/v2/tickets/{ticket}.json", sandbox.base_url()))
                .basic_auth("bridge@acme.example/token", Some("acme-zendesk-token-local"))
                .json(&serde_json::json!({"ticket": {"status": status, "comment": {"body": note, "public": false}}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        let v = verdicts(&ledger);
        assert_eq!(v[applied], Verdict::Applied(false));
        assert!(
            matches!(&v[dead], Verdict::DeadLettered(r) if r.contains("HTTP 500")),
            "{:?}",
            v[dead]
        );
        assert!(
            matches!(&v[twice], Verdict::Duplicated(s) if s.contains("2 notes")),
            "{:?}",
            v[twice]
        );
    }

    #[test]
    fn notes_name_their_job() {
        let note = "Genesys Cloud wrap-up: conversation c, wrap-up code w, agent a. Status set to \"solved\" by genesys-bridge (job chaos-1-000002:0).";
        assert!(names_job(note, "chaos-1-000002:0"));
        assert!(!names_job(note, "chaos-1-000002:1"));
        assert!(!names_job(note, "chaos-1-00000"));
    }
}
