//! The Architect Lambda data action: send one message now, at most once per
//! `idempotencyKey`, and answer the flat output of `infra/genesys/agentless-messages.action.json`.
//!
//! A message that may have been sent (the send reached Genesys and no answer says whether
//! it took effect) is a Lambda error of type `Genesys.MayHaveBeenSent`, so the flow takes
//! its Failure path knowing not to send it again; the same key later answers the same. A
//! repeat of a sent message answers the first send's ids with `duplicate: true`.

use std::time::Duration;

use serde::Serialize;
use tracing::Instrument;

use bridge::{Deadline, Result};
use lambda_runtime::Context;
use serde_json::Value;

use crate::apply::{self, Delivery, Messenger};
use crate::input::{parse_action_input, ActionInput};
use crate::plan::{claim_key, needs_conversation, resolve};

/// A data action must answer within 20 s whatever the Lambda timeout is (upstream facts).
pub const DATA_ACTION_BUDGET: Duration = Duration::from_secs(18);

/// The data action's success output: flat strings and booleans, as Architect wants them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutput {
    /// Genesys took the message (always true: failures are Lambda errors).
    pub ok: bool,
    /// The id Genesys answered for the message; `""` if it answered none.
    pub message_id: String,
    /// The conversation the message is in; `""` if Genesys answered none.
    pub conversation_id: String,
    /// `sms` or `whatsapp`.
    pub messenger_type: String,
    /// True when this key's message had been sent by an earlier call (nothing was sent now).
    pub duplicate: bool,
    /// `ININ-Correlation-Id` of the send, for Genesys support; `""` for a duplicate.
    pub correlation_id: String,
}

/// The deadline of a data action: the Lambda's, but never more than [`DATA_ACTION_BUDGET`].
pub fn data_action_deadline(m: &Messenger, ctx: &Context) -> Deadline {
    let lambda = m.rt.deadline(ctx);
    match lambda.remaining() {
        Some(left) if left <= DATA_ACTION_BUDGET => lambda,
        _ => Deadline::after(DATA_ACTION_BUDGET),
    }
}

/// How long a claim lasts: the invocation's deadline (epoch ms), or a minute when there is
/// none (tests, local runs).
pub fn claim_until(ctx: &Context) -> u64 {
    match ctx.deadline {
        0 => apply::now_ms() + 60_000,
        d => d,
    }
}

/// Runs one data action invocation.
pub async fn run(m: &Messenger, event: &Value, ctx: &Context) -> Result<ActionOutput> {
    // Shape first: nothing is read or sent for a malformed request.
    let mut input = parse_action_input(event)?;
    // The org whose credentials and senders are used is the one of the alias Genesys
    // invoked; nothing is read for any org before this.
    input.org_id = m.rt.data_action_org(ctx, &input.org_id)?;
    let span =
        tracing::info_span!("data_action", org_id = %input.org_id, request_id = %ctx.request_id);
    let owner = bridge::idempotency::owner(&ctx.request_id);
    send(
        m,
        input,
        &owner,
        data_action_deadline(m, ctx),
        claim_until(ctx),
    )
    .instrument(span)
    .await
}

async fn send(
    m: &Messenger,
    input: ActionInput,
    owner: &str,
    deadline: Deadline,
    claim_until_ms: u64,
) -> Result<ActionOutput> {
    let org = m.org(&input.org_id).await?;
    let msg = &input.message;
    let customer = match &msg.conversation_id {
        Some(c) if needs_conversation(&org.messaging, msg) => {
            Some(m.customer(&org, c, deadline).await?)
        }
        _ => None,
    };
    let req =
        resolve(&org.messaging, msg, customer.as_ref(), "").map_err(|e| e.or_org(&org.org_id))?;
    // `parse_action_input` makes the key required.
    let key = claim_key(&org.org_id, msg, "");
    let messenger_type = req.to_address_messenger_type.clone();
    match apply::send_once(m, org, &key, owner, &req, claim_until_ms, deadline).await? {
        Delivery::Sent {
            message_id,
            conversation_id,
            correlation_id,
            duplicate,
        } => Ok(ActionOutput {
            ok: true,
            message_id: message_id.unwrap_or_default(),
            conversation_id: conversation_id.unwrap_or_default(),
            messenger_type,
            duplicate,
            correlation_id: correlation_id.unwrap_or_default(),
        }),
        Delivery::MayHaveBeenSent { error, .. } => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_is_flat_camel_case() {
        let o = ActionOutput {
            ok: true,
            message_id: "m".into(),
            conversation_id: "c".into(),
            messenger_type: "sms".into(),
            duplicate: false,
            correlation_id: "x".into(),
        };
        assert_eq!(
            serde_json::to_value(o).unwrap(),
            json!({"ok": true, "messageId": "m", "conversationId": "c", "messengerType": "sms",
                   "duplicate": false, "correlationId": "x"})
        );
    }
}
