//! The SQS worker: batches of `ticket.wrapup` jobs become at most one safe update per ticket.
//!
//! Per batch: parse and map every job (no calls), read each needed conversation once, find
//! the ticket ids, collapse jobs for the same (org, ticket) into one update (latest
//! `eventTimeMs` wins), run the updates, and report partial failures. Business outcomes
//! (unmapped code, no ticket id, closed ticket) are handled, not failed; only errors that a
//! later try or an operator's fix can cure go back to SQS (and from there to the DLQ).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use bridge::batch::{self, BatchReport};
use bridge::config::Rules;
use bridge::genesys::Conversation;
use bridge::jobs::{Job, TicketWrapup};
use bridge::zendesk::Comment;
use bridge::{BridgeError, Deadline, ErrorKind, OrgConfig, Result, Runtime};
use futures::stream::{self, StreamExt};

use crate::input::parse_ticket_id;
use crate::update::{self, Applied, Change};

/// Conversation reads and ticket updates in flight at once. Small: Zendesk's account-wide
/// budget is 100 updates per minute, shared with everything else the account runs.
pub const CONCURRENCY: usize = 4;

/// Participant purposes that carry customer data when the wrap-up participant (the agent)
/// does not: Architect's Set Participant Data writes on the customer's participant.
pub const CUSTOMER_PURPOSES: [&str; 2] = ["customer", "external"];

/// What became of one SQS message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Updated {
        ticket_id: u64,
        status: String,
        previous_status: String,
    },
    /// Already at the status: no update sent.
    Unchanged { ticket_id: u64, status: String },
    /// Closed ticket, org rule `followUp`.
    FollowUp {
        ticket_id: u64,
        follow_up_ticket_id: u64,
    },
    /// Closed ticket, org rule `report`: permanent, handled.
    Closed { ticket_id: u64, error: BridgeError },
    /// The wrap-up code maps to no status (or there is none and no default): left alone.
    Unmapped { wrapup_code: Option<String> },
    /// No usable ticket id in the job or on the conversation: handled, with the reason.
    NoTicket { reason: String },
    /// Another job of the batch for the same ticket had a later event and won.
    Superseded { ticket_id: u64, by_job_id: String },
    /// Reported to SQS as failed (redelivered; after maxReceiveCount, the DLQ).
    Failed(BridgeError),
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Updated { .. } => "updated",
            Outcome::Unchanged { .. } => "unchanged",
            Outcome::FollowUp { .. } => "follow_up",
            Outcome::Closed { .. } => "closed",
            Outcome::Unmapped { .. } => "unmapped",
            Outcome::NoTicket { .. } => "no_ticket",
            Outcome::Superseded { .. } => "superseded",
            Outcome::Failed(_) => "failed",
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

/// One message's result, in batch order.
#[derive(Debug, Clone)]
pub struct MessageOutcome {
    pub message_id: String,
    pub job_id: Option<String>,
    pub outcome: Outcome,
}

/// How the org's rules map a wrap-up code to a status: the code's entry; with no code at
/// all, the default; a present but unmapped code maps to nothing (leave the ticket alone).
pub fn target_status<'r>(rules: &'r Rules, wrapup_code: Option<&str>) -> Option<&'r str> {
    match wrapup_code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => rules.wrapup_status.get(code).map(String::as_str),
        None => rules.default_wrapup_status.as_deref(),
    }
}

