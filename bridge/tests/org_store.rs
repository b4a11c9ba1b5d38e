//! The org config cache (`OrgStore`): one fetch for concurrent cold calls, TTL and forced
//! refresh, cached misses, documents stored under the wrong org; and the directory source.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bridge::secrets::{DirSource, MemorySource, OrgStore, SecretSource, DEFAULT_TTL};
use bridge::{ErrorKind, Result};
use bridge_testkit::ids::{ORG_A, ORG_B};
use bridge_testkit::CountingSource;
use secrecy::SecretString;
use serde_json::json;

fn doc(org: &str, client: &str) -> String {
    json!({
        "orgId": org,
        "genesys": {"region": "mypurecloud.ie", "clientId": client, "clientSecret": "cs"},
        "webhook": {"sharedSecret": "0123456789abcdef0123456789abcdef"}
    })
    .to_string()
}

/// A source that is slow, so concurrent callers really overlap.
struct Slow(MemorySource);

#[async_trait]
impl SecretSource for Slow {
    async fn fetch(&self, org_id: &str) -> Result<Option<SecretString>> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.0.fetch(org_id).await
    }
    async fn list(&self) -> Result<Vec<String>> {
        self.0.list().await
    }
    async fn put(&self, o: &str, d: &SecretString) -> Result<bool> {
        self.0.put(o, d).await
    }
    async fn delete(&self, o: &str) -> Result<bool> {
        self.0.delete(o).await
    }
    fn location(&self, o: &str) -> String {
        self.0.location(o)
    }
}

fn store(ttl: Duration) -> (Arc<CountingSource<Slow>>, OrgStore) {
    let mem = MemorySource::new();
    mem.insert(ORG_A, doc(ORG_A, "client-a"));
    mem.insert(ORG_B, doc(ORG_B, "client-b"));
    let src = Arc::new(CountingSource::new(Slow(mem)));
    let store = OrgStore::new(src.clone(), ttl);
    (src, store)
}

#[tokio::test]
async fn ten_concurrent_cold_calls_make_one_fetch() {
    let (src, store) = store(DEFAULT_TTL);
    let store = Arc::new(store);
    let calls = (0..10).map(|_| {
        let s = store.clone();
        tokio::spawn(async move { s.get(ORG_A).await.map(|c| c.genesys.client_id.clone()) })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap(), "client-a");
    }
    assert_eq!(src.fetches(), 1);
    // Warm: still one.
    store.get(ORG_A).await.unwrap();
    assert_eq!(src.fetches(), 1);
    // Org B is its own fetch, and org A's lookups never read it.
    assert_eq!(src.fetches_for(ORG_B), 0);
    store.get(ORG_B).await.unwrap();
    assert_eq!(src.fetches_for(ORG_B), 1);
}

#[tokio::test]
async fn ttl_expiry_and_forced_refresh() {
    let (src, store) = store(Duration::from_millis(100));
    let first = store.get(ORG_A).await.unwrap();
    // Rotation: the stored document changes.
    src.inner().0.insert(ORG_A, doc(ORG_A, "client-a-rotated"));
    assert_eq!(
        store.get(ORG_A).await.unwrap().genesys.client_id,
        "client-a"
    );
    let refreshed = store.refresh(ORG_A, Some(&first)).await.unwrap();
    assert_eq!(refreshed.genesys.client_id, "client-a-rotated");
    assert_eq!(src.fetches(), 2);
    // A second caller holding the same stale value does not fetch again.
    let again = store.refresh(ORG_A, Some(&first)).await.unwrap();
    assert!(Arc::ptr_eq(&again, &refreshed));
    assert_eq!(src.fetches(), 2);
    tokio::time::sleep(Duration::from_millis(120)).await;
    store.get(ORG_A).await.unwrap();
    assert_eq!(src.fetches(), 3, "expired entries are fetched again");
}

#[tokio::test]
async fn unknown_org_is_a_clear_error_and_cached() {
    let (src, store) = store(DEFAULT_TTL);
    let unknown = "00000000-0000-4000-8000-000000000000";
    let e = store.get(unknown).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownOrg);
    assert_eq!(e.org_id.as_deref(), Some(unknown));
    assert!(!store.contains(unknown).await.unwrap());
    assert_eq!(src.fetches(), 1, "a miss is cached too");
    let bad = store.get("../../etc/passwd").await.unwrap_err();
    assert_eq!(bad.kind, ErrorKind::Validation);
    assert_eq!(src.fetches(), 1, "invalid ids never reach the source");
}

#[tokio::test]
async fn a_document_stored_under_the_wrong_org_is_refused() {
    let mem = MemorySource::new();
    mem.insert(ORG_A, doc(ORG_B, "client-b"));
    let store = OrgStore::new(Arc::new(mem), DEFAULT_TTL);
    let e = store.get(ORG_A).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("orgId"));
    assert!(e.hint.as_deref().unwrap().contains("in-memory org"));
}

#[tokio::test]
async fn dir_source_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let src = DirSource::new(tmp.path());
    assert_eq!(src.fetch(ORG_A).await.unwrap().map(|_| ()), None);
    src.put(ORG_A, &SecretString::from(doc(ORG_A, "c")))
        .await
        .unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "ignored").unwrap();
    assert_eq!(src.list().await.unwrap(), vec![ORG_A.to_string()]);
    let store = OrgStore::new(Arc::new(src), DEFAULT_TTL);
    assert_eq!(store.get(ORG_A).await.unwrap().genesys.client_id, "c");
    let src = DirSource::new(tmp.path());
    assert!(src.delete(ORG_A).await.unwrap());
    assert!(!src.delete(ORG_A).await.unwrap());
    assert!(src.fetch("../x").await.is_err());
}

#[tokio::test]
async fn an_unknown_org_flood_stays_within_the_bound_and_keeps_known_orgs() {
    let mem = MemorySource::new();
    mem.insert(ORG_A, doc(ORG_A, "client-a"));
    let src = Arc::new(CountingSource::new(mem));
    let store = OrgStore::with_max_entries(src.clone(), DEFAULT_TTL, 100);
    store.get(ORG_A).await.unwrap();
    // Unauthenticated callers choose the org ids in the path: 1,500 random ones.
    for _ in 0..1_500 {
        let id = uuid::Uuid::new_v4().to_string();
        assert!(!store.contains(&id).await.unwrap());
        assert!(store.cached() <= 100, "{} entries", store.cached());
    }
    // Misses are cached while they fit (a repeat costs no fetch), and the flood evicted
    // unknown ids, not the org that is in use.
    let fetches = src.fetches();
    store.get(ORG_A).await.unwrap();
    assert_eq!(src.fetches(), fetches, "org A is still cached");
    assert_eq!(src.fetches_for(ORG_A), 1);
    let unknown = uuid::Uuid::new_v4().to_string();
    store.contains(&unknown).await.unwrap();
    store.contains(&unknown).await.unwrap();
    assert_eq!(src.fetches_for(&unknown), 1, "a miss is cached");
    assert_eq!(bridge::secrets::DEFAULT_MAX_ENTRIES, 1_000);
}
