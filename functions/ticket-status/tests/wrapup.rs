//! SQS batches of `ticket.wrapup` jobs, against the sandbox over real HTTP.

mod common;

use std::time::Duration;

use bridge_sandbox::{count, Fault};
use bridge_testkit::ids::*;
use bridge_testkit::{calls, capture_logs, ctx_with_deadline, edit_org, OrgHarness};
use common::*;
use lambda_runtime::Context;
use serde_json::{json, Value};
use ticket_status::{handle, Outcome, Wrapups};

async fn invoke(env: &OrgHarness, event: Value) -> Value {
    handle(&env.rt, event, Context::default())
        .await
        .expect("batch answered")
}

async fn outcomes(env: &OrgHarness, event: &Value) -> Vec<Outcome> {
    let ev = serde_json::from_value(event.clone()).unwrap();
    let worker = Wrapups::new(&env.rt, bridge::Deadline::none());
    bridge::batch::settle(&worker, &ev)
        .await
        .into_iter()
        .map(|(_, outcome)| outcome)
        .collect()
}

fn conv_path(id: &str) -> String {
    format!("/api/v2/conversations/{id}")
}

#[tokio::test]
async fn wrapup_maps_the_code_and_finds_the_ticket_on_the_customer_participant() {
    let env = OrgHarness::start().await;
    let resp = invoke(&env, fixture("sqs-wrapup-from-attribute.json")).await;
    assert!(failures(&resp).is_empty(), "{resp}");
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "solved");
    let (note, public) = env
        .sandbox
        .state()
        .ticket_comments("acme", 1001)
        .pop()
        .expect("a note");
    assert!(!public, "the note is internal");
    for part in [CONV_A1, SOLVED_CODE, AGENT_USER_A] {
        assert!(note.contains(part), "note lacks {part}: {note}");
    }
    let j = env.sandbox.journal();
    let zendesk_and_api: Vec<_> = calls(&j)
        .into_iter()
        .filter(|(_, p)| !p.starts_with("/oauth"))
        .collect();
    assert_eq!(
        zendesk_and_api,
        vec![
            ("GET".into(), "/api/v2/tokens/me".into()),
            ("GET".into(), conv_path(CONV_A1)),
            ("GET".into(), ticket_path("acme", 1001)),
            ("PUT".into(), ticket_path("acme", 1001)),
        ],
        "cold: token check, then the work"
    );
}

#[tokio::test]
async fn warm_wrapup_job_makes_exactly_three_calls_and_no_secret_or_token_call() {
    let env = OrgHarness::start().await;
    invoke(&env, fixture("sqs-wrapup-from-attribute.json")).await;
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "solved");
    env.sandbox.state().set_ticket_status("acme", 1001, "open");
    let fetches = env.source.fetches();
    let tokens = env.sandbox.state().tokens_issued();
    env.sandbox.clear_journal();

    let body = job(
        2,
        ORG_A,
        CONV_A1,
        CONV_A1_AGENT,
        Some(PENDING_CODE),
        1741001999000,
        None,
    )
    .to_string();
    let resp = invoke(&env, sqs(&[("m-warm", body)])).await;
    assert!(failures(&resp).is_empty(), "{resp}");
    let j = env.sandbox.journal();
    assert_eq!(
        calls(&j),
        vec![
            ("GET".into(), conv_path(CONV_A1)),
            ("GET".into(), ticket_path("acme", 1001)),
            ("PUT".into(), ticket_path("acme", 1001)),
        ]
    );
    assert_eq!(j[0].auth, "bearer");
    assert_eq!(env.source.fetches(), fetches, "no secret call when warm");
    assert_eq!(
        env.sandbox.state().tokens_issued(),
        tokens,
        "no token call when warm"
    );
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "pending");
}

