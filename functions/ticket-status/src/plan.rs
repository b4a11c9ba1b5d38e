//! Pure decisions: which status a wrap-up code maps to, where the ticket id is found on a
//! conversation, which of a batch's jobs for one ticket wins, and what the update says.

use std::collections::BTreeMap;

use bridge::config::Rules;
use bridge::genesys::Conversation;
use bridge::input::{positive_id, preview};
use bridge::jobs::TicketWrapup;
use bridge::zendesk::Comment;

/// Participant purposes that carry customer data when the wrap-up participant (the agent)
/// does not: Architect's Set Participant Data writes on the customer's participant.
pub const CUSTOMER_PURPOSES: [&str; 2] = ["customer", "external"];

/// The change to make to one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub ticket_id: u64,
    /// A validated Zendesk status.
    pub status: String,
    /// Added with the status change (and used as the follow-up's first comment).
    pub comment: Option<Comment>,
    /// Who asks for it, when a repeat of the request must not create a second follow-up
    /// ticket: the `Idempotency-Key` of the creation (`bridge::zendesk::creation_key`).
    pub request_key: Option<String>,
}

/// How the org's rules map a wrap-up code to a status: the code's entry; with no code at
/// all, the default; a present but unmapped code maps to nothing (leave the ticket alone).
pub fn target_status<'r>(rules: &'r Rules, wrapup_code: Option<&str>) -> Option<&'r str> {
    match wrapup_code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => rules.wrapup_status.get(code).map(String::as_str),
        None => rules.default_wrapup_status.as_deref(),
    }
}

/// The ticket id from the conversation's participant attributes: the wrap-up participant
/// first, then the customer participants (in conversation order). The first participant
/// with a non-blank value decides; a value that is not digits is an error, not a reason to
/// look further (two participants disagreeing would be guesswork).
pub fn ticket_id_from_conversation(
    conv: &Conversation,
    participant_id: &str,
    attribute: &str,
) -> std::result::Result<u64, String> {
    let mut wrapup_participant_seen = false;
    let candidates = conv
        .participants
        .iter()
        .filter(|p| p.id == participant_id)
        .inspect(|_| wrapup_participant_seen = true)
        .chain(conv.participants.iter().filter(|p| {
            p.id != participant_id
                && p.purpose
                    .as_deref()
                    .is_some_and(|x| CUSTOMER_PURPOSES.contains(&x))
        }));
    for p in candidates {
        let Some(value) = p.attributes.get(attribute).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        return positive_id(value).ok_or_else(|| {
            format!(
                "participant attribute {attribute:?} on participant {} ({}) of conversation {} is {:?}, not a Zendesk ticket id (digits only)",
                p.id,
                p.purpose.as_deref().unwrap_or("unknown purpose"),
                conv.id,
                preview(value, 40)
            )
        });
    }
    // Every candidate was visited, so the wrap-up participant was seen if it is there.
    let seen = if wrapup_participant_seen {
        "the wrap-up participant"
    } else {
        "the wrap-up participant (not found in the conversation)"
    };
    Err(format!(
        "no participant attribute {attribute:?} on {seen} or the customer participants of conversation {}; set it in the flow (or put ticketId in the job), or point rules.ticketIdAttribute at the attribute the flow uses",
        conv.id
    ))
}

/// A group of jobs for one key: the winner's update stands for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collapsed<T> {
    /// The job whose update is made.
    pub winner: T,
    /// The other jobs for the same key, superseded by the winner (in batch order).
    pub superseded: Vec<T>,
}

/// A group by position in the input (what [`coalesce`] answers).
pub type Group = Collapsed<usize>;

/// Groups `items` by key; in each group the latest event time wins, and of equal times the
/// later item (SQS order is the best tie-break there is). Groups come in order of first
/// appearance, so logs follow the batch.
pub fn collapse<T, K: Ord + Clone>(
    items: Vec<T>,
    key_and_time: impl Fn(&T) -> (K, i64),
) -> Vec<Collapsed<T>> {
    let mut order: Vec<K> = Vec::new();
    let mut by_key: BTreeMap<K, Vec<(i64, T)>> = BTreeMap::new();
    for item in items {
        let (key, time) = key_and_time(&item);
        by_key
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push((time, item));
    }
    order
        .iter()
        .filter_map(|k| by_key.remove(k))
        .filter_map(|mut members| {
            // The last of the latest: `max_by_key` keeps the last of equal maxima.
            let (winner_at, _) = members.iter().enumerate().max_by_key(|(_, (t, _))| *t)?;
            let (_, winner) = members.remove(winner_at);
            Some(Collapsed {
                winner,
                superseded: members.into_iter().map(|(_, item)| item).collect(),
            })
        })
        .collect()
}

