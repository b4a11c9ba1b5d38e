//! The local endpoints of `bridge dev`: the ingest endpoints as a Function URL would serve
//! them, an invoke endpoint per function (the same JSON as a Lambda invoke; a data action
//! names the org alias it invokes, `POST /invoke/<function>:org-<orgId>`), and a worker
//! loop that drains the in-memory queue into the consumers. Each event is logged on stdout
//! as event -> jobs -> upstream calls -> what its metrics say per org; processing is
//! serialised so the log reads in order.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use base64::Engine;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

use super::{
    describe_call, describe_diagnostic, describe_job, diagnostic_json, seeded_agent, Function,
    Invoked, Pipeline, WorkerRun,
};
use crate::exit::CliError;

/// How often the worker loop looks at the queue (SQS long polling, locally).
const POLL: Duration = Duration::from_millis(200);

struct Dev {
    pipeline: Pipeline,
    /// One event at a time, so each log block shows one event's jobs and calls.
    turn: tokio::sync::Mutex<()>,
}

/// A bound, not yet serving, `bridge dev` server.
pub struct DevServer {
    listener: TcpListener,
    dev: Arc<Dev>,
}

impl DevServer {
    /// Starts the pipeline and binds 127.0.0.1:`port` (0 = any free port).
    pub async fn bind(orgs_dir: &Path, port: u16) -> Result<DevServer, CliError> {
        let pipeline = Pipeline::start(orgs_dir).await?;
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| CliError::usage(format!("could not listen on 127.0.0.1:{port}: {e}; pick another --port (0 = any free port)")))?;
        Ok(DevServer {
            listener,
            dev: Arc::new(Dev {
                pipeline,
                turn: tokio::sync::Mutex::new(()),
            }),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.dev.pipeline
    }

    /// The startup text: URLs and curl lines that work as printed.
    pub fn banner(&self, orgs_dir: &Path) -> String {
        let base = format!("http://{}", self.addr());
        let p = &self.dev.pipeline;
        let mut out = String::new();
        out.push_str("bridge dev: the whole pipeline on this machine (Ctrl-C to stop)\n\n");
        out.push_str(&format!(
            "  Genesys + Zendesk sandbox   {}\n",
            p.sandbox.base_url()
        ));
        out.push_str(&format!("  orgs from {}:\n", orgs_dir.display()));
        for o in &p.orgs {
            out.push_str(&format!(
                "    {}  {}\n",
                o.org_id,
                o.name.as_deref().unwrap_or("")
            ));
        }
        out.push_str("  queue and idempotency       in memory (a failed job is retried 3 times, then dead-lettered)\n\n");
        out.push_str(&format!(
            "  ingest (Function URL)       POST {base}/orgs/{{orgId}}/events       (shared secret or HMAC)\n"
        ));
        out.push_str(&format!(
            "  ingest, agent desktop       POST {base}/orgs/{{orgId}}/user/events  (a Genesys user's token)\n"
        ));
        for f in Function::ALL {
            // Data actions are invoked through their org's alias, as in the shared stack.
            let alias = match f {
                Function::WebhookIngest => "",
                _ => ":org-{orgId}",
            };
            out.push_str(&format!(
                "  invoke {:<20} POST {base}/invoke/{}{alias}\n",
                f.name(),
                f.name()
            ));
        }
        let Some(org) = p.orgs.first() else {
            return out;
        };
        let conv = "c0a00001-0000-4000-8000-000000000000";
        out.push_str("\nTry (the sandbox's seeded conversation, tickets and agent token; the secret is the example file's local one):\n");
        let attrs = json!({"command": "participant.attributes", "payload": {
            "conversationId": conv, "participantId": "c0a00001-0000-4000-8000-00000000c001",
            "attributes": {"tier": "gold"}}});
        out.push_str(&format!(
            "  curl -s {base}/orgs/{}/events -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' -d '{}'\n",
            org.org_id, org.webhook_secret, attrs
        ));
        let wrapup = json!({"command": "ticket.wrapup", "payload": {
            "conversationId": conv, "participantId": "c0a00001-0000-4000-8000-00000000a001",
            "wrapupCode": "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a21", "eventTimeMs": 1_795_255_650_000u64, "ticketId": 1001}});
        out.push_str(&format!(
            "  curl -s {base}/orgs/{}/events -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-2' -d '{}'\n",
            org.org_id, org.webhook_secret, wrapup
        ));
        if let Some((_, token)) = seeded_agent(&org.org_id) {
            out.push_str(&format!(
                "  curl -s {base}/orgs/{}/user/events -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-3' -d '{}'\n",
                org.org_id, attrs
            ));
        }
        out.push_str(&format!(
            "  curl -s {base}/invoke/ticket-status:org-{} -d '{{\"orgId\":\"{}\",\"ticketId\":\"1002\",\"status\":\"solved\",\"comment\":\"Solved from bridge dev\"}}'\n",
            org.org_id, org.org_id
        ));
        let fixture = "events/webhook-ingest/eventbridge-acw.json";
        if Path::new(fixture).is_file() {
            out.push_str(&format!(
                "  curl -s {base}/invoke/webhook-ingest -d @{fixture}\n"
            ));
        }
        out.push_str(
            "\nEach event is logged below: event -> jobs -> upstream calls -> metrics per org.\n",
        );
        out
    }

    /// Serves until `shutdown` completes; the worker loop runs alongside.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), CliError> {
        let worker = tokio::spawn(worker_loop(self.dev.clone()));
        let app = Router::new()
            .route("/", get(index))
            .route("/orgs/{org_id}/events", any(ingest))
            .route("/orgs/{org_id}/user/events", any(ingest))
            .route("/invoke/{function}", post(invoke))
            .fallback(fallback)
            .with_state(self.dev.clone());
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        worker.abort();
        served.map_err(|e| CliError::failed(format!("the local server stopped: {e}")))
    }
}

