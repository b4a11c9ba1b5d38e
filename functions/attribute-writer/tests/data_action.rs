//! The Architect data action path, run through the public handler against the sandbox over
//! HTTP, with fixtures from `events/attribute-writer/`.

mod common;

use std::time::{Duration, Instant};

use bridge_sandbox::{count, matching, Fault, Upstream};
use bridge_testkit::ids::*;
use bridge_testkit::{
    ctx_with_deadline, data_action_ctx, data_action_ctx_with_deadline, edit_org, example_org_for,
    org_alias_arn, show,
};
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn writes_exact_path_and_body_and_a_warm_write_is_one_upstream_call() {
    let h = Harness::start().await;
    let out = h
        .invoke(fixture("data-action-attributes-json.json"))
        .await
        .expect("write succeeds");

    let j = h.journal();
    let patches = matching(&j, "PATCH", ATTR_PATCH);
    assert_eq!(patches.len(), 1, "{}", show(&j));
    let p = patches[0];
    assert_eq!(
        p.path,
        format!("/api/v2/conversations/{CONV_A1}/participants/{CONV_A1_CUSTOMER}/attributes")
    );
    assert_eq!(
        p.body,
        Some(json!({"attributes": {"crm_tier": "gold", "crm_id": "A-1001"}}))
    );
    assert_eq!(
        (p.status, p.auth.as_str(), p.org_id.as_deref()),
        (202, "bearer", Some(ORG_A))
    );
    // Cold: one token, the tokens/me org check, the write. Nothing else.
    assert_eq!(j.len(), 3, "{}", show(&j));
    assert_eq!(count(&j, "POST", "/oauth/token"), 1);
    assert_eq!(count(&j, "GET", "/api/v2/tokens/me"), 1);

    // The output matches the action's output contract exactly (flat, these keys only).
    let correlation = out["correlationId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!correlation.is_empty(), "{out}");
    assert_eq!(
        out,
        json!({"ok": true, "written": 2, "verified": false, "verifyReason": "",
               "conversationId": CONV_A1, "participantId": CONV_A1_CUSTOMER, "correlationId": correlation})
    );
    // Merge, not replace: the attribute set by the flow before is still there.
    let stored = h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap();
    assert_eq!(
        stored.get("zendesk_ticket_id").map(String::as_str),
        Some("1001")
    );
    assert_eq!(stored.get("crm_tier").map(String::as_str), Some("gold"));

    // Warm: exactly one upstream call, no secret fetch, no token request.
    let (fetches, tokens, sb_tokens) = (
        h.source.fetches(),
        h.rt.genesys.tokens_issued(),
        h.sandbox.state().tokens_issued(),
    );
    assert_eq!((fetches, tokens, sb_tokens), (1, 1, 1));
    h.sandbox.clear_journal();
    let out = h
        .invoke(fixture("data-action-attributes-object.json"))
        .await
        .expect("warm write succeeds");
    let j = h.journal();
    assert_eq!(j.len(), 1, "{}", show(&j));
    assert!(j[0].matches("PATCH", ATTR_PATCH));
    // Numbers and booleans arrive as their string form.
    assert_eq!(
        j[0].body,
        Some(
            json!({"attributes": {"crm_tier": "gold", "crm_score": "42", "vip": "true", "sync_status": "synced"}})
        )
    );
    assert_eq!(out["written"], 4);
    assert_eq!(h.source.fetches(), fetches);
    assert_eq!(h.rt.genesys.tokens_issued(), tokens);
    assert_eq!(h.sandbox.state().tokens_issued(), sb_tokens);
    assert_eq!(count_upstream_calls(&j, Upstream::GenesysLogin), 0);
}

fn count_upstream_calls(j: &[bridge_sandbox::JournalEntry], u: Upstream) -> usize {
    bridge_sandbox::count_upstream(j, u)
}

#[tokio::test]
async fn each_validation_error_is_refused_before_any_upstream_call_naming_the_key() {
    let h = Harness::start().await;
    let base = fixture("data-action-attributes-object.json");
    let long_key = "k".repeat(129);
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("key{i}"), json!("v"))).collect();
    // (event, message part, needs the org config for the check)
    let rows: Vec<(Value, &str, bool)> = vec![
        (
            with(base.clone(), "attributes", json!({"crm": {"tier": "gold"}})),
            "`attributes.crm`",
            false,
        ),
        (
            with(base.clone(), "attributes", json!({"tags": ["a", "b"]})),
            "`attributes.tags`",
            false,
        ),
        (
            with(
                base.clone(),
                "attributes",
                json!({"tier": "gold", "gone": null}),
            ),
            "`attributes.gone`",
            false,
        ),
        (
            with(base.clone(), "attributes", json!({})),
            "set is empty",
            false,
        ),
        (
            with(
                fixture("data-action-attributes-json.json"),
                "attributesJson",
                json!("{\"crm_tier\":\"gold\""),
            ),
            "`attributesJson`",
            false,
        ),
        (
            with(
                fixture("data-action-attributes-json.json"),
                "attributesJson",
                json!("{}"),
            ),
            "set is empty",
            false,
        ),
        (
            with(base.clone(), "conversationId", json!("12345")),
            "`conversationId`: expected a UUID",
            false,
        ),
        (
            with(base.clone(), "participantId", json!("customer")),
            "`participantId`: expected a UUID",
            false,
        ),
        (
            with(base.clone(), "orgId", json!("acme")),
            "`orgId`: expected a UUID",
            false,
        ),
        (
            with(base.clone(), "verify", json!("yes")),
            "`verify`",
            false,
        ),
        (
            with(base.clone(), "attributes", json!({long_key.clone(): "v"})),
            "maxKeyChars",
            true,
        ),
        (
            with(
                base.clone(),
                "attributes",
                json!({"note": "x".repeat(2001)}),
            ),
            "`attributes.note`",
            true,
        ),
        (
            with(base.clone(), "attributes", Value::Object(many)),
            "maxKeys",
            true,
        ),
    ];
    for (event, part, needs_org) in rows {
        let before = h.source.fetches();
        let e = h
            .invoke(event.clone())
            .await
            .expect_err("invalid input must fail");
        assert_eq!(e.error_type, "Input.InvalidInput", "{e:?}");
        assert!(
            e.error_message.contains(part),
            "{:?} lacks {part:?}",
            e.error_message
        );
        assert!(
            h.journal().is_empty(),
            "no upstream call for invalid input:\n{}",
            show(&h.journal())
        );
        if !needs_org {
            assert_eq!(
                h.source.fetches(),
                before,
                "shape errors need no secret: {part}"
            );
        }
    }
    assert!(!h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap()
        .contains_key("crm"));
}

