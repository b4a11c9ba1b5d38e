//! `ticket-status`: moves a Zendesk ticket to a status, from an Architect Lambda data action
//! (synchronous) or from SQS batches of `ticket.wrapup` jobs (agent wrap-up), with safe
//! updates, no-op when nothing would change, and errors that say which side refused and why.
//!
//! One entry point, [`handle`], tells the two event shapes apart by structure: an SQS event
//! has `Records` whose `eventSource` is `aws:sqs`; anything else is data action input.

pub mod input;
pub mod update;
pub mod wrapup;

use std::time::Duration;

use bridge::{BridgeError, Deadline, Runtime};
use lambda_runtime::{Context, Diagnostic};
use serde_json::Value;
use tracing::Instrument;

pub use input::{ActionInput, ActionOutput};
pub use update::{Applied, Change, MAX_SAFE_UPDATE_TRIES};
pub use wrapup::{MessageOutcome, Outcome};

/// A data action must answer within 20 s whatever the Lambda timeout is (upstream facts);
/// waiting longer (say for a Zendesk `Retry-After`) would only turn a clear error into an
/// Architect timeout.
pub const DATA_ACTION_BUDGET: Duration = Duration::from_secs(18);

/// Which of the two event shapes arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Sqs,
    DataAction,
}

/// Tells the shapes apart by structure, never by a field the data action could also send.
pub fn shape_of(event: &Value) -> Result<Shape, BridgeError> {
    let Some(records) = event.get("Records") else {
        return Ok(Shape::DataAction);
    };
    let Some(records) = records.as_array() else {
        return Err(BridgeError::validation(
            "Records",
            "expected an SQS event (`Records` is an array) or the data action input object",
        ));
    };
    match records.iter().find_map(|r| r.get("eventSource").and_then(Value::as_str)) {
        Some("aws:sqs") => Ok(Shape::Sqs),
        // An empty batch cannot come from SQS, but answering it empty harms nothing.
        None if records.is_empty() => Ok(Shape::Sqs),
        other => Err(BridgeError::validation(
            "Records[].eventSource",
            format!(
                "this function takes SQS batches of ticket.wrapup jobs (eventSource \"aws:sqs\") or data action input; got eventSource {:?}",
                other.unwrap_or("(none)")
            ),
        )),
    }
}

/// The Lambda handler for both shapes. Data action: the flat output object, or a Lambda
/// error whose `errorType` is the stable [`BridgeError::error_type`] string. SQS: the
/// `batchItemFailures` response (an error only when every message failed).
pub async fn handle(rt: &Runtime, event: Value, ctx: Context) -> Result<Value, Diagnostic> {
    let shape = shape_of(&event).map_err(|e| failed("ticket-status", e))?;
    let span = tracing::info_span!("ticket_status", request_id = %ctx.request_id, shape = ?shape);
    async move {
        match shape {
            Shape::DataAction => data_action(rt, event, &ctx)
                .await
                .map_err(|e| failed("data action", e)),
            Shape::Sqs => sqs_batch(rt, event, &ctx)
                .await
                .map_err(|e| failed("SQS batch", e)),
        }
    }
    .instrument(span)
    .await
}

fn failed(what: &str, e: BridgeError) -> Diagnostic {
    tracing::warn!(error_type = %e.error_type(), org_id = e.org_id.as_deref().unwrap_or(""),
        status = e.status.unwrap_or(0), correlation_id = e.correlation_id.as_deref().unwrap_or(""),
        error = %e, "{what} failed");
    e.into()
}

/// The deadline of a data action: the Lambda's, but never more than [`DATA_ACTION_BUDGET`].
pub fn data_action_deadline(rt: &Runtime, ctx: &Context) -> Deadline {
    let lambda = rt.deadline(ctx);
    match lambda.remaining() {
        Some(left) if left <= DATA_ACTION_BUDGET => lambda,
        _ => Deadline::after(DATA_ACTION_BUDGET),
    }
}

/// The per-org alias rule of every data-action function (see
/// [`bridge::runtime::check_invocation_alias`]).
pub use bridge::runtime::check_invocation_alias as check_alias;

async fn data_action(rt: &Runtime, event: Value, ctx: &Context) -> Result<Value, BridgeError> {
    let input = ActionInput::parse(&event)?;
    check_alias(&ctx.invoked_function_arn, &input.org_id)?;
    let span = tracing::info_span!("data_action", org_id = %input.org_id, ticket_id = input.ticket_id, status = %input.status);
    async {
        let cfg = rt.orgs.get(&input.org_id).await?;
        let deadline = data_action_deadline(rt, ctx);
        let change = Change {
            ticket_id: input.ticket_id,
            status: input.status.clone(),
            comment: input.comment.clone().map(|body| bridge::zendesk::Comment {
                body,
                public: input.public,
            }),
        };
        let applied = update::apply(rt, cfg, deadline, &change)
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
        let out = ActionOutput {
            ok: true,
            ticket_id: input.ticket_id.to_string(),
            status: input.status.clone(),
            previous_status: previous,
            changed,
            follow_up_ticket_id: follow_up,
        };
        serde_json::to_value(out)
            .map_err(|e| BridgeError::internal(format!("could not write the output: {e}")))
    }
    .instrument(span)
    .await
}

async fn sqs_batch(rt: &Runtime, event: Value, ctx: &Context) -> Result<Value, BridgeError> {
    let event = bridge::batch::parse_sqs_event(event)?;
    let outcomes = wrapup::process(rt, &event, rt.deadline(ctx)).await;
    let response = wrapup::report(&outcomes)?;
    serde_json::to_value(response)
        .map_err(|e| BridgeError::internal(format!("could not write the batch response: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        assert_eq!(shape_of(&json!({"orgId": "x"})).unwrap(), Shape::DataAction);
        assert_eq!(
            shape_of(&json!({"Records": [{"eventSource": "aws:sqs"}]})).unwrap(),
            Shape::Sqs
        );
        assert_eq!(shape_of(&json!({"Records": []})).unwrap(), Shape::Sqs);
        let e = shape_of(&json!({"Records": [{"eventSource": "aws:sns"}]})).unwrap_err();
        assert!(e.message.contains("aws:sns"), "{e}");
        assert!(shape_of(&json!({"Records": "x"})).is_err());
    }

    #[test]
    fn alias_must_match_the_org() {
        let org = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
        let arn =
            |q: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:ticket-status{q}");
        assert!(check_alias(&arn(""), org).is_ok());
        assert!(check_alias(&arn(":live"), org).is_ok());
        assert!(check_alias(&arn(&format!(":org-{org}")), org).is_ok());
        let e = check_alias(&arn(":org-9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22"), org).unwrap_err();
        assert_eq!(e.error_type(), "Bridge.WrongOrg");
        assert!(check_alias("", org).is_ok());
    }
}
