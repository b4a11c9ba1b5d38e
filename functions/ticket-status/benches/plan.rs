//! The pure, per-invocation work of ticket-status: parsing data action input, parsing a
//! 10-message SQS batch, and collapsing it per ticket. Upstream calls dominate real
//! invocations; these numbers show the function's own overhead stays negligible.

use std::hint::black_box;

use aws_lambda_events::event::sqs::SqsEvent;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use ticket_status::input::ActionInput;
use ticket_status::plan::coalesce;

const ORG: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";

fn batch(n: usize) -> Value {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let job = json!({"v": 1, "jobId": format!("evt-{i}:0"), "orgId": ORG, "eventId": format!("evt-{i}"),
                "createdAt": "2025-03-03T09:30:00Z", "kind": "ticket.wrapup",
                "payload": {"conversationId": "c0a00001-0000-4000-8000-000000000000",
                            "participantId": "c0a00001-0000-4000-8000-00000000a001",
                            "wrapupCode": "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a21",
                            "agentUserId": "d0a00001-0000-4000-8000-000000000000",
                            "eventTimeMs": 1741001400000_i64 + i as i64, "ticketId": 1001 + (i % 3) as u64}});
            json!({"messageId": format!("m-{i}"), "receiptHandle": "rh", "body": job.to_string(),
                   "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                   "md5OfBody": "x", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ticket-status", "awsRegion": "us-east-1"})
        })
        .collect();
    json!({"Records": records})
}

fn benches(c: &mut Criterion) {
    let input = json!({"orgId": ORG, "ticketId": "1001", "status": "solved", "comment": "Resolved on the call", "public": false});
    c.bench_function("parse data action input", |b| {
        b.iter(|| ActionInput::parse(black_box(&input)).unwrap())
    });

    let event = batch(10);
    c.bench_function("parse + coalesce 10-message batch", |b| {
        b.iter(|| {
            let ev: SqsEvent = serde_json::from_value(black_box(event.clone())).unwrap();
            let records = bridge::batch::records(&ev);
            let keys: Vec<((String, u64), i64)> = records
                .iter()
                .filter_map(|r| r.job.as_ref().ok())
                .filter_map(|j| match &j.job {
                    bridge::jobs::Job::TicketWrapup(w) => {
                        Some(((j.org_id.clone(), w.ticket_id?), w.event_time_ms))
                    }
                    _ => None,
                })
                .collect();
            coalesce(&keys)
        })
    });
}

criterion_group!(plan, benches);
criterion_main!(plan);
