//! SQS batches of jobs from webhook-ingest: `participant.attributes`, `contact.fields` and
//! `participant.enrich`.
//!
//! Three steps. **Prepare** each record on its own (parse, validate, look the caller up in
//! Zendesk for enrich jobs): a bad job fails alone. **Merge** the attribute writes of the
//! batch per (org, conversation, participant), later jobs winning per key in SQS record
//! order, so a participant gets one PATCH per batch. **Execute** the merged writes and the
//! contact changes; a failed PATCH fails every message that contributed to it.
//!
//! Every failed message is reported in `batchItemFailures`. SQS redelivers it, and after the
//! queue's `maxReceiveCount` moves it to the dead-letter queue: that is where a job that can
//! never succeed (invalid, unknown version, missing permission, not found) ends, with its
//! reason in the log. Nothing is dropped silently.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::future::join_all;

use bridge::batch::{records, BatchReport};
use bridge::config::OrgConfig;
use bridge::genesys::ContactChange;
use bridge::input::uuid_field;
use bridge::jobs::{Job, JobEnvelope, ParticipantEnrich};
use bridge::zendesk::UserLookup;
use bridge::{BridgeError, Deadline, Result, Runtime};

use crate::attrs::check_limits;

/// One job's attribute write, before merging.
#[derive(Debug, Clone)]
pub struct PendingWrite {
    pub message_id: String,
    /// The org's config, as read when the job was prepared.
    pub org: Arc<OrgConfig>,
    pub conversation_id: String,
    pub participant_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// The writes of a batch for one participant, merged.
#[derive(Debug, Clone)]
pub struct MergedWrite {
    /// The config of the first contributing job (the key compares org ids).
    pub org: Arc<OrgConfig>,
    pub conversation_id: String,
    pub participant_id: String,
    pub attributes: BTreeMap<String, String>,
    /// The messages that contributed, in record order: they succeed or fail together.
    pub message_ids: Vec<String>,
}

/// Merges writes per (org, conversation, participant), in the order given (SQS record
/// order): a later write of the same key wins. Groups come out in order of first
/// appearance.
pub fn merge_writes(writes: Vec<PendingWrite>) -> Vec<MergedWrite> {
    let mut out: Vec<MergedWrite> = Vec::new();
    for w in writes {
        match out.iter_mut().find(|m| {
            m.org.org_id == w.org.org_id
                && m.conversation_id == w.conversation_id
                && m.participant_id == w.participant_id
        }) {
            Some(m) => {
                m.attributes.extend(w.attributes);
                if !m.message_ids.contains(&w.message_id) {
                    m.message_ids.push(w.message_id);
                }
            }
            None => out.push(MergedWrite {
                org: w.org,
                conversation_id: w.conversation_id,
                participant_id: w.participant_id,
                attributes: w.attributes,
                message_ids: vec![w.message_id],
            }),
        }
    }
    out
}

/// Splits a merged set into PATCH bodies of at most `max_keys` keys. Each job was within
/// the limit, but several merged may not be; one PATCH per participant is the rule unless
/// the org's own limit forbids it. A set within the limit is its own body (borrowed).
pub fn chunks(
    attributes: &BTreeMap<String, String>,
    max_keys: usize,
) -> Vec<Cow<'_, BTreeMap<String, String>>> {
    let size = max_keys.max(1);
    if attributes.is_empty() {
        return Vec::new();
    }
    if attributes.len() <= size {
        return vec![Cow::Borrowed(attributes)];
    }
    let mut out = Vec::new();
    let mut cur = BTreeMap::new();
    for (k, v) in attributes {
        if cur.len() == size {
            out.push(Cow::Owned(std::mem::take(&mut cur)));
        }
        cur.insert(k.clone(), v.clone());
    }
    if !cur.is_empty() {
        out.push(Cow::Owned(cur));
    }
    out
}

