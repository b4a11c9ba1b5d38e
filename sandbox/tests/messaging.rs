//! Agentless messages in the sandbox, over real HTTP: provisioned senders, the refusals
//! upstream-facts describes, the sender listings, and "applied, but the answer was lost".

mod common;

use std::time::Duration;

use bridge_sandbox::Fault;
use bridge_testkit::ids::*;
use common::*;
use serde_json::{json, Value};

const AGENTLESS: &str = "/api/v2/conversations/messages/agentless";

async fn send(h: &Harness, token: &str, req: Value) -> (u16, Value) {
    body(
        h.http
            .post(h.url(AGENTLESS))
            .bearer_auth(token)
            .json(&req)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn sms(from: &str, to: &str, text: &str) -> Value {
    json!({"fromAddress": from, "toAddress": to, "toAddressMessengerType": "sms", "textBody": text})
}

fn whatsapp(from: &str, to: &str) -> Value {
    json!({"fromAddress": from, "toAddress": to, "toAddressMessengerType": "whatsapp",
           "messagingTemplate": {"responseId": "resp-1", "parameters": [{"id": "name", "value": "Jane"}]}})
}

#[tokio::test]
async fn a_provisioned_number_sends_and_the_message_is_kept() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let (status, b) = send(
        &h,
        &token,
        sms(SMS_A, "+15551230001", "Sorry we missed your call"),
    )
    .await;
    assert_eq!(status, 202, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let conversation = b["conversationId"].as_str().unwrap().to_string();
    assert_ne!(id, conversation);
    let kept = h.sandbox.state().sent_messages(ORG_A);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["id"], id.as_str());
    assert_eq!(kept[0]["textBody"], "Sorry we missed your call");
    assert_eq!(h.sandbox.state().messages_sent(), 1);
    assert!(h.sandbox.state().sent_messages(ORG_B).is_empty());

    let (status, _) = send(&h, &token, whatsapp(WHATSAPP_A, "15551230001")).await;
    assert_eq!(status, 202);
    assert_eq!(h.sandbox.state().messages_sent(), 2);
}

#[tokio::test]
async fn each_refusal_is_a_400_that_names_the_problem() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let long = "x".repeat(766);
    let mut no_template = whatsapp(WHATSAPP_A, "15551230001");
    no_template
        .as_object_mut()
        .unwrap()
        .remove("messagingTemplate");
    no_template["textBody"] = json!("hi");
    let rows: Vec<(Value, &str, &str)> = vec![
        (
            sms(SMS_A_PORTING, "+15551230001", "hi"),
            "messaging.fromaddress.invalid",
            "not a provisioned SMS number",
        ),
        (
            sms(SMS_B, "+15551230001", "hi"),
            "messaging.fromaddress.invalid",
            "not a provisioned SMS number",
        ),
        (sms(SMS_A, "5551230001", "hi"), "bad.request", "E.164"),
        (sms(SMS_A, "+15551230001", &long), "bad.request", "765"),
        (
            whatsapp(WHATSAPP_A_INACTIVE, "15551230001"),
            "messaging.integration.inactive",
            "not active",
        ),
        (
            whatsapp(WHATSAPP_B, "15551230001"),
            "messaging.fromaddress.invalid",
            "not a WhatsApp integration",
        ),
        (
            whatsapp(WHATSAPP_A, "+15551230001"),
            "bad.request",
            "without the leading +",
        ),
        (no_template, "bad.request", "messagingTemplate"),
        (
            sms(SMS_A, ACTIVE_SMS_CUSTOMER_A, "hi"),
            "conversation.active",
            "useExistingActiveConversation",
        ),
    ];
    for (req, code, text) in rows {
        let (status, b) = send(&h, &token, req.clone()).await;
        assert_eq!(
            (status, b["code"].as_str()),
            (400, Some(code)),
            "{req}: {b}"
        );
        assert!(b["message"].as_str().unwrap().contains(text), "{req}: {b}");
    }
    assert_eq!(
        h.sandbox.state().messages_sent(),
        0,
        "nothing refused was kept"
    );

    // Into the active conversation when asked to.
    let mut into = sms(SMS_A, ACTIVE_SMS_CUSTOMER_A, "hi");
    into["useExistingActiveConversation"] = json!(true);
    let (status, b) = send(&h, &token, into).await;
    assert_eq!(status, 202, "{b}");
    assert_eq!(b["conversationId"], MESSAGING_CONV_A);

    // Without the permission: 403 naming it, before the body is looked at.
    let limited = h.token(CLIENT_A_LIMITED).await;
    let (status, b) = send(&h, &limited, json!({})).await;
    assert_eq!(
        (status, b["code"].as_str()),
        (403, Some("missing.permissions"))
    );
    assert_eq!(
        b["messageParams"]["permissions"],
        "conversation:message:create"
    );

    // A messenger type the sandbox does not model fails loudly.
    let mut open = sms(SMS_A, "+15551230001", "hi");
    open["toAddressMessengerType"] = json!("open");
    assert_eq!(send(&h, &token, open).await.0, 501);
}

