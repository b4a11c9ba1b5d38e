//! The one HTTP loop both upstream clients use: send, classify, and follow the retry policy.
//!
//! Clients describe a request ([`Call`]), say how to authenticate ([`Authorizer`]) and how
//! to read their upstream's error bodies ([`ErrorReader`]); this module does the rest, the
//! same way for Genesys and Zendesk: one `reqwest::Client`, one policy, one error type, one
//! `tracing` event per attempt, nothing waiting past the deadline.

use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use crate::deadline::Deadline;
use crate::error::{BridgeError, ErrorKind, Result, Upstream};
use crate::metrics::{self, Answer};
use crate::retry::{self, Attempt, Decision, Outcome, RetryPolicy, StopReason};

/// Longest wait for one attempt (always further capped by the deadline).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared HTTP client and retry policy. Build once per process.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    policy: RetryPolicy,
    request_timeout: Duration,
}

impl HttpClient {
    pub fn new() -> Result<HttpClient> {
        HttpClient::with_policy(RetryPolicy::default())
    }

    pub fn with_policy(policy: RetryPolicy) -> Result<HttpClient> {
        let built = |e: &dyn std::fmt::Display| {
            BridgeError::internal(format!("could not build the HTTP client: {e}"))
        };
        let inner = reqwest::Client::builder()
            .user_agent(concat!("genesys-bridge/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(3))
            .pool_idle_timeout(Duration::from_secs(50))
            .tls_backend_preconfigured(tls_config().map_err(|e| built(&e))?)
            .build()
            .map_err(|e| built(&e))?;
        Ok(HttpClient {
            inner,
            policy,
            request_timeout: REQUEST_TIMEOUT,
        })
    }

    /// The longest wait for one attempt (default 10 s; always further capped by the
    /// deadline). Chaos runs shorten it so that injected timeouts cost seconds.
    pub fn with_request_timeout(mut self, timeout: Duration) -> HttpClient {
        self.request_timeout = timeout;
        self
    }

    /// The underlying client, for the AWS SDK's transport ([`crate::aws::sdk_config_with`]).
    #[cfg(feature = "aws")]
    pub(crate) fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }
}

/// The TLS settings of every HTTPS call of the process (Genesys, Zendesk and, through
/// [`crate::aws`], AWS): TLS 1.2 or 1.3 over ring, HTTP/1.1, and the Mozilla root
/// certificates compiled into the binary. The system's certificate files are not read:
/// reading and parsing them (once for reqwest, once more for the AWS SDK) was most of a
/// cold start, and Lambda's own store holds the same Mozilla set.
fn tls_config() -> std::result::Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A body to send.
#[derive(Debug, Clone)]
pub enum Body {
    Json(serde_json::Value),
    Form(&'static str),
}

/// One logical call (which may take several attempts).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub url: String,
    pub body: Option<Body>,
    /// Repeating it is harmless: GETs, attribute PATCHes (same merge again), safe updates,
    /// and anything sent with an `idempotency_key`.
    pub idempotent: bool,
    /// What we are doing, in words an admin reads: "patch participant attributes".
    pub operation: &'static str,
    /// Sent as `Idempotency-Key`, for an upstream that answers a repeat of the key with the
    /// first answer instead of doing it again (Zendesk's ticket creation).
    pub idempotency_key: Option<String>,
}

impl Call {
    pub fn get(url: String, operation: &'static str) -> Call {
        Call {
            method: Method::GET,
            url,
            body: None,
            idempotent: true,
            operation,
            idempotency_key: None,
        }
    }
    pub fn with_body(mut self, method: Method, body: Body, idempotent: bool) -> Call {
        self.method = method;
        self.body = Some(body);
        self.idempotent = idempotent;
        self
    }

    /// Sends `Idempotency-Key: key`: the upstream does it once however often it is sent,
    /// so the call may be repeated (after a lost answer, too).
    pub fn with_idempotency_key(mut self, key: String) -> Call {
        self.idempotency_key = Some(key);
        self.idempotent = true;
        self
    }
}

/// An HTTP answer, read fully.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub correlation_id: Option<String>,
}

