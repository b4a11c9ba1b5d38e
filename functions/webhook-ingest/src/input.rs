//! What arrives, parsed into typed requests: an EventBridge partner event from Genesys, or
//! a Lambda Function URL request. Pure: no I/O, nothing authenticated yet.
//!
//! Which of the two an invocation is comes from the one classifier,
//! [`bridge::event::accept`]; anything else is refused with a message that names what
//! webhook-ingest takes. Nothing here trusts the payload for tenancy: the org of an
//! EventBridge event is taken from its `source` (set by EventBridge for the partner event
//! source, not by the sender), the org of an HTTPS request from its path, to be proven by a
//! credential (see `auth`).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::http::HeaderMap;
use base64::Engine;
use bridge::event::{accept, EventKind};
use bridge::input::{canonical_uuid, preview, PREVIEW_CHARS};
use bridge::BridgeError;
use serde_json::Value;

use crate::auth::SIGNATURE_HEADER;
use crate::response::Reject;

/// `source` of Genesys partner events: `aws.partner/genesys.com/cloud/{orgId}/{suffix}`.
pub const GENESYS_SOURCE_PREFIX: &str = "aws.partner/genesys.com/cloud/";

/// Longest event id / `Idempotency-Key` accepted (DynamoDB keys allow far more; ids this
/// long are a client bug).
pub const MAX_EVENT_ID_CHARS: usize = 256;

/// The invocation kinds webhook-ingest takes.
pub const TAKES: [EventKind; 2] = [EventKind::EventBridge, EventKind::FunctionUrl];

/// An invocation, read.
#[derive(Debug)]
pub enum Inbound {
    /// A Genesys event delivered by EventBridge.
    Partner(PartnerEvent),
    /// A Function URL request, or why it cannot be served: an HTTPS caller is always
    /// answered over HTTP, never with an invocation error.
    Https(Result<HttpRequest, Reject>),
}

/// Reads an invocation payload. An error (not one of [`TAKES`], or an EventBridge envelope
/// that cannot be used) names the field; it fails the invocation.
pub fn read(event: &Value, max_body_bytes: usize) -> Result<Inbound, BridgeError> {
    match accept(event, "webhook-ingest", &TAKES)? {
        EventKind::FunctionUrl => Ok(Inbound::Https(function_url(event, max_body_bytes))),
        // `accept` lets only the kinds of TAKES through: this is EventBridge.
        _ => partner_event(event).map(Inbound::Partner),
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
pub fn partner_event(event: &Value) -> Result<PartnerEvent, BridgeError> {
    // serde's own message would quote the offending value: the shape error names the path.
    let env: EventBridgeEvent<Value> =
        bridge::shape::from_value(event).map_err(|e| e.validation("", "event"))?;
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
            format!(
                "expected {GENESYS_SOURCE_PREFIX}{{orgId}}/{{suffix}} with a Genesys org id; got {:?}",
                preview(source, PREVIEW_CHARS)
            ),
        )
    };
    let rest = source
        .strip_prefix(GENESYS_SOURCE_PREFIX)
        .ok_or_else(expected)?;
    let org = rest.split('/').next().unwrap_or_default();
    canonical_uuid(org).ok_or_else(expected)
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

/// Header that names the event of an unsigned HTTPS request for idempotency.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Which endpoint a request is for: they take different credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /orgs/{orgId}/events`: the org's shared secret or an HMAC signature.
    Events,
    /// `POST /orgs/{orgId}/user/events`: a Genesys user's token (agent desktop).
    UserEvents,
}

/// An HTTPS request to `POST /orgs/{orgId}/events` or `POST /orgs/{orgId}/user/events`,
/// not yet authenticated.
#[derive(Clone)]
pub struct HttpRequest {
    pub route: Route,
    /// The org of the path if it is an org id (a canonical UUID), else `None`; to be
    /// proven by a credential of that org, never trusted alone.
    pub org_id: Option<String>,
    /// The path's org segment as sent, for logs (quote it through `preview`).
    pub path_org: String,
    pub headers: HeaderMap,
    /// The `Idempotency-Key` header, checked ([`event_id`]); only ever on unsigned
    /// requests.
    pub idempotency_key: Option<String>,
    /// The raw body (base64-decoded if the Function URL encoded it): what HMACs cover.
    pub body: Vec<u8>,
    /// The Function URL request id, for logs.
    pub request_id: Option<String>,
}

