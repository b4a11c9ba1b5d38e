//! The permissions checks: which permissions the OAuth client's roles grant (read from the
//! roles when the client may, probed with safe calls when it may not), against what each
//! capability of the bridge needs.

use std::collections::{BTreeMap, BTreeSet};

use bridge::genesys::{ContactAction, ContactChange, Genesys, GenesysOrg, Role, TokenInfo};
use bridge::{BridgeError, Deadline, ErrorKind, OrgConfig};
use serde_json::json;

use super::report::{Check, Grant, Need, Status};

pub(super) const ROLES_ID: &str = "genesys.roles";
pub(super) const ROLES_TITLE: &str = "roles → permissions";

const ROLE_VIEW: &str = "authorization:role:view";

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
        id: MESSAGING_ID,
        title: "agentless messaging",
        used_for: "agentless-messages sending SMS and WhatsApp messages to customers",
        needs: &[("conversation:message:create", false)],
    },
];

/// The messaging capability's row, which also checks the org's senders
/// ([`super::senders`]).
const MESSAGING_ID: &str = "capability.agentlessMessaging";

/// The roles row, then one row per capability. `info` is tokens/me's answer for the token.
pub(super) async fn checks(
    genesys: &Genesys,
    cfg: &OrgConfig,
    info: &TokenInfo,
    deadline: &dyn Fn() -> Deadline,
) -> Vec<Check> {
    let (roles_row, permissions) = read_permissions(genesys, cfg, info, deadline).await;
    let mut out = vec![roles_row];
    for cap in &CAPABILITIES {
        let mut row = capability_check(cap, &permissions, cfg);
        if cap.id == MESSAGING_ID {
            let found = super::senders::check(&genesys.org(cfg, deadline()), cfg).await;
            row = super::senders::fold(row, &found);
        }
        out.push(row);
    }
    out
}

/// The permissions of the OAuth client, from its roles or, when they cannot be read, from
/// probes; and the roles row that says which.
async fn read_permissions(
    genesys: &Genesys,
    cfg: &OrgConfig,
    info: &TokenInfo,
    deadline: &dyn Fn() -> Deadline,
) -> (Check, Permissions) {
    let client_label = client_label(cfg);
    let Some(client) = &info.oauth_client else {
        let row = roles_unread(
            "tokens/me did not list the OAuth client's roles",
            &client_label,
        );
        return (row, probed(genesys, cfg, deadline).await);
    };
    let role_ids: BTreeSet<String> = client
        .role_divisions
        .iter()
        .map(|r| r.role_id.clone())
        .collect();
    let role_ids: Vec<String> = role_ids.into_iter().collect();
    if role_ids.is_empty() {
        let row = Check::fail(
            ROLES_ID,
            ROLES_TITLE,
            format!("{client_label} has no roles, so it has no permissions"),
            roles_fix(cfg, "the permissions listed below"),
        );
        return (row, Permissions::Roles(Vec::new()));
    }
    match read_roles(&genesys.org(cfg, deadline()), &role_ids).await {
        Ok(roles) => (roles_read(&roles), Permissions::Roles(roles)),
        Err(e) => {
            let why = if matches!(e.kind, ErrorKind::MissingPermission | ErrorKind::Forbidden) {
                format!("{client_label} may not read roles ({ROLE_VIEW})")
            } else {
                format!("reading the roles failed: {}", e.message)
            };
            let row = roles_unread(&why, &client_label);
            (row, probed(genesys, cfg, deadline).await)
        }
    }
}

fn client_label(cfg: &OrgConfig) -> String {
    format!("OAuth client {}", cfg.genesys.client_id)
}

/// The fix for permissions the client lacks: `perms` is what to grant.
fn roles_fix(cfg: &OrgConfig, perms: &str) -> String {
    format!(
        "assign a role granting {perms} to {} in org {} (Admin > Integrations > OAuth > the client > Roles, with the right divisions); client-credentials clients get permissions from roles, never from scopes",
        client_label(cfg),
        cfg.org_id
    )
}

