//! `attribute-writer`: participant attributes and external contact fields, from Architect
//! Lambda data actions (synchronous) and from SQS batches of jobs (webhook-ingest).
//!
//! One handler, [`handle`], tells the two event shapes apart by their structure: an SQS
//! event has `Records` whose `eventSource` is `aws:sqs`; anything else must be the data
//! action's input object. The work lives in [`action`] (data action), [`queue`] (job
//! batches), [`attrs`] (pure validation) and [`verify`] (read-back).

pub mod action;
pub mod attrs;
pub mod queue;
pub mod verify;

use std::time::Duration;

use lambda_runtime::{Context, Diagnostic};
use serde_json::Value;

use bridge::{BridgeError, Result, Runtime};

/// Settings of this function, read once at cold start (see [`Options::from_lookup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Wait before the second read-back when the first did not show the values
    /// (`BRIDGE_VERIFY_RETRY_DELAY_MS`, default 500). Skipped when the deadline leaves no
    /// room for it.
    pub verify_retry_delay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            verify_retry_delay: Duration::from_millis(500),
        }
    }
}

/// Longest accepted verify delay: a data action must answer within Genesys' 20 s limit.
const MAX_VERIFY_DELAY_MS: u64 = 5_000;

impl Options {
    /// Reads the options through `get` (pass `|k| std::env::var(k).ok()`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Options> {
        let mut o = Options::default();
        if let Some(v) = get("BRIDGE_VERIFY_RETRY_DELAY_MS")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            let ms = v
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= MAX_VERIFY_DELAY_MS)
                .ok_or_else(|| {
                    BridgeError::config(
                        "BRIDGE_VERIFY_RETRY_DELAY_MS",
                        format!("expected whole milliseconds from 0 to {MAX_VERIFY_DELAY_MS}; got {v:?}"),
                    )
                })?;
            o.verify_retry_delay = Duration::from_millis(ms);
        }
        Ok(o)
    }
}

/// The two event shapes this function accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventShape {
    /// An SQS event (`Records[].eventSource == "aws:sqs"`).
    Sqs,
    /// The input object of the Architect data action.
    DataAction,
}

/// Tells the shapes apart by structure. `Records` that are not SQS records are refused
/// rather than read as a data action with missing fields.
pub fn classify(event: &Value) -> Result<EventShape> {
    match event.get("Records") {
        None => Ok(EventShape::DataAction),
        Some(Value::Array(recs)) if !recs.is_empty() && recs.iter().all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")) => {
            Ok(EventShape::Sqs)
        }
        Some(_) => Err(BridgeError::validation(
            "Records",
            "expected SQS records (eventSource \"aws:sqs\") or a data action input object; this function is only wired to its SQS job queue and to the Genesys data action",
        )),
    }
}

/// The Lambda handler: a data action answers its flat output object; an SQS batch answers
/// `{"batchItemFailures": [...]}`. Failures are Lambda errors with the stable error type.
pub async fn handle(
    rt: &Runtime,
    event: Value,
    ctx: Context,
) -> std::result::Result<Value, Diagnostic> {
    handle_with(rt, &Options::default(), event, ctx).await
}

/// [`handle`] with explicit options (main reads them from the environment; tests shorten
/// the verify delay).
pub async fn handle_with(
    rt: &Runtime,
    opts: &Options,
    event: Value,
    ctx: Context,
) -> std::result::Result<Value, Diagnostic> {
    let result = match classify(&event) {
        Ok(EventShape::DataAction) => action::run(rt, opts, &event, &ctx).await.map(to_value),
        Ok(EventShape::Sqs) => match bridge::batch::parse_sqs_event(event) {
            Ok(sqs) => queue::run(rt, &sqs, &ctx).await.map(to_value),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    result.map_err(|e| {
        tracing::warn!(error_type = %e.error_type(), org_id = e.org_id.as_deref().unwrap_or(""), retryable = e.retryable(), error = %e, "invocation failed");
        Diagnostic::from(e)
    })
}

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("outputs are plain data and always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        assert_eq!(
            classify(&json!({"orgId": "x"})).unwrap(),
            EventShape::DataAction
        );
        assert_eq!(
            classify(&json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})).unwrap(),
            EventShape::Sqs
        );
        for bad in [
            json!({"Records": []}),
            json!({"Records": [{"eventSource": "aws:sns"}]}),
            json!({"Records": 1}),
        ] {
            assert_eq!(
                classify(&bad).unwrap_err().field.as_deref(),
                Some("Records")
            );
        }
    }

    #[test]
    fn options() {
        let o = Options::from_lookup(|_| None).unwrap();
        assert_eq!(o.verify_retry_delay, Duration::from_millis(500));
        let o =
            Options::from_lookup(|k| (k == "BRIDGE_VERIFY_RETRY_DELAY_MS").then(|| "50".into()))
                .unwrap();
        assert_eq!(o.verify_retry_delay, Duration::from_millis(50));
        for bad in ["soon", "-1", "60000"] {
            let e = Options::from_lookup(|_| Some(bad.into())).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("BRIDGE_VERIFY_RETRY_DELAY_MS"));
        }
    }
}