/// The ticket id from the conversation's participant attributes: the wrap-up participant
/// first, then the customer participants (in conversation order). The first participant
/// with a non-blank value decides; a value that is not digits is an error, not a reason to
/// look further (two participants disagreeing would be guesswork).
pub fn ticket_id_from_conversation(
    conv: &Conversation,
    participant_id: &str,
    attribute: &str,
) -> std::result::Result<u64, String> {
    let mut wrapup_participant_seen = false;
    let candidates = conv
        .participants
        .iter()
        .filter(|p| p.id == participant_id)
        .inspect(|_| wrapup_participant_seen = true)
        .chain(conv.participants.iter().filter(|p| {
            p.id != participant_id
                && p.purpose
                    .as_deref()
                    .is_some_and(|x| CUSTOMER_PURPOSES.contains(&x))
        }));
    for p in candidates {
        let Some(value) = p.attributes.get(attribute).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        return parse_ticket_id(value).ok_or_else(|| {
            format!(
                "participant attribute {attribute:?} on participant {} ({}) of conversation {} is {:?}, not a Zendesk ticket id (digits only)",
                p.id,
                p.purpose.as_deref().unwrap_or("unknown purpose"),
                conv.id,
                value.chars().take(40).collect::<String>()
            )
        });
    }
    // Every candidate was visited, so the wrap-up participant was seen if it is there.
    let seen = if wrapup_participant_seen {
        "the wrap-up participant"
    } else {
        "the wrap-up participant (not found in the conversation)"
    };
    Err(format!(
        "no participant attribute {attribute:?} on {seen} or the customer participants of conversation {}; set it in the flow (or put ticketId in the job), or point rules.ticketIdAttribute at the attribute the flow uses",
        conv.id
    ))
}

/// A group of jobs for one ticket: the winner's update stands for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Index (into the input) of the job whose update is made.
    pub winner: usize,
    /// The other jobs for the same key, superseded by the winner.
    pub superseded: Vec<usize>,
}

/// Groups items by key; in each group the latest event time wins, and of equal times the
/// later item (SQS order is the best tie-break there is). Groups come in order of first
/// appearance, so logs follow the batch.
pub fn coalesce<K: Ord + Clone>(items: &[(K, i64)]) -> Vec<Group> {
    let mut order: Vec<K> = Vec::new();
    let mut by_key: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (i, (k, _)) in items.iter().enumerate() {
        by_key
            .entry(k.clone())
            .or_insert_with(|| {
                order.push(k.clone());
                Vec::new()
            })
            .push(i);
    }
    order
        .iter()
        .map(|k| {
            let members = &by_key[k];
            let winner = *members
                .iter()
                .max_by_key(|&&i| (items[i].1, i))
                .expect("groups are never empty");
            Group {
                winner,
                superseded: members.iter().copied().filter(|&i| i != winner).collect(),
            }
        })
        .collect()
}

/// The internal note a wrap-up leaves on the ticket.
pub fn wrapup_note(job_id: &str, w: &TicketWrapup, status: &str) -> Comment {
    Comment {
        body: format!(
            "Genesys Cloud wrap-up: conversation {}, wrap-up code {}, agent {}. Status set to \"{status}\" by genesys-bridge (job {job_id}).",
            w.conversation_id,
            w.wrapup_code.as_deref().unwrap_or("(none)"),
            w.agent_user_id.as_deref().unwrap_or("(unknown)"),
        ),
        public: false,
    }
}

/// A job that wants a status, before its ticket id is known.
struct Wanted {
    index: usize,
    job_id: String,
    cfg: Arc<OrgConfig>,
    wrapup: TicketWrapup,
    status: String,
}

