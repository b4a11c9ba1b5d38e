//! The cold-start benchmark: every function's release binary behind a local Lambda Runtime
//! API, against the sandbox and the AWS emulator, beside a hello-world Lambda measured in the
//! same run. Run it with `scripts/bench-coldstart.sh` (README, "Benchmarks").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bridge_bench::aws_proxy::{self, AwsProxy, Calls};
use bridge_bench::host::{lambda_env, Host};
use bridge_bench::stats::{median, ms, quantile};
use bridge_bench::upstreams::{self, Aws, Error, IngestResources};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(
    name = "coldstart",
    about = "Cold starts, first and warm invocations of the function binaries behind a local Lambda Runtime API"
)]
struct Args {
    /// A set of binaries to measure, as LABEL=DIR (DIR holds one binary per function of
    /// `functions/`). Repeat to compare builds in one run, e.g. before=… after=….
    #[arg(long = "bins", required = true)]
    bins: Vec<String>,
    /// An extra setting for the functions of one set, as LABEL:KEY=VALUE (repeatable), e.g.
    /// `--bins nometrics=DIR --set nometrics:BRIDGE_METRICS=off` to measure what a setting
    /// costs, beside the same binaries with their defaults.
    #[arg(long = "set")]
    set: Vec<String>,
    /// The hello-world Lambda measured as the floor.
    #[arg(long)]
    floor: PathBuf,
    /// Cold starts per binary (each a new process and a fresh sandbox).
    #[arg(long, default_value_t = 20)]
    cold: usize,
    /// Warm invocations per binary, in the process of its last cold start.
    #[arg(long, default_value_t = 300)]
    warm: usize,
    /// The repository root (events/, examples/orgs/).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Also write every figure as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Where each process's output goes (one file per binary, the last start's).
    #[arg(long, default_value = "target/bench/logs")]
    logs: PathBuf,
}

/// Which event each function gets: one that reads an org secret, gets a token where the
/// function needs one, and calls its upstream. Every `functions/<name>` must have a line
/// here (the bench refuses to run without one); its AWS resources, if any, go in
/// [`Bench::own_env`].
const EVENTS: [(&str, &str); 4] = [
    (
        "agentless-messages",
        "agentless-messages/data-action-sms-text.json",
    ),
    (
        "attribute-writer",
        "attribute-writer/data-action-attributes-json.json",
    ),
    ("ticket-status", "ticket-status/data-action-solve.json"),
    ("webhook-ingest", "webhook-ingest/eventbridge-acw.json"),
];
const FLOOR: &str = "hello-lambda";

/// One binary to measure.
struct Subject {
    label: String,
    /// Settings of this set only (`--set`), over the function's own.
    extra_env: Vec<(String, String)>,
    function: String,
    binary: PathBuf,
    event: Value,
}

#[derive(Default)]
struct Figures {
    inits: Vec<Duration>,
    firsts: Vec<Duration>,
    warm: Vec<Duration>,
    peak_rss_kib: Option<u64>,
    /// Per warm invocation, by call.
    sandbox_calls: BTreeMap<String, f64>,
    aws_calls: BTreeMap<String, f64>,
}

