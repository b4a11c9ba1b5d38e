//! The Zendesk client against the sandbox over real HTTP.

mod common;

use std::time::Duration;

use bridge::zendesk::{Comment, TicketUpdate, UserLookup};
use bridge::{Deadline, ErrorKind, OrgConfig, Upstream};
use bridge_sandbox::Fault;
use bridge_testkit::example_org_for;
use bridge_testkit::ids::ORG_A;
use common::env;
use serde_json::json;

#[tokio::test]
async fn safe_update_and_conflict() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let z = e.rt.zendesk.account(&cfg, Deadline::none()).unwrap();
    let t = z.ticket(1001).await.unwrap();
    assert_eq!(t.status, "open");
    let stamp = t.updated_at.clone().unwrap();
    // Someone else edits the ticket in between: the stale stamp must be refused.
    e.sandbox.state().touch_ticket("acme", 1001);
    let update = TicketUpdate {
        status: Some("solved".into()),
        comment: Some(Comment {
            body: "wrapped up".into(),
            public: false,
        }),
        safe_update_stamp: Some(stamp),
    };
    let err = z.update_ticket(1001, &update).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(err.status, Some(409));
    assert!(err.retryable());
    let fresh = z.ticket(1001).await.unwrap();
    let done = z
        .update_ticket(
            1001,
            &TicketUpdate {
                safe_update_stamp: fresh.updated_at.clone(),
                ..update
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, "solved");
    let journal = e.sandbox.journal();
    let puts = bridge_sandbox::matching(&journal, "PUT", "/zendesk/acme/api/v2/tickets/1001.json");
    assert_eq!(
        puts.last().unwrap().body,
        Some(
            json!({"ticket": {"status": "solved", "comment": {"body": "wrapped up", "public": false},
                               "safe_update": true, "updated_stamp": fresh.updated_at.unwrap()}})
        )
    );
    assert_eq!(puts.last().unwrap().auth, "basic");
    assert_eq!(
        e.sandbox.state().ticket_comments("acme", 1001),
        vec![("wrapped up".to_string(), false)]
    );
}

#[tokio::test]
async fn closed_ticket_is_permanent_with_followup_hint() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let z = e.rt.zendesk.account(&cfg, Deadline::none()).unwrap();
    let err = z
        .update_ticket(
            1004,
            &TicketUpdate {
                status: Some("open".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ClosedTicket);
    assert_eq!(err.error_type(), "Zendesk.ClosedTicket");
    assert!(!err.retryable());
    assert!(err.to_string().contains("follow-up"), "{err}");
    let f = z
        .create_followup(
            1004,
            "Follow-up",
            &Comment {
                body: "note".into(),
                public: false,
            },
            None,
        )
        .await
        .unwrap();
    assert_ne!(f.id, 1004);
}

/// A follow-up sent with an Idempotency-Key is created once, even when its first answer is
/// lost after Zendesk made it: the client retries (it may, with a key), and the repeat gets
/// the first answer. Without a key a lost answer is not retried.
#[tokio::test]
async fn a_follow_up_with_a_key_survives_a_lost_answer() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let z = e.rt.zendesk.account(&cfg, Deadline::none()).unwrap();
    let note = Comment {
        body: "note".into(),
        public: false,
    };
    let key = bridge::zendesk::creation_key(ORG_A, "evt-9:0");
    assert_eq!(key, bridge::zendesk::creation_key(ORG_A, "evt-9:0"));
    assert_ne!(key, bridge::zendesk::creation_key("another-org", "evt-9:0"));
    assert!(
        key.len() <= 255 && bridge::zendesk::creation_key(ORG_A, &"x".repeat(300)).len() <= 255
    );

    let lose_next = || {
        e.sandbox
            .inject(Fault::new("POST", "/zendesk/*/api/v2/tickets.json").lose_answers(1))
    };
    lose_next();
    let f = z
        .create_followup(1004, "Follow-up", &note, Some(&key))
        .await
        .expect("retried with its key");
    let journal = e.sandbox.journal();
    let posts = bridge_sandbox::matching(&journal, "POST", "/zendesk/acme/api/v2/tickets.json");
    assert_eq!(posts.len(), 2, "sent again after the lost answer");
    assert!(
        e.sandbox.state().ticket("acme", f.id + 1).is_none(),
        "one ticket"
    );
    // Delivered again later (a redelivered job): the same ticket, nothing new.
    let again = z
        .create_followup(1004, "Follow-up", &note, Some(&key))
        .await
        .unwrap();
    assert_eq!(again.id, f.id);
    assert!(e.sandbox.state().ticket("acme", f.id + 1).is_none());

    lose_next();
    let err = z
        .create_followup(1004, "Follow-up", &note, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transport, "{err}");
    let journal = e.sandbox.journal();
    assert_eq!(
        bridge_sandbox::matching(&journal, "POST", "/zendesk/acme/api/v2/tickets.json").len(),
        4,
        "no key: not sent again"
    );
}

