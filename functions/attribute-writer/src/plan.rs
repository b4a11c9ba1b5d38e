//! Pure decisions: a write against the org's attribute limits, the writes of a batch merged
//! per participant and split into PATCH bodies, and what a Zendesk match of the caller
//! becomes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use bridge::config::{AttributeLimits, AttributeViolation, Enrichment, OrgConfig};
use bridge::input::{preview, PREVIEW_CHARS};
use bridge::zendesk::{User, UserLookup};
use bridge::{BridgeError, Result};

use crate::input::attribute_field;

/// Checks a set of attributes against the org's limits (`rules.attributeLimits`); the error
/// names the key and the limit that was hit.
pub fn check_limits(attributes: &BTreeMap<String, String>, limits: &AttributeLimits) -> Result<()> {
    let Some(violation) = limits.violation(attributes) else {
        return Ok(());
    };
    Err(match violation {
        AttributeViolation::Empty => BridgeError::validation(
            "attributes",
            "expected at least one attribute to write; the set is empty",
        ),
        AttributeViolation::TooManyKeys { count } => BridgeError::validation(
            "attributes",
            format!(
                "{count} attributes in one write; the limit for this org is {} (rules.attributeLimits.maxKeys)",
                limits.max_keys
            ),
        ),
        AttributeViolation::BlankKey { .. } => BridgeError::validation(
            "attributes",
            "attribute names must not be empty or blank",
        ),
        AttributeViolation::ControlCharacter { key } => BridgeError::validation(
            attribute_field(key),
            "attribute names must not hold a control character (NUL, line break, tab, DEL); values may hold line breaks and tabs",
        ),
        AttributeViolation::KeyTooLong { key, chars } => BridgeError::validation(
            attribute_field(key),
            format!(
                "attribute name {:?} is {chars} characters long; the limit for this org is {} (rules.attributeLimits.maxKeyChars)",
                preview(key, PREVIEW_CHARS),
                limits.max_key_chars
            ),
        ),
        AttributeViolation::ValueTooLong { key, chars } => BridgeError::validation(
            attribute_field(key),
            format!(
                "the value of attribute {:?} is {chars} characters long; the limit for this org is {} (rules.attributeLimits.maxValueChars)",
                preview(key, PREVIEW_CHARS),
                limits.max_value_chars
            ),
        ),
    })
}

/// One job's attribute write, checked against its org's limits.
#[derive(Debug, Clone)]
pub struct Write {
    /// The org's config, as read when the job was prepared.
    pub org: Arc<OrgConfig>,
    pub conversation_id: String,
    pub participant_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// The writes of a batch for one participant, merged; `M` names the jobs that contributed.
#[derive(Debug, Clone)]
pub struct MergedWrite<M> {
    /// The config of the first contributing job (the key compares org ids).
    pub org: Arc<OrgConfig>,
    pub conversation_id: String,
    pub participant_id: String,
    pub attributes: BTreeMap<String, String>,
    /// The messages that contributed, in record order: they succeed or fail together.
    pub message_ids: Vec<M>,
}

/// Merges writes per (org, conversation, participant), in the order given (SQS record
/// order): a later write of the same key wins. Groups come out in order of first
/// appearance.
pub fn merge_writes<M: PartialEq>(writes: Vec<(M, Write)>) -> Vec<MergedWrite<M>> {
    let mut out: Vec<MergedWrite<M>> = Vec::new();
    for (message_id, w) in writes {
        match out.iter_mut().find(|m| {
            m.org.org_id == w.org.org_id
                && m.conversation_id == w.conversation_id
                && m.participant_id == w.participant_id
        }) {
            Some(m) => {
                m.attributes.extend(w.attributes);
                if !m.message_ids.contains(&message_id) {
                    m.message_ids.push(message_id);
                }
            }
            None => out.push(MergedWrite {
                org: w.org,
                conversation_id: w.conversation_id,
                participant_id: w.participant_id,
                attributes: w.attributes,
                message_ids: vec![message_id],
            }),
        }
    }
    out
}

/// Splits a merged set into PATCH bodies of at most `max_keys` keys. Each job was within
/// the limit, but several merged may not be; one PATCH per participant is the rule unless
/// the org's own limit forbids it. A set within the limit is its own body (borrowed).
pub fn chunks(
    attributes: &BTreeMap<String, String>,
    max_keys: usize,
) -> Vec<Cow<'_, BTreeMap<String, String>>> {
    let size = max_keys.max(1);
    if attributes.is_empty() {
        return Vec::new();
    }
    if attributes.len() <= size {
        return vec![Cow::Borrowed(attributes)];
    }
    let mut out = Vec::new();
    let mut cur = BTreeMap::new();
    for (k, v) in attributes {
        if cur.len() == size {
            out.push(Cow::Owned(std::mem::take(&mut cur)));
        }
        cur.insert(k.clone(), v.clone());
    }
    if !cur.is_empty() {
        out.push(Cow::Owned(cur));
    }
    out
}

