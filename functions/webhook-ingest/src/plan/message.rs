//! `message.agentless` jobs: the ones the org's messaging rules ask for on a Genesys
//! notification, and the `message.agentless` command. The job names what to send; the
//! agentless-messages worker resolves it against the org's config and sends it at most once.
//!
//! | notification | job |
//! |---|---|
//! | `...{id}.acw` / `.wrapup` with a `wrapupCode` a rule names | the rule's template to the conversation's customer |
//! | a topic a rule names (`customer.start`, `acw`, `wrapup`) | the same |
//!
//! A rule's job is keyed `rule:<template>:<conversationId>`, so the ACW and the wrap-up event
//! of one conversation (or two agents' wrap-ups, or a redelivered event) send one message.

use std::collections::BTreeMap;

use bridge::config::Messaging;
use bridge::input::{json_kind, preview, Fields, PREVIEW_CHARS};
use bridge::jobs::{AgentlessMessageJob, Job};
use bridge::BridgeError;
use serde_json::Value;

use super::notification::{topic, Topic};

/// The payload fields of a `message.agentless` command.
pub const COMMAND_FIELDS: [&str; 7] = [
    "template",
    "sender",
    "text",
    "toAddress",
    "conversationId",
    "parameters",
    "useExistingActiveConversation",
];

/// The jobs the org's messaging rules ask for on the notification `n` (already read by
/// `notification::route`, so its shape is known to be sound).
pub fn rule_jobs(messaging: &Messaging, n: &Fields) -> Result<Vec<Job>, BridgeError> {
    if messaging.rules.is_empty() {
        return Ok(Vec::new());
    }
    let topic_name = n.str("topicName")?;
    let (suffix, from_topic) = match topic(topic_name) {
        Topic::CustomerStart { conversation_id } => ("customer.start", conversation_id),
        Topic::Acw { conversation_id } => ("acw", conversation_id),
        Topic::Wrapup { conversation_id } => ("wrapup", conversation_id),
        Topic::Other => return Ok(Vec::new()),
    };
    let body = Fields::of(
        n.get("eventBody").unwrap_or(&Value::Null),
        &n.path("eventBody"),
    )?;
    let wrapup_code = body.opt_str("wrapupCode")?;
    let rules: Vec<_> = messaging.rules_for(suffix, wrapup_code).collect();
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let conversation_id = match body.opt_uuid("conversationId")? {
        Some(c) => c,
        None => bridge::input::uuid_field(&n.path("topicName"), from_topic)?,
    };
    let mut jobs: Vec<Job> = Vec::new();
    for rule in rules {
        let key = format!("rule:{}:{conversation_id}", rule.template);
        let seen = jobs.iter().any(|j| match j {
            Job::MessageAgentless(m) => m.idempotency_key.as_deref() == Some(key.as_str()),
            _ => false,
        });
        if !seen {
            jobs.push(Job::MessageAgentless(AgentlessMessageJob {
                template: Some(rule.template.clone()),
                conversation_id: Some(conversation_id.clone()),
                idempotency_key: Some(key),
                ..AgentlessMessageJob::default()
            }));
        }
    }
    Ok(jobs)
}

/// The `message.agentless` command's payload `p` to its job, checked against the org's
/// messaging config as far as names go (the worker checks the rest before sending).
pub fn command(messaging: &Messaging, p: &Fields) -> Result<Job, BridgeError> {
    p.only(&COMMAND_FIELDS)?;
    let template = p.opt_str("template")?.map(str::to_string);
    let sender = p.opt_str("sender")?.map(str::to_string);
    let text = p.opt_text("text")?.map(str::to_string);
    match (&template, &sender, &text) {
        (Some(t), None, None) if !messaging.templates.contains_key(t) => {
            return Err(p.invalid(
                "template",
                format!(
                    "expected a template of the org's messaging.templates; there is no {:?}",
                    preview(t, PREVIEW_CHARS)
                ),
            ))
        }
        (Some(_), None, None) => {}
        (None, Some(s), Some(_)) if !messaging.senders.contains_key(s) => {
            return Err(p.invalid(
                "sender",
                format!(
                    "expected a sender of the org's messaging.senders; there is no {:?}",
                    preview(s, PREVIEW_CHARS)
                ),
            ))
        }
        (None, Some(_), Some(_)) => {}
        (None, Some(_), None) => {
            return Err(p.invalid("text", "expected the message text; it is empty"))
        }
        _ => {
            return Err(p.invalid(
                "template",
                "expected either `template`, or `sender` with `text`",
            ))
        }
    }
    let to_address = p.opt_str("toAddress")?.map(str::to_string);
    let conversation_id = p.opt_uuid("conversationId")?;
    if to_address.is_none() && conversation_id.is_none() {
        return Err(p.invalid(
            "toAddress",
            "expected the recipient, or `conversationId` to send to the conversation's customer",
        ));
    }
    Ok(Job::MessageAgentless(AgentlessMessageJob {
        template,
        sender,
        text,
        to_address,
        conversation_id,
        parameters: parameters(p)?,
        use_existing_active_conversation: p.opt_bool("useExistingActiveConversation")?,
        // The job id (`<eventId>:0`) is the claim: a retry of the same request is the
        // same message.
        idempotency_key: None,
        resend: 0,
    }))
}

