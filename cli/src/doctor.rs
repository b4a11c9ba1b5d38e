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

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bridge::config::validate_uuid;
use bridge::genesys::{ContactAction, ContactChange, Genesys, GenesysOrg, Role};
use bridge::http::HttpClient;
use bridge::secrets::SecretSource;
use bridge::settings::SecretSourceSetting;
use bridge::zendesk::Zendesk;
use bridge::{BridgeError, Deadline, ErrorKind, OrgConfig};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{json, Value};

use crate::exit::CliError;
use crate::source::DEFAULT_ORGS_DIR;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Could not be decided; not a failure (e.g. a permission that cannot be probed safely).
    Warn,
    /// Not run, because an earlier check failed or it does not apply.
    Skip,
}

impl Status {
    pub fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Warn => "!",
            Status::Skip => "–",
        }
    }
}

/// Whether the OAuth client has a permission, and how we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grant {
    Granted,
    Missing,
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Need {
    pub permission: String,
    pub grant: Grant,
    /// "role" (read from the client's roles) or "probe" (inferred from a safe call).
    pub how: &'static str,
    /// [U]: the vendor sources we verified do not name this permission for the call.
    pub unverified: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable key for scripts: `config`, `genesys.token`, `genesys.org`, `genesys.roles`,
    /// `capability.*`, `zendesk.credential`.
    pub id: &'static str,
    pub title: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The stable error type of the failure behind a ✗ (`Genesys.BadCredentials`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
}

impl Check {
    fn new(id: &'static str, title: &str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            id,
            title: title.to_string(),
            status,
            detail: detail.into(),
            fix: None,
            error_type: None,
            needs: Vec::new(),
        }
    }
    fn fail(
        id: &'static str,
        title: &str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        let mut c = Check::new(id, title, Status::Fail, detail);
        c.fix = Some(fix.into());
        c
    }
    fn with_error(mut self, e: &BridgeError) -> Check {
        self.error_type = Some(e.error_type());
        self
    }
}

/// What a capability of the bridge needs from the OAuth client's roles.
pub struct Capability {
    pub id: &'static str,
    pub title: &'static str,
    pub used_for: &'static str,
    /// (permission, unverified)
    pub needs: &'static [(&'static str, bool)],
}

pub const CAPABILITIES: [Capability; 4] = [
    Capability {
        id: "capability.participantAttributes",
        title: "participant attributes",
        used_for: "attribute-writer and enrichment write participant attributes",
        // [U] upstream-facts does not state which permission the attributes PATCH needs; the
        // sandbox (and this check) use conversation:communication:update. Marked in the output.
        needs: &[("conversation:communication:update", true)],
    },
    Capability {
        id: "capability.conversationRead",
        title: "conversation read (verify)",
        used_for: "read-back after writes, ticket id lookup on the conversation",
        needs: &[("conversation:communication:view", false)],
    },
    Capability {
        id: "capability.externalContacts",
        title: "external contacts",
        used_for: "contact field jobs",
        needs: &[
            ("externalContacts:contact:view", false),
            ("externalContacts:contact:edit", false),
        ],
    },
    Capability {
        id: "capability.agentlessMessaging",
        title: "agentless messaging",
        used_for: "the Premium App creating messaging conversations",
        needs: &[("conversation:message:create", false)],
    },
];

