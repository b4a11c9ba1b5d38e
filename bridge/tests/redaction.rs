//! Secrets never reach a log or a Debug print: real calls (tokens, Zendesk auth, failures)
//! are made with TRACE logging captured, then every secret is searched for.

mod common;

use bridge::zendesk::TicketUpdate;
use bridge::{Deadline, OrgConfig};
use bridge_testkit::ids::{CONV_A1, ORG_A};
use bridge_testkit::{capture_logs, example_org_for};
use common::env;
use serde_json::json;

#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_logs_debug_or_errors() {
    let (captured, _guard) = capture_logs();

    let e = env().await;
    let secrets = [
        "acme-client-secret-local",
        "acme-zendesk-token-local",
        "acme-webhook-secret-local-0123456789abcdef",
    ];
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let mut seen = Vec::new();
    let g = e.rt.genesys.org(&cfg, Deadline::none());
    g.conversation(CONV_A1).await.unwrap();
    let z = e.rt.zendesk.account(&cfg, Deadline::none()).unwrap();
    z.ticket(1001).await.unwrap();
    // Failures too: their errors are logged and returned.
    let mut doc = example_org_for(ORG_A, &e.sandbox);
    doc["zendesk"]["auth"]["apiToken"] = json!("zendesk-token-that-is-wrong");
    doc["genesys"]["clientSecret"] = json!("genesys-secret-that-is-wrong");
    let bad = OrgConfig::from_json(&doc.to_string()).unwrap();
    // A fresh client: the shared one still holds a valid token for this org and client
    // (tokens stay valid after a secret rotation, by design).
    let fresh = bridge::genesys::Genesys::new(bridge::http::HttpClient::new().unwrap());
    let e1 = fresh
        .org(&bad, Deadline::none())
        .organization()
        .await
        .unwrap_err();
    let e2 =
        e.rt.zendesk
            .account(&bad, Deadline::none())
            .unwrap()
            .update_ticket(
                1001,
                &TicketUpdate {
                    status: Some("solved".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
    // A caller's token (an agent's), used and refused: never printed either.
    let caller = bridge::genesys::CallerToken::new("acme-agent-alex-token-local");
    let as_caller = e.rt.genesys.as_caller(&cfg, &caller, Deadline::none());
    as_caller.users_me().await.unwrap();
    let refused = bridge::genesys::CallerToken::new("caller-token-that-is-wrong");
    let e3 =
        e.rt.genesys
            .as_caller(&cfg, &refused, Deadline::none())
            .conversation(CONV_A1)
            .await
            .unwrap_err();
    tracing::error!(error = %e3, debug = ?e3, token = ?refused, "logged like a handler would");
    seen.push(format!("{e3} {e3:?} {caller:?} {refused:?}"));
    assert_eq!(format!("{caller:?}"), "CallerToken([REDACTED])");
    tracing::error!(error = %e1, debug = ?e1, "logged like a handler would");
    tracing::error!(error = %e2, debug = ?e2, "logged like a handler would");
    seen.push(format!("{e1} {e1:?} {e2} {e2:?}"));
    seen.push(format!("{cfg:?} {bad:?}"));

    let logs = captured.text();
    assert!(
        logs.contains("upstream call"),
        "logging was captured: {logs}"
    );
    assert!(logs.contains("org_id"), "structured fields present");
    let all = format!("{logs}\n{}", seen.join("\n"));
    for s in secrets.iter().copied().chain([
        "zendesk-token-that-is-wrong",
        "genesys-secret-that-is-wrong",
        "acme-agent-alex-token-local",
        "caller-token-that-is-wrong",
    ]) {
        assert!(!all.contains(s), "secret {s:?} leaked");
    }
    // Basic credentials would show up base64-encoded: check those forms too.
    use base64::Engine;
    for raw in [
        "acme-bridge-client:acme-client-secret-local",
        "bridge@acme.example/token:acme-zendesk-token-local",
    ] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert!(!all.contains(&b64), "encoded credential leaked");
    }
    assert!(
        !all.to_ascii_lowercase().contains("bearer "),
        "no bearer token printed"
    );
    // The sandbox issues access tokens as 64 hex characters; no such run may be logged.
    let mut run = 0;
    for c in all.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        assert!(run < 48, "something token-like was logged");
    }
}