#[tokio::test]
async fn verify_true_reads_the_conversation_back_once() {
    let h = Harness::start().await;
    let out = h.invoke(fixture("data-action-verify.json")).await.unwrap();
    assert_eq!(
        (out["verified"].clone(), out["verifyReason"].clone()),
        (json!(true), json!("")),
        "{out}"
    );
    let j = h.journal();
    assert_eq!(count(&j, "PATCH", ATTR_PATCH), 1);
    assert_eq!(
        count(&j, "GET", &format!("/api/v2/conversations/{CONV_A1}")),
        1,
        "{}",
        show(&j)
    );
}

#[tokio::test]
async fn verify_false_when_the_conversation_has_ended() {
    let h = Harness::start().await;
    // A conversation that ends before the write: Genesys answers 202 and keeps nothing.
    h.sandbox.state().end_conversation(CONV_A1);
    let out = h.invoke(fixture("data-action-verify.json")).await.unwrap();
    assert_eq!(out["ok"], true);
    assert_eq!(out["verified"], false, "{out}");
    assert_eq!(out["verifyReason"], "conversation ended");
    let j = h.journal();
    assert_eq!(matching(&j, "PATCH", ATTR_PATCH)[0].status, 202);
    // Ended is final: no second read.
    assert_eq!(
        count(&j, "GET", "/api/v2/conversations/*"),
        1,
        "{}",
        show(&j)
    );
    let stored = h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap();
    assert!(
        !stored.contains_key("crm_tier"),
        "the sandbox drops writes after the end"
    );

    // The seeded ended conversation says the same.
    let ev = json!({"orgId": ORG_A, "conversationId": CONV_A3_ENDED, "participantId": CONV_A3_CUSTOMER,
                    "attributes": {"sync_status": "synced"}, "verify": true});
    let out = h.invoke(ev).await.unwrap();
    assert_eq!(
        (out["verified"].clone(), out["verifyReason"].clone()),
        (json!(false), json!("conversation ended"))
    );
}

/// The conversation as Genesys returned it before the write: what a lagging read shows.
fn stale_read(h: &Harness) -> Value {
    h.sandbox
        .state()
        .conversation(CONV_A1)
        .expect("seeded conversation")
}

