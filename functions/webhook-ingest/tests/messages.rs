//! Customer messages through webhook-ingest: the org's messaging rules turn conversation
//! events into `message.agentless` jobs (one claim per conversation and template), and the
//! `message.agentless` command is taken on the events route with the org's shared secret or
//! HMAC only; a Genesys token (client or user) can cause no customer message.

use std::sync::Arc;
use std::time::Duration;

use bridge::http::HttpClient;
use bridge::idempotency::{self, IdempotencyStore, MemoryIdempotency};
use bridge::jobs::{Consumer, Job, JobEnvelope};
use bridge::Runtime;
use bridge_sandbox::{default_seed, Sandbox};
use bridge_testkit::ids::*;
use bridge_testkit::{repo_root, sandbox_orgs_from_dir, FaultyQueue};
use lambda_runtime::Context;
use serde_json::{json, Value};
use webhook_ingest::auth::signature;
use webhook_ingest::{handle, Ingest, Limits, ManualClock};

const SECRET_A: &str = "acme-webhook-secret-local-0123456789abcdef";
const NOW_MS: u64 = 1_795_255_680_000;
/// The wrap-up code of the example org A's missed-call rule.
const MISSED_CALL_CODE: &str = "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a23";

struct H {
    sandbox: Sandbox,
    ingest: Ingest,
    queue: Arc<FaultyQueue>,
    store: Arc<MemoryIdempotency>,
}

async fn harness() -> H {
    let sandbox = Sandbox::start(default_seed()).await.unwrap();
    let orgs =
        sandbox_orgs_from_dir(&repo_root().join("examples/orgs"), &sandbox.base_url()).unwrap();
    let rt = Runtime::new(
        Arc::new(orgs),
        Duration::from_secs(300),
        HttpClient::new().unwrap(),
    );
    let queue = Arc::new(FaultyQueue::new());
    let store = Arc::new(MemoryIdempotency::default());
    let ingest = Ingest::with(
        Arc::new(rt),
        queue.clone(),
        store.clone(),
        Limits::default(),
        Arc::new(ManualClock::new(NOW_MS)),
    );
    H {
        sandbox,
        ingest,
        queue,
        store,
    }
}

impl H {
    async fn call(&self, event: Value) -> Result<Value, lambda_runtime::Diagnostic> {
        handle(&self.ingest, event, Context::default()).await
    }

    async fn http(&self, event: Value) -> (u16, Value) {
        let resp = self
            .call(event)
            .await
            .expect("Function URL requests always answer");
        let status = resp["statusCode"].as_u64().unwrap() as u16;
        (
            status,
            serde_json::from_str(resp["body"].as_str().unwrap()).unwrap(),
        )
    }

    fn messages(&self) -> Vec<JobEnvelope> {
        self.queue.drain(Consumer::AgentlessMessages)
    }
}

fn acw(code: &str, id: &str, topic: &str) -> Value {
    let mut ev = bridge_testkit::fixture("webhook-ingest/eventbridge-acw.json");
    ev["id"] = json!(id);
    ev["detail"]["eventBody"]["wrapupCode"] = json!(code);
    let name = ev["detail"]["topicName"]
        .as_str()
        .unwrap()
        .replace(".acw", &format!(".{topic}"));
    ev["detail"]["topicName"] = json!(name);
    ev["detail-type"] = json!(format!("v2.detail.events.conversation.{{id}}.{topic}"));
    ev
}

fn request(body: &Value, headers: &[(&str, &str)]) -> Value {
    let mut ev = bridge_testkit::fixture("webhook-ingest/function-url-command-attributes.json");
    ev["rawPath"] = json!(format!("/orgs/{ORG_A}/events"));
    ev["requestContext"]["http"]["path"] = ev["rawPath"].clone();
    ev["body"] = json!(body.to_string());
    let h = ev["headers"].as_object_mut().unwrap();
    h.remove("authorization");
    h.remove("idempotency-key");
    for (k, v) in headers {
        h.insert(k.to_string(), json!(v));
    }
    ev
}

fn message_command() -> Value {
    json!({"command": "message.agentless",
           "payload": {"template": "appointment-reminder", "toAddress": "+15551230001",
                       "parameters": {"date": "Monday 3 March", "time": "10:30"}}})
}

