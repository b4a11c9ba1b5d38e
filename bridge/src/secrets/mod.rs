//! Where org configs (with their secrets) come from, and the cache in front of them.
//!
//! One small trait, [`SecretSource`], with two adapters: AWS Secrets Manager (one secret per
//! org, id = prefix + org id) for production, a directory of `<orgId>.json` files for local
//! runs (and, with the `local` feature, an in-memory copy of one for `bridge dev`).
//! [`OrgStore`] caches parsed configs across warm invocations with a TTL, fetches each org at
//! most once at a time (single-flight), and can be forced to refresh after a credential
//! rotation. A lookup for org A never reads org B's secret.

mod dir;
#[cfg(feature = "local")]
mod memory;
#[cfg(feature = "secretsmanager")]
mod secrets_manager;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

pub use dir::DirSource;
#[cfg(feature = "local")]
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

/// Default bound of the org cache ([`OrgStore::with_max_entries`]): above the hundreds of
/// orgs one deployment serves, small in memory (see the README's "Org cache").
pub const DEFAULT_MAX_ENTRIES: usize = 1_000;

#[derive(Default)]
struct Slot {
    /// `None` inside = "no such org", cached too so unknown ids cannot drive secret calls.
    cached: Option<(Option<Arc<OrgConfig>>, Instant)>,
}

/// One cached org id: its slot, when it was last asked for, and whether its last load
/// found a config (entries that did not are evicted first).
struct Entry {
    slot: Arc<tokio::sync::Mutex<Slot>>,
    used: u64,
    known: bool,
}

/// The cache's entries and a use counter (least recently used goes first).
#[derive(Default)]
struct Slots {
    map: HashMap<String, Entry>,
    tick: u64,
}

/// Parsed org configs, cached per process, at most `max_entries` org ids (known orgs and
/// misses together): org ids come from unauthenticated requests, so the cache must not
/// grow with them.
pub struct OrgStore {
    source: Arc<dyn SecretSource>,
    ttl: Duration,
    max_entries: usize,
    slots: Mutex<Slots>,
}

impl OrgStore {
    /// A store of at most [`DEFAULT_MAX_ENTRIES`] org ids.
    pub fn new(source: Arc<dyn SecretSource>, ttl: Duration) -> OrgStore {
        OrgStore::with_max_entries(source, ttl, DEFAULT_MAX_ENTRIES)
    }

    /// A store of at most `max_entries` org ids (`BRIDGE_ORG_CACHE_ENTRIES`). When full, a
    /// new id evicts the least recently used miss, or if there is none the least recently
    /// used org: a flood of unknown ids churns misses, not the configs in use.
    pub fn with_max_entries(
        source: Arc<dyn SecretSource>,
        ttl: Duration,
        max_entries: usize,
    ) -> OrgStore {
        OrgStore {
            source,
            ttl,
            max_entries: max_entries.max(1),
            slots: Mutex::new(Slots::default()),
        }
    }

    pub fn source(&self) -> &Arc<dyn SecretSource> {
        &self.source
    }

    /// How many org ids are cached (known orgs and misses).
    pub fn cached(&self) -> usize {
        self.slots.lock().expect("poisoned").map.len()
    }

    fn slot(&self, org_id: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().expect("poisoned");
        slots.tick += 1;
        let tick = slots.tick;
        // A warm lookup allocates nothing.
        if let Some(entry) = slots.map.get_mut(org_id) {
            entry.used = tick;
            return entry.slot.clone();
        }
        if slots.map.len() >= self.max_entries {
            evict(&mut slots.map);
        }
        let slot = Arc::new(tokio::sync::Mutex::new(Slot::default()));
        slots.map.insert(
            org_id.to_string(),
            Entry {
                slot: slot.clone(),
                used: tick,
                known: false,
            },
        );
        slot
    }

    /// Records whether `org_id`'s last load found a config (eviction prefers misses).
    fn mark(&self, org_id: &str, known: bool) {
        if let Some(entry) = self.slots.lock().expect("poisoned").map.get_mut(org_id) {
            entry.known = known;
        }
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
        self.mark(&org_id, value.is_some());
        self.answer(&org_id, value)
    }

    fn answer(&self, org_id: &str, value: Option<Arc<OrgConfig>>) -> Result<Arc<OrgConfig>> {
        if value.is_some() {
            // From now on this invocation's metrics may name the org (a configured one).
            crate::metrics::org_loaded(org_id);
        }
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

/// Removes the least recently used miss, or if there is none the least recently used
/// entry. A linear scan: it runs only when the cache is full, over at most
/// `max_entries` entries. A slot in use elsewhere lives on in its `Arc`.
fn evict(map: &mut HashMap<String, Entry>) {
    let victim = map
        .iter()
        .filter(|(_, e)| !e.known)
        .min_by_key(|(_, e)| e.used)
        .or_else(|| map.iter().min_by_key(|(_, e)| e.used))
        .map(|(k, _)| k.clone());
    if let Some(k) = victim {
        map.remove(&k);
    }
}
