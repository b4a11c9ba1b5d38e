//! Property tests (fuzz targets) of ticket-status's input: arbitrary and mutated data
//! action inputs and `ticket.wrapup` job messages never panic, and every refusal is an
//! `Input.InvalidInput` naming its field in a short message; through the real handler
//! against the sandbox, no answer, error or log line carries a secret of the org configs.
//! Cases: `PROPTEST_CASES` (defaults keep CI fast).

use std::sync::LazyLock;
use std::time::Duration;

use bridge::jobs::JobEnvelope;
use bridge_testkit::props::{
    cases, job_text, json_value, key_path, named_refusal, org_secrets, secret_in, set_path,
};
use bridge_testkit::{capture_logs, ctx_with_deadline, OrgHarness};
use proptest::prelude::*;
use serde_json::{json, Value};
use ticket_status::input::{wrapup_job, ActionInput};

const KEYS: [&str; 12] = [
    "orgId",
    "ticketId",
    "status",
    "comment",
    "public",
    "kind",
    "payload",
    "conversationId",
    "participantId",
    "wrapupCode",
    "eventTimeMs",
    "agentUserId",
];
const STRINGS: [&str; 6] = [
    "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11",
    "c0a00001-0000-4000-8000-000000000000",
    "1001",
    "solved",
    "99999999999999999999999",
    "ticket.wrapup",
];

fn value() -> impl Strategy<Value = Value> {
    json_value(KEYS.to_vec(), STRINGS.to_vec())
}

fn fixture(name: &str) -> Value {
    bridge_testkit::fixture(&format!("ticket-status/{name}"))
}

struct World {
    tokio: tokio::runtime::Runtime,
    orgs: OrgHarness,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let orgs = tokio.block_on(OrgHarness::start());
    World { tokio, orgs }
});

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    #[test]
    fn data_action_inputs_parse_or_name_the_field(
        path in key_path(KEYS.to_vec()),
        v in value(),
        whole in any::<bool>(),
    ) {
        let event = if whole { v } else {
            let mut e = fixture("data-action-solve.json");
            set_path(&mut e, &path, v);
            e
        };
        match ActionInput::parse(&event) {
            Ok(input) => prop_assert!(input.ticket_id > 0),
            Err(e) => named_refusal(&e)?,
        }
    }

    #[test]
    fn job_messages_parse_or_name_the_field(
        kind in prop::sample::select(vec!["ticket.wrapup", "participant.attributes", "nope"]),
        path in key_path(KEYS.to_vec()),
        v in value(),
        raw in prop::collection::vec(any::<u8>(), 0..200),
        use_raw in prop::bool::weighted(0.2),
    ) {
        let mut payload = json!({"conversationId": "c0a00001-0000-4000-8000-000000000000",
                                 "participantId": "c0a00001-0000-4000-8000-00000000a001", "eventTimeMs": 1});
        set_path(&mut payload, &path, v);
        let text = if use_raw { String::from_utf8_lossy(&raw).into_owned() } else { job_text(kind, payload) };
        match JobEnvelope::from_json(&text) {
            Ok(env) => match wrapup_job(env.job) {
                Ok(w) => prop_assert!(w.ticket_id != Some(0)),
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
    fn the_handler_never_shows_a_secret(
        path in key_path(KEYS.to_vec()),
        v in value(),
        batch in any::<bool>(),
    ) {
        let event = if batch {
            let mut payload = json!({"conversationId": "c0a00001-0000-4000-8000-000000000000",
                                     "participantId": "c0a00001-0000-4000-8000-00000000a001", "eventTimeMs": 1, "ticketId": 1001});
            set_path(&mut payload, &path, v);
            let mut sqs = fixture("sqs-wrapup-batch.json");
            sqs["Records"] = json!([{"messageId": "m1", "eventSource": "aws:sqs", "body": job_text("ticket.wrapup", payload)}]);
            sqs
        } else {
            let mut e = fixture("data-action-solve.json");
            set_path(&mut e, &path, v);
            e
        };
        let (logs, guard) = capture_logs();
        let out = WORLD.tokio.block_on(ticket_status::handle(
            &WORLD.orgs.rt,
            event,
            ctx_with_deadline(Duration::from_secs(10)),
        ));
        drop(guard);
        let shown = match &out {
            Ok(v) => v.to_string(),
            Err(d) => {
                prop_assert!(d.error_type.split_once('.').is_some(), "{}", d.error_type);
                format!("{} {}", d.error_type, d.error_message)
            }
        };
        let secrets = org_secrets();
        prop_assert_eq!(secret_in(&shown, &secrets), None, "{}", shown);
        prop_assert_eq!(secret_in(&logs.text(), &secrets), None);
    }
}