const ROLE_VIEW: &str = "authorization:role:view";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    pub org_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// Where the config was read from.
    pub location: String,
    /// Set when the checks ran against something else than the config's own hosts (the
    /// local sandbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstreams: Option<String>,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// True when no check failed (warnings and skips do not fail).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        v["passed"] = json!(self.passed());
        v
    }

    /// The table a person reads.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let name = self
            .org_name
            .as_deref()
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default();
        out.push_str(&format!(
            "bridge doctor: org {}{name}\nconfig from {}\n",
            self.org_id, self.location
        ));
        if let Some(u) = &self.upstreams {
            out.push_str(&format!("checked against {u}\n"));
        }
        out.push('\n');
        let width = self
            .checks
            .iter()
            .map(|c| c.title.chars().count())
            .max()
            .unwrap_or(0);
        let mut unverified = false;
        for c in &self.checks {
            let pad = " ".repeat(width - c.title.chars().count());
            out.push_str(&format!(
                "  {} {}{pad}  {}\n",
                c.status.mark(),
                c.title,
                c.detail
            ));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("    {}  fix: {fix}\n", " ".repeat(width)));
            }
            unverified |= c.needs.iter().any(|n| n.unverified);
        }
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count();
        out.push('\n');
        if unverified {
            out.push_str("[U] = the vendor sources we verified do not name this permission for the call; the local sandbox requires it.\n");
        }
        out.push_str(&format!(
            "{} passed, {} failed, {} warnings, {} skipped: {}\n",
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Warn),
            count(Status::Skip),
            if self.passed() {
                "org is ready"
            } else {
                "fix the ✗ rows above and run `bridge doctor` again"
            }
        ));
        out
    }
}

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

    let cfg = match load_config(source, &org_id, &location).await {
        Ok(cfg) => {
            report.checks.push(config_ok(&cfg));
            cfg
        }
        Err(check) => {
            report.checks.push(check);
            for (id, title) in later_checks() {
                report.checks.push(Check::new(
                    id,
                    &title,
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
        .extend(genesys_checks(&genesys, &cfg, &location, deadline).await);

    let zendesk = Zendesk::new(http);
    report
        .checks
        .push(zendesk_check(&zendesk, &cfg, &location, deadline()).await);
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

fn later_checks() -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("genesys.token", "Genesys token".to_string()),
        ("genesys.org", "org check (tokens/me)".to_string()),
        ("genesys.roles", "roles → permissions".to_string()),
    ];
    v.extend(CAPABILITIES.iter().map(|c| (c.id, c.title.to_string())));
    v.push(("zendesk.credential", "Zendesk credential".to_string()));
    v
}

async fn load_config(
    source: &dyn SecretSource,
    org_id: &str,
    location: &str,
) -> Result<OrgConfig, Check> {
    const TITLE: &str = "config schema";
    let doc = match source.fetch(org_id).await {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            return Err(Check::fail(
                "config",
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
            return Err(Check::fail("config", TITLE, format!("could not read {location}: {}", e.message), fix).with_error(&e));
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
        Check::fail("config", TITLE, detail, fix).with_error(&e)
    })
}

fn config_ok(cfg: &OrgConfig) -> Check {
    let zendesk = match &cfg.zendesk {
        Some(z) => format!("Zendesk {}", z.subdomain),
        None => "no Zendesk section".to_string(),
    };
    Check::new(
        "config",
        "config schema",
        Status::Pass,
        format!(
            "valid: region {}, OAuth client {}, {zendesk}, {} wrap-up code(s) mapped",
            cfg.genesys.region.domain,
            cfg.genesys.client_id,
            cfg.rules.wrapup_status.len()
        ),
    )
}

async fn genesys_checks(
    genesys: &Genesys,
    cfg: &OrgConfig,
    location: &str,
    deadline: impl Fn() -> Deadline,
) -> Vec<Check> {
    let mut out = Vec::new();
    let g = &cfg.genesys;
    // Token, and the tokens/me org check the client makes on every first token (its answer
    // is the org check's: no second tokens/me call).
    let org = genesys.org(cfg, deadline());
    let token_ok = || {
        Check::new(
            "genesys.token",
            "Genesys token",
            Status::Pass,
            format!(
                "OAuth client {} got a token from {}",
                g.client_id, g.login_base_url
            ),
        )
    };
    let info = match org.ensure_token().await {
        Ok(info) => {
            out.push(token_ok());
            info
        }
        Err(e) if is_token_call(&e) => {
            out.push(token_failure(cfg, location, &e));
            skip_remaining_genesys(&mut out, "needs a Genesys token");
            return out;
        }
        Err(e) => {
            // The token was issued; tokens/me refused it or said another org.
            out.push(token_ok());
            out.push(org_failure(cfg, location, &e));
            skip_remaining_genesys(&mut out, "the token is not usable for this org");
            return out;
        }
    };
    out.push(Check::new(
        "genesys.org",
        "org check (tokens/me)",
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
    ));

    // Roles → permissions; probes when the roles cannot be read.
    let role_ids: Vec<String> = info
        .oauth_client
        .as_ref()
        .map(|c| {
            let set: BTreeSet<String> =
                c.role_divisions.iter().map(|r| r.role_id.clone()).collect();
            set.into_iter().collect()
        })
        .unwrap_or_default();
    let client_label = format!("OAuth client {}", g.client_id);
    let roles_fix = |perms: &str| {
        format!(
            "assign a role granting {perms} to {client_label} in org {} (Admin > Integrations > OAuth > the client > Roles, with the right divisions); client-credentials clients get permissions from roles, never from scopes",
            cfg.org_id
        )
    };
    let permissions = match &info.oauth_client {
        Some(_) if role_ids.is_empty() => {
            out.push(Check::fail(
                "genesys.roles",
                "roles → permissions",
                format!("{client_label} has no roles, so it has no permissions"),
                roles_fix("the permissions listed below"),
            ));
            Permissions::Roles(Vec::new())
        }
        Some(_) => match read_roles(&genesys.org(cfg, deadline()), &role_ids).await {
            Ok(roles) => {
                let names: Vec<String> = roles
                    .iter()
                    .map(|r| format!("{} ({})", r.name.as_deref().unwrap_or("unnamed"), r.id))
                    .collect();
                out.push(Check::new(
                    "genesys.roles",
                    "roles → permissions",
                    Status::Pass,
                    format!("{} role(s) read: {}", roles.len(), names.join(", ")),
                ));
                Permissions::Roles(roles)
            }
            Err(e) => {
                let why = if matches!(e.kind, ErrorKind::MissingPermission | ErrorKind::Forbidden) {
                    format!("{client_label} may not read roles ({ROLE_VIEW})")
                } else {
                    format!("reading the roles failed: {}", e.message)
                };
                out.push(roles_unread(&why, &client_label));
                Permissions::Probed(probe_all(&genesys.org(cfg, deadline())).await)
            }
        },
        None => {
            out.push(roles_unread(
                "tokens/me did not list the OAuth client's roles",
                &client_label,
            ));
            Permissions::Probed(probe_all(&genesys.org(cfg, deadline())).await)
        }
    };

    for cap in &CAPABILITIES {
        out.push(capability_check(cap, &permissions, &roles_fix));
    }
    out
}

/// Marks the Genesys checks not run yet as skipped, so the table is always complete.
fn skip_remaining_genesys(out: &mut Vec<Check>, why: &str) {
    for (id, title) in later_checks() {
        if id == "zendesk.credential" || out.iter().any(|c| c.id == id) {
            continue;
        }
        out.push(Check::new(
            id,
            &title,
            Status::Skip,
            format!("not run: {why}"),
        ));
    }
}

fn is_token_call(e: &BridgeError) -> bool {
    e.operation
        .as_deref()
        .is_some_and(|op| op.contains("access token"))
}

fn token_failure(cfg: &OrgConfig, location: &str, e: &BridgeError) -> Check {
    let g = &cfg.genesys;
    let region = g.region.domain;
    const TITLE: &str = "Genesys token";
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
    Check::fail("genesys.token", TITLE, detail, fix).with_error(e)
}

fn org_failure(cfg: &OrgConfig, location: &str, e: &BridgeError) -> Check {
    const TITLE: &str = "org check (tokens/me)";
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
    Check::fail("genesys.org", TITLE, detail, fix).with_error(e)
}

async fn read_roles(org: &GenesysOrg<'_>, role_ids: &[String]) -> Result<Vec<Role>, BridgeError> {
    let mut roles = Vec::new();
    for id in role_ids {
        roles.push(org.role(id).await?);
    }
    Ok(roles)
}

/// The roles row when the roles could not be read (`why`): the permissions are probed.
fn roles_unread(why: &str, client_label: &str) -> Check {
    let mut c = Check::new(
        "genesys.roles",
        "roles → permissions",
        Status::Warn,
        format!("{why}; permissions were probed with safe calls instead"),
    );
    c.fix = Some(format!(
        "optional: grant {ROLE_VIEW} to {client_label} so doctor can read its roles exactly"
    ));
    c
}

enum Permissions {
    Roles(Vec<Role>),
    Probed(BTreeMap<&'static str, Probe>),
}

#[derive(Debug, Clone)]
enum Probe {
    Present,
    Absent,
    Unknown(String),
}

/// Calls that need exactly one permission and cannot change anything: they target a random
/// (so non-existent) id. Genesys checks the permission before looking the id up, so 404 =
/// the permission is there, 403 `missing.permissions` = it is not.
async fn probe_all(org: &GenesysOrg<'_>) -> BTreeMap<&'static str, Probe> {
    let random = || uuid::Uuid::new_v4().to_string();
    let mut out = BTreeMap::new();
    out.insert(
        "conversation:communication:view",
        classify_probe(org.conversation(&random()).await.map(|_| ())),
    );
    let attrs: BTreeMap<String, String> =
        [("bridge_doctor_probe".to_string(), "1".to_string())].into();
    out.insert(
        "conversation:communication:update",
        classify_probe(
            org.patch_participant_attributes(&random(), &random(), &attrs)
                .await
                .map(|_| ()),
        ),
    );
    out.insert(
        "externalContacts:contact:view",
        classify_probe(org.external_contact(&random()).await.map(|_| ())),
    );
    let change = ContactChange {
        field: "$.customFields.bridge_doctor_probe".into(),
        value: Some(json!("1")),
        action: ContactAction::UpdateIfExists,
    };
    out.insert(
        "externalContacts:contact:edit",
        classify_probe(
            org.patch_external_contact(&random(), &[change])
                .await
                .map(|_| ()),
        ),
    );
    // The only call that needs it creates a message conversation: there is no harmless
    // probe, so it stays unknown unless the roles can be read.
    out.insert(
        "conversation:message:create",
        Probe::Unknown("cannot be probed without sending a message".into()),
    );
    out
}

fn classify_probe(r: Result<(), BridgeError>) -> Probe {
    match r {
        Ok(()) => Probe::Present,
        Err(e) if e.kind == ErrorKind::NotFound => Probe::Present,
        Err(e) if e.kind == ErrorKind::MissingPermission => Probe::Absent,
        Err(e) => Probe::Unknown(format!("probe answered {}", e.error_type())),
    }
}

fn capability_check(
    cap: &Capability,
    permissions: &Permissions,
    roles_fix: &dyn Fn(&str) -> String,
) -> Check {
    let mut needs = Vec::new();
    let mut notes = Vec::new();
    for (perm, unverified) in cap.needs {
        let (grant, how) = match permissions {
            Permissions::Roles(roles) => {
                if roles.iter().any(|r| r.grants(perm)) {
                    (Grant::Granted, "role")
                } else {
                    (Grant::Missing, "role")
                }
            }
            Permissions::Probed(probes) => match probes.get(perm) {
                Some(Probe::Present) => (Grant::Granted, "probe"),
                Some(Probe::Absent) => (Grant::Missing, "probe"),
                Some(Probe::Unknown(why)) => {
                    notes.push(format!("{perm}: {why}"));
                    (Grant::Unknown, "probe")
                }
                None => (Grant::Unknown, "probe"),
            },
        };
        needs.push(Need {
            permission: perm.to_string(),
            grant,
            how,
            unverified: *unverified,
        });
    }
    let label = |n: &Need| format!("{}{}", n.permission, if n.unverified { " [U]" } else { "" });
    let list =
        |g: Grant| -> Vec<String> { needs.iter().filter(|n| n.grant == g).map(label).collect() };
    let missing = list(Grant::Missing);
    let unknown = list(Grant::Unknown);
    let probed = matches!(permissions, Permissions::Probed(_));
    let how = if probed { " (probed)" } else { "" };
    let mut check = if !missing.is_empty() {
        let mut c = Check::fail(
            cap.id,
            cap.title,
            format!(
                "missing {}{how}: needed for {}",
                missing.join(", "),
                cap.used_for
            ),
            roles_fix(&missing.join(" and ")),
        );
        c.error_type = Some("Genesys.MissingPermission".into());
        c
    } else if !unknown.is_empty() {
        let mut c = Check::new(
            cap.id,
            cap.title,
            Status::Warn,
            format!("unverified {}: {}", unknown.join(", "), notes.join("; ")),
        );
        c.fix = Some(format!(
            "check that a role of the OAuth client grants {} (or grant {ROLE_VIEW} so doctor can read the roles)",
            unknown.join(", ")
        ));
        c
    } else {
        let all: Vec<String> = needs.iter().map(label).collect();
        Check::new(
            cap.id,
            cap.title,
            Status::Pass,
            format!("{}{how}", all.join(", ")),
        )
    };
    check.needs = needs;
    check
}

async fn zendesk_check(
    zendesk: &Zendesk,
    cfg: &OrgConfig,
    location: &str,
    deadline: Deadline,
) -> Check {
    const ID: &str = "zendesk.credential";
    const TITLE: &str = "Zendesk credential";
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
    let cred = z.auth.describe();
    let host = format!("{}.zendesk.com", z.subdomain);
    let cred_fix = match &z.auth {
        bridge::config::ZendeskAuth::ApiToken { email, .. } => format!(
            "in {location}, zendesk.auth.email must be the agent or admin who owns the API token (now {email}) and zendesk.auth.apiToken an active token of {host} (Admin Center > Apps and integrations > Zendesk API; token access enabled)"
        ),
        bridge::config::ZendeskAuth::OAuth { .. } => format!(
            "issue a new OAuth access token for {host} (they expire) with scopes read write, and put it in zendesk.auth.accessToken in {location}"
        ),
    };
    match account.me().await {
        Ok(user) => {
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
                    cred_fix,
                ),
                other => {
                    let mut c = Check::new(
                        ID,
                        TITLE,
                        Status::Warn,
                        format!(
                            "authenticated at {host} as {who} with role {:?}; expected agent or admin",
                            other.unwrap_or("(none)")
                        ),
                    );
                    c.fix = Some(cred_fix);
                    c
                }
            }
        }
        Err(e) => {
            let (detail, fix) = match e.kind {
                ErrorKind::BadCredentials => (
                    format!("not authenticated: {host} refused the {cred} ({})", e.message),
                    cred_fix,
                ),
                // [P] Real Zendesk may answer users/me for a credential it does not accept
                // with 200 and an anonymous user whose id is null, which does not parse as a
                // user: read that as "not authenticated".
                ErrorKind::UnexpectedResponse => (
                    format!("not authenticated: {host} answered users/me with no user (anonymous) for the {cred}"),
                    cred_fix,
                ),
                ErrorKind::Forbidden => (
                    format!("{host} authenticated the {cred} but refused users/me ({})", e.message),
                    cred_fix,
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
            Check::fail(ID, TITLE, detail, fix).with_error(&e)
        }
    }
}