impl RawResponse {
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        upstream: Upstream,
        operation: &str,
    ) -> Result<T> {
        let unexpected = |what: String| {
            BridgeError::upstream(upstream, ErrorKind::UnexpectedResponse, what)
                .with_status(self.status)
                .with_operation(operation)
                .with_correlation_id(self.correlation_id.clone())
        };
        // Answers hold customer data (a user search answers names and emails): a syntax
        // error names a line and column, a shape error a path and the expected type, and
        // neither quotes a value.
        let v: serde_json::Value = serde_json::from_slice(&self.body).map_err(|e| {
            unexpected(format!("could not read the {upstream} answer as JSON: {e}"))
        })?;
        crate::shape::from_value(&v).map_err(|e| {
            unexpected(format!(
                "the {upstream} answer does not have the expected shape at `{}`: {}",
                e.field("", "<answer>"),
                e.expected
            ))
        })
    }

    /// The `Retry-After` header as a wait, if present and readable.
    pub fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, SystemTime::now()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How a client authenticates a request.
#[async_trait]
pub trait Authorizer: Send + Sync {
    /// The `Authorization` header value, or `None`.
    async fn authorization(&self, deadline: Deadline) -> Result<Option<SecretString>>;
    /// Told that the upstream answered 401 to `used`; returns whether a fresh credential can
    /// be had (a token cache can; a static API token cannot).
    async fn rejected(&self, used: &SecretString) -> bool;
}

/// Static credential (Zendesk API token or OAuth token, Genesys Basic client credentials).
pub struct StaticAuth(pub Option<SecretString>);

#[async_trait]
impl Authorizer for StaticAuth {
    async fn authorization(&self, _: Deadline) -> Result<Option<SecretString>> {
        Ok(self.0.clone())
    }
    async fn rejected(&self, _: &SecretString) -> bool {
        false
    }
}

/// How to read one upstream's answers.
pub trait ErrorReader: Send + Sync {
    fn upstream(&self) -> Upstream;
    /// Header carrying the upstream's request id.
    fn correlation_header(&self) -> &'static str;
    /// Turns a non-success answer into an error with a hint.
    fn read_error(&self, resp: &RawResponse) -> BridgeError;
    /// Throttling that is not a 429 (the Genesys token endpoint's 400).
    fn is_throttled(&self, _resp: &RawResponse) -> bool {
        false
    }
}

