//! End to end: every fixture under events/ goes through the whole local pipeline (sandbox,
//! example org files, in-memory queue and idempotency, the real handlers of all four
//! functions), exactly as `bridge dev --replay events/` runs it, and every outcome must be
//! the one its expectation file states.

use bridge_testkit::repo_root;

#[tokio::test]
async fn every_fixture_replays_as_expected() {
    let root = repo_root();
    let report = bridge_cli::dev::replay::run(&root.join("events"), &root.join("examples/orgs"))
        .await
        .expect("the replay runs");
    let text = report.render();
    println!("{text}");
    assert!(
        report.passed(),
        "not every outcome was as expected:\n{text}"
    );
    // Every function's fixtures and the cross-function scenarios took part.
    for dir in [
        "events/webhook-ingest/",
        "events/attribute-writer/",
        "events/ticket-status/",
        "events/agentless-messages/",
        "events/replay/",
    ] {
        assert!(
            report.fixtures.iter().any(|f| f.path.contains(dir)),
            "no fixture of {dir} was replayed:\n{text}"
        );
    }
    // Each one checked something (an expectation that states nothing cannot pass).
    for f in &report.fixtures {
        let checked = f.verdicts.len() + f.steps.iter().map(|s| s.verdicts.len()).sum::<usize>();
        assert!(checked > 0, "{} checked nothing", f.path);
        assert!(f.steps.iter().all(|s| !s.function.is_empty()));
    }
}
