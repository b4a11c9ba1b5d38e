//! The handler with the real-shaped fixtures of events/webhook-ingest: routing, duplicates,
//! forged tenants, bad input, queue failures, and the user route. In-memory queue and
//! idempotency store; org configs pointed at the sandbox (the user route's token checks
//! and writes really call it, with the seeded users' own tokens).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bridge::http::HttpClient;
use bridge::idempotency::{self, IdempotencyStore, MemoryIdempotency, RecordStatus};
use bridge::jobs::{Consumer, Job, JobEnvelope, ParticipantEnrich, TicketWrapup};
use bridge::Runtime;
use bridge_sandbox::{count, default_seed, Sandbox};
use bridge_testkit::ids::*;
use bridge_testkit::{repo_root, sandbox_orgs_from_dir, FaultyQueue};
use lambda_runtime::Context;
use serde_json::{json, Value};
use webhook_ingest::auth::signature;
use webhook_ingest::{handle, Ingest, Limits, ManualClock};

const SECRET_A: &str = "acme-webhook-secret-local-0123456789abcdef";
const SECRET_B: &str = "globex-webhook-secret-local-0123456789abcdef";
/// 2026-11-21T10:08:00Z, when the Function URL fixtures were "sent".
const NOW_MS: u64 = 1_795_255_680_000;

fn fixture(name: &str) -> Value {
    bridge_testkit::fixture(&format!("webhook-ingest/{name}"))
}

struct H {
    sandbox: Sandbox,
    ingest: Ingest,
    queue: Arc<FaultyQueue>,
    store: Arc<MemoryIdempotency>,
    clock: Arc<ManualClock>,
}

async fn harness_with(limits: Limits) -> H {
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
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let ingest = Ingest::with(
        Arc::new(rt),
        queue.clone(),
        store.clone(),
        limits,
        clock.clone(),
    );
    H {
        sandbox,
        ingest,
        queue,
        store,
        clock,
    }
}

async fn harness() -> H {
    harness_with(Limits::default()).await
}

impl H {
    async fn call(&self, event: Value) -> Result<Value, lambda_runtime::Diagnostic> {
        handle(&self.ingest, event, Context::default()).await
    }

    /// A Function URL call: (status, parsed JSON body).
    async fn http(&self, event: Value) -> (u16, Value) {
        let resp = self
            .call(event)
            .await
            .expect("Function URL requests always answer");
        let status = resp["statusCode"].as_u64().unwrap() as u16;
        let body = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
        (status, body)
    }

    fn all_jobs(&self) -> (Vec<JobEnvelope>, Vec<JobEnvelope>) {
        (
            self.queue.drain(Consumer::AttributeWriter),
            self.queue.drain(Consumer::TicketStatus),
        )
    }

    fn assert_nothing_queued(&self) {
        assert!(
            self.queue.is_empty(),
            "something was queued: {:?}",
            self.all_jobs()
        );
    }
}

