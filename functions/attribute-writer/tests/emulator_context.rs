//! The reproduction of issue 14: under `cargo lambda watch` (cargo-lambda 1.9.2) every
//! invocation failed with `Genesys.DeadlineExceeded … no time left before the invocation
//! deadline (attempt 1)`, because its emulator sends `Lambda-Runtime-Deadline-Ms: 600000`
//! (a duration) and `Lambda-Runtime-Invoked-Function-Arn: function-arn`.

mod common;

use common::*;

#[tokio::test]
async fn the_cargo_lambda_emulator_context_writes_the_attributes() {
    let h = Harness::start().await;
    let mut ctx = lambda_runtime::Context::default();
    ctx.deadline = 600_000;
    ctx.invoked_function_arn = "function-arn".into();
    ctx.request_id = "emulator-request".into();
    let out = attribute_writer::handle_with(
        &h.rt,
        &h.opts,
        fixture("data-action-attributes-json.json"),
        ctx,
    )
    .await
    .expect("the write succeeds under the emulator's context");
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(
        bridge_sandbox::count(&h.journal(), "PATCH", ATTR_PATCH),
        1,
        "{}",
        show(&h.journal())
    );
}
