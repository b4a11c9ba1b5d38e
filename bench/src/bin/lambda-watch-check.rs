//! The documented local path, under test: every fixture of `events/<function>/` goes through
//! `cargo lambda watch` + `cargo lambda invoke`, with org files pointed at the sandbox and
//! webhook-ingest's queues and table in the AWS emulator; the jobs it queues are delivered
//! to their worker the same way; each outcome is judged against the fixture's
//! `.expect.json`. Run it with `scripts/lambda-watch-check.sh` (README, "Testing").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bridge::jobs::{Consumer, JobEnvelope};
use bridge_bench::expect::{emf_lines, judge, Expect, Observation, Verdict};
use bridge_bench::upstreams::{self, Aws, Error, IngestResources};
use bridge_sandbox::Sandbox;
use clap::Parser;
use serde_json::{json, Value};

/// Functions whose own fixtures this check does not invoke yet, and why (printed on every
/// run). Their fixtures run in the replay (`e2e/tests/replay.rs`) instead. agentless-messages
/// still runs here as the worker of the message jobs webhook-ingest's fixtures queue.
const NOT_UNDER_WATCH: [(&str, &str); 1] = [(
    "agentless-messages",
    "several of its fixtures need the sandbox's fault rules, which this check does not inject",
)];

#[derive(Parser, Debug)]
#[command(
    name = "lambda-watch-check",
    about = "Invokes every function fixture through cargo lambda watch + invoke and judges the outcomes"
)]
struct Args {
    /// The repository root (events/, examples/orgs/, the workspace cargo lambda builds).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Where `cargo lambda watch` listens (loopback).
    #[arg(long, default_value_t = 9000)]
    port: u16,
    /// How long the first invocation may wait for `cargo lambda watch` to compile.
    #[arg(long, default_value_t = 1200)]
    build_timeout_secs: u64,
    /// Where `cargo lambda watch`'s output goes (one file per deployment setting, this name
    /// with the setting before the extension).
    #[arg(long, default_value = "target/lambda-watch-check.log")]
    log: PathBuf,
}

/// Deliveries of a job before it goes to the dead-letter queue (as the replay counts).
const MAX_RECEIVES: usize = 3;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    bridge_bench::install_tls_provider();
    match run(&args).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("lambda-watch-check: {e}");
            std::process::exit(2);
        }
    }
}

struct Check {
    root: PathBuf,
    port: u16,
    aws: Aws,
    ingest: IngestResources,
    orgs: Vec<(String, Value)>,
    orgs_dir: PathBuf,
}

async fn run(args: &Args) -> Result<bool, Error> {
    let root = args.root.canonicalize()?;
    let aws = Aws::from_env().await;
    let run_id = format!("watch-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let ingest = aws.create_ingest_resources(&run_id).await?;
    let orgs_dir = std::env::temp_dir().join(format!("{run_id}-orgs"));
    std::fs::create_dir_all(&orgs_dir)?;
    let check = Check {
        orgs: upstreams::org_documents(&root.join("examples/orgs"))?,
        root,
        port: args.port,
        aws,
        ingest,
        orgs_dir,
    };
    // A watch server left running by an interrupted group is killed on drop.
    let result = tokio::select! {
        r = check.all(&args.log, Duration::from_secs(args.build_timeout_secs)) => r,
        _ = interrupted() => Err("interrupted".into()),
    };
    let _ = std::fs::remove_dir_all(&check.orgs_dir);
    result
}

/// Stops the watch server and the function processes it started: its own process group
/// (and only if it is its own, never the caller's).
async fn stop_watch(mut watch: tokio::process::Child) {
    if let Some(pid) = watch.id().filter(|pid| process_group(*pid) == Some(*pid)) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", "--", &format!("-{pid}")])
            .status();
    }
    let _ = watch.wait().await;
}

/// The one org a fixture's data action serves when it names an org alias
/// (`"function": "<name>:org-<orgId>"`): cargo-lambda's emulator cannot invoke through an
/// alias (it sends `function-arn`), so such fixtures run under a watch whose functions serve
/// that org only (`BRIDGE_SINGLE_ORG_ID`), the documented local setting. The others run as
/// the shared stack does (an unqualified data action is refused there too).
fn alias_org(function: &str) -> Option<String> {
    let (_, qualifier) = function.split_once(':')?;
    qualifier.strip_prefix("org-").map(str::to_string)
}

