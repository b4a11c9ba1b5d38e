//! The data action through the public handler against the sandbox over HTTP: what is sent,
//! once per idempotency key; every validation refusal before any call; refusals that say
//! what to fix; and the outcomes that must never be sent again.

mod common;

use std::time::Duration;

use bridge::idempotency::{IdempotencyStore, RecordStatus};
use bridge_sandbox::{count, matching, Fault};
use bridge_testkit::ids::*;
use bridge_testkit::{edit_org, show};
use common::*;
use serde_json::{json, Value};

fn error_of(r: Result<Value, lambda_runtime::Diagnostic>) -> lambda_runtime::Diagnostic {
    match r {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(d) => d,
    }
}

#[tokio::test]
async fn a_template_goes_to_the_conversations_customer_once() {
    let h = Harness::start().await;
    let event = fixture("data-action-sms-template.json");
    let out = h.invoke(event.clone()).await.expect("sent");
    let j = h.journal();
    let posts = matching(&j, "POST", AGENTLESS);
    assert_eq!(posts.len(), 1, "{}", show(&j));
    assert_eq!(
        posts[0].body.clone().unwrap(),
        json!({"fromAddress": SMS_A, "toAddress": "+15551230001", "toAddressMessengerType": "sms",
               "textBody": "Hi Jane Doe, sorry we missed your call to Acme Support. Reply here or call us back at +15550000100."}),
        "the customer's number (tel: stripped) and name come from the conversation"
    );
    assert_eq!(
        count(&j, "GET", &format!("/api/v2/conversations/{CONV_A1}")),
        1
    );
    let sent = &h.sandbox.state().sent_messages(ORG_A)[0];
    assert_eq!(out["ok"], true);
    assert_eq!(out["messageId"], sent["id"]);
    assert_eq!(out["conversationId"], sent["conversationId"]);
    assert_eq!(out["duplicate"], false);
    assert!(!out["correlationId"].as_str().unwrap().is_empty());

    // The claim holds what was sent.
    let key = format!("{ORG_A}#agentless:{CONV_A1}-missed-call");
    let record = h.claims.record(&key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert!(record
        .outcome
        .unwrap()
        .contains(sent["id"].as_str().unwrap()));

    // Genesys runs the action again (a retry): nothing is sent, the first answer comes back.
    let again = h.invoke(event).await.expect("answered");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["messageId"], out["messageId"]);
    assert_eq!(again["conversationId"], out["conversationId"]);
    assert_eq!(h.posts(), 1);
    assert_eq!(h.messages(), 1);
}

#[tokio::test]
async fn texts_and_whatsapp_templates_are_sent_as_genesys_takes_them() {
    let h = Harness::start().await;
    h.invoke(fixture("data-action-sms-text.json"))
        .await
        .expect("sent");
    let out = h
        .invoke(fixture("data-action-whatsapp-template.json"))
        .await
        .expect("sent");
    assert_eq!(out["messengerType"], "whatsapp");
    let j = h.journal();
    assert_eq!(
        count(&j, "GET", "/api/v2/conversations/*"),
        0,
        "nothing needed the conversation"
    );
    let bodies: Vec<Value> = matching(&j, "POST", AGENTLESS)
        .iter()
        .map(|e| e.body.clone().unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!({"fromAddress": SMS_A, "toAddress": "+15551230001", "toAddressMessengerType": "sms",
                   "textBody": "Your parcel arrives tomorrow between 9 and 12."}),
            json!({"fromAddress": WHATSAPP_A, "toAddress": "15551230001", "toAddressMessengerType": "whatsapp",
                   "messagingTemplate": {"responseId": "7c0a0001-0000-4000-8000-000000000000",
                                         "parameters": [{"id": "name", "value": "Jane"}]}}),
        ]
    );
    // One token for both: the second invocation is warm.
    assert_eq!(count(&j, "POST", "/oauth/token"), 1);
}