async fn index() -> &'static str {
    "bridge dev: POST /orgs/{orgId}/events and POST /orgs/{orgId}/user/events (ingest, as the Function URL), POST /invoke/{webhook-ingest|attribute-writer:org-<orgId>|ticket-status:org-<orgId>|agentless-messages:org-<orgId>} (Lambda invoke JSON)\n"
}

async fn fallback(method: Method, uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("bridge dev has no {method} {}; it serves POST /orgs/{{orgId}}/events, POST /orgs/{{orgId}}/user/events and POST /invoke/{{function}}[:org-{{orgId}}]\n", uri.path()),
    )
        .into_response()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// The Lambda Function URL event (payload format 2.0) for an HTTP request.
pub fn function_url_event(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut h = Map::new();
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes()).to_string();
        match h.get_mut(name.as_str()) {
            // Function URLs join repeated headers with commas.
            Some(Value::String(prev)) => {
                prev.push(',');
                prev.push_str(&v);
            }
            _ => {
                h.insert(name.as_str().to_string(), Value::String(v));
            }
        }
    }
    let (body, b64) = match std::str::from_utf8(body) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": uri.path(),
        "rawQueryString": uri.query().unwrap_or(""),
        "headers": h,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "bridge-dev",
            "domainName": headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1"),
            "domainPrefix": "bridge-dev",
            "http": {"method": method.as_str(), "path": uri.path(), "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": user_agent},
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "",
            "timeEpoch": now_ms(),
        },
        "body": body,
        "isBase64Encoded": b64,
    })
}

async fn ingest(
    State(dev): State<Arc<Dev>>,
    UrlPath(_org_id): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let event = function_url_event(&method, &uri, &headers, &body);
    let result = run_logged(
        &dev,
        &Invoked::unqualified(Function::WebhookIngest),
        event,
        &format!("{method} {}", uri.path()),
    )
    .await;
    match result {
        Ok(v) => function_url_response(&v),
        Err(d) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(diagnostic_json(&d)),
        )
            .into_response(),
    }
}

/// A Function URL response object -> the HTTP response.
fn function_url_response(v: &Value) -> Response {
    let status = v
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let body = v
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    if let Some(hs) = v.get("headers").and_then(Value::as_object) {
        for (k, val) in hs {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(k.as_bytes()),
                val.as_str().map(HeaderValue::from_str),
            ) {
                resp.headers_mut().insert(name, value);
            }
        }
    }
    resp
}