/// What preparing one record produced.
#[derive(Debug)]
enum Prepared {
    Write(PendingWrite),
    Contact {
        message_id: String,
        org: Arc<OrgConfig>,
        contact_id: String,
        changes: Vec<ContactChange>,
    },
    /// Nothing to write, by design (enrichment disabled, no Zendesk match): success.
    Nothing {
        message_id: String,
        why: String,
    },
    Failed {
        message_id: String,
        /// `""` when the record is not a readable job.
        job_id: String,
        error: BridgeError,
    },
}

/// Runs one SQS batch and returns the partial-failure response (an error only when every
/// message failed).
pub async fn run(
    rt: &Runtime,
    event: &SqsEvent,
    ctx: &lambda_runtime::Context,
) -> Result<SqsBatchResponse> {
    let deadline = rt.deadline(ctx);
    let recs = records(event);
    let mut report = BatchReport::new(recs.len());
    tracing::info!(records = recs.len(), request_id = %ctx.request_id, "job batch received");

    let prepared = join_all(recs.into_iter().map(|r| async move {
        match r.job {
            Ok(job) => prepare(rt, r.message_id, job, deadline).await,
            Err(error) => Prepared::Failed {
                message_id: r.message_id,
                job_id: String::new(),
                error,
            },
        }
    }))
    .await;

    let mut writes = Vec::new();
    let mut contacts = Vec::new();
    for p in prepared {
        match p {
            Prepared::Write(w) => writes.push(w),
            Prepared::Contact {
                message_id,
                org,
                contact_id,
                changes,
            } => contacts.push((message_id, org, contact_id, changes)),
            Prepared::Nothing { message_id, why } => {
                tracing::info!(message_id = %message_id, reason = %why, "job done: nothing to write");
            }
            Prepared::Failed {
                message_id,
                job_id,
                error,
            } => report.fail(&message_id, &job_id, error),
        }
    }

    let merged = merge_writes(writes);
    let write_results = join_all(merged.iter().map(|m| execute_write(rt, m, deadline))).await;
    // Configs that a write re-read after refused (rotated) credentials: the contact changes
    // below use them, as they would find them in the org store.
    let mut rotated: HashMap<&str, Arc<OrgConfig>> = HashMap::new();
    for (m, (used, result)) in merged.iter().zip(write_results) {
        if !Arc::ptr_eq(&used, &m.org) {
            rotated.insert(&m.org.org_id, used);
        }
        if let Err(error) = result {
            for id in &m.message_ids {
                report.fail(id, "", error.clone());
            }
        }
    }
    let rotated = &rotated;
    let contact_results = join_all(contacts.iter().map(|(_, org, contact_id, changes)| async move {
        let org = rotated.get(org.org_id.as_str()).unwrap_or(org);
        let contact = rt
            .genesys
            .org(org, deadline)
            .patch_external_contact(contact_id, changes)
            .await?;
        tracing::info!(org_id = %org.org_id, contact_id = %contact_id, changes = changes.len(), version = ?contact.0.get("version"), "external contact fields patched");
        Ok::<_, BridgeError>(())
    }))
    .await;
    for ((message_id, ..), result) in contacts.iter().zip(contact_results) {
        if let Err(error) = result {
            report.fail(message_id, "", error);
        }
    }
    tracing::info!(
        records = report.total,
        failed = report.failed.len(),
        "job batch done"
    );
    report.into_response()
}

async fn prepare(
    rt: &Runtime,
    message_id: String,
    env: JobEnvelope,
    deadline: Deadline,
) -> Prepared {
    let JobEnvelope {
        job_id,
        org_id,
        job,
        ..
    } = env;
    match prepare_job(rt, &message_id, &org_id, job, deadline).await {
        Ok(p) => p,
        Err(error) => Prepared::Failed {
            message_id,
            job_id,
            error,
        },
    }
}

