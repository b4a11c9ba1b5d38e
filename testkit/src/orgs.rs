//! The org harness: a sandbox with its default seed, the example orgs of `examples/orgs`
//! pointed at it (in memory; the files are not changed) behind a [`CountingSource`], and a
//! [`Runtime`] over them, as a function builds it at cold start, whose metrics lines are
//! kept in memory ([`OrgHarness::metrics`]).

use std::path::Path;
use std::sync::Arc;

use bridge::http::HttpClient;
use bridge::metrics::{Captured, Metrics};
use bridge::secrets::{MemorySource, SecretSource, DEFAULT_TTL};
use bridge::Runtime;
use bridge_sandbox::{default_seed, JournalEntry, Sandbox};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::counting::CountingSource;
use crate::files::repo_root;

/// Every `<orgId>.json` of `dir`, pointed at the sandbox at `base_url`, in a new in-memory
/// source whose messages name the files.
pub fn sandbox_orgs_from_dir(dir: &Path, base_url: &str) -> std::io::Result<MemorySource> {
    MemorySource::from_dir(dir, |doc| bridge_sandbox::point_org_config(doc, base_url))
}

/// Changes the document of `org_id` in `source` (no validation: the runtime validates on
/// load). Use it on `OrgHarness::source.inner()` to rotate a secret behind the cache.
///
/// # Panics
/// If `source` has no document for `org_id`.
pub fn edit_org(source: &MemorySource, org_id: &str, edit: impl FnOnce(&mut Value)) {
    // MemorySource::fetch never waits on anything, so this never blocks.
    let doc = futures::executor::block_on(source.fetch(org_id))
        .expect("an in-memory fetch cannot fail")
        .unwrap_or_else(|| panic!("no org {org_id} in the source"));
    let mut doc: Value = serde_json::from_str(doc.expose_secret()).expect("documents are JSON");
    edit(&mut doc);
    source.insert(org_id, doc.to_string());
}

/// The job queues' `maxReceiveCount` in the harness's metrics setting (the shared stack's
/// default): a message failing on this delivery counts as dead-lettered.
pub const MAX_RECEIVE_COUNT: u32 = 5;

pub struct OrgHarness {
    pub sandbox: Sandbox,
    /// The org configs, counting fetches; `source.inner()` changes them behind the cache.
    pub source: Arc<CountingSource<MemorySource>>,
    pub rt: Runtime,
    /// Every EMF line the handlers run on `rt` wrote (namespace `GenesysBridge`,
    /// [`MAX_RECEIVE_COUNT`]).
    pub metrics: Captured,
}

impl OrgHarness {
    /// The sandbox with its default seed and every example org, default HTTP client.
    pub async fn start() -> OrgHarness {
        OrgHarness::start_with(|_| {}).await
    }

    /// Like [`OrgHarness::start`]; `edit` may change the org documents (already pointed at
    /// the sandbox, e.g. with [`edit_org`]) before the runtime first reads them.
    pub async fn start_with(edit: impl FnOnce(&MemorySource)) -> OrgHarness {
        OrgHarness::start_on(http(), edit).await
    }

    /// Like [`OrgHarness::start`], with `http` (e.g. a faster retry policy) for the clients.
    pub async fn start_with_http(http: HttpClient) -> OrgHarness {
        OrgHarness::start_on(http, |_| {}).await
    }

    async fn start_on(http: HttpClient, edit: impl FnOnce(&MemorySource)) -> OrgHarness {
        let sandbox = Sandbox::start(default_seed())
            .await
            .expect("the sandbox starts");
        let orgs = sandbox_orgs_from_dir(&repo_root().join("examples/orgs"), &sandbox.base_url())
            .expect("examples/orgs loads");
        edit(&orgs);
        let source = Arc::new(CountingSource::new(orgs));
        let mut rt = Runtime::new(source.clone(), DEFAULT_TTL, http);
        let (metrics, captured) = Metrics::capture();
        rt.metrics = metrics.with_max_receive_count(Some(MAX_RECEIVE_COUNT));
        OrgHarness {
            sandbox,
            source,
            rt,
            metrics: captured,
        }
    }

    /// Every upstream request the sandbox answered so far.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.sandbox.journal()
    }
}

fn http() -> HttpClient {
    HttpClient::new().expect("the HTTP client builds")
}
