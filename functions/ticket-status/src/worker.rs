//! The SQS worker: batches of `ticket.wrapup` jobs become at most one safe update per
//! ticket, run by `bridge::batch`.
//!
//! Prepare maps each job's wrap-up code with its org's rules and finds its ticket (in the
//! job, or on the conversation, read once per batch); an unmapped code or a missing ticket
//! id ends the job there, handled. Merge collapses the jobs for one (org, ticket) into one
//! update, the latest `eventTimeMs` winning. Apply makes the update; the superseded jobs
//! follow the winner's fate.

use std::sync::Arc;

use bridge::batch::{Message, Worker};
use bridge::jobs::{JobEnvelope, TicketWrapup};
use bridge::{Deadline, OrgConfig, Runtime};

use crate::apply::{self, ConversationReads};
use crate::input;
use crate::outcome::Outcome;
use crate::plan::{self, Change, Collapsed};

/// The worker of one invocation (its conversation reads live as long as the batch).
pub struct Wrapups<'a> {
    rt: &'a Runtime,
    deadline: Deadline,
    conversations: ConversationReads,
}

impl<'a> Wrapups<'a> {
    pub fn new(rt: &'a Runtime, deadline: Deadline) -> Wrapups<'a> {
        Wrapups {
            rt,
            deadline,
            conversations: ConversationReads::default(),
        }
    }
}

/// A wrap-up job that wants its ticket moved to a status.
#[derive(Debug)]
pub struct Wanted {
    pub job_id: String,
    pub cfg: Arc<OrgConfig>,
    pub wrapup: TicketWrapup,
    pub status: String,
    pub ticket_id: u64,
}

impl Worker for Wrapups<'_> {
    type Item = Wanted;
    type Unit = Collapsed<(Message, Wanted)>;
    type Outcome = Outcome;
    /// Conversation reads and ticket updates in flight at once. Small: Zendesk's
    /// account-wide budget is 100 updates per minute, shared with everything else the
    /// account runs.
    const CONCURRENCY: usize = 4;

    async fn prepare(&self, env: JobEnvelope) -> Result<Wanted, Outcome> {
        let wrapup = input::wrapup_job(env.job).map_err(|e| e.with_org(env.org_id.clone()))?;
        let cfg = self
            .rt
            .orgs
            .get(&env.org_id)
            .await
            .map_err(|e| e.or_org(&env.org_id))?;
        let Some(status) = plan::target_status(&cfg.rules, wrapup.wrapup_code.as_deref()) else {
            return Err(Outcome::Unmapped {
                wrapup_code: wrapup.wrapup_code,
            });
        };
        let status = status.to_string();
        let ticket_id = match wrapup.ticket_id {
            Some(id) => id,
            None => {
                let conv = self
                    .conversations
                    .get(self.rt, &cfg, &wrapup.conversation_id, self.deadline)
                    .await?;
                plan::ticket_id_from_conversation(
                    &conv,
                    &wrapup.participant_id,
                    &cfg.rules.ticket_id_attribute,
                )
                .map_err(|reason| Outcome::NoTicket { reason })?
            }
        };
        Ok(Wanted {
            job_id: env.job_id,
            cfg,
            wrapup,
            status,
            ticket_id,
        })
    }

    fn merge(&self, items: Vec<(Message, Wanted)>) -> Vec<Self::Unit> {
        plan::collapse(items, |(_, w)| {
            ((w.cfg.org_id.clone(), w.ticket_id), w.wrapup.event_time_ms)
        })
    }

    async fn apply(&self, unit: Self::Unit) -> Vec<(Message, Outcome)> {
        let (message, w) = unit.winner;
        let change = Change {
            ticket_id: w.ticket_id,
            status: w.status.clone(),
            comment: Some(plan::wrapup_note(&w.job_id, &w.wrapup, &w.status)),
            // A job is delivered at least once: its follow-up must be created once.
            request_key: Some(bridge::zendesk::creation_key(&w.cfg.org_id, &w.job_id)),
        };
        let result = apply::update_ticket(self.rt, w.cfg.clone(), self.deadline, &change).await;
        let outcome = Outcome::of_update(w.ticket_id, &w.status, result);
        let mut out: Vec<(Message, Outcome)> = unit
            .superseded
            .into_iter()
            .map(|(m, _)| (m, outcome.for_superseded(w.ticket_id, &w.job_id)))
            .collect();
        out.push((message, outcome));
        out
    }
}
