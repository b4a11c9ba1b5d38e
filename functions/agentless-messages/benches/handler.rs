//! Handler overhead per warm invocation, excluding upstream time, and the extra cold-start
//! work of this binary. Run: `cargo bench -p agentless-messages`.
//!
//! Method (as attribute-writer's bench): the real handler sends a message (data action, a
//! template to a given number, a new idempotency key each time) against the sandbox on
//! loopback, warm (org config and token cached), so each invocation is exactly one POST plus
//! the claim's read, put and record in the (in-memory) store. Interleaved with it, a plain
//! reqwest client sends the identical POST to the same sandbox. Handler time minus raw time
//! is what the bridge adds: parsing, the plan, the claim, the client, the retry loop,
//! logging (JSON into a sink) and the output. Criterion then measures the same loops and the
//! pure steps.
//!
//! Cold start: main builds what attribute-writer's main builds (settings, `Runtime`) plus the
//! AWS SDK config and the DynamoDB and SQS clients; `cold/extra_init` measures that extra.
//!
//! Under `cargo test --benches` (no `--bench` flag) everything runs a few iterations only.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentless_messages::input::parse_action_input;
use agentless_messages::plan::{after_send, before_send, claim_key, resolve};
use agentless_messages::Messenger;
use bridge::genesys::AgentlessSent;
use bridge::http::HttpClient;
use bridge::idempotency::{DynamoIdempotency, MemoryIdempotency};
use bridge::queue::{MemoryDeadLetters, SqsDeadLetters};
use bridge::secrets::SecretSource;
use bridge::{OrgConfig, Runtime};
use bridge_sandbox::{default_seed, Sandbox};
use bridge_testkit::{sandbox_orgs_from_dir, CountingSource};
use criterion::Criterion;
use serde_json::{json, Value};

const ACME: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";

struct Setup {
    sb: Sandbox,
    m: Messenger,
    raw: reqwest::Client,
    bearer: String,
    keys: AtomicU64,
}

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn event(key: &str) -> Value {
    json!({"orgId": ACME, "idempotencyKey": key, "template": "appointment-reminder",
           "toAddress": "+15551230001", "parametersJson": "{\"date\":\"Monday 3 March\",\"time\":\"10:30\"}"})
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
    let m = Messenger::new(
        Arc::new(rt),
        Arc::new(MemoryIdempotency::default()),
        Arc::new(MemoryDeadLetters::new()),
    );
    let bearer = format!("Bearer {}", sb.state().issue_token("acme-bridge-client"));
    Setup {
        sb,
        m,
        raw: reqwest::Client::builder().build().unwrap(),
        bearer,
        keys: AtomicU64::new(0),
    }
}

impl Setup {
    async fn handler_once(&self) {
        let key = format!("bench-{}", self.keys.fetch_add(1, Ordering::Relaxed));
        // Invoked as Genesys invokes Acme's data action: through its org alias.
        let mut ctx = lambda_runtime::Context::default();
        ctx.invoked_function_arn = format!(
            "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-agentless-messages:{}",
            bridge::tenancy::alias_name(ACME)
        );
        let out = agentless_messages::handle(&self.m, event(&key), ctx)
            .await
            .expect("warm send");
        black_box(out);
    }

    /// The same POST, by hand: the upstream time the handler cannot avoid.
    async fn raw_once(&self) {
        let resp = self
            .raw
            .post(format!("{}/api/v2/conversations/messages/agentless", self.sb.base_url()))
            .header("authorization", &self.bearer)
            .json(&json!({"fromAddress": "+15550000100", "toAddress": "+15551230001",
                          "toAddressMessengerType": "sms",
                          "textBody": "Acme Support: a reminder of your appointment on Monday 3 March at 10:30."}))
            .send()
            .await
            .expect("raw POST");
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
        let (mut handler, mut raw, mut diff) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
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
        println!("\nwarm data-action send, {n} interleaved pairs against the sandbox on loopback:");
        let (h50, h99) = summary("handler (claim + 1 POST + record)", handler);
        let (r50, r99) = summary("raw reqwest POST (upstream only)", raw);
        summary("paired difference (handler - raw)", diff);
        println!(
            "overhead estimate: p50 {:.1} µs, p99 {:.1} µs (handler percentile - raw percentile); target p99 < 1000 µs\n",
            h50 - r50,
            h99 - r99
        );
    });
}

fn pure(c: &mut Criterion) {
    let org = OrgConfig::from_json(
        &std::fs::read_to_string(repo().join(format!("examples/orgs/{ACME}.json"))).unwrap(),
    )
    .unwrap();
    let ev = event("k-1");
    c.bench_function("pure/parse_and_resolve_data_action", |b| {
        b.iter(|| {
            let input = parse_action_input(black_box(&ev)).unwrap();
            let req = resolve(&org.messaging, &input.message, None, "").unwrap();
            black_box((claim_key(ACME, &input.message, ""), req))
        })
    });
    let sent = AgentlessSent {
        message_id: Some("m".into()),
        conversation_id: Some("c".into()),
        status: 202,
        correlation_id: None,
    };
    c.bench_function("pure/never_twice_decisions", |b| {
        b.iter(|| {
            black_box(before_send(None, black_box(1_800_000_000_000)));
            black_box(after_send(Ok(sent.clone())))
        })
    });
}

fn warm(c: &mut Criterion, tokio: &tokio::runtime::Runtime, s: &Setup) {
    c.bench_function("warm/handler_data_action_send", |b| {
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
    c.bench_function("warm/raw_reqwest_post", |b| {
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

/// What main builds beyond attribute-writer's main: the SDK config and two clients.
fn cold(c: &mut Criterion, tokio: &tokio::runtime::Runtime) {
    c.bench_function("cold/extra_init", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    let aws = bridge::aws::sdk_config(Some("http://127.0.0.1:9")).await;
                    black_box(DynamoIdempotency::from_conf(&aws, "table"));
                    black_box(SqsDeadLetters::from_conf(&aws, "http://127.0.0.1:9/q"));
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
    // As in Lambda: the region comes from the environment, credentials are resolved lazily.
    std::env::set_var("AWS_REGION", "eu-west-1");
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
    cold(&mut c, &tokio);
    c.final_summary();
}