/// The log file of one watch server: `<stem>.<setting>.log`.
fn group_log(log: &Path, org: Option<&str>) -> PathBuf {
    match org {
        None => log.to_path_buf(),
        Some(org) => log.with_extension(format!("org-{org}.log")),
    }
}

/// The process group of `pid` (field 5 of `/proc/<pid>/stat`).
fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(2)?.parse().ok()
}

/// Ctrl-C or SIGTERM: stop, and clean up what was started.
async fn interrupted() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

impl Check {
    /// `cargo lambda watch` with the functions' settings in its environment: org files from
    /// a directory (re-read on every invocation, since each fixture gets a fresh sandbox),
    /// webhook-ingest's queues and table in the emulator.
    fn start_watch(
        &self,
        log: &Path,
        single_org: Option<&str>,
    ) -> Result<tokio::process::Child, Error> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let mut command = tokio::process::Command::new("cargo");
        match single_org {
            Some(org) => command.env("BRIDGE_SINGLE_ORG_ID", org),
            None => command.env_remove("BRIDGE_SINGLE_ORG_ID"),
        };
        let child = command
            .args(["lambda", "watch", "--ignore-changes", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string()])
            .current_dir(&self.root)
            .env("BRIDGE_SECRET_SOURCE", "dir")
            .env("BRIDGE_ORGS_DIR", &self.orgs_dir)
            .env("BRIDGE_SECRET_TTL_SECONDS", "0")
            .env("BRIDGE_ATTRIBUTE_QUEUE_URL", &self.ingest.attribute_queue_url)
            .env("BRIDGE_TICKET_QUEUE_URL", &self.ingest.ticket_queue_url)
            .env("BRIDGE_MESSAGE_QUEUE_URL", &self.ingest.message_queue_url)
            .env("BRIDGE_MESSAGE_DLQ_URL", &self.ingest.message_dlq_url)
            .env("BRIDGE_IDEMPOTENCY_TABLE", &self.ingest.table)
            .env("AWS_ENDPOINT_URL", &self.aws.endpoint)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            // Its own process group, so that stopping it stops the functions it started.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start `cargo lambda watch` (is cargo-lambda installed? scripts/lambda-watch-check.sh installs it): {e}"))?;
        Ok(child)
    }

    /// Every fixture of every function (each `functions/<name>` but [`NOT_UNDER_WATCH`], its fixtures in
    /// `events/<name>/`), one watch server per deployment setting they need; `true` if all
    /// were as expected.
    async fn all(&self, log: &Path, build_timeout: Duration) -> Result<bool, Error> {
        let functions: Vec<String> = bridge_bench::functions(&self.root)?
            .into_iter()
            .filter(|f| match NOT_UNDER_WATCH.iter().find(|(n, _)| n == f) {
                Some((_, why)) => {
                    println!("-- {f}: not run under `cargo lambda watch` here ({why}); `bridge dev --replay events/{f}/` replays its fixtures");
                    false
                }
                None => true,
            })
            .collect();
        let mut groups: BTreeMap<Option<String>, Vec<(String, PathBuf)>> = BTreeMap::new();
        for f in &functions {
            for fixture in fixtures(&self.root.join("events").join(f))? {
                let named = std::fs::read_to_string(fixture.with_extension("expect.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str::<Expect>(&t).ok())
                    .and_then(|e| e.function);
                let org = named.as_deref().and_then(alias_org);
                groups.entry(org).or_default().push((f.clone(), fixture));
            }
        }
        let mut passed = 0;
        let mut failed = 0;
        for (org, list) in &groups {
            let log = group_log(log, org.as_deref());
            match org {
                Some(org) => {
                    println!("-- BRIDGE_SINGLE_ORG_ID={org} (the fixtures that invoke org-{org})")
                }
                None => println!("-- the shared stack's setting (no single org)"),
            }
            let watch = self.start_watch(&log, org.as_deref())?;
            let done = self.group(&functions, list, &log, build_timeout).await;
            stop_watch(watch).await;
            let (p, f) = done?;
            passed += p;
            failed += f;
        }
        println!(
            "{} fixture(s) through cargo lambda watch + invoke: {passed} as expected, {failed} not",
            passed + failed
        );
        Ok(failed == 0 && passed > 0)
    }

    /// One watch server's fixtures: (as expected, not).
    async fn group(
        &self,
        functions: &[String],
        list: &[(String, PathBuf)],
        log: &Path,
        build_timeout: Duration,
    ) -> Result<(usize, usize), Error> {
        // The first invocation of each function waits for its build.
        for f in functions {
            self.warm_up(f, build_timeout).await?;
        }
        let (mut passed, mut failed) = (0, 0);
        for (f, fixture) in list {
            let (ok, report) = self.fixture(f, fixture, log).await?;
            println!("{report}");
            if ok {
                passed += 1;
            } else {
                failed += 1;
            }
        }
        Ok((passed, failed))
    }

    /// Invokes `function` until `cargo lambda watch` has built and started it.
    async fn warm_up(&self, function: &str, limit: Duration) -> Result<(), Error> {
        self.write_orgs("http://127.0.0.1:9")?;
        let start = Instant::now();
        loop {
            let answer = self.invoke(function, &json!({"warmUp": true})).await?;
            // Any answer of the function itself (an error about this event included) means
            // it runs; cargo-lambda's own "still compiling / not ready" answers do not.
            if answer.from_function {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(format!(
                    "{function} did not start under cargo lambda watch within {limit:?}: {}",
                    answer.raw
                )
                .into());
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    fn write_orgs(&self, sandbox_url: &str) -> Result<(), Error> {
        for (id, doc) in upstreams::pointed_at(&self.orgs, sandbox_url) {
            std::fs::write(self.orgs_dir.join(format!("{id}.json")), doc.to_string())?;
        }
        Ok(())
    }

    async fn fixture(
        &self,
        function: &str,
        path: &Path,
        log: &Path,
    ) -> Result<(bool, String), Error> {
        let name = path
            .strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string();
        let expect_path = path.with_extension("expect.json");
        let expect: Expect = match std::fs::read_to_string(&expect_path) {
            Ok(t) => {
                serde_json::from_str(&t).map_err(|e| format!("{}: {e}", expect_path.display()))?
            }
            Err(_) => {
                return Ok((
                    false,
                    format!(
                        "✗ {name}\n    no expectation: add {}",
                        expect_path.display()
                    ),
                ))
            }
        };
        // The function's name; an alias qualifier chose the watch server (see `alias_org`).
        let function = expect
            .function
            .as_deref()
            .map(|f| f.split(':').next().unwrap_or(f))
            .unwrap_or(function)
            .to_string();
        let event: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let sandbox = upstreams::fresh_sandbox().await?;
        self.write_orgs(&sandbox.base_url())?;
        self.aws.reset(&self.ingest).await?;

        // The functions' stdout goes to the log: this fixture's EMF lines are what it gains.
        let log_start = std::fs::metadata(log).map_or(0, |m| m.len());
        let answer = self.invoke(&function, &event).await?;
        if !answer.from_function {
            return Ok((
                false,
                format!("✗ {name}\n    {function} did not answer: {}", answer.raw),
            ));
        }
        let sqs = event.get("Records").is_some();
        let mut obs = Observation::from_answer(answer.result, sqs);
        let mut lines = vec![format!(
            "    {function} via cargo lambda invoke: {} {}",
            obs.outcome,
            obs.error_type.as_deref().unwrap_or("")
        )];
        if function == "webhook-ingest" {
            let (kinds, dead, worker_lines) = self.run_workers(&sandbox).await?;
            obs.job_kinds = kinds;
            obs.dead_letters = dead;
            lines.extend(worker_lines);
        }
        obs.emf_lines = emf_lines(&log_since(log, log_start));
        let orgs: Vec<String> = self.orgs.iter().map(|(id, _)| id.clone()).collect();
        let verdicts = judge(&expect, &obs, &sandbox.state(), &sandbox.journal(), &orgs);
        sandbox.shutdown().await;
        let ok = !verdicts.is_empty() && verdicts.iter().all(|v| v.ok);
        lines.push(format!("    expect  {}", render(&verdicts)));
        let head = format!("{} {name}", if ok { "✓" } else { "✗" });
        Ok((
            ok,
            std::iter::once(head)
                .chain(lines)
                .collect::<Vec<_>>()
                .join("\n"),
        ))
    }

    /// Takes the jobs webhook-ingest queued and delivers them to their worker through
    /// `cargo lambda invoke` as SQS batches; a job reported failed is delivered again, up to
    /// [`MAX_RECEIVES`] times, then counted as dead-lettered. Returns the kinds queued (in
    /// order), the dead letters and a line per delivery.
    async fn run_workers(
        &self,
        _sandbox: &Sandbox,
    ) -> Result<(Vec<String>, usize, Vec<String>), Error> {
        let mut kinds = Vec::new();
        let mut dead = 0;
        let mut lines = Vec::new();
        for (consumer, url) in [
            (Consumer::AttributeWriter, &self.ingest.attribute_queue_url),
            (Consumer::TicketStatus, &self.ingest.ticket_queue_url),
            (Consumer::AgentlessMessages, &self.ingest.message_queue_url),
        ] {
            let mut pending: Vec<(String, String, usize)> = Vec::new();
            loop {
                let got = self.aws.receive(url).await?;
                if got.is_empty() {
                    break;
                }
                for (id, body) in got {
                    if let Ok(job) = JobEnvelope::from_json(&body) {
                        kinds.push(job.job.kind().to_string());
                    }
                    pending.push((id, body, 0));
                }
            }
            let worker = match consumer {
                Consumer::AttributeWriter => "attribute-writer",
                Consumer::TicketStatus => "ticket-status",
                Consumer::AgentlessMessages => "agentless-messages",
            };
            while !pending.is_empty() {
                for p in pending.iter_mut() {
                    p.2 += 1;
                }
                let records: Vec<Value> = pending
                    .iter()
                    .map(|(id, body, n)| sqs_record(id, body, *n, worker))
                    .collect();
                let answer = self.invoke(worker, &json!({ "Records": records })).await?;
                let failed: Vec<String> = match &answer.result {
                    Ok(v) => v
                        .get("batchItemFailures")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|f| {
                                    f.get("itemIdentifier")?.as_str().map(str::to_string)
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    // The whole batch failed: SQS delivers every message again.
                    Err(_) => pending.iter().map(|p| p.0.clone()).collect(),
                };
                lines.push(format!(
                    "    worker  {worker}: {} job(s), {} failed",
                    pending.len(),
                    failed.len()
                ));
                let before = pending.len();
                pending.retain(|p| failed.contains(&p.0));
                let gone = pending.iter().filter(|p| p.2 >= MAX_RECEIVES).count();
                dead += gone;
                pending.retain(|p| p.2 < MAX_RECEIVES);
                if pending.len() == before && gone == 0 && failed.is_empty() {
                    break;
                }
            }
        }
        Ok((kinds, dead, lines))
    }

    /// `cargo lambda invoke FUNCTION --data-file EVENT --output-format json`.
    async fn invoke(&self, function: &str, event: &Value) -> Result<Answer, Error> {
        let file = std::env::temp_dir().join(format!(
            "lambda-watch-check-{}.json",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&file, serde_json::to_vec(event)?)?;
        let out = tokio::process::Command::new("cargo")
            .args(["lambda", "invoke", function, "--output-format", "json"])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &self.port.to_string(),
            ])
            .arg("--data-file")
            .arg(&file)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| format!("could not run `cargo lambda invoke`: {e}"))?;
        let _ = std::fs::remove_file(&file);
        Ok(Answer::read(&out.stdout, &out.stderr, out.status.success()))
    }
}

/// What `cargo lambda invoke` printed: the function's output, or its error.
struct Answer {
    /// The function ran (its output or its own error), as opposed to cargo-lambda failing
    /// to reach it.
    from_function: bool,
    result: Result<Value, Value>,
    raw: String,
}

impl Answer {
    fn read(stdout: &[u8], stderr: &[u8], success: bool) -> Answer {
        let out = String::from_utf8_lossy(stdout).trim().to_string();
        let err = String::from_utf8_lossy(stderr).trim().to_string();
        let raw = format!(
            "{out}{}{err}",
            if out.is_empty() || err.is_empty() {
                ""
            } else {
                " | "
            }
        );
        if success {
            return match serde_json::from_str::<Value>(&out) {
                Ok(v) => Answer {
                    from_function: true,
                    result: Ok(v),
                    raw,
                },
                Err(_) => Answer {
                    from_function: false,
                    result: Err(Value::Null),
                    raw,
                },
            };
        }
        match function_error(&err).or_else(|| function_error(&out)) {
            Some(e) => Answer {
                from_function: true,
                result: Err(e),
                raw,
            },
            None => Answer {
                from_function: false,
                result: Err(Value::Null),
                raw,
            },
        }
    }
}

/// The `{errorType, errorMessage}` of a function error in `cargo lambda invoke`'s output,
/// which renders it as `Error: <errorType>` then `× <errorMessage>` (wrapped over lines that
/// start with `│`). Its own failures (no such function, emulator unreachable) have no error
/// type there, or one with spaces, which no function error type has.
fn function_error(text: &str) -> Option<Value> {
    let mut lines = text.lines().map(str::trim);
    let error_type = lines.find_map(|l| l.strip_prefix("Error:"))?.trim();
    if error_type.is_empty() || error_type.contains(char::is_whitespace) {
        return None;
    }
    let mut message = Vec::new();
    for l in lines.skip_while(|l| !l.starts_with('×')) {
        let part = l.trim_start_matches(['×', '│']).trim();
        if part.is_empty() {
            break;
        }
        message.push(part);
    }
    Some(json!({"errorType": error_type, "errorMessage": message.join(" ")}))
}

/// What `log` gained after its first `start` bytes.
fn log_since(log: &Path, start: u64) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    let start = usize::try_from(start)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// One SQS record as the event source mapping hands it to a function.
fn sqs_record(id: &str, body: &str, receives: usize, worker: &str) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("check-{id}-{receives}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": receives.to_string(), "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:000000000000:{worker}-jobs"),
        "awsRegion": "us-east-1",
    })
}