/// Headers whose values are credentials: a `Debug` print shows them redacted.
const SECRET_HEADERS: [&str; 4] = [
    "authorization",
    SIGNATURE_HEADER,
    "cookie",
    "proxy-authorization",
];

// Not derived: a derived Debug would print the Authorization header (a shared secret or a
// Genesys token) and the signature, and the whole body.
impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, String)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let shown = if SECRET_HEADERS.contains(&k.as_str()) {
                    "[REDACTED]".to_string()
                } else {
                    preview(&String::from_utf8_lossy(v.as_bytes()), PREVIEW_CHARS)
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("route", &self.route)
            .field("org_id", &self.org_id)
            .field("path_org", &preview(&self.path_org, PREVIEW_CHARS))
            .field("headers", &headers)
            .field("idempotency_key", &self.idempotency_key)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }
}

/// Parses a Function URL request: route, method, headers, size limit and body decoding.
pub fn function_url(event: &Value, max_body_bytes: usize) -> Result<HttpRequest, Reject> {
    readable_headers(event).map_err(Reject::BadRequest)?;
    let req: LambdaFunctionUrlRequest = bridge::shape::from_value(event)
        .map_err(|e| Reject::BadRequest(e.validation("", "event")))?;
    let path = req
        .raw_path
        .as_deref()
        .or(req.request_context.http.path.as_deref())
        .unwrap_or("/");
    let (path_org, route) = org_from_path(path).ok_or(Reject::NotFound)?;
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
    let idempotency_key = idempotency_key(&req.headers).map_err(Reject::BadRequest)?;
    Ok(HttpRequest {
        route,
        org_id: canonical_uuid(path_org),
        path_org: path_org.to_string(),
        headers: req.headers,
        idempotency_key,
        body,
        request_id: req.request_context.request_id,
    })
}

/// `Idempotency-Key`, if sent: never silently ignored. A key that cannot be used (not
/// printable ASCII, blank, too long) is refused, and so is a key on a signed request: the
/// signature covers the timestamp and the body only, so an unsigned header must not decide
/// which event a signed body is (a replay with a new key would be a new event).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, BridgeError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    if headers.contains_key(SIGNATURE_HEADER) {
        return Err(BridgeError::validation(
            "Idempotency-Key",
            "a signed request (X-Bridge-Signature) takes its event id only from what is signed: put the id in the body's `id` field and drop this header",
        ));
    }
    let text = value.to_str().map_err(|_| {
        BridgeError::validation(
            "Idempotency-Key",
            format!("expected 1 to {MAX_EVENT_ID_CHARS} printable ASCII characters"),
        )
    })?;
    event_id("Idempotency-Key", text).map(Some)
}

/// Refuses a header whose value HTTP does not allow (a control character), naming the
/// header (`Idempotency-Key`), before the request is read; the value is never quoted.
fn readable_headers(event: &Value) -> Result<(), BridgeError> {
    let Some(headers) = event.get("headers").and_then(Value::as_object) else {
        return Ok(());
    };
    for (name, value) in headers {
        let ok = match value {
            Value::String(v) => aws_lambda_events::http::HeaderValue::from_str(v).is_ok(),
            _ => true,
        };
        if !ok {
            return Err(BridgeError::validation(
                header_name(name),
                "expected printable characters: this header holds a control character",
            ));
        }
    }
    Ok(())
}

/// `idempotency-key` as `Idempotency-Key` (cut to a preview).
fn header_name(name: &str) -> String {
    preview(name, PREVIEW_CHARS)
        .split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join("-")
}

