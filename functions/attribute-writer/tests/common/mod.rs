//! Shared setup of the handler tests: a sandbox on loopback, org configs from
//! `examples/orgs` pointed at it and wrapped in a counting secret source, the fixtures of
//! `events/attribute-writer`, and the seeded ids.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use attribute_writer::Options;
use bridge::http::HttpClient;
use bridge::secrets::{CountingSource, MemorySource, SecretSource};
use bridge::testkit::{point_at_sandbox, sandbox_orgs_from_dir};
use bridge::Runtime;
use bridge_sandbox::{default_seed, JournalEntry, Sandbox};
use serde_json::Value;

pub const ACME: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
pub const GLOBEX: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";
pub const A_CONV1: &str = "c0a00001-0000-4000-8000-000000000000";
pub const A_CONV1_CUSTOMER: &str = "c0a00001-0000-4000-8000-00000000c001";
pub const A_CONV1_AGENT: &str = "c0a00001-0000-4000-8000-00000000a001";
pub const A_CONV2: &str = "c0a00002-0000-4000-8000-000000000000";
pub const A_CONV2_CUSTOMER: &str = "c0a00002-0000-4000-8000-00000000c001";
pub const A_CONV3_ENDED: &str = "c0a00003-0000-4000-8000-000000000000";
pub const A_CONV3_CUSTOMER: &str = "c0a00003-0000-4000-8000-00000000c001";
pub const B_CONV1: &str = "c0b00001-0000-4000-8000-000000000000";
pub const B_CONV1_CUSTOMER: &str = "c0b00001-0000-4000-8000-00000000c001";
pub const B_CONV2: &str = "c0b00002-0000-4000-8000-000000000000";
pub const B_CONV2_CUSTOMER: &str = "c0b00002-0000-4000-8000-00000000c001";
pub const A_CONTACT_JANE: &str = "e0a00001-0000-4000-8000-000000000000";

pub const ATTR_PATCH: &str = "/api/v2/conversations/*/participants/*/attributes";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fixture of `events/attribute-writer/`.
pub fn fixture(name: &str) -> Value {
    let path = repo_root().join("events/attribute-writer").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An example org document (`examples/orgs/<id>.json`) pointed at the sandbox.
pub fn org_doc(org_id: &str, base_url: &str) -> Value {
    let path = repo_root()
        .join("examples/orgs")
        .join(format!("{org_id}.json"));
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    point_at_sandbox(&mut doc, base_url);
    doc
}

pub struct Harness {
    pub sb: Sandbox,
    pub rt: Runtime,
    pub secrets: Arc<CountingSource<MemorySource>>,
    pub opts: Options,
}

impl Harness {
    /// The sandbox with its default seed, and every example org.
    pub async fn start() -> Harness {
        Harness::start_with(|_, _| {}).await
    }

    /// Like [`Harness::start`]; `edit` may replace org documents before the runtime sees them.
    pub async fn start_with(edit: impl FnOnce(&MemorySource, &str)) -> Harness {
        let sb = Sandbox::start(default_seed())
            .await
            .expect("sandbox starts");
        let mem = sandbox_orgs_from_dir(&repo_root().join("examples/orgs"), &sb.base_url())
            .expect("example orgs load");
        edit(&mem, &sb.base_url());
        let secrets = Arc::new(CountingSource::new(mem));
        let source: Arc<dyn SecretSource> = secrets.clone();
        let rt = Runtime::new(source, Duration::from_secs(300), HttpClient::new().unwrap());
        Harness {
            sb,
            rt,
            secrets,
            // Short, so the re-read path does not slow the suite; the default is tested in lib.
            opts: Options {
                verify_retry_delay: Duration::from_millis(50),
            },
        }
    }

    pub async fn invoke(&self, event: Value) -> Result<Value, lambda_runtime::Diagnostic> {
        attribute_writer::handle_with(
            &self.rt,
            &self.opts,
            event,
            ctx_with_deadline(Duration::from_secs(15)),
        )
        .await
    }

    pub fn journal(&self) -> Vec<JournalEntry> {
        self.sb.journal()
    }
}

/// A Lambda context whose deadline is `left` from now.
pub fn ctx_with_deadline(left: Duration) -> lambda_runtime::Context {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let mut ctx = lambda_runtime::Context::default();
    ctx.deadline = (now + left).as_millis() as u64;
    ctx.request_id = "test-request".into();
    ctx
}

/// `event` with `field` set to `value` (for table tests built on a fixture).
pub fn with(mut event: Value, field: &str, value: Value) -> Value {
    event[field] = value;
    event
}

/// A compact view of the journal for assertion messages.
pub fn show(journal: &[JournalEntry]) -> String {
    journal
        .iter()
        .map(|e| {
            format!(
                "{} {} -> {} (org {:?})",
                e.method, e.path, e.status, e.org_id
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