/// The fixtures of a function's folder: `*.json` without the `.expect.json` files, sorted.
fn fixtures(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with(".json") && !n.ends_with(".expect.json")
        })
        .collect();
    out.sort();
    Ok(out)
}

fn render(verdicts: &[Verdict]) -> String {
    if verdicts.is_empty() {
        return "nothing stated to check ✗".into();
    }
    verdicts
        .iter()
        .map(|v| match (&v.ok, &v.got) {
            (true, _) => format!("{} ✓", v.what),
            (false, got) => format!("{} ✗ (got {})", v.what, got.as_deref().unwrap_or("?")),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_cargo_lambda_invoke_prints() {
        let function = "Error: Input.InvalidInput\n\n  × Input.InvalidInput: `event`: expected an EventBridge event from the\n  │ Genesys partner event source\n\n  Was this behavior unexpected?\n";
        let a = Answer::read(b"", function.as_bytes(), false);
        assert!(a.from_function);
        let e = a.result.unwrap_err();
        assert_eq!(e["errorType"], "Input.InvalidInput");
        assert_eq!(
            e["errorMessage"],
            "Input.InvalidInput: `event`: expected an EventBridge event from the Genesys partner event source"
        );
        let missing = "Error: Missing function\n\n  × that function doesn't exist as a binary\n";
        assert!(!Answer::read(b"", missing.as_bytes(), false).from_function);
        let unreachable = "Error:   × error sending request to the runtime emulator\n";
        assert!(!Answer::read(b"", unreachable.as_bytes(), false).from_function);
        let ok = Answer::read(b"{\n  \"accepted\": true\n}", b"", true);
        assert_eq!(ok.result.unwrap()["accepted"], true);
    }
}
