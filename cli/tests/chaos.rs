//! `bridge chaos` through the binary: a small run's summary and exit code, the JSON form,
//! and the usage errors (nothing runs).

mod common;

use common::{bridge, stderr, stdout};
use serde_json::Value;

#[test]
fn a_small_run_prints_its_summary_and_passes() {
    let o = bridge(
        &[
            "chaos",
            "--events",
            "60",
            "--fault-rate",
            "0.1",
            "--seed",
            "11",
        ],
        &[("BRIDGE_TEST_AWS_ENDPOINT", "")],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    for line in [
        "chaos run: 60 events, fault rate 10 %, seed 11, in-memory queue and idempotency store",
        "reproduce: cargo run --release -p bridge-cli -- chaos --events 60 --fault-rate 0.1 --seed 11",
        "LOST                0",
        "DUPLICATED EFFECTS  0",
        "most updates to one ticket in any 10 minutes",
        "PASS: every event applied exactly once or dead-lettered with its reason",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
}

#[test]
fn json_has_the_same_figures() {
    let o = bridge(&["chaos", "--events", "30", "--seed", "3", "--json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    assert_eq!(v["events"], 30);
    assert_eq!(v["seed"], 3);
    assert_eq!(v["lost"], Value::Array(vec![]));
    assert_eq!(v["duplicated"], Value::Array(vec![]));
    assert!(v["mostTicketUpdates"].as_u64().is_some(), "{v}");
}

#[test]
fn bad_flags_are_usage_errors() {
    for (args, says) in [
        (vec!["chaos", "--fault-rate", "1.5"], "--fault-rate"),
        (vec!["chaos", "--events", "0"], "--events"),
        (vec!["chaos", "--aws"], "--aws needs the local AWS emulator"),
        (
            vec![
                "chaos",
                "--aws",
                "--aws-endpoint",
                "https://sqs.us-east-1.amazonaws.com",
            ],
            "loopback",
        ),
        (vec!["chaos", "--orgs-dir", "no/such/dir"], "does not exist"),
    ] {
        let o = bridge(&args, &[("BRIDGE_TEST_AWS_ENDPOINT", "")]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
}
