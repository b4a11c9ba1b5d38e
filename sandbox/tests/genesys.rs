//! Genesys Cloud behaviour of the sandbox, over real HTTP.

mod common;

use base64::Engine as _;
use bridge_testkit::ids::*;
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn token_success_shape_and_basic_parsing() {
    let h = start().await;
    let response = h
        .http
        .post(h.url("/oauth/token"))
        .basic_auth(CLIENT_A.0, Some(CLIENT_A.1))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "conversations:participant:write"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("inin-correlation-id"));
    let (status, body) = body(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86400);
    assert!(body["access_token"].as_str().unwrap().len() >= 32);
    assert_eq!(h.sandbox.state().tokens_issued(), 1);

    // A hand-built header with extra whitespace and a lowercase scheme parses the same way.
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", CLIENT_B.0, CLIENT_B.1));
    let response = h
        .http
        .post(h.url("/oauth/token"))
        .header("Authorization", format!("basic  {encoded}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn token_failure_shapes() {
    let h = start().await;
    let post = || h.http.post(h.url("/oauth/token"));
    let grant = [("grant_type", "client_credentials")];

    let (status, b) = body(
        post()
            .basic_auth(CLIENT_A.0, Some("wrong"))
            .form(&grant)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        b,
        json!({"error": "invalid_client", "description": "client not found", "error_description": "client not found"})
    );
    let (status, b) = body(
        post()
            .basic_auth("nobody", Some("x"))
            .form(&grant)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, b["error"].as_str()), (401, Some("invalid_client")));

    let (status, b) = body(post().form(&grant).send().await.unwrap()).await;
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("invalid_request"))
    );

    let (status, b) = body(
        post()
            .header("Authorization", "Basic %%%not-base64%%%")
            .form(&grant)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("invalid_request"))
    );

    for form in [vec![("grant_type", "password")], vec![]] {
        let (status, b) = body(
            post()
                .basic_auth(CLIENT_A.0, Some(CLIENT_A.1))
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(b["error"], "unsupported_grant_type");
        assert!(b["error_description"].is_string());
    }
    assert_eq!(h.sandbox.state().tokens_issued(), 0);
}

