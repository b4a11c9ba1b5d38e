//! The messaging senders check, folded into the agentless messaging row: every sender of
//! the org's `messaging.senders` must be usable in Genesys, an SMS number provisioned
//! (`GET /api/v2/routing/sms/phonenumbers`) and a WhatsApp integration existing and active
//! (`GET /api/v2/conversations/messaging/integrations/whatsapp`). Both lists need
//! permissions upstream-facts does not name [U]; a list the client may not read leaves the
//! sender unverified, not failed.

use bridge::config::Sender;
use bridge::genesys::GenesysOrg;
use bridge::{BridgeError, ErrorKind, OrgConfig};

use super::report::{Check, Status};

/// What doctor found out about one sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum State {
    Usable(String),
    /// Why, and the fix.
    Unusable(String, String),
    /// Why it could not be checked.
    Unknown(String),
}

/// One configured sender and its state.
#[derive(Debug, Clone)]
pub(super) struct Found {
    name: String,
    state: State,
}

/// Checks every sender of `cfg` (one list call per messenger type in use).
pub(super) async fn check(org: &GenesysOrg<'_>, cfg: &OrgConfig) -> Vec<Found> {
    let senders = &cfg.messaging.senders;
    let uses = |sms: bool| {
        senders
            .values()
            .any(|s| matches!(s, Sender::Sms { .. }) == sms)
    };
    let numbers = if uses(true) {
        Some(org.sms_phone_numbers().await)
    } else {
        None
    };
    let integrations = if uses(false) {
        Some(org.whatsapp_integrations().await)
    } else {
        None
    };
    senders
        .iter()
        .map(|(name, sender)| {
            let field = format!("messaging.senders.{name}");
            let state = match sender {
                Sender::Sms { number } => match numbers.as_ref() {
                    Some(Ok(list)) => match list.iter().find(|n| &n.phone_number == number) {
                        Some(n) if n.usable() => State::Usable(format!("SMS number {number} provisioned")),
                        Some(n) => State::Unusable(
                            format!(
                                "SMS number {number} is {}, not active",
                                n.phone_number_status.as_deref().unwrap_or("?")
                            ),
                            format!("wait until {number} is active in Admin > Message > SMS Number Inventory, or set {field}.address to an active number"),
                        ),
                        None => State::Unusable(
                            format!("SMS number {number} is not provisioned in org {}", cfg.org_id),
                            format!("provision {number} for SMS (Admin > Message > SMS Number Inventory; SMS needs a digital add-on licence), or set {field}.address to a number the org has"),
                        ),
                    },
                    Some(Err(e)) => State::Unknown(list_failed("SMS numbers", "sms:phoneNumber:view", e)),
                    None => State::Unknown("not listed".into()),
                },
                Sender::WhatsApp { integration_id } => match integrations.as_ref() {
                    Some(Ok(list)) => match list.iter().find(|w| w.id.eq_ignore_ascii_case(integration_id)) {
                        Some(w) if w.active() => State::Usable(format!(
                            "WhatsApp integration {} ({integration_id}) active",
                            w.name.as_deref().unwrap_or("unnamed")
                        )),
                        Some(w) => State::Unusable(
                            format!(
                                "WhatsApp integration {} ({integration_id}) is {}, not active",
                                w.name.as_deref().unwrap_or("unnamed"),
                                w.status.as_deref().unwrap_or("of unknown status")
                            ),
                            format!("activate it in Admin > Message > Platforms of org {} (WhatsApp also needs the customer's opt-in), or set {field}.integrationId to an active one", cfg.org_id),
                        ),
                        None => State::Unusable(
                            format!("WhatsApp integration {integration_id} does not exist in org {}", cfg.org_id),
                            format!("set {field}.integrationId to one of the org's integrations (Admin > Message > Platforms)"),
                        ),
                    },
                    Some(Err(e)) => State::Unknown(list_failed("WhatsApp integrations", "messaging:integration:view", e)),
                    None => State::Unknown("not listed".into()),
                },
            };
            Found {
                name: name.clone(),
                state,
            }
        })
        .collect()
}

fn list_failed(what: &str, permission: &str, e: &BridgeError) -> String {
    if matches!(e.kind, ErrorKind::MissingPermission | ErrorKind::Forbidden) {
        format!("could not list the org's {what}: the OAuth client may not ({permission} [U])")
    } else {
        format!("could not list the org's {what}: {}", e.error_type())
    }
}

/// The messaging row with the senders' states folded in: an unusable sender fails it, one
/// that could not be checked leaves it unverified at best.
pub(super) fn fold(mut row: Check, found: &[Found]) -> Check {
    if found.is_empty() {
        return row;
    }
    let shown: Vec<String> = found
        .iter()
        .map(|f| match &f.state {
            State::Usable(what) => format!("{}: {what}", f.name),
            State::Unusable(why, _) => format!("{}: {why}", f.name),
            State::Unknown(why) => format!("{}: unverified, {why}", f.name),
        })
        .collect();
    row.detail = format!("{}; senders: {}", row.detail, shown.join("; "));
    let fixes: Vec<String> = found
        .iter()
        .filter_map(|f| match &f.state {
            State::Unusable(_, fix) => Some(format!("{}: {fix}", f.name)),
            _ => None,
        })
        .collect();
    let unknown = found.iter().any(|f| matches!(f.state, State::Unknown(_)));
    match row.status {
        Status::Fail if !fixes.is_empty() => {
            let fix = row.fix.take().unwrap_or_default();
            row.fix = Some(format!("{fix}; also {}", fixes.join("; ")));
        }
        Status::Fail => {}
        _ if !fixes.is_empty() => {
            row.status = Status::Fail;
            row.fix = Some(fixes.join("; "));
        }
        Status::Pass if unknown => {
            row.status = Status::Warn;
            row.fix = Some(
                "optional: grant the OAuth client sms:phoneNumber:view and messaging:integration:view [U] so doctor can check that every sender is usable".into(),
            );
        }
        _ => {}
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(name: &str, state: State) -> Found {
        Found {
            name: name.into(),
            state,
        }
    }

    #[test]
    fn senders_fold_into_the_row() {
        let pass = || {
            Check::new(
                "capability.agentlessMessaging",
                "agentless messaging",
                Status::Pass,
                "conversation:message:create",
            )
        };
        let ok = found("sms", State::Usable("SMS number +1 provisioned".into()));
        assert_eq!(fold(pass(), std::slice::from_ref(&ok)).status, Status::Pass);
        let bad = found(
            "wa",
            State::Unusable("inactive".into(), "activate it".into()),
        );
        let row = fold(pass(), &[ok.clone(), bad.clone()]);
        assert_eq!(row.status, Status::Fail);
        assert_eq!(row.fix.as_deref(), Some("wa: activate it"));
        assert!(
            row.detail
                .contains("sms: SMS number +1 provisioned; wa: inactive"),
            "{}",
            row.detail
        );
        let unknown = found("sms", State::Unknown("may not list".into()));
        assert_eq!(
            fold(pass(), std::slice::from_ref(&unknown)).status,
            Status::Warn
        );
        let failed = Check::fail(
            "capability.agentlessMessaging",
            "agentless messaging",
            "missing x",
            "grant x",
        );
        let row = fold(failed, &[bad]);
        assert_eq!(row.status, Status::Fail);
        assert_eq!(row.fix.as_deref(), Some("grant x; also wa: activate it"));
        let warn = Check::new(
            "capability.agentlessMessaging",
            "agentless messaging",
            Status::Warn,
            "unverified",
        );
        assert_eq!(fold(warn, &[unknown]).status, Status::Warn);
    }
}