/// A Function URL request for `org` with a JSON body and headers.
fn request(org: &str, body: &Value, headers: &[(&str, &str)]) -> Value {
    let mut ev = fixture("function-url-command-attributes.json");
    ev["rawPath"] = json!(format!("/orgs/{org}/events"));
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

fn signed(mut ev: Value, secret: &str, ts: u64) -> Value {
    let body = ev["body"].as_str().unwrap().to_string();
    ev["headers"]["x-bridge-timestamp"] = json!(ts.to_string());
    ev["headers"]["x-bridge-signature"] = json!(signature(secret, ts, body.as_bytes()));
    ev
}

fn attributes_command() -> Value {
    json!({"command": "participant.attributes",
           "payload": {"conversationId": CONV_A1, "participantId": CONV_A1_CUSTOMER, "attributes": {"tier": "gold"}}})
}

#[tokio::test]
async fn each_topic_becomes_the_right_job() {
    let h = harness().await;

    let out = h
        .call(fixture("eventbridge-customer-start.json"))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"accepted": true, "duplicate": false, "eventId": "8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e01", "jobs": 1})
    );
    let (attr, ticket) = h.all_jobs();
    assert!(ticket.is_empty());
    assert_eq!(attr.len(), 1);
    let j = &attr[0];
    assert_eq!(j.job_id, "8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e01:0");
    assert_eq!(j.org_id, ORG_A);
    assert_eq!(j.event_id, "8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e01");
    assert_eq!(
        j.correlation_id.as_deref(),
        Some("7f9c2b1e-3a4d-4e5f-9a0b-1c2d3e4f5a6b")
    );
    assert_eq!(j.created_at, "2026-11-21T10:08:00Z");
    assert_eq!(
        j.job,
        Job::ParticipantEnrich(ParticipantEnrich {
            conversation_id: CONV_A1.into(),
            participant_id: CONV_A1_CUSTOMER.into(),
            phone: Some("+15551230001".into()),
            email: None,
        })
    );

    for (file, code, time) in [
        (
            "eventbridge-acw.json",
            "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a21",
            1_795_255_650_000_i64,
        ),
        (
            "eventbridge-wrapup.json",
            "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a22",
            1_795_255_608_000,
        ),
    ] {
        let out = h.call(fixture(file)).await.unwrap();
        assert_eq!(out["jobs"], 1, "{file}");
        let (attr, ticket) = h.all_jobs();
        assert!(attr.is_empty(), "{file}");
        assert_eq!(ticket.len(), 1, "{file}");
        assert_eq!(
            ticket[0].job,
            Job::TicketWrapup(TicketWrapup {
                conversation_id: CONV_A1.into(),
                participant_id: CONV_A1_AGENT.into(),
                wrapup_code: Some(code.into()),
                agent_user_id: Some(AGENT_USER_A.into()),
                event_time_ms: time,
                ticket_id: None,
            }),
            "{file}"
        );
    }

    // Another topic: accepted and counted, no job, no idempotency record.
    let out = h
        .call(fixture("eventbridge-attributes.json"))
        .await
        .unwrap();
    assert_eq!(out["accepted"], true);
    assert_eq!(out["jobs"], 0);
    h.assert_nothing_queued();
    let s = h.ingest.stats();
    assert_eq!((s.events, s.jobs, s.unrouted, s.duplicates), (4, 3, 1, 0));
    assert!(h
        .store
        .record(&idempotency::key(
            ORG_A,
            "8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e04"
        ))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn customer_start_makes_no_job_when_enrichment_is_off() {
    let h = harness().await;
    let mut ev = fixture("eventbridge-customer-start.json");
    // Globex has no enrichment rules.
    ev["source"] = json!(format!(
        "aws.partner/genesys.com/cloud/{ORG_B}/genesys-bridge"
    ));
    let out = h.call(ev).await.unwrap();
    assert_eq!(out["jobs"], 0);
    h.assert_nothing_queued();
}

#[tokio::test]
async fn the_same_event_twice_queues_one_job() {
    let h = harness().await;
    let first = h.call(fixture("eventbridge-acw.json")).await.unwrap();
    assert_eq!(first["duplicate"], false);
    // Genesys redelivers hours later.
    h.clock.advance(Duration::from_secs(3 * 3600));
    let again = h.call(fixture("eventbridge-acw.json")).await.unwrap();
    assert_eq!(
        again,
        json!({"accepted": true, "duplicate": true, "eventId": "8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e02", "jobs": 0})
    );
    assert_eq!(h.queue.drain(Consumer::TicketStatus).len(), 1);
    assert_eq!(h.ingest.stats().duplicates, 1);

    // HTTPS with an Idempotency-Key: the same key is the same event, whatever the body.
    let ev = fixture("function-url-command-attributes.json");
    let (s1, b1) = h.http(ev.clone()).await;
    let (s2, b2) = h.http(ev).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(
        b1,
        json!({"accepted": true, "duplicate": false, "eventId": "flow-run-5521", "jobs": 1})
    );
    assert_eq!(b2["duplicate"], true);
    assert_eq!(h.queue.drain(Consumer::AttributeWriter).len(), 1);

    // Without a key the body's own id, else the body itself, names the event.
    let auth = format!("Bearer {SECRET_A}");
    let body = attributes_command();
    let (_, b1) = h
        .http(request(ORG_A, &body, &[("authorization", &auth)]))
        .await;
    let (_, b2) = h
        .http(request(ORG_A, &body, &[("authorization", &auth)]))
        .await;
    assert!(
        b1["eventId"].as_str().unwrap().starts_with("sha256:"),
        "{b1}"
    );
    assert_eq!(
        (b1["duplicate"].clone(), b2["duplicate"].clone()),
        (json!(false), json!(true))
    );
    let mut other = attributes_command();
    other["payload"]["attributes"]["tier"] = json!("silver");
    let (_, b3) = h
        .http(request(ORG_A, &other, &[("authorization", &auth)]))
        .await;
    assert_eq!(
        b3["duplicate"], false,
        "a different body is a different event"
    );
    assert_eq!(h.queue.drain(Consumer::AttributeWriter).len(), 2);

    // The same event id in another org is another event.
    let mut ev = fixture("eventbridge-acw.json");
    ev["source"] = json!(format!(
        "aws.partner/genesys.com/cloud/{ORG_B}/genesys-bridge"
    ));
    assert_eq!(h.call(ev).await.unwrap()["duplicate"], false);
}

#[tokio::test]
async fn an_event_being_processed_elsewhere_is_not_acked() {
    let h = harness().await;
    let key = idempotency::key(ORG_A, "8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e02");
    h.store
        .begin(&key, "another-invocation", NOW_MS + 10_000, NOW_MS)
        .await
        .unwrap();
    let err = h.call(fixture("eventbridge-acw.json")).await.unwrap_err();
    assert_eq!(err.error_type, "Bridge.Conflict", "{err:?}");
    let (status, body) = h
        .http(fixture("function-url-notification-acw.json").pipe(|mut e| {
            // A signed request names its event in the signed body (an Idempotency-Key
            // header is refused on signed requests).
            let mut body: Value = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
            body["id"] = json!("8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e02");
            e["body"] = json!(body.to_string());
            signed(e, SECRET_A, NOW_MS / 1000)
        }))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["retryable"], true);
    h.assert_nothing_queued();
    // The other invocation died: after its deadline, a retry takes over.
    h.clock.advance(Duration::from_secs(11));
    assert_eq!(
        h.call(fixture("eventbridge-acw.json")).await.unwrap()["jobs"],
        1
    );
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for Value {}

#[tokio::test]
async fn https_auth_bearer_hmac_and_base64() {
    let h = harness().await;
    let (status, body) = h
        .http(fixture("function-url-command-attributes.json"))
        .await;
    assert_eq!(status, 202, "{body}");
    let a = h.queue.drain(Consumer::AttributeWriter);
    assert_eq!(a[0].correlation_id.as_deref(), Some("flow-run-5521"));
    match &a[0].job {
        Job::ParticipantAttributes(p) => {
            assert_eq!(p.conversation_id, CONV_A1);
            assert_eq!(p.attributes["zendesk_ticket_id"], "1001");
            assert_eq!(p.attributes["tier"], "gold");
        }
        j => panic!("{j:?}"),
    }

    let (status, body) = h
        .http(fixture("function-url-command-wrapup-base64.json"))
        .await;
    assert_eq!(status, 202, "{body}");
    let t = h.queue.drain(Consumer::TicketStatus);
    match &t[0].job {
        Job::TicketWrapup(w) => {
            assert_eq!(w.ticket_id, Some(1001));
            assert_eq!(w.agent_user_id.as_deref(), Some(AGENT_USER_A));
            assert_eq!(w.event_time_ms, 1_795_255_650_000);
        }
        j => panic!("{j:?}"),
    }

    let ev = signed(
        fixture("function-url-notification-acw.json"),
        SECRET_A,
        NOW_MS / 1000 - 120,
    );
    let (status, body) = h.http(ev).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["eventId"], "notif-acw-0001",
        "the notification's own id"
    );
    let t = h.queue.drain(Consumer::TicketStatus);
    assert_eq!(
        t[0].correlation_id.as_deref(),
        Some("7f9c2b1e-3a4d-4e5f-9a0b-1c2d3e4f5a6c")
    );
    assert_eq!(h.ingest.stats().jobs, 3);
    h.assert_nothing_queued();
}