/// [`collapse`] by position: which items win and which are superseded.
pub fn coalesce<K: Ord + Clone>(items: &[(K, i64)]) -> Vec<Group> {
    collapse((0..items.len()).collect(), |&i| items[i].clone())
}

/// The internal note a wrap-up leaves on the ticket.
pub fn wrapup_note(job_id: &str, w: &TicketWrapup, status: &str) -> Comment {
    Comment {
        body: format!(
            "Genesys Cloud wrap-up: conversation {}, wrap-up code {}, agent {}. Status set to \"{status}\" by genesys-bridge (job {job_id}).",
            w.conversation_id,
            w.wrapup_code.as_deref().unwrap_or("(none)"),
            w.agent_user_id.as_deref().unwrap_or("(unknown)"),
        ),
        public: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_rules() {
        let mut rules = Rules::default();
        rules
            .wrapup_status
            .insert("resolved".into(), "solved".into());
        assert_eq!(target_status(&rules, Some("resolved")), Some("solved"));
        assert_eq!(target_status(&rules, Some("other")), None);
        assert_eq!(target_status(&rules, None), None);
        rules.default_wrapup_status = Some("pending".into());
        assert_eq!(target_status(&rules, None), Some("pending"));
        assert_eq!(
            target_status(&rules, Some(" ")),
            Some("pending"),
            "blank code = no code"
        );
        assert_eq!(
            target_status(&rules, Some("other")),
            None,
            "unmapped never takes the default"
        );
    }

    #[test]
    fn coalescing_latest_event_wins() {
        let items = vec![
            (("a", 1), 10),
            (("b", 2), 5),
            (("a", 1), 30),
            (("a", 1), 20),
            (("b", 2), 5),
        ];
        assert_eq!(
            coalesce(&items),
            vec![
                Group {
                    winner: 2,
                    superseded: vec![0, 3]
                },
                Group {
                    winner: 4,
                    superseded: vec![1]
                }
            ]
        );
        assert!(coalesce::<u8>(&[]).is_empty());
        // Owned items move into their groups.
        let groups = collapse(vec!["a1", "b1", "a2"], |s| (s.as_bytes()[0], 0));
        assert_eq!(
            groups,
            vec![
                Collapsed {
                    winner: "a2",
                    superseded: vec!["a1"]
                },
                Collapsed {
                    winner: "b1",
                    superseded: vec![]
                }
            ]
        );
    }

    fn participant(
        id: &str,
        purpose: &str,
        attrs: &[(&str, &str)],
    ) -> bridge::genesys::Participant {
        bridge::genesys::Participant {
            id: id.into(),
            purpose: Some(purpose.into()),
            name: None,
            address: None,
            user_id: None,
            queue_id: None,
            end_time: None,
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn ticket_id_lookup_order() {
        let conv = |ps| Conversation {
            id: "c1".into(),
            start_time: None,
            end_time: None,
            participants: ps,
        };
        let a = "zendesk_ticket_id";
        let c = conv(vec![
            participant("cust", "customer", &[(a, "1001")]),
            participant("agent", "agent", &[]),
        ]);
        assert_eq!(ticket_id_from_conversation(&c, "agent", a), Ok(1001));
        let c = conv(vec![
            participant("cust", "customer", &[(a, "1001")]),
            participant("agent", "agent", &[(a, " 7 ")]),
        ]);
        assert_eq!(
            ticket_id_from_conversation(&c, "agent", a),
            Ok(7),
            "wrap-up participant first"
        );
        let c = conv(vec![participant("cust", "customer", &[(a, "ZD-1")])]);
        let e = ticket_id_from_conversation(&c, "agent", a).unwrap_err();
        assert!(e.contains("ZD-1") && e.contains("digits only"), "{e}");
        let c = conv(vec![
            participant("acd", "acd", &[(a, "5")]),
            participant("cust", "customer", &[(a, "")]),
        ]);
        let e = ticket_id_from_conversation(&c, "agent", a).unwrap_err();
        assert!(
            e.contains("not found in the conversation") && e.contains("rules.ticketIdAttribute"),
            "{e}"
        );
    }

    #[test]
    fn note_names_conversation_code_and_agent() {
        let w = TicketWrapup {
            conversation_id: "conv-1".into(),
            participant_id: "p".into(),
            wrapup_code: Some("code-9".into()),
            agent_user_id: Some("agent-3".into()),
            event_time_ms: 1,
            ticket_id: None,
        };
        let n = wrapup_note("job-1", &w, "solved");
        assert!(!n.public);
        for part in ["conv-1", "code-9", "agent-3", "solved"] {
            assert!(n.body.contains(part), "{}", n.body);
        }
    }
}
