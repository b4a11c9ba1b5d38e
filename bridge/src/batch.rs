//! SQS batch plumbing shared by the two workers: read job messages, and report partial
//! batch failures (`batchItemFailures`, which needs `ReportBatchItemFailures` on the event
//! source mapping). One bad job never fails the others; the invocation itself errors only
//! when every record failed, so a fully broken batch is visible as a function error.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde_json::Value;

use crate::error::{BridgeError, ErrorKind, Result};
use crate::jobs::JobEnvelope;

/// Reads an invocation payload that the function has recognised as an SQS batch (each
/// worker keeps its own shape rules and messages); an unreadable one is an input error on
/// `Records`.
pub fn parse_sqs_event(event: Value) -> Result<SqsEvent> {
    serde_json::from_value(event)
        .map_err(|e| BridgeError::validation("Records", format!("not a valid SQS event: {e}")))
}

/// One SQS record, parsed.
#[derive(Debug)]
pub struct Record {
    pub message_id: String,
    pub job: Result<JobEnvelope>,
}

/// Parses every record; a record without a message id gets a placeholder (SQS always sets
/// one, and without it the failure could not be reported anyway).
pub fn records(event: &SqsEvent) -> Vec<Record> {
    event
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            message_id: r
                .message_id
                .clone()
                .unwrap_or_else(|| format!("record-{i}")),
            job: match &r.body {
                Some(b) => JobEnvelope::from_json(b),
                None => Err(BridgeError::validation(
                    "body",
                    "expected a job message, got an empty SQS body",
                )),
            },
        })
        .collect()
}

/// What happened to each record of a batch.
#[derive(Debug, Default)]
pub struct BatchReport {
    pub total: usize,
    /// Message ids to redeliver (SQS retries them, then moves them to the DLQ).
    pub failed: Vec<String>,
    /// The first error, for the all-failed invocation error.
    first_error: Option<BridgeError>,
}

impl BatchReport {
    pub fn new(total: usize) -> BatchReport {
        BatchReport {
            total,
            ..Default::default()
        }
    }

    /// Reports `message_id` failed, and logs it with its reason: a retryable error will be
    /// redelivered by SQS; a permanent one ends in the DLQ after the queue's redeliveries.
    pub fn fail(&mut self, message_id: &str, job_id: &str, error: BridgeError) {
        let (error_type, org_id) = (error.error_type(), error.org_id.as_deref().unwrap_or(""));
        let correlation_id = error.correlation_id.as_deref().unwrap_or("");
        if error.retryable() {
            tracing::warn!(message_id, job_id, %error_type, org_id, correlation_id, reason = %error,
                "job failed; SQS will redeliver it");
        } else {
            tracing::error!(message_id, job_id, %error_type, org_id, correlation_id, reason = %error,
                "job cannot succeed as sent; it goes to the DLQ after the queue's redeliveries");
        }
        if !self.failed.iter().any(|m| m == message_id) {
            self.failed.push(message_id.to_string());
        }
        self.first_error.get_or_insert(error);
    }

    /// The response for Lambda: partial failures, or an error when every record failed.
    pub fn into_response(self) -> Result<SqsBatchResponse> {
        if self.total > 0 && self.failed.len() == self.total {
            // The first error, with its upstream, status, correlation id and hint, under a
            // message that says the whole batch failed.
            let mut e = self
                .first_error
                .unwrap_or_else(|| BridgeError::new(ErrorKind::Internal, ""));
            e.message = format!(
                "every job of the batch failed ({} of {}); first error: {}",
                self.failed.len(),
                self.total,
                e.message
            );
            e.credential = None;
            e.retry_after = None;
            return Err(e);
        }
        let mut resp = SqsBatchResponse::default();
        resp.batch_item_failures = self
            .failed
            .into_iter()
            .map(|id| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = id;
                f
            })
            .collect();
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_and_total_failure() {
        let mut r = BatchReport::new(3);
        r.fail("m2", "j2", BridgeError::validation("orgId", "x"));
        let resp = r.into_response().unwrap();
        assert_eq!(resp.batch_item_failures.len(), 1);
        assert_eq!(resp.batch_item_failures[0].item_identifier, "m2");

        let mut r = BatchReport::new(2);
        r.fail("m1", "j1", BridgeError::validation("orgId", "x"));
        r.fail("m2", "j2", BridgeError::validation("orgId", "y"));
        let e = r.into_response().unwrap_err();
        assert!(
            e.message.contains("every job of the batch failed (2 of 2)"),
            "{e}"
        );

        assert!(BatchReport::new(0)
            .into_response()
            .unwrap()
            .batch_item_failures
            .is_empty());
    }
}
