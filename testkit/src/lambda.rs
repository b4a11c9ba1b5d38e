//! Lambda contexts as the runtime hands them to a handler.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A context whose deadline is `left` from now, with a request id of its own (as every
/// real invocation has one).
pub fn ctx_with_deadline(left: Duration) -> lambda_runtime::Context {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    let mut ctx = lambda_runtime::Context::default();
    ctx.deadline = u64::try_from((now + left).as_millis()).expect("a deadline in ms fits u64");
    ctx.request_id = format!("test-request-{}", uuid::Uuid::new_v4());
    ctx
}

/// The ARN Genesys invokes for `org_id`'s data action of `function` in the shared stack: the
/// alias `org-<orgId>` its org stack creates (the function named as the stack names it).
pub fn org_alias_arn(function: &str, org_id: &str) -> String {
    format!(
        "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-{function}:{}",
        bridge::tenancy::alias_name(org_id)
    )
}

/// A data action's context, invoked through the alias of the org the event names
/// (`orgId`), as Genesys invokes an org's imported data action; no deadline.
pub fn data_action_ctx(function: &str, event: &serde_json::Value) -> lambda_runtime::Context {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = "test-request".into();
    ctx.invoked_function_arn = org_alias_arn(function, event_org(event));
    ctx
}

/// [`data_action_ctx`] with a deadline `left` from now.
pub fn data_action_ctx_with_deadline(
    function: &str,
    event: &serde_json::Value,
    left: Duration,
) -> lambda_runtime::Context {
    let mut ctx = ctx_with_deadline(left);
    ctx.invoked_function_arn = org_alias_arn(function, event_org(event));
    ctx
}

/// The event's `orgId` as sent; "" if none (the function then refuses the input first).
fn event_org(event: &serde_json::Value) -> &str {
    event
        .get("orgId")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
}
