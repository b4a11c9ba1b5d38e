//! SQS job batches through the public handler against the sandbox over HTTP: merging,
//! partial batch failures, enrichment, contact fields.

mod common;

use std::collections::BTreeSet;

use bridge_sandbox::{count, matching, Fault};
use bridge_testkit::ids::*;
use bridge_testkit::{edit_org, show};
use common::*;
use serde_json::{json, Value};

const M: [&str; 5] = [
    "0a1b2c3d-0001-4000-8000-000000000001",
    "0a1b2c3d-0002-4000-8000-000000000002",
    "0a1b2c3d-0003-4000-8000-000000000003",
    "0a1b2c3d-0004-4000-8000-000000000004",
    "0a1b2c3d-0005-4000-8000-000000000005",
];

/// An SQS event shaped like the fixture, holding these (message id, body) records.
fn sqs(records: &[(&str, Value)]) -> Value {
    let template = fixture("sqs-batch.json")["Records"][0].clone();
    let recs: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(id);
            r["body"] = json!(body.to_string());
            r
        })
        .collect();
    json!({ "Records": recs })
}

fn job(org: &str, kind: &str, payload: Value) -> Value {
    json!({"v": 1, "jobId": "evt-t:0", "orgId": org, "eventId": "evt-t", "createdAt": "2026-11-21T10:00:00Z",
           "kind": kind, "payload": payload})
}

fn attrs_job(org: &str, conv: &str, part: &str, attrs: Value) -> Value {
    job(
        org,
        "participant.attributes",
        json!({"conversationId": conv, "participantId": part, "attributes": attrs}),
    )
}

