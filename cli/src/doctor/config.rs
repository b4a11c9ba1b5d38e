//! The config schema check: the org's document is there, readable, and a valid
//! [`OrgConfig`] of this org. Every other check needs it.

use bridge::secrets::SecretSource;
use bridge::OrgConfig;
use secrecy::ExposeSecret;

use super::report::{Check, Status};
use crate::source::DEFAULT_ORGS_DIR;

pub(super) const ID: &str = "config";
pub(super) const TITLE: &str = "config schema";

/// The org's config, or the failed row that says why there is none.
pub(super) async fn load(
    source: &dyn SecretSource,
    org_id: &str,
    location: &str,
) -> Result<OrgConfig, Check> {
    let doc = match source.fetch(org_id).await {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            return Err(Check::fail(
                ID,
                TITLE,
                format!("no config for this org ({location} not found)"),
                format!("onboard it: `bridge orgs put {org_id} FILE` (with the same source flags), or check the org id"),
            ))
        }
        Err(e) => {
            let fix = e
                .hint
                .clone()
                .unwrap_or_else(|| "check access to the org config store".to_string());
            return Err(Check::fail(ID, TITLE, format!("could not read {location}: {}", e.message), fix).with_error(&e));
        }
    };
    OrgConfig::from_json_for(doc.expose_secret(), org_id).map_err(|e| {
        let field = e.field.clone().unwrap_or_else(|| "<document>".into());
        // The message starts with the field already when the config names it.
        let prefix = format!("`{field}`: ");
        let what = e.message.strip_prefix(&prefix).unwrap_or(&e.message);
        let detail = format!("invalid at `{field}`: {what}");
        let fix = if field == "<document>" {
            format!("make {location} valid JSON with the documented keys (compare with {DEFAULT_ORGS_DIR}/; unknown keys are errors, so check spelling)")
        } else {
            format!("correct `{field}` in {location} (the message says what is expected)")
        };
        Check::fail(ID, TITLE, detail, fix).with_error(&e)
    })
}

/// The row of a valid config: what it sets up, in one line.
pub(super) fn passed(cfg: &OrgConfig) -> Check {
    let zendesk = match &cfg.zendesk {
        Some(z) => format!("Zendesk {}", z.subdomain),
        None => "no Zendesk section".to_string(),
    };
    Check::new(
        ID,
        TITLE,
        Status::Pass,
        format!(
            "valid: region {}, OAuth client {}, {zendesk}, {} wrap-up code(s) mapped",
            cfg.genesys.region.domain,
            cfg.genesys.client_id,
            cfg.rules.wrapup_status.len()
        ),
    )
}