#[tokio::test]
async fn unmapped_code_leaves_the_ticket_alone_without_any_call() {
    let env = OrgHarness::start().await;
    let unmapped = job(
        1,
        ORG_A,
        CONV_A1,
        CONV_A1_AGENT,
        Some("f0f0f0f0-0000-4000-8000-00000000dead"),
        1,
        None,
    );
    let no_code = job(2, ORG_A, CONV_A1, CONV_A1_AGENT, None, 2, None);
    let event = sqs(&[("m1", unmapped.to_string()), ("m2", no_code.to_string())]);
    assert!(failures(&invoke(&env, event.clone()).await).is_empty());
    assert!(
        env.sandbox.journal().is_empty(),
        "{:?}",
        calls(&env.sandbox.journal())
    );
    assert!(outcomes(&env, &event)
        .await
        .iter()
        .all(|o| matches!(o, Outcome::Unmapped { .. })));
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "open");
}

#[tokio::test]
async fn missing_code_uses_the_default_status_when_configured() {
    let env = OrgHarness::start_with(|m| {
        edit_org(m, ORG_A, |d| {
            d["rules"]["defaultWrapupStatus"] = json!("hold")
        })
    })
    .await;
    let no_code = job(1, ORG_A, CONV_A1, CONV_A1_AGENT, None, 1, None);
    let unmapped = job(
        2,
        ORG_A,
        CONV_A1,
        CONV_A1_AGENT,
        Some("not-mapped"),
        2,
        Some(1002),
    );
    let resp = invoke(
        &env,
        sqs(&[("m1", no_code.to_string()), ("m2", unmapped.to_string())]),
    )
    .await;
    assert!(failures(&resp).is_empty());
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "hold");
    assert_eq!(
        status_of(&env.sandbox, "acme", 1002),
        "pending",
        "an unmapped code never takes the default"
    );
}

#[tokio::test]
async fn ticket_already_at_the_status_gets_no_update() {
    let env = OrgHarness::start().await;
    let body = job(
        1,
        ORG_A,
        CONV_A1,
        CONV_A1_AGENT,
        Some(PENDING_CODE),
        1,
        Some(1002),
    )
    .to_string();
    let event = sqs(&[("m1", body)]);
    assert_eq!(
        outcomes(&env, &event).await,
        vec![Outcome::Unchanged {
            ticket_id: 1002,
            status: "pending".into()
        }]
    );
    assert_eq!(
        calls(&env.sandbox.journal()),
        vec![("GET".into(), ticket_path("acme", 1002))]
    );
}

#[tokio::test]
async fn missing_or_malformed_ticket_attribute_is_handled_with_a_reason() {
    let (logs, _guard) = capture_logs();
    let env = OrgHarness::start().await;
    // Conversation 2 has no ticket attribute at all.
    let body = job(1, ORG_A, CONV_A2, CONV_A2_AGENT, Some(SOLVED_CODE), 1, None).to_string();
    let event = sqs(&[("m1", body)]);
    let out = outcomes(&env, &event).await;
    assert!(
        matches!(&out[0], Outcome::NoTicket { reason } if reason.contains("zendesk_ticket_id")),
        "{out:?}"
    );
    assert!(
        failures(&invoke(&env, event.clone()).await).is_empty(),
        "handled, not redelivered forever"
    );
    assert_eq!(count(&env.sandbox.journal(), "*", "/zendesk/**"), 0);

    env.sandbox.state().set_participant_attribute(
        CONV_A2,
        CONV_A2_CUSTOMER,
        "zendesk_ticket_id",
        "ZD-77",
    );
    let resp = invoke(&env, event).await;
    assert!(failures(&resp).is_empty());
    let logs = logs.text();
    assert!(
        logs.contains("no_ticket") && logs.contains("ZD-77") && logs.contains("digits only"),
        "{logs}"
    );
    assert_eq!(count(&env.sandbox.journal(), "*", "/zendesk/**"), 0);
}

