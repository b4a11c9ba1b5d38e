//! The Genesys client against the sandbox over real HTTP: tokens, tenancy, retries, errors.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bridge::genesys::{CallerToken, ContactAction, ContactChange};
use bridge::{Deadline, ErrorKind, OrgConfig, Upstream};
use bridge_sandbox::Fault;
use bridge_testkit::ids::*;
use bridge_testkit::{example_org_for, token_requests};
use common::env;
use serde_json::json;

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn hundred_calls_one_token_and_exact_patch() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let g = e.rt.genesys.org(&cfg, Deadline::none());
    for i in 0..100 {
        g.patch_participant_attributes(CONV_A1, CONV_A1_CUSTOMER, &attrs(&[("n", &i.to_string())]))
            .await
            .unwrap();
    }
    assert_eq!(
        token_requests(&e.sandbox),
        1,
        "100 calls for one org -> 1 token request"
    );
    assert_eq!(e.rt.genesys.tokens_issued(), 1);
    let journal = e.sandbox.journal();
    let patches = bridge_sandbox::matching(
        &journal,
        "PATCH",
        "/api/v2/conversations/*/participants/*/attributes",
    );
    assert_eq!(patches.len(), 100);
    assert_eq!(
        patches[0].path,
        format!("/api/v2/conversations/{CONV_A1}/participants/{CONV_A1_CUSTOMER}/attributes")
    );
    assert_eq!(patches[0].body, Some(json!({"attributes": {"n": "0"}})));
    assert_eq!(patches[0].status, 202);
    assert_eq!(
        bridge_sandbox::count(&journal, "GET", "/api/v2/tokens/me"),
        1,
        "the org check runs once, on the first token"
    );
    let stored = e
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap();
    assert_eq!(stored["n"], "99");
    assert_eq!(stored["zendesk_ticket_id"], "1001", "merge, not replace");
}

#[tokio::test]
async fn ten_concurrent_first_calls_one_token_one_secret_fetch() {
    let e = Arc::new(env().await);
    let calls = (0..10).map(|_| {
        let e = e.clone();
        tokio::spawn(async move {
            let cfg = e.rt.orgs.get(ORG_A).await?;
            e.rt.genesys
                .org(&cfg, Deadline::none())
                .conversation(CONV_A1)
                .await
        })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap().id, CONV_A1);
    }
    assert_eq!(token_requests(&e.sandbox), 1);
    assert_eq!(e.source.fetches(), 1);
    assert_eq!(e.source.fetches_for(ORG_B), 0);
}

#[tokio::test]
async fn two_orgs_never_share_a_token() {
    let e = env().await;
    let a = e.rt.orgs.get(ORG_A).await.unwrap();
    let b = e.rt.orgs.get(ORG_B).await.unwrap();
    e.rt.genesys
        .org(&a, Deadline::none())
        .organization()
        .await
        .unwrap();
    let ob =
        e.rt.genesys
            .org(&b, Deadline::none())
            .organization()
            .await
            .unwrap();
    assert_eq!(ob.id, ORG_B);
    assert_eq!(token_requests(&e.sandbox), 2);
    let journal = e.sandbox.journal();
    let orgs: Vec<_> = bridge_sandbox::matching(&journal, "GET", "/api/v2/organizations/me")
        .iter()
        .map(|j| j.org_id.clone().unwrap())
        .collect();
    assert_eq!(
        orgs,
        vec![ORG_A.to_string(), ORG_B.to_string()],
        "each call used its own org's token"
    );
    // Org A's conversation is invisible with org B's token: 404 with the other-org hint.
    let err =
        e.rt.genesys
            .org(&b, Deadline::none())
            .conversation(CONV_A1)
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.org_id.as_deref(), Some(ORG_B));
    let text = err.to_string();
    assert!(text.contains("another org or region"), "{text}");
    assert!(text.contains("mypurecloud.com"), "names the region: {text}");
}

