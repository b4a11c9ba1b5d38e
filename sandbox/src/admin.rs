//! The `/__sandbox` control API, for the standalone binary and scripts: journal, faults,
//! health. Its requests are not journaled, so a script's polling never shows up in assertions.

use axum::extract::Request;
use axum::response::Response;
use serde_json::json;

use crate::faults::Fault;
use crate::server::{empty, json, Shared};

pub(crate) async fn handle(shared: &Shared, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    match (method.as_str(), path.as_str()) {
        ("GET", "/__sandbox/health") => json(200, &json!({"status": "ok"})),
        ("GET", "/__sandbox/journal") => json(200, &json!(shared.journal.snapshot())),
        ("DELETE", "/__sandbox/journal") => {
            shared.journal.clear();
            empty(204)
        }
        ("POST", "/__sandbox/faults") => {
            let body = match axum::body::to_bytes(request.into_body(), 1024 * 1024).await {
                Ok(body) => body,
                Err(e) => return json(400, &json!({"error": format!("unreadable body: {e}")})),
            };
            let fault: Fault = match serde_json::from_slice(&body) {
                Ok(fault) => fault,
                Err(e) => return json(400, &json!({"error": format!("not a fault rule: {e}")})),
            };
            if let Err(e) = fault.validate() {
                return json(400, &json!({"error": e}));
            }
            shared.faults.add(fault.clone());
            json(201, &json!({"added": fault}))
        }
        ("DELETE", "/__sandbox/faults") => {
            shared.faults.clear();
            empty(204)
        }
        _ => json(
            501,
            &json!({"error": "NotImplemented", "message": format!("bridge-sandbox does not implement {method} {path}")}),
        ),
    }
}