#[tokio::test]
async fn batch_collapses_jobs_per_ticket_latest_event_wins() {
    let env = OrgHarness::start().await;
    let event = fixture("sqs-wrapup-batch.json");
    let resp = invoke(&env, event.clone()).await;
    assert!(failures(&resp).is_empty(), "{resp}");
    assert_eq!(
        status_of(&env.sandbox, "acme", 1001),
        "pending",
        "the later event wins"
    );
    assert_eq!(status_of(&env.sandbox, "acme", 1005), "solved");
    assert_eq!(status_of(&env.sandbox, "acme", 1004), "closed");
    let j = env.sandbox.journal();
    assert_eq!(
        count(&j, "PUT", &ticket_path("acme", 1001)),
        1,
        "one update for two jobs"
    );
    assert_eq!(count(&j, "PUT", "/zendesk/**"), 2);
    assert_eq!(count(&j, "GET", &conv_path(CONV_A1)), 1);
    assert_eq!(
        count(&j, "GET", "/api/v2/conversations/*"),
        2,
        "conversations 1 and 3, once each"
    );
    let notes = env.sandbox.state().ticket_comments("acme", 1001);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].0.contains(PENDING_CODE),
        "the winner's note: {notes:?}"
    );

    // The same batch again: now every ticket is where it should be.
    env.sandbox.state().set_ticket_status("acme", 1001, "open");
    let out = outcomes(&env, &event).await;
    let names: Vec<&str> = out.iter().map(|o| o.name()).collect();
    assert_eq!(
        names,
        vec!["superseded", "updated", "unchanged", "unmapped", "closed"]
    );
    assert!(
        matches!(&out[0], Outcome::Superseded { ticket_id: 1001, by_job_id } if by_job_id == "8e3c1f2a-5b6d-4e7f-8a9b-0c1d2e3f4b52:0")
    );
    assert!(
        matches!(&out[4], Outcome::Closed { ticket_id: 1004, error } if error.error_type() == "Zendesk.ClosedTicket")
    );
}

#[tokio::test]
async fn rate_limit_beyond_the_deadline_fails_every_contributing_message_only() {
    let env = OrgHarness::start().await;
    env.sandbox.inject(
        Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json")
            .statuses([429])
            .retry_after(30),
    );
    let a = job(
        1,
        ORG_A,
        CONV_A1,
        CONV_A1_AGENT,
        Some(SOLVED_CODE),
        10,
        None,
    )
    .to_string();
    let b = job(
        2,
        ORG_A,
        CONV_A1,
        CONV_A1_AGENT,
        Some(PENDING_CODE),
        20,
        Some(1001),
    )
    .to_string();
    let c = job(
        3,
        ORG_A,
        CONV_A2,
        CONV_A2_AGENT,
        Some(SOLVED_CODE),
        30,
        Some(1005),
    )
    .to_string();
    let resp = handle(
        &env.rt,
        sqs(&[("m-a", a), ("m-b", b), ("m-c", c)]),
        ctx_with_deadline(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert_eq!(
        failures(&resp),
        vec!["m-a", "m-b"],
        "both jobs of the throttled ticket come back; nothing lost"
    );
    assert_eq!(
        count(&env.sandbox.journal(), "PUT", &ticket_path("acme", 1001)),
        1,
        "no spinning"
    );
    assert_eq!(status_of(&env.sandbox, "acme", 1005), "solved");
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "open");
}

#[tokio::test]
async fn rate_limit_within_the_deadline_and_conflict_are_absorbed() {
    let env = OrgHarness::start().await;
    env.sandbox.inject(
        Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1001.json")
            .statuses([429])
            .retry_after(1),
    );
    env.sandbox
        .inject(Fault::new("PUT", "/zendesk/acme/api/v2/tickets/1005.json").statuses([409]));
    let a = job(
        1,
        ORG_A,
        CONV_A1,
        CONV_A1_AGENT,
        Some(SOLVED_CODE),
        10,
        None,
    )
    .to_string();
    let c = job(
        3,
        ORG_A,
        CONV_A2,
        CONV_A2_AGENT,
        Some(SOLVED_CODE),
        30,
        Some(1005),
    )
    .to_string();
    let resp = handle(
        &env.rt,
        sqs(&[("m-a", a), ("m-c", c)]),
        ctx_with_deadline(Duration::from_secs(15)),
    )
    .await
    .unwrap();
    assert!(failures(&resp).is_empty(), "{resp}");
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "solved");
    assert_eq!(status_of(&env.sandbox, "acme", 1005), "solved");
    let j = env.sandbox.journal();
    assert_eq!(count(&j, "PUT", &ticket_path("acme", 1001)), 2);
    assert_eq!(
        count(&j, "GET", &ticket_path("acme", 1005)),
        2,
        "re-read after 409"
    );
}