async fn read_roles(org: &GenesysOrg<'_>, role_ids: &[String]) -> Result<Vec<Role>, BridgeError> {
    let mut roles = Vec::new();
    for id in role_ids {
        roles.push(org.role(id).await?);
    }
    Ok(roles)
}

/// The roles row when the roles were read.
fn roles_read(roles: &[Role]) -> Check {
    let names: Vec<String> = roles
        .iter()
        .map(|r| format!("{} ({})", r.name.as_deref().unwrap_or("unnamed"), r.id))
        .collect();
    Check::new(
        ROLES_ID,
        ROLES_TITLE,
        Status::Pass,
        format!("{} role(s) read: {}", roles.len(), names.join(", ")),
    )
}

/// The roles row when the roles could not be read (`why`): the permissions are probed.
fn roles_unread(why: &str, client_label: &str) -> Check {
    Check::new(
        ROLES_ID,
        ROLES_TITLE,
        Status::Warn,
        format!("{why}; permissions were probed with safe calls instead"),
    )
    .with_fix(format!(
        "optional: grant {ROLE_VIEW} to {client_label} so doctor can read its roles exactly"
    ))
}

/// What the client may do, and how we know.
enum Permissions {
    Roles(Vec<Role>),
    Probed(BTreeMap<&'static str, Probe>),
}

/// What one probe says about its permission.
#[derive(Debug, Clone)]
enum Probe {
    Present,
    Absent,
    Unknown(String),
}

impl Probe {
    /// What a probe's answer says about its permission.
    fn from_answer(r: Result<(), BridgeError>) -> Probe {
        match r {
            Ok(()) => Probe::Present,
            Err(e) if e.kind == ErrorKind::NotFound => Probe::Present,
            Err(e) if e.kind == ErrorKind::MissingPermission => Probe::Absent,
            Err(e) => Probe::Unknown(format!("probe answered {}", e.error_type())),
        }
    }
}

/// The permissions as the probes find them (the roles could not be read).
async fn probed(
    genesys: &Genesys,
    cfg: &OrgConfig,
    deadline: &dyn Fn() -> Deadline,
) -> Permissions {
    Permissions::Probed(probe_all(&genesys.org(cfg, deadline())).await)
}

/// Calls that need exactly one permission and cannot change anything: they target a random
/// (so non-existent) id. Genesys checks the permission before looking the id up, so 404 =
/// the permission is there, 403 `missing.permissions` = it is not.
async fn probe_all(org: &GenesysOrg<'_>) -> BTreeMap<&'static str, Probe> {
    let random = || uuid::Uuid::new_v4().to_string();
    let mut out = BTreeMap::new();
    out.insert(
        "conversation:communication:view",
        Probe::from_answer(org.conversation(&random()).await.map(|_| ())),
    );
    let attrs: BTreeMap<String, String> =
        [("bridge_doctor_probe".to_string(), "1".to_string())].into();
    out.insert(
        "conversation:communication:update",
        Probe::from_answer(
            org.patch_participant_attributes(&random(), &random(), &attrs)
                .await
                .map(|_| ()),
        ),
    );
    out.insert(
        "externalContacts:contact:view",
        Probe::from_answer(org.external_contact(&random()).await.map(|_| ())),
    );
    let change = ContactChange {
        field: "$.customFields.bridge_doctor_probe".into(),
        value: Some(json!("1")),
        action: ContactAction::UpdateIfExists,
    };
    out.insert(
        "externalContacts:contact:edit",
        Probe::from_answer(
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

/// The row of one capability: ✓ when every permission it needs is granted, ✗ naming the
/// missing ones, "!" when some could not be decided.
fn capability_check(cap: &Capability, permissions: &Permissions, cfg: &OrgConfig) -> Check {
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
            roles_fix(cfg, &missing.join(" and ")),
        );
        c.error_type = Some("Genesys.MissingPermission".into());
        c
    } else if !unknown.is_empty() {
        Check::new(
            cap.id,
            cap.title,
            Status::Warn,
            format!("unverified {}: {}", unknown.join(", "), notes.join("; ")),
        )
        .with_fix(format!(
            "check that a role of the OAuth client grants {} (or grant {ROLE_VIEW} so doctor can read the roles)",
            unknown.join(", ")
        ))
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
