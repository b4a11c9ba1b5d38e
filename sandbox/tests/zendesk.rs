//! Zendesk behaviour of the sandbox, over real HTTP.

mod common;

use std::time::Duration;

use bridge_testkit::ids::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn auth_401_403_and_unknown_account() {
    let h = start().await;
    let url = h.zd("acme", "/api/v2/tickets/1001.json");

    let response = h.http.get(&url).send().await.unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    let (status, b) = body(response).await;
    assert_eq!(
        (status, b),
        (401, json!({"error": "Couldn't authenticate you"}))
    );

    let (status, _) = body(
        h.zd_basic(h.http.get(&url), (ZENDESK_TOKEN_A.0, "wrong"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    // The token belongs to acme, not globex.
    let (status, _) = body(
        h.zd_basic(
            h.http.get(h.zd("globex", "/api/v2/tickets/2001.json")),
            ZENDESK_TOKEN_A,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    // Without "/token" it would be password auth, which is not accepted.
    let (status, _) = body(
        h.http
            .get(&url)
            .basic_auth(ZENDESK_TOKEN_A.0, Some(ZENDESK_TOKEN_A.1))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);

    let (status, b) = body(
        h.zd_basic(
            h.http.get(&url),
            ("jane.doe@example.com", "acme-enduser-token-local"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, b["error"].as_str()), (403, Some("Forbidden")));

    let (status, b) = body(
        h.http
            .get(&url)
            .bearer_auth("acme-zendesk-oauth-local")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(b["ticket"]["id"], 1001);
    let (status, _) = body(
        h.http
            .put(&url)
            .bearer_auth("acme-zendesk-oauth-readonly-local")
            .json(&json!({"ticket": {"status": "pending"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);

    let (status, b) = body(
        h.zd_basic(
            h.http.get(h.zd("initech", "/api/v2/tickets/1.json")),
            ZENDESK_TOKEN_A,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, b["error"].as_str()), (404, Some("NoSuchAccount")));
}

#[tokio::test]
async fn show_ticket_and_404() {
    let h = start().await;
    let (status, b) = body(
        h.zd_basic(
            h.http.get(h.zd("acme", "/api/v2/tickets/1001.json")),
            ZENDESK_TOKEN_A,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let t = &b["ticket"];
    assert_eq!(t["status"], "open");
    assert_eq!(t["requester_id"], 361101);
    assert_eq!(t["updated_at"], "2025-03-03T09:16:40Z");
    assert!(t["url"]
        .as_str()
        .unwrap()
        .ends_with("/zendesk/acme/api/v2/tickets/1001.json"));

    let (status, b) = body(
        h.zd_basic(
            h.http.get(h.zd("acme", "/api/v2/tickets/999.json")),
            ZENDESK_TOKEN_A,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, b),
        (
            404,
            json!({"error": "RecordNotFound", "description": "Not found"})
        )
    );
}

#[tokio::test]
async fn update_with_comment_then_safe_update_conflict() {
    let h = start().await;
    let url = h.zd("acme", "/api/v2/tickets/1001.json");
    let (status, b) = body(
        h.zd_basic(h.http.put(&url), ZENDESK_TOKEN_A)
            .json(&json!({"ticket": {
                "status": "pending",
                "comment": {"body": "Call ended", "public": false},
                "safe_update": true,
                "updated_stamp": "2025-03-03T09:16:40Z"
            }}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["ticket"]["status"], "pending");
    let new_stamp = b["ticket"]["updated_at"].as_str().unwrap().to_owned();
    assert_ne!(new_stamp, "2025-03-03T09:16:40Z");
    let events = b["audit"]["events"].as_array().unwrap();
    assert!(events
        .iter()
        .any(|e| e["type"] == "Change" && e["previous_value"] == "open"));
    assert!(events
        .iter()
        .any(|e| e["type"] == "Comment" && e["public"] == false));
    assert_eq!(
        h.sandbox.state().ticket_comments("acme", 1001),
        vec![("Call ended".to_owned(), false)]
    );

    // Someone else edits; the stamp we hold is now stale.
    h.sandbox.state().touch_ticket("acme", 1001);
    let (status, b) = body(
        h.zd_basic(h.http.put(&url), ZENDESK_TOKEN_A)
            .json(&json!({"ticket": {"status": "solved", "safe_update": true, "updated_stamp": new_stamp}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(b["error"], "UpdateConflict");
    assert_eq!(
        h.sandbox.state().ticket("acme", 1001).unwrap()["status"],
        "pending"
    );

    // `safe_update: false` is still a safe update.
    let (status, _) = body(
        h.zd_basic(h.http.put(&url), ZENDESK_TOKEN_A)
            .json(&json!({"ticket": {"status": "solved", "safe_update": false, "updated_stamp": new_stamp}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);

    // Stamps stay strictly increasing even for back-to-back updates.
    let mut last = h.sandbox.state().ticket("acme", 1001).unwrap()["updated_at"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        let (status, b) = body(
            h.zd_basic(h.http.put(&url), ZENDESK_TOKEN_A)
                .json(&json!({"ticket": {"status": "open"}}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        let stamp = b["ticket"]["updated_at"].as_str().unwrap().to_owned();
        assert!(stamp > last, "{stamp} > {last}");
        last = stamp;
    }
}

#[tokio::test]
async fn closed_ticket_is_422_and_follow_up_is_created() {
    let h = start().await;
    let (status, b) = body(
        h.zd_basic(
            h.http.put(h.zd("acme", "/api/v2/tickets/1004.json")),
            ZENDESK_TOKEN_A,
        )
        .json(&json!({"ticket": {"status": "open", "comment": {"body": "again", "public": true}}}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        b,
        json!({"error": "RecordInvalid", "description": "Record validation errors",
               "details": {"status": [{"description": "Status: closed prevents ticket update"}]}})
    );

    let (status, b) = body(
        h.zd_basic(
            h.http.put(h.zd("acme", "/api/v2/tickets/1001.json")),
            ZENDESK_TOKEN_A,
        )
        .json(&json!({"ticket": {"status": "resolved"}}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(b["details"]["status"].is_array());

    let (status, b) = body(
        h.zd_basic(
            h.http.post(h.zd("acme", "/api/v2/tickets.json")),
            ZENDESK_TOKEN_A,
        )
        .json(
            &json!({"ticket": {"via_followup_source_id": 1004, "requester_id": 361101,
                                     "comment": {"body": "Follow-up of 1004"}}}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{b}");
    let id = b["ticket"]["id"].as_u64().unwrap();
    assert!(id > 1006);
    assert_eq!(b["ticket"]["via"]["source"]["from"]["ticket_id"], 1004);
    assert!(h.sandbox.state().ticket("acme", id).is_some());

    let (status, _) = body(
        h.zd_basic(
            h.http.post(h.zd("acme", "/api/v2/tickets.json")),
            ZENDESK_TOKEN_A,
        )
        .json(&json!({"ticket": {"via_followup_source_id": 1001, "comment": {"body": "x"}}}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn per_ticket_update_budget_429() {
    let h = start().await;
    h.sandbox
        .state()
        .set_ticket_update_budget(3, Duration::from_secs(600));
    let url = h.zd("acme", "/api/v2/tickets/1002.json");
    for _ in 0..3 {
        let response = h
            .zd_basic(h.http.put(&url), ZENDESK_TOKEN_A)
            .json(&json!({"ticket": {"status": "open"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let response = h
        .zd_basic(h.http.put(&url), ZENDESK_TOKEN_A)
        .json(&json!({"ticket": {"status": "open"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((598..=600).contains(&retry_after), "{retry_after}");
    assert_eq!(
        response.text().await.unwrap(),
        "Rate limit for ticket updates exceeded, please wait before updating this ticket again"
    );
    // The budget is per ticket: another ticket is unaffected.
    let other = h
        .zd_basic(
            h.http.put(h.zd("acme", "/api/v2/tickets/1005.json")),
            ZENDESK_TOKEN_A,
        )
        .json(&json!({"ticket": {"status": "open"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn default_budget_is_30_per_10_minutes() {
    let h = start().await;
    let url = h.zd("globex", "/api/v2/tickets/2001.json");
    let creds = ("bridge@globex.example", "globex-zendesk-token-local");
    for i in 0..30 {
        let response = h
            .zd_basic(h.http.put(&url), creds)
            .json(&json!({"ticket": {"status": "open"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "update {i}");
    }
    let response = h
        .zd_basic(h.http.put(&url), creds)
        .json(&json!({"ticket": {"status": "open"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn user_search_normalises_phone_and_email() {
    let h = start().await;
    let search = |query: &str| {
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", query)
            .finish();
        h.zd_basic(
            h.http
                .get(h.zd("acme", &format!("/api/v2/users/search.json?{encoded}"))),
            ZENDESK_TOKEN_A,
        )
        .send()
    };
    for query in [
        "phone:+1 555 123 0001",
        "+15551230001",
        "phone:15551230001",
        "email:JANE.DOE@example.com",
        "jane.doe@example.com",
    ] {
        let (status, b) = body(search(query).await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(b["count"], 1, "{query}: {b}");
        assert_eq!(b["users"][0]["id"], 361101, "{query}");
    }
    // Stored as "+1 (555) 123-0003": compared digits-only too.
    let (_, b) = body(search("phone:+15551230003").await.unwrap()).await;
    assert_eq!(b["users"][0]["id"], 361102);
    let (_, b) = body(search("phone:+15550000000").await.unwrap()).await;
    assert_eq!(
        b,
        json!({"users": [], "count": 0, "next_page": null, "previous_page": null})
    );

    let (status, b) = body(
        h.zd_basic(
            h.http
                .get(h.zd("acme", "/api/v2/users/361101/tickets/requested.json")),
            ZENDESK_TOKEN_A,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let mut ids: Vec<u64> = b["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [1001, 1002, 1004]);
    assert_eq!(b["count"], 3);

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
    assert_eq!(status, 200);
    assert_eq!(b["user"]["email"], "bridge@acme.example");
    assert_eq!(b["user"]["role"], "admin");
    let (_, b) = body(
        h.http
            .get(h.zd("acme", "/api/v2/users/me.json"))
            .bearer_auth("acme-zendesk-oauth-local")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b["user"]["id"], 361001);
}

#[tokio::test]
async fn unimplemented_zendesk_paths_are_501() {
    let h = start().await;
    for (method, path) in [
        ("PUT", "/api/v2/tickets/update_many.json"),
        ("GET", "/api/v2/tickets/show_many.json"),
        ("GET", "/api/v2/search.json"),
        ("DELETE", "/api/v2/tickets/1001.json"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (status, b) = body(
            h.zd_basic(
                h.http.request(method.clone(), h.zd("acme", path)),
                ZENDESK_TOKEN_A,
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 501, "{method} {path}");
        assert_eq!(
            b["description"],
            format!("bridge-sandbox does not implement {method} /zendesk/acme{path}")
        );
    }
    let (status, _) = body(h.http.get(h.url("/")).send().await.unwrap()).await;
    assert_eq!(status, 501);
}
