//! What measuring an invocation costs. Run: `cargo bench -p bridge --bench metrics`.
//!
//! Each iteration is one invocation's worth of metrics work, from `Metrics::measure` to the
//! finished EMF lines handed to a sink that drops them (the cost of writing to stdout is
//! Lambda's log capture, not ours): off (the baseline: only the future is awaited); a data
//! action (one org loaded, one outcome, one throttled upstream answer: one line); a batch of
//! ten messages of two orgs (ten outcomes, a dead letter: three lines). The same work
//! without `measure` is what a handler does anyway, so the differences are the overhead.
//!
//! Under `cargo test --benches` (no `--bench` flag) everything runs a few iterations only.

use std::hint::black_box;
use std::sync::Arc;

use bridge::metrics::{self, Answer, Metrics, Sink};
use bridge::Upstream;
use criterion::Criterion;

const ACME: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
const GLOBEX: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";

/// Drops every line, keeping only its length from being optimised away.
struct Drop;

impl Sink for Drop {
    fn write(&self, line: &str) {
        black_box(line.len());
    }
}

async fn data_action() {
    metrics::org_loaded(ACME);
    metrics::upstream_answer(
        Upstream::Genesys,
        ACME,
        Answer::Status {
            status: 429,
            throttled: false,
        },
    );
    metrics::outcome("written");
}

async fn batch() {
    metrics::org_loaded(ACME);
    metrics::org_loaded(GLOBEX);
    for i in 0..10u32 {
        let (org, outcome, failed) = match i % 3 {
            0 => (ACME, "updated", false),
            1 => (GLOBEX, "unchanged", false),
            _ => (ACME, "failed", true),
        };
        metrics::job_outcome(org, outcome, failed, Some(1 + i % 5));
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let on = Metrics::new(metrics::DEFAULT_NAMESPACE, Arc::new(Drop))
        .expect("the default namespace is valid")
        .with_max_receive_count(Some(5));
    let off = Metrics::off();
    let mut group = c.benchmark_group("metrics per invocation");
    group.bench_function("off, data action", |b| {
        b.iter(|| rt.block_on(off.measure("attribute-writer", data_action())))
    });
    group.bench_function("on, data action (1 line)", |b| {
        b.iter(|| rt.block_on(on.measure("attribute-writer", data_action())))
    });
    group.bench_function("on, batch of 10, 2 orgs (3 lines)", |b| {
        b.iter(|| rt.block_on(on.measure("ticket-status", batch())))
    });
    group.finish();
    c.final_summary();
}