/// Runs `call` until success, a final answer, the attempt budget or the deadline.
pub async fn execute(
    http: &HttpClient,
    call: &Call,
    auth: &dyn Authorizer,
    reader: &dyn ErrorReader,
    org_id: &str,
    deadline: Deadline,
) -> Result<RawResponse> {
    let annotate = |e: BridgeError| e.or_org(org_id).with_operation(call.operation);
    let request = Encoded::new(call).map_err(annotate)?;
    let mut attempt: u32 = 0;
    let mut auth_refreshed = false;
    loop {
        attempt += 1;
        if deadline.is_expired() {
            return Err(annotate(deadline_error(reader.upstream(), attempt)));
        }
        // A failure to get the credential (the token endpoint, tokens/me) never sent this
        // call: its own `may_have_been_sent` says nothing about this one.
        let credential = auth.authorization(deadline).await.map_err(|mut e| {
            e.may_have_been_sent = false;
            annotate(e)
        })?;
        let req = request
            .build(http, credential.as_ref(), deadline)
            .map_err(annotate)?;
        let failure = match send_logged(req, reader, &request, org_id, attempt).await {
            Ok(raw) => return Ok(raw),
            Err(failure) => failure,
        };
        let decision = retry::decide(
            &http.policy,
            failure.outcome(reader),
            Attempt {
                number: attempt,
                auth_refreshed,
                idempotent: call.idempotent,
                remaining: deadline.remaining(),
                jitter: rand::random::<f64>(),
            },
        );
        match decision {
            Decision::RetryAfter(wait) => {
                tracing::debug!(upstream = %reader.upstream(), org_id, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                tokio::time::sleep(wait).await;
            }
            Decision::RefreshAuth => {
                let can = match &credential {
                    Some(c) => auth.rejected(c).await,
                    None => false,
                };
                if !can {
                    return Err(annotate(failure_error(reader, failure, None, &request)));
                }
                auth_refreshed = true;
            }
            Decision::Stop(reason) => {
                return Err(annotate(failure_error(
                    reader,
                    failure,
                    Some(reason),
                    &request,
                )));
            }
        }
    }
}

/// What stays the same across the attempts of one call: the body, encoded once (cheap to
/// clone per attempt), and the path to log (path only: queries can carry phone numbers and
/// emails).
struct Encoded<'a> {
    call: &'a Call,
    body: Option<(&'static str, Bytes)>,
    path: String,
}

impl<'a> Encoded<'a> {
    fn new(call: &'a Call) -> Result<Encoded<'a>> {
        let body = match &call.body {
            Some(Body::Json(v)) => Some((
                "application/json",
                Bytes::from(serde_json::to_vec(v).map_err(|e| {
                    BridgeError::internal(format!("could not serialize the request body: {e}"))
                })?),
            )),
            Some(Body::Form(f)) => Some((
                "application/x-www-form-urlencoded",
                Bytes::from_static(f.as_bytes()),
            )),
            None => None,
        };
        let path = url::Url::parse(&call.url)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        Ok(Encoded { call, body, path })
    }

    /// One attempt's request, with the credential of the moment.
    fn build(
        &self,
        http: &HttpClient,
        credential: Option<&SecretString>,
        deadline: Deadline,
    ) -> Result<reqwest::RequestBuilder> {
        let mut req = http
            .inner
            .request(self.call.method.clone(), &self.call.url)
            .timeout(deadline.cap(http.request_timeout));
        if let Some(c) = credential {
            let mut v = HeaderValue::from_str(c.expose_secret()).map_err(|_| {
                BridgeError::config(
                    "credentials",
                    "the credential contains characters not allowed in an HTTP header",
                )
            })?;
            // Keeps the value out of reqwest/hyper debug output.
            v.set_sensitive(true);
            req = req.header(AUTHORIZATION, v);
        }
        if let Some((content_type, bytes)) = &self.body {
            req = req.header(CONTENT_TYPE, *content_type).body(bytes.clone());
        }
        if let Some(key) = &self.call.idempotency_key {
            req = req.header("idempotency-key", key);
        }
        Ok(req)
    }
}

/// Sends one attempt and logs it; a success is the answer, anything else a [`Failure`] for
/// the retry policy.
async fn send_logged(
    req: reqwest::RequestBuilder,
    reader: &dyn ErrorReader,
    request: &Encoded<'_>,
    org_id: &str,
    attempt: u32,
) -> std::result::Result<RawResponse, Failure> {
    let started = Instant::now();
    let log = |status: Option<u16>, correlation_id: &Option<String>| {
        log_attempt(
            reader.upstream(),
            org_id,
            request.call,
            &request.path,
            attempt,
            status,
            correlation_id,
            started,
        )
    };
    let upstream = reader.upstream();
    match send(req, reader).await {
        Ok(raw) => {
            log(Some(raw.status), &raw.correlation_id);
            // Only failures can be throttling; a success's body is never read twice.
            let throttled = !(200..300).contains(&raw.status) && reader.is_throttled(&raw);
            let answer = Answer::Status {
                status: raw.status,
                throttled,
            };
            metrics::upstream_answer(upstream, org_id, answer);
            if (200..300).contains(&raw.status) {
                Ok(raw)
            } else {
                Err(Failure::Http(raw))
            }
        }
        Err((status, e)) => {
            log(status, &None);
            metrics::upstream_answer(upstream, org_id, Answer::Unreachable);
            Err(Failure::Transport(e))
        }
    }
}

/// What one failed attempt produced.
enum Failure {
    /// An HTTP answer that is not a success.
    Http(RawResponse),
    /// No (complete) HTTP answer.
    Transport(reqwest::Error),
}

impl Failure {
    /// What the retry policy needs to know about it.
    fn outcome(&self, reader: &dyn ErrorReader) -> Outcome {
        match self {
            Failure::Http(raw) => Outcome::Status {
                status: raw.status,
                retry_after: raw.retry_after(),
                throttled: reader.is_throttled(raw),
            },
            Failure::Transport(e) => Outcome::Transport {
                may_have_been_sent: !e.is_connect(),
            },
        }
    }
}

/// Sends one attempt and reads the whole answer; on failure, the status if one came.
async fn send(
    req: reqwest::RequestBuilder,
    reader: &dyn ErrorReader,
) -> std::result::Result<RawResponse, (Option<u16>, reqwest::Error)> {
    let mut resp = req.send().await.map_err(|e| (None, e))?;
    let status = resp.status().as_u16();
    let headers = std::mem::take(resp.headers_mut());
    let body = resp.bytes().await.map_err(|e| (Some(status), e))?;
    let correlation_id = headers
        .get(reader.correlation_header())
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(RawResponse {
        status,
        headers,
        body,
        correlation_id,
    })
}

fn failure_error(
    reader: &dyn ErrorReader,
    failure: Failure,
    reason: Option<StopReason>,
    request: &Encoded<'_>,
) -> BridgeError {
    let upstream = reader.upstream();
    // Whether the request may have taken effect: it reached the upstream and no refusal
    // came back. What a caller that must not repeat it (a message to a customer) decides on.
    let may_have_been_sent = match &failure {
        Failure::Http(raw) => raw.status >= 500 && raw.status != 501,
        Failure::Transport(t) => !t.is_connect(),
    };
    let mut e = match failure {
        Failure::Http(raw) => reader.read_error(&raw),
        Failure::Transport(t) => {
            let kind = ErrorKind::Transport;
            let what = if t.is_timeout() {
                "the request timed out"
            } else if t.is_connect() {
                "could not connect"
            } else {
                "the connection failed"
            };
            // reqwest's text names the whole URL, query included (a user search carries an
            // email or a phone number): the method and path say which call it was.
            let cause = transport_cause(&t.without_url());
            BridgeError::upstream(
                upstream,
                kind,
                format!(
                    "{what} ({} {}): {cause}",
                    request.call.method, request.path
                ),
            )
            .with_hint(format!(
                "{upstream} could not be reached; check the base URL / region and network, then retry"
            ))
        }
    };
    match reason {
        Some(StopReason::BeyondDeadline { wait, remaining }) => {
            e.message = format!(
                "{} (gave up: waiting {:.1}s would pass the invocation deadline, {:.1}s left)",
                e.message,
                wait.as_secs_f64(),
                remaining.as_secs_f64()
            );
            if e.retry_after.is_none() {
                e.retry_after = Some(wait);
            }
        }
        Some(StopReason::AttemptsExhausted) => {
            e.message = format!("{} (gave up after the retry budget was used)", e.message);
        }
        _ => {}
    }
    e.may_have_been_sent = may_have_been_sent;
    e
}

/// A transport error and its causes, without any URL ([`reqwest::Error::without_url`]
/// first): "error sending request: operation timed out".
fn transport_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn deadline_error(upstream: Upstream, attempt: u32) -> BridgeError {
    BridgeError::upstream(
        upstream,
        ErrorKind::DeadlineExceeded,
        format!("no time left before the invocation deadline (attempt {attempt})"),
    )
    .with_hint("raise the function timeout or the data action timeout; the work can be retried")
}

#[allow(clippy::too_many_arguments)]
fn log_attempt(
    upstream: Upstream,
    org_id: &str,
    call: &Call,
    path: &str,
    attempt: u32,
    status: Option<u16>,
    correlation_id: &Option<String>,
    started: Instant,
) {
    tracing::info!(
        upstream = upstream.as_str(),
        org_id,
        operation = call.operation,
        method = %call.method,
        path = %path,
        status = status.unwrap_or(0),
        attempt,
        correlation_id = correlation_id.as_deref().unwrap_or(""),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "upstream call"
    );
}

/// Percent-encodes one path segment (ids come from events).
pub fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