#[tokio::test]
async fn forged_tenants_get_one_401_and_queue_nothing() {
    let h = harness().await;
    let body = attributes_command();
    let notif = fixture("function-url-notification-acw.json");
    let now_s = NOW_MS / 1000;
    let cases: Vec<(&str, Value)> = vec![
        ("no credential", request(ORG_A, &body, &[])),
        (
            "another org's shared secret",
            request(
                ORG_A,
                &body,
                &[("authorization", &format!("Bearer {SECRET_B}"))],
            ),
        ),
        (
            "a guessed secret",
            request(
                ORG_A,
                &body,
                &[("authorization", "Bearer 0123456789abcdef0123456789abcdef")],
            ),
        ),
        (
            "basic auth",
            request(
                ORG_A,
                &body,
                &[("authorization", &format!("Basic {SECRET_A}"))],
            ),
        ),
        (
            "unknown org",
            request(
                "0e7a9b1c-2d3e-4f50-8a6b-7c8d9e0f1a99",
                &body,
                &[("authorization", &format!("Bearer {SECRET_A}"))],
            ),
        ),
        (
            "not an org id",
            request(
                "acme",
                &body,
                &[("authorization", &format!("Bearer {SECRET_A}"))],
            ),
        ),
        ("stale HMAC", signed(notif.clone(), SECRET_A, now_s - 301)),
        ("future HMAC", signed(notif.clone(), SECRET_A, now_s + 301)),
        (
            "HMAC with another org's secret",
            signed(notif.clone(), SECRET_B, now_s),
        ),
        ("HMAC of another body", {
            let mut e = signed(notif.clone(), SECRET_A, now_s);
            e["body"] = json!(e["body"]
                .as_str()
                .unwrap()
                .replace("notif-acw-0001", "notif-acw-0002"));
            e
        }),
        ("HMAC for org A sent to org B's path", {
            let mut e = signed(notif.clone(), SECRET_A, now_s);
            e["rawPath"] = json!(format!("/orgs/{ORG_B}/events"));
            e
        }),
    ];
    let mut bodies = Vec::new();
    for (case, ev) in cases {
        let (status, body) = h.http(ev).await;
        assert_eq!(status, 401, "{case}: {body}");
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "401 bodies differ: {bodies:?}"
    );
    assert!(!bodies[0].to_string().contains(ORG_A));
    h.assert_nothing_queued();
    assert_eq!(h.ingest.stats().rejected, 11);

    // EventBridge: an unconfigured org in `source` is an error (dead-lettered), nothing queued.
    let err = h
        .call(fixture("eventbridge-unknown-org.json"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Config.UnknownOrg", "{err:?}");
    assert!(
        err.error_message
            .contains("0e7a9b1c-2d3e-4f50-8a6b-7c8d9e0f1a99"),
        "{}",
        err.error_message
    );
    let mut ev = fixture("eventbridge-acw.json");
    ev["source"] = json!("my.app");
    let err = h.call(ev).await.unwrap_err();
    assert_eq!(err.error_type, "Input.InvalidInput");
    assert!(
        err.error_message.contains("source"),
        "{}",
        err.error_message
    );
    h.assert_nothing_queued();
}

/// The issue's second reproduction: any bearer the events route did not recognise went to
/// Genesys' tokens/me, and a token of the org then queued commands that ran with the
/// bridge's own OAuth client. Now the events route takes the shared secret or an HMAC only,
/// and forwards no bearer anywhere.
#[tokio::test]
async fn the_events_route_forwards_no_bearer_and_queues_nothing_for_a_token() {
    let h = harness().await;
    let limited_client = h.sandbox.state().issue_token(CLIENT_A_LIMITED.0);
    let contact = json!({"command": "contact.fields", "payload": {"contactId": CONTACT_A1,
        "changes": [{"field": "$.customFields.tier_text", "value": "platinum", "action": "Update"}]}});
    for (case, bearer, body) in [
        (
            "another org's shared secret",
            SECRET_B,
            attributes_command(),
        ),
        (
            "a client token without contact:edit",
            limited_client.as_str(),
            contact.clone(),
        ),
        (
            "a client token issued earlier",
            CLIENT_TOKEN_A_LIMITED,
            contact.clone(),
        ),
        ("an agent's token", USER_TOKEN_A, attributes_command()),
    ] {
        let ev = request(
            ORG_A,
            &body,
            &[("authorization", &format!("Bearer {bearer}"))],
        );
        let (status, out) = h.http(ev).await;
        assert_eq!(status, 401, "{case}: {out}");
    }
    h.assert_nothing_queued();
    // No call at all: not tokens/me, not a token of the bridge's own.
    let journal = h.sandbox.journal();
    assert!(journal.is_empty(), "{journal:?}");
    assert_eq!(
        h.sandbox.state().contact(ORG_A, CONTACT_A1).unwrap()["customFields"]["tier_text"],
        "silver"
    );
}

/// A request of the user route for `org`, with `token` as the bearer.
fn user_request(org: &str, body: &Value, token: &str, key: &str) -> Value {
    let mut ev = request(
        org,
        body,
        &[
            ("authorization", &format!("Bearer {token}")),
            ("idempotency-key", key),
        ],
    );
    ev["rawPath"] = json!(format!("/orgs/{org}/user/events"));
    ev["requestContext"]["http"]["path"] = ev["rawPath"].clone();
    ev
}

#[tokio::test]
async fn a_user_token_writes_attributes_with_its_own_rights_once() {
    let h = harness().await;
    let (status, out) = h
        .http(user_request(
            ORG_A,
            &attributes_command(),
            USER_TOKEN_A,
            "u-1",
        ))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        (out["written"].clone(), out["duplicate"].clone()),
        (json!(1), json!(false))
    );
    assert_eq!(out["eventId"], format!("user:{AGENT_USER_A}:u-1"));
    let attrs = h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap();
    assert_eq!(attrs.get("tier").map(String::as_str), Some("gold"));
    // tokens/me and users/me, the conversation, the write: all with the user's own token,
    // on org A's host; the bridge minted no token, and nothing was queued.
    let journal = h.sandbox.journal();
    let calls: Vec<String> = journal
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert_eq!(
        calls,
        vec![
            "GET /api/v2/tokens/me".to_string(),
            "GET /api/v2/users/me".into(),
            format!("GET /api/v2/conversations/{CONV_A1}"),
            format!(
                "PATCH /api/v2/conversations/{CONV_A1}/participants/{CONV_A1_CUSTOMER}/attributes"
            ),
        ]
    );
    assert!(journal
        .iter()
        .all(|e| e.user_id.as_deref() == Some(AGENT_USER_A) && e.org_id.as_deref() == Some(ORG_A)));
    assert_eq!(h.sandbox.state().tokens_issued(), 0);
    h.assert_nothing_queued();

    // The same key again: a duplicate, no write, and the verdict is warm (no token check).
    h.sandbox.clear_journal();
    let (status, out) = h
        .http(user_request(
            ORG_A,
            &attributes_command(),
            USER_TOKEN_A,
            "u-1",
        ))
        .await;
    assert_eq!(
        (status, out["duplicate"].clone()),
        (200, json!(true)),
        "{out}"
    );
    assert!(h.sandbox.journal().is_empty(), "{:?}", h.sandbox.journal());
    // Another user's keys are their own.
    let (status, out) = h
        .http(user_request(ORG_B, &json!({"command": "participant.attributes",
            "payload": {"conversationId": CONV_B1, "participantId": CONV_B1_CUSTOMER, "attributes": {"tier": "gold"}}}),
            USER_TOKEN_B, "u-1"))
        .await;
    assert_eq!(
        (status, out["duplicate"].clone()),
        (200, json!(false)),
        "{out}"
    );
    // Verdicts last 60 s.
    h.clock.advance(Duration::from_secs(61));
    h.sandbox.clear_journal();
    let (status, _) = h
        .http(user_request(
            ORG_A,
            &attributes_command(),
            USER_TOKEN_A,
            "u-2",
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(count(&h.sandbox.journal(), "GET", "/api/v2/tokens/me"), 1);
}

#[tokio::test]
async fn every_other_credential_on_the_user_route_is_refused_before_any_write() {
    let h = harness().await;
    let attrs = attributes_command();
    let contact = json!({"command": "contact.fields", "payload": {"contactId": CONTACT_A1,
        "changes": [{"field": "$.customFields.tier_text", "value": "platinum", "action": "Update"}]}});
    let no_bearer = {
        let mut ev = user_request(ORG_A, &attrs, "x", "k");
        ev["headers"]
            .as_object_mut()
            .unwrap()
            .remove("authorization");
        ev
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("no bearer", no_bearer, 401, "Unauthorized"),
        (
            "the org's shared secret",
            user_request(ORG_A, &attrs, SECRET_A, "k"),
            401,
            "Unauthorized",
        ),
        (
            "a user token of another org",
            user_request(ORG_A, &attrs, USER_TOKEN_B, "k"),
            401,
            "Unauthorized",
        ),
        (
            "a made-up token",
            user_request(ORG_A, &attrs, "not-a-genesys-token", "k"),
            401,
            "Unauthorized",
        ),
        (
            "a client-credentials token",
            user_request(ORG_A, &attrs, CLIENT_TOKEN_A_LIMITED, "k"),
            403,
            "Bridge.Forbidden",
        ),
        (
            "a user token asking for contact.fields",
            user_request(ORG_A, &contact, USER_TOKEN_A, "k"),
            403,
            "Bridge.Forbidden",
        ),
        (
            "a user who is not in the conversation",
            user_request(ORG_A, &attrs, OTHER_USER_TOKEN_A, "k"),
            403,
            "Bridge.Forbidden",
        ),
    ];
    for (case, ev, want, error_type) in cases {
        let (status, out) = h.http(ev).await;
        assert_eq!(
            (status, out["errorType"].as_str()),
            (want, Some(error_type)),
            "{case}: {out}"
        );
        if case.contains("contact.fields") {
            assert!(
                out["message"]
                    .as_str()
                    .unwrap()
                    .contains("may only send the command participant.attributes"),
                "{out}"
            );
        }
        if case.contains("not in the conversation") {
            assert!(
                out["message"]
                    .as_str()
                    .unwrap()
                    .contains("not a participant"),
                "{out}"
            );
        }
    }
    let journal = h.sandbox.journal();
    // Tokens were only ever asked about themselves; nothing was written, nothing queued,
    // no token of the bridge's own was minted, and no shared secret went to Genesys.
    assert_eq!(count(&journal, "PATCH", "/**"), 0, "{journal:?}");
    assert_eq!(count(&journal, "POST", "/oauth/token"), 0);
    // tokens/me was asked once per token: org B's user, the made-up one, the client's,
    // Alex's, Blair's. Neither the missing bearer nor the shared secret went anywhere.
    assert_eq!(
        count(&journal, "GET", "/api/v2/tokens/me"),
        5,
        "{journal:?}"
    );
    let unknown: Vec<_> = journal.iter().filter(|e| e.org_id.is_none()).collect();
    assert_eq!(
        unknown.len(),
        1,
        "only the made-up token is nobody's: {unknown:?}"
    );
    h.assert_nothing_queued();
    assert_eq!(
        h.sandbox.state().contact(ORG_A, CONTACT_A1).unwrap()["customFields"]["tier_text"],
        "silver"
    );
    assert!(!h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap()
        .contains_key("tier"));
}

#[tokio::test]
async fn genesys_decides_with_the_users_permissions_and_a_refusal_releases_the_key() {
    let h = harness().await;
    h.sandbox.state().set_user_permissions(
        ORG_A,
        AGENT_USER_A,
        vec!["conversation:communication:view".into()],
    );
    let ev = || user_request(ORG_A, &attributes_command(), USER_TOKEN_A, "perm-1");
    let (status, out) = h.http(ev()).await;
    assert_eq!(
        (status, out["errorType"].as_str()),
        (403, Some("Genesys.MissingPermission")),
        "{out}"
    );
    assert_eq!(
        out["missingPermissions"],
        json!(["conversation:communication:update"])
    );
    assert!(
        out["message"].as_str().unwrap().contains("user's roles"),
        "{out}"
    );
    // Granted: the same request (same key) now goes through.
    h.sandbox.state().set_user_permissions(
        ORG_A,
        AGENT_USER_A,
        vec![
            "conversation:communication:view".into(),
            "conversation:communication:update".into(),
        ],
    );
    let (status, out) = h.http(ev()).await;
    assert_eq!(
        (status, out["duplicate"].clone()),
        (200, json!(false)),
        "{out}"
    );
    // A revoked token is Genesys' 401 (after the warm verdict), and nothing is written.
    h.sandbox.state().revoke_tokens_for_user(AGENT_USER_A);
    let (status, out) = h
        .http(user_request(
            ORG_A,
            &attributes_command(),
            USER_TOKEN_A,
            "perm-2",
        ))
        .await;
    assert_eq!(
        (status, out["errorType"].as_str()),
        (401, Some("Genesys.BadCredentials")),
        "{out}"
    );
    h.assert_nothing_queued();
}

#[tokio::test]
async fn malformed_input_gets_400_naming_the_problem() {
    let h = harness_with(Limits {
        max_body_bytes: 2048,
        ..Limits::default()
    })
    .await;
    let auth = format!("Bearer {SECRET_A}");
    let a: &[(&str, &str)] = &[("authorization", &auth)];
    let raw = |body: &str| {
        let mut ev = request(ORG_A, &json!({}), a);
        ev["body"] = json!(body);
        ev
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (raw("{\"command\": "), "body", "JSON"),
        (raw("[1,2]"), "body", "object"),
        (raw("{\"hello\": 1}"), "body", "topicName"),
        (raw("  "), "body", "JSON body"),
        (
            request(ORG_A, &json!({"command": "ticket.close", "payload": {}}), a),
            "body.command",
            "ticket.wrapup",
        ),
        (
            request(
                ORG_A,
                &json!({"command": "participant.attributes", "payload": {"participantId": CONV_A1_CUSTOMER}}),
                a,
            ),
            "payload.conversationId",
            "UUID",
        ),
        (
            request(
                ORG_A,
                &json!({"command": "participant.attributes", "payload": {"conversationId": CONV_A1, "participantId": CONV_A1_CUSTOMER, "attributes": {"n": 5}}}),
                a,
            ),
            "payload.attributes.n",
            "string",
        ),
        (
            request(
                ORG_A,
                &json!({"topicName": format!("v2.detail.events.conversation.{CONV_A1}.acw"), "eventBody": {"participantId": CONV_A1_AGENT}}),
                a,
            ),
            "body.eventBody.eventTime",
            "epoch",
        ),
        (
            request(
                ORG_A,
                &attributes_command(),
                &[
                    ("authorization", &auth),
                    ("idempotency-key", &"k".repeat(300)),
                ],
            ),
            "Idempotency-Key",
            "256",
        ),
        (
            request(
                ORG_A,
                &attributes_command().pipe(|mut c| {
                    c["id"] = json!(7);
                    c
                }),
                a,
            ),
            "body.id",
            "string",
        ),
    ];
    for (ev, field, hint) in cases {
        let (status, body) = h.http(ev).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["field"], field, "{body}");
        assert_eq!(body["errorType"], "Input.InvalidInput");
        assert!(
            body["message"].as_str().unwrap().contains(hint),
            "{field}: {body}"
        );
    }

    // Size, encoding, route and method.
    let big = request(ORG_A, &json!({"command": "x", "pad": "p".repeat(3000)}), a);
    let (status, body) = h.http(big).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["message"].as_str().unwrap().contains("2048"), "{body}");
    let mut b64 = request(ORG_A, &attributes_command(), a);
    b64["isBase64Encoded"] = json!(true);
    b64["body"] = json!("not base64!");
    let (status, body) = h.http(b64).await;
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("body")),
        "{body}"
    );
    let mut b64 = request(ORG_A, &attributes_command(), a);
    b64["isBase64Encoded"] = json!(true);
    b64["body"] = json!(base64::engine::general_purpose::STANDARD.encode("x".repeat(4000)));
    assert_eq!(h.http(b64).await.0, 413);
    let mut wrong_path = request(ORG_A, &attributes_command(), a);
    wrong_path["rawPath"] = json!("/events");
    assert_eq!(h.http(wrong_path).await.0, 404);
    let mut get = request(ORG_A, &attributes_command(), a);
    get["requestContext"]["http"]["method"] = json!("GET");
    let resp = h.call(get).await.unwrap();
    assert_eq!(resp["statusCode"], 405);
    assert_eq!(resp["headers"]["allow"], "POST");

    // EventBridge: an error naming the field (the event is retried, then dead-lettered).
    let mut ev = fixture("eventbridge-acw.json");
    ev["detail"]["eventBody"]
        .as_object_mut()
        .unwrap()
        .remove("participantId");
    let err = h.call(ev).await.unwrap_err();
    assert_eq!(err.error_type, "Input.InvalidInput");
    assert!(
        err.error_message.contains("detail.eventBody.participantId"),
        "{}",
        err.error_message
    );
    let mut ev = fixture("eventbridge-acw.json");
    ev.as_object_mut().unwrap().remove("id");
    let err = h.call(ev).await.unwrap_err();
    assert!(err.error_message.contains("`id`"), "{}", err.error_message);
    let err = h.call(json!({"hello": "world"})).await.unwrap_err();
    assert!(
        err.error_message.contains("EventBridge"),
        "{}",
        err.error_message
    );
    let err = h.call(json!("text")).await.unwrap_err();
    assert_eq!(err.error_type, "Input.InvalidInput");

    h.assert_nothing_queued();
    assert!(h.store.is_empty(), "bad input claims nothing");
}

