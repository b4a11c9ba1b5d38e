//! What webhook-ingest answers: the summary of a delivered event, and for Function URL
//! requests an HTTP response (`LambdaFunctionUrlResponse`, JSON bodies) for every outcome:
//! a queued event (202), a user's write (200), and refusals ([`Reject`]).
//!
//! Refusals never echo internals: a 401 is the same for every reason, and a 5xx names the
//! error type and whether a retry can help, not queue URLs or table names (those are logged).

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use bridge::{BridgeError, ErrorKind};
use serde_json::{json, Value};

use crate::apply::{Delivered, NotDelivered};
use crate::user::UserWritten;

/// Why an HTTPS request was not accepted; each is a status code ([`Reject::status`]).
#[derive(Debug)]
pub enum Reject {
    /// 400: the message names the field and what was expected.
    BadRequest(BridgeError),
    /// 401, the same body for every reason; the reason is logged only.
    Unauthorized(&'static str),
    /// 403: authenticated, but a user token may not do this (the message says what it may).
    Forbidden(BridgeError),
    /// Genesys refused what the user's own token asked (permission, not found, throttled,
    /// ...): its status, error type and message, for the user's request only.
    Upstream(BridgeError),
    /// 404: not `/orgs/{orgId}/events`.
    NotFound,
    /// 405: not POST.
    MethodNotAllowed,
    /// 409: another invocation is processing the same event right now.
    InProgress { event_id: String },
    /// 413.
    TooLarge { size: usize, limit: usize },
    /// 500: the event could not be recorded or queued; nothing was marked done.
    Failed(BridgeError),
    /// 503: a Genesys token could not be checked right now.
    Unavailable(BridgeError),
}

impl Reject {
    pub fn status(&self) -> u16 {
        match self {
            Reject::BadRequest(_) => 400,
            Reject::Unauthorized(_) => 401,
            Reject::Forbidden(_) => 403,
            Reject::Upstream(e) => upstream_status(e),
            Reject::NotFound => 404,
            Reject::MethodNotAllowed => 405,
            Reject::InProgress { .. } => 409,
            Reject::TooLarge { .. } => 413,
            Reject::Failed(_) => 500,
            Reject::Unavailable(_) => 503,
        }
    }
}

impl From<NotDelivered> for Reject {
    fn from(n: NotDelivered) -> Reject {
        match n {
            NotDelivered::InProgress { event_id } => Reject::InProgress { event_id },
            NotDelivered::Failed(e) => Reject::Failed(e),
        }
    }
}

/// The HTTP status for Genesys' answer to a user's own call.
fn upstream_status(e: &BridgeError) -> u16 {
    use bridge::ErrorKind as K;
    match e.kind {
        K::BadCredentials => 401,
        K::MissingPermission | K::Forbidden => 403,
        K::NotFound => 404,
        K::Conflict => 409,
        K::RateLimited => 429,
        K::InvalidRequest | K::Validation => 400,
        K::DeadlineExceeded => 504,
        _ => 502,
    }
}

/// What an HTTPS request ended in.
#[derive(Debug)]
pub enum Answer {
    /// The events route: jobs queued (202).
    Queued(Delivered),
    /// The user route: written with the user's token (200).
    Written(UserWritten),
}

/// The outcome of an HTTPS request, as the metrics name it: `accepted`, `duplicate`,
/// `unrouted`, `written` (the user route), `in_progress` (409), `failed` (5xx: a retry can
/// help) or `rejected` (any other refusal, Genesys' 4xx to a user's own call included).
pub fn outcome(out: &Result<Answer, Reject>) -> &'static str {
    match out {
        Ok(Answer::Queued(d)) => delivered_outcome(d),
        Ok(Answer::Written(w)) if w.duplicate => "duplicate",
        Ok(Answer::Written(_)) => "written",
        Err(Reject::InProgress { .. }) => "in_progress",
        Err(r) if r.status() >= 500 => "failed",
        Err(_) => "rejected",
    }
}

/// The outcome of a delivered event: `duplicate`, `unrouted` (no job asked for) or
/// `accepted` (jobs queued).
pub fn delivered_outcome(d: &Delivered) -> &'static str {
    match (d.duplicate, d.jobs) {
        (true, _) => "duplicate",
        (false, 0) => "unrouted",
        _ => "accepted",
    }
}

/// The outcome of an EventBridge event that was not delivered: `in_progress`, `rejected`
/// (invalid, or for an org that is not configured: retrying cannot help) or `failed`.
pub fn error_outcome(e: &BridgeError) -> &'static str {
    match e.kind {
        ErrorKind::Conflict => "in_progress",
        ErrorKind::Validation | ErrorKind::UnknownOrg | ErrorKind::WrongOrg => "rejected",
        _ => "failed",
    }
}