#[tokio::test]
async fn expired_token_refreshes_once_then_succeeds() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let g = e.rt.genesys.org(&cfg, Deadline::none());
    g.conversation(CONV_A1).await.unwrap();
    e.sandbox.state().expire_tokens();
    e.sandbox.clear_journal();
    g.conversation(CONV_A1).await.unwrap();
    let j = e.sandbox.journal();
    let statuses: Vec<(String, u16)> = j.iter().map(|x| (x.path.clone(), x.status)).collect();
    assert_eq!(
        statuses,
        vec![
            (format!("/api/v2/conversations/{CONV_A1}"), 401),
            ("/oauth/token".to_string(), 200),
            (format!("/api/v2/conversations/{CONV_A1}"), 200),
        ],
        "401 -> one refresh -> success, and no second tokens/me"
    );
}

#[tokio::test]
async fn persistent_401_stops_after_one_refresh() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let g = e.rt.genesys.org(&cfg, Deadline::none());
    g.organization().await.unwrap();
    e.sandbox
        .inject(Fault::new("GET", "/api/v2/conversations/*").statuses([401, 401, 401]));
    let err = g.conversation(CONV_A1).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadCredentials);
    assert_eq!(err.error_type(), "Genesys.BadCredentials");
    assert_eq!(token_requests(&e.sandbox), 2, "exactly one refresh");
}

#[tokio::test]
async fn rate_limit_inside_deadline_is_honoured() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    e.sandbox.inject(
        Fault::new("GET", "/api/v2/conversations/*")
            .statuses([429])
            .retry_after(1),
    );
    let started = std::time::Instant::now();
    let c =
        e.rt.genesys
            .org(&cfg, Deadline::after(Duration::from_secs(10)))
            .conversation(CONV_A1)
            .await
            .unwrap();
    assert_eq!(c.id, CONV_A1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
}

#[tokio::test]
async fn rate_limit_beyond_deadline_fails_fast_and_retryable() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    e.rt.genesys
        .org(&cfg, Deadline::none())
        .ensure_token()
        .await
        .unwrap();
    e.sandbox.inject(
        Fault::new("GET", "/api/v2/conversations/*")
            .statuses([429])
            .retry_after(30),
    );
    let started = std::time::Instant::now();
    let err =
        e.rt.genesys
            .org(&cfg, Deadline::after(Duration::from_secs(3)))
            .conversation(CONV_A1)
            .await
            .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not wait: {:?}",
        started.elapsed()
    );
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert!(err.retryable());
    assert_eq!(err.retry_after, Some(Duration::from_secs(30)));
    assert!(err.to_string().contains("deadline"), "{err}");
    assert!(err.correlation_id.is_some());
}

#[tokio::test]
async fn token_endpoint_rate_limit_400_is_throttling() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    e.sandbox.inject(Fault::token_rate_limited());
    let o =
        e.rt.genesys
            .org(&cfg, Deadline::after(Duration::from_secs(10)))
            .organization()
            .await
            .unwrap();
    assert_eq!(o.id, ORG_A);
    assert_eq!(
        token_requests(&e.sandbox),
        2,
        "the throttled token request was retried"
    );
}

#[tokio::test]
async fn server_errors_retry_but_501_does_not() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let g = e.rt.genesys.org(&cfg, Deadline::none());
    g.ensure_token().await.unwrap();
    e.sandbox
        .inject(Fault::new("GET", "/api/v2/conversations/*").statuses([503, 502]));
    g.conversation(CONV_A1).await.unwrap();
    e.sandbox
        .inject(Fault::new("GET", "/api/v2/conversations/*").statuses([501, 200]));
    let err = g.conversation(CONV_A1).await.unwrap_err();
    assert_eq!(err.status, Some(501));
    assert!(!err.retryable());
}

#[tokio::test]
async fn missing_permission_is_named_with_correlation_id() {
    let e = env().await;
    let mut doc = example_org_for(ORG_A, &e.sandbox);
    doc["genesys"]["clientId"] = json!("acme-limited-client");
    doc["genesys"]["clientSecret"] = json!("acme-limited-secret-local");
    let cfg = OrgConfig::from_json(&doc.to_string()).unwrap();
    let err =
        e.rt.genesys
            .org(&cfg, Deadline::none())
            .conversation(CONV_A1)
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::MissingPermission);
    assert_eq!(err.error_type(), "Genesys.MissingPermission");
    assert_eq!(err.status, Some(403));
    assert_eq!(
        err.missing_permissions,
        vec!["conversation:communication:view"]
    );
    let journal = e.sandbox.journal();
    let denied = bridge_sandbox::matching(&journal, "GET", "/api/v2/conversations/*");
    assert_eq!(denied.len(), 1, "403 is never retried");
    let corr = err.correlation_id.clone().expect("correlation id kept");
    let text = err.to_string();
    for part in [
        "conversation:communication:view",
        "acme-limited-client",
        ORG_A,
        corr.as_str(),
        "role",
    ] {
        assert!(text.contains(part), "{text} lacks {part}");
    }
}

