//! A counting proxy in front of the AWS emulator: the functions' `AWS_ENDPOINT_URL`, so the
//! bench can say how many AWS calls (and which) a warm invocation makes, as the sandbox's
//! journal says it for Genesys and Zendesk.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::oneshot;

/// Calls seen, by operation (`DynamoDB_20120810.PutItem`, `secretsmanager.GetSecretValue`).
pub type Calls = BTreeMap<String, usize>;

struct Shared {
    upstream: String,
    client: reqwest::Client,
    calls: Mutex<Calls>,
}

pub struct AwsProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl AwsProxy {
    /// Forwards everything to `upstream` (`http://127.0.0.1:PORT` of moto).
    pub async fn start(upstream: &str) -> std::io::Result<AwsProxy> {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            calls: Mutex::new(Calls::new()),
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
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
        Ok(AwsProxy {
            addr,
            shared,
            shutdown: Some(shutdown),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A copy of the counts so far.
    pub fn calls(&self) -> Calls {
        self.shared.calls.lock().expect("poisoned").clone()
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

/// The operation a request names: the JSON protocols' `X-Amz-Target`, else the query
/// protocol's `Action`.
fn operation(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(t) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return t.to_string();
    }
    url_action(body).unwrap_or_else(|| "unknown".into())
}

fn url_action(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_string)
}

/// The difference `after - before`, per operation, without the zeros.
pub fn delta(before: &Calls, after: &Calls) -> Calls {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v.saturating_sub(before.get(k).copied().unwrap_or(0));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

async fn forward(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    *s.calls
        .lock()
        .expect("poisoned")
        .entry(operation(&parts.headers, &body))
        .or_default() += 1;
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut out = s
        .client
        .request(parts.method.clone(), format!("{}{path}", s.upstream))
        .body(body.to_vec());
    for (k, v) in parts.headers.iter() {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    match out.send().await {
        Ok(resp) => {
            let status = resp.status();
            let headers = resp.headers().clone();
            let body: Bytes = resp.bytes().await.unwrap_or_default();
            let mut r = (status, body).into_response();
            for (k, v) in headers.iter() {
                if k != "content-length" && k != "transfer-encoding" {
                    r.headers_mut().insert(k, v.clone());
                }
            }
            r
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
