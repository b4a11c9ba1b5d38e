//! Which org a data-action invocation acts for: the one rule every data-action function
//! applies, before it reads any secret.
//!
//! A Lambda data action carries no org the caller cannot forge: Genesys passes the action's
//! input as it is, and the org's admin writes the request template that fills in `orgId`.
//! What the admin cannot change is *which* function ARN Genesys may invoke: each org stack
//! (`infra/org.yaml`) creates the aliases `org-<orgId>` of the data-action functions and a
//! role that Genesys assumes for that org only (`sts:ExternalId` = the org id), which may
//! invoke only those aliases. So in the shared-stack deployment the invoked alias names the
//! org, and the payload's `orgId` must agree with it.
//!
//! | deployment | invoked ARN | payload `orgId` | acts for |
//! |---|---|---|---|
//! | shared stack (default) | `…:function:<name>:org-<A>` | A | A |
//! | shared stack | `…:function:<name>:org-<A>` | B | refused, `Bridge.WrongOrg` |
//! | shared stack | unqualified, a version, `$LATEST`, another alias, `…:<A>` without `org-`, not an ARN (`function-arn` from cargo-lambda's emulator) | any | refused, `Bridge.OrgAliasRequired`, naming the alias to use |
//! | single org A (`BRIDGE_SINGLE_ORG_ID`) | anything but another org's `org-<B>` | A | A |
//! | single org A | any | B | refused, `Bridge.WrongOrg` |
//! | single org A | `…:org-<B>` | any | refused, `Bridge.WrongOrg` |
//!
//! The opt-out pins the one org it serves instead of trusting the payload: a deployment
//! whose functions may read several org secrets (a shared `BRIDGE_SECRET_PREFIX`) would
//! otherwise let any request template pick any of them.

use crate::error::{BridgeError, ErrorKind, Result};
use crate::input::{canonical_uuid, preview, PREVIEW_CHARS};

/// The prefix of a per-org alias: the org stack names each alias `org-<orgId>`.
pub const ALIAS_PREFIX: &str = "org-";

/// The per-org alias of `org_id`, as the org stack names it.
pub fn alias_name(org_id: &str) -> String {
    format!("{ALIAS_PREFIX}{org_id}")
}

/// How a deployment ties data-action invocations to orgs (read once from `Settings`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DataActionOrgs {
    /// The shared-stack deployment (the default): an invocation must come through the alias
    /// `org-<orgId>` of its org, and that org is the one it acts for.
    #[default]
    PerOrgAlias,
    /// A deployment that serves one org only (`BRIDGE_SINGLE_ORG_ID`): invocations need no
    /// alias, and every other org is refused.
    SingleOrg(String),
}

impl DataActionOrgs {
    /// The org an invocation through `invoked_arn` acts for, given the `orgId` its payload
    /// names (a canonical UUID, from the function's input reader). Pure: no secret is read.
    pub fn org_for(&self, invoked_arn: &str, payload_org: &str) -> Result<String> {
        let qualifier = qualifier(invoked_arn);
        let alias_org = qualifier.and_then(org_of_alias);
        match self {
            DataActionOrgs::PerOrgAlias => {
                let Some(alias_org) = alias_org else {
                    return Err(alias_required(invoked_arn, qualifier, payload_org));
                };
                if alias_org != payload_org {
                    return Err(wrong_org(&alias_org, payload_org));
                }
                Ok(alias_org)
            }
            DataActionOrgs::SingleOrg(only) => {
                if let Some(alias_org) = alias_org.filter(|a| a != only) {
                    return Err(single_org(
                        only,
                        &alias_org,
                        "the function was invoked through the alias of",
                    ));
                }
                if payload_org != only {
                    return Err(single_org(only, payload_org, "the event names"));
                }
                Ok(only.clone())
            }
        }
    }
}

/// The qualifier of a Lambda function ARN
/// (`arn:<partition>:lambda:<region>:<account>:function:<name>:<qualifier>`); `None` for an
/// unqualified ARN or anything that is not a function ARN.
fn qualifier(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name, q] if !name.is_empty() && !q.is_empty() => {
            Some(q)
        }
        _ => None,
    }
}

/// The org of an alias named exactly `org-<orgId>` (the only name an org stack creates).
fn org_of_alias(qualifier: &str) -> Option<String> {
    let rest = qualifier.strip_prefix(ALIAS_PREFIX)?;
    // `canonical_uuid` trims; an alias name has no blanks to trim.
    (rest.trim() == rest)
        .then(|| canonical_uuid(rest))
        .flatten()
}

/// The function ARN without its qualifier, when `arn` is one.
fn unqualified(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function")
        .then(|| parts[..7].join(":"))
}

