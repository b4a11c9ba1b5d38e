//! Shared helpers for the CLI's tests: org files pointed at a sandbox, and running the
//! built `bridge` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const ACME: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
pub const GLOBEX: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";

/// The repository root (examples/, events/ live there).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// An example org file as JSON.
pub fn example_org(org_id: &str) -> Value {
    let path = repo_root()
        .join("examples/orgs")
        .join(format!("{org_id}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("example org is JSON")
}

/// Writes `doc` (pointed at the sandbox at `base`) as `<dir>/<org_id>.json`.
pub fn write_org(dir: &Path, org_id: &str, mut doc: Value, base: &str) {
    bridge::testkit::point_at_sandbox(&mut doc, base);
    std::fs::write(
        dir.join(format!("{org_id}.json")),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
}

/// Runs the built binary with `args` (and extra env), in the repository root.
pub fn bridge(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bridge"));
    cmd.args(args).current_dir(repo_root());
    // The caller's AWS setup must not leak into tests that set their own.
    for k in ["AWS_ENDPOINT_URL", "AWS_PROFILE", "RUST_LOG"] {
        cmd.env_remove(k);
    }
    // An empty value removes the variable.
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

/// Env for the binary to talk to the AWS emulator.
pub fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", bridge::testkit::aws_test_endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

pub fn with_env<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
