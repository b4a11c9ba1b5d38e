//! The chaos suite in its bounded form, as `scripts/test.sh` runs it: a few hundred events
//! through the real handlers of all three functions while 20 % of the Genesys and Zendesk
//! requests fail (429, 5xx, timeouts, dropped connections, conflicts), with duplicates,
//! once with the in-memory queue and idempotency store and once with SQS and DynamoDB on
//! the AWS emulator behind a proxy that throttles, fails, times out and loses answers. Every
//! event must end applied exactly once or in a dead-letter queue with its reason, and no
//! ticket may get more updates than Zendesk allows. The same run is
//! `cargo run -p bridge-cli -- chaos --events 300 --fault-rate 0.2 --seed 2026 [--aws]`.

use bridge_cli::chaos::{run, Options, Report};
use bridge_testkit::{aws_test_endpoint, repo_root};

const SEED: u64 = 2026;

async fn chaos(events: usize, aws_endpoint: Option<String>) -> Report {
    let opts = Options {
        events,
        fault_rate: 0.2,
        seed: SEED,
        aws_endpoint,
        concurrency: 32,
        orgs_dir: repo_root().join("examples/orgs"),
    };
    let report = run(&opts).await.expect("the chaos run starts and finishes");
    let text = report.render();
    println!("{text}");
    assert!(report.passed(), "{text}");
    // The run did what it says: every kind of fault, duplicates, poison in the DLQs, and
    // most events applied.
    for fault in [
        "429",
        "500",
        "503",
        "dropped",
        "dropped-after-apply",
        "timeout",
    ] {
        assert!(
            report.upstream_faults.get(fault).copied().unwrap_or(0) > 0,
            "no {fault} injected:\n{text}"
        );
    }
    assert!(report.answered_duplicate > 0, "{text}");
    assert!(report.expected_dead_letters > 0 && report.expected_dead_letters == report.poison);
    assert!(report.applied * 10 >= events * 8, "{text}");
    assert!(
        report.redeliveries > 0,
        "SQS redelivered failed jobs:\n{text}"
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_in_memory_queue_and_store_nothing_is_lost_or_done_twice() {
    chaos(300, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_sqs_and_dynamodb_under_aws_faults_nothing_is_lost_or_done_twice() {
    let report = chaos(200, Some(aws_test_endpoint())).await;
    for fault in ["throttled", "5xx", "applied-answer-lost"] {
        assert!(
            report.aws_faults.get(fault).copied().unwrap_or(0) > 0,
            "no AWS {fault} injected:\n{}",
            report.render()
        );
    }
}
