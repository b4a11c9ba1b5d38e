//! Getting events into webhook-ingest the way its callers do: EventBridge invokes it
//! asynchronously (a failed invocation is retried twice, then the event goes to the ingest
//! failure DLQ with its error), and an HTTPS sender posts to the Function URL and retries
//! 5xx, 409 and 429 a bounded number of times, waiting `Retry-After`, then gives up.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use lambda_runtime::Context;
use serde_json::Value;
use webhook_ingest::auth::signature;
use webhook_ingest::Ingest;

use super::model::{
    ASYNC_RETRIES, ASYNC_RETRY_DELAYS, INGEST_TIMEOUT, SENDER_ATTEMPTS, SENDER_BACKOFF,
};
use super::plan::{Channel, Event, Org};

/// What happened to the deliveries of one event.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    /// Invocations of webhook-ingest for this event (every delivery, every attempt).
    pub invocations: u32,
    /// Deliveries that ended accepted (202, or a successful EventBridge invocation).
    pub accepted: u32,
    /// Of those, answered `duplicate: true`.
    pub duplicates: u32,
    /// Deliveries that ended in a dead-letter queue: the event DLQ (EventBridge) or the
    /// sender's failure path (HTTPS), each with its reason.
    pub dead_letters: Vec<String>,
}

/// Every event's log, by plan index.
pub struct Ledger {
    logs: Mutex<Vec<EventLog>>,
}

impl Ledger {
    pub fn new(events: usize) -> Ledger {
        Ledger {
            logs: Mutex::new(vec![EventLog::default(); events]),
        }
    }

    fn update(&self, event: usize, f: impl FnOnce(&mut EventLog)) {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = logs.get_mut(event) {
            f(l);
        }
    }

    pub fn logs(&self) -> Vec<EventLog> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A Lambda context: a request id of its own (shared by the retries of an asynchronous
/// invocation) and the function's timeout as its deadline.
pub fn context(request_id: &str, timeout: Duration, function: &str) -> Context {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut ctx = Context::default();
    ctx.request_id = request_id.to_string();
    ctx.deadline = (now + timeout).as_millis() as u64;
    ctx.invoked_function_arn =
        format!("arn:aws:lambda:us-east-1:123456789012:function:genesys-bridge-{function}");
    ctx
}

/// Delivers one event once (a first delivery or a duplicate), as its channel would.
pub async fn deliver(ingest: &Ingest, org: Option<&Org>, e: &Event, index: usize, ledger: &Ledger) {
    let result = match (e.channel, org) {
        (Channel::EventBridge, _) => eventbridge(ingest, e, index, ledger).await,
        (_, Some(org)) => https(ingest, org, e, index, ledger).await,
        // Plans send HTTPS only for configured orgs.
        (_, None) => Err("no org to send as".to_string()),
    };
    ledger.update(index, |l| match result {
        Ok(duplicate) => {
            l.accepted += 1;
            l.duplicates += u32::from(duplicate);
        }
        Err(reason) => l.dead_letters.push(reason),
    });
}

/// The asynchronous invocation: the first attempt and Lambda's retries, with the same
/// request id. `[U]` AWS says the retries of an asynchronous invocation carry the request
/// id of the first; nothing here depends on it but the simulation's realism. Answers
/// whether it was a duplicate, or the event DLQ's reason.
async fn eventbridge(
    ingest: &Ingest,
    e: &Event,
    index: usize,
    ledger: &Ledger,
) -> Result<bool, String> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut last = String::new();
    for attempt in 0..=ASYNC_RETRIES as usize {
        if attempt > 0 {
            tokio::time::sleep(ASYNC_RETRY_DELAYS[attempt - 1]).await;
        }
        ledger.update(index, |l| l.invocations += 1);
        let ctx = context(&request_id, INGEST_TIMEOUT, "webhook-ingest");
        let call = webhook_ingest::handle(ingest, e.body.clone(), ctx);
        match tokio::time::timeout(INGEST_TIMEOUT, call).await {
            Ok(Ok(v)) => return Ok(v["duplicate"] == Value::Bool(true)),
            Ok(Err(d)) => last = d.error_type,
            Err(_) => last = "Lambda.Timeout".into(),
        }
    }
    Err(format!("event DLQ: {last}"))
}

/// The HTTPS sender: a new request (and invocation) per attempt, HMAC signed anew.
async fn https(
    ingest: &Ingest,
    org: &Org,
    e: &Event,
    index: usize,
    ledger: &Ledger,
) -> Result<bool, String> {
    let mut last = String::new();
    for attempt in 1..=SENDER_ATTEMPTS {
        ledger.update(index, |l| l.invocations += 1);
        let request = function_url_request(org, e);
        let request_id = uuid::Uuid::new_v4().to_string();
        let ctx = context(&request_id, INGEST_TIMEOUT, "webhook-ingest");
        let call = webhook_ingest::handle(ingest, request, ctx);
        let (status, body, retry_after) = match tokio::time::timeout(INGEST_TIMEOUT, call).await {
            Ok(Ok(v)) => answer(&v),
            // A Function URL invocation error reaches the caller as a bare 502.
            Ok(Err(d)) => (502, Value::String(d.error_type), None),
            Err(_) => (502, Value::String("Lambda.Timeout".into()), None),
        };
        if (200..300).contains(&status) {
            return Ok(body["duplicate"] == Value::Bool(true));
        }
        let error_type = body["errorType"]
            .as_str()
            .or(body.as_str())
            .unwrap_or("")
            .to_string();
        last = format!("HTTP {status} {error_type}");
        let retryable = status >= 500 || status == 409 || status == 429;
        if !retryable {
            return Err(format!("refused to the sender: {last}"));
        }
        if attempt < SENDER_ATTEMPTS {
            tokio::time::sleep(retry_after.unwrap_or(SENDER_BACKOFF)).await;
        }
    }
    Err(format!(
        "sender gave up after {SENDER_ATTEMPTS} attempts: {last}"
    ))
}

/// `(status, parsed body, Retry-After)` of a Function URL response.
fn answer(v: &Value) -> (u16, Value, Option<Duration>) {
    let status = v["statusCode"].as_u64().unwrap_or(0) as u16;
    let body = v["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let retry_after = v["headers"]["retry-after"]
        .as_str()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    (status, body, retry_after)
}

/// The Function URL event of `e`: its body, the org's credential, and (unsigned) its event
/// id as `Idempotency-Key`, so that a repeat is the same event.
fn function_url_request(org: &Org, e: &Event) -> Value {
    let body = e.body.to_string();
    let mut headers = HeaderMap::new();
    let mut set = |k: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(HeaderName::from_static(k), v);
        }
    };
    set("content-type", "application/json");
    set("user-agent", "bridge-chaos/1.0");
    match e.channel {
        // A signed request's event id is the body's `id` (the plan puts it there): an
        // unsigned header must not name the event of a signed body, so ingest refuses it.
        Channel::Hmac => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            set("x-bridge-timestamp", &now.to_string());
            set(
                "x-bridge-signature",
                &signature(&org.secret, now, body.as_bytes()),
            );
        }
        _ => {
            set("authorization", &format!("Bearer {}", org.secret));
            set("idempotency-key", &e.id);
        }
    }
    let uri: Uri = format!("/orgs/{}/events", e.org)
        .parse()
        .unwrap_or_else(|_| Uri::from_static("/"));
    crate::dev::server::function_url_event(&Method::POST, &uri, &headers, body.as_bytes())
}