/// Validates one job (its payload moved in, not copied) into what the batch will do.
async fn prepare_job(
    rt: &Runtime,
    message_id: &str,
    org_id: &str,
    job: Job,
    deadline: Deadline,
) -> Result<Prepared> {
    let org = rt.orgs.get(org_id).await?;
    let result = match job {
        Job::ParticipantAttributes(a) => ids(&a.conversation_id, &a.participant_id).and_then(|(c, p)| {
            check_limits(&a.attributes, &org.rules.attribute_limits)?;
            Ok(Prepared::Write(PendingWrite {
                message_id: message_id.to_string(),
                org: org.clone(),
                conversation_id: c,
                participant_id: p,
                attributes: a.attributes,
            }))
        }),
        Job::ContactFields(c) => match uuid_field("contactId", &c.contact_id) {
            Err(e) => Err(e),
            Ok(_) if c.changes.is_empty() => Err(BridgeError::validation("changes", "expected at least one change")),
            Ok(id) => Ok(Prepared::Contact {
                message_id: message_id.to_string(),
                org: org.clone(),
                contact_id: id,
                changes: c.changes,
            }),
        },
        Job::ParticipantEnrich(e) => enrich(rt, &org, message_id, &e, deadline).await,
        Job::TicketWrapup(_) => Err(BridgeError::validation(
            "kind",
            "ticket.wrapup jobs belong on the ticket-status queue, not the attribute-writer queue; check webhook-ingest's routing",
        )),
    };
    result.map_err(|e| e.or_org(&org.org_id))
}

fn ids(conversation_id: &str, participant_id: &str) -> Result<(String, String)> {
    Ok((
        uuid_field("conversationId", conversation_id)?,
        uuid_field("participantId", participant_id)?,
    ))
}

/// Looks the caller up in Zendesk and turns the match into the org's enrichment attributes.
async fn enrich(
    rt: &Runtime,
    org: &Arc<OrgConfig>,
    message_id: &str,
    job: &ParticipantEnrich,
    deadline: Deadline,
) -> Result<Prepared> {
    let (conversation_id, participant_id) = ids(&job.conversation_id, &job.participant_id)?;
    let nothing = |why: String| {
        Ok(Prepared::Nothing {
            message_id: message_id.to_string(),
            why,
        })
    };
    let rules = &org.rules.enrichment;
    if !rules.enabled {
        return nothing(format!(
            "enrichment is disabled for org {} (rules.enrichment.enabled is false); skipped",
            org.org_id
        ));
    }
    let nonempty = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let lookup = match (nonempty(&job.phone), nonempty(&job.email)) {
        (Some(phone), _) => UserLookup::Phone(phone),
        (None, Some(email)) => UserLookup::Email(email),
        (None, None) => {
            // The job carries no contact detail: the participant's address (ANI for calls,
            // the address for emails) is the caller's.
            let conv = rt
                .genesys
                .org(org, deadline)
                .conversation(&conversation_id)
                .await?;
            let Some(p) = conv.participant(&participant_id) else {
                return Err(BridgeError::validation(
                    "participantId",
                    format!(
                        "participant {participant_id} is not in conversation {conversation_id}"
                    ),
                ));
            };
            match nonempty(&p.address) {
                Some(a) if a.contains('@') => UserLookup::Email(a),
                Some(a) => UserLookup::Phone(a),
                None => return nothing("the participant has no address to look up".into()),
            }
        }
    };
    let zendesk = rt.zendesk.account(org, deadline)?;
    let users = zendesk.find_users(&lookup).await?;
    let user = match users.as_slice() {
        [] => return nothing("no Zendesk user matches the caller".into()),
        [u] => u,
        more => {
            // Writing the wrong customer's ticket onto a call is worse than writing nothing.
            return nothing(format!(
                "{} Zendesk users match the caller; not guessing",
                more.len()
            ));
        }
    };
    let mut attributes = BTreeMap::new();
    if let Some(k) = &rules.user_id_attribute {
        attributes.insert(k.clone(), user.id.to_string());
    }
    if let (Some(k), Some(name)) = (&rules.user_name_attribute, &user.name) {
        attributes.insert(k.clone(), name.clone());
    }
    if let Some(k) = &rules.open_ticket_attribute {
        if let Some(t) = zendesk.newest_open_ticket(user.id).await? {
            attributes.insert(k.clone(), t.id.to_string());
        }
    }
    if attributes.is_empty() {
        return nothing("the org's enrichment rules name no attribute to write".into());
    }
    check_limits(&attributes, &org.rules.attribute_limits)?;
    tracing::info!(org_id = %org.org_id, conversation_id = %conversation_id, zendesk_user_id = user.id, keys = attributes.len(), "caller found in Zendesk");
    Ok(Prepared::Write(PendingWrite {
        message_id: message_id.to_string(),
        org: org.clone(),
        conversation_id,
        participant_id,
        attributes,
    }))
}

