//! The SQS worker: batches of `message.agentless` jobs (commands and rules from
//! webhook-ingest), run by `bridge::batch`.
//!
//! Prepare reads each job, its org, and (when the recipient or a placeholder comes from it)
//! the conversation's customer, and resolves exactly what to send; a bad job fails alone.
//! Merge keeps one unit per claim key, in batch order: two jobs of one message in one batch
//! (a redelivery, the ACW and the wrap-up of one conversation) send once. Apply sends each
//! unit at most once (`apply::send_once`) and dead-letters a message that may have been
//! sent itself, reporting it done.

use std::sync::Arc;

use bridge::batch::{Message, Worker};
use bridge::config::OrgConfig;
use bridge::genesys::AgentlessRequest;
use bridge::jobs::JobEnvelope;
use bridge::Deadline;

use crate::apply::{self, Delivery, Messenger};
use crate::input;
use crate::outcome::Outcome;
use crate::plan::{claim_key, needs_conversation, resolve};

/// The worker of one invocation.
pub struct Jobs<'a> {
    m: &'a Messenger,
    deadline: Deadline,
    /// The invocation's deadline (epoch ms): how long a claim lasts.
    claim_until_ms: u64,
    /// Whose claims they are: the invocation's (`bridge::idempotency::owner`).
    owner: String,
}

impl<'a> Jobs<'a> {
    pub fn new(
        m: &'a Messenger,
        deadline: Deadline,
        claim_until_ms: u64,
        owner: String,
    ) -> Jobs<'a> {
        Jobs {
            m,
            deadline,
            claim_until_ms,
            owner,
        }
    }
}

/// One job, resolved: what to send and under which claim.
#[derive(Debug)]
pub struct Item {
    pub job: JobEnvelope,
    pub org: Arc<OrgConfig>,
    pub key: String,
    pub request: AgentlessRequest,
    /// The conversation the message is about, for the DLQ's attributes.
    pub conversation_id: Option<String>,
}

/// One message to send, and the later jobs of the batch that are the same message.
#[derive(Debug)]
pub struct Unit {
    pub first: (Message, Item),
    pub repeats: Vec<Message>,
}

impl Worker for Jobs<'_> {
    type Item = Item;
    type Unit = Unit;
    type Outcome = Outcome;
    /// The queue's batch size (`infra/template.yaml`); agentless sends have no published
    /// rate limit [U], and Genesys allows 300 requests/min per token.
    const CONCURRENCY: usize = 10;

    async fn prepare(&self, job: JobEnvelope) -> Result<Item, Outcome> {
        let msg = input::parse_job(job.job.clone()).map_err(|e| e.or_org(&job.org_id))?;
        let org = self.m.org(&job.org_id).await?;
        let customer = match &msg.conversation_id {
            Some(c) if needs_conversation(&org.messaging, &msg) => {
                Some(self.m.customer(&org, c, self.deadline).await?)
            }
            _ => None,
        };
        let request = resolve(&org.messaging, &msg, customer.as_ref(), "payload.")
            .map_err(|e| e.or_org(&org.org_id))?;
        Ok(Item {
            key: claim_key(&org.org_id, &msg, &job.job_id),
            conversation_id: msg.conversation_id.clone(),
            job,
            org,
            request,
        })
    }

    fn merge(&self, items: Vec<(Message, Item)>) -> Vec<Unit> {
        let mut units: Vec<Unit> = Vec::new();
        for (message, item) in items {
            match units.iter_mut().find(|u| u.first.1.key == item.key) {
                Some(u) => u.repeats.push(message),
                None => units.push(Unit {
                    first: (message, item),
                    repeats: Vec::new(),
                }),
            }
        }
        units
    }

    async fn apply(&self, unit: Unit) -> Vec<(Message, Outcome)> {
        let (message, item) = unit.first;
        let outcome = self.send(&item).await;
        let mut out: Vec<(Message, Outcome)> = unit
            .repeats
            .into_iter()
            .map(|m| (m, outcome.for_repeat(&item.key)))
            .collect();
        out.insert(0, (message, outcome));
        out
    }
}

impl Jobs<'_> {
    async fn send(&self, item: &Item) -> Outcome {
        let delivery = apply::send_once(
            self.m,
            item.org.clone(),
            &item.key,
            &self.owner,
            &item.request,
            self.claim_until_ms,
            self.deadline,
        )
        .await;
        match delivery {
            Ok(Delivery::Sent {
                duplicate: true, ..
            }) => Outcome::Duplicate {
                key: item.key.clone(),
            },
            Ok(Delivery::Sent {
                message_id,
                conversation_id,
                ..
            }) => Outcome::Sent {
                message_id,
                conversation_id,
                messenger_type: item.request.to_address_messenger_type.clone(),
            },
            // Already in the DLQ from an earlier delivery.
            Ok(Delivery::MayHaveBeenSent {
                dead_lettered: true,
                ..
            }) => Outcome::Duplicate {
                key: item.key.clone(),
            },
            Ok(Delivery::MayHaveBeenSent { error, .. }) => {
                let conversation_id = item.conversation_id.as_deref();
                match apply::dead_letter(self.m, &item.job, &item.key, &error, conversation_id)
                    .await
                {
                    Ok(()) => Outcome::MayHaveBeenSent {
                        error_type: error.error_type(),
                        conversation_id: item.conversation_id.clone(),
                    },
                    // Reported failed: the redelivery finds the claim and tries the DLQ
                    // again; it never sends.
                    Err(e) => Outcome::Failed(e),
                }
            }
            Err(e) => Outcome::Failed(e),
        }
    }
}
