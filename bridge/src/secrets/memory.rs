//! Org configs held in memory: the local default of `bridge dev` (a copy of a directory of
//! org files, rewritten in memory so the files stay as they are) and of tests. Compiled with
//! the `local` feature only: no deployed function holds org configs in memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::SecretSource;
use crate::config::validate_uuid;
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

    /// Copies every `<orgId>.json` of `dir`, passed through `edit` (e.g. pointing it at the
    /// sandbox), into a new source whose messages name the files (which are not changed).
    /// Files not named by an org id are skipped, as [`super::DirSource`] skips them; a file
    /// that is not JSON is an error naming it.
    pub fn from_dir(dir: &Path, mut edit: impl FnMut(&mut Value)) -> std::io::Result<MemorySource> {
        let src = MemorySource::copied_from(dir);
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if path.extension().and_then(|e| e.to_str()) != Some("json")
                || validate_uuid("orgId", stem).is_err()
            {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            let mut doc: Value = serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            edit(&mut doc);
            src.insert(stem, doc.to_string());
        }
        Ok(src)
    }

    /// Adds or replaces a document (no validation: the [`super::OrgStore`] validates on load).
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