/// Writes one merged set; returns the config used last (a re-read one after a rotation).
async fn execute_write(
    rt: &Runtime,
    m: &MergedWrite,
    deadline: Deadline,
) -> (Arc<OrgConfig>, Result<()>) {
    // The merge PATCH is safe to repeat after rotated credentials were refused.
    rt.with_rotation(m.org.clone(), |org| async move {
        write_chunks(rt, &org, m, deadline).await
    })
    .await
}

async fn write_chunks(
    rt: &Runtime,
    org: &OrgConfig,
    m: &MergedWrite,
    deadline: Deadline,
) -> Result<()> {
    let genesys = rt.genesys.org(org, deadline);
    for body in chunks(&m.attributes, org.rules.attribute_limits.max_keys) {
        let w = genesys
            .patch_participant_attributes(&m.conversation_id, &m.participant_id, &body)
            .await?;
        tracing::info!(
            org_id = %m.org.org_id,
            conversation_id = %m.conversation_id,
            participant_id = %m.participant_id,
            keys = body.len(),
            jobs = m.message_ids.len(),
            status = w.status,
            correlation_id = w.correlation_id.as_deref().unwrap_or(""),
            "participant attributes written"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
    const ORG2: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";

    fn org(org_id: &str) -> Arc<OrgConfig> {
        let doc = serde_json::json!({
            "orgId": org_id,
            "genesys": {"region": "mypurecloud.ie", "clientId": "c", "clientSecret": "s"},
            "webhook": {"sharedSecret": "0123456789abcdef0123456789abcdef"}
        });
        Arc::new(OrgConfig::from_json(&doc.to_string()).unwrap())
    }

    fn w(msg: &str, conv: &str, part: &str, pairs: &[(&str, &str)]) -> PendingWrite {
        PendingWrite {
            message_id: msg.into(),
            org: org(ORG),
            conversation_id: conv.into(),
            participant_id: part.into(),
            attributes: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn later_jobs_win_per_key_and_groups_keep_first_order() {
        let merged = merge_writes(vec![
            w("m1", "c1", "p1", &[("tier", "silver"), ("a", "1")]),
            w("m2", "c2", "p1", &[("x", "y")]),
            w("m3", "c1", "p1", &[("tier", "gold")]),
            w("m4", "c1", "p2", &[("tier", "bronze")]),
        ]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].participant_id, "p1");
        assert_eq!(merged[0].conversation_id, "c1");
        assert_eq!(merged[0].attributes["tier"], "gold");
        assert_eq!(merged[0].attributes["a"], "1");
        assert_eq!(merged[0].message_ids, vec!["m1", "m3"]);
        assert_eq!(merged[1].message_ids, vec!["m2"]);
        assert_eq!(merged[2].attributes["tier"], "bronze");
        let mut other_org = w("m5", "c1", "p1", &[("k", "v")]);
        other_org.org = org(ORG2);
        assert_eq!(
            merge_writes(vec![w("m1", "c1", "p1", &[]), other_org]).len(),
            2
        );
    }

    #[test]
    fn chunking_respects_the_key_limit() {
        let attrs: BTreeMap<String, String> =
            (0..5).map(|i| (format!("k{i}"), i.to_string())).collect();
        assert_eq!(chunks(&attrs, 50).len(), 1);
        let c = chunks(&attrs, 2);
        assert_eq!(c.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert_eq!(
            c.into_iter()
                .flat_map(Cow::into_owned)
                .collect::<BTreeMap<_, _>>(),
            attrs
        );
        assert!(chunks(&BTreeMap::new(), 3).is_empty());
    }
}