#[tokio::test]
async fn credentials_of_another_org_are_refused_before_use() {
    let e = env().await;
    // Org A's config, but with org B's OAuth client: a classic copy-paste mistake.
    let mut doc = example_org_for(ORG_A, &e.sandbox);
    doc["genesys"]["clientId"] = json!("globex-bridge-client");
    doc["genesys"]["clientSecret"] = json!("globex-client-secret-local");
    let cfg = OrgConfig::from_json(&doc.to_string()).unwrap();
    let err =
        e.rt.genesys
            .org(&cfg, Deadline::none())
            .patch_participant_attributes(CONV_A1, CONV_A1_CUSTOMER, &attrs(&[("k", "v")]))
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::WrongOrg);
    assert_eq!(err.error_type(), "Genesys.WrongOrg");
    let text = err.to_string();
    assert!(
        text.contains(ORG_B) && text.contains("Globex"),
        "says whose credentials: {text}"
    );
    assert_eq!(
        bridge_sandbox::count(&e.sandbox.journal(), "PATCH", "/api/v2/conversations/**"),
        0,
        "the foreign token was never used for work"
    );
}

#[tokio::test]
async fn bad_client_secret_names_client_and_region() {
    let e = env().await;
    let mut doc = example_org_for(ORG_A, &e.sandbox);
    doc["genesys"]["clientSecret"] = json!("wrong-secret-value");
    let cfg = OrgConfig::from_json(&doc.to_string()).unwrap();
    let err =
        e.rt.genesys
            .org(&cfg, Deadline::none())
            .organization()
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadCredentials);
    assert_eq!(err.upstream, Some(Upstream::Genesys));
    assert_eq!(err.code.as_deref(), Some("invalid_client"));
    let text = err.to_string();
    assert!(
        text.contains("acme-bridge-client") && text.contains("mypurecloud.ie"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-value"), "{text}");
    assert_eq!(
        token_requests(&e.sandbox),
        1,
        "bad credentials are not retried"
    );
}

#[tokio::test]
async fn external_contact_field_level_patch() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let g = e.rt.genesys.org(&cfg, Deadline::none());
    let before = g.external_contact(CONTACT_A1).await.unwrap();
    assert_eq!(before.custom_field("tier_text"), Some(&json!("silver")));
    let after = g
        .patch_external_contact(
            CONTACT_A1,
            &[ContactChange {
                field: "$.customFields.tier_text".into(),
                value: Some(json!("gold")),
                action: ContactAction::Update,
            }],
        )
        .await
        .unwrap();
    assert_eq!(after.custom_field("tier_text"), Some(&json!("gold")));
    let journal = e.sandbox.journal();
    let p = bridge_sandbox::matching(&journal, "PATCH", "/api/v2/externalcontacts/contacts/*");
    assert_eq!(
        p[0].body,
        Some(
            json!({"changes": [{"field": "$.customFields.tier_text", "value": "gold", "action": "Update"}]})
        )
    );
    // Another org's contact is a 404 with the other-org hint.
    let b = e.rt.orgs.get(ORG_B).await.unwrap();
    let err =
        e.rt.genesys
            .org(&b, Deadline::none())
            .external_contact(CONTACT_A1)
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn ids_are_validated_before_any_call() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let g = e.rt.genesys.org(&cfg, Deadline::none());
    let err = g.conversation("not-a-uuid").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert_eq!(err.field.as_deref(), Some("conversationId"));
    let err = g
        .patch_participant_attributes(CONV_A1, "../x", &attrs(&[("k", "v")]))
        .await
        .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("participantId"));
    assert!(e.sandbox.journal().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn tokens_me_and_roles() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let g = e.rt.genesys.org(&cfg, Deadline::none());
    let me = g.tokens_me().await.unwrap();
    assert_eq!(me.organization.id, ORG_A);
    let client = me.oauth_client.unwrap();
    assert_eq!(client.id, "acme-bridge-client");
    let role = g.role(&client.role_divisions[0].role_id).await.unwrap();
    assert!(role.grants("conversation:communication:view"));
}

