//! Views of the sandbox's journal for assertions and their messages.

use bridge_sandbox::{JournalEntry, Sandbox};

/// (method, path) of every entry, in order.
pub fn calls(journal: &[JournalEntry]) -> Vec<(String, String)> {
    journal
        .iter()
        .map(|e| (e.method.clone(), e.path.clone()))
        .collect()
}

/// One line per entry (method, path, status, org), for assertion messages.
pub fn show(journal: &[JournalEntry]) -> String {
    journal
        .iter()
        .map(|e| {
            format!(
                "{} {} -> {} (org {:?})",
                e.method, e.path, e.status, e.org_id
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many Genesys tokens were requested so far.
pub fn token_requests(sandbox: &Sandbox) -> usize {
    bridge_sandbox::count(&sandbox.journal(), "POST", "/oauth/token")
}