#[tokio::test]
async fn rate_limit_text_plain_within_and_beyond_deadline() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    e.sandbox.inject(
        Fault::new("GET", "/zendesk/acme/api/v2/tickets/*")
            .statuses([429])
            .retry_after(1),
    );
    let z =
        e.rt.zendesk
            .account(&cfg, Deadline::after(Duration::from_secs(10)))
            .unwrap();
    assert_eq!(z.ticket(1002).await.unwrap().status, "pending");

    e.sandbox.inject(
        Fault::new("GET", "/zendesk/acme/api/v2/tickets/*")
            .statuses([429])
            .retry_after(60),
    );
    let z =
        e.rt.zendesk
            .account(&cfg, Deadline::after(Duration::from_secs(2)))
            .unwrap();
    let started = std::time::Instant::now();
    let err = z.ticket(1002).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert!(err.retryable());
    assert_eq!(err.retry_after, Some(Duration::from_secs(60)));
    assert!(
        err.message.contains("Rate limit"),
        "text/plain body kept: {err}"
    );
}

#[tokio::test]
async fn bad_token_says_zendesk_refused_and_how_the_credential_was_formed() {
    let e = env().await;
    let mut doc = example_org_for(ORG_A, &e.sandbox);
    doc["zendesk"]["auth"]["apiToken"] = json!("revoked-token-value-xyz");
    let cfg = OrgConfig::from_json(&doc.to_string()).unwrap();
    let err =
        e.rt.zendesk
            .account(&cfg, Deadline::none())
            .unwrap()
            .ticket(1001)
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadCredentials);
    assert_eq!(err.upstream, Some(Upstream::Zendesk));
    let text = err.to_string();
    assert!(text.contains("Zendesk answered 401"), "{text}");
    assert!(text.contains("bridge@acme.example/token"), "{text}");
    assert!(text.contains("not Genesys"), "{text}");
    assert!(!text.contains("revoked-token-value-xyz"), "{text}");
    assert_eq!(
        bridge_sandbox::count(&e.sandbox.journal(), "GET", "/zendesk/**"),
        1,
        "a static credential is not retried"
    );
}

