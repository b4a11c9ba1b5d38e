//! A secret source that counts its fetches, so tests can prove "warm invocations make no
//! secret call" and "a lookup for org A never reads org B's secret".

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use bridge::secrets::SecretSource;
use bridge::Result;
use secrecy::SecretString;

/// Wraps a [`SecretSource`] and counts `fetch` calls, in all and per org.
pub struct CountingSource<S> {
    inner: S,
    fetches: AtomicUsize,
    per_org: Mutex<HashMap<String, usize>>,
}

impl<S> CountingSource<S> {
    pub fn new(inner: S) -> Self {
        CountingSource {
            inner,
            fetches: AtomicUsize::new(0),
            per_org: Mutex::new(HashMap::new()),
        }
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    pub fn fetches_for(&self, org_id: &str) -> usize {
        self.per_org
            .lock()
            .expect("poisoned")
            .get(org_id)
            .copied()
            .unwrap_or(0)
    }

    /// The wrapped source, to change documents behind the counter's back (rotations).
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait]
impl<S: SecretSource> SecretSource for CountingSource<S> {
    async fn fetch(&self, org_id: &str) -> Result<Option<SecretString>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        *self
            .per_org
            .lock()
            .expect("poisoned")
            .entry(org_id.to_string())
            .or_default() += 1;
        self.inner.fetch(org_id).await
    }
    async fn list(&self) -> Result<Vec<String>> {
        self.inner.list().await
    }
    async fn put(&self, org_id: &str, document: &SecretString) -> Result<bool> {
        self.inner.put(org_id, document).await
    }
    async fn delete(&self, org_id: &str) -> Result<bool> {
        self.inner.delete(org_id).await
    }
    fn location(&self, org_id: &str) -> String {
        self.inner.location(org_id)
    }
}
