//! SQS batch plumbing shared by the two workers: read job messages, and report partial
//! batch failures (`batchItemFailures`, which needs `ReportBatchItemFailures` on the event
//! source mapping). One bad job never fails the others; the invocation itself errors only
//! when every record failed, so a fully broken batch is visible as a function error.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use crate::error::{BridgeError, ErrorKind, Result};
use crate::jobs::JobEnvelope;

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
    /// The errors, for the log and for the all-failed invocation error.
    pub errors: Vec<BridgeError>,
}

impl BatchReport {
    pub fn new(total: usize) -> BatchReport {
        BatchReport {
            total,
            ..Default::default()
        }
    }

    pub fn fail(&mut self, message_id: &str, error: BridgeError) {
        if !self.failed.iter().any(|m| m == message_id) {
            self.failed.push(message_id.to_string());
        }
        self.errors.push(error);
    }

    /// The response for Lambda: partial failures, or an error when every record failed.
    pub fn into_response(self) -> Result<SqsBatchResponse> {
        if self.total > 0 && self.failed.len() == self.total {
            let first = self.errors.into_iter().next();
            let mut e = BridgeError::new(
                first
                    .as_ref()
                    .map(|e| e.kind)
                    .unwrap_or(ErrorKind::Internal),
                format!(
                    "every job of the batch failed ({} of {}); first error: {}",
                    self.failed.len(),
                    self.total,
                    // Only the message: upstream, status, correlation id and hint are copied
                    // into this error below, and Display prints them once.
                    first
                        .as_ref()
                        .map(|e| e.message.clone())
                        .unwrap_or_default()
                ),
            );
            if let Some(f) = first.map(BridgeError::into_details) {
                e.upstream = f.upstream;
                e.org_id = f.org_id;
                e.status = f.status;
                e.code = f.code;
                e.correlation_id = f.correlation_id;
                e.missing_permissions = f.missing_permissions;
                e.operation = f.operation;
                e.field = f.field;
                e.hint = f.hint;
            }
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
        r.fail("m2", BridgeError::validation("orgId", "x"));
        let resp = r.into_response().unwrap();
        assert_eq!(resp.batch_item_failures.len(), 1);
        assert_eq!(resp.batch_item_failures[0].item_identifier, "m2");

        let mut r = BatchReport::new(2);
        r.fail("m1", BridgeError::validation("orgId", "x"));
        r.fail("m2", BridgeError::validation("orgId", "y"));
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