#[tokio::test]
async fn a_queue_failure_completes_nothing_and_a_retry_succeeds() {
    let h = harness().await;
    let key = idempotency::key(ORG_A, "8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e02");

    h.queue.fail_next(1);
    let err = h.call(fixture("eventbridge-acw.json")).await.unwrap_err();
    assert_eq!(err.error_type, "SQS.ServerError", "{err:?}");
    assert!(
        h.store.record(&key).await.unwrap().is_none(),
        "no COMPLETED (nor INPROGRESS) record"
    );
    h.assert_nothing_queued();

    // EventBridge retries a minute later.
    h.clock.advance(Duration::from_secs(60));
    let out = h.call(fixture("eventbridge-acw.json")).await.unwrap();
    assert_eq!(out["jobs"], 1);
    assert_eq!(
        h.store.record(&key).await.unwrap().unwrap().status,
        RecordStatus::Completed
    );
    assert_eq!(h.queue.drain(Consumer::TicketStatus).len(), 1);

    // HTTPS: 500, then the client's retry succeeds.
    h.queue.fail_next(1);
    let (status, body) = h
        .http(fixture("function-url-command-attributes.json"))
        .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["retryable"], true);
    assert!(
        !body.to_string().contains("injected"),
        "internals stay in the log: {body}"
    );
    let key = idempotency::key(ORG_A, "flow-run-5521");
    assert!(h.store.record(&key).await.unwrap().is_none());
    let (status, body) = h
        .http(fixture("function-url-command-attributes.json"))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["duplicate"], false);
    assert_eq!(h.queue.drain(Consumer::AttributeWriter).len(), 1);
    assert_eq!(
        h.store.record(&key).await.unwrap().unwrap().status,
        RecordStatus::Completed
    );
}

#[tokio::test]
async fn responses_are_function_url_responses() {
    let h = harness().await;
    let resp = h
        .call(fixture("function-url-command-attributes.json"))
        .await
        .unwrap();
    assert_eq!(resp["statusCode"], 202);
    assert_eq!(resp["isBase64Encoded"], false);
    assert_eq!(resp["headers"]["content-type"], "application/json");
    let unauthorized = h
        .call(request(ORG_A, &attributes_command(), &[]))
        .await
        .unwrap();
    assert_eq!(unauthorized["headers"]["www-authenticate"], "Bearer");
}
