//! Running one step: an event through a function of the pipeline, then its jobs through
//! the consumers, recording what came out and which upstream calls were made.

use bridge::event::{classify, EventKind};
use serde_json::Value;

use super::report::{short, StepReport, WorkerReport};
use crate::dev::{describe_call, describe_job, diagnostic_json, Invoked, Pipeline, WorkerRun};

/// A step that ran, with what checking it needs beyond its report.
pub(super) struct StepRun {
    pub report: StepReport,
    /// The kinds of the jobs the event queued.
    pub kinds: Vec<String>,
    /// SQS entry: messages reported failed.
    pub entry_failed: Option<usize>,
}

/// The report's words for an event's kind (`None`: the classifier refused it).
fn kind_label(kind: Option<EventKind>) -> &'static str {
    match kind {
        Some(EventKind::FunctionUrl) => "Function URL request",
        Some(EventKind::EventBridge) => "EventBridge event",
        Some(EventKind::SqsBatch) => "SQS batch",
        Some(EventKind::DataAction) => "data action",
        None => "event",
    }
}

/// Invokes `invoked` with `event` (shown as `label`), then drains the queue.
pub(super) async fn run_step(
    p: &Pipeline,
    invoked: &Invoked,
    event: Value,
    label: String,
) -> StepRun {
    let mark = p.sandbox.last_seq();
    let kind = classify(&event).ok();
    let result = p.invoke_as(invoked, event).await;
    // The jobs this event queued, looked at before the consumers take them.
    let made = p.take_queued();
    p.requeue(&made).await;
    let (outcome, error_type, http_status, output) = read_result(&result);
    // An SQS batch that failed as a whole reports no messages.
    let entry_failed = match &result {
        Ok(v) if kind == Some(EventKind::SqsBatch) => Some(
            v.get("batchItemFailures")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
        ),
        _ => None,
    };
    let runs = p.drain().await;
    let calls = p.sandbox.journal_since(mark);
    StepRun {
        kinds: made.iter().map(|j| j.job.kind().to_string()).collect(),
        report: StepReport {
            event: label,
            function: invoked.label(),
            kind: kind_label(kind).to_string(),
            outcome,
            error_type,
            http_status,
            output,
            jobs: made.iter().map(describe_job).collect(),
            workers: runs.iter().map(worker_report).collect(),
            calls: calls.iter().map(describe_call).collect(),
            verdicts: Vec::new(),
        },
        entry_failed,
    }
}

/// (outcome, error type, HTTP status, output) of an invocation. A Function URL answer is
/// "ok" when its status is 2xx, and its JSON body is the output.
pub(super) fn read_result(
    result: &Result<Value, lambda_runtime::Diagnostic>,
) -> (String, Option<String>, Option<u16>, Value) {
    match result {
        Err(d) => (
            "error".into(),
            Some(d.error_type.clone()),
            None,
            diagnostic_json(d),
        ),
        Ok(v) => match v.get("statusCode").and_then(Value::as_u64) {
            Some(status) => {
                let body = v
                    .get("body")
                    .and_then(Value::as_str)
                    .map(|b| {
                        serde_json::from_str(b).unwrap_or_else(|_| Value::String(b.to_string()))
                    })
                    .unwrap_or(Value::Null);
                let ok = (200..300).contains(&status);
                let et = if ok {
                    None
                } else {
                    body.get("errorType")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                (
                    if ok { "ok" } else { "error" }.into(),
                    et,
                    Some(status as u16),
                    body,
                )
            }
            None => ("ok".into(), None, None, v.clone()),
        },
    }
}

fn worker_report(w: &WorkerRun) -> WorkerReport {
    WorkerReport {
        function: w.function.name().to_string(),
        jobs: w.jobs.len(),
        failed: w.failed.len(),
        dead_lettered: w.dead_lettered.len(),
        outcome: match &w.result {
            Ok(v) => format!("ok {}", short(v, 120)),
            Err(d) => format!(
                "error {}: {}",
                d.error_type,
                short(&Value::String(d.error_message.clone()), 160)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_are_read_like_lambda_and_function_urls() {
        let http =
            json!({"statusCode": 401, "headers": {}, "body": "{\"errorType\":\"Unauthorized\"}"});
        let (outcome, et, status, body) = read_result(&Ok(http));
        assert_eq!(
            (outcome.as_str(), et.as_deref(), status),
            ("error", Some("Unauthorized"), Some(401))
        );
        assert_eq!(body["errorType"], "Unauthorized");
        let err = lambda_runtime::Diagnostic {
            error_type: "Zendesk.ClosedTicket".into(),
            error_message: "closed".into(),
        };
        let (outcome, et, status, _) = read_result(&Err(err));
        assert_eq!(
            (outcome.as_str(), et.as_deref(), status),
            ("error", Some("Zendesk.ClosedTicket"), None)
        );
        let (outcome, et, _, body) = read_result(&Ok(json!({"ok": true})));
        assert_eq!((outcome.as_str(), et), ("ok", None));
        assert_eq!(body, json!({"ok": true}));
    }
}
