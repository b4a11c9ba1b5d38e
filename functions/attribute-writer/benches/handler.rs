//! Handler overhead per warm invocation, excluding upstream time. Run: `cargo bench -p attribute-writer`.
//!
//! Method: the real handler writes attributes (data action, no verify) against the sandbox
//! on loopback, warm (org config and token cached), so each invocation is exactly one
//! PATCH. In the same run, interleaved with it, a plain reqwest client sends the identical
//! PATCH (same route, body and bearer token) to the same sandbox. Handler time minus raw
//! request time is what the bridge adds: event parsing, validation, the org cache, the
//! client, the retry loop, logging (JSON formatting into a sink) and the output. Both
//! distributions and the paired difference are printed as p50/p90/p99. Criterion then
//! measures the same two loops and the pure validation/merge steps.
//!
//! Under `cargo test --benches` (no `--bench` flag) everything runs a few iterations only.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use attribute_writer::input::parse_action_input;
use attribute_writer::plan::{check_limits, merge_writes, Write};
use attribute_writer::Options;
use bridge::config::AttributeLimits;
use bridge::http::HttpClient;
use bridge::secrets::SecretSource;
use bridge::{OrgConfig, Runtime};
use bridge_sandbox::{default_seed, Sandbox};
use bridge_testkit::{sandbox_orgs_from_dir, CountingSource};
use criterion::Criterion;
use serde_json::{json, Value};

const ACME: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
const CONV: &str = "c0a00001-0000-4000-8000-000000000000";
const PART: &str = "c0a00001-0000-4000-8000-00000000c001";

struct Setup {
    sb: Sandbox,
    rt: Runtime,
    raw: reqwest::Client,
    bearer: String,
    event: Value,
    opts: Options,
}

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn setup() -> Setup {
    let sb = Sandbox::start(default_seed()).await.expect("sandbox");
    let mem = sandbox_orgs_from_dir(&repo().join("examples/orgs"), &sb.base_url()).expect("orgs");
    let source: Arc<dyn SecretSource> = Arc::new(CountingSource::new(mem));
    let rt = Runtime::new(
        source,
        Duration::from_secs(3600),
        HttpClient::new().unwrap(),
    );
    let text = std::fs::read_to_string(
        repo().join("events/attribute-writer/data-action-attributes-json.json"),
    )
    .unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();
    let bearer = format!("Bearer {}", sb.state().issue_token("acme-bridge-client"));
    Setup {
        sb,
        rt,
        raw: reqwest::Client::builder().build().unwrap(),
        bearer,
        event,
        opts: Options::default(),
    }
}

impl Setup {
    async fn handler_once(&self) {
        // Invoked as Genesys invokes Acme's data action: through its org alias.
        let mut ctx = lambda_runtime::Context::default();
        ctx.invoked_function_arn = format!(
            "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-attribute-writer:{}",
            bridge::tenancy::alias_name(self.event["orgId"].as_str().unwrap_or_default())
        );
        let out = attribute_writer::handle_with(&self.rt, &self.opts, self.event.clone(), ctx)
            .await
            .expect("warm write");
        black_box(out);
    }

