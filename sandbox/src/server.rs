//! The HTTP front door: one fallback handler that reads every request, applies fault rules,
//! routes it to the upstream it addresses, stamps upstream headers and journals it.
//!
//! Routing is done by hand rather than with axum routes so that every unmatched request,
//! whatever its method or path, reaches the same loud 501 and is journaled like the rest.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;

use crate::chaos::{self, Chaos, ChaosFault};
use crate::faults::{Faults, InjectedBody, Injection};
use crate::journal::{auth_kind, record_body, Journal, JournalEntry, Upstream};
use crate::state::StateHandle;
use crate::{admin, genesys, zendesk};

/// Genesys' documented maximum request body [P].
pub(crate) const GENESYS_MAX_BODY: usize = 512_000;
/// [U] Zendesk's limit is not in upstream-facts; this only stops a runaway client.
pub(crate) const READ_LIMIT: usize = 4 * 1024 * 1024;

pub(crate) struct Shared {
    pub(crate) state: StateHandle,
    pub(crate) journal: Journal,
    pub(crate) faults: Faults,
    pub(crate) chaos: Chaos,
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

/// One received request, body already read, as the upstream modules see it.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// `ININ-Correlation-Id` for Genesys (and the error `contextId`), `X-Request-Id` for Zendesk.
    pub(crate) request_id: String,
}

impl Req {
    pub(crate) fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// The request body, and whether it is over the upstream's limit (unreadable counts as over).
async fn read_body(body: axum::body::Body, upstream: Upstream) -> (Bytes, bool) {
    match axum::body::to_bytes(body, READ_LIMIT).await {
        Ok(bytes) => {
            let limit = match upstream {
                Upstream::Genesys | Upstream::GenesysLogin => GENESYS_MAX_BODY,
                Upstream::Zendesk | Upstream::Other => READ_LIMIT,
            };
            let too_large = bytes.len() > limit;
            (bytes, too_large)
        }
        Err(_) => (Bytes::new(), true),
    }
}

async fn dispatch(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/__sandbox" || path.starts_with("/__sandbox/") {
        return admin::handle(&shared, request).await;
    }

    let started = Instant::now();
    let upstream = Upstream::classify(&path);
    let (parts, body) = request.into_parts();
    let (body, too_large) = read_body(body, upstream).await;
    let req = Req {
        method: parts.method,
        path,
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let Identity {
        org_id,
        user_id,
        zendesk_subdomain,
    } = identify(&shared.state, upstream, &req);

    let decision = shared.faults.decide(req.method.as_str(), &req.path);
    // An `applied` rule: the upstream acts before the client waits, then the latency and
    // the injected answer follow ("applied, but the answer was lost").
    let applied = decision
        .applied
        .then(|| answer(&shared, upstream, &req, None, None, too_large));
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    // Rules first; a chaos run's fault only where no rule answered.
    // A rule's lost answer is a drop after apply, like a chaos one (but not counted).
    let chaos = match (&decision.inject, decision.lose_answer) {
        (Some(_), _) => None,
        _ if applied.is_some() => None,
        (None, true) => Some(ChaosFault::DroppedAfter),
        (None, false) => shared
            .chaos
            .decide(upstream, req.method.as_str(), &req.path),
    };

    let response = match (decision.inject, applied) {
        (Some(injection), _) => answer(&shared, upstream, &req, Some(injection), None, too_large),
        (None, Some(response)) => response,
        (None, None) => answer(&shared, upstream, &req, None, chaos, too_large),
    };
    let response = with_request_id(response, upstream, &req.request_id);

    // A request that was never handled has no status; one whose answer is lost has the
    // status it would have had.
    let status = match chaos {
        Some(f) if !f.applies() && f.status().is_none() => 0,
        _ => response.status().as_u16(),
    };
    // Journaled before any stall: a client that gives up must not make the entry vanish.
    journal(
        &shared,
        &req,
        upstream,
        (org_id, user_id, zendesk_subdomain),
        status,
        started,
        chaos,
    );
    match chaos {
        Some(f) if f.is_timeout() => {
            let stall = shared.chaos.config().map(|c| c.stall).unwrap_or_default();
            tokio::time::sleep(stall).await;
            dropped()
        }
        Some(f) if f.is_dropped() => dropped(),
        _ => response,
    }
}

/// Stamps the upstream's request id header (`ININ-Correlation-Id`, Zendesk `X-Request-Id`).
fn with_request_id(mut response: Response, upstream: Upstream, id: &str) -> Response {
    let id_header = match upstream {
        Upstream::Genesys | Upstream::GenesysLogin => {
            HeaderName::from_static("inin-correlation-id")
        }
        Upstream::Zendesk | Upstream::Other => HeaderName::from_static("x-request-id"),
    };
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(id_header, value);
    }
    response
}

