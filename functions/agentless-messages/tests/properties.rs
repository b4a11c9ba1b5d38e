//! Property tests (fuzz targets) of agentless-messages' input: arbitrary and mutated data
//! action inputs and job messages never panic, and every refusal is an `Input.InvalidInput`
//! naming its field in a short message; through the real handler against the sandbox, no
//! answer, error or log line carries a secret of the org configs or the recipient's number.
//! Cases: `PROPTEST_CASES` (defaults keep CI fast).

mod common;

use std::sync::LazyLock;
use std::time::Duration;

use agentless_messages::input::{parse_action_input, parse_job};
use bridge::jobs::JobEnvelope;
use bridge_testkit::capture_logs;
use bridge_testkit::props::{
    cases, job_text, json_value, key_path, named_refusal, org_secrets, secret_in, set_path,
};
use common::*;
use proptest::prelude::*;
use serde_json::{json, Value};

/// The recipient the mutated events keep (customer data: never shown back).
const RECIPIENT: &str = "+15551230001";

const KEYS: [&str; 15] = [
    "orgId",
    "idempotencyKey",
    "template",
    "sender",
    "text",
    "toAddress",
    "conversationId",
    "parametersJson",
    "parameters",
    "useExistingActiveConversation",
    "kind",
    "payload",
    "v",
    "jobId",
    "customerName",
];
const STRINGS: [&str; 9] = [
    "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11",
    "c0a00001-0000-4000-8000-000000000000",
    "acme-sms",
    "acme-whatsapp",
    "missed-call",
    "appointment-reminder",
    "{{customerName}} {{date}}",
    "{\"date\": 12345678901234567890123}",
    "tel:+15551230001",
];

fn value() -> impl Strategy<Value = Value> {
    json_value(KEYS.to_vec(), STRINGS.to_vec())
}

/// One warm container for the handler cases: tokio, the sandbox, the example orgs and the
/// function's messenger (in-memory claims and DLQ).
struct World {
    tokio: tokio::runtime::Runtime,
    h: Harness,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = tokio.block_on(Harness::start());
    World { tokio, h }
});

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    #[test]
    fn data_action_inputs_parse_or_name_the_field(
        which in prop::sample::select(vec!["data-action-sms-text.json", "data-action-sms-template.json", "data-action-whatsapp-template.json"]),
        path in key_path(KEYS.to_vec()),
        v in value(),
        whole in any::<bool>(),
    ) {
        let event = if whole { v } else {
            let mut e = fixture(which);
            set_path(&mut e, &path, v);
            e
        };
        match parse_action_input(&event) {
            Ok(input) => prop_assert!(!input.org_id.is_empty()),
            Err(e) => named_refusal(&e)?,
        }
    }

    #[test]
    fn job_messages_parse_or_name_the_field(
        kind in prop::sample::select(vec!["message.agentless", "ticket.wrapup", "nope"]),
        payload in value(),
        raw in prop::collection::vec(any::<u8>(), 0..200),
        use_raw in prop::bool::weighted(0.2),
    ) {
        let text = if use_raw { String::from_utf8_lossy(&raw).into_owned() } else { job_text(kind, payload) };
        match JobEnvelope::from_json(&text) {
            Ok(env) => match parse_job(env.job) {
                Ok(m) => prop_assert!(m.to_address.is_some() || m.conversation_id.is_some()),
                Err(e) => named_refusal(&e)?,
            },
            Err(e) => named_refusal(&e)?,
        }
    }
}

proptest! {
    // Each case is a real invocation against the sandbox: fewer of them.
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    #[test]
    fn the_handler_never_shows_a_secret_or_the_recipient(
        path in key_path(KEYS.to_vec()),
        v in value(),
        batch in any::<bool>(),
        n in any::<u32>(),
    ) {
        let event = if batch {
            let mut payload = json!({"sender": "acme-sms", "text": "Your table is ready.",
                                     "toAddress": RECIPIENT});
            set_path(&mut payload, &path, v);
            let body: Value = serde_json::from_str(&job_text("message.agentless", payload)).unwrap();
            sqs(&[("5b1e0001-0000-4000-8000-000000000001", body)])
        } else {
            let mut e = fixture("data-action-sms-text.json");
            // A key of its own, so that a case is not the duplicate of an earlier one.
            e["idempotencyKey"] = json!(format!("prop-{n}"));
            set_path(&mut e, &path, v);
            e
        };
        let (logs, guard) = capture_logs();
        let out = WORLD.tokio.block_on(WORLD.h.invoke_within(event, Duration::from_secs(10)));
        drop(guard);
        let shown = match &out {
            Ok(v) => v.to_string(),
            Err(d) => {
                prop_assert!(d.error_type.split_once('.').is_some(), "{}", d.error_type);
                format!("{} {}", d.error_type, d.error_message)
            }
        };
        let mut private = org_secrets();
        private.push(RECIPIENT.to_string());
        prop_assert_eq!(secret_in(&shown, &private), None, "{}", shown);
        prop_assert_eq!(secret_in(&logs.text(), &private), None);
    }
}
