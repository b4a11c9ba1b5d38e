//! Read-back of a participant attribute write: did the values stick?
//!
//! A 202 from the PATCH only says Genesys accepted the request. Writes on an ended
//! conversation are accepted and not kept, a wrong participant id in a flow goes unnoticed,
//! and another writer can race us; only a read of the conversation tells. The comparison is
//! a pure function; [`verify`] adds the one delayed re-read for a read that lags the write.

use std::collections::BTreeMap;
use std::time::Duration;

use bridge::genesys::{Conversation, GenesysOrg};
use bridge::{Deadline, Result};

/// What a read of the conversation showed about the written values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Every written key holds the written value.
    Verified,
    /// The conversation has ended (and the values are not all there): attributes written
    /// after the end are not kept, so reading again cannot help.
    Ended,
    /// The participant id is not in the conversation.
    ParticipantMissing,
    /// This key is missing or holds another value.
    Differs(String),
}

impl Check {
    /// The `verifyReason` of the data action output: "" when verified.
    pub fn reason(&self) -> String {
        match self {
            Check::Verified => String::new(),
            Check::Ended => "conversation ended".into(),
            Check::ParticipantMissing => "participant not in conversation".into(),
            Check::Differs(key) => format!(
                "value differs for key {}",
                bridge::input::preview(key, bridge::input::PREVIEW_CHARS)
            ),
        }
    }

    /// Whether reading again later could change the answer.
    pub fn worth_rereading(&self) -> bool {
        matches!(self, Check::ParticipantMissing | Check::Differs(_))
    }
}

/// Compares a read of the conversation with what was written.
pub fn check(
    conversation: &Conversation,
    participant_id: &str,
    written: &BTreeMap<String, String>,
) -> Check {
    // Both ids are canonical lower-case UUIDs (input ids go through `uuid_field`).
    let Some(p) = conversation.participant(participant_id) else {
        return Check::ParticipantMissing;
    };
    let differing = written
        .iter()
        .find(|(k, v)| p.attributes.get(*k) != Some(*v))
        .map(|(k, _)| k.clone());
    match differing {
        None => Check::Verified,
        Some(_) if conversation.end_time.is_some() => Check::Ended,
        Some(key) => Check::Differs(key),
    }
}

/// Reads the conversation back and checks; if the answer could still change, waits `delay`
/// (only if the deadline leaves room for it) and reads once more. Returns the final check
/// and how many reads were made.
pub async fn verify(
    genesys: &GenesysOrg<'_>,
    conversation_id: &str,
    participant_id: &str,
    written: &BTreeMap<String, String>,
    delay: Duration,
    deadline: Deadline,
) -> Result<(Check, u32)> {
    let first = check(
        &genesys.conversation(conversation_id).await?,
        participant_id,
        written,
    );
    if !first.worth_rereading() {
        return Ok((first, 1));
    }
    // The re-read needs time after the wait too; without room for both, report what we saw.
    if deadline.remaining().is_some_and(|left| left <= delay * 2) {
        tracing::info!(conversation_id, participant_id, reason = %first.reason(), "no time left for a second read-back");
        return Ok((first, 1));
    }
    tokio::time::sleep(delay).await;
    let second = check(
        &genesys.conversation(conversation_id).await?,
        participant_id,
        written,
    );
    Ok((second, 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conv(end: Option<&str>, attrs: serde_json::Value) -> Conversation {
        serde_json::from_value(json!({
            "id": "c0a00001-0000-4000-8000-000000000000",
            "endTime": end,
            "participants": [
                {"id": "p1", "purpose": "customer", "attributes": attrs},
                {"id": "p2", "purpose": "agent"}
            ]
        }))
        .unwrap()
    }

    fn written(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn check_table() {
        let w = written(&[("a", "1"), ("b", "")]);
        let rows = [
            (
                conv(None, json!({"a": "1", "b": "", "other": "x"})),
                "p1",
                Check::Verified,
                "",
            ),
            // Values present on an ended conversation were written before the end: kept.
            (
                conv(Some("2025-01-01T00:00:00Z"), json!({"a": "1", "b": ""})),
                "p1",
                Check::Verified,
                "",
            ),
            (
                conv(Some("2025-01-01T00:00:00Z"), json!({})),
                "p1",
                Check::Ended,
                "conversation ended",
            ),
            (
                conv(None, json!({"a": "1"})),
                "p1",
                Check::Differs("b".into()),
                "value differs for key b",
            ),
            (
                conv(None, json!({"a": "2", "b": ""})),
                "p1",
                Check::Differs("a".into()),
                "value differs for key a",
            ),
            (
                conv(None, json!({"a": "1", "b": ""})),
                "p9",
                Check::ParticipantMissing,
                "participant not in conversation",
            ),
        ];
        for (c, p, want, reason) in rows {
            let got = check(&c, p, &w);
            assert_eq!(got, want);
            assert_eq!(got.reason(), reason);
        }
        assert!(!Check::Ended.worth_rereading());
        assert!(!Check::Verified.worth_rereading());
        assert!(Check::Differs("a".into()).worth_rereading());
        assert!(Check::ParticipantMissing.worth_rereading());
    }
}
