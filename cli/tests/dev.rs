//! `bridge dev`: the local server (ingest endpoint, invoke endpoints, worker loop) and the
//! fixture replay, including that a replay can fail.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bridge_cli::dev::replay;
use bridge_cli::dev::server::DevServer;
use bridge_sandbox::StateHandle;
use bridge_testkit::ids::{ORG_A, ORG_B, USER_TOKEN_A, USER_TOKEN_B};
use bridge_testkit::repo_root;
use common::*;
use serde_json::{json, Value};

const ACME_SECRET: &str = "acme-webhook-secret-local-0123456789abcdef";

fn ticket_status(state: &StateHandle, id: u64) -> String {
    state.ticket("acme", id).unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_local_server_runs_the_pipeline() {
    let server = DevServer::bind(&repo_root().join("examples/orgs"), 0)
        .await
        .unwrap();
    let base = format!("http://{}", server.addr());
    let state = server.pipeline().sandbox.state();
    let banner = server.banner(&repo_root().join("examples/orgs"));
    assert!(
        banner.contains(&format!("POST {base}/orgs/{{orgId}}/events")),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("{base}/invoke/ticket-status")),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("{base}/invoke/ticket-status:org-{ORG_A}"))
            && banner.contains(&format!("{base}/orgs/{ORG_A}/user/events"))
            && banner.contains(USER_TOKEN_A),
        "curl lines name the org alias and the user route: {banner}"
    );
    assert!(
        banner.contains(ACME_SECRET),
        "curl lines carry the example secret: {banner}"
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();

    // Ingest (as the Function URL) -> a job -> the worker loop -> Zendesk.
    let command = json!({"command": "ticket.wrapup", "payload": {
        "conversationId": "c0a00001-0000-4000-8000-000000000000",
        "participantId": "c0a00001-0000-4000-8000-00000000a001",
        "wrapupCode": "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a21", "eventTimeMs": 1_795_255_650_000u64, "ticketId": 1001}});
    let resp = http
        .post(format!("{base}/orgs/{ORG_A}/events"))
        .bearer_auth(ACME_SECRET)
        .header("idempotency-key", "dev-test-1")
        .json(&command)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["jobs"], 1, "{body}");
    wait_for("ticket 1001 solved by the worker loop", || {
        ticket_status(&state, 1001) == "solved"
    })
    .await;

    // The same request again is a duplicate: no second job.
    let again: Value = http
        .post(format!("{base}/orgs/{ORG_A}/events"))
        .bearer_auth(ACME_SECRET)
        .header("idempotency-key", "dev-test-1")
        .json(&command)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["duplicate"], true, "{again}");

    // Wrong secret: 401; wrong method: 405 (the function's own answers).
    let r = http
        .post(format!("{base}/orgs/{ORG_A}/events"))
        .bearer_auth("nope")
        .json(&command)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    let r = http
        .get(format!("{base}/orgs/{ORG_A}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);

    // Invoke endpoints: the same JSON as a Lambda invoke. A data action names the org alias
    // it invokes, as Genesys does in the shared stack; without one it is refused.
    let r = http
        .post(format!("{base}/invoke/ticket-status"))
        .json(&json!({"orgId": ORG_A, "ticketId": "1002", "status": "solved"}))
        .send()
        .await
        .unwrap();
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["errorType"], "Bridge.OrgAliasRequired", "{err}");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains(&format!("genesys-bridge-ticket-status:org-{ORG_A}")),
        "{err}"
    );
    let r = http
        .post(format!("{base}/invoke/ticket-status:org-{ORG_B}"))
        .json(&json!({"orgId": ORG_A, "ticketId": "1002", "status": "solved"}))
        .send()
        .await
        .unwrap();
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["errorType"], "Bridge.WrongOrg", "{err}");
    assert_eq!(ticket_status(&state, 1002), "pending");
    let r = http
        .post(format!("{base}/invoke/ticket-status:org-{ORG_A}"))
        .json(&json!({"orgId": ORG_A, "ticketId": "1002", "status": "solved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().get("x-amz-function-error").is_none());
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["changed"], true, "{out}");
    assert_eq!(ticket_status(&state, 1002), "solved");
    // A function error, as Lambda's Invoke API reports it.
    let r = http
        .post(format!("{base}/invoke/ticket-status:org-{ORG_A}"))
        .json(&json!({"orgId": ORG_A, "ticketId": "1001", "status": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get("x-amz-function-error").unwrap(),
        "Unhandled"
    );
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["errorType"], "Input.InvalidInput");
    let r = http
        .post(format!("{base}/invoke/attribute-writer:org-{ORG_A}"))
        .json(&json!({"orgId": ORG_A, "conversationId": "c0a00002-0000-4000-8000-000000000000",
                      "participantId": "c0a00002-0000-4000-8000-00000000c001", "attributes": {"lang": "fr"}}))
        .send()
        .await
        .unwrap();
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["written"], 1, "{out}");
    let attrs = state
        .participant_attributes(
            "c0a00002-0000-4000-8000-000000000000",
            "c0a00002-0000-4000-8000-00000000c001",
        )
        .unwrap();
    assert_eq!(attrs.get("lang").map(String::as_str), Some("fr"));
    // The agent-desktop route: a seeded agent's own token, written at once.
    let r = http
        .post(format!("{base}/orgs/{ORG_A}/user/events"))
        .bearer_auth(USER_TOKEN_A)
        .header("idempotency-key", "dev-desktop-1")
        .json(&json!({"command": "participant.attributes", "payload": {
            "conversationId": "c0a00002-0000-4000-8000-000000000000",
            "participantId": "c0a00002-0000-4000-8000-00000000c001", "attributes": {"lang": "de"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["written"], 1, "{out}");
    // Another org's agent on Acme's user route.
    let r = http
        .post(format!("{base}/orgs/{ORG_A}/user/events"))
        .bearer_auth(USER_TOKEN_B)
        .json(&json!({"command": "participant.attributes", "payload": {
            "conversationId": "c0a00002-0000-4000-8000-000000000000",
            "participantId": "c0a00002-0000-4000-8000-00000000c001", "attributes": {"lang": "xx"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let attrs = state
        .participant_attributes(
            "c0a00002-0000-4000-8000-000000000000",
            "c0a00002-0000-4000-8000-00000000c001",
        )
        .unwrap();
    assert_eq!(attrs.get("lang").map(String::as_str), Some("de"));
    let eb =
        std::fs::read(repo_root().join("events/webhook-ingest/eventbridge-wrapup.json")).unwrap();
    let r = http
        .post(format!("{base}/invoke/webhook-ingest"))
        .body(eb)
        .send()
        .await
        .unwrap();
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["jobs"], 1, "{out}");
    let r = http
        .post(format!("{base}/invoke/nope"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = http
        .post(format!("{base}/invoke/ticket-status"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_replay_fails_when_an_outcome_differs() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("ticket-status");
    std::fs::create_dir(&fixtures).unwrap();
    std::fs::copy(
        repo_root().join("events/ticket-status/data-action-solve.json"),
        fixtures.join("solve.json"),
    )
    .unwrap();
    // Wrong on purpose: the fixture solves the ticket.
    std::fs::write(
        fixtures.join("solve.expect.json"),
        format!(
            r#"{{"function": "ticket-status:org-{ORG_A}", "outcome": "ok", "tickets": {{"acme/1001": "pending"}}}}"#
        ),
    )
    .unwrap();
    std::fs::copy(
        repo_root().join("events/ticket-status/data-action-numeric-id.json"),
        fixtures.join("no-expectation.json"),
    )
    .unwrap();
    std::fs::write(fixtures.join("typo.json"), r#"{"orgId": "x"}"#).unwrap();
    std::fs::write(
        fixtures.join("typo.expect.json"),
        r#"{"outcome": "error", "ticket": {}}"#,
    )
    .unwrap();

    let report = replay::run(dir.path(), &repo_root().join("examples/orgs"))
        .await
        .unwrap();
    assert!(!report.passed());
    let by_name = |n: &str| {
        report
            .fixtures
            .iter()
            .find(|f| f.path.ends_with(n))
            .unwrap()
    };
    let solve = by_name("solve.json");
    assert!(!solve.as_expected);
    let bad = solve.verdicts.iter().find(|v| !v.ok).unwrap();
    assert_eq!(bad.what, "ticket acme/1001 pending");
    assert_eq!(bad.got.as_deref(), Some("solved"));
    assert!(by_name("no-expectation.json")
        .problem
        .as_deref()
        .unwrap()
        .contains("no-expectation.expect.json"));
    assert!(
        by_name("typo.json")
            .problem
            .as_deref()
            .unwrap()
            .contains("ticket"),
        "unknown expectation keys are errors"
    );
    let text = report.render();
    assert!(
        text.contains("✗") && text.contains("3 not as expected"),
        "{text}"
    );
}

#[test]
fn binary_replay_exit_codes_and_banner() {
    let ok = bridge(&["dev", "--replay", "events/replay"], &[]);
    assert_eq!(ok.status.code(), Some(0), "{}{}", stdout(&ok), stderr(&ok));
    assert!(stdout(&ok).contains("every outcome as expected"));
    assert!(
        stderr(&ok).is_empty(),
        "the functions' logs are off during a replay: {}",
        stderr(&ok)
    );
    let json_run = bridge(&["dev", "--replay", "events/replay", "--json"], &[]);
    let v: Value = serde_json::from_slice(&json_run.stdout).unwrap();
    assert!(v["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["asExpected"] == true));

    let missing = bridge(&["dev", "--replay", "no/such/dir"], &[]);
    assert_eq!(missing.status.code(), Some(2));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.json"),
        r#"{"orgId": "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11"}"#,
    )
    .unwrap();
    let failing = bridge(&["dev", "--replay", dir.path().to_str().unwrap()], &[]);
    assert_eq!(failing.status.code(), Some(1), "{}", stdout(&failing));

    // The server prints its URLs and curl lines, then serves until stopped.
    let mut child = Command::new(env!("CARGO_BIN_EXE_bridge"))
        .args(["dev", "--port", "0"])
        .current_dir(repo_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("Each event is logged below") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(banner.contains("curl -s http://127.0.0.1:"), "{banner}");
    assert!(
        banner.contains(&format!("/orgs/{ORG_A}/events")),
        "{banner}"
    );
    assert!(
        banner.contains("Acme Support") && banner.contains("Globex Care"),
        "{banner}"
    );
}