#[tokio::test]
async fn verify_reads_again_once_after_a_stale_read() {
    let h = Harness::start().await;
    let stale = stale_read(&h);
    h.sandbox.inject(
        Fault::new("GET", &format!("/api/v2/conversations/{CONV_A1}"))
            .statuses([200])
            .body(stale),
    );
    let started = Instant::now();
    let out = h.invoke(fixture("data-action-verify.json")).await.unwrap();
    assert_eq!(
        (out["verified"].clone(), out["verifyReason"].clone()),
        (json!(true), json!("")),
        "{out}"
    );
    assert_eq!(count(&h.journal(), "GET", "/api/v2/conversations/*"), 2);
    assert!(
        started.elapsed() >= h.opts.verify_retry_delay,
        "waited before the re-read"
    );
}

#[tokio::test]
async fn verify_false_when_a_value_differs_after_the_re_read() {
    let h = Harness::start().await;
    let mut stale = stale_read(&h);
    // Another writer's value for one key, twice in a row.
    for p in stale["participants"].as_array_mut().unwrap() {
        if p["id"] == CONV_A1_CUSTOMER {
            p["attributes"]["crm_tier"] = json!("bronze");
            p["attributes"]["sync_status"] = json!("synced");
        }
    }
    h.sandbox.inject(
        Fault::new("GET", &format!("/api/v2/conversations/{CONV_A1}"))
            .statuses([200, 200])
            .body(stale),
    );
    let out = h.invoke(fixture("data-action-verify.json")).await.unwrap();
    assert_eq!(out["verified"], false);
    assert_eq!(out["verifyReason"], "value differs for key crm_tier");
    assert_eq!(count(&h.journal(), "GET", "/api/v2/conversations/*"), 2);
}

#[tokio::test]
async fn verify_false_when_the_participant_is_not_in_the_conversation() {
    let h = Harness::start().await;
    let mut stale = stale_read(&h);
    stale["participants"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p["id"] != CONV_A1_CUSTOMER);
    h.sandbox.inject(
        Fault::new("GET", &format!("/api/v2/conversations/{CONV_A1}"))
            .statuses([200, 200])
            .body(stale),
    );
    let out = h.invoke(fixture("data-action-verify.json")).await.unwrap();
    assert_eq!(out["verified"], false);
    assert_eq!(out["verifyReason"], "participant not in conversation");
}

#[tokio::test]
async fn conversation_of_another_org_is_a_clear_404_and_nothing_of_that_org_is_touched() {
    let h = Harness::start().await;
    let before = h
        .sandbox
        .state()
        .participant_attributes(CONV_B1, CONV_B1_CUSTOMER)
        .unwrap();
    let event = json!({"orgId": ORG_A, "conversationId": CONV_B1, "participantId": CONV_B1_CUSTOMER,
                       "attributesJson": "{\"crm_tier\":\"gold\"}", "verify": true});
    let e = h
        .invoke(event)
        .await
        .expect_err("another org's conversation must not be written");
    assert_eq!(e.error_type, "Genesys.NotFound", "{e:?}");
    for part in [
        "404",
        ORG_A,
        "another org or region",
        CONV_B1,
        "mypurecloud.ie",
    ] {
        assert!(
            e.error_message.contains(part),
            "{:?} lacks {part:?}",
            e.error_message
        );
    }
    let j = h.journal();
    assert!(
        j.iter().all(|e| e.org_id.as_deref() == Some(ORG_A)),
        "only org A's credentials were used:\n{}",
        show(&j)
    );
    assert!(j.iter().all(|e| e.zendesk_subdomain.is_none()));
    assert_eq!(
        h.source.fetches_for(ORG_B),
        0,
        "org B's secret is never read"
    );
    assert_eq!(h.source.fetches_for(ORG_A), 1);
    assert_eq!(
        h.sandbox
            .state()
            .participant_attributes(CONV_B1, CONV_B1_CUSTOMER)
            .unwrap(),
        before
    );
}

/// Org A's config with the sandbox's limited OAuth client (no conversation:communication:view).
async fn limited_harness() -> Harness {
    Harness::start_with(|mem| {
        edit_org(mem, ORG_A, |doc| {
            doc["genesys"]["clientId"] = json!("acme-limited-client");
            doc["genesys"]["clientSecret"] = json!("acme-limited-secret-local");
        })
    })
    .await
}