    /// The same PATCH, by hand: the upstream time the handler cannot avoid.
    async fn raw_once(&self) {
        let attrs: BTreeMap<String, String> = [("crm_tier", "gold"), ("crm_id", "A-1001")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let resp = self
            .raw
            .patch(format!(
                "{}/api/v2/conversations/{CONV}/participants/{PART}/attributes",
                self.sb.base_url()
            ))
            .header("authorization", &self.bearer)
            .json(&json!({ "attributes": attrs }))
            .send()
            .await
            .expect("raw PATCH");
        assert_eq!(resp.status().as_u16(), 202);
        black_box(resp.bytes().await.unwrap());
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (p50, p90, p99) = (pct(&v, 0.50), pct(&v, 0.90), pct(&v, 0.99));
    println!(
        "{name:<34} p50 {p50:>8.1} µs   p90 {p90:>8.1} µs   p99 {p99:>8.1} µs   (n={})",
        v.len()
    );
    (p50, p99)
}

fn percentiles(tokio: &tokio::runtime::Runtime, s: &Setup, n: usize) {
    tokio.block_on(async {
        for _ in 0..(n / 10).max(5) {
            s.handler_once().await;
            s.raw_once().await;
        }
        let (mut handler, mut raw, mut diff) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            // Alternate which goes first so neither always gets the warmer connection.
            let (h, r) = if i % 2 == 0 {
                let t = Instant::now();
                s.handler_once().await;
                let h = t.elapsed();
                let t = Instant::now();
                s.raw_once().await;
                (h, t.elapsed())
            } else {
                let t = Instant::now();
                s.raw_once().await;
                let r = t.elapsed();
                let t = Instant::now();
                s.handler_once().await;
                (t.elapsed(), r)
            };
            let (h, r) = (h.as_secs_f64() * 1e6, r.as_secs_f64() * 1e6);
            handler.push(h);
            raw.push(r);
            diff.push(h - r);
        }
        println!("\nwarm data-action write, {n} interleaved pairs against the sandbox on loopback:");
        let (h50, h99) = summary("handler (1 PATCH, end to end)", handler);
        let (r50, r99) = summary("raw reqwest PATCH (upstream only)", raw);
        summary("paired difference (handler - raw)", diff);
        println!(
            "overhead estimate: p50 {:.1} µs, p99 {:.1} µs (handler percentile - raw percentile); target p99 < 1000 µs\n",
            h50 - r50,
            h99 - r99
        );
    });
}

fn pure(c: &mut Criterion) {
    let event = json!({"orgId": ACME, "conversationId": CONV, "participantId": PART,
                       "attributesJson": "{\"crm_tier\":\"gold\",\"crm_id\":\"A-1001\",\"score\":42}", "verify": true});
    let limits = AttributeLimits::default();
    c.bench_function("pure/parse_and_check_data_action_input", |b| {
        b.iter(|| {
            let input = parse_action_input(black_box(&event)).unwrap();
            check_limits(&input.attributes, &limits).unwrap();
            black_box(input)
        })
    });
    let org = Arc::new(
        OrgConfig::from_json(
            &std::fs::read_to_string(repo().join(format!("examples/orgs/{ACME}.json"))).unwrap(),
        )
        .unwrap(),
    );
    let writes: Vec<(String, Write)> = (0..10)
        .map(|i| {
            (
                format!("m{i}"),
                Write {
                    org: org.clone(),
                    conversation_id: CONV.into(),
                    participant_id: format!("p{}", i % 3),
                    attributes: [
                        ("crm_tier".to_string(), format!("t{i}")),
                        (format!("k{i}"), "v".to_string()),
                    ]
                    .into(),
                },
            )
        })
        .collect();
    c.bench_function("pure/merge_batch_of_10_jobs", |b| {
        b.iter(|| black_box(merge_writes(black_box(writes.clone()))))
    });
}

fn warm(c: &mut Criterion, tokio: &tokio::runtime::Runtime, s: &Setup) {
    c.bench_function("warm/handler_data_action_write", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    s.handler_once().await;
                }
                t.elapsed()
            })
        })
    });
    c.bench_function("warm/raw_reqwest_patch", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    s.raw_once().await;
                }
                t.elapsed()
            })
        })
    });
}

fn main() {
    // Production logs JSON lines; format them here too (into a sink) so their cost counts.
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .init();
    let full = std::env::args().any(|a| a == "--bench");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = tokio.block_on(setup());
    percentiles(&tokio, &s, if full { 3000 } else { 20 });
    let mut c = Criterion::default().configure_from_args();
    pure(&mut c);
    warm(&mut c, &tokio, &s);
    c.final_summary();
}
