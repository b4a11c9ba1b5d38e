//! The repository's shared test data: fixtures under `events/` and the example org configs
//! under `examples/orgs/` (which match the sandbox's default seed).

use std::path::{Path, PathBuf};

use bridge_sandbox::Sandbox;
use serde_json::Value;

/// The repository root (where `events/` and `examples/` live), whichever crate asks.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit/ has a parent")
        .to_path_buf()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture under `events/`, by its path there (`"ticket-status/data-action-solve.json"`).
pub fn fixture(path_under_events: &str) -> Value {
    read_json(&repo_root().join("events").join(path_under_events))
}

/// The example org config `examples/orgs/<org_id>.json`, as it is on disk.
pub fn example_org(org_id: &str) -> Value {
    read_json(
        &repo_root()
            .join("examples/orgs")
            .join(format!("{org_id}.json")),
    )
}

/// [`example_org`] pointed at `sandbox`.
pub fn example_org_for(org_id: &str, sandbox: &Sandbox) -> Value {
    let mut doc = example_org(org_id);
    bridge_sandbox::point_org_config(&mut doc, &sandbox.base_url());
    doc
}