#[tokio::test]
async fn partial_batch_failure_reports_only_the_bad_messages() {
    let env = OrgHarness::start().await;
    let good = job(
        1,
        ORG_A,
        CONV_A2,
        CONV_A2_AGENT,
        Some(SOLVED_CODE),
        1,
        Some(1005),
    )
    .to_string();
    let mut wrong_kind = job(2, ORG_A, CONV_A1, CONV_A1_AGENT, None, 2, None);
    wrong_kind["kind"] = json!("participant.attributes");
    wrong_kind["payload"] = json!({"conversationId": CONV_A1, "participantId": CONV_A1_AGENT, "attributes": {"a": "b"}});
    let mut v2 = job(3, ORG_A, CONV_A1, CONV_A1_AGENT, Some(SOLVED_CODE), 3, None);
    v2["v"] = json!(2);
    let unknown_org = job(
        4,
        "00000000-0000-4000-8000-000000000000",
        CONV_A1,
        CONV_A1_AGENT,
        Some(SOLVED_CODE),
        4,
        None,
    );
    // Org B asking about org A's conversation: Genesys answers 404 (fails, goes to the DLQ).
    let other_org = job(
        5,
        ORG_B,
        CONV_A1,
        CONV_A1_AGENT,
        Some(SOLVED_CODE_B),
        5,
        None,
    );
    let event = sqs(&[
        ("m-good", good),
        ("m-garbage", "not json".into()),
        ("m-kind", wrong_kind.to_string()),
        ("m-v2", v2.to_string()),
        ("m-org", unknown_org.to_string()),
        ("m-other", other_org.to_string()),
    ]);
    let resp = invoke(&env, event.clone()).await;
    assert_eq!(
        failures(&resp),
        vec!["m-garbage", "m-kind", "m-org", "m-other", "m-v2"]
    );
    assert_eq!(status_of(&env.sandbox, "acme", 1005), "solved");
    let out = outcomes(&env, &event).await;
    let Outcome::Failed(e) = &out[2] else {
        panic!("{out:?}")
    };
    assert!(
        e.message.contains("ticket.wrapup") && e.message.contains("participant.attributes"),
        "{e}"
    );
    let Outcome::Failed(e) = &out[5] else {
        panic!("{out:?}")
    };
    assert_eq!(e.error_type(), "Genesys.NotFound");

    // Every message failed: the invocation itself errors, with the first reason.
    let e = handle(
        &env.rt,
        sqs(&[("x1", "not json".into()), ("x2", "{}".into())]),
        Context::default(),
    )
    .await
    .unwrap_err();
    assert!(
        e.error_message
            .contains("every job of the batch failed (2 of 2)"),
        "{}",
        e.error_message
    );
}

#[tokio::test]
async fn closed_ticket_is_handled_and_follow_up_rule_creates_one() {
    let env = OrgHarness::start().await;
    let acme_closed = job(
        1,
        ORG_A,
        "c0a00003-0000-4000-8000-000000000000",
        "c0a00003-0000-4000-8000-00000000a001",
        Some(SOLVED_CODE),
        1,
        None,
    );
    let globex_closed = job(
        2,
        ORG_B,
        "c0b00002-0000-4000-8000-000000000000",
        "c0b00002-0000-4000-8000-00000000a001",
        Some(SOLVED_CODE_B),
        2,
        Some(2002),
    );
    let event = sqs(&[
        ("m1", acme_closed.to_string()),
        ("m2", globex_closed.to_string()),
    ]);
    let resp = invoke(&env, event).await;
    assert!(
        failures(&resp).is_empty(),
        "closed is a permanent, handled outcome: {resp}"
    );
    let j = env.sandbox.journal();
    assert_eq!(count(&j, "PUT", "/zendesk/**"), 0);
    let post = j
        .iter()
        .find(|e| e.method == "POST" && e.path == "/zendesk/globex/api/v2/tickets.json")
        .expect("follow-up");
    assert_eq!(post.status, 201);
    let body = &post.body.as_ref().unwrap()["ticket"];
    assert_eq!(body["via_followup_source_id"], 2002);
    assert_eq!(body["comment"]["public"], false);
    assert!(body["comment"]["body"]
        .as_str()
        .unwrap()
        .contains("c0b00002-0000-4000-8000-000000000000"));
}

