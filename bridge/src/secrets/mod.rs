//! Where org configs (with their secrets) come from, and the cache in front of them.
//!
//! One small trait, [`SecretSource`], with two adapters: AWS Secrets Manager (one secret per
//! org, id = prefix + org id) for production, a directory of `<orgId>.json` files for local
//! runs. [`OrgStore`] caches parsed configs across warm invocations with a TTL, fetches each
//! org at most once at a time (single-flight), and can be forced to refresh after a
//! credential rotation. A lookup for org A never reads org B's secret.

mod dir;
mod memory;
#[cfg(feature = "secretsmanager")]
mod secrets_manager;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

pub use dir::DirSource;
pub use memory::MemorySource;
#[cfg(feature = "secretsmanager")]
pub use secrets_manager::SecretsManagerSource;

use crate::config::OrgConfig;
use crate::error::{BridgeError, ErrorKind, Result};

/// The default secret name prefix; the IAM policy in infra/template.yaml grants exactly
/// `secret:<prefix>*`.
pub const DEFAULT_PREFIX: &str = "genesys-bridge/orgs/";

/// Default cache TTL. Powertools uses 5 s; ours is longer because a warm invocation must make
/// no secret call, and rotation is handled by [`OrgStore::refresh`] on an auth failure.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// Opens the source a setting names: one place for the functions (`Runtime::from_settings`)
/// and the CLI. Secrets Manager needs the process's AWS SDK config, which the caller loads
/// once ([`crate::aws::sdk_config`]) and shares with its other AWS clients.
pub fn open(
    setting: &crate::settings::SecretSourceSetting,
    aws: Option<&crate::aws::AwsConfig>,
) -> Result<Arc<dyn SecretSource>> {
    use crate::settings::SecretSourceSetting;
    match setting {
        SecretSourceSetting::SecretsManager { prefix } => open_secrets_manager(prefix, aws),
        SecretSourceSetting::Dir { path } => Ok(Arc::new(DirSource::new(path.clone()))),
    }
}

#[cfg(feature = "secretsmanager")]
fn open_secrets_manager(
    prefix: &str,
    aws: Option<&crate::aws::AwsConfig>,
) -> Result<Arc<dyn SecretSource>> {
    let conf =
        aws.ok_or_else(|| BridgeError::internal("Secrets Manager needs the AWS SDK config"))?;
    Ok(Arc::new(SecretsManagerSource::from_conf(conf, prefix)))
}

#[cfg(not(feature = "secretsmanager"))]
fn open_secrets_manager(
    _prefix: &str,
    _aws: Option<&crate::aws::AwsConfig>,
) -> Result<Arc<dyn SecretSource>> {
    Err(BridgeError::config(
        "BRIDGE_SECRET_SOURCE",
        "this build has no Secrets Manager client (the `secretsmanager` feature of bridge); use \"dir\" or build with the feature",
    ))
}

/// A store of org config documents, keyed by org id.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The raw JSON document for `org_id`, `None` if there is none.
    async fn fetch(&self, org_id: &str) -> Result<Option<SecretString>>;
    /// Org ids that have a document.
    async fn list(&self) -> Result<Vec<String>>;
    /// Creates or replaces the document for `org_id` (callers validate first); `true` if it
    /// replaced one.
    async fn put(&self, org_id: &str, document: &SecretString) -> Result<bool>;
    /// Removes the document; `false` if there was none.
    async fn delete(&self, org_id: &str) -> Result<bool>;
    /// Where `org_id`'s document lives, for messages ("secret genesys-bridge/orgs/<id>").
    fn location(&self, org_id: &str) -> String;
}

/// Counts fetches, so tests can prove "warm invocations make no secret call".
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

