//! `bridge dlq replay` against the AWS emulator: dry run changes nothing, --max bounds the
//! move, the target defaults to the DLQ's source queue, and a message is deleted from the
//! DLQ only after it was sent.

mod common;

use std::collections::BTreeSet;

use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use bridge_testkit::ids::ORG_A;
use common::*;
use serde_json::{json, Value};

async fn client() -> Client {
    Client::new(&bridge_testkit::aws_test_config().await)
}

async fn queue(c: &Client, name: &str, attrs: &[(QueueAttributeName, String)]) -> String {
    let mut req = c.create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(k.clone(), v.clone());
    }
    req.send()
        .await
        .expect("create queue")
        .queue_url()
        .unwrap()
        .to_string()
}

async fn arn(c: &Client, url: &str) -> String {
    c.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

/// Messages in the queue, visible or not.
async fn depth(c: &Client, url: &str) -> usize {
    let out = c
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let a = out.attributes().unwrap();
    let n = |k: QueueAttributeName| a.get(&k).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    n(QueueAttributeName::ApproximateNumberOfMessages)
        + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
}

/// Receives everything visible (and deletes it), returning the bodies.
async fn drain(c: &Client, url: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    loop {
        let r = c
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if r.messages().is_empty() {
            return out;
        }
        for m in r.messages() {
            out.insert(m.body().unwrap().to_string());
            c.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

fn job(n: usize) -> String {
    json!({
        "v": 1, "jobId": format!("evt-{n}:0"), "orgId": ORG_A, "eventId": format!("evt-{n}"),
        "createdAt": "2025-03-03T09:20:00Z", "kind": "participant.attributes",
        "payload": {"conversationId": "c0a00001-0000-4000-8000-000000000000",
                    "participantId": "c0a00001-0000-4000-8000-00000000c001",
                    "attributes": {"n": n.to_string()}}
    })
    .to_string()
}

async fn run(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let env = aws_env();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bridge(&args, &with_env(&env))
    })
    .await
    .unwrap()
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn replay_moves_dead_letters_back_to_their_queue() {
    let c = client().await;
    let dlq = queue(&c, &bridge_testkit::unique_name("cli-dlq"), &[]).await;
    let redrive =
        json!({"deadLetterTargetArn": arn(&c, &dlq).await, "maxReceiveCount": "3"}).to_string();
    let source = queue(
        &c,
        &bridge_testkit::unique_name("cli-src"),
        &[(QueueAttributeName::RedrivePolicy, redrive)],
    )
    .await;
    let mut sent = BTreeSet::new();
    for body in [job(1), job(2), job(3), "not a job envelope".to_string()] {
        c.send_message()
            .queue_url(&dlq)
            .message_body(&body)
            .send()
            .await
            .unwrap();
        sent.insert(body);
    }

    // Dry run: lists, moves nothing, gives the messages back at once.
    let o = run(args(&["dlq", "replay", "--queue", &dlq, "--dry-run"])).await;
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("dry run: 4 message(s) would be moved") && text.contains(&source),
        "{text}"
    );
    assert!(
        text.contains("participant.attributes") && text.contains("job evt-2:0"),
        "{text}"
    );
    assert!(text.contains("(not a job envelope)"), "{text}");
    assert_eq!(depth(&c, &source).await, 0);
    assert_eq!(depth(&c, &dlq).await, 4);

    // --max 2, explicit target.
    let o = run(args(&[
        "dlq", "replay", "--queue", &dlq, "--to", &source, "--max", "2", "--json",
    ]))
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).expect("--json summary");
    assert_eq!(summary["moved"], 2);
    assert_eq!(summary["failed"], 0);
    assert_eq!(depth(&c, &source).await, 2);
    assert_eq!(depth(&c, &dlq).await, 2);
    assert!(
        stderr(&o).contains("moving"),
        "progress on stderr: {}",
        stderr(&o)
    );

    // The rest, target taken from the redrive policy.
    let o = run(args(&["dlq", "replay", "--queue", &dlq])).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("moved 2 message(s)"), "{}", stdout(&o));
    assert_eq!(depth(&c, &dlq).await, 0);
    assert_eq!(
        drain(&c, &source).await,
        sent,
        "every message arrived once, unchanged"
    );

    // An empty DLQ is fine.
    let o = run(args(&["dlq", "replay", "--queue", &dlq])).await;
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("moved 0 message(s)"));
}

