//! The Architect data action shape, against the sandbox over real HTTP.

mod common;

use std::time::Duration;

use base64::Engine as _;
use bridge_sandbox::{count, Fault};
use bridge_testkit::ids::*;
use bridge_testkit::{
    calls, capture_logs, data_action_ctx, data_action_ctx_with_deadline, edit_org, org_alias_arn,
    OrgHarness,
};
use common::*;
use lambda_runtime::Context;
use serde_json::{json, Value};
use ticket_status::handle;

/// Invokes the handler as Genesys invokes the event's org's data action (its alias).
async fn invoke(env: &OrgHarness, event: Value) -> Result<Value, lambda_runtime::Diagnostic> {
    let ctx = data_action_ctx("ticket-status", &event);
    handle(&env.rt, event, ctx).await
}

#[tokio::test]
async fn data_action_updates_the_ticket_safely() {
    let env = OrgHarness::start().await;
    let event = fixture("data-action-solve.json");
    let out = invoke(&env, event.clone()).await.unwrap();
    assert_eq!(
        out,
        json!({"ok": true, "ticketId": "1001", "status": "solved", "previousStatus": "open",
               "changed": true, "followUpTicketId": ""})
    );
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "solved");
    let comments = env.sandbox.state().ticket_comments("acme", 1001);
    assert_eq!(
        comments.last().unwrap(),
        &(event["comment"].as_str().unwrap().to_string(), false)
    );

    let j = env.sandbox.journal();
    assert_eq!(
        calls(&j),
        vec![
            ("GET".into(), ticket_path("acme", 1001)),
            ("PUT".into(), ticket_path("acme", 1001))
        ]
    );
    let put = &j[1];
    let t = &put.body.as_ref().unwrap()["ticket"];
    assert_eq!(t["status"], "solved");
    assert_eq!(t["safe_update"], true);
    assert_eq!(
        t["updated_stamp"], "2025-03-03T09:16:40Z",
        "stamp = updated_at as read"
    );
    assert_eq!(put.auth, "basic");
    assert_eq!(
        env.sandbox.state().tokens_issued(),
        0,
        "a data action needs no Genesys call"
    );
}

#[tokio::test]
async fn numeric_ticket_id_already_at_status_is_a_no_op() {
    let env = OrgHarness::start().await;
    let out = invoke(&env, fixture("data-action-numeric-id.json"))
        .await
        .unwrap();
    assert_eq!(out["changed"], false);
    assert_eq!(out["previousStatus"], "pending");
    assert_eq!(out["ticketId"], "1002");
    assert_eq!(
        calls(&env.sandbox.journal()),
        vec![("GET".into(), ticket_path("acme", 1002))]
    );
}