#[tokio::test]
async fn a_rule_makes_one_message_job_per_conversation() {
    let h = harness().await;
    let out = h
        .call(acw(
            MISSED_CALL_CODE,
            "0b1e0001-0000-4000-8000-0000000000e1",
            "acw",
        ))
        .await
        .unwrap();
    assert_eq!(
        out["jobs"], 2,
        "the ticket job and the rule's message: {out}"
    );
    let ticket = h.queue.drain(Consumer::TicketStatus);
    assert_eq!(ticket.len(), 1);
    let msgs = h.messages();
    assert_eq!(msgs.len(), 1);
    let Job::MessageAgentless(m) = &msgs[0].job else {
        panic!("{msgs:?}")
    };
    assert_eq!(m.template.as_deref(), Some("missed-call"));
    assert_eq!(m.conversation_id.as_deref(), Some(CONV_A1));
    assert_eq!(
        m.idempotency_key.as_deref(),
        Some(format!("rule:missed-call:{CONV_A1}").as_str())
    );

    // The wrap-up event of the same conversation: its own event, the same message claim.
    h.call(acw(
        MISSED_CALL_CODE,
        "0b1e0001-0000-4000-8000-0000000000e2",
        "wrapup",
    ))
    .await
    .unwrap();
    let again = h.messages();
    assert_eq!(again.len(), 1);
    let Job::MessageAgentless(m2) = &again[0].job else {
        panic!()
    };
    assert_eq!(
        m2.idempotency_key, m.idempotency_key,
        "the worker sends it once"
    );

    // Another code: no message.
    let out = h
        .call(acw(
            "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a21",
            "0b1e0001-0000-4000-8000-0000000000e3",
            "acw",
        ))
        .await
        .unwrap();
    assert_eq!(out["jobs"], 1);
    assert!(h.messages().is_empty());
}

#[tokio::test]
async fn the_command_takes_the_shared_secret_or_hmac() {
    let h = harness().await;
    let bearer = format!("Bearer {SECRET_A}");
    let (status, body) = h
        .http(request(
            &message_command(),
            &[("authorization", &bearer), ("idempotency-key", "msg-1")],
        ))
        .await;
    assert_eq!(status, 202, "{body}");
    let msgs = h.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0].job_id, "msg-1:0",
        "the job id is the message's claim"
    );

    let ts = NOW_MS / 1000;
    // A signed request's event id is the signed body's `id` (an Idempotency-Key header is
    // not signed, so it is not taken there).
    let mut command = message_command();
    command["id"] = json!("msg-2");
    let mut signed = request(&command, &[]);
    let raw = signed["body"].as_str().unwrap().to_string();
    signed["headers"]["x-bridge-timestamp"] = json!(ts.to_string());
    signed["headers"]["x-bridge-signature"] = json!(signature(SECRET_A, ts, raw.as_bytes()));
    let (status, body) = h.http(signed).await;
    assert_eq!(status, 202, "{body}");
    let msgs = h.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].job_id, "msg-2:0");

    // A refusal names the payload field.
    let bad = json!({"command": "message.agentless", "payload": {"template": "no-such", "toAddress": "+1"}});
    let (status, body) = h.http(request(&bad, &[("authorization", &bearer)])).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("payload.template")),
        "{body}"
    );
}

#[tokio::test]
async fn a_genesys_token_may_not_send_a_customer_message() {
    let h = harness().await;
    // On the events route a Genesys token is no credential at all: 401, no call anywhere.
    let client = format!("Bearer {}", h.sandbox.state().issue_token(CLIENT_A.0));
    for bearer in [client.as_str(), &format!("Bearer {USER_TOKEN_A}")] {
        let (status, body) = h
            .http(request(
                &message_command(),
                &[("authorization", bearer), ("idempotency-key", "msg-t")],
            ))
            .await;
        assert_eq!(status, 401, "{body}");
    }
    assert!(h.sandbox.journal().is_empty(), "{:?}", h.sandbox.journal());

    // On the user route an agent's token may only write participant attributes: the
    // command, and a notification a messaging rule acts on, are 403 naming what it may do.
    let note = json!({"topicName": format!("v2.detail.events.conversation.{CONV_A1}.acw"),
                      "eventBody": {"participantId": CONV_A1_AGENT, "eventTime": 1, "wrapupCode": MISSED_CALL_CODE}});
    for (case, body) in [("the command", message_command()), ("a notification", note)] {
        let (status, out) = h.http(user_request(&body, "msg-u")).await;
        assert_eq!(
            (status, out["errorType"].as_str()),
            (403, Some("Bridge.Forbidden")),
            "{case}: {out}"
        );
        assert!(
            out["message"]
                .as_str()
                .unwrap()
                .contains("may only send the command participant.attributes"),
            "{case}: {out}"
        );
    }
    assert!(h.messages().is_empty());
    assert!(h.queue.is_empty());
    // Nothing was claimed: the same key with the shared secret goes through.
    for key in ["msg-t", "msg-u"] {
        assert!(h
            .store
            .record(&idempotency::key(ORG_A, key))
            .await
            .unwrap()
            .is_none());
    }
    assert_eq!(
        bridge_sandbox::count(
            &h.sandbox.journal(),
            "POST",
            "/api/v2/conversations/messages/agentless"
        ),
        0
    );
}

/// A request on the user route, with an Acme agent's own token.
fn user_request(body: &Value, key: &str) -> Value {
    let mut ev = request(
        body,
        &[
            ("authorization", &format!("Bearer {USER_TOKEN_A}")),
            ("idempotency-key", key),
        ],
    );
    ev["rawPath"] = json!(format!("/orgs/{ORG_A}/user/events"));
    ev["requestContext"]["http"]["path"] = ev["rawPath"].clone();
    ev
}
