//! How the simulated AWS delivers, with the numbers of `infra/template.yaml` (a test reads
//! them there) and the waits a chaos run compresses to fit in minutes.

use std::time::Duration;

/// `MaxReceiveCount` (default): deliveries of a job before SQS moves it to the job DLQ.
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// `WebhookIngestAsyncConfig.MaximumRetryAttempts`: Lambda's retries of a failed
/// EventBridge (asynchronous) invocation before it goes to the OnFailure destination (the
/// ingest failure DLQ).
pub const ASYNC_RETRIES: u32 = 2;
/// `WebhookIngestFunction.Timeout`.
pub const INGEST_TIMEOUT: Duration = Duration::from_secs(10);
/// `AttributeWriterFunction.Timeout`, `TicketStatusFunction.Timeout`.
pub const WORKER_TIMEOUT: Duration = Duration::from_secs(15);
/// The SQS event sources' `BatchSize`.
pub const BATCH_SIZE: usize = 10;
/// `ConsumerMaxConcurrency` (default): concurrent invocations per consumer.
pub const CONSUMER_CONCURRENCY: usize = 5;

/// Lambda waits about 1 and then 2 minutes between the attempts of an asynchronous
/// invocation; a chaos run waits this many seconds instead (sooner is harsher: a retry is
/// likelier to meet the claim of the attempt before it).
pub const ASYNC_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];
/// A failed SQS message becomes visible again after the 90 s visibility timeout; here after
/// this.
pub const REDELIVERY_DELAY: Duration = Duration::from_secs(1);
/// The queues' visibility timeout on the emulator: more than an invocation may take, so a
/// batch being processed is never handed out twice (the template's 6x rule, compressed).
pub const VISIBILITY_TIMEOUT_SECS: i32 = 20;
/// An HTTPS sender (a backend, or a Genesys web-services data action retried by its flow)
/// tries this many times in all on 5xx, 409 and 429, waiting `Retry-After` (else
/// [`SENDER_BACKOFF`]) in between, then gives up: the event ends on the sender's failure
/// path, which is its dead-letter queue.
pub const SENDER_ATTEMPTS: u32 = 5;
pub const SENDER_BACKOFF: Duration = Duration::from_secs(1);
/// The HTTP client's per-attempt timeout in a chaos run, and how long the sandbox holds a
/// request it times out: shorter than the functions' 10 s so that timeouts cost seconds.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
pub const STALL: Duration = Duration::from_millis(2_500);
/// Zendesk's Update Ticket budget: 30 updates per ticket per 10 minutes.
pub const TICKET_UPDATE_BUDGET: usize = 30;
pub const TICKET_UPDATE_WINDOW_MS: u64 = 600_000;

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

    /// The value of `key:` in the first line that has it after the line `after` (both
    /// trimmed), within the next `within` lines.
    fn value_after(after: &str, key: &str, within: usize) -> String {
        let lines: Vec<&str> = TEMPLATE.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.trim() == after)
            .unwrap_or_else(|| panic!("template has no line {after:?}"));
        lines[start..(start + within).min(lines.len())]
            .iter()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
            .unwrap_or_else(|| panic!("no {key} within {within} lines after {after:?}"))
            .trim()
            .to_string()
    }

    #[test]
    fn the_simulated_aws_follows_the_template() {
        let n = |after: &str, key: &str| value_after(after, key, 60).parse::<u64>().unwrap();
        assert_eq!(
            n("MaxReceiveCount:", "Default"),
            u64::from(MAX_RECEIVE_COUNT)
        );
        assert_eq!(
            n("ConsumerMaxConcurrency:", "Default"),
            CONSUMER_CONCURRENCY as u64
        );
        assert_eq!(
            n("WebhookIngestAsyncConfig:", "MaximumRetryAttempts"),
            u64::from(ASYNC_RETRIES)
        );
        assert_eq!(
            n("WebhookIngestFunction:", "Timeout"),
            INGEST_TIMEOUT.as_secs()
        );
        for f in ["AttributeWriterFunction:", "TicketStatusFunction:"] {
            assert_eq!(n(f, "Timeout"), WORKER_TIMEOUT.as_secs(), "{f}");
            assert_eq!(n(f, "BatchSize"), BATCH_SIZE as u64, "{f}");
        }
        assert_eq!(ASYNC_RETRY_DELAYS.len(), ASYNC_RETRIES as usize);
        assert!(STALL > REQUEST_TIMEOUT);
        assert!(VISIBILITY_TIMEOUT_SECS as u64 > WORKER_TIMEOUT.as_secs());
    }
}