#[tokio::test]
async fn bad_input_is_rejected_before_any_call() {
    let env = OrgHarness::start().await;
    let e = invoke(&env, fixture("data-action-invalid-status.json"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Input.InvalidInput");
    assert!(
        e.error_message.contains("`status`")
            && e.error_message
                .contains("new, open, pending, hold, solved, closed"),
        "{}",
        e.error_message
    );
    for (event, field) in [
        (
            json!({"orgId": ORG_A, "ticketId": "12a", "status": "open"}),
            "ticketId",
        ),
        (json!({"ticketId": "1001", "status": "open"}), "orgId"),
        (
            json!({"orgId": ORG_A, "ticketId": 1001, "status": "open", "public": "no"}),
            "public",
        ),
        (json!("just a string"), "`event`"),
        (
            json!({"Records": [{"eventSource": "aws:sns"}]}),
            "eventSource",
        ),
    ] {
        let e = invoke(&env, event.clone()).await.unwrap_err();
        assert_eq!(e.error_type, "Input.InvalidInput", "{event}");
        assert!(
            e.error_message.contains(field),
            "{event}: {}",
            e.error_message
        );
    }
    assert!(env.sandbox.journal().is_empty());
    assert_eq!(env.source.fetches(), 0, "no secret read for rejected input");
}

#[tokio::test]
async fn unknown_org_missing_ticket_and_wrong_alias() {
    let env = OrgHarness::start().await;
    let e = invoke(
        &env,
        json!({"orgId": "00000000-0000-4000-8000-000000000000", "ticketId": "1", "status": "open"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type, "Config.UnknownOrg");

    let e = invoke(
        &env,
        json!({"orgId": ORG_A, "ticketId": "999999", "status": "open"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type, "Zendesk.NotFound");
    assert!(
        e.error_message.contains("Zendesk answered 404") && e.error_message.contains("999999"),
        "{}",
        e.error_message
    );

    env.sandbox.clear_journal();
    let mut ctx = Context::default();
    ctx.invoked_function_arn =
        format!("arn:aws:lambda:eu-west-1:123456789012:function:ticket-status:org-{ORG_B}");
    let e = handle(&env.rt, fixture("data-action-solve.json"), ctx)
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Bridge.WrongOrg");
    assert!(env.sandbox.journal().is_empty());
}

#[tokio::test]
async fn conflict_then_success() {
    let env = OrgHarness::start().await;
    env.sandbox
        .inject(Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json").statuses([409]));
    let out = invoke(&env, fixture("data-action-solve.json"))
        .await
        .unwrap();
    assert_eq!(out["changed"], true);
    assert_eq!(out["previousStatus"], "open");
    let j = env.sandbox.journal();
    assert_eq!(
        count(&j, "GET", &ticket_path("acme", 1001)),
        2,
        "re-read after the 409"
    );
    assert_eq!(count(&j, "PUT", &ticket_path("acme", 1001)), 2);
    assert_eq!(
        j.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![200, 409, 200, 200]
    );
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "solved");
}

#[tokio::test]
async fn conflict_retries_are_bounded() {
    let env = OrgHarness::start().await;
    env.sandbox.inject(
        Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json").statuses([409, 409, 409, 409]),
    );
    let e = invoke(&env, fixture("data-action-solve.json"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Zendesk.Conflict");
    assert!(
        e.error_message
            .contains("gave up after 3 safe-update tries"),
        "{}",
        e.error_message
    );
    assert_eq!(
        count(&env.sandbox.journal(), "PUT", "/zendesk/**"),
        ticket_status::MAX_SAFE_UPDATE_TRIES as usize
    );
}

#[tokio::test]
async fn conflict_where_the_reread_shows_the_target_stops_without_a_second_put() {
    let env = OrgHarness::start().await;
    // The PUT stalls; meanwhile an agent solves the ticket. The stalled PUT then gets 409.
    env.sandbox.inject(
        Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json")
            .statuses([409])
            .latency(std::time::Duration::from_millis(800)),
    );
    let sb_state = env.sandbox.state();
    let journal_probe = &env.sandbox;
    let agent = async {
        while count(&journal_probe.journal(), "GET", &ticket_path("acme", 1001)) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        sb_state.set_ticket_status("acme", 1001, "solved");
    };
    let (out, ()) = tokio::join!(invoke(&env, fixture("data-action-solve.json")), agent);
    let out = out.unwrap();
    assert_eq!(out["changed"], false);
    let j = env.sandbox.journal();
    assert_eq!(count(&j, "PUT", "/zendesk/**"), 1);
    assert_eq!(count(&j, "GET", &ticket_path("acme", 1001)), 2);
}

#[tokio::test]
async fn closed_ticket_is_a_clear_permanent_error() {
    let env = OrgHarness::start().await;
    let e = invoke(&env, fixture("data-action-closed-ticket.json"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Zendesk.ClosedTicket");
    assert!(
        e.error_message
            .contains("closed tickets cannot change; create a follow-up"),
        "{}",
        e.error_message
    );
    assert!(e.error_message.contains("1004"), "{}", e.error_message);
    assert_eq!(
        count(&env.sandbox.journal(), "PUT", "/zendesk/**"),
        0,
        "seen closed on read: nothing sent"
    );

    // Closed between our read and our write: Zendesk's own 422.
    env.sandbox.inject(
        Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json")
            .statuses([422])
            .body(json!({
        "error": "RecordInvalid", "description": "Record validation errors",
        "details": {"status": [{"description": "Status: closed prevents ticket update"}]}})),
    );
    let e = invoke(&env, fixture("data-action-solve.json"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Zendesk.ClosedTicket");
    assert!(
        e.error_message.contains("Zendesk answered 422")
            && e.error_message.contains("create a follow-up"),
        "{}",
        e.error_message
    );
    assert_eq!(
        count(&env.sandbox.journal(), "PUT", "/zendesk/**"),
        1,
        "not retried"
    );
}

#[tokio::test]
async fn closed_ticket_with_follow_up_rule_creates_one() {
    let env = OrgHarness::start().await;
    let event = fixture("data-action-followup-globex.json");
    let out = invoke(&env, event.clone()).await.unwrap();
    assert_eq!(out["ok"], true);
    assert_eq!(out["changed"], false);
    assert_eq!(out["previousStatus"], "closed");
    let id: u64 = out["followUpTicketId"]
        .as_str()
        .unwrap()
        .parse()
        .expect("follow-up id is a number string");
    assert_eq!(status_of(&env.sandbox, "globex", 2002), "closed");
    let comments = env.sandbox.state().ticket_comments("globex", id);
    assert!(
        comments[0].0.contains("#2002")
            && comments[0].0.contains(event["comment"].as_str().unwrap()),
        "{comments:?}"
    );
    let j = env.sandbox.journal();
    assert_eq!(count(&j, "POST", "/zendesk/globex/api/v2/tickets.json"), 1);
    assert_eq!(
        j.iter()
            .find(|e| e.method == "POST")
            .unwrap()
            .body
            .as_ref()
            .unwrap()["ticket"]["via_followup_source_id"],
        2002
    );
}

const WRONG_TOKEN: &str = "WRONG-zd-token-4f7c2a9e81";

#[tokio::test]
async fn bad_zendesk_token_says_zendesk_refused_and_never_shows_the_token() {
    let (logs, _guard) = capture_logs();
    let env = OrgHarness::start_with(|m| {
        edit_org(m, ORG_A, |d| {
            d["zendesk"]["auth"]["apiToken"] = json!(WRONG_TOKEN)
        })
    })
    .await;
    let e = invoke(&env, fixture("data-action-solve.json"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Zendesk.BadCredentials");
    for part in [
        "Zendesk answered 401",
        "Couldn't authenticate you",
        "API token for bridge@acme.example",
        "not Genesys",
        "ticket 1001",
        ORG_A,
    ] {
        assert!(
            e.error_message.contains(part),
            "{part:?} missing: {}",
            e.error_message
        );
    }
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("bridge@acme.example/token:{WRONG_TOKEN}"));
    let logs = logs.text();
    assert!(
        logs.contains("Zendesk.BadCredentials"),
        "the failure is logged: {logs}"
    );
    for secret in [WRONG_TOKEN, basic.as_str()] {
        assert!(
            !e.error_message.contains(secret),
            "error text leaks {secret}"
        );
        assert!(!logs.contains(secret), "logs leak {secret}");
    }
    // One GET, refused; the config re-read found the same credential, so no second try.
    assert_eq!(
        calls(&env.sandbox.journal()),
        vec![("GET".into(), ticket_path("acme", 1001))]
    );
    assert_eq!(
        env.source.fetches(),
        2,
        "first load + one forced re-read after the 401"
    );
}

#[tokio::test]
async fn bad_zendesk_oauth_token_says_oauth() {
    let (logs, _guard) = capture_logs();
    let env = OrgHarness::start_with(|m| {
        edit_org(m, ORG_A, |d| {
            d["zendesk"]["auth"] = json!({"type": "oauth", "accessToken": WRONG_TOKEN})
        })
    })
    .await;
    let e = invoke(&env, fixture("data-action-solve.json"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Zendesk.BadCredentials");
    assert!(
        e.error_message.contains("OAuth access token") && e.error_message.contains("not Genesys"),
        "{}",
        e.error_message
    );
    assert!(!e.error_message.contains(WRONG_TOKEN) && !logs.text().contains(WRONG_TOKEN));
}

#[tokio::test]
async fn rotated_zendesk_token_is_picked_up_after_a_401() {
    let env = OrgHarness::start_with(|m| {
        edit_org(m, ORG_A, |d| {
            d["zendesk"]["auth"]["apiToken"] = json!(WRONG_TOKEN)
        })
    })
    .await;
    // Warm the cache with the wrong token (a 401 whose re-read finds nothing new).
    invoke(&env, fixture("data-action-numeric-id.json"))
        .await
        .unwrap_err();
    // The admin fixes the secret; the cached config (TTL 300 s) still holds the old token.
    edit_org(env.source.inner(), ORG_A, |d| {
        d["zendesk"]["auth"]["apiToken"] = json!("acme-zendesk-token-local")
    });
    env.sandbox.clear_journal();
    let out = invoke(&env, fixture("data-action-solve.json"))
        .await
        .unwrap();
    assert_eq!(out["changed"], true);
    assert_eq!(
        env.sandbox
            .journal()
            .iter()
            .map(|e| e.status)
            .collect::<Vec<_>>(),
        vec![401, 200, 200]
    );
}

#[tokio::test]
async fn rate_limit_within_the_deadline_is_waited_out() {
    let env = OrgHarness::start().await;
    env.sandbox.inject(
        Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json")
            .statuses([429])
            .retry_after(1),
    );
    let event = fixture("data-action-solve.json");
    let ctx = data_action_ctx_with_deadline("ticket-status", &event, Duration::from_secs(15));
    let out = handle(&env.rt, event, ctx).await.unwrap();
    assert_eq!(out["changed"], true);
    assert_eq!(
        env.sandbox
            .journal()
            .iter()
            .map(|e| e.status)
            .collect::<Vec<_>>(),
        vec![200, 429, 200]
    );
}

#[tokio::test]
async fn rate_limit_beyond_the_deadline_fails_fast_with_the_wait() {
    let env = OrgHarness::start().await;
    env.sandbox.inject(
        Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json")
            .statuses([429])
            .retry_after(30),
    );
    let event = fixture("data-action-solve.json");
    let ctx = data_action_ctx_with_deadline("ticket-status", &event, Duration::from_secs(5));
    let e = handle(&env.rt, event, ctx).await.unwrap_err();
    assert_eq!(e.error_type, "Zendesk.RateLimited");
    assert!(
        e.error_message
            .contains("waiting 30.0s would pass the invocation deadline"),
        "{}",
        e.error_message
    );
    assert_eq!(
        count(&env.sandbox.journal(), "PUT", "/zendesk/**"),
        1,
        "no spinning"
    );

    // No Lambda deadline at all: the data action's own 18 s budget still bounds the wait.
    env.sandbox.inject(
        Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json")
            .statuses([429])
            .retry_after(60),
    );
    let e = invoke(&env, fixture("data-action-solve.json"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Zendesk.RateLimited");
    assert!(
        e.error_message.contains("waiting 60.0s"),
        "{}",
        e.error_message
    );
}

/// The first reproduction: an admin of org A edits the request template to
/// `{"orgId":"<org B>","ticketId":"2003","status":"open"}`. Before, an unqualified invoke
/// reopened org B's ticket with org B's credentials; now only org B's own alias acts for B.
#[tokio::test]
async fn a_request_template_naming_another_org_reopens_nothing() {
    let env = OrgHarness::start().await;
    let event = json!({"orgId": ORG_B, "ticketId": "2003", "status": "open"});
    let invoke = |arn: String| {
        let mut ctx = Context::default();
        ctx.invoked_function_arn = arn;
        handle(&env.rt, event.clone(), ctx)
    };
    let unqualified = "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-ticket-status";
    let e = invoke(unqualified.to_string()).await.unwrap_err();
    assert_eq!(e.error_type, "Bridge.OrgAliasRequired");
    assert!(
        e.error_message
            .contains(&format!("{unqualified}:org-{ORG_B}")),
        "names the alias to use: {}",
        e.error_message
    );
    for arn in [
        format!("{unqualified}:{ORG_B}"),
        format!("{unqualified}:$LATEST"),
        "function-arn".to_string(),
    ] {
        let e = invoke(arn.clone()).await.unwrap_err();
        assert_eq!(e.error_type, "Bridge.OrgAliasRequired", "{arn}");
    }
    let e = invoke(org_alias_arn("ticket-status", ORG_A))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Bridge.WrongOrg");
    assert!(e.error_message.contains(ORG_A) && e.error_message.contains(ORG_B));
    // Nothing was read, nothing was sent: org B's ticket is still solved.
    assert_eq!(env.source.fetches(), 0);
    assert!(env.sandbox.journal().is_empty());
    assert_eq!(status_of(&env.sandbox, "globex", 2003), "solved");

    // Org B's own data action (its alias) may reopen it, with org B's credentials.
    let out = invoke(org_alias_arn("ticket-status", ORG_B)).await.unwrap();
    assert_eq!(out["changed"], true);
    assert_eq!(status_of(&env.sandbox, "globex", 2003), "open");
    assert_eq!(
        (env.source.fetches_for(ORG_A), env.source.fetches_for(ORG_B)),
        (0, 1)
    );
}
