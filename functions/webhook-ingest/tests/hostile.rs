//! What a hostile or careless HTTPS caller sends, through the real handler: replays of
//! signed requests, unusable idempotency keys, huge keys and topics, control characters,
//! numbers that would change, and an org whose config holds a secret in the wrong place.
//! Each refusal is a 4xx naming the field; nothing of it is queued; no response or log
//! line carries more than a preview of what was sent, nor any secret.

use std::sync::Arc;
use std::time::Duration;

use bridge::http::HttpClient;
use bridge::idempotency::MemoryIdempotency;
use bridge::jobs::Consumer;
use bridge::queue::MemoryQueue;
use bridge::secrets::MemorySource;
use bridge::Runtime;
use bridge_sandbox::{default_seed, Sandbox};
use bridge_testkit::ids::*;
use bridge_testkit::{capture_logs, edit_org, repo_root, sandbox_orgs_from_dir};
use lambda_runtime::Context;
use serde_json::{json, Value};
use webhook_ingest::auth::signature;
use webhook_ingest::{handle, Ingest, Limits, ManualClock};

const SECRET_A: &str = "acme-webhook-secret-local-0123456789abcdef";
const NOW_MS: u64 = 1_795_255_680_000;

struct H {
    _sandbox: Sandbox,
    ingest: Ingest,
    queue: Arc<MemoryQueue>,
}

async fn harness(edit: impl FnOnce(&MemorySource)) -> H {
    let sandbox = Sandbox::start(default_seed()).await.unwrap();
    let orgs =
        sandbox_orgs_from_dir(&repo_root().join("examples/orgs"), &sandbox.base_url()).unwrap();
    edit(&orgs);
    let rt = Runtime::new(
        Arc::new(orgs),
        Duration::from_secs(300),
        HttpClient::new().unwrap(),
    );
    let queue = Arc::new(MemoryQueue::new());
    let ingest = Ingest::with(
        Arc::new(rt),
        queue.clone(),
        Arc::new(MemoryIdempotency::default()),
        Limits::default(),
        Arc::new(ManualClock::new(NOW_MS)),
    );
    H {
        _sandbox: sandbox,
        ingest,
        queue,
    }
}

impl H {
    /// A Function URL call: (status, parsed body, body text).
    async fn http(&self, event: Value) -> (u16, Value, String) {
        let resp = handle(&self.ingest, event, Context::default())
            .await
            .expect("Function URL requests always answer");
        let text = resp["body"].as_str().unwrap().to_string();
        let status = resp["statusCode"].as_u64().unwrap() as u16;
        (status, serde_json::from_str(&text).unwrap(), text)
    }

    fn queued(&self) -> usize {
        self.queue.drain(Consumer::AttributeWriter).len()
            + self.queue.drain(Consumer::TicketStatus).len()
    }
}

/// A Function URL request for `org` with `body` (sent as is) and `headers`.
fn request(org: &str, body: &str, headers: &[(&str, &str)]) -> Value {
    let mut ev = bridge_testkit::fixture("webhook-ingest/function-url-command-attributes.json");
    ev["rawPath"] = json!(format!("/orgs/{org}/events"));
    ev["requestContext"]["http"]["path"] = ev["rawPath"].clone();
    ev["body"] = json!(body);
    let h = ev["headers"].as_object_mut().unwrap();
    h.remove("authorization");
    h.remove("idempotency-key");
    for (k, v) in headers {
        h.insert(k.to_string(), json!(v));
    }
    ev
}

fn bearer() -> String {
    format!("Bearer {SECRET_A}")
}

fn attributes(attrs: Value) -> String {
    json!({"command": "participant.attributes",
           "payload": {"conversationId": CONV_A1, "participantId": CONV_A1_CUSTOMER, "attributes": attrs}})
    .to_string()
}

