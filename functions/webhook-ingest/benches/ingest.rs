//! Events per second per core for parse + authenticate + route, without network: the JSON
//! text of an invocation in, a plan of job messages out (the org config is already cached,
//! as on a warm invocation). One thread, so the throughput is per core.
//!
//! Each step is the stage function the handler runs: `input::read`, `auth::check` (what
//! `Auth::authenticate` does after the org store's cache hit, for a shared secret or an
//! HMAC), and `plan::https` / `plan::partner_event`.
//!
//! `cargo bench -p webhook-ingest` prints `thrpt: [.. elem/s ..]` per case; target >= 50,000.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use bridge::OrgConfig;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use webhook_ingest::auth::{self, signature, Verdict};
use webhook_ingest::input::{self, Inbound};
use webhook_ingest::{plan, Limits, Plan};

const ORG_A: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
const SECRET_A: &str = "acme-webhook-secret-local-0123456789abcdef";
const NOW_MS: u64 = 1_795_255_680_000;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join("events/webhook-ingest").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Parse, authenticate and route one invocation, as the handler's stages do; `orgs` stands
/// in for the org store's cache.
fn ingest(
    orgs: impl Fn(&str) -> Option<Arc<OrgConfig>>,
    event: &Value,
    limits: &Limits,
    now_ms: u64,
) -> Plan {
    match input::read(event, limits.max_body_bytes).unwrap() {
        Inbound::Https(req) => {
            let req = req.unwrap();
            let cfg = orgs(req.org_id.as_deref().unwrap()).unwrap();
            match auth::check(&cfg, &req, now_ms / 1000, limits.hmac_window) {
                Verdict::Accepted(_) => {}
                v => panic!("not accepted: {v:?}"),
            }
            plan::https(&cfg, &req, now_ms).unwrap()
        }
        Inbound::Partner(ev) => {
            let cfg = orgs(&ev.org_id).unwrap();
            plan::partner_event(&cfg, &ev, now_ms).unwrap()
        }
    }
}

fn bench(c: &mut Criterion) {
    let text = std::fs::read_to_string(root().join(format!("examples/orgs/{ORG_A}.json"))).unwrap();
    let cfg = Arc::new(OrgConfig::from_json(&text).unwrap());
    let orgs = |id: &str| (id == ORG_A).then(|| cfg.clone());
    let limits = Limits::default();

    let mut hmac = fixture("function-url-notification-acw.json");
    let ts = NOW_MS / 1000;
    let sig = signature(SECRET_A, ts, hmac["body"].as_str().unwrap().as_bytes());
    hmac["headers"]["x-bridge-timestamp"] = json!(ts.to_string());
    hmac["headers"]["x-bridge-signature"] = json!(sig);

    let cases = [
        (
            "eventbridge acw",
            fixture("eventbridge-acw.json").to_string(),
        ),
        (
            "eventbridge customer.start",
            fixture("eventbridge-customer-start.json").to_string(),
        ),
        (
            "https bearer command",
            fixture("function-url-command-attributes.json").to_string(),
        ),
        (
            "https bearer base64 command",
            fixture("function-url-command-wrapup-base64.json").to_string(),
        ),
        ("https hmac notification", hmac.to_string()),
    ];

    let mut group = c.benchmark_group("parse+authenticate+route");
    group.throughput(Throughput::Elements(1));
    for (name, raw) in &cases {
        // Sanity: every case is accepted with one job, or the number would be meaningless.
        let event: Value = serde_json::from_str(raw).unwrap();
        let plan = ingest(orgs, &event, &limits, NOW_MS);
        assert_eq!(plan.jobs.len(), 1, "{name}");
        group.bench_function(*name, |b| {
            b.iter(|| {
                let event: Value = serde_json::from_str(black_box(raw)).unwrap();
                black_box(ingest(orgs, &event, &limits, NOW_MS))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