/// How to find a caller who gave no contact detail: by the participant's address (ANI for
/// calls, the address for emails: one with `@` is an email). `None`: nothing to look up.
pub fn lookup_for_address(address: Option<&str>) -> Option<UserLookup> {
    match address.map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) if a.contains('@') => Some(UserLookup::Email(a.to_string())),
        Some(a) => Some(UserLookup::Phone(a.to_string())),
        None => None,
    }
}

/// The one Zendesk user the caller is, or why enrichment writes nothing. Writing the wrong
/// customer's ticket onto a call is worse than writing nothing, so several matches are not
/// guessed between.
pub fn single_match(users: &[User]) -> std::result::Result<&User, String> {
    match users {
        [] => Err("no Zendesk user matches the caller".into()),
        [u] => Ok(u),
        more => Err(format!(
            "{} Zendesk users match the caller; not guessing",
            more.len()
        )),
    }
}

/// The attributes the org's enrichment rules make of a match (a rule set to `null` writes
/// nothing for that value).
pub fn enrichment_attributes(
    rules: &Enrichment,
    user: &User,
    open_ticket: Option<u64>,
) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::new();
    if let Some(k) = &rules.user_id_attribute {
        attributes.insert(k.clone(), user.id.to_string());
    }
    if let (Some(k), Some(name)) = (&rules.user_name_attribute, &user.name) {
        attributes.insert(k.clone(), name.clone());
    }
    if let (Some(k), Some(id)) = (&rules.open_ticket_attribute, open_ticket) {
        attributes.insert(k.clone(), id.to_string());
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
    const ORG2: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";

    fn org(org_id: &str) -> Arc<OrgConfig> {
        let doc = serde_json::json!({
            "orgId": org_id,
            "genesys": {"region": "mypurecloud.ie", "clientId": "c", "clientSecret": "s"},
            "webhook": {"sharedSecret": "0123456789abcdef0123456789abcdef"}
        });
        Arc::new(OrgConfig::from_json(&doc.to_string()).unwrap())
    }

    fn w(msg: &str, conv: &str, part: &str, pairs: &[(&str, &str)]) -> (String, Write) {
        (
            msg.into(),
            Write {
                org: org(ORG),
                conversation_id: conv.into(),
                participant_id: part.into(),
                attributes: pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        )
    }

    #[test]
    fn later_jobs_win_per_key_and_groups_keep_first_order() {
        let merged = merge_writes(vec![
            w("m1", "c1", "p1", &[("tier", "silver"), ("a", "1")]),
            w("m2", "c2", "p1", &[("x", "y")]),
            w("m3", "c1", "p1", &[("tier", "gold")]),
            w("m4", "c1", "p2", &[("tier", "bronze")]),
        ]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].participant_id, "p1");
        assert_eq!(merged[0].conversation_id, "c1");
        assert_eq!(merged[0].attributes["tier"], "gold");
        assert_eq!(merged[0].attributes["a"], "1");
        assert_eq!(merged[0].message_ids, vec!["m1", "m3"]);
        assert_eq!(merged[1].message_ids, vec!["m2"]);
        assert_eq!(merged[2].attributes["tier"], "bronze");
        let mut other_org = w("m5", "c1", "p1", &[("k", "v")]);
        other_org.1.org = org(ORG2);
        assert_eq!(
            merge_writes(vec![w("m1", "c1", "p1", &[]), other_org]).len(),
            2
        );
    }

    #[test]
    fn chunking_respects_the_key_limit() {
        let attrs: BTreeMap<String, String> =
            (0..5).map(|i| (format!("k{i}"), i.to_string())).collect();
        assert_eq!(chunks(&attrs, 50).len(), 1);
        let c = chunks(&attrs, 2);
        assert_eq!(c.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert_eq!(
            c.into_iter()
                .flat_map(Cow::into_owned)
                .collect::<BTreeMap<_, _>>(),
            attrs
        );
        assert!(chunks(&BTreeMap::new(), 3).is_empty());
    }

    #[test]
    fn limits_table() {
        let limits = AttributeLimits {
            max_keys: 3,
            max_key_chars: 8,
            max_value_chars: 5,
        };
        let set = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ok = [
            set(&[("a", "12345")]),
            set(&[("abcdefgh", "")]),
            set(&[("a", "1"), ("b", "2"), ("c", "3")]),
            // Characters, not bytes: five two-byte characters fit a five-character limit.
            set(&[("é", "ééééé")]),
        ];
        for s in ok {
            check_limits(&s, &limits).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        }
        let bad: Vec<(BTreeMap<String, String>, &str, &str)> = vec![
            (set(&[]), "attributes", "empty"),
            (
                set(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]),
                "attributes",
                "maxKeys",
            ),
            (
                set(&[("abcdefghi", "1")]),
                "attributes.abcdefghi",
                "maxKeyChars",
            ),
            (
                set(&[("tier", "123456")]),
                "attributes.tier",
                "maxValueChars",
            ),
            (set(&[(" ", "1")]), "attributes", "empty or blank"),
        ];
        for (s, field, part) in bad {
            let e = check_limits(&s, &limits).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{s:?}: {e}");
            assert!(e.to_string().contains(part), "{e}");
        }
        // Defaults (documented in the README).
        let d = AttributeLimits::default();
        assert_eq!(
            (d.max_keys, d.max_key_chars, d.max_value_chars),
            (50, 128, 2000)
        );
    }

    fn user(id: u64, name: Option<&str>) -> User {
        serde_json::from_value(serde_json::json!({"id": id, "name": name})).unwrap()
    }

    #[test]
    fn enrichment_decisions() {
        assert_eq!(
            lookup_for_address(Some(" jane@example.com ")),
            Some(UserLookup::Email("jane@example.com".into()))
        );
        assert_eq!(
            lookup_for_address(Some("+15551230003")),
            Some(UserLookup::Phone("+15551230003".into()))
        );
        assert_eq!(lookup_for_address(Some(" ")), None);
        assert_eq!(lookup_for_address(None), None);

        let (a, b) = (user(1, Some("Jane")), user(2, None));
        assert_eq!(single_match(std::slice::from_ref(&a)).unwrap().id, 1);
        assert!(single_match(&[]).unwrap_err().contains("no Zendesk user"));
        assert!(single_match(&[a.clone(), b.clone()])
            .unwrap_err()
            .contains("2 Zendesk users match"));

        let mut rules = bridge::config::Rules::default().enrichment;
        let attrs = enrichment_attributes(&rules, &a, Some(1005));
        let want: BTreeMap<String, String> = [
            ("zendesk_user_id", "1"),
            ("zendesk_user_name", "Jane"),
            ("zendesk_ticket_id", "1005"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(attrs, want);
        assert_eq!(enrichment_attributes(&rules, &b, None).len(), 1);
        rules.user_id_attribute = None;
        assert!(enrichment_attributes(&rules, &b, None).is_empty());
    }
}
