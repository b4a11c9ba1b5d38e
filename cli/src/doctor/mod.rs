//! `bridge doctor`: checks one org end to end and names what to fix.
//!
//! The checks run in the order an admin would debug by hand: is the config valid, does the
//! login host issue a token (bad credentials, throttling and an unreachable or wrong region
//! each get their own answer), does the token belong to this org, which permissions do the
//! OAuth client's roles grant (read from the roles when the client may, probed safely when
//! it may not) against what each capability needs, and is the Zendesk credential an agent
//! or admin. Each check is a row with ✓/✗ and, for ✗, the fix in one line.
//!
//! Everything uses fresh clients: a token cached by an earlier run could hide a secret that
//! no longer works.
//!
//! One module per family of checks, each making its rows: `config` (the schema),
//! `token` (the Genesys token), `org` (tokens/me), `permissions` (roles or probes,
//! per capability), `senders` (the org's messaging senders, folded into the agentless
//! messaging row), `zendesk` (the credential); `report` holds the rows and renders
//! them. This module runs them in order and skips what an earlier failure makes pointless.

mod config;
mod org;
mod permissions;
mod report;
mod senders;
mod token;
mod zendesk;

use std::time::Duration;

use bridge::config::validate_uuid;
use bridge::genesys::Genesys;
use bridge::http::HttpClient;
use bridge::secrets::SecretSource;
use bridge::settings::SecretSourceSetting;
use bridge::zendesk::Zendesk;
use bridge::{Deadline, OrgConfig};

pub use permissions::{Capability, CAPABILITIES};
pub use report::{Check, DoctorReport, Grant, Need, Status};

use crate::exit::CliError;

/// Runs every check for `org_id` against the configs in `source`. `timeout` bounds each
/// upstream check (retries included).
pub async fn run(
    source: &dyn SecretSource,
    org_id: &str,
    timeout: Duration,
) -> Result<DoctorReport, CliError> {
    let org_id = validate_uuid("--org", org_id).map_err(|e| CliError::usage(e.to_string()))?;
    let location = source.location(&org_id);
    let mut report = DoctorReport {
        org_id: org_id.clone(),
        org_name: None,
        location: location.clone(),
        upstreams: None,
        checks: Vec::new(),
    };

    let cfg = match config::load(source, &org_id, &location).await {
        Ok(cfg) => {
            report.checks.push(config::passed(&cfg));
            cfg
        }
        Err(check) => {
            report.checks.push(check);
            for (id, title) in later_checks() {
                report.checks.push(Check::new(
                    id,
                    title,
                    Status::Skip,
                    "not run: needs a valid config",
                ));
            }
            return Ok(report);
        }
    };
    report.org_name = cfg.name.clone();

    let http = HttpClient::new().map_err(CliError::from)?;
    // A fresh client per run: no cached token can hide a bad secret.
    let genesys = Genesys::new(http.clone());
    let deadline = || Deadline::after(timeout);
    report
        .checks
        .extend(genesys_checks(&genesys, &cfg, &location, &deadline).await);

    let zendesk = Zendesk::new(http);
    report
        .checks
        .push(zendesk::check(&zendesk, &cfg, &location, deadline()).await);
    Ok(report)
}

/// [`run`] against the embedded sandbox, with the org files of `--orgs-dir` pointed at it:
/// what doctor says about a config, without a Genesys org or a Zendesk account.
pub async fn run_on_sandbox(
    args: &crate::args::SourceArgs,
    org_id: &str,
    timeout: Duration,
) -> Result<DoctorReport, CliError> {
    let SecretSourceSetting::Dir { path: dir } = crate::source::setting(args) else {
        return Err(CliError::usage(
            "--sandbox reads org files: use it with --orgs-dir",
        ));
    };
    let (sandbox, source) = crate::dev::sandbox_with_orgs(&dir, "").await?;
    let mut report = run(&source, org_id, timeout).await?;
    report.upstreams = Some(format!(
        "the local sandbox {} (Genesys and Zendesk base URLs pointed at it; the file is unchanged)",
        sandbox.base_url()
    ));
    Ok(report)
}

/// The (id, title) of every check after the config's, in order.
fn later_checks() -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        (token::ID, token::TITLE),
        (org::ID, org::TITLE),
        (permissions::ROLES_ID, permissions::ROLES_TITLE),
    ];
    v.extend(CAPABILITIES.iter().map(|c| (c.id, c.title)));
    v.push((zendesk::ID, zendesk::TITLE));
    v
}

/// The Genesys rows: token, org, roles, one per capability. When the token or the org check
/// fails, the rows that need them are marked skipped.
async fn genesys_checks(
    genesys: &Genesys,
    cfg: &OrgConfig,
    location: &str,
    deadline: &dyn Fn() -> Deadline,
) -> Vec<Check> {
    // Token, and the tokens/me org check the client makes on every first token (its answer
    // is the org check's: no second tokens/me call).
    let info = match genesys.org(cfg, deadline()).ensure_token().await {
        Ok(info) => info,
        Err(e) => {
            let (mut out, why) = if token::is_token_call(&e) {
                (
                    vec![token::failed(cfg, location, &e)],
                    "needs a Genesys token",
                )
            } else {
                // The token was issued; tokens/me refused it or said another org.
                (
                    vec![token::passed(cfg), org::failed(cfg, location, &e)],
                    "the token is not usable for this org",
                )
            };
            skip_remaining_genesys(&mut out, why);
            return out;
        }
    };
    let mut out = vec![token::passed(cfg), org::passed(&info)];
    out.extend(permissions::checks(genesys, cfg, &info, deadline).await);
    out
}

/// Marks the Genesys checks not run yet as skipped, so the table is always complete.
fn skip_remaining_genesys(out: &mut Vec<Check>, why: &str) {
    for (id, title) in later_checks() {
        if id == zendesk::ID || out.iter().any(|c| c.id == id) {
            continue;
        }
        out.push(Check::new(
            id,
            title,
            Status::Skip,
            format!("not run: {why}"),
        ));
    }
}
