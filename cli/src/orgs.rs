//! `bridge orgs put|get|list|rm`: org onboarding on either secret source. Documents are
//! validated before anything is written, and secrets are redacted on output unless asked.

use std::path::Path;

use bridge::config::validate_uuid;
use bridge::secrets::SecretSource;
use bridge::OrgConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;

use crate::exit::CliError;

fn org_arg(org_id: &str) -> Result<String, CliError> {
    validate_uuid("ORG_ID", org_id).map_err(|e| CliError::usage(e.to_string()))
}

/// Validates `file` as the config of `org_id` and stores it. The document is stored as
/// written (comments are not JSON, so there are none to lose); an invalid document, or one
/// whose `orgId` is another org's, is refused before anything is written.
pub async fn put(source: &dyn SecretSource, org_id: &str, file: &Path) -> Result<String, CliError> {
    let org_id = org_arg(org_id)?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::usage(format!("could not read {}: {e}", file.display())))?;
    let cfg = OrgConfig::from_json(&text).map_err(|e| {
        CliError::usage(format!(
            "{} is not a valid org config, nothing was written: {}",
            file.display(),
            e.message
        ))
    })?;
    if !cfg.org_id.eq_ignore_ascii_case(&org_id) {
        return Err(CliError::usage(format!(
            "{} is the config of org {} (its orgId), not of {org_id}; refusing to store one org's credentials under another org's name",
            file.display(),
            cfg.org_id
        )));
    }
    // Secrets Manager's adapter explains a refusal during a removed org's recovery window
    // itself (the error's hint).
    let replaced = source
        .put(&org_id, &SecretString::from(text))
        .await
        .map_err(CliError::from)?;
    Ok(format!(
        "{} org {org_id}{} in {}",
        if replaced { "replaced" } else { "created" },
        cfg.name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        source.location(&org_id)
    ))
}

/// The org's config as JSON; secrets are `"** redacted **"` unless `reveal`.
pub async fn get(source: &dyn SecretSource, org_id: &str, reveal: bool) -> Result<Value, CliError> {
    let org_id = org_arg(org_id)?;
    let doc = source
        .fetch(&org_id)
        .await
        .map_err(CliError::from)?
        .ok_or_else(|| {
            CliError::failed(format!(
                "no config for org {org_id} ({} not found)",
                source.location(&org_id)
            ))
        })?;
    let cfg = OrgConfig::from_json_for(doc.expose_secret(), &org_id).map_err(|e| {
        CliError::failed(format!(
            "the stored config of org {org_id} ({}) is invalid, so it cannot be shown redacted: {}",
            source.location(&org_id),
            e.message
        ))
    })?;
    Ok(cfg.to_json(reveal))
}

/// One row of `orgs list`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgSummary {
    pub org_id: String,
    pub name: Option<String>,
    pub region: Option<String>,
    pub client_id: Option<String>,
    pub zendesk: Option<String>,
    pub valid: bool,
    /// Why the stored document is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub location: String,
}

pub async fn list(source: &dyn SecretSource) -> Result<Vec<OrgSummary>, CliError> {
    let ids = source.list().await.map_err(CliError::from)?;
    let mut out = Vec::new();
    for id in ids {
        let location = source.location(&id);
        let doc = source.fetch(&id).await.map_err(CliError::from)?;
        let row = match doc.map(|d| OrgConfig::from_json_for(d.expose_secret(), &id)) {
            Some(Ok(cfg)) => OrgSummary {
                org_id: id,
                name: cfg.name.clone(),
                region: Some(cfg.genesys.region.domain.to_string()),
                client_id: Some(cfg.genesys.client_id.clone()),
                zendesk: cfg.zendesk.as_ref().map(|z| z.subdomain.clone()),
                valid: true,
                error: None,
                location,
            },
            Some(Err(e)) => OrgSummary {
                org_id: id,
                name: None,
                region: None,
                client_id: None,
                zendesk: None,
                valid: false,
                error: Some(e.message.clone()),
                location,
            },
            // Listed but gone by now (deleted concurrently).
            None => continue,
        };
        out.push(row);
    }
    Ok(out)
}

pub fn render_list(rows: &[OrgSummary]) -> String {
    if rows.is_empty() {
        return "no orgs\n".to_string();
    }
    let cell = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.org_id.clone(),
                cell(&r.name),
                cell(&r.region),
                cell(&r.zendesk),
                if r.valid {
                    "ok".into()
                } else {
                    format!("INVALID: {}", r.error.clone().unwrap_or_default())
                },
            ]
        })
        .collect();
    let header = ["ORG ID", "NAME", "REGION", "ZENDESK", "CONFIG"];
    let mut widths = header.map(|h| h.chars().count());
    for row in &table {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!(
                    "{c}{}  ",
                    " ".repeat(widths[i] - c.chars().count())
                ));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(&header.map(String::from));
    for row in &table {
        out.push_str(&line(row));
    }
    out
}

/// Removes the org's config; an error (exit 1) if there was none.
pub async fn rm(source: &dyn SecretSource, org_id: &str) -> Result<String, CliError> {
    let org_id = org_arg(org_id)?;
    let location = source.location(&org_id);
    // Secrets Manager's adapter answers `false` for a secret already scheduled for
    // deletion too: the org is gone either way.
    if source.delete(&org_id).await.map_err(CliError::from)? {
        Ok(format!("removed org {org_id} ({location})"))
    } else {
        Err(CliError::failed(format!(
            "no config for org {org_id} ({location} not found); nothing removed"
        )))
    }
}
