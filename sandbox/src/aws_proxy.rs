//! A fault-injecting HTTP proxy in front of the local AWS emulator (moto), so the AWS side
//! of a function can meet what AWS really does now and then: throttling, a 5xx, a request
//! that times out, and a request that is **applied but whose answer is lost** (the
//! emulator did it; the connection drops before the answer reaches the client, so the SDK
//! retries something that already happened).
//!
//! Point an SDK config's endpoint at [`AwsProxy::endpoint`]; every request is forwarded to
//! the emulator unless a fault says otherwise. Faults come from scripted rules
//! ([`AwsProxy::inject`]: "the next `PutItem` loses its answer"), then from a seeded rate
//! ([`AwsProxy::set_chaos`]), decided like the sandbox's chaos faults: a pure function of
//! the seed, the operation and its record or job ids, and how many such requests came
//! before. Only loopback upstreams are accepted.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::chaos::unit;

/// One kind of AWS-side fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AwsFault {
    /// 400 `ThrottlingException` (not forwarded).
    Throttled,
    /// 500 (not forwarded).
    ServerError,
    /// Forwarded and applied; then the connection drops before the answer.
    AnswerLost,
    /// Not forwarded; the connection is held past the SDK's attempt timeout, then dropped.
    TimedOut,
}

impl AwsFault {
    pub const ALL: [AwsFault; 4] = [
        AwsFault::Throttled,
        AwsFault::ServerError,
        AwsFault::AnswerLost,
        AwsFault::TimedOut,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AwsFault::Throttled => "throttled",
            AwsFault::ServerError => "5xx",
            AwsFault::AnswerLost => "applied-answer-lost",
            AwsFault::TimedOut => "timeout",
        }
    }

    fn weight(self) -> u64 {
        match self {
            AwsFault::Throttled => 35,
            AwsFault::ServerError => 30,
            AwsFault::AnswerLost => 25,
            AwsFault::TimedOut => 10,
        }
    }
}

/// How long a timed-out request is held: past the 4 s attempt timeout of
/// `bridge::aws::sdk_config`.
pub const DEFAULT_STALL: Duration = Duration::from_secs(5);

/// A running proxy. Dropping it stops it.
pub struct AwsProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (operation or `*`, faults still to inject in order; `None` passes one through).
    scripted: Vec<(String, VecDeque<Option<AwsFault>>)>,
    chaos: Option<(u64, f64)>,
    stall: Option<Duration>,
    seen: HashMap<String, u64>,
    injected: BTreeMap<AwsFault, u64>,
    requests: BTreeMap<String, u64>,
}

impl AwsProxy {
    /// Starts on a free loopback port in front of `upstream` (a loopback URL, such as
    /// `http://127.0.0.1:5000`).
    pub async fn start(upstream: &str) -> io::Result<AwsProxy> {
        let url = url::Url::parse(upstream).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{upstream:?}: {e}"))
        })?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if !loopback {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the AWS fault proxy only fronts a loopback emulator; {upstream} is not loopback"),
            ));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(io::Error::other)?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http,
            inner: Mutex::new(Inner::default()),
        });
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = signal.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "AWS fault proxy stopped");
            }
        });
        Ok(AwsProxy {
            addr,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// The URL to give the SDK as its endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next requests for `operation` (`PutItem`, `SendMessageBatch`, ... or `*`) get
    /// these faults, one each, in order (`None` lets one through).
    pub fn inject(&self, operation: &str, faults: impl IntoIterator<Item = Option<AwsFault>>) {
        self.lock()
            .scripted
            .push((operation.to_string(), faults.into_iter().collect()));
    }

    /// Faults at `rate` (0.0..=1.0) with `seed`, or none; resets the counts.
    pub fn set_chaos(&self, chaos: Option<(u64, f64)>) {
        let mut inner = self.lock();
        inner.chaos = chaos.map(|(seed, rate)| (seed, rate.clamp(0.0, 1.0)));
        inner.seen.clear();
        inner.injected.clear();
    }

    /// How long a [`AwsFault::TimedOut`] request is held (default [`DEFAULT_STALL`]).
    pub fn set_stall(&self, stall: Duration) {
        self.lock().stall = Some(stall);
    }

    /// Faults injected so far, by kind.
    pub fn injected(&self) -> BTreeMap<AwsFault, u64> {
        self.lock().injected.clone()
    }

    /// Requests received so far, by operation (faulted ones included).
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

/// `DynamoDB_20120810.PutItem` -> `PutItem`; the query protocol's `Action=` otherwise.
fn operation(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// What a request is about, stable across runs: the record key of a DynamoDB call, the
/// job ids of an SQS send, else the operation alone.
fn identity(operation: &str, body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return operation.to_string();
    };
    let record = ["Key", "Item"]
        .iter()
        .find_map(|k| v.get(k)?.get("id")?.get("S")?.as_str());
    if let Some(id) = record {
        return format!("{operation} {id}");
    }
    let job = |body: &Value| -> Option<String> {
        let text = body.as_str()?;
        let msg: Value = serde_json::from_str(text).ok()?;
        Some(msg.get("jobId")?.as_str()?.to_string())
    };
    let jobs: Vec<String> = match v.get("Entries").and_then(Value::as_array) {
        Some(entries) => entries
            .iter()
            .filter_map(|e| job(e.get("MessageBody")?))
            .collect(),
        None => v.get("MessageBody").and_then(job).into_iter().collect(),
    };
    if jobs.is_empty() {
        operation.to_string()
    } else {
        format!("{operation} {}", jobs.join(","))
    }
}

impl Shared {
    fn decide(&self, operation: &str, body: &[u8]) -> (Option<AwsFault>, Duration) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *inner.requests.entry(operation.to_string()).or_default() += 1;
        let stall = inner.stall.unwrap_or(DEFAULT_STALL);
        let scripted = inner
            .scripted
            .iter_mut()
            .find(|(op, left)| (op == "*" || op == operation) && !left.is_empty())
            .and_then(|(_, left)| left.pop_front());
        inner.scripted.retain(|(_, left)| !left.is_empty());
        let fault = match scripted {
            Some(f) => f,
            None => match inner.chaos {
                Some((seed, rate)) => {
                    let id = identity(operation, body);
                    let n = inner.seen.entry(id.clone()).or_default();
                    *n += 1;
                    pick(seed, &id, *n, rate)
                }
                None => None,
            },
        };
        if let Some(f) = fault {
            *inner.injected.entry(f).or_default() += 1;
        }
        (fault, stall)
    }
}

fn pick(seed: u64, identity: &str, occurrence: u64, rate: f64) -> Option<AwsFault> {
    if unit(seed, identity, occurrence, 11) >= rate {
        return None;
    }
    let total: u64 = AwsFault::ALL.iter().map(|f| f.weight()).sum();
    let mut x = (unit(seed, identity, occurrence, 12) * total as f64) as u64;
    for f in AwsFault::ALL {
        if x < f.weight() {
            return Some(f);
        }
        x -= f.weight();
    }
    None
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &format!("unreadable body: {e}")),
    };
    let op = operation(&parts.headers, &body);
    let dynamodb = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("DynamoDB"));
    let (fault, stall) = shared.decide(&op, &body);
    match fault {
        Some(AwsFault::Throttled) => return aws_error(400, dynamodb, "ThrottlingException"),
        Some(AwsFault::ServerError) => {
            let code = if dynamodb {
                "InternalServerError"
            } else {
                "InternalFailure"
            };
            return aws_error(500, dynamodb, code);
        }
        Some(AwsFault::TimedOut) => {
            tokio::time::sleep(stall).await;
            return dropped();
        }
        _ => {}
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut req = shared
        .http
        .request(parts.method.clone(), format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            req = req.header(name, value);
        }
    }
    let upstream = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return plain(
                StatusCode::BAD_GATEWAY,
                &format!("the AWS emulator did not answer: {e}"),
            )
        }
    };
    let status = upstream.status();
    let headers = upstream.headers().clone();
    let bytes = upstream.bytes().await.unwrap_or_default();
    if fault == Some(AwsFault::AnswerLost) {
        return dropped();
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "content-length" | "connection" | "transfer-encoding" | "keep-alive"
    )
}