/// `payload.parameters`: an object of string values.
fn parameters(p: &Fields) -> Result<BTreeMap<String, String>, BridgeError> {
    let Some(v) = p.get("parameters") else {
        return Ok(BTreeMap::new());
    };
    let Some(map) = v.as_object() else {
        return Err(p.invalid(
            "parameters",
            format!(
                "expected an object of placeholder values; got {}",
                json_kind(v)
            ),
        ));
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            other => Err(BridgeError::validation(
                format!("{}.{}", p.path("parameters"), preview(k, PREVIEW_CHARS)),
                format!("expected a string; got {}", json_kind(other)),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{AGENT, CONV};
    use bridge::OrgConfig;
    use serde_json::json;

    fn messaging() -> Messaging {
        let doc = json!({
            "orgId": "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11",
            "genesys": {"region": "eu-west-1", "clientId": "c", "clientSecret": "s"},
            "webhook": {"sharedSecret": "0123456789abcdef0123456789abcdef"},
            "messaging": {
                "senders": {"sms": {"type": "sms", "address": "+15550000100"}},
                "templates": {
                    "missed": {"sender": "sms", "text": "We missed you"},
                    "hello": {"sender": "sms", "text": "Hello"}
                },
                "rules": [
                    {"wrapupCode": "w-missed", "template": "missed"},
                    {"topic": "customer.start", "template": "hello"},
                    {"topic": "acw", "template": "missed"}
                ]
            }
        });
        OrgConfig::from_json(&doc.to_string()).unwrap().messaging
    }

    fn note(suffix: &str, body: Value) -> Value {
        json!({"topicName": format!("v2.detail.events.conversation.{CONV}.{suffix}"), "eventBody": body})
    }

    fn keys(jobs: &[Job]) -> Vec<String> {
        jobs.iter()
            .map(|j| match j {
                Job::MessageAgentless(m) => m.idempotency_key.clone().unwrap(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn rules_make_one_job_per_template_and_conversation() {
        let m = messaging();
        let jobs = |n: Value| rule_jobs(&m, &Fields::of(&n, "detail").unwrap()).unwrap();
        let missed = format!("rule:missed:{CONV}");
        assert_eq!(
            keys(&jobs(note(
                "acw",
                json!({"participantId": AGENT, "eventTime": 1, "wrapupCode": "w-missed"})
            ))),
            vec![missed.clone()],
            "the wrap-up rule and the acw rule name the same template: one job"
        );
        assert_eq!(
            keys(&jobs(note(
                "wrapup",
                json!({"participantId": AGENT, "eventTime": 1, "wrapupCode": "w-missed"})
            ))),
            vec![missed.clone()],
            "the wrap-up event of the same conversation makes the same claim"
        );
        assert!(jobs(note("wrapup", json!({"wrapupCode": "other"}))).is_empty());
        assert_eq!(
            keys(&jobs(note("customer.start", json!({})))),
            vec![format!("rule:hello:{CONV}")]
        );
        assert!(jobs(note("customer.end", json!({}))).is_empty());
        let Job::MessageAgentless(job) = &jobs(note("acw", json!({})))[0] else {
            panic!()
        };
        assert_eq!(job.conversation_id.as_deref(), Some(CONV));
        assert_eq!(job.template.as_deref(), Some("missed"));
        assert!(rule_jobs(
            &Messaging::default(),
            &Fields::of(&note("acw", json!({})), "detail").unwrap()
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn commands_name_their_field() {
        let m = messaging();
        let run = |p: Value| command(&m, &Fields::of(&p, "payload").unwrap());
        assert!(run(json!({"template": "missed", "conversationId": CONV})).is_ok());
        let ok = run(json!({"sender": "sms", "text": "hi", "toAddress": "+15551230001", "parameters": {"a": "b"}})).unwrap();
        let Job::MessageAgentless(job) = ok else {
            panic!()
        };
        assert_eq!(job.parameters["a"], "b");
        assert_eq!(job.idempotency_key, None, "the job id is the claim");
        for (p, field) in [
            (
                json!({"template": "nope", "toAddress": "+1"}),
                "payload.template",
            ),
            (
                json!({"sender": "fax", "text": "x", "toAddress": "+1"}),
                "payload.sender",
            ),
            (json!({"sender": "sms", "toAddress": "+1"}), "payload.text"),
            (
                json!({"template": "missed", "sender": "sms", "text": "x", "toAddress": "+1"}),
                "payload.template",
            ),
            (json!({"toAddress": "+1"}), "payload.template"),
            (json!({"template": "missed"}), "payload.toAddress"),
            (
                json!({"template": "missed", "conversationId": "c-1"}),
                "payload.conversationId",
            ),
            (
                json!({"template": "missed", "toAddress": "+1", "parameters": {"n": 1}}),
                "payload.parameters.n",
            ),
            (
                json!({"template": "missed", "toAddress": "+1", "textBody": "typo"}),
                "payload.textBody",
            ),
        ] {
            let e = run(p.clone()).expect_err(field);
            assert_eq!(e.field.as_deref(), Some(field), "{p}: {e}");
        }
    }
}
