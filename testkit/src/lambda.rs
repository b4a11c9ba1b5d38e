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
