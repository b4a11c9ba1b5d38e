//! One execution environment: a function binary started the way Lambda starts a custom
//! runtime (a clean environment with the `AWS_LAMBDA_*` variables, a Runtime API to poll),
//! measured from outside.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::runtime_api::{Outcome, RuntimeApi};
use crate::upstreams::Error;

/// How long a process may take to poll first, and an invocation to answer.
pub const INIT_LIMIT: Duration = Duration::from_secs(30);
pub const INVOKE_LIMIT: Duration = Duration::from_secs(30);

/// A started function process and its Runtime API.
pub struct Host {
    pub function: String,
    api: RuntimeApi,
    child: tokio::process::Child,
    started: Instant,
    log: PathBuf,
}

/// The Lambda environment of a function: what the service sets for a custom runtime (region,
/// credentials, function name, memory, log names), plus the function's own settings.
pub fn lambda_env(function: &str, home: &Path, own: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("TZ", ":UTC"),
        ("LANG", "en_US.UTF-8"),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push((
        "AWS_LAMBDA_LOG_GROUP_NAME".into(),
        format!("/aws/lambda/{function}"),
    ));
    // An empty home: no ~/.aws files, as in Lambda.
    env.push(("HOME".into(), home.display().to_string()));
    env.extend(own.iter().cloned());
    env
}

impl Host {
    /// Starts `binary` against a new Runtime API; stdout and stderr go to `log`. `function`
    /// is the name the invocations' ARN carries (with a qualifier, if any).
    pub async fn start(
        binary: &Path,
        function: &str,
        env: &[(String, String)],
        log: &Path,
    ) -> Result<Host, Error> {
        let api = RuntimeApi::start().await?;
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let mut cmd = tokio::process::Command::new(binary);
        cmd.env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        Ok(Host {
            function: function.to_string(),
            api,
            child,
            started,
            log: log.to_path_buf(),
        })
    }

    /// Process start to its first poll for an event: the init Lambda bills and waits for.
    pub async fn init(&mut self) -> Result<Duration, Error> {
        self.poll().await.map(|at| at - self.started)
    }

    async fn poll(&mut self) -> Result<Instant, Error> {
        let exited = tokio::select! {
            at = self.api.next_poll(INIT_LIMIT) => match at {
                Some(at) => return Ok(at),
                None => None,
            },
            status = self.child.wait() => Some(status),
        };
        let why = match (exited, self.api.init_error()) {
            (_, Some(o)) => format!(
                "reported an init error: {}",
                String::from_utf8_lossy(&o.body)
            ),
            (Some(status), None) => format!(
                "exited ({})",
                status.map(|s| s.to_string()).unwrap_or_default()
            ),
            (None, None) => "did not poll for an event".into(),
        };
        Err(self.failure(&why))
    }

    /// Hands `event` to the polling process and returns its report, then waits until it
    /// polls again (not timed), so the next invocation starts from an idle process.
    pub async fn invoke(&mut self, event: Vec<u8>) -> Result<Outcome, Error> {
        let function = self.function.clone();
        let outcome = self
            .api
            .invoke(event, &function, INVOKE_LIMIT)
            .await
            .ok_or_else(|| self.failure("did not answer the invocation"))?;
        if !outcome.ok {
            return Err(self.failure(&format!(
                "answered with an error: {}",
                String::from_utf8_lossy(&outcome.body)
            )));
        }
        self.poll().await?;
        Ok(outcome)
    }

    /// The process's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    fn failure(&self, what: &str) -> Error {
        format!(
            "{} {what}; its output is in {}",
            self.function,
            self.log.display()
        )
        .into()
    }
}