/// An error as the awsJson protocols send it (both DynamoDB and SQS speak JSON).
fn aws_error(status: u16, dynamodb: bool, code: &str) -> Response {
    let namespace = if dynamodb {
        "com.amazonaws.dynamodb.v20120810"
    } else {
        "com.amazonaws.sqs"
    };
    let body = json!({
        "__type": format!("{namespace}#{code}"),
        "message": "fault injected by the bridge-sandbox AWS fault proxy",
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = response.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(v) = HeaderValue::from_str(code) {
        h.insert("x-amzn-errortype", v);
    }
    response
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut response = Response::new(Body::from(text.to_string()));
    *response.status_mut() = status;
    response
}

/// A response whose body fails at once: the connection closes without an answer.
fn dropped() -> Response {
    let failed = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "AWS fault proxy: answer lost",
        ))
    });
    Response::new(Body::from_stream(failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_identities() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.PutItem"),
        );
        assert_eq!(operation(&h, b""), "PutItem");
        assert_eq!(
            operation(&HeaderMap::new(), b"Action=SendMessage&x=1"),
            "SendMessage"
        );
        let put = json!({"TableName": "t", "Item": {"id": {"S": "org#evt"}}});
        assert_eq!(
            identity("PutItem", put.to_string().as_bytes()),
            "PutItem org#evt"
        );
        let batch = json!({"QueueUrl": "q", "Entries": [
            {"Id": "0", "MessageBody": json!({"jobId": "e1:0"}).to_string()},
            {"Id": "1", "MessageBody": json!({"jobId": "e2:0"}).to_string()},
        ]});
        assert_eq!(
            identity("SendMessageBatch", batch.to_string().as_bytes()),
            "SendMessageBatch e1:0,e2:0"
        );
        assert_eq!(identity("ListQueues", b"{}"), "ListQueues");
    }

    #[tokio::test]
    async fn only_a_loopback_emulator_is_fronted() {
        for bad in [
            "https://sqs.us-east-1.amazonaws.com",
            "http://10.0.0.5:5000",
            "nope",
        ] {
            assert!(AwsProxy::start(bad).await.is_err(), "{bad}");
        }
        let p = AwsProxy::start("http://127.0.0.1:5000").await.unwrap();
        assert!(p.endpoint().starts_with("http://127.0.0.1:"));
    }

    #[test]
    fn the_rate_holds_and_decisions_repeat() {
        let hits = (0..10_000)
            .filter(|i| pick(3, "PutItem k", *i, 0.2).is_some())
            .count();
        assert!((1_800..2_200).contains(&hits), "{hits}");
        assert_eq!(pick(3, "PutItem k", 17, 0.5), pick(3, "PutItem k", 17, 0.5));
    }
}
