//! Org configs as `<dir>/<orgId>.json` files: the embedded default for local runs.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::SecretSource;
use crate::config::validate_uuid;
use crate::error::{BridgeError, ErrorKind, Result};

/// A directory of org documents. Each file is named by its org id, so looking up one org
/// never opens another org's file.
pub struct DirSource {
    dir: PathBuf,
}

impl DirSource {
    pub fn new(dir: impl Into<PathBuf>) -> DirSource {
        DirSource { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, org_id: &str) -> Result<PathBuf> {
        // The id becomes a file name: only a canonical UUID may (no `../`).
        let id = validate_uuid("orgId", org_id)?;
        Ok(self.dir.join(format!("{id}.json")))
    }

    fn io_error(&self, what: &str, path: &Path, e: std::io::Error) -> BridgeError {
        BridgeError::new(
            ErrorKind::Config,
            format!("could not {what} {}: {e}", path.display()),
        )
    }
}

#[async_trait]
impl SecretSource for DirSource {
    async fn fetch(&self, org_id: &str) -> Result<Option<SecretString>> {
        let path = self.path(org_id)?;
        match tokio::fs::read_to_string(&path).await {
            Ok(text) => Ok(Some(SecretString::from(text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_error("read", &path, e)),
        }
    }

    async fn list(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut rd = tokio::fs::read_dir(&self.dir)
            .await
            .map_err(|e| self.io_error("list", &self.dir, e))?;
        while let Some(entry) = rd
            .next_entry()
            .await
            .map_err(|e| self.io_error("list", &self.dir, e))?
        {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(stem) = name.strip_suffix(".json") {
                if validate_uuid("orgId", stem).is_ok() {
                    out.push(stem.to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn put(&self, org_id: &str, document: &SecretString) -> Result<bool> {
        let path = self.path(org_id)?;
        let existed = tokio::fs::try_exists(&path).await.unwrap_or(false);
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| self.io_error("create", &self.dir, e))?;
        // Write then rename, so a reader never sees half a document.
        let tmp = path.with_extension("json.tmp");
        tokio::fs::write(&tmp, document.expose_secret().as_bytes())
            .await
            .map_err(|e| self.io_error("write", &tmp, e))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| self.io_error("write", &path, e))?;
        Ok(existed)
    }

    async fn delete(&self, org_id: &str) -> Result<bool> {
        let path = self.path(org_id)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io_error("delete", &path, e)),
        }
    }

    fn location(&self, org_id: &str) -> String {
        format!("file {}/{org_id}.json", self.dir.display())
    }
}
