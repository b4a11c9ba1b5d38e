//! The standalone `bridge-sandbox` binary: its one-line handshake and loopback-only rule.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn prints_base_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bridge-sandbox"))
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let handshake: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base_url = handshake["baseUrl"].as_str().unwrap().to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(async {
        reqwest::get(format!("{base_url}/__sandbox/health"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn refuses_non_loopback_addr() {
    let output = Command::new(env!("CARGO_BIN_EXE_bridge-sandbox"))
        .args(["--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}
