//! The two event shapes this function receives, parsed into what the rest needs: an
//! EventBridge partner event from Genesys, or a Lambda Function URL request.
//!
//! Nothing here trusts the payload for tenancy: the org of an EventBridge event is taken
//! from its `source` (set by EventBridge for the partner event source, not by the sender),
//! the org of an HTTPS request from its path, to be proven by a credential (see `auth`).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::http::HeaderMap;
use base64::Engine;
use bridge::BridgeError;
use serde::Deserialize;
use serde_json::Value;

use crate::Reject;

/// `source` of Genesys partner events: `aws.partner/genesys.com/cloud/{orgId}/{suffix}`.
pub const GENESYS_SOURCE_PREFIX: &str = "aws.partner/genesys.com/cloud/";

/// Longest event id / `Idempotency-Key` accepted (DynamoDB keys allow far more; ids this
/// long are a client bug).
pub const MAX_EVENT_ID_CHARS: usize = 256;

/// Which shape an invocation payload has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    EventBridge,
    FunctionUrl,
    Unknown,
}

pub fn shape(event: &Value) -> Shape {
    match event.as_object() {
        Some(o) if o.contains_key("requestContext") => Shape::FunctionUrl,
        Some(o) if o.contains_key("detail-type") || o.contains_key("source") => Shape::EventBridge,
        _ => Shape::Unknown,
    }
}

/// A Genesys event delivered by EventBridge.
#[derive(Debug, Clone)]
pub struct PartnerEvent {
    /// From `source`.
    pub org_id: String,
    /// The envelope `id`: the same on every redelivery of the event.
    pub event_id: String,
    /// `{topicName, version, eventBody, metadata, timestamp}`.
    pub detail: Value,
}

/// Parses an EventBridge envelope; errors name the field.
pub fn parse_eventbridge(event: &Value) -> Result<PartnerEvent, BridgeError> {
    let env = EventBridgeEvent::<Value>::deserialize(event).map_err(|e| {
        BridgeError::validation(
            "event",
            format!("expected an EventBridge event with source, detail-type and detail: {e}"),
        )
    })?;
    let org_id = org_from_source(&env.source)?;
    let event_id = match env.id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => event_id("id", id)?,
        _ => {
            return Err(BridgeError::validation(
                "id",
                "expected the EventBridge event id",
            ))
        }
    };
    if !env.detail.is_object() {
        return Err(BridgeError::validation(
            "detail",
            "expected an object {topicName, eventBody, ...}",
        ));
    }
    Ok(PartnerEvent {
        org_id,
        event_id,
        detail: env.detail,
    })
}

/// The org id of a Genesys partner event source, as a canonical (lowercase) UUID.
pub fn org_from_source(source: &str) -> Result<String, BridgeError> {
    let expected = || {
        BridgeError::validation(
            "source",
            format!("expected {GENESYS_SOURCE_PREFIX}{{orgId}}/{{suffix}} with a Genesys org id; got {source:?}"),
        )
    };
    let rest = source
        .strip_prefix(GENESYS_SOURCE_PREFIX)
        .ok_or_else(expected)?;
    let org = rest.split('/').next().unwrap_or_default();
    canonical_uuid(org).ok_or_else(expected)
}

/// `Some(lowercase hyphenated)` if `s` is a UUID in the usual 36-character form.
pub fn canonical_uuid(s: &str) -> Option<String> {
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::parse_str(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// Checks an event id (envelope id, `Idempotency-Key`, body `id`).
pub fn event_id(field: &str, id: &str) -> Result<String, BridgeError> {
    let id = id.trim();
    if id.is_empty() || id.chars().count() > MAX_EVENT_ID_CHARS || id.chars().any(char::is_control)
    {
        return Err(BridgeError::validation(
            field,
            format!("expected 1 to {MAX_EVENT_ID_CHARS} printable characters"),
        ));
    }
    Ok(id.to_string())
}

/// An HTTPS request to `POST /orgs/{orgId}/events`, not yet authenticated.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// From the path, as sent (checked against the org store, never trusted alone).
    pub org_id: String,
    pub headers: HeaderMap,
    /// The raw body (base64-decoded if the Function URL encoded it): what HMACs cover.
    pub body: Vec<u8>,
    /// The Function URL request id, for logs.
    pub request_id: Option<String>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }
}