async fn invoke(
    State(dev): State<Arc<Dev>>,
    UrlPath(function): UrlPath<String>,
    body: Bytes,
) -> Response {
    let Some(invoked) = Invoked::parse(&function) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no function {function:?}; expected webhook-ingest, attribute-writer, ticket-status or agentless-messages, with the alias a data action invokes (attribute-writer:org-<orgId>)\n"),
        )
            .into_response();
    };
    let event: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"errorType": "InvalidRequestContentException", "errorMessage": format!("the invoke payload must be JSON: {e}")})),
            )
                .into_response()
        }
    };
    let what = format!("invoke {}", invoked.label());
    match run_logged(&dev, &invoked, event, &what).await {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        // Like Lambda's Invoke API: 200, X-Amz-Function-Error, and the error object.
        Err(d) => {
            let mut resp = (StatusCode::OK, axum::Json(diagnostic_json(&d))).into_response();
            resp.headers_mut().insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
            resp
        }
    }
}

/// Invokes `function` and logs the event, the jobs it queued and the upstream calls.
async fn run_logged(
    dev: &Dev,
    invoked: &Invoked,
    event: Value,
    what: &str,
) -> Result<Value, lambda_runtime::Diagnostic> {
    let _turn = dev.turn.lock().await;
    let p = &dev.pipeline;
    let mark = p.sandbox.last_seq();
    // Jobs still waiting for the worker are set aside, so that only the jobs this event
    // made are logged under it; all go back in their original order.
    let waiting = p.take_queued();
    let result = p.invoke_as(invoked, event).await;
    let made = p.take_queued();
    let requeue: Vec<_> = waiting.iter().chain(made.iter()).cloned().collect();
    p.requeue(&requeue).await;
    let summary = match &result {
        Ok(v) => match v.get("statusCode") {
            Some(s) => format!(
                "{s} {}",
                v.get("body").and_then(Value::as_str).unwrap_or("")
            ),
            None => format!("ok {v}"),
        },
        Err(d) => format!("error {}", describe_diagnostic(d)),
    };
    let mut log = format!("[{}] {what} -> {summary}\n", invoked.function.name());
    for j in &made {
        log.push_str(&format!("    job       {}\n", describe_job(j)));
    }
    push_calls(&mut log, &p.sandbox.journal_since(mark));
    push_metrics(&mut log, p);
    print!("{log}");
    result
}

fn push_calls(log: &mut String, calls: &[bridge_sandbox::JournalEntry]) {
    for c in calls {
        log.push_str(&format!("    upstream  {}\n", describe_call(c)));
    }
}

/// What the metrics lines written since the last block say, per org.
fn push_metrics(log: &mut String, p: &Pipeline) {
    let summary = bridge::metrics::Summary::of_lines(&p.metrics.take());
    for (who, counts) in summary.rows() {
        log.push_str(&format!("    metrics   {who}: {counts}\n"));
    }
}

async fn worker_loop(dev: Arc<Dev>) {
    loop {
        tokio::time::sleep(POLL).await;
        if dev.pipeline.queue.is_empty() {
            continue;
        }
        let _turn = dev.turn.lock().await;
        let p = &dev.pipeline;
        let mark = p.sandbox.last_seq();
        let runs = p.drain_once().await;
        let mut log = String::new();
        for r in &runs {
            log.push_str(&describe_run(r));
        }
        push_calls(&mut log, &p.sandbox.journal_since(mark));
        push_metrics(&mut log, p);
        print!("{log}");
    }
}

fn describe_run(r: &WorkerRun) -> String {
    let outcome = match &r.result {
        Ok(v) => format!("ok {v}"),
        Err(d) => format!("error {}", describe_diagnostic(d)),
    };
    let mut s = format!(
        "[{}] SQS batch of {} job(s) -> {outcome}\n",
        r.function.name(),
        r.jobs.len()
    );
    for j in &r.failed {
        if r.dead_lettered.contains(j) {
            s.push_str(&format!(
                "    dead-lettered {j} after {} deliveries\n",
                super::MAX_RECEIVES
            ));
        } else {
            s.push_str(&format!("    retry     {j}\n"));
        }
    }
    s
}
