//! The Genesys-side data action definitions (infra/genesys/*.action.json) and the functions
//! must agree: every key a function returns is in the action's output contract with the same
//! JSON type, and every contract key is returned. A drift on either side fails here, before
//! a flow in production takes its Failure path on a schema mismatch.

use bridge_testkit::{data_action_ctx, repo_root, OrgHarness};
use serde_json::Value;

fn read(rel: &str) -> Value {
    let text =
        std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn assert_matches_contract(action_file: &str, output: &Value) {
    let action = read(action_file);
    let props = action["contract"]["output"]["successSchema"]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{action_file} has no output properties"));
    let out = output
        .as_object()
        .expect("a data action output is a flat object");
    for (key, value) in out {
        let spec = props
            .get(key)
            .unwrap_or_else(|| panic!("{action_file}: output key {key:?} is not in the contract"));
        let want = spec["type"].as_str().unwrap();
        let got = json_type(value);
        assert!(
            got == want || (want == "number" && got == "integer"),
            "{action_file}: {key} is {got} but the contract says {want}"
        );
    }
    for key in props.keys() {
        assert!(
            out.contains_key(key),
            "{action_file}: contract key {key:?} is never returned"
        );
    }
}

#[tokio::test]
async fn attribute_writer_output_matches_its_data_action() {
    let h = OrgHarness::start().await;
    for fixture in [
        "events/attribute-writer/data-action-attributes-json.json",
        "events/attribute-writer/data-action-verify.json",
    ] {
        let event = read(fixture);
        let ctx = data_action_ctx("attribute-writer", &event);
        let out = attribute_writer::handle(&h.rt, event, ctx)
            .await
            .unwrap_or_else(|e| panic!("{fixture}: {}", e.error_message));
        assert_matches_contract("infra/genesys/attribute-writer.action.json", &out);
    }
}

#[tokio::test]
async fn ticket_status_output_matches_its_data_action() {
    let h = OrgHarness::start().await;
    for fixture in [
        "events/ticket-status/data-action-solve.json",
        "events/ticket-status/data-action-followup-globex.json",
    ] {
        let event = read(fixture);
        let ctx = data_action_ctx("ticket-status", &event);
        let out = ticket_status::handle(&h.rt, event, ctx)
            .await
            .unwrap_or_else(|e| panic!("{fixture}: {}", e.error_message));
        assert_matches_contract("infra/genesys/ticket-status.action.json", &out);
    }
}

#[tokio::test]
async fn agentless_messages_output_matches_its_data_action() {
    use std::sync::Arc;

    use bridge::http::HttpClient;
    use bridge::idempotency::MemoryIdempotency;
    use bridge::queue::MemoryDeadLetters;
    use bridge::secrets::DEFAULT_TTL;

    let h = OrgHarness::start().await;
    let rt = bridge::Runtime::new(h.source.clone(), DEFAULT_TTL, HttpClient::new().unwrap());
    let m = agentless_messages::Messenger::new(
        Arc::new(rt),
        Arc::new(MemoryIdempotency::default()),
        Arc::new(MemoryDeadLetters::new()),
    );
    for fixture in [
        "events/agentless-messages/data-action-sms-template.json",
        "events/agentless-messages/data-action-whatsapp-template.json",
    ] {
        let event = read(fixture);
        let ctx = data_action_ctx(agentless_messages::FUNCTION, &event);
        let out = agentless_messages::handle(&m, event, ctx)
            .await
            .unwrap_or_else(|e| panic!("{fixture}: {}", e.error_message));
        assert_matches_contract("infra/genesys/agentless-messages.action.json", &out);
    }
}

#[test]
fn data_action_inputs_cover_the_fixtures() {
    // Every key a fixture sends (except orgId, which the request template supplies) is an
    // input of the action, so the fixtures show what Genesys really sends.
    for (action_file, dir) in [
        (
            "infra/genesys/attribute-writer.action.json",
            "events/attribute-writer",
        ),
        (
            "infra/genesys/ticket-status.action.json",
            "events/ticket-status",
        ),
        (
            "infra/genesys/agentless-messages.action.json",
            "events/agentless-messages",
        ),
    ] {
        let action = read(action_file);
        let inputs = action["contract"]["input"]["inputSchema"]["properties"]
            .as_object()
            .unwrap();
        for entry in std::fs::read_dir(repo_root().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            if !name.starts_with("data-action") || name.ends_with(".expect.json") {
                continue;
            }
            let fixture = read(&format!("{dir}/{name}"));
            for key in fixture.as_object().unwrap().keys() {
                if key == "orgId" || key == "attributes" {
                    // `attributes` (an object) is accepted for direct invokes; Architect
                    // sends `attributesJson`, the contract's input.
                    continue;
                }
                assert!(
                    inputs.contains_key(key),
                    "{dir}/{name}: {key:?} is not an input of {action_file}"
                );
            }
        }
    }
}
