//! Fault injection, the journal and the admin API, over real HTTP.

mod common;

use std::time::{Duration, Instant};

use bridge_sandbox::{count, Fault, Upstream};
use bridge_testkit::ids::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn fault_sequence_429_then_pass_then_normal_with_retry_after() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    h.sandbox.inject(
        Fault::new("GET", "/api/v2/conversations/*")
            .statuses([429, 0, 503])
            .retry_after(7),
    );
    let get = || {
        h.http
            .get(h.url(&format!("/api/v2/conversations/{CONV_A1}")))
            .bearer_auth(&token)
            .send()
    };

    let response = get().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "7");
    let correlation = response.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, b) = body(response).await;
    assert_eq!(status, 429);
    assert_eq!(b["code"], "too.many.requests");
    assert_eq!(b["status"], 429);
    assert_eq!(b["contextId"], correlation.as_str());

    assert_eq!(get().await.unwrap().status(), 200);
    let response = get().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    for _ in 0..2 {
        let response = get().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(!response.headers().contains_key("retry-after"));
    }
    let statuses: Vec<u16> = h
        .sandbox
        .journal()
        .iter()
        .filter(|e| e.path.starts_with("/api/v2/conversations/"))
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [429, 200, 503, 200, 200]);
}

#[tokio::test]
async fn zendesk_default_429_is_text_plain_and_custom_bodies_work() {
    let h = start().await;
    h.sandbox.inject(
        Fault::new("PUT", "/zendesk/*/api/v2/tickets/*.json")
            .statuses([429])
            .retry_after(3),
    );
    let response = h
        .zd_basic(
            h.http.put(h.zd("acme", "/api/v2/tickets/1001.json")),
            ZENDESK_TOKEN_A,
        )
        .json(&json!({"ticket": {"status": "pending"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(response.headers().contains_key("x-request-id"));
    assert!(response
        .text()
        .await
        .unwrap()
        .starts_with("Rate limit for ticket updates exceeded"));
    // The injected response replaced the update: nothing changed.
    assert_eq!(
        h.sandbox.state().ticket("acme", 1001).unwrap()["status"],
        "open"
    );

    h.sandbox.inject(
        Fault::new("*", "/zendesk/acme/**")
            .statuses([500])
            .body(json!({"error": "Boom"})),
    );
    let (status, b) = body(
        h.zd_basic(
            h.http.get(h.zd("acme", "/api/v2/users/me.json")),
            ZENDESK_TOKEN_A,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, b), (500, json!({"error": "Boom"})));
    h.sandbox.inject(
        Fault::new("*", "/zendesk/acme/**")
            .statuses([502])
            .text_body("bad gateway"),
    );
    let (status, b) = body(
        h.zd_basic(
            h.http.get(h.zd("acme", "/api/v2/users/me.json")),
            ZENDESK_TOKEN_A,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, b), (502, json!("bad gateway")));
}

#[tokio::test]
async fn token_rate_limited_fault_uses_the_real_400_form() {
    let h = start().await;
    h.sandbox.inject(Fault::token_rate_limited());
    let send = || {
        h.http
            .post(h.url("/oauth/token"))
            .basic_auth(CLIENT_A.0, Some(CLIENT_A.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let (status, b) = body(send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(
        b,
        json!({"error": "invalid_request", "description": "rate limit exceeded", "error_description": "rate limit exceeded"})
    );
    assert_eq!(h.sandbox.state().tokens_issued(), 0);
    assert_eq!(send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn latency_rule_stays_until_cleared() {
    let h = start().await;
    h.sandbox
        .inject(Fault::new("*", "/api/v2/tokens/me").latency(Duration::from_millis(150)));
    let token = h.token(CLIENT_A).await;
    for _ in 0..2 {
        let started = Instant::now();
        let response = h
            .http
            .get(h.url("/api/v2/tokens/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(150));
    }
    assert!(h.sandbox.journal().last().unwrap().latency_ms >= 150);
    h.sandbox.clear_faults();
    let started = Instant::now();
    h.http
        .get(h.url("/api/v2/tokens/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn journal_records_auth_kind_org_and_bodies_without_secrets() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    h.http
        .post(h.url("/oauth/token"))
        .basic_auth(CLIENT_B.0, Some(CLIENT_B.1))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "contact-center:write"),
            ("client_secret", "leak"),
        ])
        .send()
        .await
        .unwrap();
    h.http
        .patch(h.url(&format!(
            "/api/v2/conversations/{CONV_A1}/participants/{CONV_A1_CUSTOMER}/attributes?trace=1"
        )))
        .bearer_auth(&token)
        .json(&json!({"attributes": {"k": "v"}}))
        .send()
        .await
        .unwrap();
    h.zd_basic(
        h.http.get(h.zd("acme", "/api/v2/tickets/1001.json")),
        ZENDESK_TOKEN_A,
    )
    .send()
    .await
    .unwrap();
    h.http.get(h.url("/api/v2/tokens/me")).send().await.unwrap();
    h.http.get(h.url("/__sandbox/health")).send().await.unwrap();

    let journal = h.sandbox.journal();
    assert_eq!(journal.len(), 5, "admin requests are not journaled");
    assert!(journal.windows(2).all(|w| w[0].seq < w[1].seq));

    let login = &journal[0];
    assert_eq!(
        (login.upstream, login.auth.as_str(), login.status),
        (Upstream::GenesysLogin, "basic", 200)
    );
    assert_eq!(login.org_id.as_deref(), Some(ORG_A));
    assert_eq!(
        login.body,
        Some(json!({"grant_type": "client_credentials"}))
    );
    assert_eq!(journal[1].org_id.as_deref(), Some(ORG_B));
    assert_eq!(
        journal[1].body.as_ref().unwrap()["scope"],
        "contact-center:write"
    );
    assert_eq!(
        journal[1].body.as_ref().unwrap()["client_secret"],
        "** redacted **"
    );

    let patch = &journal[2];
    assert_eq!(
        (patch.upstream, patch.auth.as_str(), patch.status),
        (Upstream::Genesys, "bearer", 202)
    );
    assert_eq!(patch.org_id.as_deref(), Some(ORG_A));
    assert_eq!(patch.query.as_deref(), Some("trace=1"));
    assert_eq!(patch.body, Some(json!({"attributes": {"k": "v"}})));

    let zd = &journal[3];
    assert_eq!(
        (zd.upstream, zd.auth.as_str()),
        (Upstream::Zendesk, "basic")
    );
    assert_eq!(zd.zendesk_subdomain.as_deref(), Some("acme"));
    assert_eq!(zd.org_id, None);
    assert_eq!(
        (
            journal[4].auth.as_str(),
            journal[4].status,
            journal[4].org_id.as_deref()
        ),
        ("none", 401, None)
    );

    let printed = serde_json::to_string(&journal).unwrap();
    for secret in [
        CLIENT_A.1,
        CLIENT_B.1,
        ZENDESK_TOKEN_A.1,
        token.as_str(),
        "leak",
    ] {
        assert!(!printed.contains(secret), "journal leaks {secret}");
    }

    assert_eq!(
        count(
            &journal,
            "PATCH",
            "/api/v2/conversations/*/participants/*/attributes"
        ),
        1
    );
    assert_eq!(count(&journal, "*", "/oauth/token"), 2);
    assert_eq!(
        count(&journal, "GET", "/zendesk/*/api/v2/tickets/*.json"),
        1
    );
    assert_eq!(count(&journal, "*", "/api/**"), 2);
    h.sandbox.clear_journal();
    assert!(h.sandbox.journal().is_empty());
}

#[tokio::test]
async fn admin_api() {
    let h = start().await;
    let response = h.http.get(h.url("/__sandbox/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let response = h
        .http
        .post(h.url("/__sandbox/faults"))
        .json(&json!({"method": "GET", "path": "/api/v2/organizations/me", "statuses": [503], "retryAfter": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let bad = h
        .http
        .post(h.url("/__sandbox/faults"))
        .json(&json!({"method": "GET", "path": "/x", "statuses": [42]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let token = h.token(CLIENT_A).await;
    let response = h
        .http
        .get(h.url("/api/v2/organizations/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            response.status().as_u16(),
            response.headers()["retry-after"].to_str().unwrap()
        ),
        (503, "2")
    );

    let (status, journal) = body(
        h.http
            .get(h.url("/__sandbox/journal"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(journal.as_array().unwrap().len(), 2);
    assert_eq!(journal[1]["upstream"], "genesys");
    assert_eq!(journal[1]["orgId"], ORG_A);

    h.http
        .post(h.url("/__sandbox/faults"))
        .json(&json!({"method": "*", "path": "/api/**", "statuses": [500, 500]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        h.http
            .delete(h.url("/__sandbox/faults"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        h.http
            .get(h.url("/api/v2/organizations/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        h.http
            .delete(h.url("/__sandbox/journal"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert!(h.sandbox.journal().is_empty());
    assert_eq!(
        h.http
            .get(h.url("/__sandbox/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        501
    );
}

#[tokio::test]
async fn start_on_refuses_non_loopback_and_shutdown_stops_serving() {
    let seed = bridge_sandbox::default_seed();
    let err = bridge_sandbox::Sandbox::start_on(seed.clone(), "0.0.0.0:0".parse().unwrap())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);

    let sandbox = bridge_sandbox::Sandbox::start(seed).await.unwrap();
    let url = format!("{}/__sandbox/health", sandbox.base_url());
    assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(
        sandbox.zendesk_base_url("acme"),
        format!("{}/zendesk/acme", sandbox.base_url())
    );
    let http = reqwest::Client::new();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    sandbox.shutdown().await;
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
}

#[test]
fn seeds_parse_and_reject_typos() {
    let seed = bridge_sandbox::default_seed();
    assert_eq!(seed.genesys.orgs.len(), 2);
    assert_eq!(seed.token_ttl_seconds, 86400);
    assert!(bridge_sandbox::Seed::from_json(r#"{"genesys": {"orgz": []}}"#).is_err());
    let empty = bridge_sandbox::Seed::from_json("{}").unwrap();
    assert_eq!(empty.token_ttl_seconds, 86400);
}
