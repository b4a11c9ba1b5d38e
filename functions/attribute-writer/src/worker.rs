//! The SQS worker: batches of `participant.attributes`, `contact.fields` and
//! `participant.enrich` jobs, run by `bridge::batch`.
//!
//! Prepare reads each job and its org (enrichment also looks the caller up in Zendesk); a
//! bad job fails alone. Merge makes one write per (org, conversation, participant) of the
//! batch, later jobs winning per key in SQS record order, so a participant gets one PATCH
//! per batch. Apply PATCHes each merged set and each contact change; a failed PATCH fails
//! every message that contributed to it.

use std::sync::Arc;

use bridge::batch::{Message, Worker};
use bridge::config::OrgConfig;
use bridge::genesys::ContactChange;
use bridge::jobs::JobEnvelope;
use bridge::{Deadline, Runtime};

use crate::apply::{self, Enriched};
use crate::input::{self, JobInput};
use crate::outcome::Outcome;
use crate::plan::{self, MergedWrite, Write};

/// The worker of one invocation.
pub struct Jobs<'a> {
    rt: &'a Runtime,
    deadline: Deadline,
}

impl<'a> Jobs<'a> {
    pub fn new(rt: &'a Runtime, deadline: Deadline) -> Jobs<'a> {
        Jobs { rt, deadline }
    }
}

/// One prepared job.
#[derive(Debug)]
pub enum Item {
    Write(Write),
    Contact(Contact),
}

/// A `contact.fields` job, ready to apply.
#[derive(Debug)]
pub struct Contact {
    pub org: Arc<OrgConfig>,
    pub contact_id: String,
    pub changes: Vec<ContactChange>,
}

/// What apply carries out at once.
#[derive(Debug)]
pub enum Unit {
    /// The merged writes of one participant.
    Write(MergedWrite<Message>),
    /// One job's contact changes: not merged, so that one job's refused change cannot
    /// fail another job's.
    Contact(Message, Contact),
}

impl Worker for Jobs<'_> {
    type Item = Item;
    type Unit = Unit;
    type Outcome = Outcome;
    /// The queue's batch size (`infra/template.yaml`): a batch runs all at once, and one
    /// PATCH per participant keeps it far inside Genesys' 300 requests/min per token.
    const CONCURRENCY: usize = 10;

    async fn prepare(&self, env: JobEnvelope) -> Result<Item, Outcome> {
        let job = input::parse_job(env.job).map_err(|e| e.or_org(&env.org_id))?;
        let org = self
            .rt
            .orgs
            .get(&env.org_id)
            .await
            .map_err(|e| e.or_org(&env.org_id))?;
        let (conversation_id, participant_id, attributes) = match job {
            JobInput::Contact {
                contact_id,
                changes,
            } => {
                return Ok(Item::Contact(Contact {
                    org,
                    contact_id,
                    changes,
                }))
            }
            JobInput::Write {
                conversation_id,
                participant_id,
                attributes,
            } => (conversation_id, participant_id, attributes),
            JobInput::Enrich(e) => match apply::enrichment(self.rt, &org, &e, self.deadline)
                .await
                .map_err(|err| err.or_org(&org.org_id))?
            {
                Enriched::Found(attributes) => (e.conversation_id, e.participant_id, attributes),
                Enriched::Nothing(reason) => return Err(Outcome::Nothing { reason }),
            },
        };
        plan::check_limits(&attributes, &org.rules.attribute_limits)
            .map_err(|e| e.or_org(&org.org_id))?;
        Ok(Item::Write(Write {
            org,
            conversation_id,
            participant_id,
            attributes,
        }))
    }

    fn merge(&self, items: Vec<(Message, Item)>) -> Vec<Unit> {
        let mut writes = Vec::new();
        let mut contacts = Vec::new();
        for (message, item) in items {
            match item {
                Item::Write(w) => writes.push((message, w)),
                Item::Contact(c) => contacts.push(Unit::Contact(message, c)),
            }
        }
        plan::merge_writes(writes)
            .into_iter()
            .map(Unit::Write)
            .chain(contacts)
            .collect()
    }

    async fn apply(&self, unit: Unit) -> Vec<(Message, Outcome)> {
        match unit {
            Unit::Write(merged) => {
                let result = apply::write_merged(self.rt, &merged, self.deadline).await;
                let (keys, jobs) = (merged.attributes.len(), merged.message_ids.len());
                let outcome = match result {
                    Ok(()) => Outcome::Written {
                        conversation_id: merged.conversation_id,
                        participant_id: merged.participant_id,
                        keys,
                        jobs,
                    },
                    Err(e) => Outcome::Failed(e),
                };
                merged
                    .message_ids
                    .into_iter()
                    .map(|m| (m, outcome.clone()))
                    .collect()
            }
            Unit::Contact(message, c) => {
                let outcome = match apply::patch_contact(
                    self.rt,
                    c.org,
                    &c.contact_id,
                    &c.changes,
                    self.deadline,
                )
                .await
                {
                    Ok(()) => Outcome::ContactPatched {
                        contact_id: c.contact_id,
                        changes: c.changes.len(),
                    },
                    Err(e) => Outcome::Failed(e),
                };
                vec![(message, outcome)]
            }
        }
    }
}
