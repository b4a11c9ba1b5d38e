//! The Genesys token check: does the login host issue a token to the OAuth client of the
//! config?

use bridge::{BridgeError, ErrorKind, OrgConfig};

use super::report::{Check, Status};

pub(super) const ID: &str = "genesys.token";
pub(super) const TITLE: &str = "Genesys token";

/// The row of a token that was issued.
pub(super) fn passed(cfg: &OrgConfig) -> Check {
    let g = &cfg.genesys;
    Check::new(
        ID,
        TITLE,
        Status::Pass,
        format!(
            "OAuth client {} got a token from {}",
            g.client_id, g.login_base_url
        ),
    )
}

/// Whether `e` came from the token request itself (not from the tokens/me check after it).
pub(super) fn is_token_call(e: &BridgeError) -> bool {
    e.operation
        .as_deref()
        .is_some_and(|op| op.contains("access token"))
}

/// The row of a token request that failed: bad credentials (or a client of another
/// region), throttling, an unreachable host or a failing one each get their own fix.
pub(super) fn failed(cfg: &OrgConfig, location: &str, e: &BridgeError) -> Check {
    let g = &cfg.genesys;
    let region = g.region.domain;
    let (detail, fix) = match e.kind {
        ErrorKind::BadCredentials => (
            format!(
                "bad credentials or wrong region: the login host {} rejected OAuth client {} ({}{})",
                g.login_base_url,
                g.client_id,
                e.status.map(|s| format!("{s} ")).unwrap_or_default(),
                e.code.as_deref().unwrap_or("invalid_client"),
            ),
            format!(
                "check genesys.clientId and genesys.clientSecret in {location}; if they are right, the client was created in another region than {region} (a client is only known at its own region's login host): set genesys.region to the region where it was created"
            ),
        ),
        ErrorKind::RateLimited => (
            format!(
                "throttled: the login host {} is rate limiting OAuth client {} ({})",
                g.login_base_url,
                g.client_id,
                e.status.map(|s| s.to_string()).unwrap_or_default()
            ),
            "wait a minute and run doctor again; if it persists, find what else mints tokens with this client (the functions cache one token per org)".to_string(),
        ),
        ErrorKind::Transport | ErrorKind::DeadlineExceeded => (
            format!(
                "wrong region or unreachable host: no answer from the login host {} ({})",
                g.login_base_url, e.message
            ),
            format!(
                "check genesys.region (now {region}) and any genesys.loginBaseUrl/apiBaseUrl override in {location}, and that this machine can reach the host"
            ),
        ),
        ErrorKind::ServerError => (
            format!("the login host {} failed ({})", g.login_base_url, e.status.unwrap_or(0)),
            format!(
                "retry later; if it persists, give Genesys support the correlation id {}",
                e.correlation_id.as_deref().unwrap_or("(none)")
            ),
        ),
        _ => (
            format!("the token request failed: {}", e.message),
            e.hint
                .clone()
                .unwrap_or_else(|| "check the OAuth client: it must use the Client Credentials grant".into()),
        ),
    };
    Check::fail(ID, TITLE, detail, fix).with_error(e)
}