#[tokio::test]
async fn every_validation_refusal_comes_before_any_call_and_names_its_field() {
    let h = Harness::start().await;
    let base = fixture("data-action-sms-text.json");
    let template = |name: &str| {
        let t = with(with(base.clone(), "sender", json!("")), "text", json!(""));
        with(t, "template", json!(name))
    };
    let rows: Vec<(Value, &str, &str)> = vec![
        (
            fixture("data-action-missing-idempotency-key.json"),
            "idempotencyKey",
            "twice",
        ),
        (fixture("data-action-not-e164.json"), "toAddress", "E.164"),
        (
            fixture("data-action-text-too-long.json"),
            "text",
            "at most 765",
        ),
        (
            fixture("data-action-whatsapp-without-template.json"),
            "template",
            "approved templates only",
        ),
        (
            fixture("data-action-unknown-sender.json"),
            "sender",
            "acme-sms, acme-whatsapp",
        ),
        (fixture("data-action-empty-body.json"), "text", "empty"),
        (
            with(base.clone(), "template", json!("no-such-template")),
            "template",
            "not both",
        ),
        (template("no-such-template"), "template", "missed-call"),
        (
            with(
                template("appointment-reminder"),
                "parametersJson",
                json!("{\"date\":\"Monday\"}"),
            ),
            "parameters.time",
            "{{time}}",
        ),
        (
            with(base.clone(), "toAddress", json!("")),
            "toAddress",
            "conversationId",
        ),
        (
            with(base.clone(), "conversationId", json!("c0a00001")),
            "conversationId",
            "UUID",
        ),
        (
            with(base.clone(), "useExistingActiveConversation", json!("yes")),
            "useExistingActiveConversation",
            "true or false",
        ),
        (
            with(base.clone(), "toAddres", json!("+15551230001")),
            "toAddres",
            "unknown field",
        ),
        (with(base.clone(), "orgId", json!("acme")), "orgId", "UUID"),
    ];
    for (event, field, part) in rows {
        let d = error_of(h.invoke(event.clone()).await);
        assert_eq!(
            d.error_type, "Input.InvalidInput",
            "{event}: {}",
            d.error_message
        );
        assert!(
            d.error_message.contains(&format!("`{field}`")) && d.error_message.contains(part),
            "{event}: {} lacks {field} / {part:?}",
            d.error_message
        );
        assert!(
            !d.error_message.contains("555-123-0001"),
            "the number is not echoed: {}",
            d.error_message
        );
    }
    assert_eq!(h.posts(), 0, "nothing was sent:\n{}", show(&h.journal()));
    assert_eq!(h.messages(), 0);
}

#[tokio::test]
async fn refusals_say_what_to_fix_and_release_the_claim() {
    let h = Harness::start().await;
    // The customer is in an active conversation.
    let d = error_of(
        h.invoke(fixture("data-action-active-conversation.json"))
            .await,
    );
    assert_eq!(d.error_type, "Genesys.InvalidRequest");
    for part in [
        "useExistingActiveConversation",
        "bot",
        "as if the customer had sent it",
        "Correlation id",
    ] {
        assert!(
            d.error_message.contains(part),
            "{part}: {}",
            d.error_message
        );
    }
    // The claim was released: the same key, sent into the active conversation, goes out.
    let into = with(
        fixture("data-action-active-conversation.json"),
        "useExistingActiveConversation",
        json!("true"),
    );
    let out = h
        .invoke(into)
        .await
        .expect("sent into the active conversation");
    assert_eq!(out["conversationId"], MESSAGING_CONV_A);
    assert_eq!(out["duplicate"], false);
    let j = h.journal();
    let bodies = matching(&j, "POST", AGENTLESS);
    assert_eq!(
        bodies[1].body.as_ref().unwrap()["useExistingActiveConversation"],
        true
    );
}

#[tokio::test]
async fn a_missing_permission_names_it_and_the_roles() {
    let h = Harness::start_with(|src| {
        edit_org(src, ORG_A, |d| {
            d["genesys"]["clientId"] = json!(CLIENT_A_LIMITED.0);
            d["genesys"]["clientSecret"] = json!(CLIENT_A_LIMITED.1);
        })
    })
    .await;
    let d = error_of(h.invoke(fixture("data-action-sms-text.json")).await);
    assert_eq!(d.error_type, "Genesys.MissingPermission");
    for part in [
        "conversation:message:create",
        "acme-limited-client",
        "Roles",
        "roles, not scopes",
        "Correlation id",
    ] {
        assert!(
            d.error_message.contains(part),
            "{part}: {}",
            d.error_message
        );
    }
    assert!(
        !d.error_message.to_lowercase().contains("add scope"),
        "{}",
        d.error_message
    );
}

#[tokio::test]
async fn an_unusable_sender_says_which_and_where_to_fix_it() {
    for (sender, value, event, part) in [
        (
            "acme-sms",
            json!({"type": "sms", "address": SMS_A_PORTING}),
            "data-action-sms-text.json",
            "is not an SMS number provisioned in org",
        ),
        (
            "acme-whatsapp",
            json!({"type": "whatsapp", "integrationId": WHATSAPP_A_INACTIVE}),
            "data-action-whatsapp-template.json",
            "does not exist or is not active",
        ),
    ] {
        let h = Harness::start_with(|src| {
            edit_org(src, ORG_A, |d| {
                d["messaging"]["senders"][sender] = value.clone()
            })
        })
        .await;
        let d = error_of(h.invoke(fixture(event)).await);
        assert_eq!(
            d.error_type, "Genesys.InvalidRequest",
            "{}",
            d.error_message
        );
        assert!(
            d.error_message.contains(part) && d.error_message.contains("messaging.senders"),
            "{}",
            d.error_message
        );
        assert_eq!(h.messages(), 0);
    }
}

