//! The Architect Lambda data action: move one ticket to the status the flow asks for, and
//! answer the flat output object the action's contract names.

use std::time::Duration;

use bridge::{Deadline, Result, Runtime};
use lambda_runtime::Context;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use crate::apply::{self, Applied};
use crate::input::ActionInput;
use crate::plan::Change;

/// A data action must answer within 20 s whatever the Lambda timeout is (upstream facts);
/// waiting longer (say for a Zendesk `Retry-After`) would only turn a clear error into an
/// Architect timeout.
pub const DATA_ACTION_BUDGET: Duration = Duration::from_secs(18);

/// The data action's success output: flat strings and booleans, as Architect wants them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutput {
    pub ok: bool,
    pub ticket_id: String,
    /// The status asked for.
    pub status: String,
    /// The status the ticket had when read.
    pub previous_status: String,
    /// Whether this call changed the ticket's status.
    pub changed: bool,
    /// The follow-up ticket created for a closed ticket (`rules.closedTicket: "followUp"`),
    /// `""` when none.
    pub follow_up_ticket_id: String,
}

/// The deadline of a data action: the Lambda's, but never more than [`DATA_ACTION_BUDGET`].
pub fn data_action_deadline(rt: &Runtime, ctx: &Context) -> Deadline {
    let lambda = rt.deadline(ctx);
    match lambda.remaining() {
        Some(left) if left <= DATA_ACTION_BUDGET => lambda,
        _ => Deadline::after(DATA_ACTION_BUDGET),
    }
}

/// Runs one data action invocation.
pub async fn run(rt: &Runtime, event: &Value, ctx: &Context) -> Result<ActionOutput> {
    let mut input = ActionInput::parse(event)?;
    // The org whose credentials are used is the one of the alias Genesys invoked.
    input.org_id = rt.data_action_org(ctx, &input.org_id)?;
    let span = tracing::info_span!("data_action", org_id = %input.org_id, ticket_id = input.ticket_id, status = %input.status);
    update(rt, input, data_action_deadline(rt, ctx))
        .instrument(span)
        .await
}

async fn update(rt: &Runtime, input: ActionInput, deadline: Deadline) -> Result<ActionOutput> {
    let cfg = rt.orgs.get(&input.org_id).await?;
    let change = Change {
        ticket_id: input.ticket_id,
        status: input.status.clone(),
        comment: input.comment.clone().map(|body| bridge::zendesk::Comment {
            body,
            public: input.public,
        }),
        // A data action is one synchronous request with nothing to tell a repeat by: a
        // lost answer fails it rather than risk a second follow-up.
        request_key: None,
    };
    let applied = apply::update_ticket(rt, cfg, deadline, &change)
        .await
        .map_err(|e| e.or_org(&input.org_id))?;
    let (previous, changed, follow_up) = match applied {
        Applied::Updated { previous } => (previous, true, String::new()),
        Applied::Unchanged => (input.status.clone(), false, String::new()),
        Applied::FollowUp { follow_up_id } => {
            ("closed".to_string(), false, follow_up_id.to_string())
        }
    };
    if !changed && follow_up.is_empty() && input.comment.is_some() {
        // The rule: no PUT when the status already matches, so the comment is
        // not added either. Say so where an admin will look.
        tracing::warn!(org_id = %input.org_id, ticket_id = input.ticket_id,
            "ticket already had the status: no update sent, so the comment was not added");
    }
    Ok(ActionOutput {
        ok: true,
        ticket_id: input.ticket_id.to_string(),
        status: input.status,
        previous_status: previous,
        changed,
        follow_up_ticket_id: follow_up,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_is_flat_camel_case() {
        let o = ActionOutput {
            ok: true,
            ticket_id: "1001".into(),
            status: "solved".into(),
            previous_status: "open".into(),
            changed: true,
            follow_up_ticket_id: String::new(),
        };
        assert_eq!(
            serde_json::to_value(o).unwrap(),
            json!({"ok": true, "ticketId": "1001", "status": "solved", "previousStatus": "open",
                   "changed": true, "followUpTicketId": ""})
        );
    }
}
