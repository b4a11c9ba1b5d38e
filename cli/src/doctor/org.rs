//! The org check (tokens/me): does the token belong to the config's org? Credentials of
//! another org are the mistake this catches.

use bridge::genesys::TokenInfo;
use bridge::{BridgeError, ErrorKind, OrgConfig};

use super::report::{Check, Status};

pub(super) const ID: &str = "genesys.org";
pub(super) const TITLE: &str = "org check (tokens/me)";

/// The row of a token of this org (tokens/me's answer, `info`).
pub(super) fn passed(info: &TokenInfo) -> Check {
    Check::new(
        ID,
        TITLE,
        Status::Pass,
        format!(
            "the token belongs to org {}{}",
            info.organization.id,
            info.organization
                .name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
    )
}

/// The row of a token that tokens/me refused, or that belongs to another org.
pub(super) fn failed(cfg: &OrgConfig, location: &str, e: &BridgeError) -> Check {
    let (detail, fix) = match e.kind {
        ErrorKind::WrongOrg => (
            // The message names the org the credentials belong to.
            format!("credentials of another org: {}", e.message),
            format!(
                "put the id and secret of an OAuth client created in org {}{} into {location}",
                cfg.org_id,
                cfg.name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
        ),
        ErrorKind::Transport | ErrorKind::DeadlineExceeded => (
            format!(
                "no answer from the API host {} ({})",
                cfg.genesys.api_base_url, e.message
            ),
            format!("check genesys.region and any genesys.apiBaseUrl override in {location}"),
        ),
        _ => (
            format!("tokens/me failed: {}", e.message),
            e.hint.clone().unwrap_or_else(|| "see the message".into()),
        ),
    };
    Check::fail(ID, TITLE, detail, fix).with_error(e)
}
