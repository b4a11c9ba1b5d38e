//! Property tests (our fuzz target) for the handler: arbitrary and mutated inputs run
//! through the real [`webhook_ingest::handle`] (in-memory queue and idempotency store, the
//! example orgs of examples/orgs pointed at a local sandbox for the one path that asks
//! Genesys) never panic, never pass authentication without the org's credential, and
//! whatever is accepted is queued well formed. Arbitrary headers and bodies answer a 202 or
//! a 4xx (a 400 names its field), and no secret of the org configs reaches an answer or a
//! log line. Cases per property: 400 (`PROPTEST_CASES` runs more).

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use base64::Engine;
use bridge::http::HttpClient;
use bridge::idempotency::MemoryIdempotency;
use bridge::jobs::{Consumer, Job, JobEnvelope};
use bridge::queue::MemoryQueue;
use bridge::Runtime;
use bridge_sandbox::{default_seed, Sandbox};
use bridge_testkit::ids::ORG_A;
use bridge_testkit::props::{cases, org_secrets, secret_in, text};
use bridge_testkit::{capture_logs, repo_root, sandbox_orgs_from_dir};
use lambda_runtime::Context;
use proptest::prelude::*;
use serde_json::{json, Value};
use webhook_ingest::auth::signature;
use webhook_ingest::{handle, Ingest, Limits, ManualClock};

const SECRET_A: &str = "acme-webhook-secret-local-0123456789abcdef";
const NOW_MS: u64 = 1_795_255_680_000;

fn fixture(name: &str) -> Value {
    bridge_testkit::fixture(&format!("webhook-ingest/{name}"))
}

/// One warm container for every case: a tokio runtime, the sandbox, and the org store
/// (example orgs pointed at the sandbox). Each case gets its own queue and idempotency
/// store, so no case sees another's event as a duplicate.
struct World {
    tokio: tokio::runtime::Runtime,
    rt: Arc<Runtime>,
    _sandbox: Sandbox,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = tokio.block_on(Sandbox::start(default_seed())).unwrap();
    let orgs =
        sandbox_orgs_from_dir(&repo_root().join("examples/orgs"), &sandbox.base_url()).unwrap();
    let rt = Runtime::new(
        Arc::new(orgs),
        Duration::from_secs(300),
        HttpClient::new().unwrap(),
    );
    World {
        tokio,
        rt: Arc::new(rt),
        _sandbox: sandbox,
    }
});

