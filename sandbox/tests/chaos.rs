//! Faults at a rate (chaos runs), over real HTTP: every kind shows up, the journal says
//! which request got which, a 429 carries Retry-After, and a fault "after apply" changed
//! the state although the client never saw the answer.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bridge_sandbox::{ChaosConfig, ChaosFault};
use bridge_testkit::ids::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn every_request_gets_a_fault_at_rate_one_and_the_journal_says_which() {
    let h = start().await;
    h.sandbox.set_chaos(Some(
        ChaosConfig::new(7, 1.0).stall(Duration::from_millis(50)),
    ));
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let mut applied_puts = 0;
    for n in 0..60 {
        let update = json!({"ticket": {"comment": {"body": format!("note {n}"), "public": false}}});
        let req = h.zd_basic(
            h.http
                .put(h.zd("acme", "/api/v2/tickets/1001.json"))
                .json(&update),
            ZENDESK_TOKEN_A,
        );
        let answer = req.send().await;
        let entry = h.sandbox.journal().pop().unwrap();
        let fault = entry
            .fault
            .clone()
            .expect("rate 1.0: every request gets one");
        *seen.entry(fault.clone()).or_default() += 1;
        match fault.as_str() {
            "429" => {
                let r = answer.unwrap();
                assert_eq!(r.status(), 429);
                assert_eq!(r.headers()["retry-after"], "1");
            }
            "500" | "503" => assert_eq!(answer.unwrap().status().as_str(), fault),
            "dropped" | "dropped-after-apply" | "timeout" | "timeout-after-apply" => {
                // No complete answer, whatever the status line said.
                let failed = match answer {
                    Err(_) => true,
                    Ok(r) => r.bytes().await.is_err(),
                };
                assert!(failed, "{fault}: the client must not get an answer");
            }
            "409-conflict" => {
                // An unsafe update does not care that the ticket changed just before.
                assert_eq!(answer.unwrap().status(), 200);
            }
            other => panic!("unknown fault {other}"),
        }
        if ["dropped-after-apply", "timeout-after-apply", "409-conflict"].contains(&fault.as_str())
        {
            applied_puts += 1;
            assert_eq!(
                entry.status, 200,
                "{fault}: handled, only the answer is lost"
            );
        }
    }
    let comments = h.sandbox.state().ticket_comments("acme", 1001).len();
    assert_eq!(
        comments, applied_puts,
        "faults after apply changed the ticket: {seen:?}"
    );
    assert!(seen.len() >= 6, "{seen:?}");
    let counted: u64 = h.sandbox.chaos_injected().values().sum();
    assert_eq!(counted, 60);
}

#[tokio::test]
async fn a_seed_injects_the_same_faults_and_rate_zero_none() {
    let run = |seed| async move {
        let h = start().await;
        h.sandbox.set_chaos(Some(
            ChaosConfig::new(seed, 0.5).stall(Duration::from_millis(10)),
        ));
        for _ in 0..40 {
            let _ = h.http.get(h.url("/api/v2/organizations/me")).send().await;
        }
        h.sandbox
            .journal()
            .into_iter()
            .map(|e| e.fault)
            .collect::<Vec<_>>()
    };
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    assert_ne!(a, run(43).await);
    let hits = a.iter().filter(|f| f.is_some()).count();
    assert!((8..=32).contains(&hits), "{hits} of 40 at rate 0.5");

    let h = start().await;
    h.sandbox.set_chaos(Some(ChaosConfig::new(1, 0.0)));
    for _ in 0..20 {
        let r = h
            .http
            .get(h.url("/api/v2/organizations/me"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "no fault, the real answer (no token)");
    }
    assert!(h.sandbox.chaos_injected().is_empty());
    assert!(ChaosFault::ALL.iter().all(|f| !f.name().is_empty()));
}

/// A rule can lose answers too; a ticket creation repeated with the same Idempotency-Key
/// gets the first answer and creates nothing more.
#[tokio::test]
async fn a_lost_creation_repeated_with_its_idempotency_key_creates_one_ticket() {
    use bridge_sandbox::Fault;
    let h = start().await;
    let url = h.zd("globex", "/api/v2/tickets.json");
    let create = |key: &str, subject: &str| {
        h.zd_basic(h.http.post(&url), ZENDESK_TOKEN_B)
            .header("idempotency-key", key)
            .json(
                &json!({"ticket": {"subject": subject, "via_followup_source_id": 2002,
                                      "comment": {"body": "follow-up", "public": false}}}),
            )
            .send()
    };
    h.sandbox
        .inject(Fault::new("POST", "/zendesk/*/api/v2/tickets.json").lose_answers(1));
    let lost = create("k-1", "Follow-up").await;
    let lost = match lost {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(lost, "the first answer is lost");
    let entry = h.sandbox.journal().pop().unwrap();
    assert_eq!(
        (entry.status, entry.fault.as_deref()),
        (201, Some("dropped-after-apply"))
    );
    assert!(h.sandbox.chaos_injected().is_empty(), "rules are not chaos");

    let again = create("k-1", "Follow-up").await.unwrap();
    assert_eq!(again.headers()["x-idempotency-lookup"], "hit");
    let (status, first) = body(again).await;
    assert_eq!(status, 201);
    let id = first["ticket"]["id"].as_u64().unwrap();
    assert!(
        h.sandbox.state().ticket("globex", id + 1).is_none(),
        "one ticket"
    );

    // Another body under the same key is refused; another key creates another ticket.
    let (status, e) = body(create("k-1", "Something else").await.unwrap()).await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["error"], "IdempotentRequestError");
    let other = create("k-2", "Follow-up").await.unwrap();
    assert_eq!(other.headers()["x-idempotency-lookup"], "miss");
    assert_eq!(body(other).await.1["ticket"]["id"], id + 1);
}