#[tokio::test]
async fn a_signed_request_cannot_be_replayed_as_new_events() {
    let h = harness(|_| {}).await;
    let body = json!({"id": "evt-signed-fixed-1", "command": "ticket.wrapup",
                      "payload": {"conversationId": CONV_A1, "participantId": CONV_A1_AGENT, "ticketId": 1001}})
    .to_string();
    let ts = (NOW_MS / 1000 - 10).to_string();
    let sig = signature(SECRET_A, NOW_MS / 1000 - 10, body.as_bytes());
    let signed = |extra: &[(&str, &str)]| {
        let mut headers = vec![
            ("x-bridge-timestamp", ts.as_str()),
            ("x-bridge-signature", sig.as_str()),
        ];
        headers.extend_from_slice(extra);
        request(ORG_A, &body, &headers)
    };
    // The unsigned header must not decide the event id of a signed request.
    for n in 0..3 {
        let key = format!("replayed-{n}");
        let (status, b, _) = h.http(signed(&[("idempotency-key", &key)])).await;
        assert_eq!(status, 400, "{b}");
        assert_eq!(b["field"], "Idempotency-Key", "{b}");
        assert!(b["message"].as_str().unwrap().contains("`id`"), "{b}");
    }
    assert_eq!(h.queued(), 0);
    // The signed body's id is the event: a replay inside the window is a duplicate.
    let (status, first, _) = h.http(signed(&[])).await;
    assert_eq!(
        (status, &first["eventId"]),
        (202, &json!("evt-signed-fixed-1")),
        "{first}"
    );
    let (status, again, _) = h.http(signed(&[])).await;
    assert_eq!(
        (status, &again["duplicate"]),
        (202, &json!(true)),
        "{again}"
    );
    assert_eq!(h.queued(), 1);
}

#[tokio::test]
async fn an_unusable_idempotency_key_is_a_400_naming_the_header() {
    let h = harness(|_| {}).await;
    let body = attributes(json!({"tier": "gold"}));
    let long = "k".repeat(300);
    for key in ["événement-1", "événement-2", "tab\there", long.as_str()] {
        let ev = request(
            ORG_A,
            &body,
            &[("authorization", &bearer()), ("idempotency-key", key)],
        );
        let (status, b, _) = h.http(ev).await;
        assert_eq!(status, 400, "{key:?}: {b}");
        assert_eq!(b["field"], "Idempotency-Key", "{b}");
    }
    // A control character makes the header itself unreadable: still the header's 400.
    let ev = request(
        ORG_A,
        &body,
        &[("authorization", &bearer()), ("idempotency-key", "a\u{1}b")],
    );
    let (status, b, _) = h.http(ev).await;
    assert_eq!(status, 400, "{b}");
    assert_eq!(b["field"], "Idempotency-Key", "{b}");
    assert_eq!(h.queued(), 0, "nothing collapsed, nothing queued");
}

#[tokio::test]
async fn huge_keys_and_topics_are_echoed_only_as_previews() {
    let h = harness(|_| {}).await;
    let (logs, _guard) = capture_logs();
    let key = "K".repeat(120 * 1024);
    let ev = request(
        ORG_A,
        &attributes(json!({key.clone(): "v"})),
        &[("authorization", &bearer())],
    );
    let (status, b, text) = h.http(ev).await;
    assert_eq!(status, 400, "{}", &text[..text.len().min(300)]);
    assert!(b["field"]
        .as_str()
        .unwrap()
        .starts_with("payload.attributes.KKK"));
    assert!(text.len() < 1024, "400 body of {} bytes", text.len());

    // A topic that makes no job is accepted; its log line quotes a preview only.
    let topic = format!("v2.users.{}", "T".repeat(120 * 1024));
    let body = json!({"topicName": topic, "eventBody": {}}).to_string();
    let (status, _, text) = h
        .http(request(ORG_A, &body, &[("authorization", &bearer())]))
        .await;
    assert_eq!(status, 202, "{}", &text[..text.len().min(300)]);
    // Unknown commands and bad enum values in contact changes, quoted by serde before.
    let bad_action = json!({"command": "contact.fields", "payload": {"contactId": CONV_A1,
        "changes": [{"field": "$.customFields.x", "value": "v", "action": "Z".repeat(120 * 1024)}]}});
    let (status, b, text) = h
        .http(request(
            ORG_A,
            &bad_action.to_string(),
            &[("authorization", &bearer())],
        ))
        .await;
    assert_eq!(status, 400, "{}", &text[..text.len().min(300)]);
    assert_eq!(b["field"], "payload.changes");
    assert!(
        text.contains("[0].action"),
        "{}",
        &text[..text.len().min(300)]
    );
    assert!(text.len() < 1024, "400 body of {} bytes", text.len());
    let logs = logs.text();
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 2048, "a log line of {longest} bytes");
    assert_eq!(h.queued(), 0);
}