#[tokio::test]
async fn bad_zendesk_token_fails_the_message_for_the_dlq() {
    let env = OrgHarness::start_with(|m| {
        edit_org(m, ORG_A, |d| {
            d["zendesk"]["auth"]["apiToken"] = json!("WRONG-zd-token-000")
        })
    })
    .await;
    let body = job(
        1,
        ORG_A,
        CONV_A1,
        CONV_A1_AGENT,
        Some(SOLVED_CODE),
        1,
        Some(1001),
    )
    .to_string();
    let event = sqs(&[("m1", body)]);
    let out = outcomes(&env, &event).await;
    let Outcome::Failed(e) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(e.error_type(), "Zendesk.BadCredentials");
    assert!(!e.retryable());
    assert!(!e.to_string().contains("WRONG-zd-token-000"));
}

#[tokio::test]
async fn rotated_genesys_secret_is_picked_up_on_the_conversation_read() {
    let env = OrgHarness::start_with(|m| {
        edit_org(m, ORG_A, |d| {
            d["genesys"]["clientSecret"] = json!("rotated-away-secret")
        })
    })
    .await;
    let body = job(1, ORG_A, CONV_A1, CONV_A1_AGENT, Some(SOLVED_CODE), 1, None).to_string();
    let e = handle(&env.rt, sqs(&[("m1", body.clone())]), Context::default())
        .await
        .unwrap_err();
    assert_eq!(
        e.error_type, "Genesys.BadCredentials",
        "{}",
        e.error_message
    );
    edit_org(env.source.inner(), ORG_A, |d| {
        d["genesys"]["clientSecret"] = json!("acme-client-secret-local")
    });
    let resp = invoke(&env, sqs(&[("m1", body)])).await;
    assert!(failures(&resp).is_empty(), "{resp}");
    assert_eq!(status_of(&env.sandbox, "acme", 1001), "solved");
}

/// Follow-up tickets of `source` in globex (the seed's tickets end at 2003; a follow-up gets
/// the next id).
fn follow_ups_of(env: &OrgHarness, source: u64) -> Vec<u64> {
    (2004..2020)
        .filter(|id| {
            env.sandbox
                .state()
                .ticket("globex", *id)
                .is_some_and(|t| t["via"]["source"]["from"]["ticket_id"] == source)
        })
        .collect()
}

/// The follow-up's creation is applied but its answer is lost (the connection drops after
/// Zendesk created it). Neither the retry within the invocation nor SQS's redelivery of the
/// job may create a second follow-up.
#[tokio::test]
async fn a_follow_up_whose_answer_was_lost_is_created_once() {
    let env = OrgHarness::start().await;
    env.sandbox
        .inject(Fault::new("POST", "/zendesk/*/api/v2/tickets.json").lose_answers(1));
    let body = job(
        2,
        ORG_B,
        "c0b00002-0000-4000-8000-000000000000",
        "c0b00002-0000-4000-8000-00000000a001",
        Some(SOLVED_CODE_B),
        2,
        Some(2002),
    )
    .to_string();
    let ctx = || ctx_with_deadline(Duration::from_secs(15));
    let first = handle(&env.rt, sqs(&[("m1", body.clone())]), ctx()).await;
    // Whatever the first delivery answered, SQS may deliver the job again (a lost answer,
    // a redelivery after a timeout, a duplicate message): it must not create another.
    let again = handle(&env.rt, sqs(&[("m2", body)]), ctx()).await;
    let made = follow_ups_of(&env, 2002);
    assert_eq!(
        made.len(),
        1,
        "follow-ups {made:?}; {first:?} then {again:?}"
    );
    let again = again.expect("the redelivery is answered");
    assert!(failures(&again).is_empty(), "{again}");
}