/// Parses a Function URL request: route, method, size limit and body decoding.
pub fn parse_http(event: &Value, max_body_bytes: usize) -> Result<HttpRequest, Reject> {
    let req = LambdaFunctionUrlRequest::deserialize(event).map_err(|e| {
        Reject::BadRequest(BridgeError::validation(
            "event",
            format!("expected a Lambda Function URL request: {e}"),
        ))
    })?;
    let path = req
        .raw_path
        .as_deref()
        .or(req.request_context.http.path.as_deref())
        .unwrap_or("/");
    let org_id = org_from_path(path).ok_or(Reject::NotFound)?;
    let method = req.request_context.http.method.as_deref().unwrap_or("");
    if !method.eq_ignore_ascii_case("POST") {
        return Err(Reject::MethodNotAllowed);
    }
    let raw = req.body.unwrap_or_default();
    let body = if req.is_base64_encoded {
        // Refuse before decoding: base64 is 4 characters per 3 bytes.
        let approx = raw.len() / 4 * 3;
        if approx > max_body_bytes + 3 {
            return Err(Reject::TooLarge {
                size: approx,
                limit: max_body_bytes,
            });
        }
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|e| {
                Reject::BadRequest(BridgeError::validation(
                    "body",
                    format!("the request says isBase64Encoded but the body is not base64: {e}"),
                ))
            })?
    } else {
        raw.into_bytes()
    };
    if body.len() > max_body_bytes {
        return Err(Reject::TooLarge {
            size: body.len(),
            limit: max_body_bytes,
        });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Reject::BadRequest(BridgeError::validation(
            "body",
            "expected a JSON body: a Genesys notification {topicName, eventBody} or a command {command, payload}",
        )));
    }
    Ok(HttpRequest {
        org_id: org_id.to_string(),
        headers: req.headers,
        body,
        request_id: req.request_context.request_id,
    })
}

/// `/orgs/{orgId}/events` (a trailing slash is fine) -> the org id segment.
fn org_from_path(path: &str) -> Option<&str> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut parts = path.strip_prefix('/')?.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("orgs"), Some(org), Some("events"), None) if !org.is_empty() => Some(org),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn org_comes_from_the_source() {
        assert_eq!(
            org_from_source(
                "aws.partner/genesys.com/cloud/4F2B1C9E-8A31-4D6E-9B7A-2C5D8E1F0A11/bridge"
            )
            .unwrap(),
            "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11"
        );
        for bad in [
            "aws.partner/genesys.com/cloud/acme/bridge",
            "aws.partner/example.com/cloud/4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11/x",
            "custom.source",
            "",
        ] {
            let e = org_from_source(bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("source"), "{bad}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(org_from_path("/orgs/abc/events"), Some("abc"));
        assert_eq!(org_from_path("/orgs/abc/events/"), Some("abc"));
        for p in [
            "/",
            "/orgs//events",
            "/orgs/abc",
            "/orgs/abc/events/x",
            "orgs/abc/events",
            "/x/abc/events",
        ] {
            assert_eq!(org_from_path(p), None, "{p}");
        }
    }

    #[test]
    fn shapes() {
        assert_eq!(shape(&json!({"requestContext": {}})), Shape::FunctionUrl);
        assert_eq!(
            shape(&json!({"source": "x", "detail-type": "y"})),
            Shape::EventBridge
        );
        assert_eq!(shape(&json!([1])), Shape::Unknown);
        assert_eq!(shape(&json!({"conversationId": "x"})), Shape::Unknown);
    }

    #[test]
    fn event_ids() {
        assert_eq!(event_id("id", " a-1 ").unwrap(), "a-1");
        assert!(event_id("id", "").is_err());
        assert!(event_id("id", "a\nb").is_err());
        assert!(event_id("id", &"x".repeat(257)).is_err());
    }
}
