//! Property tests (our fuzz target) for the parser, authenticator and router, through
//! [`webhook_ingest::offline`]: arbitrary and mutated inputs never panic, never pass
//! authentication without the org's credential, and whatever is accepted is well formed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use bridge::jobs::Job;
use bridge::OrgConfig;
use proptest::prelude::*;
use serde_json::{json, Value};
use webhook_ingest::auth::signature;
use webhook_ingest::{offline, Limits, Plan, Reject};

const ORG_A: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
const SECRET_A: &str = "acme-webhook-secret-local-0123456789abcdef";
const NOW_MS: u64 = 1_795_255_680_000;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn orgs() -> HashMap<String, Arc<OrgConfig>> {
    let mut m = HashMap::new();
    for org in [ORG_A, "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22"] {
        let text =
            std::fs::read_to_string(root().join(format!("examples/orgs/{org}.json"))).unwrap();
        m.insert(
            org.to_string(),
            Arc::new(OrgConfig::from_json(&text).unwrap()),
        );
    }
    m
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join("events/webhook-ingest").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn run(orgs: &HashMap<String, Arc<OrgConfig>>, event: &Value) -> Result<Plan, Reject> {
    let limits = Limits {
        max_body_bytes: 16 * 1024,
        ..Limits::default()
    };
    offline(|id| orgs.get(id).cloned(), event, &limits, NOW_MS).map(|(_, plan)| plan)
}

/// Accepted plans are well formed: the org of the credential, deterministic job ids, and
/// Genesys ids that are canonical UUIDs (so no worker ever builds a path from junk).
fn check_plan(plan: &Plan, org: &str) {
    assert_eq!(plan.org_id, org);
    assert!(!plan.event_id.is_empty() && plan.event_id.chars().count() <= 256);
    for (n, job) in plan.jobs.iter().enumerate() {
        assert_eq!(job.org_id, org);
        assert_eq!(job.job_id, format!("{}:{n}", plan.event_id));
        let ids: Vec<&str> = match &job.job {
            Job::ParticipantAttributes(p) => vec![&p.conversation_id, &p.participant_id],
            Job::ContactFields(c) => vec![&c.contact_id],
            Job::ParticipantEnrich(p) => vec![&p.conversation_id, &p.participant_id],
            Job::TicketWrapup(t) => {
                let mut v = vec![t.conversation_id.as_str(), t.participant_id.as_str()];
                v.extend(t.agent_user_id.as_deref());
                v
            }
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
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_events_never_panic(ev in json_value()) {
        let _ = run(&orgs(), &ev);
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
        match run(&orgs(), &ev) {
            Ok(plan) => check_plan(&plan, ORG_A),
            Err(Reject::BadRequest(e)) => prop_assert!(e.field.is_some(), "{e}"),
            Err(Reject::Unauthorized(_)) => prop_assert_eq!(which, "eventbridge-unknown-org.json"),
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn arbitrary_sources_name_a_configured_org_or_fail(source in ".{0,80}", org_ok in any::<bool>()) {
        let mut ev = fixture("eventbridge-acw.json");
        ev["source"] = json!(if org_ok { format!("aws.partner/genesys.com/cloud/{ORG_A}/{source}") } else { source.clone() });
        match run(&orgs(), &ev) {
            Ok(plan) => check_plan(&plan, ORG_A),
            Err(Reject::BadRequest(e)) => prop_assert_eq!(e.field.as_deref(), Some("source")),
            Err(Reject::Unauthorized(_)) => {}
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
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
        match run(&orgs(), &http_with_body(&sent, &headers, b64)) {
            Ok(plan) => check_plan(&plan, ORG_A),
            Err(Reject::BadRequest(e)) => prop_assert!(e.field.is_some(), "{e}"),
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
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
        let out = run(&orgs(), &ev);
        if tampered || skew != 0 {
            prop_assert!(matches!(out, Err(Reject::Unauthorized(_))), "{out:?}");
        }
        // A bearer that is not the secret is never accepted offline (it would need tokens/me).
        let ev = http_with_body(&body, &[("authorization", format!("Bearer {token}"))], false);
        prop_assert!(matches!(run(&orgs(), &ev), Err(Reject::Unauthorized(_))));
    }
}