#[tokio::test]
async fn rotated_credentials_are_picked_up_after_a_401() {
    // The cached config holds a secret that was rotated away; the secret store has the new one.
    let e = env().await;
    let stale_doc = {
        let mut d = example_org_for(ORG_A, &e.sandbox);
        d["genesys"]["clientSecret"] = json!("old-rotated-away-secret");
        d
    };
    e.source.inner().insert(ORG_A, stale_doc.to_string());
    let stale = e.rt.orgs.get(ORG_A).await.unwrap();
    let err =
        e.rt.genesys
            .org(&stale, Deadline::none())
            .organization()
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadCredentials);
    // Rotation lands in the store.
    e.source
        .inner()
        .insert(ORG_A, example_org_for(ORG_A, &e.sandbox).to_string());
    let fresh =
        e.rt.refresh_after(&stale, &err)
            .await
            .expect("new credentials found");
    e.rt.genesys
        .org(&fresh, Deadline::none())
        .organization()
        .await
        .unwrap();
    // Nothing changed this time: no pointless retry.
    assert!(e.rt.refresh_after(&fresh, &err).await.is_none());
    // Errors that are not about credentials never trigger a re-read.
    let before = e.source.fetches();
    let nf = bridge::BridgeError::upstream(Upstream::Genesys, ErrorKind::NotFound, "x");
    assert!(e.rt.refresh_after(&fresh, &nf).await.is_none());
    assert_eq!(e.source.fetches(), before);
}

#[tokio::test]
async fn a_callers_token_acts_with_its_users_rights_only() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let alex = CallerToken::new(USER_TOKEN_A);
    let g = e.rt.genesys.as_caller(&cfg, &alex, Deadline::none());
    assert_eq!(g.tokens_me().await.unwrap().organization.id, ORG_A);
    assert_eq!(g.users_me().await.unwrap().id, AGENT_USER_A);
    let conv = g.conversation(CONV_A1).await.unwrap();
    assert!(conv.has_user(AGENT_USER_A) && !conv.has_user(OTHER_USER_A));
    g.patch_participant_attributes(CONV_A1, CONV_A1_CUSTOMER, &attrs(&[("tier", "gold")]))
        .await
        .unwrap();
    // Every call carried the user's token: none was minted, none went to the login host.
    let j = e.sandbox.journal();
    assert_eq!(token_requests(&e.sandbox), 0, "{j:?}");
    assert!(
        j.iter().all(|x| x.user_id.as_deref() == Some(AGENT_USER_A)),
        "{j:?}"
    );

    // The user's own permissions decide; the fix names the user's roles, not a client.
    e.sandbox.state().set_user_permissions(
        ORG_A,
        AGENT_USER_A,
        vec!["conversation:communication:view".into()],
    );
    let err = g
        .patch_participant_attributes(CONV_A1, CONV_A1_CUSTOMER, &attrs(&[("tier", "x")]))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Genesys.MissingPermission");
    assert_eq!(
        err.missing_permissions,
        vec!["conversation:communication:update"]
    );
    assert!(err.to_string().contains("user's roles"), "{err}");
    assert!(!err.to_string().contains("acme-bridge-client"), "{err}");

    // A client-credentials token has no user; a refused token is not refreshed.
    let client = CallerToken::new(CLIENT_TOKEN_A_LIMITED);
    let err =
        e.rt.genesys
            .as_caller(&cfg, &client, Deadline::none())
            .users_me()
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    e.sandbox.state().revoke_tokens_for_user(AGENT_USER_A);
    let before = e.sandbox.journal().len();
    let err = g.users_me().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadCredentials);
    assert_eq!(
        e.sandbox.journal().len(),
        before + 1,
        "one attempt, no refresh"
    );
    assert_eq!(e.rt.genesys.tokens_issued(), 0);
}
