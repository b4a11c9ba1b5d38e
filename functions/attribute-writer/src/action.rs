//! The Architect Lambda data action: write participant attributes now, answer the flow.
//!
//! Input and output follow the action definition in `infra/genesys/attribute-writer.action.json`
//! exactly: the output is flat (booleans, an integer, strings) so no translation map is
//! needed, and every failure is a Lambda error whose type is the stable error-type string,
//! which sends the flow down the action's Failure path.

use serde::Serialize;
use tracing::Instrument;

use bridge::{BridgeError, ErrorKind, OrgConfig, Result, Runtime};

use crate::attrs::{check_limits, parse_action_input, ActionInput};
use crate::verify::verify;
use crate::Options;

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
    let input = parse_action_input(event)?;
    check_invocation_alias(&ctx.invoked_function_arn, &input.org_id)?;
    let span = tracing::info_span!(
        "data_action",
        org_id = %input.org_id,
        conversation_id = %input.conversation_id,
        participant_id = %input.participant_id,
        request_id = %ctx.request_id,
    );
    write(rt, opts, input, ctx).instrument(span).await
}

async fn patch(
    rt: &Runtime,
    org: &OrgConfig,
    input: &ActionInput,
    deadline: bridge::Deadline,
) -> Result<bridge::genesys::Written> {
    rt.genesys
        .org(org, deadline)
        .patch_participant_attributes(
            &input.conversation_id,
            &input.participant_id,
            &input.attributes,
        )
        .await
}

async fn write(
    rt: &Runtime,
    opts: &Options,
    input: ActionInput,
    ctx: &lambda_runtime::Context,
) -> Result<ActionOutput> {
    let org = rt.orgs.get(&input.org_id).await?;
    check_limits(&input.attributes, &org.rules.attribute_limits)
        .map_err(|e| e.or_org(&org.org_id))?;
    let deadline = rt.deadline(ctx);
    let first = patch(rt, &org, &input, deadline).await;
    let (org, written) = match first {
        Ok(w) => (org, w),
        // Rotated credentials: one re-read of the org's secret, one more try.
        Err(e) => match rt.refresh_after(&org, &e).await {
            Some(fresh) => {
                let w = patch(rt, &fresh, &input, deadline).await?;
                (fresh, w)
            }
            None => return Err(e),
        },
    };
    let genesys = rt.genesys.org(&org, deadline);
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
            &genesys,
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
        out.verified = check == crate::verify::Check::Verified;
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

/// Tenant identity from something the caller cannot forge: when the function is invoked
/// through a per-org alias (`...:function:name:<orgId>` or `...:org-<orgId>`), the event's
/// org id must be that org. Unqualified, version or other aliases carry no org, and the
/// org id of the request template is used (the Genesys role's `sts:ExternalId` condition
/// already limits which Genesys org can invoke).
pub fn check_invocation_alias(invoked_arn: &str, org_id: &str) -> Result<()> {
    let parts: Vec<&str> = invoked_arn.split(':').collect();
    let Some(qualifier) = parts.get(7) else {
        return Ok(());
    };
    let candidate = qualifier.strip_prefix("org-").unwrap_or(qualifier);
    let Ok(alias_org) = bridge::config::validate_uuid("alias", candidate) else {
        return Ok(());
    };
    if alias_org == org_id {
        return Ok(());
    }
    Err(BridgeError::new(
        ErrorKind::WrongOrg,
        format!("the function was invoked through the alias of org {alias_org}, but the event names org {org_id}"),
    )
    .with_org(org_id)
    .with_field("orgId")
    .with_hint(format!(
        "the data action imported in org {alias_org} must send its own org id in the request template (render it with infra/genesys/render.py --org-id {alias_org}); nothing was written"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_table() {
        let a = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
        let b = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";
        let base = "arn:aws:lambda:eu-west-1:123456789012:function:bridge-attribute-writer";
        assert!(check_invocation_alias("", a).is_ok());
        assert!(check_invocation_alias(base, a).is_ok());
        assert!(check_invocation_alias(&format!("{base}:7"), a).is_ok());
        assert!(check_invocation_alias(&format!("{base}:live"), a).is_ok());
        assert!(check_invocation_alias(&format!("{base}:{a}"), a).is_ok());
        assert!(check_invocation_alias(&format!("{base}:org-{a}"), a).is_ok());
        let e = check_invocation_alias(&format!("{base}:org-{b}"), a).unwrap_err();
        assert_eq!(e.error_type(), "Bridge.WrongOrg");
        assert!(e.to_string().contains(b), "{e}");
    }
}
