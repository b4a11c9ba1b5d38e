//! Org configs held in memory: for tests and for `bridge dev`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::SecretSource;
use crate::error::Result;

#[derive(Default)]
pub struct MemorySource {
    docs: Mutex<BTreeMap<String, String>>,
    /// The directory the documents were copied from: messages then name the file to edit,
    /// not an in-memory copy.
    copied_from: Option<PathBuf>,
}

impl MemorySource {
    pub fn new() -> MemorySource {
        MemorySource::default()
    }

    /// An empty source whose messages name `<dir>/<orgId>.json`, for copies of a directory.
    pub fn copied_from(dir: &Path) -> MemorySource {
        MemorySource {
            copied_from: Some(dir.to_path_buf()),
            ..MemorySource::default()
        }
    }

    /// Adds or replaces a document (test setup; no validation).
    pub fn insert(&self, org_id: &str, document: impl Into<String>) {
        self.docs
            .lock()
            .expect("poisoned")
            .insert(org_id.to_string(), document.into());
    }
}

#[async_trait]
impl SecretSource for MemorySource {
    async fn fetch(&self, org_id: &str) -> Result<Option<SecretString>> {
        Ok(self
            .docs
            .lock()
            .expect("poisoned")
            .get(org_id)
            .map(|d| SecretString::from(d.clone())))
    }
    async fn list(&self) -> Result<Vec<String>> {
        Ok(self
            .docs
            .lock()
            .expect("poisoned")
            .keys()
            .cloned()
            .collect())
    }
    async fn put(&self, org_id: &str, document: &SecretString) -> Result<bool> {
        Ok(self
            .docs
            .lock()
            .expect("poisoned")
            .insert(org_id.to_string(), document.expose_secret().to_string())
            .is_some())
    }
    async fn delete(&self, org_id: &str) -> Result<bool> {
        Ok(self.docs.lock().expect("poisoned").remove(org_id).is_some())
    }
    fn location(&self, org_id: &str) -> String {
        match &self.copied_from {
            Some(dir) => format!("file {}/{org_id}.json", dir.display()),
            None => format!("in-memory org {org_id}"),
        }
    }
}