#[tokio::test]
async fn senders_are_listed_per_org() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let get = |path: &'static str, token: String| {
        let h = &h;
        async move {
            body(
                h.http
                    .get(h.url(&format!("{path}?pageSize=100&pageNumber=1")))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, numbers) = get("/api/v2/routing/sms/phonenumbers", token.clone()).await;
    assert_eq!(status, 200);
    let listed: Vec<(&str, &str)> = numbers["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["phoneNumber"].as_str().unwrap(),
                n["phoneNumberStatus"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, vec![(SMS_A, "active"), (SMS_A_PORTING, "porting")]);
    assert_eq!(numbers["pageCount"], 1);
    let (status, wa) = get(
        "/api/v2/conversations/messaging/integrations/whatsapp",
        token,
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = wa["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![WHATSAPP_A, WHATSAPP_A_INACTIVE]);

    h.sandbox
        .state()
        .set_whatsapp_integration_status(ORG_A, WHATSAPP_A, "Inactive");
    let token = h.token(CLIENT_A).await;
    let (status, _) = send(&h, &token, whatsapp(WHATSAPP_A, "15551230001")).await;
    assert_eq!(status, 400);

    // The limited client may not list them (the permissions are [U]).
    let limited = h.token(CLIENT_A_LIMITED).await;
    let (status, b) = get("/api/v2/routing/sms/phonenumbers", limited).await;
    assert_eq!(
        (status, b["code"].as_str()),
        (403, Some("missing.permissions"))
    );
}

#[tokio::test]
async fn applied_faults_act_before_the_answer_is_lost() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    h.sandbox
        .inject(Fault::new("POST", AGENTLESS).applied().statuses([504]));
    let (status, _) = send(&h, &token, sms(SMS_A, "+15551230001", "once")).await;
    assert_eq!(status, 504);
    assert_eq!(
        h.sandbox.state().messages_sent(),
        1,
        "Genesys took the message although the client saw a 504"
    );

    // A lost answer: the message is kept at once, the client times out waiting.
    h.sandbox.inject(
        Fault::new("POST", AGENTLESS)
            .applied()
            .latency(Duration::from_millis(800)),
    );
    let timed_out = h
        .http
        .post(h.url(AGENTLESS))
        .bearer_auth(&token)
        .json(&sms(SMS_A, "+15551230001", "twice?"))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());
    assert_eq!(h.sandbox.state().messages_sent(), 2);

    // Without `applied`, an injected answer changes nothing.
    h.sandbox.clear_faults();
    h.sandbox
        .inject(Fault::new("POST", AGENTLESS).statuses([503]));
    let (status, _) = send(&h, &token, sms(SMS_A, "+15551230001", "refused")).await;
    assert_eq!(status, 503);
    assert_eq!(h.sandbox.state().messages_sent(), 2);
}