/// `/orgs/{orgId}/events` or `/orgs/{orgId}/user/events` (a trailing slash is fine) -> the
/// org id segment and the route.
fn org_from_path(path: &str) -> Option<(&str, Route)> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    match parts.as_slice() {
        ["orgs", org, "events"] if !org.is_empty() => Some((org, Route::Events)),
        ["orgs", org, "user", "events"] if !org.is_empty() => Some((org, Route::UserEvents)),
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
        assert_eq!(
            org_from_path("/orgs/abc/events"),
            Some(("abc", Route::Events))
        );
        assert_eq!(
            org_from_path("/orgs/abc/events/"),
            Some(("abc", Route::Events))
        );
        assert_eq!(
            org_from_path("/orgs/abc/user/events"),
            Some(("abc", Route::UserEvents))
        );
        for p in [
            "/",
            "/orgs//events",
            "/orgs/abc",
            "/orgs/abc/events/x",
            "orgs/abc/events",
            "/x/abc/events",
            "/orgs//user/events",
            "/orgs/abc/user",
            "/orgs/abc/users/events",
            "/orgs/abc/user/events/x",
        ] {
            assert_eq!(org_from_path(p), None, "{p}");
        }
    }

    #[test]
    fn kinds() {
        let fixture = |name: &str| -> Value {
            let path = format!(
                "{}/../../events/webhook-ingest/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let http = fixture("function-url-command-attributes.json");
        assert!(matches!(read(&http, 4096), Ok(Inbound::Https(Ok(_)))));
        assert!(matches!(
            read(&http, 8),
            Ok(Inbound::Https(Err(Reject::TooLarge { .. })))
        ));
        let mut eb = fixture("eventbridge-acw.json");
        match read(&eb, 4096) {
            Ok(Inbound::Partner(ev)) => {
                assert_eq!(ev.org_id, "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11");
                assert_eq!(ev.event_id, "8f6e2d3c-1b4a-4c5d-9e8f-0a1b2c3d4e02");
            }
            other => panic!("{other:?}"),
        }
        eb["source"] = json!("my.app");
        // Refusals fail the invocation and name the field; which kind an event is comes
        // from bridge::event (its table test covers the edge cases).
        for (event, field) in [
            (eb, "source"),
            (json!({"requestContext": {}}), "requestContext"),
            (json!({"source": "x", "detail": {}}), "detail-type"),
            (json!([1]), "event"),
            (json!({"conversationId": "x"}), "event"),
            (json!({"Records": []}), "event"),
        ] {
            let e = read(&event, 4096).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{event}: {e}");
        }
        let e = read(&json!({"orgId": "x"}), 4096).unwrap_err();
        assert!(
            e.message
                .contains("webhook-ingest takes an EventBridge event or a Function URL request"),
            "{e}"
        );
    }

    #[test]
    fn debug_never_prints_credentials_or_the_body() {
        let mut ev: Value = bridge_testkit_fixture();
        ev["headers"]["authorization"] = json!("Bearer s3cr3t-bearer-0123456789abcdef");
        ev["headers"]["x-bridge-signature"] = json!("v1=s3cr3t-signature");
        ev["headers"]["idempotency-key"] = json!("k-1");
        ev["body"] = json!("{\"command\": \"s3cr3t-body\"}");
        let req = function_url(&ev, 4096);
        // A signed request with a key is refused; without the key it reads.
        assert!(
            matches!(req, Err(Reject::BadRequest(ref e)) if e.field.as_deref() == Some("Idempotency-Key"))
        );
        ev["headers"]
            .as_object_mut()
            .unwrap()
            .remove("idempotency-key");
        let req = function_url(&ev, 4096).unwrap();
        let dbg = format!("{req:?} {:?}", Inbound::Https(Ok(req.clone())));
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(
            dbg.contains("[REDACTED]") && dbg.contains("bytes>"),
            "{dbg}"
        );
        assert_eq!(header_name("idempotency-key"), "Idempotency-Key");
    }

    fn bridge_testkit_fixture() -> Value {
        let path = format!(
            "{}/../../events/webhook-ingest/function-url-command-attributes.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn event_ids() {
        assert_eq!(event_id("id", " a-1 ").unwrap(), "a-1");
        assert!(event_id("id", "").is_err());
        assert!(event_id("id", "a\nb").is_err());
        assert!(event_id("id", &"x".repeat(257)).is_err());
    }
}