#[tokio::test]
async fn missing_permission_is_named() {
    let h = limited_harness().await;
    // The write is allowed, the read-back is not: the error says which permission, and that
    // the write itself went through.
    let e = h
        .invoke(fixture("data-action-verify.json"))
        .await
        .expect_err("read-back needs a permission");
    assert_eq!(e.error_type, "Genesys.MissingPermission", "{e:?}");
    for part in [
        "403",
        "conversation:communication:view",
        "write itself was accepted",
        "acme-limited-client",
        ORG_A,
    ] {
        assert!(
            e.error_message.contains(part),
            "{:?} lacks {part:?}",
            e.error_message
        );
    }
    assert_eq!(matching(&h.journal(), "PATCH", ATTR_PATCH)[0].status, 202);

    // Without the attribute permission, the write itself is refused, naming it.
    h.sandbox.state().set_client_permissions(
        ORG_A,
        "acme-limited-client",
        vec!["externalContacts:contact:view".into()],
    );
    let e = h
        .invoke(fixture("data-action-attributes-json.json"))
        .await
        .expect_err("write needs a permission");
    assert_eq!(e.error_type, "Genesys.MissingPermission");
    assert!(
        e.error_message
            .contains(bridge_sandbox::ATTRIBUTES_PERMISSION),
        "{:?}",
        e.error_message
    );
}

#[tokio::test]
async fn rate_limit_with_retry_after_inside_the_deadline_succeeds() {
    let h = Harness::start().await;
    h.sandbox.inject(
        Fault::new("PATCH", ATTR_PATCH)
            .statuses([429])
            .retry_after(1),
    );
    let started = Instant::now();
    let out = h
        .invoke(fixture("data-action-attributes-json.json"))
        .await
        .expect("succeeds after the wait");
    assert_eq!(out["ok"], true);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let statuses: Vec<u16> = matching(&h.journal(), "PATCH", ATTR_PATCH)
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, vec![429, 202]);
}

#[tokio::test]
async fn rate_limit_beyond_the_deadline_fails_fast_and_says_so() {
    let h = Harness::start().await;
    h.sandbox.inject(
        Fault::new("PATCH", ATTR_PATCH)
            .statuses([429])
            .retry_after(30),
    );
    let started = Instant::now();
    let event = fixture("data-action-attributes-json.json");
    let ctx = data_action_ctx_with_deadline("attribute-writer", &event, Duration::from_secs(5));
    let e = attribute_writer::handle_with(&h.rt, &h.opts, event, ctx)
        .await
        .expect_err("a 30 s wait does not fit a 5 s invocation");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(e.error_type, "Genesys.RateLimited");
    assert!(
        e.error_message.contains("deadline"),
        "{:?}",
        e.error_message
    );
}

