//! What only ticket-status's tests need: the wrap-up codes of the example orgs, its
//! fixtures, job messages and SQS events built from them, and Zendesk ticket views.
#![allow(dead_code)]

use bridge_sandbox::Sandbox;
use bridge_testkit::ids::AGENT_USER_A;
use serde_json::{json, Value};

/// Org A's wrap-up codes mapped in examples/orgs.
pub const SOLVED_CODE: &str = "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a21";
pub const PENDING_CODE: &str = "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a22";
/// Org B's wrap-up code for "solved", mapped in examples/orgs.
pub const SOLVED_CODE_B: &str = "c2a0b1d3-4e5f-4a61-9b7c-8d9e0f1a2b31";

/// A fixture of `events/ticket-status/`.
pub fn fixture(name: &str) -> Value {
    bridge_testkit::fixture(&format!("ticket-status/{name}"))
}

/// A `ticket.wrapup` job message body.
pub fn job(
    n: u32,
    org: &str,
    conv: &str,
    participant: &str,
    code: Option<&str>,
    t: i64,
    ticket: Option<u64>,
) -> Value {
    let mut payload = json!({"conversationId": conv, "participantId": participant,
                             "agentUserId": AGENT_USER_A, "eventTimeMs": t});
    if let Some(c) = code {
        payload["wrapupCode"] = json!(c);
    }
    if let Some(id) = ticket {
        payload["ticketId"] = json!(id);
    }
    json!({"v": 1, "jobId": format!("evt-{n}:0"), "orgId": org, "eventId": format!("evt-{n}"),
           "createdAt": "2025-03-03T09:31:02Z", "kind": "ticket.wrapup", "payload": payload})
}

/// A real-shaped SQS event (the fixture's record as template) with the given bodies.
pub fn sqs(messages: &[(&str, String)]) -> Value {
    let template = fixture("sqs-wrapup-from-attribute.json")["Records"][0].clone();
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(id);
            r["body"] = json!(body);
            r
        })
        .collect();
    json!({"Records": records})
}

pub fn failures(resp: &Value) -> Vec<String> {
    let mut v: Vec<String> = resp["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {resp}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

pub fn ticket_path(sub: &str, id: u64) -> String {
    format!("/zendesk/{sub}/api/v2/tickets/{id}.json")
}

pub fn status_of(sb: &Sandbox, sub: &str, id: u64) -> String {
    sb.state().ticket(sub, id).expect("ticket exists")["status"]
        .as_str()
        .unwrap()
        .to_string()
}