/// The summary of a delivered event (the EventBridge invocation's output, the 202 body).
pub fn summary(d: &Delivered) -> Value {
    json!({"accepted": true, "duplicate": d.duplicate, "eventId": d.event_id, "jobs": d.jobs})
}

/// The HTTP response for the outcome of a Function URL request.
pub fn http_answer(out: &Result<Answer, Reject>) -> Value {
    match out {
        Ok(Answer::Queued(d)) => accepted(d),
        Ok(Answer::Written(w)) => written(w),
        Err(r) => rejected(r),
    }
}

/// The one body every 401 carries.
pub const UNAUTHORIZED_MESSAGE: &str =
    "missing or invalid credentials for this endpoint (POST /orgs/{orgId}/events: Bearer shared secret or X-Bridge-Signature HMAC; POST /orgs/{orgId}/user/events: a Genesys user token of the org)";

pub fn accepted(d: &Delivered) -> Value {
    http(202, summary(d), &[])
}

/// A user's write, made: 200 with what Genesys accepted (or that it was a duplicate).
pub fn written(w: &UserWritten) -> Value {
    http(
        200,
        json!({"accepted": true, "duplicate": w.duplicate, "eventId": w.event_id,
               "written": w.written, "correlationId": w.correlation_id.clone().unwrap_or_default()}),
        &[],
    )
}

/// What a 404 or 405 says: the routes there are.
const ROUTES: &str = "expected POST /orgs/{orgId}/events or POST /orgs/{orgId}/user/events";

pub fn rejected(r: &Reject) -> Value {
    let status = r.status();
    let (body, extra): (Value, Vec<(&str, String)>) = match r {
        Reject::BadRequest(e) => (
            json!({"accepted": false, "errorType": e.error_type(), "field": e.field, "message": e.message}),
            vec![],
        ),
        Reject::Unauthorized(_) => (
            json!({"accepted": false, "errorType": "Unauthorized", "message": UNAUTHORIZED_MESSAGE}),
            vec![("www-authenticate", "Bearer".into())],
        ),
        Reject::Forbidden(e) => (
            json!({"accepted": false, "errorType": e.error_type(), "field": e.field, "message": e.to_string()}),
            vec![],
        ),
        Reject::Upstream(e) => (
            json!({"accepted": false, "errorType": e.error_type(), "retryable": e.retryable(),
                   "missingPermissions": e.missing_permissions, "correlationId": e.correlation_id,
                   "message": e.to_string()}),
            e.retry_after
                .map(|d| vec![("retry-after", d.as_secs().max(1).to_string())])
                .unwrap_or_default(),
        ),
        Reject::NotFound => (
            json!({"accepted": false, "errorType": "NotFound", "message": ROUTES}),
            vec![],
        ),
        Reject::MethodNotAllowed => (
            json!({"accepted": false, "errorType": "MethodNotAllowed", "message": ROUTES}),
            vec![("allow", "POST".into())],
        ),
        Reject::InProgress { event_id } => (
            json!({"accepted": false, "errorType": "Bridge.InProgress", "eventId": event_id, "retryable": true,
                   "message": "this event is being processed by another request; retry shortly"}),
            vec![("retry-after", "2".into())],
        ),
        Reject::TooLarge { size, limit } => (
            json!({"accepted": false, "errorType": "Input.TooLarge",
                   "message": format!("the body is {size} bytes; the limit is {limit} bytes (BRIDGE_MAX_BODY_BYTES)")}),
            vec![],
        ),
        Reject::Failed(e) => (
            json!({"accepted": false, "errorType": e.error_type(), "retryable": true,
                   "message": "the event could not be queued and was not recorded as done; retry it"}),
            vec![],
        ),
        Reject::Unavailable(e) => (
            json!({"accepted": false, "errorType": e.error_type(), "retryable": true,
                   "message": "the Genesys token could not be checked right now; retry shortly"}),
            vec![("retry-after", "5".into())],
        ),
    };
    http(status, body, &extra)
}

fn http(status: u16, body: Value, extra: &[(&str, String)]) -> Value {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (k, v) in extra {
        if let (Ok(k), Ok(v)) = (
            aws_lambda_events::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(k, v);
        }
    }
    let mut resp = LambdaFunctionUrlResponse::default();
    resp.status_code = status as i64;
    resp.headers = headers;
    resp.body = Some(body.to_string());
    resp.is_base64_encoded = false;
    serde_json::to_value(resp).expect("a Function URL response always serializes")
}