/// What the handler did with an event, in the terms the properties speak.
#[derive(Debug)]
enum Outcome {
    /// 202 or an EventBridge summary: the event id, and the jobs that were queued.
    Accepted {
        event_id: String,
        jobs: Vec<JobEnvelope>,
    },
    /// HTTPS 400, or an EventBridge `Input.InvalidInput` error; the field it names.
    BadRequest { field: Option<String> },
    /// HTTPS 401, or an EventBridge event of an org with no config (`Config.UnknownOrg`).
    Unauthorized,
    /// Anything else (status or error type, and the answer), shown when a property fails.
    Other(#[allow(dead_code)] String),
}

fn run(event: &Value) -> Outcome {
    let queue = Arc::new(MemoryQueue::new());
    let ingest = Ingest::with(
        WORLD.rt.clone(),
        queue.clone(),
        Arc::new(MemoryIdempotency::default()),
        Limits {
            max_body_bytes: 16 * 1024,
            ..Limits::default()
        },
        Arc::new(ManualClock::new(NOW_MS)),
    );
    let out = WORLD
        .tokio
        .block_on(handle(&ingest, event.clone(), Context::default()));
    let mut jobs = queue.drain(Consumer::AttributeWriter);
    jobs.extend(queue.drain(Consumer::TicketStatus));
    let accepted = |summary: &Value, jobs: Vec<JobEnvelope>| {
        assert_eq!(summary["duplicate"], false, "{summary}");
        assert_eq!(
            summary["jobs"].as_u64(),
            Some(jobs.len() as u64),
            "{summary}"
        );
        let event_id = summary["eventId"].as_str().unwrap().to_string();
        Outcome::Accepted { event_id, jobs }
    };
    match out {
        Ok(resp) if resp.get("statusCode").is_some() => {
            let status = resp["statusCode"].as_u64().unwrap();
            let body: Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
            match status {
                202 => accepted(&body, jobs),
                400 => Outcome::BadRequest {
                    field: body["field"].as_str().map(str::to_string),
                },
                401 => Outcome::Unauthorized,
                _ => Outcome::Other(format!("{status} {body}")),
            }
        }
        Ok(summary) => accepted(&summary, jobs),
        Err(d) => match d.error_type.as_str() {
            "Input.InvalidInput" => Outcome::BadRequest {
                field: field_named(&d.error_message),
            },
            "Config.UnknownOrg" => Outcome::Unauthorized,
            _ => Outcome::Other(format!("{} {}", d.error_type, d.error_message)),
        },
    }
}

/// The field an `Input.InvalidInput` message names: "Input.InvalidInput …: `field`: …".
fn field_named(message: &str) -> Option<String> {
    let (_, rest) = message.split_once(": `")?;
    let (field, _) = rest.split_once("`: ")?;
    Some(field.to_string())
}

/// Accepted events are queued well formed: the org of the credential, deterministic job
/// ids, and Genesys ids that are canonical UUIDs (so no worker ever builds a path from
/// junk).
fn check_accepted(event_id: &str, jobs: &[JobEnvelope], org: &str) {
    assert!(!event_id.is_empty() && event_id.chars().count() <= 256);
    let mut jobs: Vec<&JobEnvelope> = jobs.iter().collect();
    jobs.sort_by_key(|j| {
        j.job_id
            .rsplit(':')
            .next()
            .and_then(|n| n.parse::<usize>().ok())
    });
    for (n, job) in jobs.into_iter().enumerate() {
        assert_eq!(job.org_id, org);
        assert_eq!(job.event_id, event_id);
        assert_eq!(job.job_id, format!("{event_id}:{n}"));
        let ids: Vec<&str> = match &job.job {
            Job::ParticipantAttributes(p) => vec![&p.conversation_id, &p.participant_id],
            Job::ContactFields(c) => vec![&c.contact_id],
            Job::ParticipantEnrich(p) => vec![&p.conversation_id, &p.participant_id],
            Job::TicketWrapup(t) => {
                let mut v = vec![t.conversation_id.as_str(), t.participant_id.as_str()];
                v.extend(t.agent_user_id.as_deref());
                v
            }
            Job::MessageAgentless(m) => m.conversation_id.as_deref().into_iter().collect(),
        };
        for id in ids {
            assert_eq!(
                uuid::Uuid::parse_str(id)
                    .map(|u| u.hyphenated().to_string())
                    .ok()
                    .as_deref(),
                Some(id)
            );
        }
    }
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "topicName", "eventBody", "conversationId", "participantId", "eventTime", "ani",
            "wrapupCode", "userId", "attributes", "command", "payload", "id", "ticketId",
            "metadata", "CorrelationId", "changes", "contactId", "email", "phone", "eventTimeMs",
        ])
        .prop_map(str::to_string),
        1 => "[a-zA-Z.]{0,10}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "c0a00001-0000-4000-8000-000000000000",
            "v2.detail.events.conversation.c0a00001-0000-4000-8000-000000000000.acw",
            "v2.detail.events.conversation.c0a00001-0000-4000-8000-000000000000.customer.start",
            "participant.attributes",
            "ticket.wrapup",
            "tel:+15551230001",
            "1001",
            "",
        ])
        .prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces or inserts `value` at a path of keys (creating objects as needed).
fn set_path(v: &mut Value, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = value;
        return;
    };
    if !v.is_object() {
        *v = json!({});
    }
    let child = v
        .as_object_mut()
        .unwrap()
        .entry(first.clone())
        .or_insert(Value::Null);
    set_path(child, rest, value);
}