fn alias_required(invoked_arn: &str, qualifier: Option<&str>, payload_org: &str) -> BridgeError {
    let how = match qualifier {
        Some(q) => format!(
            "through {:?}, which is not an org alias",
            preview(q, PREVIEW_CHARS)
        ),
        None if unqualified(invoked_arn).is_some() => "unqualified".to_string(),
        None => format!(
            "as {:?}, which is not a Lambda function ARN",
            preview(invoked_arn, PREVIEW_CHARS)
        ),
    };
    let alias = alias_name(payload_org);
    let target = match unqualified(invoked_arn) {
        Some(function) => format!("{function}:{alias}"),
        None => format!("<function ARN>:{alias}"),
    };
    BridgeError::new(
        ErrorKind::OrgAliasRequired,
        format!(
            "the function was invoked {how}; in the shared-stack deployment a data action must invoke its org's alias (for org {payload_org}: {target})"
        ),
    )
    .with_org(payload_org)
    .with_hint(format!(
        "set the data action's requestUrlTemplate to {target} (bridge orgs onboard writes it) and use the role of that org's stack; a deployment that serves one org only sets BRIDGE_SINGLE_ORG_ID (template parameter SingleOrgId). Nothing was read or changed"
    ))
}

fn wrong_org(alias_org: &str, payload_org: &str) -> BridgeError {
    BridgeError::new(
        ErrorKind::WrongOrg,
        format!(
            "the function was invoked through the alias of org {alias_org}, but the event names org {payload_org}"
        ),
    )
    .with_org(alias_org)
    .with_field("orgId")
    .with_hint(format!(
        "the data action imported in org {alias_org} must send its own org id in the request template (bridge orgs onboard writes it); nothing was read or changed"
    ))
}

fn single_org(only: &str, other: &str, what: &str) -> BridgeError {
    BridgeError::new(
        ErrorKind::WrongOrg,
        format!("this deployment serves org {only} only (BRIDGE_SINGLE_ORG_ID), but {what} org {other}"),
    )
    .with_org(only)
    .with_field("orgId")
    .with_hint(
        "other orgs are served by the shared-stack deployment, through their own org alias (bridge orgs onboard); nothing was read or changed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
    const B: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";
    const BASE: &str =
        "arn:aws:lambda:eu-west-1:123456789012:function:genesys-bridge-ticket-status";

    fn arn(q: &str) -> String {
        format!("{BASE}:{q}")
    }

    #[test]
    fn the_shared_stack_takes_the_org_from_its_alias_only() {
        let rule = DataActionOrgs::PerOrgAlias;
        assert_eq!(rule.org_for(&arn(&format!("org-{A}")), A).unwrap(), A);
        // The alias names the org the credentials are read for: uppercase ids are the same org.
        assert_eq!(
            rule.org_for(&arn(&format!("org-{}", A.to_uppercase())), A)
                .unwrap(),
            A
        );
        let e = rule.org_for(&arn(&format!("org-{A}")), B).unwrap_err();
        assert_eq!(e.error_type(), "Bridge.WrongOrg");
        assert_eq!(e.org_id.as_deref(), Some(A));
        assert!(
            e.to_string().contains(B) && e.to_string().contains(A),
            "{e}"
        );
        let refused = [
            BASE.to_string(),
            arn("7"),
            arn("$LATEST"),
            arn("live"),
            arn(A),
            arn(&format!("org-{A}x")),
            arn(&format!("org-{}", &A[..35])),
            arn(&format!("org- {A}")),
            arn("org-"),
            format!("arn:aws:lambda:eu-west-1:123456789012:function:x:org-{A}:extra"),
            format!("arn:aws:sqs:eu-west-1:123456789012:queue:org-{A}"),
            "function-arn".to_string(),
            String::new(),
        ];
        for invoked in refused {
            let e = rule.org_for(&invoked, A).unwrap_err();
            assert_eq!(e.error_type(), "Bridge.OrgAliasRequired", "{invoked}: {e}");
            assert!(
                e.to_string().contains(&format!(":org-{A}")),
                "names the alias to use: {e}"
            );
        }
        let e = rule.org_for(BASE, A).unwrap_err();
        assert!(
            e.to_string().contains(&format!("{BASE}:org-{A}"))
                && e.to_string().contains("unqualified"),
            "{e}"
        );
    }

    #[test]
    fn a_single_org_deployment_serves_that_org_only() {
        let rule = DataActionOrgs::SingleOrg(A.to_string());
        for invoked in [
            BASE.to_string(),
            arn("7"),
            arn("live"),
            arn(&format!("org-{A}")),
            "function-arn".to_string(),
            String::new(),
        ] {
            assert_eq!(rule.org_for(&invoked, A).unwrap(), A, "{invoked}");
        }
        for (invoked, payload) in [
            (BASE.to_string(), B),
            ("function-arn".to_string(), B),
            (arn(&format!("org-{B}")), A),
            (arn(&format!("org-{B}")), B),
            (arn(&format!("org-{A}")), B),
        ] {
            let e = rule.org_for(&invoked, payload).unwrap_err();
            assert_eq!(e.error_type(), "Bridge.WrongOrg", "{invoked} {payload}");
            assert!(e.to_string().contains("BRIDGE_SINGLE_ORG_ID"), "{e}");
        }
    }

    #[test]
    fn long_qualifiers_are_cut_in_messages() {
        let e = DataActionOrgs::PerOrgAlias
            .org_for(&arn(&"x".repeat(10_000)), A)
            .unwrap_err();
        assert!(e.to_string().len() < 1_000, "{}", e.to_string().len());
    }
}
