//! A local Lambda Runtime API, as Lambda serves it to a custom runtime: the function polls
//! `GET /2018-06-01/runtime/invocation/next` and gets one event with its request id, epoch
//! deadline and function ARN in headers, then posts `…/{id}/response` or `…/{id}/error`.
//!
//! Every request is timed on arrival, so a caller can read how long the process took to
//! poll first (its init) and how long each invocation took, from outside the process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, oneshot};

/// One event to hand out.
struct Pending {
    request_id: String,
    deadline_ms: u64,
    arn: String,
    body: Vec<u8>,
}

/// How an invocation ended, as the function reported it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub request_id: String,
    /// `true` for `/response`, `false` for `/error` (or an init error).
    pub ok: bool,
    pub body: Bytes,
    /// From the moment the event was handed to the function to its report.
    pub duration: Duration,
}

struct Shared {
    /// Events the driver queued, taken by the function's polls one at a time.
    events: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    /// A poll arrived (its time): the process is idle and waits for an event.
    polled: mpsc::UnboundedSender<Instant>,
    /// When each handed-out event left, by request id.
    handed: Mutex<HashMap<String, Instant>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
}

/// The emulator of one execution environment: serve it, start one process against
/// [`RuntimeApi::address`], then [`RuntimeApi::next_poll`] and [`RuntimeApi::invoke`].
pub struct RuntimeApi {
    addr: SocketAddr,
    events: mpsc::Sender<Pending>,
    polls: mpsc::UnboundedReceiver<Instant>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let (events_tx, events_rx) = mpsc::channel(1);
        let (polled, polls) = mpsc::unbounded_channel();
        let (outcome_tx, outcomes) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(events_rx),
            polled,
            handed: Mutex::new(HashMap::new()),
            outcomes: outcome_tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await;
        });
        Ok(RuntimeApi {
            addr,
            events: events_tx,
            polls,
            outcomes,
            shutdown: Some(shutdown),
        })
    }

    /// `AWS_LAMBDA_RUNTIME_API` for the process: `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Waits for the function to poll for an event; the time the poll arrived. `None` when
    /// `limit` passed first.
    pub async fn next_poll(&mut self, limit: Duration) -> Option<Instant> {
        tokio::time::timeout(limit, self.polls.recv())
            .await
            .ok()
            .flatten()
    }

    /// Hands `event` to the function (which must be polling, see
    /// [`RuntimeApi::next_poll`]) and waits for its report, at most `limit`.
    pub async fn invoke(
        &mut self,
        event: Vec<u8>,
        function_name: &str,
        limit: Duration,
    ) -> Option<Outcome> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64
            + limit.as_millis() as u64;
        let pending = Pending {
            request_id,
            deadline_ms,
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            body: event,
        };
        self.events.send(pending).await.ok()?;
        tokio::time::timeout(limit, self.outcomes.recv())
            .await
            .ok()
            .flatten()
    }

    /// An init error the function reported, if it did (it then exits).
    pub fn init_error(&mut self) -> Option<Outcome> {
        self.outcomes.try_recv().ok()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    let _ = s.polled.send(Instant::now());
    let Some(p) = s.events.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    s.handed
        .lock()
        .expect("poisoned")
        .insert(p.request_id.clone(), Instant::now());
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", &p.request_id);
    set("lambda-runtime-deadline-ms", &p.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &p.arn);
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000",
    );
    set("content-type", "application/json");
    (StatusCode::OK, headers, p.body).into_response()
}

fn report(s: &Shared, request_id: String, ok: bool, body: Bytes) -> StatusCode {
    let now = Instant::now();
    let Some(at) = s.handed.lock().expect("poisoned").remove(&request_id) else {
        return StatusCode::BAD_REQUEST;
    };
    let _ = s.outcomes.send(Outcome {
        request_id,
        ok,
        body,
        duration: now - at,
    });
    StatusCode::ACCEPTED
}

async fn response(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    report(&s, id, true, body)
}

async fn error(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    report(&s, id, false, body)
}

async fn init_error(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let _ = s.outcomes.send(Outcome {
        request_id: String::new(),
        ok: false,
        body,
        duration: Duration::ZERO,
    });
    StatusCode::ACCEPTED
}