/// Logs one request and adds it to the journal.
fn journal(
    shared: &Shared,
    req: &Req,
    upstream: Upstream,
    (org_id, user_id, zendesk_subdomain): (Option<String>, Option<String>, Option<String>),
    status: u16,
    started: Instant,
    chaos: Option<ChaosFault>,
) {
    tracing::info!(
        target: "bridge_sandbox::request",
        method = %req.method,
        path = %req.path,
        status,
        org = %org_id.as_deref().unwrap_or("-"),
        fault = chaos.map(ChaosFault::name).unwrap_or("-"),
        "request"
    );
    shared.journal.push(JournalEntry {
        seq: 0,
        method: req.method.to_string(),
        path: req.path.clone(),
        query: req.query.clone(),
        upstream,
        org_id,
        user_id,
        zendesk_subdomain,
        auth: auth_kind(&req.headers).to_owned(),
        status,
        body: record_body(&req.headers, &req.body),
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        fault: chaos.map(|f| f.name().to_owned()),
    });
}

/// The answer to a request: a rule's injected one, a chaos fault's, or the upstream's own
/// (after a chaos conflict, on a ticket someone else just changed).
fn answer(
    shared: &Shared,
    upstream: Upstream,
    req: &Req,
    rule: Option<Injection>,
    chaos: Option<ChaosFault>,
    too_large: bool,
) -> Response {
    if let Some(injection) = rule {
        return injected(upstream, req, injection);
    }
    if let Some(status) = chaos.and_then(ChaosFault::status) {
        let retry_after = (status == 429)
            .then(|| shared.chaos.config().map(|c| c.retry_after_secs))
            .flatten();
        let injection = Injection {
            status,
            retry_after,
            body: InjectedBody::Default,
        };
        return injected(upstream, req, injection);
    }
    if chaos.is_some_and(|f| !f.applies()) {
        // Never handled: the client sees a timeout or a dropped connection.
        return empty(504);
    }
    if too_large {
        return payload_too_large(upstream, req);
    }
    let mut state = shared.state.lock();
    if chaos == Some(ChaosFault::Conflict) {
        if let Some((subdomain, id)) = chaos::ticket_update(req.method.as_str(), &req.path) {
            if let Some(t) = state
                .account_mut(subdomain)
                .and_then(|a| a.tickets.get_mut(&id))
            {
                t.bump_updated_at();
            }
        }
    }
    match upstream {
        Upstream::GenesysLogin => genesys::login(&mut state, req),
        Upstream::Genesys => genesys::api(&mut state, req),
        Upstream::Zendesk => zendesk::handle(&mut state, req),
        Upstream::Other => not_implemented(upstream, req),
    }
}

/// A response whose body fails at once: the server closes the connection without a
/// complete answer, as when a connection drops.
fn dropped() -> Response {
    let failed = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "bridge-sandbox chaos: connection dropped",
        ))
    });
    Response::new(Body::from_stream(failed))
}

