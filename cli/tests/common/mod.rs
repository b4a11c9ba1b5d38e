//! What only the CLI's tests need: org files written for the binary, and running the built
//! `bridge` binary (the shared helpers are in bridge-testkit).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use bridge_testkit::repo_root;
use serde_json::Value;

/// Writes `doc` (pointed at the sandbox at `base`) as `<dir>/<org_id>.json`.
pub fn write_org(dir: &Path, org_id: &str, mut doc: Value, base: &str) {
    bridge_sandbox::point_org_config(&mut doc, base);
    std::fs::write(
        dir.join(format!("{org_id}.json")),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
}

/// Runs the built binary with `args` and `env`, in the repository root, with no stdin. The
/// caller's AWS setup never leaks in: every `AWS_*` variable is removed (tests that need AWS
/// pass [`aws_env`]) and the instance metadata service is never asked.
pub fn bridge(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bridge"));
    cmd.args(args).current_dir(repo_root());
    for (k, _) in std::env::vars_os() {
        if k.to_str()
            .is_some_and(|k| k.starts_with("AWS_") || k == "RUST_LOG")
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    // An empty value leaves the variable out.
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd.output().expect("the bridge binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Env for the binary to talk to the AWS emulator: its endpoint, fixed fake credentials,
/// one region (only `AWS_REGION`, so that leaving it out means "no region").
pub fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", bridge_testkit::aws_test_endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

pub fn with_env<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
