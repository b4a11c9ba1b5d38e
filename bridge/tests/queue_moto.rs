//! The SQS job queue against a real AWS emulator (moto on loopback, started by
//! scripts/test.sh). Fails, never skips, when the emulator is missing.

use std::collections::BTreeSet;

use bridge::jobs::{Consumer, Job, JobEnvelope, ParticipantAttributes, TicketWrapup, JOB_VERSION};
use bridge::queue::{JobQueue, SqsQueue};
use bridge::{ErrorKind, Upstream};
use bridge_testkit::ids::ORG_A;
use bridge_testkit::{aws_test_config, unique_name};

fn job(n: usize, wrapup: bool) -> JobEnvelope {
    JobEnvelope {
        v: JOB_VERSION,
        job_id: format!("evt-{}:{n}", if wrapup { "w" } else { "a" }),
        org_id: ORG_A.into(),
        event_id: "evt".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        correlation_id: Some("corr-1".into()),
        job: if wrapup {
            Job::TicketWrapup(TicketWrapup {
                conversation_id: "c0a00001-0000-4000-8000-000000000000".into(),
                participant_id: "c0a00001-0000-4000-8000-00000000a001".into(),
                wrapup_code: Some("code".into()),
                agent_user_id: None,
                event_time_ms: n as i64,
                ticket_id: None,
            })
        } else {
            Job::ParticipantAttributes(ParticipantAttributes {
                conversation_id: "c0a00001-0000-4000-8000-000000000000".into(),
                participant_id: "c0a00001-0000-4000-8000-00000000c001".into(),
                attributes: [("n".to_string(), n.to_string())].into(),
            })
        },
    }
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> String {
    let mut req = sqs.create_queue().queue_name(name);
    if fifo {
        req = req.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    req.send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_string()
}

/// Receives every message of a queue (until an empty receive).
async fn receive_all(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let msgs = out.messages().to_vec();
        if msgs.is_empty() {
            return all;
        }
        all.extend(msgs);
    }
}

fn job_ids(msgs: &[aws_sdk_sqs::types::Message]) -> BTreeSet<String> {
    msgs.iter()
        .map(|m| {
            JobEnvelope::from_json(m.body().expect("body"))
                .expect("a job message")
                .job_id
        })
        .collect()
}

#[tokio::test]
async fn batches_of_ten_reach_the_queue_of_their_consumer() {
    let conf = aws_test_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let attr_url = create_queue(&sqs, &unique_name("bridge-attr"), false).await;
    let ticket_url = create_queue(&sqs, &unique_name("bridge-ticket"), false).await;
    let queue = SqsQueue::from_conf(&conf, attr_url.clone(), ticket_url.clone());
    assert_eq!(queue.queue_url(Consumer::TicketStatus), ticket_url);

    // 23 attribute jobs need three SendMessageBatch calls; 4 wrap-ups one more.
    let mut jobs: Vec<JobEnvelope> = (0..23).map(|n| job(n, false)).collect();
    jobs.extend((0..4).map(|n| job(n, true)));
    queue.send(&jobs).await.unwrap();

    let attr = receive_all(&sqs, &attr_url).await;
    let ticket = receive_all(&sqs, &ticket_url).await;
    let want_attr: BTreeSet<String> = (0..23).map(|n| format!("evt-a:{n}")).collect();
    let want_ticket: BTreeSet<String> = (0..4).map(|n| format!("evt-w:{n}")).collect();
    assert_eq!(attr.len(), 23, "each job exactly once");
    assert_eq!(job_ids(&attr), want_attr);
    assert_eq!(ticket.len(), 4);
    assert_eq!(job_ids(&ticket), want_ticket);
    // The body is the job message exactly as the workers read it.
    let first = JobEnvelope::from_json(ticket[0].body().unwrap()).unwrap();
    assert!(jobs.contains(&first));
}

#[tokio::test]
async fn fifo_queues_get_group_and_deduplication_ids() {
    let conf = aws_test_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let attr_url = create_queue(&sqs, &format!("{}.fifo", unique_name("bridge-attr")), true).await;
    let ticket_url = create_queue(
        &sqs,
        &format!("{}.fifo", unique_name("bridge-ticket")),
        true,
    )
    .await;
    let queue = SqsQueue::from_conf(&conf, attr_url, ticket_url.clone());

    let jobs = vec![job(0, true), job(1, true)];
    queue.send(&jobs).await.unwrap();
    // A replay of the same jobs is dropped by SQS's deduplication window.
    queue.send(&jobs).await.unwrap();
    let msgs = receive_all(&sqs, &ticket_url).await;
    assert_eq!(
        job_ids(&msgs),
        ["evt-w:0".to_string(), "evt-w:1".to_string()].into()
    );
    assert_eq!(msgs.len(), 2, "the replay was deduplicated");
    let group = msgs[0]
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId))
        .cloned();
    assert_eq!(group.as_deref(), Some(ORG_A));
}

#[tokio::test]
async fn a_missing_queue_is_an_sqs_error_that_names_it() {
    let conf = aws_test_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let ticket_url = create_queue(&sqs, &unique_name("bridge-ticket"), false).await;
    let missing = ticket_url.replace("bridge-ticket", "bridge-gone");
    let queue = SqsQueue::from_conf(&conf, missing.clone(), ticket_url);
    let err = queue.send(&[job(0, false)]).await.unwrap_err();
    assert_eq!(err.upstream, Some(Upstream::Sqs), "{err}");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err:?}");
    assert!(err.to_string().contains(&missing), "{err}");
    assert!(err.to_string().contains("send job messages"), "{err}");
}