#[tokio::test]
async fn unknown_org_and_foreign_alias_are_refused_before_any_call() {
    let h = Harness::start().await;
    let e = h
        .invoke(with(
            fixture("data-action-attributes-json.json"),
            "orgId",
            json!("0e0e0e0e-0000-4000-8000-000000000000"),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Config.UnknownOrg");
    assert!(h.journal().is_empty());

    let mut ctx = ctx_with_deadline(Duration::from_secs(10));
    ctx.invoked_function_arn = format!(
        "arn:aws:lambda:eu-west-1:123456789012:function:bridge-attribute-writer:org-{ORG_B}"
    );
    let before = h.source.fetches();
    let e = attribute_writer::handle_with(
        &h.rt,
        &h.opts,
        fixture("data-action-attributes-json.json"),
        ctx,
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type, "Bridge.WrongOrg");
    assert_eq!(h.source.fetches(), before);
    assert!(h.journal().is_empty());
}

#[tokio::test]
async fn default_handler_entry_point_works() {
    let h = Harness::start().await;
    let event = fixture("data-action-attributes-json.json");
    let ctx = data_action_ctx("attribute-writer", &event);
    let out = attribute_writer::handle(&h.rt, event, ctx).await.unwrap();
    assert_eq!(out["written"], 2);
}

#[tokio::test]
async fn rotated_client_secret_is_reread_once_and_the_write_succeeds() {
    // The cached config holds a secret that was rotated away in Genesys; the secret store
    // already has the new one.
    let h = Harness::start_with(|mem| {
        edit_org(mem, ORG_A, |doc| {
            doc["genesys"]["clientSecret"] = json!("rotated-away-secret");
        })
    })
    .await;
    h.rt.orgs.get(ORG_A).await.unwrap();
    h.source
        .inner()
        .insert(ORG_A, example_org_for(ORG_A, &h.sandbox).to_string());
    let out = h
        .invoke(fixture("data-action-attributes-json.json"))
        .await
        .expect("the write succeeds with the new secret");
    assert_eq!(out["ok"], json!(true));
    assert_eq!(h.source.fetches_for(ORG_A), 2, "exactly one re-read");
    let j = h.journal();
    assert_eq!(
        j.iter()
            .filter(|e| e.path == "/oauth/token")
            .map(|e| e.status)
            .collect::<Vec<_>>(),
        vec![401, 200],
        "{}",
        show(&j)
    );
    assert_eq!(count(&j, "PATCH", ATTR_PATCH), 1);
}

#[tokio::test]
async fn numbers_are_written_exactly_or_refused_naming_the_key() {
    let h = Harness::start().await;
    // attributesJson is text the function parses itself: a number keeps its exact text.
    let event = with(
        fixture("data-action-verify.json"),
        "attributesJson",
        json!(r#"{"acct": 12345678901234567890123, "ratio": 2.50, "n": 7}"#),
    );
    let out = h.invoke(event).await.expect("written");
    assert_eq!(out["verified"], json!(true), "{out}");
    let stored = h
        .sandbox
        .state()
        .participant_attributes(CONV_A1, CONV_A1_CUSTOMER)
        .unwrap();
    assert_eq!(
        stored.get("acct").map(String::as_str),
        Some("12345678901234567890123")
    );
    assert_eq!(stored.get("ratio").map(String::as_str), Some("2.50"));
    assert_eq!(stored.get("n").map(String::as_str), Some("7"));

    // An `attributes` object arrives parsed: a number that may have lost precision is
    // refused, naming the key, before any call.
    h.sandbox.clear_journal();
    let mut event: Value = serde_json::from_str(
        r#"{"attributes": {"tier": "gold", "acct": 12345678901234567890123}}"#,
    )
    .unwrap();
    for (k, v) in fixture("data-action-attributes-object.json")
        .as_object()
        .unwrap()
    {
        if k != "attributes" {
            event[k] = v.clone();
        }
    }
    let e = h.invoke(event).await.expect_err("refused");
    assert_eq!(e.error_type, "Input.InvalidInput", "{e:?}");
    assert!(e.error_message.contains("`attributes.acct`"), "{e:?}");
    assert!(h.journal().is_empty(), "{}", show(&h.journal()));
}

#[tokio::test]
async fn attribute_names_with_control_characters_are_refused() {
    let h = Harness::start().await;
    let base = fixture("data-action-attributes-object.json");
    for key in ["a\u{0}b", "tab\tkey", "line\nkey", "del\u{7f}", "c1\u{85}"] {
        let e = h
            .invoke(with(base.clone(), "attributes", json!({key: "x"})))
            .await
            .expect_err(key);
        assert_eq!(e.error_type, "Input.InvalidInput", "{key:?}: {e:?}");
        assert!(e.error_message.contains("control character"), "{e:?}");
    }
    // Values may hold line breaks and tabs.
    h.invoke(with(
        base,
        "attributes",
        json!({"note": "line 1\n\tline 2"}),
    ))
    .await
    .expect("values may hold newlines and tabs");
    let j = h.journal();
    assert_eq!(count(&j, "PATCH", ATTR_PATCH), 1, "{}", show(&j));
}

#[tokio::test]
async fn a_config_error_never_reaches_the_flow_with_a_secret() {
    let h = Harness::start_with(|mem| {
        edit_org(mem, ORG_A, |doc| {
            doc["webhook"] = json!("LEAKME-shared-secret-0123456789abcdef");
        })
    })
    .await;
    let e = h
        .invoke(fixture("data-action-attributes-json.json"))
        .await
        .expect_err("an invalid config fails the action");
    assert_eq!(e.error_type, "Config.InvalidConfig", "{e:?}");
    assert!(e.error_message.contains("`webhook`"), "{e:?}");
    assert!(!e.error_message.contains("LEAKME"), "{e:?}");
}

#[tokio::test]
async fn a_huge_attribute_key_is_echoed_only_as_a_preview() {
    let h = Harness::start().await;
    let (logs, _guard) = bridge_testkit::capture_logs();
    let key = "K".repeat(120 * 1024);
    let e = h
        .invoke(with(
            fixture("data-action-attributes-object.json"),
            "attributes",
            json!({key: "v"}),
        ))
        .await
        .expect_err("over maxKeyChars");
    assert_eq!(e.error_type, "Input.InvalidInput");
    assert!(
        e.error_message.contains("`attributes.KKK"),
        "{}",
        &e.error_message[..200]
    );
    assert!(
        e.error_message.len() < 1024,
        "{} bytes",
        e.error_message.len()
    );
    let longest = logs.text().lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 4096, "a log line of {longest} bytes");
    assert!(h.journal().is_empty());
}

/// The issue's first reproduction, for this function: an admin of org A edits the request
/// template to name org B. Only an invocation through org B's own alias may act for B.
#[tokio::test]
async fn only_the_org_of_the_invoked_alias_is_served() {
    let h = Harness::start().await;
    let mut event = fixture("data-action-attributes-json.json");
    event["orgId"] = json!(ORG_B);
    event["conversationId"] = json!(CONV_B1);
    event["participantId"] = json!(CONV_B1_CUSTOMER);
    let invoke = |arn: String| {
        let mut ctx = ctx_with_deadline(Duration::from_secs(10));
        ctx.invoked_function_arn = arn;
        attribute_writer::handle_with(&h.rt, &h.opts, event.clone(), ctx)
    };
    let unqualified =
        "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-attribute-writer";
    for (arn, error_type) in [
        // No alias: refused, naming the alias to use.
        (unqualified.to_string(), "Bridge.OrgAliasRequired"),
        (format!("{unqualified}:{ORG_B}"), "Bridge.OrgAliasRequired"),
        (format!("{unqualified}:7"), "Bridge.OrgAliasRequired"),
        // cargo-lambda's local emulator.
        ("function-arn".to_string(), "Bridge.OrgAliasRequired"),
        // Org A's alias, naming org B.
        (org_alias_arn("attribute-writer", ORG_A), "Bridge.WrongOrg"),
    ] {
        let e = invoke(arn.clone()).await.unwrap_err();
        assert_eq!(e.error_type, error_type, "{arn}: {}", e.error_message);
        if error_type == "Bridge.OrgAliasRequired" {
            assert!(
                e.error_message.contains(&format!(":org-{ORG_B}")),
                "names the alias to use: {}",
                e.error_message
            );
        }
    }
    // Refused before any secret was read or any call made; org B's participant untouched.
    assert_eq!(h.source.fetches(), 0);
    assert!(h.journal().is_empty(), "{}", show(&h.journal()));
    assert_eq!(
        h.sandbox
            .state()
            .participant_attributes(CONV_B1, CONV_B1_CUSTOMER)
            .unwrap()
            .get("crm_tier"),
        None
    );
    // Org B's own alias serves org B, with org B's credentials only.
    let out = invoke(org_alias_arn("attribute-writer", ORG_B))
        .await
        .unwrap();
    assert_eq!(out["written"], 2);
    assert_eq!(
        (h.source.fetches_for(ORG_A), h.source.fetches_for(ORG_B)),
        (0, 1)
    );
}

#[tokio::test]
async fn a_single_org_deployment_needs_no_alias_and_serves_no_other_org() {
    let mut h = Harness::start().await;
    h.orgs.rt.data_action_orgs = bridge::tenancy::DataActionOrgs::SingleOrg(ORG_A.into());
    let run = |event: Value, arn: &str| {
        let mut ctx = ctx_with_deadline(Duration::from_secs(10));
        ctx.invoked_function_arn = arn.to_string();
        attribute_writer::handle_with(&h.rt, &h.opts, event, ctx)
    };
    // cargo-lambda's emulator invokes "function-arn": fine for the one org.
    let out = run(fixture("data-action-attributes-json.json"), "function-arn")
        .await
        .unwrap();
    assert_eq!(out["written"], 2);
    let mut other = fixture("data-action-attributes-json.json");
    other["orgId"] = json!(ORG_B);
    other["conversationId"] = json!(CONV_B1);
    other["participantId"] = json!(CONV_B1_CUSTOMER);
    for arn in ["function-arn", &org_alias_arn("attribute-writer", ORG_B)] {
        let e = run(other.clone(), arn).await.unwrap_err();
        assert_eq!(e.error_type, "Bridge.WrongOrg", "{arn}");
        assert!(
            e.error_message.contains("BRIDGE_SINGLE_ORG_ID"),
            "{}",
            e.error_message
        );
    }
    assert_eq!(h.source.fetches_for(ORG_B), 0);
}