#[tokio::test]
async fn control_characters_and_inexact_numbers_are_refused_naming_the_field() {
    let h = harness(|_| {}).await;
    let (status, b, _) = h
        .http(request(
            ORG_A,
            &attributes(json!({"a\u{0}b": "x"})),
            &[("authorization", &bearer())],
        ))
        .await;
    assert_eq!(status, 400, "{b}");
    assert_eq!(b["field"], "payload.attributes.a\\u{0}b", "{b}");
    assert!(b["message"].as_str().unwrap().contains("control"), "{b}");
    // Values may hold line breaks and tabs.
    let (status, b, _) = h
        .http(request(
            ORG_A,
            &attributes(json!({"note": "line 1\n\tline 2"})),
            &[("authorization", &bearer())],
        ))
        .await;
    assert_eq!(status, 202, "{b}");
    assert_eq!(h.queued(), 1);

    let body = format!(
        r#"{{"command": "contact.fields", "payload": {{"contactId": "{CONV_A1}",
            "changes": [{{"field": "$.customFields.acct", "value": 12345678901234567890123, "action": "Update"}}]}}}}"#
    );
    let (status, b, _) = h
        .http(request(ORG_A, &body, &[("authorization", &bearer())]))
        .await;
    assert_eq!(status, 400, "{b}");
    assert_eq!(b["field"], "payload.changes[0].value", "{b}");
    assert_eq!(h.queued(), 0);
}

#[tokio::test]
async fn a_secret_in_the_wrong_place_of_a_config_is_never_echoed() {
    let h = harness(|mem| {
        edit_org(mem, ORG_A, |doc| {
            doc["webhook"] = json!("LEAKME-shared-secret-0123456789abcdef");
        })
    })
    .await;
    let (logs, _guard) = capture_logs();
    let (status, _, text) = h
        .http(request(
            ORG_A,
            &attributes(json!({"tier": "gold"})),
            &[(
                "authorization",
                "Bearer LEAKME-shared-secret-0123456789abcdef",
            )],
        ))
        .await;
    assert_eq!(status, 401, "{text}");
    let mut eb = bridge_testkit::fixture("webhook-ingest/eventbridge-acw.json");
    eb["source"] = json!(format!(
        "aws.partner/genesys.com/cloud/{ORG_A}/genesys-bridge"
    ));
    let err = handle(&h.ingest, eb, Context::default())
        .await
        .expect_err("an org with an invalid config fails the event");
    assert_eq!(err.error_type, "Config.InvalidConfig");
    assert!(err.error_message.contains("`webhook`"), "{err:?}");
    let logs = logs.text();
    assert!(logs.contains("webhook"), "the log names the field: {logs}");
    for shown in [text.as_str(), err.error_message.as_str(), logs.as_str()] {
        assert!(!shown.contains("LEAKME"), "{shown}");
    }
}

#[tokio::test]
async fn an_explicit_enrich_command_is_refused_when_the_org_has_enrichment_off() {
    // A 202 means the job will be done or end in a DLQ; the worker skips enrichment for an
    // org that turned it off, so such a command is refused here, saying why.
    let h = harness(|_| {}).await;
    let enrich = |participant: &str, conversation: &str| {
        json!({"command": "participant.enrich",
               "payload": {"conversationId": conversation, "participantId": participant, "email": "jane.doe@example.com"}})
        .to_string()
    };
    let globex = format!("Bearer {}", "globex-webhook-secret-local-0123456789abcdef");
    let (status, b, _) = h
        .http(request(
            ORG_B,
            &enrich(CONV_B2_CUSTOMER, CONV_B2),
            &[("authorization", &globex)],
        ))
        .await;
    assert_eq!(status, 400, "{b}");
    assert_eq!(b["field"], "body.command", "{b}");
    let message = b["message"].as_str().unwrap();
    assert!(message.contains("rules.enrichment.enabled"), "{b}");
    assert!(!message.contains("jane.doe"), "{b}");
    assert_eq!(h.queued(), 0);
    // Acme has enrichment on: the same command is queued.
    let (status, b, _) = h
        .http(request(
            ORG_A,
            &enrich(CONV_A1_CUSTOMER, CONV_A1),
            &[("authorization", &bearer())],
        ))
        .await;
    assert_eq!(status, 202, "{b}");
    assert_eq!(h.queued(), 1);
}
