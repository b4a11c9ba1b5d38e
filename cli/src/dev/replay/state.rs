//! Reading what a run left upstream: ticket statuses, participant attributes and contact
//! fields in the sandbox, and the changes the run made (found through the journal, shown
//! before -> after against a sandbox nobody touched).

use std::collections::{BTreeMap, BTreeSet};

use bridge_sandbox::{JournalEntry, StateHandle};
use serde_json::Value;

use super::report::Change;

/// The status of Zendesk ticket `id` of account `sub`.
pub(super) fn ticket_status(state: &StateHandle, sub: &str, id: u64) -> Option<String> {
    state
        .ticket(sub, id)
        .and_then(|t| t.get("status").and_then(Value::as_str).map(str::to_string))
}

/// The customFields of external contact `id`, in the first of `orgs` that has the contact.
pub(super) fn contact_fields<'a>(
    state: &StateHandle,
    mut orgs: impl Iterator<Item = &'a str>,
    id: &str,
) -> Option<Value> {
    orgs.find_map(|o| state.contact(o, id))
        .and_then(|c| c.get("customFields").cloned())
}

/// What the successful writes of a run touched.
#[derive(Default)]
struct Touched {
    /// (Zendesk subdomain, ticket id)
    tickets: BTreeSet<(String, u64)>,
    /// (conversation id, participant id) -> the attribute keys written
    attributes: BTreeMap<(String, String), BTreeSet<String>>,
    /// (org id, contact id)
    contacts: BTreeSet<(String, String)>,
}

impl Touched {
    /// Reads the journal's successful writes; a ticket created by a POST is found through
    /// the function's `outputs` (its id is only there).
    fn from_journal(journal: &[JournalEntry], outputs: &[&Value]) -> Touched {
        let mut t = Touched::default();
        for e in journal.iter().filter(|e| (200..300).contains(&e.status)) {
            let seg: Vec<&str> = e.path.trim_start_matches('/').split('/').collect();
            match (e.method.as_str(), seg.as_slice()) {
                ("PUT", ["zendesk", sub, "api", "v2", "tickets", file]) => {
                    if let Some(id) = file.strip_suffix(".json").and_then(|i| i.parse().ok()) {
                        t.tickets.insert((sub.to_string(), id));
                    }
                }
                ("POST", ["zendesk", sub, "api", "v2", "tickets.json"]) => {
                    // The new ticket's id is in the function's output.
                    for o in outputs {
                        if let Some(id) = o
                            .get("followUpTicketId")
                            .and_then(|v| v.as_str())
                            .and_then(|s| s.parse().ok())
                        {
                            t.tickets.insert((sub.to_string(), id));
                        }
                    }
                }
                ("PATCH", ["api", "v2", "conversations", c, "participants", p, "attributes"]) => {
                    let keys = e
                        .body
                        .as_ref()
                        .and_then(|b| b.get("attributes"))
                        .and_then(Value::as_object)
                        .map(|o| o.keys().cloned().collect::<Vec<_>>())
                        .unwrap_or_default();
                    t.attributes
                        .entry((c.to_string(), p.to_string()))
                        .or_default()
                        .extend(keys);
                }
                ("PATCH", ["api", "v2", "externalcontacts", "contacts", id]) => {
                    if let Some(org) = &e.org_id {
                        t.contacts.insert((org.clone(), id.to_string()));
                    }
                }
                _ => {}
            }
        }
        t
    }
}

/// What the run changed upstream, before (`reference`) -> after (`state`), found through
/// the journal.
pub(super) fn changes(
    journal: &[JournalEntry],
    state: &StateHandle,
    reference: &StateHandle,
    outputs: &[&Value],
) -> Vec<Change> {
    let touched = Touched::from_journal(journal, outputs);
    let mut out = Vec::new();
    let status = |s: &StateHandle, sub: &str, id: u64| {
        ticket_status(s, sub, id).unwrap_or_else(|| "(none)".into())
    };
    for (sub, id) in touched.tickets {
        out.push(Change {
            what: format!("ticket {sub}/{id} status"),
            before: status(reference, &sub, id),
            after: status(state, &sub, id),
        });
    }
    for ((c, p), keys) in touched.attributes {
        let before = reference.participant_attributes(&c, &p).unwrap_or_default();
        let after = state.participant_attributes(&c, &p).unwrap_or_default();
        let show = |m: &BTreeMap<String, String>| {
            let sub: BTreeMap<&String, Option<&String>> =
                keys.iter().map(|k| (k, m.get(k))).collect();
            serde_json::to_string(&sub).unwrap_or_default()
        };
        out.push(Change {
            what: format!("attributes {c}/{p}"),
            before: show(&before),
            after: show(&after),
        });
    }
    for (org, id) in touched.contacts {
        let fields = |s: &StateHandle| {
            contact_fields(s, std::iter::once(org.as_str()), &id)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "(none)".into())
        };
        out.push(Change {
            what: format!("contact {id} customFields"),
            before: fields(reference),
            after: fields(state),
        });
    }
    out
}
