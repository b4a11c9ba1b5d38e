//! The reproduction of issue 14: under `cargo lambda watch` (cargo-lambda 1.9.2) every
//! invocation failed with `Genesys.DeadlineExceeded … no time left before the invocation
//! deadline (attempt 1)`, because its emulator sends `Lambda-Runtime-Deadline-Ms: 600000`
//! (a duration) and `Lambda-Runtime-Invoked-Function-Arn: function-arn`. The emulator knows
//! no org alias, so the documented local path names the one org it serves
//! (`BRIDGE_SINGLE_ORG_ID`).

mod common;

use bridge::tenancy::DataActionOrgs;
use bridge_testkit::ids::ORG_A;
use bridge_testkit::show;
use common::*;

#[tokio::test]
async fn the_cargo_lambda_emulator_context_writes_the_attributes() {
    let mut h = Harness::start().await;
    h.orgs.rt.data_action_orgs = DataActionOrgs::SingleOrg(ORG_A.into());
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
    let journal = h.journal();
    assert_eq!(
        bridge_sandbox::count(&journal, "PATCH", ATTR_PATCH),
        1,
        "{}",
        show(&journal)
    );
}
