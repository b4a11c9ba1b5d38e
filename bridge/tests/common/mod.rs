//! Test setup shared by the client tests: a sandbox, and a runtime whose orgs point at it.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bridge::http::HttpClient;
use bridge::retry::RetryPolicy;
use bridge::secrets::{CountingSource, MemorySource, DEFAULT_TTL};
use bridge::testkit::{point_at_sandbox, sandbox_orgs_from_dir};
use bridge::Runtime;
use bridge_sandbox::{default_seed, Sandbox};
use serde_json::Value;

pub const ORG_A: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
pub const ORG_B: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";
pub const CONV_A1: &str = "c0a00001-0000-4000-8000-000000000000";
pub const CUST_A1: &str = "c0a00001-0000-4000-8000-00000000c001";
pub const CONV_B1: &str = "c0b00001-0000-4000-8000-000000000000";
pub const CONTACT_A1: &str = "e0a00001-0000-4000-8000-000000000000";

pub struct Env {
    pub sandbox: Sandbox,
    pub source: Arc<CountingSource<MemorySource>>,
    pub rt: Runtime,
}

pub fn examples_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/orgs")
}

/// The example org document of `org`, as JSON, pointed at the sandbox.
pub fn example_doc(org: &str, sandbox: &Sandbox) -> Value {
    let text = std::fs::read_to_string(examples_dir().join(format!("{org}.json"))).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    point_at_sandbox(&mut v, &sandbox.base_url());
    v
}

/// Fast retries so tests do not sleep long.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        default_retry_after: Duration::from_millis(50),
    }
}

pub async fn env() -> Env {
    let sandbox = Sandbox::start(default_seed()).await.unwrap();
    let mem = sandbox_orgs_from_dir(&examples_dir(), &sandbox.base_url()).unwrap();
    let source = Arc::new(CountingSource::new(mem));
    let rt = Runtime::new(
        source.clone(),
        DEFAULT_TTL,
        HttpClient::with_policy(fast_policy()).unwrap(),
    );
    Env {
        sandbox,
        source,
        rt,
    }
}

pub fn token_requests(sandbox: &Sandbox) -> usize {
    bridge_sandbox::count(&sandbox.journal(), "POST", "/oauth/token")
}