fn http_with_body(body: &[u8], headers: &[(&str, String)], b64: bool) -> Value {
    let mut ev = fixture("function-url-command-attributes.json");
    let h = ev["headers"].as_object_mut().unwrap();
    h.remove("authorization");
    h.remove("idempotency-key");
    for (k, v) in headers {
        h.insert(k.to_string(), json!(v));
    }
    ev["isBase64Encoded"] = json!(b64);
    ev["body"] = if b64 {
        json!(base64::engine::general_purpose::STANDARD.encode(body))
    } else {
        json!(String::from_utf8_lossy(body))
    };
    ev
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_events_never_panic(ev in json_value()) {
        let _ = run(&ev);
    }

    #[test]
    fn mutated_eventbridge_events_are_routed_or_refused_cleanly(
        which in prop::sample::select(vec![
            "eventbridge-customer-start.json", "eventbridge-acw.json", "eventbridge-wrapup.json",
            "eventbridge-attributes.json", "eventbridge-unknown-org.json",
        ]),
        path in prop::collection::vec(key(), 0..4),
        under_body in any::<bool>(),
        value in json_value(),
    ) {
        let mut ev = fixture(which);
        let mut full = if under_body { vec!["detail".to_string(), "eventBody".to_string()] } else { vec!["detail".to_string()] };
        full.extend(path);
        set_path(&mut ev, &full, value);
        match run(&ev) {
            Outcome::Accepted { event_id, jobs } => check_accepted(&event_id, &jobs, ORG_A),
            Outcome::BadRequest { field } => prop_assert!(field.is_some()),
            Outcome::Unauthorized => prop_assert_eq!(which, "eventbridge-unknown-org.json"),
            other => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn arbitrary_sources_name_a_configured_org_or_fail(source in ".{0,80}", org_ok in any::<bool>()) {
        let mut ev = fixture("eventbridge-acw.json");
        ev["source"] = json!(if org_ok { format!("aws.partner/genesys.com/cloud/{ORG_A}/{source}") } else { source.clone() });
        match run(&ev) {
            Outcome::Accepted { event_id, jobs } => check_accepted(&event_id, &jobs, ORG_A),
            Outcome::BadRequest { field } => prop_assert_eq!(field.as_deref(), Some("source")),
            Outcome::Unauthorized => {}
            other => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn authenticated_bodies_are_accepted_or_400(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            json_value().prop_map(|v| v.to_string().into_bytes()),
            (json_value(), prop::sample::select(vec!["participant.attributes", "contact.fields", "participant.enrich", "ticket.wrapup"]))
                .prop_map(|(p, c)| json!({"command": c, "payload": p}).to_string().into_bytes()),
        ],
        hmac in any::<bool>(),
        b64 in any::<bool>(),
    ) {
        let headers = if hmac {
            let ts = NOW_MS / 1000;
            vec![("x-bridge-timestamp", ts.to_string()), ("x-bridge-signature", signature(SECRET_A, ts, &body))]
        } else {
            vec![("authorization", format!("Bearer {SECRET_A}"))]
        };
        // Without base64, the body travels as (lossy) UTF-8; sign what is actually sent.
        let sent: Vec<u8> = if b64 { body.clone() } else { String::from_utf8_lossy(&body).into_owned().into_bytes() };
        let headers = if hmac && !b64 {
            let ts = NOW_MS / 1000;
            vec![("x-bridge-timestamp", ts.to_string()), ("x-bridge-signature", signature(SECRET_A, ts, &sent))]
        } else { headers };
        match run(&http_with_body(&sent, &headers, b64)) {
            Outcome::Accepted { event_id, jobs } => check_accepted(&event_id, &jobs, ORG_A),
            Outcome::BadRequest { field } => prop_assert!(field.is_some()),
            other => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn tampered_or_unsigned_requests_never_pass(
        flip in 0usize..400,
        bit in 0u8..8,
        skew in prop_oneof![Just(0i64), 301i64..100_000, -100_000i64..-301],
        token in "[A-Za-z0-9._~+/-]{0,60}",
    ) {
        let body = json!({"command": "participant.attributes", "payload": {
            "conversationId": "c0a00001-0000-4000-8000-000000000000",
            "participantId": "c0a00001-0000-4000-8000-00000000c001", "attributes": {"tier": "gold"}}}).to_string().into_bytes();
        let ts = (NOW_MS / 1000) as i64 + skew;
        let sig = signature(SECRET_A, ts as u64, &body);
        let mut sent = body.clone();
        let i = flip % sent.len();
        sent[i] ^= 1 << bit;
        let tampered = sent != body;
        let ev = http_with_body(&sent, &[("x-bridge-timestamp", ts.to_string()), ("x-bridge-signature", sig)], true);
        let out = run(&ev);
        if tampered || skew != 0 {
            prop_assert!(matches!(out, Outcome::Unauthorized), "{out:?}");
        }
        // A bearer that is not the secret is refused on the events route, whatever it is.
        let ev = http_with_body(&body, &[("authorization", format!("Bearer {token}"))], false);
        let out = run(&ev);
        prop_assert!(matches!(out, Outcome::Unauthorized), "{out:?}");
    }
}

/// A request with arbitrary headers and body: (status, body text, every log line).
fn run_logged(event: &Value) -> (u64, String, String) {
    let ingest = Ingest::with(
        WORLD.rt.clone(),
        Arc::new(MemoryQueue::new()),
        Arc::new(MemoryIdempotency::default()),
        Limits {
            max_body_bytes: 16 * 1024,
            ..Limits::default()
        },
        Arc::new(ManualClock::new(NOW_MS)),
    );
    let (logs, guard) = capture_logs();
    let out = WORLD
        .tokio
        .block_on(handle(&ingest, event.clone(), Context::default()))
        .expect("Function URL requests always answer");
    drop(guard);
    let status = out["statusCode"].as_u64().unwrap_or(0);
    let body = out["body"].as_str().unwrap_or_default().to_string();
    (status, body, logs.text())
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "idempotency-key", "x-bridge-signature", "x-bridge-timestamp", "authorization",
            "content-type", "x-amzn-trace-id",
        ])
        .prop_map(str::to_string),
        1 => "[a-z][a-z0-9-]{0,20}",
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => text(),
        1 => prop::sample::select(vec!["événement-1", "v1=00", "1795255680", "Bearer x", "Basic x"])
            .prop_map(str::to_string),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_answer_4xx_naming_the_field_and_never_a_secret(
        org in prop::sample::select(vec![ORG_A, "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22", "00000000-0000-4000-8000-000000000000", "acme", "..%2f"]),
        bearer in any::<bool>(),
        headers in prop::collection::vec((header_name(), header_value()), 0..5),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            json_value().prop_map(|v| v.to_string().into_bytes()),
            (json_value(), prop::sample::select(vec!["participant.attributes", "contact.fields", "participant.enrich", "ticket.wrapup"]))
                .prop_map(|(p, c)| json!({"command": c, "payload": p}).to_string().into_bytes()),
        ],
        b64 in any::<bool>(),
    ) {
        let mut all: Vec<(&str, String)> = Vec::new();
        if bearer {
            // The path's org's own secret, so that arbitrary bodies reach the planner.
            let secret = bridge_testkit::example_org(if org == ORG_A { ORG_A } else { "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22" })["webhook"]["sharedSecret"].as_str().unwrap().to_string();
            all.push(("authorization", format!("Bearer {secret}")));
        }
        for (k, v) in &headers {
            all.push((k.as_str(), v.clone()));
        }
        let mut ev = http_with_body(&body, &all, b64);
        ev["rawPath"] = json!(format!("/orgs/{org}/events"));
        let (status, answer, logs) = run_logged(&ev);
        prop_assert!(matches!(status, 202 | 400 | 401 | 404 | 409 | 413), "{status} {answer}");
        if status == 400 {
            let b: Value = serde_json::from_str(&answer).unwrap();
            prop_assert!(b["field"].as_str().is_some_and(|f| !f.is_empty()), "{answer}");
            prop_assert!(answer.len() < 2048, "a 400 of {} bytes", answer.len());
        }
        let secrets = org_secrets();
        prop_assert_eq!(secret_in(&answer, &secrets), None, "{}", answer);
        prop_assert_eq!(secret_in(&logs, &secrets), None, "{}", logs);
        prop_assert!(logs.lines().all(|l| l.len() < 4096), "a log line over 4 KB");
    }
}
