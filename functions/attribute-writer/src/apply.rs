//! The I/O of both paths, through the shared clients: attribute PATCHes (one per merged
//! set, split by the org's key limit), external contact changes, and the lookups of
//! enrichment (the participant's address, the caller in Zendesk, their newest open ticket).
//!
//! Every Genesys write runs under `Runtime::with_rotation`: a write refused because the
//! org's credentials were rotated since they were cached is tried once more with the
//! re-read config, which is safe because the refused attempt changed nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use bridge::config::OrgConfig;
use bridge::genesys::{ContactChange, Written};
use bridge::zendesk::UserLookup;
use bridge::{BridgeError, Deadline, Result, Runtime};

use crate::input::EnrichInput;
use crate::plan::{self, MergedWrite};

/// Writes one set of attributes (a data action); returns the config used last (the
/// re-read one after a rotation) with the result.
pub async fn write_attributes(
    rt: &Runtime,
    org: Arc<OrgConfig>,
    conversation_id: &str,
    participant_id: &str,
    attributes: &BTreeMap<String, String>,
    deadline: Deadline,
) -> (Arc<OrgConfig>, Result<Written>) {
    rt.with_rotation(org, |org| async move {
        rt.genesys
            .org(&org, deadline)
            .patch_participant_attributes(conversation_id, participant_id, attributes)
            .await
    })
    .await
}

/// Writes one merged set of a batch, in PATCHes of at most the org's `maxKeys` keys.
pub async fn write_merged<M>(rt: &Runtime, m: &MergedWrite<M>, deadline: Deadline) -> Result<()> {
    let (_, result) = rt
        .with_rotation(m.org.clone(), |org| async move {
            let genesys = rt.genesys.org(&org, deadline);
            for body in plan::chunks(&m.attributes, org.rules.attribute_limits.max_keys) {
                let w = genesys
                    .patch_participant_attributes(&m.conversation_id, &m.participant_id, &body)
                    .await?;
                tracing::info!(
                    org_id = %org.org_id,
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
        })
        .await;
    result
}

/// Applies field-level changes to one external contact.
pub async fn patch_contact(
    rt: &Runtime,
    org: Arc<OrgConfig>,
    contact_id: &str,
    changes: &[ContactChange],
    deadline: Deadline,
) -> Result<()> {
    let (_, result) = rt
        .with_rotation(org, |org| async move {
            let contact = rt
                .genesys
                .org(&org, deadline)
                .patch_external_contact(contact_id, changes)
                .await?;
            tracing::info!(org_id = %org.org_id, contact_id, changes = changes.len(),
                version = ?contact.0.get("version"), "external contact fields patched");
            Ok(())
        })
        .await;
    result
}

/// What enrichment found.
#[derive(Debug, Clone, PartialEq)]
pub enum Enriched {
    /// The attributes to write for the caller.
    Found(BTreeMap<String, String>),
    /// Nothing to write, by design, and why (disabled, no single match, no address).
    Nothing(String),
}

/// Looks the caller up in the org's Zendesk (by the job's phone or email, else by the
/// participant's address) and makes the org's enrichment attributes of the one match.
pub async fn enrichment(
    rt: &Runtime,
    org: &OrgConfig,
    job: &EnrichInput,
    deadline: Deadline,
) -> Result<Enriched> {
    let rules = &org.rules.enrichment;
    if !rules.enabled {
        return Ok(Enriched::Nothing(format!(
            "enrichment is disabled for org {} (rules.enrichment.enabled is false); skipped",
            org.org_id
        )));
    }
    let lookup = match &job.lookup {
        Some(given) => given.clone(),
        None => match caller_address(rt, org, job, deadline).await? {
            Some(lookup) => lookup,
            None => {
                return Ok(Enriched::Nothing(
                    "the participant has no address to look up".into(),
                ))
            }
        },
    };
    let zendesk = rt.zendesk.account(org, deadline)?;
    let users = zendesk.find_users(&lookup).await?;
    let user = match plan::single_match(&users) {
        Ok(user) => user,
        Err(why) => return Ok(Enriched::Nothing(why)),
    };
    let open_ticket = match &rules.open_ticket_attribute {
        Some(_) => zendesk.newest_open_ticket(user.id).await?.map(|t| t.id),
        None => None,
    };
    let attributes = plan::enrichment_attributes(rules, user, open_ticket);
    if attributes.is_empty() {
        return Ok(Enriched::Nothing(
            "the org's enrichment rules name no attribute to write".into(),
        ));
    }
    tracing::info!(org_id = %org.org_id, conversation_id = %job.conversation_id,
        zendesk_user_id = user.id, keys = attributes.len(), "caller found in Zendesk");
    Ok(Enriched::Found(attributes))
}

/// The job carries no contact detail: the participant's address (ANI for calls, the
/// address for emails) is the caller's.
async fn caller_address(
    rt: &Runtime,
    org: &OrgConfig,
    job: &EnrichInput,
    deadline: Deadline,
) -> Result<Option<UserLookup>> {
    let (conversation_id, participant_id) = (&job.conversation_id, &job.participant_id);
    let conv = rt
        .genesys
        .org(org, deadline)
        .conversation(conversation_id)
        .await?;
    let Some(p) = conv.participant(participant_id) else {
        return Err(BridgeError::validation(
            "payload.participantId",
            format!("participant {participant_id} is not in conversation {conversation_id}"),
        ));
    };
    Ok(plan::lookup_for_address(p.address.as_deref()))
}
