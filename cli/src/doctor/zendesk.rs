//! The Zendesk credential check: does the account accept the config's credential, and is it
//! an agent or admin (an end-user cannot read or update tickets)?

use bridge::config::{ZendeskAuth, ZendeskConfig};
use bridge::zendesk::{User, Zendesk};
use bridge::{BridgeError, Deadline, ErrorKind, OrgConfig};

use super::report::{Check, Status};

pub(super) const ID: &str = "zendesk.credential";
pub(super) const TITLE: &str = "Zendesk credential";

/// Reads users/me with the config's credential (skipped when the org has no Zendesk).
pub(super) async fn check(
    zendesk: &Zendesk,
    cfg: &OrgConfig,
    location: &str,
    deadline: Deadline,
) -> Check {
    let Some(z) = &cfg.zendesk else {
        return Check::new(
            ID,
            TITLE,
            Status::Skip,
            "no zendesk section: ticket status and enrichment are off for this org",
        );
    };
    let account = zendesk
        .account(cfg, deadline)
        .expect("the config has a zendesk section, checked above");
    match account.me().await {
        Ok(user) => signed_in(&user, z, location),
        Err(e) => failed(&e, z, location),
    }
}

fn host(z: &ZendeskConfig) -> String {
    format!("{}.zendesk.com", z.subdomain)
}

/// The fix for a credential the account does not take (or that is not an agent's).
fn credential_fix(z: &ZendeskConfig, location: &str) -> String {
    let host = host(z);
    match &z.auth {
        ZendeskAuth::ApiToken { email, .. } => format!(
            "in {location}, zendesk.auth.email must be the agent or admin who owns the API token (now {email}) and zendesk.auth.apiToken an active token of {host} (Admin Center > Apps and integrations > Zendesk API; token access enabled)"
        ),
        ZendeskAuth::OAuth { .. } => format!(
            "issue a new OAuth access token for {host} (they expire) with scopes read write, and put it in zendesk.auth.accessToken in {location}"
        ),
    }
}

/// The row of a credential the account took: passes for an agent or admin.
fn signed_in(user: &User, z: &ZendeskConfig, location: &str) -> Check {
    let host = host(z);
    let who = user
        .email
        .clone()
        .or(user.name.clone())
        .unwrap_or_else(|| format!("user {}", user.id));
    match user.role.as_deref() {
        Some(role @ ("agent" | "admin")) => Check::new(
            ID,
            TITLE,
            Status::Pass,
            format!("authenticated at {host} as {who} ({role})"),
        ),
        Some("end-user") => Check::fail(
            ID,
            TITLE,
            format!("authenticated at {host} as {who}, an end-user: end-users cannot read or update tickets"),
            credential_fix(z, location),
        ),
        other => Check::new(
            ID,
            TITLE,
            Status::Warn,
            format!(
                "authenticated at {host} as {who} with role {:?}; expected agent or admin",
                other.unwrap_or("(none)")
            ),
        )
        .with_fix(credential_fix(z, location)),
    }
}

/// The row of a users/me call that failed.
fn failed(e: &BridgeError, z: &ZendeskConfig, location: &str) -> Check {
    let host = host(z);
    let cred = z.auth.describe();
    let (detail, fix) = match e.kind {
        ErrorKind::BadCredentials => (
            format!("not authenticated: {host} refused the {cred} ({})", e.message),
            credential_fix(z, location),
        ),
        // [P] Real Zendesk may answer users/me for a credential it does not accept
        // with 200 and an anonymous user whose id is null, which does not parse as a
        // user: read that as "not authenticated".
        ErrorKind::UnexpectedResponse => (
            format!("not authenticated: {host} answered users/me with no user (anonymous) for the {cred}"),
            credential_fix(z, location),
        ),
        ErrorKind::Forbidden => (
            format!("{host} authenticated the {cred} but refused users/me ({})", e.message),
            credential_fix(z, location),
        ),
        ErrorKind::NotFound => (
            format!("no Zendesk account at {} ({})", z.base_url, e.message),
            format!("check zendesk.subdomain (now {:?}) in {location}", z.subdomain),
        ),
        ErrorKind::Transport | ErrorKind::DeadlineExceeded => (
            format!("no answer from {} ({})", z.base_url, e.message),
            format!("check zendesk.subdomain and any zendesk.baseUrl override in {location}"),
        ),
        _ => (
            format!("users/me failed: {}", e.message),
            e.hint.clone().unwrap_or_else(|| "see the message".into()),
        ),
    };
    Check::fail(ID, TITLE, detail, fix).with_error(e)
}