#[tokio::test]
async fn a_lost_answer_is_never_sent_again() {
    let h = Harness::start().await;
    h.sandbox
        .inject(Fault::new("POST", AGENTLESS).applied().statuses([504]));
    let event = fixture("data-action-may-have-been-sent.json");
    let d = error_of(h.invoke(event.clone()).await);
    assert_eq!(d.error_type, "Genesys.MayHaveBeenSent");
    assert!(
        d.error_message.contains("may have been sent")
            && d.error_message.contains("not sent again automatically"),
        "{}",
        d.error_message
    );
    assert_eq!(h.posts(), 1, "a 5xx of this POST is not retried");
    assert_eq!(h.messages(), 1, "Genesys did take it");

    // Genesys runs the action again: still not sent, the same answer.
    let d = error_of(h.invoke(event).await);
    assert_eq!(d.error_type, "Genesys.MayHaveBeenSent");
    assert_eq!(h.posts(), 1);
}

#[tokio::test]
async fn a_timeout_after_sending_is_never_sent_again() {
    let h = Harness::start().await;
    // Genesys acts at once; its answer comes after the deadline.
    h.sandbox.inject(
        Fault::new("POST", AGENTLESS)
            .applied()
            .latency(Duration::from_secs(3)),
    );
    let d = error_of(
        h.invoke_within(
            fixture("data-action-sms-text.json"),
            Duration::from_millis(2_500),
        )
        .await,
    );
    assert_eq!(
        d.error_type, "Genesys.MayHaveBeenSent",
        "{}",
        d.error_message
    );
    assert!(d.error_message.contains("timed out"), "{}", d.error_message);
    // The sandbox journals a request once answered; this one's answer never came.

    assert_eq!(h.messages(), 1);
}

#[tokio::test]
async fn refusals_before_genesys_acted_are_retried_within_the_deadline() {
    let h = Harness::start().await;
    // Throttled once: Genesys did not act, so the POST is sent again after Retry-After.
    h.sandbox
        .inject(Fault::new("POST", AGENTLESS).statuses([429]).retry_after(1));
    let out = h
        .invoke(fixture("data-action-sms-text.json"))
        .await
        .expect("sent after the 429");
    assert_eq!(out["duplicate"], false);
    assert_eq!(h.posts(), 2);
    assert_eq!(h.messages(), 1);

    // A 429 whose wait passes the deadline: not sent, retryable, claim released.
    h.sandbox.inject(
        Fault::new("POST", AGENTLESS)
            .statuses([429])
            .retry_after(30),
    );
    let event = with(
        fixture("data-action-sms-text.json"),
        "idempotencyKey",
        json!("k-throttled"),
    );
    let d = error_of(h.invoke(event.clone()).await);
    assert_eq!(d.error_type, "Genesys.RateLimited");
    let out = h.invoke(event).await.expect("the retry sends it");
    assert_eq!(out["duplicate"], false);
    assert_eq!(h.messages(), 2);
}

#[tokio::test]
async fn another_orgs_alias_is_refused_before_anything() {
    let h = Harness::start().await;
    let alias = |org: &str| bridge_testkit::org_alias_arn(agentless_messages::FUNCTION, org);
    let unqualified = alias(ORG_A).rsplit_once(':').unwrap().0.to_string();
    let for_b = with(fixture("data-action-sms-text.json"), "orgId", json!(ORG_B));
    // (invoked ARN, event, error type)
    let cases = [
        // The case: org A's data action, its request template naming org B.
        (alias(ORG_A), for_b, "Bridge.WrongOrg"),
        // Org B's alias (B's role) with A's orgId.
        (
            alias(ORG_B),
            fixture("data-action-sms-text.json"),
            "Bridge.WrongOrg",
        ),
        // No alias at all: which org it serves cannot be known.
        (
            unqualified,
            fixture("data-action-sms-text.json"),
            "Bridge.OrgAliasRequired",
        ),
    ];
    for (arn, event, want) in cases {
        let mut ctx = bridge_testkit::ctx_with_deadline(Duration::from_secs(15));
        ctx.invoked_function_arn = arn.clone();
        let d = agentless_messages::handle(&h.m, event, ctx)
            .await
            .unwrap_err();
        assert_eq!(d.error_type, want, "{arn}: {}", d.error_message);
    }
    // Refused before any org secret was read, any call made, any claim taken.
    assert_eq!(h.source.fetches(), 0);
    assert!(h.journal().is_empty());
    assert!(h.claims.is_empty());
    assert_eq!(h.messages(), 0);
}