#[async_trait]
impl<S: SecretSource + ?Sized> SecretSource for Arc<S> {
    async fn fetch(&self, org_id: &str) -> Result<Option<SecretString>> {
        (**self).fetch(org_id).await
    }
    async fn list(&self) -> Result<Vec<String>> {
        (**self).list().await
    }
    async fn put(&self, org_id: &str, document: &SecretString) -> Result<bool> {
        (**self).put(org_id, document).await
    }
    async fn delete(&self, org_id: &str) -> Result<bool> {
        (**self).delete(org_id).await
    }
    fn location(&self, org_id: &str) -> String {
        (**self).location(org_id)
    }
}

#[derive(Default)]
struct Slot {
    /// `None` inside = "no such org", cached too so unknown ids cannot drive secret calls.
    cached: Option<(Option<Arc<OrgConfig>>, Instant)>,
}

/// Parsed org configs, cached per process.
pub struct OrgStore {
    source: Arc<dyn SecretSource>,
    ttl: Duration,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl OrgStore {
    pub fn new(source: Arc<dyn SecretSource>, ttl: Duration) -> OrgStore {
        OrgStore {
            source,
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn source(&self) -> &Arc<dyn SecretSource> {
        &self.source
    }

    fn slot(&self, org_id: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().expect("poisoned");
        // A warm lookup allocates nothing.
        if let Some(slot) = slots.get(org_id) {
            return slot.clone();
        }
        slots.entry(org_id.to_string()).or_default().clone()
    }

    /// The config of `org_id`: from the cache while fresh, else fetched once (concurrent
    /// callers for the same org wait for that one fetch).
    pub async fn get(&self, org_id: &str) -> Result<Arc<OrgConfig>> {
        self.load(org_id, None).await
    }

    /// Fetches again now, e.g. after the upstream rejected the cached credentials. If `stale`
    /// is given and another caller already replaced it, that newer value is returned
    /// without another fetch.
    pub async fn refresh(
        &self,
        org_id: &str,
        stale: Option<&Arc<OrgConfig>>,
    ) -> Result<Arc<OrgConfig>> {
        self.load(org_id, Some(stale)).await
    }

    /// Whether `org_id` has a config (cached like `get`). Never errors for unknown orgs.
    pub async fn contains(&self, org_id: &str) -> Result<bool> {
        match self.get(org_id).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind == ErrorKind::UnknownOrg => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn load(
        &self,
        org_id: &str,
        force: Option<Option<&Arc<OrgConfig>>>,
    ) -> Result<Arc<OrgConfig>> {
        let org_id = crate::input::uuid_field("orgId", org_id)?;
        let slot = self.slot(&org_id);
        let mut guard = slot.lock().await;
        if let Some((value, at)) = &guard.cached {
            let fresh = at.elapsed() < self.ttl;
            let keep = match force {
                None => fresh,
                // Forced: keep only if someone already replaced the stale value.
                Some(Some(stale)) => match value {
                    Some(v) => !Arc::ptr_eq(v, stale),
                    None => false,
                },
                Some(None) => false,
            };
            if keep {
                return self.answer(&org_id, value.clone());
            }
        }
        let fetched = self
            .source
            .fetch(&org_id)
            .await
            .map_err(|e| e.or_org(&org_id))?;
        let value = match fetched {
            None => None,
            Some(doc) => Some(Arc::new(
                OrgConfig::from_json_for(doc.expose_secret(), &org_id).map_err(|mut e| {
                    e.hint = Some(format!(
                        "fix the org config stored in {}",
                        self.source.location(&org_id)
                    ));
                    e
                })?,
            )),
        };
        guard.cached = Some((value.clone(), Instant::now()));
        self.answer(&org_id, value)
    }

    fn answer(&self, org_id: &str, value: Option<Arc<OrgConfig>>) -> Result<Arc<OrgConfig>> {
        value.ok_or_else(|| {
            BridgeError::new(
                ErrorKind::UnknownOrg,
                format!(
                    "no configuration for this org ({} not found)",
                    self.source.location(org_id)
                ),
            )
            .with_org(org_id)
            .with_hint("onboard the org with `bridge orgs put`, or check the org id")
        })
    }
}

#[cfg(test)]
mod tests;