fn failures(out: &Value) -> BTreeSet<String> {
    out["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a batch response: {out}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn one_patch_per_participant_merged_in_record_order() {
    let h = Harness::start().await;
    let out = h
        .invoke(fixture("sqs-batch.json"))
        .await
        .expect("batch succeeds");
    assert_eq!(out, json!({"batchItemFailures": []}));

    let j = h.journal();
    let patches = matching(&j, "PATCH", ATTR_PATCH);
    assert_eq!(patches.len(), 2, "one PATCH per participant:\n{}", show(&j));
    let body_for = |conv: &str, part: &str| {
        let path = format!("/api/v2/conversations/{conv}/participants/{part}/attributes");
        let hits: Vec<_> = patches.iter().filter(|e| e.path == path).collect();
        assert_eq!(hits.len(), 1, "{path}\n{}", show(&j));
        hits[0].body.clone().unwrap()
    };
    // Jobs 1 and 3 merged; job 3 came later and wins `crm_tier`.
    assert_eq!(
        body_for(CONV_A1, CONV_A1_CUSTOMER),
        json!({"attributes": {"crm_tier": "gold", "sync_status": "pending", "crm_id": "A-1001"}})
    );
    // Job 2 and the enrich job 5 merged: the caller's address (+15551230003) is Sam Lee in
    // Zendesk `acme`, whose newest open ticket is 1005.
    assert_eq!(
        body_for(CONV_A2, CONV_A2_CUSTOMER),
        json!({"attributes": {"crm_tier": "bronze", "zendesk_user_id": "361102", "zendesk_user_name": "Sam Lee", "zendesk_ticket_id": "1005"}})
    );
    // contact.fields: the field-level PATCH with `changes`, never a PUT.
    let contact = matching(&j, "PATCH", "/api/v2/externalcontacts/contacts/*");
    assert_eq!(contact.len(), 1);
    assert_eq!(
        contact[0].path,
        format!("/api/v2/externalcontacts/contacts/{CONTACT_A1}")
    );
    assert_eq!(
        contact[0].body,
        Some(
            json!({"changes": [{"field": "$.customFields.tier_text", "value": "gold", "action": "Update"}]})
        )
    );
    assert_eq!(count(&j, "PUT", "/api/v2/**"), 0);
    let c = h.sandbox.state().contact(ORG_A, CONTACT_A1).unwrap();
    assert_eq!(c["customFields"]["tier_text"], "gold");
    // Enrichment used org A's Zendesk only, and read the conversation once for the address.
    assert!(j
        .iter()
        .filter(|e| e.zendesk_subdomain.is_some())
        .all(|e| e.zendesk_subdomain.as_deref() == Some("acme")));
    assert_eq!(
        count(&j, "GET", "/zendesk/acme/api/v2/users/search.json"),
        1
    );
    assert_eq!(
        count(&j, "GET", &format!("/api/v2/conversations/{CONV_A2}")),
        1
    );
    assert_eq!(h.source.fetches_for(ORG_B), 0);
    let stored = h
        .sandbox
        .state()
        .participant_attributes(CONV_A2, CONV_A2_CUSTOMER)
        .unwrap();
    assert_eq!(
        stored.get("zendesk_ticket_id").map(String::as_str),
        Some("1005")
    );
}

#[tokio::test]
async fn a_poisoned_job_fails_alone() {
    let h = Harness::start().await;
    let out = h
        .invoke(fixture("sqs-batch-poisoned.json"))
        .await
        .expect("partial failure is not an invocation error");
    assert_eq!(
        failures(&out),
        set(&["1b2c3d4e-0002-4000-8000-000000000002"])
    );
    let j = h.journal();
    let patches = matching(&j, "PATCH", ATTR_PATCH);
    assert_eq!(patches.len(), 2, "{}", show(&j));
    assert!(patches
        .iter()
        .all(|p| p.body == Some(json!({"attributes": {"sync_status": "synced"}}))));
}

#[tokio::test]
async fn a_failed_merged_patch_fails_every_contributing_message() {
    let h = Harness::start().await;
    let path =
        format!("/api/v2/conversations/{CONV_A1}/participants/{CONV_A1_CUSTOMER}/attributes");
    h.sandbox
        .inject(Fault::new("PATCH", &path).statuses([503, 503, 503, 503]));
    let out = h.invoke(fixture("sqs-batch.json")).await.unwrap();
    assert_eq!(
        failures(&out),
        set(&[M[0], M[2]]),
        "jobs 1 and 3 made the failed PATCH"
    );
    // The other participant's write and the contact change went through.
    let j = h.journal();
    assert_eq!(
        matching(&j, "PATCH", ATTR_PATCH)
            .iter()
            .filter(|e| e.status == 202)
            .count(),
        1,
        "{}",
        show(&j)
    );
    assert_eq!(count(&j, "PATCH", "/api/v2/externalcontacts/contacts/*"), 1);
}

#[tokio::test]
async fn permanent_failures_are_reported_so_they_reach_the_dlq() {
    let h = Harness::start().await;
    let mut v2 = attrs_job(ORG_A, CONV_A1, CONV_A1_CUSTOMER, json!({"a": "1"}));
    v2["v"] = json!(2);
    let wrapup = job(
        ORG_A,
        "ticket.wrapup",
        json!({"conversationId": CONV_A1, "participantId": CONV_A1_AGENT, "eventTimeMs": 1}),
    );
    let too_long = attrs_job(
        ORG_A,
        CONV_A1,
        CONV_A1_CUSTOMER,
        json!({"note": "x".repeat(2001)}),
    );
    let empty = attrs_job(ORG_A, CONV_A1, CONV_A1_CUSTOMER, json!({}));
    let bad_contact = job(
        ORG_A,
        "contact.fields",
        json!({"contactId": "jane", "changes": [{"field": "$.customFields.tier_text", "value": "gold", "action": "Update"}]}),
    );
    let unknown_org = attrs_job(
        "0e0e0e0e-0000-4000-8000-000000000000",
        CONV_A1,
        CONV_A1_CUSTOMER,
        json!({"a": "1"}),
    );
    let good = attrs_job(
        ORG_A,
        CONV_A2,
        CONV_A2_CUSTOMER,
        json!({"sync_status": "synced"}),
    );
    let out = h
        .invoke(sqs(&[
            ("v2", v2),
            ("wrapup", wrapup),
            ("too-long", too_long),
            ("empty", empty),
            ("bad-contact", bad_contact),
            ("unknown-org", unknown_org),
            ("not-json", json!("{")),
            ("good", good),
        ]))
        .await
        .unwrap();
    assert_eq!(
        failures(&out),
        set(&[
            "v2",
            "wrapup",
            "too-long",
            "empty",
            "bad-contact",
            "unknown-org",
            "not-json"
        ])
    );
    let j = h.journal();
    let patches = matching(&j, "PATCH", "/api/v2/**");
    assert_eq!(
        patches.len(),
        1,
        "only the good job reached Genesys:\n{}",
        show(&j)
    );
    assert_eq!(
        patches[0].path,
        format!("/api/v2/conversations/{CONV_A2}/participants/{CONV_A2_CUSTOMER}/attributes")
    );
}

#[tokio::test]
async fn a_batch_where_every_job_failed_is_an_invocation_error_with_the_reason() {
    let h = Harness::start().await;
    let e = h
        .invoke(sqs(&[
            ("m1", attrs_job(ORG_A, CONV_A1, "12345", json!({"a": "1"}))),
            (
                "m2",
                attrs_job(
                    ORG_A,
                    CONV_A1,
                    CONV_A1_CUSTOMER,
                    json!({"k".repeat(129): "1"}),
                ),
            ),
        ]))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Input.InvalidInput");
    assert!(
        e.error_message
            .contains("every job of the batch failed (2 of 2)"),
        "{}",
        e.error_message
    );
    assert!(
        e.error_message.contains("participantId"),
        "{}",
        e.error_message
    );
    assert!(h.journal().is_empty());
}

#[tokio::test]
async fn enrichment_disabled_or_no_match_writes_nothing_and_is_not_an_error() {
    let h = Harness::start().await;
    // Globex's config has no enrichment rules: disabled by default.
    let globex = job(
        ORG_B,
        "participant.enrich",
        json!({"conversationId": CONV_B2, "participantId": CONV_B2_CUSTOMER}),
    );
    // Nobody in Zendesk `acme` has this number.
    let nobody = job(
        ORG_A,
        "participant.enrich",
        json!({"conversationId": CONV_A1, "participantId": CONV_A1_CUSTOMER, "phone": "+1 555 000 0000"}),
    );
    // By email, given in the job: Jane Doe, newest open ticket 1001.
    let jane = job(
        ORG_A,
        "participant.enrich",
        json!({"conversationId": CONV_A2, "participantId": CONV_A2_CUSTOMER, "email": "Jane.Doe@example.com"}),
    );
    let out = h
        .invoke(sqs(&[
            ("globex", globex),
            ("nobody", nobody),
            ("jane", jane),
        ]))
        .await
        .unwrap();
    assert_eq!(failures(&out), set(&[]));
    let j = h.journal();
    assert!(
        j.iter()
            .all(|e| e.zendesk_subdomain.as_deref() != Some("globex")),
        "{}",
        show(&j)
    );
    assert!(j.iter().all(|e| !e.path.contains(CONV_B2)), "{}", show(&j));
    assert_eq!(
        count(&j, "GET", "/zendesk/acme/api/v2/users/search.json"),
        2
    );
    let patches = matching(&j, "PATCH", ATTR_PATCH);
    assert_eq!(patches.len(), 1, "{}", show(&j));
    assert_eq!(
        patches[0].body,
        Some(
            json!({"attributes": {"zendesk_user_id": "361101", "zendesk_user_name": "Jane Doe", "zendesk_ticket_id": "1001"}})
        )
    );
}

#[tokio::test]
async fn a_job_for_another_orgs_conversation_fails_with_404_and_touches_nothing_of_it() {
    let h = Harness::start().await;
    let before = h
        .sandbox
        .state()
        .participant_attributes(CONV_B1, CONV_B1_CUSTOMER)
        .unwrap();
    let out = h
        .invoke(sqs(&[
            (
                "foreign",
                attrs_job(
                    ORG_A,
                    CONV_B1,
                    CONV_B1_CUSTOMER,
                    json!({"crm_tier": "gold"}),
                ),
            ),
            (
                "own",
                attrs_job(
                    ORG_A,
                    CONV_A1,
                    CONV_A1_CUSTOMER,
                    json!({"crm_tier": "gold"}),
                ),
            ),
        ]))
        .await
        .unwrap();
    assert_eq!(failures(&out), set(&["foreign"]));
    let j = h.journal();
    assert!(
        j.iter().all(|e| e.org_id.as_deref() == Some(ORG_A)),
        "{}",
        show(&j)
    );
    assert_eq!(h.source.fetches_for(ORG_B), 0);
    assert_eq!(
        h.sandbox
            .state()
            .participant_attributes(CONV_B1, CONV_B1_CUSTOMER)
            .unwrap(),
        before
    );
}

#[tokio::test]
async fn contact_fields_without_the_permission_fail_that_job_only() {
    let h = Harness::start_with(|mem| {
        edit_org(mem, ORG_A, |doc| {
            doc["genesys"]["clientId"] = json!("acme-limited-client");
            doc["genesys"]["clientSecret"] = json!("acme-limited-secret-local");
        })
    })
    .await;
    let contact = job(
        ORG_A,
        "contact.fields",
        json!({"contactId": CONTACT_A1, "changes": [{"field": "$.customFields.tier_text", "value": "gold", "action": "Update"}]}),
    );
    let out = h
        .invoke(sqs(&[
            ("contact", contact),
            (
                "attrs",
                attrs_job(ORG_A, CONV_A1, CONV_A1_CUSTOMER, json!({"a": "1"})),
            ),
        ]))
        .await
        .unwrap();
    assert_eq!(failures(&out), set(&["contact"]));
    let j = h.journal();
    let c = matching(&j, "PATCH", "/api/v2/externalcontacts/contacts/*");
    assert_eq!(
        c.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![403],
        "403 is not retried"
    );
    assert_eq!(
        h.sandbox.state().contact(ORG_A, CONTACT_A1).unwrap()["customFields"]["tier_text"],
        "silver"
    );

    // Alone in a batch, the same job makes the invocation fail, and the error names the permission.
    let contact = job(
        ORG_A,
        "contact.fields",
        json!({"contactId": CONTACT_A1, "changes": [{"field": "$.customFields.tier_text", "value": "gold", "action": "Update"}]}),
    );
    let e = h.invoke(sqs(&[("contact", contact)])).await.unwrap_err();
    assert_eq!(e.error_type, "Genesys.MissingPermission");
    assert!(
        e.error_message.contains("externalContacts:contact:edit"),
        "{}",
        e.error_message
    );
}

#[tokio::test]
async fn a_warm_single_job_batch_is_one_upstream_call() {
    let h = Harness::start().await;
    let one = |v: &str| {
        sqs(&[(
            "m",
            attrs_job(ORG_A, CONV_A1, CONV_A1_CUSTOMER, json!({"sync_status": v})),
        )])
    };
    h.invoke(one("pending")).await.unwrap();
    let (fetches, tokens) = (h.source.fetches(), h.rt.genesys.tokens_issued());
    h.sandbox.clear_journal();
    let out = h.invoke(one("synced")).await.unwrap();
    assert_eq!(failures(&out), set(&[]));
    let j = h.journal();
    assert_eq!(j.len(), 1, "{}", show(&j));
    assert!(j[0].matches("PATCH", ATTR_PATCH));
    assert_eq!(
        (h.source.fetches(), h.rt.genesys.tokens_issued()),
        (fetches, tokens)
    );
}

#[tokio::test]
async fn merged_sets_over_the_orgs_key_limit_are_split() {
    let h = Harness::start_with(|mem| {
        edit_org(mem, ORG_A, |doc| {
            doc["rules"]["attributeLimits"]["maxKeys"] = json!(2);
        })
    })
    .await;
    let out = h
        .invoke(sqs(&[
            (
                "m1",
                attrs_job(
                    ORG_A,
                    CONV_A1,
                    CONV_A1_CUSTOMER,
                    json!({"a": "1", "b": "2"}),
                ),
            ),
            (
                "m2",
                attrs_job(ORG_A, CONV_A1, CONV_A1_CUSTOMER, json!({"c": "3"})),
            ),
        ]))
        .await
        .unwrap();
    assert_eq!(failures(&out), set(&[]));
    let bodies: Vec<Value> = matching(&h.journal(), "PATCH", ATTR_PATCH)
        .iter()
        .map(|e| e.body.clone().unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!({"attributes": {"a": "1", "b": "2"}}),
            json!({"attributes": {"c": "3"}})
        ]
    );
}

#[tokio::test]
async fn records_that_are_not_sqs_are_refused() {
    let h = Harness::start().await;
    let e = h
        .invoke(json!({"Records": [{"eventSource": "aws:sns", "Sns": {}}]}))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Input.InvalidInput");
    assert!(e.error_message.contains("Records"));
}