struct Bench {
    args: Args,
    aws: Aws,
    proxy: AwsProxy,
    orgs: Vec<(String, Value)>,
    prefix: String,
    ingest: IngestResources,
    home: PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    bridge_bench::install_tls_provider();
    if let Err(e) = run(args).await {
        eprintln!("coldstart: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let subjects = subjects(&args)?;
    let aws = Aws::from_env().await;
    let proxy = AwsProxy::start(&aws.endpoint).await?;
    let run_id = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let ingest = aws.create_ingest_resources(&run_id).await?;
    let home = std::env::temp_dir().join(format!("{run_id}-home"));
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(&args.logs)?;
    let bench = Bench {
        orgs: upstreams::org_documents(&args.root.join("examples/orgs"))?,
        prefix: format!("{run_id}/orgs/"),
        args,
        aws,
        proxy,
        ingest,
        home,
    };
    let load_before = load_average();
    let mut figures: Vec<Figures> = subjects.iter().map(|_| Figures::default()).collect();
    for round in 0..bench.args.cold {
        // Rotate the order, so that drift in the machine's load spreads over all binaries.
        for k in 0..subjects.len() {
            let i = (k + round) % subjects.len();
            let last = round + 1 == bench.args.cold;
            bench
                .cold_start(&subjects[i], &mut figures[i], last)
                .await?;
        }
    }
    let report = render(&bench, &subjects, &figures, &load_before);
    println!("{report}");
    if let Some(path) = &bench.args.json {
        let doc = to_json(&subjects, &figures, &load_before);
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(())
}

fn subjects(args: &Args) -> Result<Vec<Subject>, Error> {
    let events = args.root.join("events");
    let read = |rel: &str| -> Result<Value, Error> {
        let p = events.join(rel);
        Ok(serde_json::from_str(
            &std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?,
        )?)
    };
    let mut functions = Vec::new();
    for function in bridge_bench::functions(&args.root)? {
        let Some((_, event)) = EVENTS.iter().find(|(f, _)| *f == function) else {
            return Err(format!(
                "functions/{function} has no bench event: add it to EVENTS in bench/src/bin/coldstart.rs \
                 (a fixture of events/{function}/ that reads an org secret, gets a token if the function \
                 needs one and makes its call), and its AWS resources, if any, to Bench::own_env"
            )
            .into());
        };
        functions.push((function, read(event)?));
    }
    let mut extra: Vec<(String, (String, String))> = Vec::new();
    for spec in &args.set {
        let parsed = spec.split_once(':').and_then(|(label, kv)| {
            kv.split_once('=')
                .map(|(k, v)| (label.to_string(), (k.to_string(), v.to_string())))
        });
        extra.push(parsed.ok_or_else(|| format!("--set {spec:?}: expected LABEL:KEY=VALUE"))?);
    }
    if let Some((label, _)) = extra
        .iter()
        .find(|(l, _)| !args.bins.iter().any(|b| b.starts_with(&format!("{l}="))))
    {
        return Err(format!("--set {label}:…: no --bins {label}=DIR").into());
    }
    let mut out = vec![Subject {
        label: "floor".into(),
        extra_env: Vec::new(),
        function: FLOOR.into(),
        binary: args.floor.clone(),
        event: json!({"hello": "world"}),
    }];
    for spec in &args.bins {
        let (label, dir) = spec
            .split_once('=')
            .ok_or_else(|| format!("--bins {spec:?}: expected LABEL=DIR"))?;
        let extra_env: Vec<(String, String)> = extra
            .iter()
            .filter(|(l, _)| l == label)
            .map(|(_, kv)| kv.clone())
            .collect();
        for (function, event) in &functions {
            out.push(Subject {
                label: label.to_string(),
                extra_env: extra_env.clone(),
                function: function.clone(),
                binary: Path::new(dir).join(function),
                event: event.clone(),
            });
        }
    }
    for s in &out {
        if !s.binary.is_file() {
            return Err(format!(
                "{} not found: build it first (scripts/bench-coldstart.sh does)",
                s.binary.display()
            )
            .into());
        }
    }
    Ok(out)
}

impl Bench {
    /// The function's own settings, as infra/template.yaml gives them (with the emulators).
    fn own_env(&self, function: &str) -> Vec<(String, String)> {
        let mut env = vec![
            ("RUST_LOG".to_string(), "info".to_string()),
            ("BRIDGE_SECRET_SOURCE".into(), "secretsmanager".into()),
            ("BRIDGE_SECRET_PREFIX".into(), self.prefix.clone()),
            ("AWS_ENDPOINT_URL".into(), self.proxy.url()),
        ];
        if function == "webhook-ingest" {
            env.push((
                "BRIDGE_ATTRIBUTE_QUEUE_URL".into(),
                self.ingest.attribute_queue_url.clone(),
            ));
            env.push((
                "BRIDGE_TICKET_QUEUE_URL".into(),
                self.ingest.ticket_queue_url.clone(),
            ));
            env.push(("BRIDGE_IDEMPOTENCY_TABLE".into(), self.ingest.table.clone()));
        }
        if function == "agentless-messages" {
            // Its message claims go to the same table. Its DLQ is written only for a message
            // that may have been sent, which the sandbox's plain answers never cause here, so
            // the run's ticket queue stands in for it. The warm invocations repeat the
            // event's idempotencyKey: after the first, each is a claim read and no POST.
            env.push(("BRIDGE_IDEMPOTENCY_TABLE".into(), self.ingest.table.clone()));
            env.push((
                "BRIDGE_MESSAGE_DLQ_URL".into(),
                self.ingest.ticket_queue_url.clone(),
            ));
        }
        env
    }

    /// One cold start (and, on the last round, the warm invocations after it).
    async fn cold_start(&self, s: &Subject, f: &mut Figures, warm: bool) -> Result<(), Error> {
        // A fresh sandbox each time: every first invocation finds the same state.
        let sandbox = if s.function == FLOOR {
            None
        } else {
            let sb = upstreams::fresh_sandbox().await?;
            let docs = upstreams::pointed_at(&self.orgs, &sb.base_url());
            self.aws.put_org_secrets(&self.prefix, &docs).await?;
            Some(sb)
        };
        let mut own = self.own_env(&s.function);
        own.extend(s.extra_env.iter().cloned());
        let env = lambda_env(&s.function, &self.home, &own);
        let log = self
            .args
            .logs
            .join(format!("{}-{}.log", s.label, s.function));
        let mut host = Host::start(&s.binary, &invoked_as(s), &env, &log).await?;
        f.inits.push(host.init().await?);
        f.firsts.push(host.invoke(event_bytes(s)).await?.duration);
        if warm {
            let mark = sandbox.as_ref().map_or(0, |sb| sb.last_seq());
            let aws_before = self.proxy.calls();
            for _ in 0..self.args.warm {
                f.warm.push(host.invoke(event_bytes(s)).await?.duration);
            }
            let n = self.args.warm.max(1) as f64;
            if let Some(sb) = &sandbox {
                let mut by_call: BTreeMap<String, f64> = BTreeMap::new();
                for e in sb.journal_since(mark) {
                    *by_call
                        .entry(format!("{} {}", e.method, generic_path(&e.path)))
                        .or_default() += 1.0 / n;
                }
                f.sandbox_calls = by_call;
                let calls: Calls = aws_proxy::delta(&aws_before, &self.proxy.calls());
                f.aws_calls = calls.into_iter().map(|(k, v)| (k, v as f64 / n)).collect();
            }
            f.peak_rss_kib = host.peak_rss_kib();
        }
        host.stop().await;
        if let Some(sb) = sandbox {
            sb.shutdown().await;
        }
        Ok(())
    }
}

/// The name the Runtime API's ARN carries: a data action comes through its org's alias
/// (`<function>:org-<orgId>`), as Genesys invokes it in the shared stack.
fn invoked_as(s: &Subject) -> String {
    match s.event.get("orgId").and_then(Value::as_str) {
        Some(org) => format!("{}:{}", s.function, bridge::tenancy::alias_name(org)),
        None => s.function.clone(),
    }
}

/// The event to send; webhook-ingest gets a new event id each time (a repeat would be a
/// duplicate, which is a different, shorter path).
fn event_bytes(s: &Subject) -> Vec<u8> {
    let mut e = s.event.clone();
    if s.function == "webhook-ingest" {
        if let Some(id) = e.get_mut("id") {
            *id = Value::String(uuid::Uuid::new_v4().to_string());
        }
    }
    serde_json::to_vec(&e).unwrap_or_default()
}

/// A path with its ids (UUIDs, numbers) as `*`, to group calls.
fn generic_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let stem = seg.strip_suffix(".json").unwrap_or(seg);
            let id = !stem.is_empty()
                && (stem.chars().all(|c| c.is_ascii_digit())
                    || bridge::config::validate_uuid("id", stem).is_ok());
            if id {
                if seg.ends_with(".json") {
                    "*.json"
                } else {
                    "*"
                }
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            l.split_whitespace()
                .take(3)
                .map(str::to_string)
                .reduce(|a, b| format!("{a} {b}"))
        })
        .unwrap_or_else(|| "?".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cores} cores, {cpu}, {}", std::env::consts::ARCH)
}

fn size_mb(path: &Path) -> f64 {
    std::fs::metadata(path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0)
}

fn calls_text(f: &Figures) -> String {
    let all: Vec<String> = f
        .sandbox_calls
        .iter()
        .chain(f.aws_calls.iter())
        .map(|(k, v)| format!("{k} {v:.2}"))
        .collect();
    if all.is_empty() {
        "none".into()
    } else {
        all.join(" · ")
    }
}

fn render(b: &Bench, subjects: &[Subject], figures: &[Figures], load_before: &str) -> String {
    let floor = median(&figures[0].inits);
    let mut out = format!(
        "cold-start bench: {} cold starts and {} warm invocations per binary (medians; init = process start to its first poll for an event)\nmachine: {}; load average before {load_before}, after {}\n\n",
        b.args.cold,
        b.args.warm,
        machine(),
        load_average()
    );
    out += &format!(
        "{:<30} {:>7} {:>14} {:>7} {:>12} {:>9} {:>9} {:>9}  {}\n",
        "binary",
        "MB",
        "init ms (min)",
        "×floor",
        "first inv ms",
        "warm p50",
        "warm p99",
        "peak RSS",
        "calls per warm invocation"
    );
    for (s, f) in subjects.iter().zip(figures) {
        let init = median(&f.inits);
        let min = f.inits.iter().min().copied().unwrap_or_default();
        out += &format!(
            "{:<30} {:>7.2} {:>14} {:>7.2} {:>12} {:>9} {:>9} {:>8}M  {}\n",
            format!("{} [{}]", s.function, s.label),
            size_mb(&s.binary),
            format!("{} ({})", ms(init), ms(min)),
            init.as_secs_f64() / floor.as_secs_f64().max(1e-9),
            ms(median(&f.firsts)),
            ms(quantile(&f.warm, 0.5)),
            ms(quantile(&f.warm, 0.99)),
            f.peak_rss_kib
                .map(|k| format!("{:.1}", k as f64 / 1024.0))
                .unwrap_or_else(|| "?".into()),
            calls_text(f),
        );
    }
    out
}

fn to_json(subjects: &[Subject], figures: &[Figures], load_before: &str) -> Value {
    let us = |d: Duration| d.as_micros() as u64;
    let rows: Vec<Value> = subjects
        .iter()
        .zip(figures)
        .map(|(s, f)| {
            json!({
                "function": s.function, "label": s.label, "binary": s.binary.display().to_string(),
                "sizeBytes": std::fs::metadata(&s.binary).map(|m| m.len()).unwrap_or(0),
                "initUs": f.inits.iter().map(|d| us(*d)).collect::<Vec<_>>(),
                "firstInvocationUs": f.firsts.iter().map(|d| us(*d)).collect::<Vec<_>>(),
                "initMedianUs": us(median(&f.inits)),
                "firstInvocationMedianUs": us(median(&f.firsts)),
                "warmP50Us": us(quantile(&f.warm, 0.5)),
                "warmP99Us": us(quantile(&f.warm, 0.99)),
                "peakRssKiB": f.peak_rss_kib,
                "callsPerWarmInvocation": f.sandbox_calls.iter().chain(f.aws_calls.iter()).map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    json!({"machine": machine(), "loadBefore": load_before, "loadAfter": load_average(), "results": rows})
}