/// Who a request is, as far as its credential tells.
#[derive(Default)]
struct Identity {
    org_id: Option<String>,
    user_id: Option<String>,
    zendesk_subdomain: Option<String>,
}

/// Who the request claims to be, for the journal: resolved independently of the handler so
/// that fault-injected requests are attributed too.
fn identify(state: &StateHandle, upstream: Upstream, req: &Req) -> Identity {
    match upstream {
        Upstream::GenesysLogin => {
            let org_id = match basic_credentials(&req.headers) {
                Some(Ok((id, secret))) => {
                    let state = state.lock();
                    state
                        .client(&id)
                        .filter(|(_, client)| client.secret == secret)
                        .map(|(org, _)| org.id.clone())
                }
                _ => None,
            };
            Identity {
                org_id,
                ..Identity::default()
            }
        }
        Upstream::Genesys => {
            let owner =
                bearer_token(&req.headers).and_then(|token| state.lock().token_owner(token));
            match owner {
                Some((org, principal)) => Identity {
                    org_id: Some(org),
                    user_id: principal.user_id().map(str::to_owned),
                    zendesk_subdomain: None,
                },
                None => Identity::default(),
            }
        }
        Upstream::Zendesk => Identity {
            zendesk_subdomain: zendesk::subdomain_of(&req.path).map(str::to_owned),
            ..Identity::default()
        },
        Upstream::Other => Identity::default(),
    }
}

fn injected(upstream: Upstream, req: &Req, injection: Injection) -> Response {
    let mut response = match injection.body {
        InjectedBody::Json(value) => json(injection.status, &value),
        InjectedBody::Text(text) => text_plain(injection.status, &text),
        InjectedBody::Default => match upstream {
            Upstream::GenesysLogin => genesys::default_token_error(injection.status),
            Upstream::Genesys => genesys::default_error(req, injection.status),
            Upstream::Zendesk | Upstream::Other => zendesk::default_error(injection.status),
        },
    };
    if let Some(secs) = injection.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn payload_too_large(upstream: Upstream, req: &Req) -> Response {
    match upstream {
        Upstream::Genesys | Upstream::GenesysLogin => genesys::error(
            req,
            413,
            // [U] the exact code is not in upstream-facts; the status is what clients act on.
            "request.entity.too.large",
            &format!("The request body exceeds the maximum of {GENESYS_MAX_BODY} bytes."),
        ),
        Upstream::Zendesk | Upstream::Other => zendesk::error(
            413,
            "RequestTooLarge",
            &format!("The request body exceeds the sandbox's limit of {READ_LIMIT} bytes."),
            None,
        ),
    }
}

/// The loud answer to anything the sandbox does not model, shaped like the upstream's errors
/// so clients surface the message instead of choking on the body.
pub(crate) fn not_implemented(upstream: Upstream, req: &Req) -> Response {
    let message = format!("bridge-sandbox does not implement {}", req.describe());
    tracing::warn!(target: "bridge_sandbox::request", %message);
    match upstream {
        Upstream::Genesys | Upstream::GenesysLogin => {
            genesys::error(req, 501, "sandbox.not.implemented", &message)
        }
        Upstream::Zendesk => zendesk::error(501, "NotImplemented", &message, None),
        Upstream::Other => json(
            501,
            &serde_json::json!({"error": "NotImplemented", "message": message}),
        ),
    }
}

pub(crate) fn json(status: u16, value: &serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(value)).into_response()
}

pub(crate) fn text_plain(status: u16, text: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_owned(),
    )
        .into_response()
}

pub(crate) fn empty(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Body::empty()).into_response()
}

/// `Some(Err(()))` when a Basic header is present but not `base64(user:password)`.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    Some(
        decoded
            .and_then(|s| {
                s.split_once(':')
                    .map(|(user, pass)| (user.to_owned(), pass.to_owned()))
            })
            .ok_or(()),
    )
}

pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