#[tokio::test]
async fn a_message_that_cannot_be_sent_stays_in_the_dlq() {
    let c = client().await;
    let dlq = queue(&c, &bridge_testkit::unique_name("cli-dlq"), &[]).await;
    // The target takes at most 1 KiB: the big message's send fails.
    let target = queue(
        &c,
        &bridge_testkit::unique_name("cli-small"),
        &[(QueueAttributeName::MaximumMessageSize, "1024".into())],
    )
    .await;
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(2000));
    c.send_message()
        .queue_url(&dlq)
        .message_body(&big)
        .send()
        .await
        .unwrap();
    c.send_message()
        .queue_url(&dlq)
        .message_body(job(7))
        .send()
        .await
        .unwrap();

    let o = run(args(&["dlq", "replay", "--queue", &dlq, "--to", &target])).await;
    let text = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed send fails the run: {text}{}",
        stderr(&o)
    );
    assert!(
        text.contains("send failed, left in the DLQ") && text.contains("1 failed"),
        "{text}"
    );
    assert!(text.contains("moved 1 message(s)"), "{text}");
    assert_eq!(
        depth(&c, &dlq).await,
        1,
        "the unsent message was not deleted"
    );
    assert_eq!(drain(&c, &target).await, BTreeSet::from([job(7)]));
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let c = client().await;
    let dlq = queue(&c, &bridge_testkit::unique_name("cli-dlq"), &[]).await;
    // No queue names this DLQ, and no --to.
    let o = run(args(&["dlq", "replay", "--queue", &dlq])).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--to"), "{}", stderr(&o));
    // A target that does not exist.
    let missing = dlq.replace("cli-dlq", "cli-missing");
    let o = run(args(&["dlq", "replay", "--queue", &dlq, "--to", &missing])).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run(args(&["dlq", "replay", "--queue", &dlq, "--to", &dlq])).await;
    assert_eq!(o.status.code(), Some(2));
    let o = run(args(&[
        "dlq", "replay", "--queue", &dlq, "--to", "x", "--max", "0",
    ]))
    .await;
    assert_eq!(o.status.code(), Some(2));
}

#[tokio::test]
async fn a_message_that_may_have_been_sent_is_only_resent_when_asked() {
    use bridge::jobs::{Job, JobEnvelope};
    use bridge::queue::{
        DeadLetters, SqsDeadLetters, CONVERSATION_ATTRIBUTE, MAY_HAVE_BEEN_SENT, OUTCOME_ATTRIBUTE,
        REASON_ATTRIBUTE,
    };
    let c = client().await;
    let dlq = queue(&c, &bridge_testkit::unique_name("cli-msg-dlq"), &[]).await;
    let target = queue(&c, &bridge_testkit::unique_name("cli-msg"), &[]).await;
    let conv = "c0a00001-0000-4000-8000-000000000000";
    let message = JobEnvelope::from_json(
        &json!({"v": 1, "jobId": "evt-m:0", "orgId": ORG_A, "eventId": "evt-m",
                "createdAt": "2025-03-03T09:20:00Z", "kind": "message.agentless",
                "payload": {"template": "missed-call", "conversationId": conv}})
        .to_string(),
    )
    .unwrap();
    // As the worker dead-letters it.
    SqsDeadLetters::new(c.clone(), &dlq)
        .put(
            &message,
            &[
                (OUTCOME_ATTRIBUTE, MAY_HAVE_BEEN_SENT.to_string()),
                (REASON_ATTRIBUTE, "Genesys answered 504".to_string()),
                (CONVERSATION_ATTRIBUTE, conv.to_string()),
            ],
        )
        .await
        .unwrap();
    c.send_message()
        .queue_url(&dlq)
        .message_body(job(8))
        .send()
        .await
        .unwrap();

    // Without the flag: the ordinary job moves, the message stays, and the run says why.
    let o = run(args(&["dlq", "replay", "--queue", &dlq, "--to", &target])).await;
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}{}", stderr(&o));
    assert!(
        text.contains("refused: may have been sent") && text.contains("--resend-ambiguous"),
        "{text}"
    );
    assert!(text.contains(&format!("conversation {conv}")), "{text}");
    assert_eq!(drain(&c, &target).await, BTreeSet::from([job(8)]));
    assert_eq!(depth(&c, &dlq).await, 1, "the message stays in the DLQ");

    // With it: moved, as a deliberate resend (a new claim), without the worker's marks.
    let o = run(args(&[
        "dlq",
        "replay",
        "--queue",
        &dlq,
        "--to",
        &target,
        "--resend-ambiguous",
        "--json",
    ]))
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).expect("--json summary");
    assert_eq!(
        (summary["moved"].as_u64(), summary["refused"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(summary["messages"][0]["mayHaveBeenSent"], true);
    let got = c
        .receive_message()
        .queue_url(&target)
        .message_attribute_names("All")
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let m = &got.messages()[0];
    let resent = JobEnvelope::from_json(m.body().unwrap()).unwrap();
    let Job::MessageAgentless(p) = &resent.job else {
        panic!("{resent:?}")
    };
    assert_eq!(p.resend, 1);
    assert_eq!(resent.job_id, "evt-m:0");
    assert!(m
        .message_attributes()
        .is_none_or(|a| !a.contains_key(OUTCOME_ATTRIBUTE)));
    assert_eq!(depth(&c, &dlq).await, 0);
}
