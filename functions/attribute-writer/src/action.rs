//! The Architect Lambda data action: write participant attributes now, answer the flow.
//!
//! Input and output follow the action definition in `infra/genesys/attribute-writer.action.json`
//! exactly: the output is flat (booleans, an integer, strings) so no translation map is
//! needed, and every failure is a Lambda error whose type is the stable error-type string,
//! which sends the flow down the action's Failure path.

use serde::Serialize;
use tracing::Instrument;

use bridge::{Deadline, Result, Runtime};

use crate::apply;
use crate::input::{parse_action_input, ActionInput};
use crate::options::Options;
use crate::plan::check_limits;
use crate::verify::{verify, Check};

/// The data action's success output (`contract.output.successSchema`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutput {
    /// Genesys accepted the write (always true: failures are Lambda errors).
    pub ok: bool,
    /// Number of attributes sent.
    pub written: usize,
    /// A read-back showed every written value (false when not requested).
    pub verified: bool,
    /// Why verification failed; "" when verified or not requested.
    pub verify_reason: String,
    pub conversation_id: String,
    pub participant_id: String,
    /// `ININ-Correlation-Id` of the PATCH, for Genesys support; "" if Genesys sent none.
    pub correlation_id: String,
}

/// Runs one data action invocation.
pub async fn run(
    rt: &Runtime,
    opts: &Options,
    event: &serde_json::Value,
    ctx: &lambda_runtime::Context,
) -> Result<ActionOutput> {
    // Shape first: bad ids and nested values are refused before any secret or API call.
    let mut input = parse_action_input(event)?;
    // The org whose credentials are used is the one of the alias Genesys invoked.
    input.org_id = rt.data_action_org(ctx, &input.org_id)?;
    let span = tracing::info_span!(
        "data_action",
        org_id = %input.org_id,
        conversation_id = %input.conversation_id,
        participant_id = %input.participant_id,
        request_id = %ctx.request_id,
    );
    write(rt, opts, input, rt.deadline(ctx))
        .instrument(span)
        .await
}

async fn write(
    rt: &Runtime,
    opts: &Options,
    input: ActionInput,
    deadline: Deadline,
) -> Result<ActionOutput> {
    let org = rt.orgs.get(&input.org_id).await?;
    check_limits(&input.attributes, &org.rules.attribute_limits)
        .map_err(|e| e.or_org(&org.org_id))?;
    let (org, written) = apply::write_attributes(
        rt,
        org,
        &input.conversation_id,
        &input.participant_id,
        &input.attributes,
        deadline,
    )
    .await;
    let written = written?;
    let mut out = ActionOutput {
        ok: true,
        written: input.attributes.len(),
        verified: false,
        verify_reason: String::new(),
        conversation_id: input.conversation_id.clone(),
        participant_id: input.participant_id.clone(),
        correlation_id: written.correlation_id.clone().unwrap_or_default(),
    };
    if input.verify {
        let (check, reads) = verify(
            &rt.genesys.org(&org, deadline),
            &input.conversation_id,
            &input.participant_id,
            &input.attributes,
            opts.verify_retry_delay,
            deadline,
        )
        .await
        .map_err(|mut e| {
            // The write went through; say so, or the flow designer will think it did not.
            e.operation = Some(format!(
                "read the conversation back to verify the write (the write itself was accepted, correlation id {})",
                out.correlation_id
            ));
            e
        })?;
        out.verified = check == Check::Verified;
        out.verify_reason = check.reason();
        tracing::info!(verified = out.verified, reason = %out.verify_reason, reads, "read-back done");
    }
    tracing::info!(
        written = out.written,
        status = written.status,
        correlation_id = %out.correlation_id,
        "participant attributes written"
    );
    Ok(out)
}