#[tokio::test]
async fn api_401_codes_and_correlation_id() {
    let h = start().await;
    let url = h.url("/api/v2/tokens/me");

    let response = h.http.get(&url).send().await.unwrap();
    let correlation = response.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, b) = body(response).await;
    assert_eq!(
        (status, b["code"].as_str()),
        (401, Some("authentication.required"))
    );
    assert_eq!(b["contextId"], correlation.as_str());
    assert!(uuid::Uuid::parse_str(&correlation).is_ok());

    // Invented headers grant nothing.
    let (status, b) = body(
        h.http
            .get(&url)
            .header("X-Genesys-Auth", "anything")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, b["code"].as_str()),
        (401, Some("authentication.required"))
    );

    let (status, b) = body(
        h.http
            .get(&url)
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, b["code"].as_str()), (401, Some("bad.credentials")));
    assert_eq!(b["message"], "Invalid login credentials.");

    let token = h.token(CLIENT_A).await;
    assert_eq!(
        h.http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    h.sandbox.state().expire_tokens();
    let (status, b) = body(h.http.get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!((status, b["code"].as_str()), (401, Some("bad.credentials")));

    let token = h.token(CLIENT_A).await;
    h.sandbox.state().revoke_tokens_for_client(CLIENT_A.0);
    assert_eq!(
        h.http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn tokens_me_and_organizations_me() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let (status, me) = body(
        h.http
            .get(h.url("/api/v2/tokens/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["organization"]["id"], ORG_A);
    assert_eq!(me["homeOrganization"]["name"], "Acme Support");
    assert_eq!(me["homeOrganization"]["thirdPartyOrgName"], "acmesupport");
    assert_eq!(me["OAuthClient"]["id"], CLIENT_A.0);
    let role_id = me["OAuthClient"]["roleDivisions"][0]["roleId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(me["OAuthClient"]["roleDivisions"][0]["divisionId"].is_string());

    let (status, org) = body(
        h.http
            .get(h.url("/api/v2/organizations/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(org["domain"], "mypurecloud.ie");
    assert_eq!(org["features"], json!({}));

    let (status, role) = body(
        h.http
            .get(h.url(&format!("/api/v2/authorization/roles/{role_id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(role["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("conversation:communication:view")));
    assert!(role["permissionPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["domain"] == "conversation" && p["entityName"] == "communication"));

    // Globex's role is invisible to Acme.
    let globex = h.token(CLIENT_B).await;
    let (_, globex_me) = body(
        h.http
            .get(h.url("/api/v2/tokens/me"))
            .bearer_auth(&globex)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let globex_role = globex_me["OAuthClient"]["roleDivisions"][0]["roleId"]
        .as_str()
        .unwrap();
    let response = h
        .http
        .get(h.url(&format!("/api/v2/authorization/roles/{globex_role}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn missing_permission_403_names_the_permission() {
    let h = start().await;
    let token = h.token(CLIENT_A_LIMITED).await;
    let (status, b) = body(
        h.http
            .get(h.url(&format!("/api/v2/conversations/{CONV_A1}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(b["code"], "missing.permissions");
    assert_eq!(
        b["message"],
        "Unable to perform the requested action. You are missing the following permission(s): [conversation:communication:view]"
    );
    assert_eq!(
        b["messageParams"],
        json!({"permissions": "conversation:communication:view"})
    );

    let (status, b) = body(
        h.http
            .patch(h.url(&format!("/api/v2/externalcontacts/contacts/{CONTACT_A1}")))
            .bearer_auth(&token)
            .json(&json!({"changes": []}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        b["messageParams"]["permissions"],
        "externalContacts:contact:edit"
    );

    // Granting the permission at runtime takes effect for the same token.
    h.sandbox.state().set_client_permissions(
        ORG_A,
        CLIENT_A_LIMITED.0,
        vec!["conversation:*:view".into()],
    );
    let response = h
        .http
        .get(h.url(&format!("/api/v2/conversations/{CONV_A1}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn conversation_read_404_across_orgs_and_400_on_bad_id() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let get = |id: &str| {
        h.http
            .get(h.url(&format!("/api/v2/conversations/{id}")))
            .bearer_auth(&token)
            .send()
    };

    let (status, conv) = body(get(CONV_A1).await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(conv["id"], CONV_A1);
    assert!(conv["startTime"].is_string());
    assert!(conv.get("endTime").is_none());
    let customer = &conv["participants"][0];
    assert_eq!(customer["purpose"], "customer");
    assert_eq!(customer["address"], "+15551230001");
    assert_eq!(customer["attributes"]["zendesk_ticket_id"], "1001");

    let (status, other_org) = body(get(CONV_B1).await.unwrap()).await;
    let (status2, missing) = body(get("00000000-0000-4000-8000-000000000000").await.unwrap()).await;
    assert_eq!((status, status2), (404, 404));
    assert_eq!(other_org["code"], "not.found");
    assert_eq!(other_org["message"], missing["message"]);

    let (status, b) = body(get("not-a-uuid").await.unwrap()).await;
    assert_eq!((status, b["code"].as_str()), (400, Some("bad.request")));
}

fn attributes_url(h: &Harness, conv: &str, participant: &str) -> String {
    h.url(&format!(
        "/api/v2/conversations/{conv}/participants/{participant}/attributes"
    ))
}

#[tokio::test]
async fn attribute_patch_merges_and_reads_back() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let url = attributes_url(&h, CONV_A1, CONV_A1_CUSTOMER);

    let response = h
        .http
        .patch(&url)
        .bearer_auth(&token)
        .json(&json!({"attributes": {"zendesk_status": "open", "language": ""}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert!(response.headers().contains_key("inin-correlation-id"));
    assert_eq!(response.text().await.unwrap(), "");

    let (_, conv) = body(
        h.http
            .get(h.url(&format!("/api/v2/conversations/{CONV_A1}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        conv["participants"][0]["attributes"],
        json!({"zendesk_ticket_id": "1001", "zendesk_status": "open", "language": ""})
    );
    let stored = h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap();
    assert_eq!(stored["zendesk_status"], "open");

    for (value, kind) in [
        (json!(5), "number"),
        (json!(true), "boolean"),
        (json!({"a": "b"}), "object"),
        (json!(null), "null"),
    ] {
        let (status, b) = body(
            h.http
                .patch(&url)
                .bearer_auth(&token)
                .json(&json!({"attributes": {"ok": "fine", "bad_key": value}}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, b["code"].as_str()),
            (400, Some("bad.request")),
            "{kind}"
        );
        assert!(b["message"].as_str().unwrap().contains("bad_key"), "{b}");
    }
    // Rejected requests change nothing, not even their valid keys.
    assert!(!h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap()
        .contains_key("ok"));

    let (status, _) = body(
        h.http
            .patch(&url)
            .bearer_auth(&token)
            .json(&json!({"attrs": {}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);

    let unknown = attributes_url(&h, CONV_A1, "00000000-0000-4000-8000-000000000000");
    let (status, b) = body(
        h.http
            .patch(&unknown)
            .bearer_auth(&token)
            .json(&json!({"attributes": {}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, b["code"].as_str()), (404, Some("not.found")));

    let other_org = attributes_url(&h, CONV_B1, "c0b00001-0000-4000-8000-00000000c001");
    let (status, _) = body(
        h.http
            .patch(&other_org)
            .bearer_auth(&token)
            .json(&json!({"attributes": {"x": "y"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn attributes_after_the_end_are_accepted_but_not_kept() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let write = |conv: &str, participant: &str| {
        h.http
            .patch(attributes_url(&h, conv, participant))
            .bearer_auth(&token)
            .json(&json!({"attributes": {"late": "yes"}}))
            .send()
    };
    assert_eq!(
        write(CONV_A3_ENDED, CONV_A3_CUSTOMER)
            .await
            .unwrap()
            .status(),
        202
    );
    assert!(!h
        .sandbox
        .state()
        .participant_attributes(CONV_A3_ENDED, CONV_A3_CUSTOMER)
        .unwrap()
        .contains_key("late"));

    h.sandbox.state().end_conversation(CONV_A1);
    assert!(h.sandbox.state().conversation(CONV_A1).unwrap()["endTime"].is_string());
    assert_eq!(
        write(CONV_A1, CONV_A1_CUSTOMER).await.unwrap().status(),
        202
    );
    assert!(!h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap()
        .contains_key("late"));
}

#[tokio::test]
async fn attribute_permission_is_configurable_per_org() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    h.sandbox
        .state()
        .set_attribute_permission(ORG_A, "conversation:participant:attributesedit");
    let (status, b) = body(
        h.http
            .patch(attributes_url(&h, CONV_A1, CONV_A1_CUSTOMER))
            .bearer_auth(&token)
            .json(&json!({"attributes": {"k": "v"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        b["messageParams"]["permissions"],
        "conversation:participant:attributesedit"
    );
}

#[tokio::test]
async fn external_contact_field_level_patch() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let url = h.url(&format!("/api/v2/externalcontacts/contacts/{CONTACT_A1}"));
    let (status, contact) = body(h.http.get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(contact["customFields"]["tier_text"], "silver");
    assert_eq!(contact["version"], 1);

    let patch = |changes: Value| {
        h.http
            .patch(&url)
            .bearer_auth(&token)
            .json(&json!({"changes": changes}))
            .send()
    };
    let (status, contact) = body(
        patch(json!([
            {"field": "$.customFields.tier_text", "value": "gold", "action": "Update"},
            {"field": "$.customFields.tier_text", "value": "bronze", "action": "UpdateIfEmpty"},
            {"field": "$.customFields.vip_flag", "value": true, "action": "UpdateIfEmpty"},
            {"field": "$.customFields.missing_text", "value": "x", "action": "UpdateIfExists"},
            {"field": "$.customFields.zendesk_user_id_text", "action": "Remove"},
            {"field": "$.firstName", "value": "Janet", "action": "Update"}
        ]))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{contact}");
    assert_eq!(
        contact["customFields"],
        json!({"tier_text": "gold", "vip_flag": true})
    );
    assert_eq!(contact["firstName"], "Janet");
    assert_eq!(contact["lastName"], "Doe");
    assert_eq!(contact["version"], 2);
    assert_eq!(
        h.sandbox.state().contact(ORG_A, CONTACT_A1).unwrap()["version"],
        2
    );

    let (status, b) = body(
        patch(json!([{"field": "$.customFields.x", "value": "1", "action": "Upsert"}]))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(b["message"].as_str().unwrap().contains("Upsert"));
    let (status, b) = body(
        patch(json!([{"field": "$.address.city", "value": "x", "action": "Update"}]))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(b["message"].as_str().unwrap().contains("$.address.city"));
    let (status, _) = body(
        patch(
            json!([{"field": "$.customFields.tags", "value": "x", "action": "AppendToCollection"}]),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 501);
    assert_eq!(
        h.sandbox.state().contact(ORG_A, CONTACT_A1).unwrap()["version"],
        2
    );

    let (status, b) = body(
        h.http
            .get(h.url(&format!("/api/v2/externalcontacts/contacts/{CONTACT_B1}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, b["code"].as_str()),
        (404, Some("contact.not.found"))
    );
}

#[tokio::test]
async fn agentless_message_probe() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let (status, b) = body(
        h.http
            .post(h.url("/api/v2/conversations/messages/agentless"))
            .bearer_auth(&token)
            .json(&json!({"fromAddress": "+15550000100", "toAddress": "+15551230001", "toAddressMessengerType": "sms", "textBody": "hi"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    assert!(b["conversationId"].is_string());
    let limited = h.token(CLIENT_A_LIMITED).await;
    let response = h
        .http
        .post(h.url("/api/v2/conversations/messages/agentless"))
        .bearer_auth(&limited)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn unimplemented_and_invented_paths_are_501() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let cases = [
        (
            "PATCH",
            format!(
                "/api/v2/conversations/voice/{CONV_A1}/participants/{CONV_A1_CUSTOMER}/attributes"
            ),
        ),
        (
            "PATCH",
            format!(
                "/api/v2/conversations/calls/{CONV_A1}/participants/{CONV_A1_CUSTOMER}/attributes"
            ),
        ),
        ("GET", format!("/api/v2/contacts/contacts/{CONTACT_A1}")),
        (
            "POST",
            format!("/api/v2/messaging/organizations/{ORG_A}/conversations"),
        ),
        ("GET", "/api/v2/foo".to_owned()),
        ("GET", "/api/v2/conversations/calls".to_owned()),
        ("DELETE", format!("/api/v2/conversations/{CONV_A1}")),
        ("GET", "/oauth/authorize".to_owned()),
    ];
    for (method, path) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = h
            .http
            .request(method.clone(), h.url(&path))
            .bearer_auth(&token)
            .json(&json!({"attributes": {}}))
            .send()
            .await
            .unwrap();
        let (status, b) = body(response).await;
        assert_eq!(status, 501, "{method} {path}");
        assert_eq!(
            b["message"],
            format!("bridge-sandbox does not implement {method} {path}")
        );
    }
}

#[tokio::test]
async fn oversized_body_is_413() {
    let h = start().await;
    let token = h.token(CLIENT_A).await;
    let big = "x".repeat(512_001);
    let response = h
        .http
        .patch(attributes_url(&h, CONV_A1, CONV_A1_CUSTOMER))
        .bearer_auth(&token)
        .json(&json!({"attributes": {"big": big}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(!h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap()
        .contains_key("big"));
}

#[tokio::test]
async fn user_tokens_act_with_the_users_own_permissions() {
    let h = start().await;
    let get = |path: &str, token: &str| h.http.get(h.url(path)).bearer_auth(token.to_owned());

    // users/me names the token's user; tokens/me its org (and no OAuth client).
    let (status, me) = body(get("/api/v2/users/me", USER_TOKEN_A).send().await.unwrap()).await;
    assert_eq!((status, me["id"].as_str()), (200, Some(AGENT_USER_A)));
    let (status, t) = body(get("/api/v2/tokens/me", USER_TOKEN_B).send().await.unwrap()).await;
    assert_eq!(
        (status, t["organization"]["id"].as_str()),
        (200, Some(ORG_B))
    );
    assert!(t.get("OAuthClient").is_none(), "{t}");
    // A client-credentials token has no user.
    let (status, e) = body(
        get("/api/v2/users/me", CLIENT_TOKEN_A_LIMITED)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("bad.request")));
    let (status, t) = body(
        get("/api/v2/tokens/me", CLIENT_TOKEN_A_LIMITED)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(t["OAuthClient"]["id"], CLIENT_A_LIMITED.0);

    // The conversation read and the attribute write check the user's own permissions.
    let conv = format!("/api/v2/conversations/{CONV_A1}");
    assert_eq!(get(&conv, USER_TOKEN_A).send().await.unwrap().status(), 200);
    let patch = |token: &str| {
        h.http
            .patch(h.url(&format!(
                "/api/v2/conversations/{CONV_A1}/participants/{CONV_A1_CUSTOMER}/attributes"
            )))
            .bearer_auth(token.to_owned())
            .json(&json!({"attributes": {"tier": "gold"}}))
    };
    assert_eq!(patch(USER_TOKEN_A).send().await.unwrap().status(), 202);
    h.sandbox.state().set_user_permissions(
        ORG_A,
        AGENT_USER_A,
        vec!["conversation:communication:view".into()],
    );
    let (status, e) = body(patch(USER_TOKEN_A).send().await.unwrap()).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("missing.permissions"))
    );
    assert_eq!(
        e["messageParams"]["permissions"],
        "conversation:communication:update"
    );
    h.sandbox
        .state()
        .set_user_permissions(ORG_A, AGENT_USER_A, vec![]);
    let (status, e) = body(get(&conv, USER_TOKEN_A).send().await.unwrap()).await;
    assert_eq!(
        (status, e["messageParams"]["permissions"].as_str()),
        (403, Some("conversation:communication:view"))
    );
    // Another org's user sees another org's conversation as missing.
    assert_eq!(get(&conv, USER_TOKEN_B).send().await.unwrap().status(), 404);

    // The journal tells user calls apart, without the token.
    let journal = h.sandbox.journal();
    let users: Vec<Option<&str>> = journal.iter().map(|e| e.user_id.as_deref()).collect();
    assert_eq!(users[0], Some(AGENT_USER_A));
    assert_eq!(users[2], None, "a client token has no user");
    assert!(!serde_json::to_string(&journal)
        .unwrap()
        .contains(USER_TOKEN_A));

    // A revoked user token is refused like any other.
    h.sandbox.state().revoke_tokens_for_user(AGENT_USER_B);
    let (status, e) = body(get("/api/v2/users/me", USER_TOKEN_B).send().await.unwrap()).await;
    assert_eq!((status, e["code"].as_str()), (401, Some("bad.credentials")));
    assert_eq!(
        h.sandbox.state().tokens_issued(),
        0,
        "seeded tokens are not issued ones"
    );
}