/// Runs a batch: one outcome per record, in order.
pub async fn process(rt: &Runtime, event: &SqsEvent, deadline: Deadline) -> Vec<MessageOutcome> {
    let records = batch::records(event);
    // (message id, job id) per record, and its outcome once known.
    let ids: Vec<(String, Option<String>)> = records
        .iter()
        .map(|r| {
            (
                r.message_id.clone(),
                r.job.as_ref().ok().map(|j| j.job_id.clone()),
            )
        })
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; records.len()];

    // 1. Parse, load the org, map the code. No upstream calls besides the (cached) config.
    let mut wanted: Vec<Wanted> = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        let job = match record.job {
            Ok(j) => j,
            Err(e) => {
                outcomes[index] = Some(Outcome::Failed(e));
                continue;
            }
        };
        let wrapup = match job.job {
            Job::TicketWrapup(w) => w,
            other => {
                outcomes[index] = Some(Outcome::Failed(
                    BridgeError::validation(
                        "kind",
                        format!(
                            "this function takes \"ticket.wrapup\" jobs; got {:?} (a routing bug in the producer: the job belongs on the attribute-writer queue)",
                            other.kind()
                        ),
                    )
                    .with_org(job.org_id.clone()),
                ));
                continue;
            }
        };
        let cfg = match rt.orgs.get(&job.org_id).await {
            Ok(c) => c,
            Err(e) => {
                outcomes[index] = Some(Outcome::Failed(e.or_org(&job.org_id)));
                continue;
            }
        };
        if wrapup.ticket_id == Some(0) {
            outcomes[index] = Some(Outcome::Failed(
                BridgeError::validation(
                    "payload.ticketId",
                    "expected a Zendesk ticket id (1 or more); got 0",
                )
                .with_org(cfg.org_id.clone()),
            ));
            continue;
        }
        let Some(status) =
            target_status(&cfg.rules, wrapup.wrapup_code.as_deref()).map(str::to_string)
        else {
            outcomes[index] = Some(Outcome::Unmapped {
                wrapup_code: wrapup.wrapup_code.clone(),
            });
            continue;
        };
        wanted.push(Wanted {
            index,
            job_id: job.job_id,
            cfg,
            wrapup,
            status,
        });
    }

    // 2. Read each conversation that has to name the ticket, once per batch.
    let mut to_read: Vec<(Arc<OrgConfig>, String)> = Vec::new();
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for w in wanted.iter().filter(|w| w.wrapup.ticket_id.is_none()) {
        if seen.insert((&w.cfg.org_id, &w.wrapup.conversation_id)) {
            to_read.push((w.cfg.clone(), w.wrapup.conversation_id.clone()));
        }
    }
    let conversations: HashMap<(String, String), Result<Conversation>> = stream::iter(to_read)
        .map(|(cfg, conv_id)| async move {
            let org_id = cfg.org_id.clone();
            let conv = &conv_id;
            let (_, read) = rt
                .with_rotation(cfg, |cfg| async move {
                    rt.genesys.org(&cfg, deadline).conversation(conv).await
                })
                .await;
            ((org_id, conv_id), read)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    // 3. Resolve ticket ids.
    let mut resolved: Vec<(Wanted, u64)> = Vec::new();
    for w in wanted {
        let id = match w.wrapup.ticket_id {
            Some(id) => id,
            None => {
                let key = (w.cfg.org_id.clone(), w.wrapup.conversation_id.clone());
                match conversations.get(&key) {
                    Some(Ok(conv)) => match ticket_id_from_conversation(
                        conv,
                        &w.wrapup.participant_id,
                        &w.cfg.rules.ticket_id_attribute,
                    ) {
                        Ok(id) => id,
                        Err(reason) => {
                            outcomes[w.index] = Some(Outcome::NoTicket { reason });
                            continue;
                        }
                    },
                    Some(Err(e)) => {
                        outcomes[w.index] = Some(Outcome::Failed(e.clone()));
                        continue;
                    }
                    None => {
                        outcomes[w.index] = Some(Outcome::Failed(BridgeError::internal(
                            "conversation was not read (bug)",
                        )));
                        continue;
                    }
                }
            }
        };
        resolved.push((w, id));
    }

    // 4. Collapse per (org, ticket), 5. update.
    let keys: Vec<((String, u64), i64)> = resolved
        .iter()
        .map(|(w, id)| ((w.cfg.org_id.clone(), *id), w.wrapup.event_time_ms))
        .collect();
    let groups = coalesce(&keys);
    let results: Vec<(Group, Result<Applied>)> = stream::iter(groups)
        .map(|g| {
            let (w, id) = &resolved[g.winner];
            let change = Change {
                ticket_id: *id,
                status: w.status.clone(),
                comment: Some(wrapup_note(&w.job_id, &w.wrapup, &w.status)),
            };
            let cfg = w.cfg.clone();
            async move {
                let r = update::apply(rt, cfg, deadline, &change).await;
                (g, r)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    for (g, result) in results {
        let (winner, ticket_id) = (&resolved[g.winner].0, resolved[g.winner].1);
        let winner_outcome = match result {
            Ok(Applied::Updated { previous }) => Outcome::Updated {
                ticket_id,
                status: winner.status.clone(),
                previous_status: previous,
            },
            Ok(Applied::Unchanged) => Outcome::Unchanged {
                ticket_id,
                status: winner.status.clone(),
            },
            Ok(Applied::FollowUp { follow_up_id }) => Outcome::FollowUp {
                ticket_id,
                follow_up_ticket_id: follow_up_id,
            },
            Err(e) if e.kind == ErrorKind::ClosedTicket => Outcome::Closed {
                ticket_id,
                error: e,
            },
            Err(e) => Outcome::Failed(e),
        };
        // A retryable failure must not lose the superseded jobs: they all go back to SQS
        // and meet again. Any other outcome stands for them.
        let retry_all = matches!(&winner_outcome, Outcome::Failed(e) if e.retryable());
        for &i in &g.superseded {
            let (w, _) = &resolved[i];
            outcomes[w.index] = Some(match &winner_outcome {
                Outcome::Failed(e) if retry_all => Outcome::Failed(e.clone()),
                _ => Outcome::Superseded {
                    ticket_id,
                    by_job_id: winner.job_id.clone(),
                },
            });
        }
        outcomes[winner.index] = Some(winner_outcome);
    }
    ids.into_iter()
        .zip(outcomes)
        .map(|((message_id, job_id), outcome)| MessageOutcome {
            message_id,
            job_id,
            // Every record gets its outcome above; this is only the guard of a bug.
            outcome: outcome
                .unwrap_or_else(|| Outcome::Failed(BridgeError::internal("not processed"))),
        })
        .collect()
}

/// Logs every outcome (one line per message) and builds the SQS response.
pub fn report(outcomes: &[MessageOutcome]) -> Result<SqsBatchResponse> {
    let mut report = BatchReport::new(outcomes.len());
    for m in outcomes {
        let job_id = m.job_id.as_deref().unwrap_or("");
        let outcome = m.outcome.name();
        match &m.outcome {
            Outcome::Failed(e) => report.fail(&m.message_id, job_id, e.clone()),
            Outcome::Updated {
                ticket_id,
                status,
                previous_status,
            } => {
                tracing::info!(message_id = %m.message_id, job_id, outcome, ticket_id, status = %status,
                    previous_status = %previous_status, "ticket.wrapup job done")
            }
            Outcome::Unchanged { ticket_id, status } => {
                tracing::info!(message_id = %m.message_id, job_id, outcome, ticket_id, status = %status,
                    "ticket.wrapup job done: ticket already had the status")
            }
            Outcome::FollowUp {
                ticket_id,
                follow_up_ticket_id,
            } => {
                tracing::info!(message_id = %m.message_id, job_id, outcome, ticket_id, follow_up_ticket_id,
                    "ticket.wrapup job done: closed ticket, follow-up created")
            }
            Outcome::Closed { ticket_id, error } => {
                tracing::warn!(message_id = %m.message_id, job_id, outcome, ticket_id, error_type = %error.error_type(),
                    error = %error, "ticket.wrapup job handled: closed tickets cannot change; create a follow-up")
            }
            Outcome::Unmapped { wrapup_code } => {
                tracing::info!(message_id = %m.message_id, job_id, outcome,
                    wrapup_code = wrapup_code.as_deref().unwrap_or(""),
                    "ticket.wrapup job handled: wrap-up code maps to no status, ticket left alone")
            }
            Outcome::NoTicket { reason } => {
                tracing::warn!(message_id = %m.message_id, job_id, outcome, reason = %reason,
                    "ticket.wrapup job handled: no ticket to update")
            }
            Outcome::Superseded {
                ticket_id,
                by_job_id,
            } => {
                tracing::info!(message_id = %m.message_id, job_id, outcome, ticket_id, by_job_id = %by_job_id,
                    "ticket.wrapup job handled: a later wrap-up for the same ticket in this batch won")
            }
        }
    }
    report.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn mapping_rules() {
        let mut rules = Rules::default();
        rules
            .wrapup_status
            .insert("resolved".into(), "solved".into());
        assert_eq!(target_status(&rules, Some("resolved")), Some("solved"));
        assert_eq!(target_status(&rules, Some("other")), None);
        assert_eq!(target_status(&rules, None), None);
        rules.default_wrapup_status = Some("pending".into());
        assert_eq!(target_status(&rules, None), Some("pending"));
        assert_eq!(
            target_status(&rules, Some(" ")),
            Some("pending"),
            "blank code = no code"
        );
        assert_eq!(
            target_status(&rules, Some("other")),
            None,
            "unmapped never takes the default"
        );
    }

    #[test]
    fn coalescing_latest_event_wins() {
        let items = vec![
            (("a", 1), 10),
            (("b", 2), 5),
            (("a", 1), 30),
            (("a", 1), 20),
            (("b", 2), 5),
        ];
        assert_eq!(
            coalesce(&items),
            vec![
                Group {
                    winner: 2,
                    superseded: vec![0, 3]
                },
                Group {
                    winner: 4,
                    superseded: vec![1]
                }
            ]
        );
        assert!(coalesce::<u8>(&[]).is_empty());
    }

    fn participant(
        id: &str,
        purpose: &str,
        attrs: &[(&str, &str)],
    ) -> bridge::genesys::Participant {
        bridge::genesys::Participant {
            id: id.into(),
            purpose: Some(purpose.into()),
            name: None,
            address: None,
            user_id: None,
            queue_id: None,
            end_time: None,
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn ticket_id_lookup_order() {
        let conv = |ps| Conversation {
            id: "c1".into(),
            start_time: None,
            end_time: None,
            participants: ps,
        };
        let a = "zendesk_ticket_id";
        let c = conv(vec![
            participant("cust", "customer", &[(a, "1001")]),
            participant("agent", "agent", &[]),
        ]);
        assert_eq!(ticket_id_from_conversation(&c, "agent", a), Ok(1001));
        let c = conv(vec![
            participant("cust", "customer", &[(a, "1001")]),
            participant("agent", "agent", &[(a, " 7 ")]),
        ]);
        assert_eq!(
            ticket_id_from_conversation(&c, "agent", a),
            Ok(7),
            "wrap-up participant first"
        );
        let c = conv(vec![participant("cust", "customer", &[(a, "ZD-1")])]);
        let e = ticket_id_from_conversation(&c, "agent", a).unwrap_err();
        assert!(e.contains("ZD-1") && e.contains("digits only"), "{e}");
        let c = conv(vec![
            participant("acd", "acd", &[(a, "5")]),
            participant("cust", "customer", &[(a, "")]),
        ]);
        let e = ticket_id_from_conversation(&c, "agent", a).unwrap_err();
        assert!(
            e.contains("not found in the conversation") && e.contains("rules.ticketIdAttribute"),
            "{e}"
        );
    }

    #[test]
    fn note_names_conversation_code_and_agent() {
        let w = TicketWrapup {
            conversation_id: "conv-1".into(),
            participant_id: "p".into(),
            wrapup_code: Some("code-9".into()),
            agent_user_id: Some("agent-3".into()),
            event_time_ms: 1,
            ticket_id: None,
        };
        let n = wrapup_note("job-1", &w, "solved");
        assert!(!n.public);
        for part in ["conv-1", "code-9", "agent-3", "solved"] {
            assert!(n.body.contains(part), "{}", n.body);
        }
    }
}