#[tokio::test]
async fn end_user_credential_is_forbidden_not_unauthenticated() {
    let e = env().await;
    let mut doc = example_org_for(ORG_A, &e.sandbox);
    doc["zendesk"]["auth"] = json!({"type": "apiToken", "email": "jane.doe@example.com", "apiToken": "acme-enduser-token-local"});
    let cfg = OrgConfig::from_json(&doc.to_string()).unwrap();
    let err =
        e.rt.zendesk
            .account(&cfg, Deadline::none())
            .unwrap()
            .update_ticket(
                1001,
                &TicketUpdate {
                    status: Some("pending".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Forbidden);
    assert!(err.to_string().contains("agent or admin role"), "{err}");
}

#[tokio::test]
async fn oauth_bearer_and_read_only_scope() {
    let e = env().await;
    let mut doc = example_org_for(ORG_A, &e.sandbox);
    doc["zendesk"]["auth"] = json!({"type": "oauth", "accessToken": "acme-zendesk-oauth-local"});
    let cfg = OrgConfig::from_json(&doc.to_string()).unwrap();
    let z = e.rt.zendesk.account(&cfg, Deadline::none()).unwrap();
    assert_eq!(z.ticket(1005).await.unwrap().status, "new");
    assert_eq!(e.sandbox.journal().last().unwrap().auth, "bearer");
    doc["zendesk"]["auth"]["accessToken"] = json!("acme-zendesk-oauth-readonly-local");
    let cfg = OrgConfig::from_json(&doc.to_string()).unwrap();
    let err =
        e.rt.zendesk
            .account(&cfg, Deadline::none())
            .unwrap()
            .update_ticket(
                1005,
                &TicketUpdate {
                    status: Some("open".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Forbidden);
    assert!(err.to_string().contains("OAuth access token"), "{err}");
}

#[tokio::test]
async fn find_user_by_phone_or_email_and_newest_open_ticket() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    let z = e.rt.zendesk.account(&cfg, Deadline::none()).unwrap();
    let by_phone = z
        .find_users(&UserLookup::Phone("+1 (555) 123-0001".into()))
        .await
        .unwrap();
    assert_eq!(
        by_phone.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![361101]
    );
    let by_mail = z
        .find_users(&UserLookup::Email("JANE.DOE@example.com".into()))
        .await
        .unwrap();
    assert_eq!(by_mail[0].id, 361101);
    assert!(z
        .find_users(&UserLookup::Phone("+15550000000".into()))
        .await
        .unwrap()
        .is_empty());
    let t = z.newest_open_ticket(361101).await.unwrap().unwrap();
    assert!(t.is_open());
    assert_ne!(t.id, 1004, "closed tickets are never 'open'");
    let me = z.me().await.unwrap();
    assert_eq!(me.email.as_deref(), Some("bridge@acme.example"));
}

#[tokio::test]
async fn org_without_zendesk_is_a_config_error() {
    let e = env().await;
    let mut doc = example_org_for(ORG_A, &e.sandbox);
    doc.as_object_mut().unwrap().remove("zendesk");
    let cfg = OrgConfig::from_json(&doc.to_string()).unwrap();
    let err = e.rt.zendesk.account(&cfg, Deadline::none()).err().unwrap();
    assert_eq!(err.error_type(), "Config.InvalidConfig");
    assert_eq!(err.field.as_deref(), Some("zendesk"));
}

#[tokio::test]
async fn a_timed_out_user_search_names_the_path_never_the_query() {
    let e = env().await;
    let cfg = e.rt.orgs.get(ORG_A).await.unwrap();
    e.sandbox.inject(
        Fault::new("GET", "/zendesk/*/api/v2/users/search.json").latency(Duration::from_secs(5)),
    );
    let (logs, _guard) = bridge_testkit::capture_logs();
    let z =
        e.rt.zendesk
            .account(&cfg, Deadline::after(Duration::from_millis(1_500)))
            .unwrap();
    let err = z
        .find_users(&UserLookup::Email("jane.doe@example.com".into()))
        .await
        .unwrap_err();
    assert_eq!(err.upstream, Some(Upstream::Zendesk));
    assert!(
        matches!(err.kind, ErrorKind::Transport | ErrorKind::DeadlineExceeded),
        "{err:?}"
    );
    let shown = format!("{err} {err:?} {}", logs.text());
    assert!(
        shown.contains("users/search.json"),
        "the path is named: {shown}"
    );
    assert!(err.operation.is_some(), "the operation is named: {err:?}");
    for pii in ["jane.doe", "example.com", "query="] {
        assert!(!shown.contains(pii), "{pii} in: {shown}");
    }
}
