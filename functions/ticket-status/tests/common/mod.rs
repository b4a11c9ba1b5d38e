//! Shared test setup: a sandbox, a Runtime pointed at it (org configs from examples/orgs in
//! a counting in-memory source), fixtures from events/ticket-status, and log capture.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bridge::http::HttpClient;
use bridge::secrets::{CountingSource, MemorySource, SecretSource};
use bridge::Runtime;
use bridge_sandbox::{default_seed, JournalEntry, Sandbox};
use lambda_runtime::Context;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

pub const ACME: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
pub const GLOBEX: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";
/// Acme wrap-up codes mapped in examples/orgs.
pub const SOLVED_CODE: &str = "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a21";
pub const PENDING_CODE: &str = "b1f0a1c2-3d4e-4f50-8a6b-7c8d9e0f1a22";
pub const GLOBEX_SOLVED_CODE: &str = "c2a0b1d3-4e5f-4a61-9b7c-8d9e0f1a2b31";
pub const CONV1: &str = "c0a00001-0000-4000-8000-000000000000";
pub const CONV1_AGENT: &str = "c0a00001-0000-4000-8000-00000000a001";
pub const CONV2: &str = "c0a00002-0000-4000-8000-000000000000";
pub const CONV2_AGENT: &str = "c0a00002-0000-4000-8000-00000000a001";
pub const CONV2_CUSTOMER: &str = "c0a00002-0000-4000-8000-00000000c001";
pub const AGENT_USER: &str = "d0a00001-0000-4000-8000-000000000000";

pub struct Env {
    pub sb: Sandbox,
    pub rt: Runtime,
    pub source: Arc<CountingSource<MemorySource>>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub async fn env() -> Env {
    env_with(|_| {}).await
}

/// `edit` may change the org documents (already pointed at the sandbox) before first use.
pub async fn env_with(edit: impl FnOnce(&MemorySource)) -> Env {
    let sb = Sandbox::start(default_seed())
        .await
        .expect("sandbox starts");
    let mem = bridge::testkit::sandbox_orgs_from_dir(&root().join("examples/orgs"), &sb.base_url())
        .expect("examples/orgs loads");
    edit(&mem);
    let source = Arc::new(CountingSource::new(mem));
    let rt = Runtime::new(
        source.clone(),
        Duration::from_secs(300),
        HttpClient::new().unwrap(),
    );
    Env { sb, rt, source }
}

/// Changes one org document in the source (no validation: the Runtime validates on load).
pub fn edit_org(mem: &MemorySource, org_id: &str, f: impl FnOnce(&mut Value)) {
    let doc = futures_lite_block(mem.fetch(org_id))
        .unwrap()
        .expect("org exists");
    let mut v: Value = serde_json::from_str(doc.expose_secret()).unwrap();
    f(&mut v);
    mem.insert(org_id, v.to_string());
}

/// MemorySource::fetch never awaits anything, so polling it once completes it.
fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("MemorySource::fetch is expected to be ready at once"),
    }
}

pub fn fixture(name: &str) -> Value {
    let path = root().join("events/ticket-status").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A `ticket.wrapup` job message body.
pub fn job(
    n: u32,
    org: &str,
    conv: &str,
    participant: &str,
    code: Option<&str>,
    t: i64,
    ticket: Option<u64>,
) -> Value {
    let mut payload = json!({"conversationId": conv, "participantId": participant,
                             "agentUserId": AGENT_USER, "eventTimeMs": t});
    if let Some(c) = code {
        payload["wrapupCode"] = json!(c);
    }
    if let Some(id) = ticket {
        payload["ticketId"] = json!(id);
    }
    json!({"v": 1, "jobId": format!("evt-{n}:0"), "orgId": org, "eventId": format!("evt-{n}"),
           "createdAt": "2025-03-03T09:31:02Z", "kind": "ticket.wrapup", "payload": payload})
}

/// A real-shaped SQS event (the fixture's record as template) with the given bodies.
pub fn sqs(messages: &[(&str, String)]) -> Value {
    let template = fixture("sqs-wrapup-from-attribute.json")["Records"][0].clone();
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(id);
            r["body"] = json!(body);
            r
        })
        .collect();
    json!({"Records": records})
}

pub fn failures(resp: &Value) -> Vec<String> {
    let mut v: Vec<String> = resp["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {resp}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// A Lambda context whose deadline is `secs` from now.
pub fn ctx_with_deadline(secs: u64) -> Context {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut ctx = Context::default();
    ctx.deadline = now + secs * 1000;
    ctx
}

/// (method, path) of every journal entry.
pub fn calls(journal: &[JournalEntry]) -> Vec<(String, String)> {
    journal
        .iter()
        .map(|e| (e.method.clone(), e.path.clone()))
        .collect()
}

pub fn ticket_path(sub: &str, id: u64) -> String {
    format!("/zendesk/{sub}/api/v2/tickets/{id}.json")
}

pub fn status_of(sb: &Sandbox, sub: &str, id: u64) -> String {
    sb.state().ticket(sub, id).expect("ticket exists")["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Everything `tracing` writes while the guard lives (current thread; tokio tests run the
/// handler, reqwest and the sandbox on that thread).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let sub = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    (logs.clone(), tracing::subscriber::set_default(sub))
}
