//! The in-memory job queue with fault injection: the local queue never fails, so tests of
//! "queueing failed" wrap it.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bridge::jobs::JobEnvelope;
use bridge::queue::{JobQueue, MemoryQueue};
use bridge::{BridgeError, ErrorKind, Result, Upstream};

/// A [`MemoryQueue`] whose next `n` sends can be made to fail like SQS refusing them
/// (retryable, nothing queued), and which counts its sends. Derefs to the queue for
/// `drain`, `len` and `is_empty`.
#[derive(Default)]
pub struct FaultyQueue {
    queue: MemoryQueue,
    fail_next: AtomicUsize,
    sends: AtomicUsize,
}

impl FaultyQueue {
    pub fn new() -> FaultyQueue {
        FaultyQueue::default()
    }

    /// The next `n` calls to `send` fail and queue nothing.
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// How many `send` calls were made (failed ones included).
    pub fn sends(&self) -> usize {
        self.sends.load(Ordering::SeqCst)
    }
}

impl Deref for FaultyQueue {
    type Target = MemoryQueue;
    fn deref(&self) -> &MemoryQueue {
        &self.queue
    }
}

#[async_trait]
impl JobQueue for FaultyQueue {
    async fn send(&self, jobs: &[JobEnvelope]) -> Result<()> {
        self.sends.fetch_add(1, Ordering::SeqCst);
        let injected = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if injected {
            return Err(BridgeError::upstream(
                Upstream::Sqs,
                ErrorKind::ServerError,
                format!(
                    "{} job message(s) were not queued (injected failure)",
                    jobs.len()
                ),
            )
            .with_operation("send job messages to SQS"));
        }
        self.queue.send(jobs).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge::jobs::{Consumer, Job, ParticipantAttributes, TicketWrapup, JOB_VERSION};

    fn job(n: usize, wrapup: bool, pad: usize) -> JobEnvelope {
        JobEnvelope {
            v: JOB_VERSION,
            job_id: format!("evt:{n}"),
            org_id: "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11".into(),
            event_id: "evt".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            correlation_id: None,
            job: if wrapup {
                Job::TicketWrapup(TicketWrapup {
                    conversation_id: "c".into(),
                    participant_id: "p".into(),
                    wrapup_code: None,
                    agent_user_id: None,
                    event_time_ms: 1,
                    ticket_id: None,
                })
            } else {
                Job::ParticipantAttributes(ParticipantAttributes {
                    conversation_id: "c".into(),
                    participant_id: "p".into(),
                    attributes: [("k".to_string(), "x".repeat(pad))].into(),
                })
            },
        }
    }

    #[tokio::test]
    async fn memory_queue_routes_and_injects_failures() {
        let q = FaultyQueue::new();
        q.fail_next(1);
        let e = q.send(&[job(0, true, 1)]).await.unwrap_err();
        assert_eq!(e.upstream, Some(Upstream::Sqs));
        assert!(e.retryable());
        assert!(q.is_empty());
        q.send(&[job(0, true, 1), job(1, false, 1)]).await.unwrap();
        assert_eq!(q.len(Consumer::TicketStatus), 1);
        assert_eq!(q.drain(Consumer::AttributeWriter)[0].job_id, "evt:1");
        assert_eq!(q.len(Consumer::AttributeWriter), 0);
        assert_eq!(q.sends(), 2);
    }
}
