//! The pure decisions: what exactly to send for a message of an org ([`resolve`]: sender,
//! text or template filled in, recipient in the form its messenger type takes, every limit
//! checked before any call), and the never-twice rules ([`claim_key`], [`before_send`],
//! [`after_send`]): which key a message is claimed under, what an existing claim means, and
//! what a send's result means for the claim.

use std::collections::BTreeMap;

use bridge::config::{
    e164_expectation, fill, is_e164, pieces, FillError, Messaging, MessengerType, Piece,
    TemplateBody,
};
use bridge::genesys::{
    may_have_been_sent, AgentlessRequest, AgentlessSent, Conversation, MessagingTemplate,
    TemplateParameter,
};
use bridge::idempotency::{IdempotencyRecord, RecordStatus};
use bridge::input::{preview, PREVIEW_CHARS};
use bridge::jobs::AgentlessMessageJob;
use bridge::{BridgeError, ErrorKind, Result, Upstream};
use serde::{Deserialize, Serialize};

/// The customer of a conversation, as a rule or a `conversationId` reaches them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    pub conversation_id: String,
    /// The customer participant's address (`tel:+1555…` for calls).
    pub address: Option<String>,
    pub name: Option<String>,
}

/// The customer participant of `conv`: the first with purpose `customer` (or `external`
/// [P]) that has an address, else the first of them.
pub fn customer_of(conv: &Conversation) -> Customer {
    let customers: Vec<_> = conv
        .participants
        .iter()
        .filter(|p| matches!(p.purpose.as_deref(), Some("customer" | "external")))
        .collect();
    let chosen = customers
        .iter()
        .find(|p| p.address.as_deref().is_some_and(|a| !a.trim().is_empty()))
        .or(customers.first());
    Customer {
        conversation_id: conv.id.clone(),
        address: chosen.and_then(|p| p.address.clone()),
        name: chosen.and_then(|p| p.name.clone()),
    }
}

/// Whether sending `m` needs its conversation read: for the recipient (no `toAddress`), or
/// for `{{customerName}}` in its template when the caller gave no value for it.
pub fn needs_conversation(messaging: &Messaging, m: &AgentlessMessageJob) -> bool {
    if m.conversation_id.is_none() {
        return false;
    }
    if m.to_address.is_none() {
        return true;
    }
    let uses_name = |text: &str| {
        pieces(text)
            .unwrap_or_default()
            .contains(&Piece::Placeholder("customerName"))
    };
    let template = m.template.as_ref().and_then(|t| messaging.templates.get(t));
    let wants_name = match template.map(|t| &t.body) {
        Some(TemplateBody::Text(text)) => uses_name(text),
        Some(TemplateBody::WhatsApp { parameters, .. }) => {
            parameters.values().any(|v| uses_name(v))
        }
        None => false,
    };
    wants_name && !m.parameters.contains_key("customerName")
}

/// What is sent, checked against the org's messaging config and the limits, and where the
/// customer is reached. `at` prefixes field names (`""` for the data action, `"payload."`
/// for jobs).
pub fn resolve(
    messaging: &Messaging,
    m: &AgentlessMessageJob,
    customer: Option<&Customer>,
    at: &str,
) -> Result<AgentlessRequest> {
    let field = |name: &str| format!("{at}{name}");
    let (sender_name, body) = chosen(messaging, m, &field)?;
    let sender = messaging.senders.get(sender_name).ok_or_else(|| {
        BridgeError::validation(
            field("sender"),
            format!(
                "expected a sender of the org's messaging.senders ({}); there is no {:?}",
                names(messaging.senders.keys()),
                preview(sender_name, PREVIEW_CHARS)
            ),
        )
    })?;
    let kind = sender.messenger_type();
    let values = placeholder_values(m, customer);
    let what = m.template.as_deref().unwrap_or(sender_name);
    let (text_body, messaging_template) = match body {
        Some(TemplateBody::Text(text)) => (Some(filled(text, &values, what, &field)?), None),
        Some(TemplateBody::WhatsApp {
            response_id,
            parameters,
        }) => (
            None,
            Some(whatsapp_template(response_id, parameters, &values, what, &field)?),
        ),
        None if kind == MessengerType::WhatsApp => {
            return Err(BridgeError::validation(
                field("template"),
                format!(
                    "sender {:?} is WhatsApp, which sends approved templates only: name a template of messaging.templates instead of `text`",
                    preview(sender_name, PREVIEW_CHARS)
                ),
            ))
        }
        None => (m.text.clone(), None),
    };
    if let Some(text) = &text_body {
        let name = if m.template.is_some() {
            "template"
        } else {
            "text"
        };
        check_text(text, kind, &field(name))?;
    }
    let to_address = recipient(m, customer, kind, &field)?;
    Ok(AgentlessRequest {
        from_address: sender.from_address().to_string(),
        to_address,
        to_address_messenger_type: kind.as_str().to_string(),
        text_body,
        messaging_template,
        use_existing_active_conversation: m
            .use_existing_active_conversation
            .unwrap_or(messaging.use_existing_active_conversation)
            .then_some(true),
    })
}

/// The sender's name and, for a template, its body: from the org's template, or the
/// message's own sender (with its text).
fn chosen<'a>(
    messaging: &'a Messaging,
    m: &'a AgentlessMessageJob,
    field: &dyn Fn(&str) -> String,
) -> Result<(&'a str, Option<&'a TemplateBody>)> {
    match (&m.template, &m.sender) {
        (Some(name), _) => {
            let t = messaging.templates.get(name).ok_or_else(|| {
                BridgeError::validation(
                    field("template"),
                    format!(
                        "expected a template of the org's messaging.templates ({}); there is no {:?}",
                        names(messaging.templates.keys()),
                        preview(name, PREVIEW_CHARS)
                    ),
                )
            })?;
            Ok((t.sender.as_str(), Some(&t.body)))
        }
        (None, Some(s)) => Ok((s.as_str(), None)),
        (None, None) => Err(BridgeError::validation(
            field("template"),
            "expected `template` or `sender` with `text`",
        )),
    }
}

/// An approved WhatsApp template with its parameters filled.
fn whatsapp_template(
    response_id: &str,
    parameters: &BTreeMap<String, String>,
    values: &BTreeMap<String, String>,
    what: &str,
    field: &dyn Fn(&str) -> String,
) -> Result<MessagingTemplate> {
    let parameters = parameters
        .iter()
        .map(|(id, value)| {
            Ok(TemplateParameter {
                id: id.clone(),
                value: filled(value, values, what, field)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MessagingTemplate {
        response_id: response_id.to_string(),
        parameters,
    })
}

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<&str> = keys.map(String::as_str).collect();
    if all.is_empty() {
        "the org has none configured".into()
    } else {
        all.join(", ")
    }
}

/// The values of the placeholders: the conversation's, then the caller's (which win).
fn placeholder_values(
    m: &AgentlessMessageJob,
    customer: Option<&Customer>,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    if let Some(c) = customer {
        values.insert("conversationId".to_string(), c.conversation_id.clone());
        if let Some(n) = &c.name {
            values.insert("customerName".to_string(), n.clone());
        }
    } else if let Some(id) = &m.conversation_id {
        values.insert("conversationId".to_string(), id.clone());
    }
    values.extend(m.parameters.clone());
    values
}

fn filled(
    text: &str,
    values: &BTreeMap<String, String>,
    what: &str,
    field: &dyn Fn(&str) -> String,
) -> Result<String> {
    fill(text, values).map_err(|e| match e {
        FillError::Missing(name) => BridgeError::validation(
            field(&format!("parameters.{name}")),
            format!(
                "template {what:?} needs a value for {{{{{name}}}}}; pass it in the parameters"
            ),
        ),
        FillError::Syntax(why) => BridgeError::validation(field("template"), why),
    })
}

/// Not empty, and within the messenger type's limit (characters, not bytes).
fn check_text(text: &str, kind: MessengerType, field: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(BridgeError::validation(
            field,
            "expected a message to send; the text is empty",
        ));
    }
    let chars = text.chars().count();
    if chars > kind.text_limit() {
        return Err(BridgeError::validation(
            field,
            format!(
                "expected at most {} characters for {} (Genesys' limit); the message has {chars}",
                kind.text_limit(),
                kind.as_str()
            ),
        ));
    }
    Ok(())
}

/// The recipient in the form `kind` takes: E.164 for SMS, its digits without `+` for
/// WhatsApp. From `toAddress`, else the conversation's customer. Never quoted in errors:
/// a phone number is customer data.
fn recipient(
    m: &AgentlessMessageJob,
    customer: Option<&Customer>,
    kind: MessengerType,
    field: &dyn Fn(&str) -> String,
) -> Result<String> {
    let (raw, name) = match (&m.to_address, customer) {
        (Some(a), _) => (a.clone(), field("toAddress")),
        (None, Some(c)) => match &c.address {
            Some(a) => (a.clone(), field("conversationId")),
            None => {
                return Err(BridgeError::validation(
                    field("conversationId"),
                    format!(
                        "conversation {} has no customer with an address to send to; pass toAddress",
                        c.conversation_id
                    ),
                ))
            }
        },
        (None, None) => {
            return Err(BridgeError::validation(
                field("toAddress"),
                "expected the recipient (`toAddress`), or `conversationId` to send to the conversation's customer",
            ))
        }
    };
    let number = phone_of(&raw);
    let about = if name.ends_with("conversationId") {
        "the customer's address in the conversation: "
    } else {
        ""
    };
    match kind {
        MessengerType::Sms if is_e164(&number) => Ok(number),
        MessengerType::Sms => Err(BridgeError::validation(
            name,
            format!("{about}{}", e164_expectation(&raw)),
        )),
        MessengerType::WhatsApp => {
            let digits = number.strip_prefix('+').unwrap_or(&number);
            if is_e164(&format!("+{digits}")) {
                Ok(digits.to_string())
            } else {
                Err(BridgeError::validation(
                    name,
                    format!(
                        "{about}expected a phone number for WhatsApp: E.164 with or without the +, like 13175555555; got {} character(s) that are not",
                        raw.chars().count()
                    ),
                ))
            }
        }
    }
}

/// A phone number out of a Genesys address: `tel:+1555…`, `sip:+1555…@host`, or bare.
fn phone_of(address: &str) -> String {
    let a = address.trim();
    let lower = a.to_ascii_lowercase();
    let rest = if lower.starts_with("tel:") || lower.starts_with("sip:") {
        &a[4..]
    } else {
        a
    };
    rest.split(['@', ';'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

// ---- never twice ----------------------------------------------------------------------------

/// The idempotency record key of a message of `org_id`: its own key (the data action's
/// `idempotencyKey`, a rule's `rule:<template>:<conversationId>`) or its job id; a
/// deliberate resend (`bridge dlq replay --resend-ambiguous`) is a new claim.
pub fn claim_key(org_id: &str, m: &AgentlessMessageJob, job_id: &str) -> String {
    let key = m.idempotency_key.as_deref().unwrap_or(job_id);
    let id = match m.resend {
        0 => format!("agentless:{key}"),
        n => format!("agentless:{key}#resend-{n}"),
    };
    bridge::idempotency::key(org_id, &id)
}

/// What a claim's record holds once the send is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Recorded {
    /// Genesys took the message.
    #[serde(rename_all = "camelCase")]
    Sent {
        message_id: Option<String>,
        conversation_id: Option<String>,
    },
    /// The send reached Genesys and its outcome is unknown; `dead_lettered` once the job is
    /// in the DLQ (the data action has none: its caller got the error).
    #[serde(rename_all = "camelCase")]
    MayHaveBeenSent {
        error_type: String,
        correlation_id: Option<String>,
        dead_lettered: bool,
    },
}

impl Recorded {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a record always serializes")
    }

    /// A record's outcome; `None` when it has none or it is not ours.
    pub fn read(outcome: Option<&str>) -> Option<Recorded> {
        outcome.and_then(|o| serde_json::from_str(o).ok())
    }
}

/// What to do before sending, given the claim's record as found (`None`: no record, or an
/// expired one) at `now_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeforeSend {
    /// Nobody has it: claim it, then send.
    Claim,
    /// Sent before: do not send; answer what the first send answered.
    AlreadySent {
        message_id: Option<String>,
        conversation_id: Option<String>,
    },
    /// A send of it reached Genesys with an unknown outcome, or the invocation that claimed
    /// it stopped before it recorded one: do not send; it goes (or went) to the DLQ.
    MayHaveBeenSent { dead_lettered: bool },
    /// Another invocation is sending it right now: try again later.
    InProgress,
}

/// The never-twice rule on an existing claim (table-tested below).
pub fn before_send(record: Option<&IdempotencyRecord>, now_ms: u64) -> BeforeSend {
    let Some(r) = record.filter(|r| r.expiration >= now_ms / 1000) else {
        return BeforeSend::Claim;
    };
    match (r.status, Recorded::read(r.outcome.as_deref())) {
        (RecordStatus::InProgress, _) => match r.in_progress_expiration {
            // The claim ends with its invocation; one that is still running is busy.
            Some(until) if until >= now_ms => BeforeSend::InProgress,
            // It stopped (timed out, crashed) between the claim and the record: the send
            // may have gone out.
            _ => BeforeSend::MayHaveBeenSent {
                dead_lettered: false,
            },
        },
        (RecordStatus::Completed, Some(Recorded::MayHaveBeenSent { dead_lettered, .. })) => {
            BeforeSend::MayHaveBeenSent { dead_lettered }
        }
        (
            RecordStatus::Completed,
            Some(Recorded::Sent {
                message_id,
                conversation_id,
            }),
        ) => BeforeSend::AlreadySent {
            message_id,
            conversation_id,
        },
        // Completed by a build that recorded nothing readable: it was sent.
        (RecordStatus::Completed, None) => BeforeSend::AlreadySent {
            message_id: None,
            conversation_id: None,
        },
    }
}

/// What a send's result means for the claim.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterSend {
    /// Record it as sent.
    Sent(AgentlessSent),
    /// Refused before Genesys could act (4xx, 429 past the deadline, connect error): release
    /// the claim; the error says whether a retry can help.
    NotSent(BridgeError),
    /// It reached Genesys and may have taken effect (timeout after sending, lost connection,
    /// 5xx): record that, never send it again by itself; the error is
    /// `Genesys.MayHaveBeenSent`.
    MayHaveBeenSent(BridgeError),
}

/// The never-twice rule on a send's result (table-tested below). The HTTP door never
/// repeats this POST once it may have been sent, and says so in `may_have_been_sent`.
pub fn after_send(result: Result<AgentlessSent>) -> AfterSend {
    match result {
        Ok(sent) => AfterSend::Sent(sent),
        Err(e) if e.may_have_been_sent || e.kind == ErrorKind::MayHaveBeenSent => {
            AfterSend::MayHaveBeenSent(may_have_been_sent(&e))
        }
        Err(e) => AfterSend::NotSent(e),
    }
}

/// The error of a message whose claim is held by a running invocation.
pub fn in_progress_error(org_id: &str) -> BridgeError {
    BridgeError::new(
        ErrorKind::Conflict,
        "another invocation is sending this message right now (same idempotency key); it is not sent twice",
    )
    .with_org(org_id)
    .with_hint("wait for it; a retry after it finished answers its result")
}

/// The error of a message found to have been sent with an unknown outcome before.
pub fn earlier_may_have_been_sent(org_id: &str) -> BridgeError {
    // The same stable type as the send that found it ambiguous: `Genesys.MayHaveBeenSent`.
    BridgeError::upstream(
        Upstream::Genesys,
        ErrorKind::MayHaveBeenSent,
        "an earlier send of this message (same idempotency key) may have been sent: it reached Genesys and its outcome is unknown, or it stopped before recording one",
    )
    .with_org(org_id)
    .with_hint("it is not sent again automatically, so the customer is not messaged twice: check the customer's conversations in Genesys, and send it again with a new idempotency key only if it did not arrive")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge::config::OrgConfig;
    use bridge::genesys::Participant;
    use serde_json::json;

    const CONV: &str = "c0a00001-0000-4000-8000-000000000000";

    fn messaging() -> Messaging {
        let doc = json!({
            "orgId": "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11",
            "genesys": {"region": "eu-west-1", "clientId": "c", "clientSecret": "s"},
            "webhook": {"sharedSecret": "0123456789abcdef0123456789abcdef"},
            "messaging": {
                "senders": {
                    "sms": {"type": "sms", "address": "+15550000100"},
                    "wa": {"type": "whatsapp", "integrationId": "3a0a0001-0000-4000-8000-000000000000"}
                },
                "templates": {
                    "missed": {"sender": "sms", "text": "Hi {{customerName}}, we missed your call ({{conversationId}})."},
                    "remind": {"sender": "sms", "text": "See you {{date}}."},
                    "solved": {"sender": "wa", "whatsapp": {"responseId": "r-1", "parameters": {"name": "{{customerName}}"}}}
                }
            }
        });
        OrgConfig::from_json(&doc.to_string()).unwrap().messaging
    }

    fn job(v: serde_json::Value) -> AgentlessMessageJob {
        serde_json::from_value(v).unwrap()
    }

    fn jane() -> Customer {
        Customer {
            conversation_id: CONV.into(),
            address: Some("tel:+15551230001".into()),
            name: Some("Jane".into()),
        }
    }

    #[test]
    fn requests_are_resolved_from_the_config() {
        let m = messaging();
        let r = resolve(
            &m,
            &job(json!({"template": "missed", "conversationId": CONV})),
            Some(&jane()),
            "",
        )
        .unwrap();
        assert_eq!(r.from_address, "+15550000100");
        assert_eq!(r.to_address, "+15551230001", "tel: is stripped");
        assert_eq!(r.to_address_messenger_type, "sms");
        assert_eq!(
            r.text_body.as_deref(),
            Some(format!("Hi Jane, we missed your call ({CONV}).").as_str())
        );
        assert_eq!(r.use_existing_active_conversation, None);

        let r = resolve(
            &m,
            &job(json!({"template": "solved", "toAddress": "+15551230001", "useExistingActiveConversation": true,
                        "parameters": {"customerName": "J."}})),
            None,
            "",
        )
        .unwrap();
        assert_eq!(
            r.to_address, "15551230001",
            "WhatsApp takes the digits without +"
        );
        assert_eq!(r.text_body, None);
        let t = r.messaging_template.unwrap();
        assert_eq!(t.response_id, "r-1");
        assert_eq!(
            t.parameters,
            vec![TemplateParameter {
                id: "name".into(),
                value: "J.".into()
            }]
        );
        assert_eq!(r.use_existing_active_conversation, Some(true));

        let r = resolve(
            &m,
            &job(json!({"sender": "sms", "text": "Free text", "toAddress": "+442071838750"})),
            None,
            "",
        )
        .unwrap();
        assert_eq!(r.text_body.as_deref(), Some("Free text"));
    }

    #[test]
    fn every_refusal_names_its_field_before_any_call() {
        let m = messaging();
        let long = "é".repeat(766);
        let rows: Vec<(serde_json::Value, Option<Customer>, &str, &str)> = vec![
            (
                json!({"template": "nope", "toAddress": "+15551230001"}),
                None,
                "payload.template",
                "missed, remind, solved",
            ),
            (
                json!({"sender": "fax", "text": "x", "toAddress": "+15551230001"}),
                None,
                "payload.sender",
                "there is no \"fax\"",
            ),
            (
                json!({"sender": "wa", "text": "x", "toAddress": "15551230001"}),
                None,
                "payload.template",
                "approved templates only",
            ),
            (
                json!({"sender": "sms", "text": long, "toAddress": "+15551230001"}),
                None,
                "payload.text",
                "at most 765",
            ),
            (
                json!({"sender": "sms", "text": " \n ", "toAddress": "+15551230001"}),
                None,
                "payload.text",
                "empty",
            ),
            (
                json!({"template": "remind", "toAddress": "+15551230001"}),
                None,
                "payload.parameters.date",
                "{{date}}",
            ),
            (
                json!({"template": "remind", "toAddress": "+15551230001", "parameters": {"date": "x".repeat(800)}}),
                None,
                "payload.template",
                "at most 765",
            ),
            (
                json!({"template": "remind", "toAddress": "555-0100", "parameters": {"date": "Mon"}}),
                None,
                "payload.toAddress",
                "E.164",
            ),
            (
                json!({"template": "solved", "toAddress": "0044 20", "parameters": {"customerName": "J"}}),
                None,
                "payload.toAddress",
                "WhatsApp",
            ),
            (
                json!({"template": "missed", "conversationId": CONV}),
                Some(Customer {
                    address: None,
                    ..jane()
                }),
                "payload.conversationId",
                "no customer with an address",
            ),
            (
                json!({"template": "missed", "conversationId": CONV}),
                Some(Customer {
                    address: Some("sip:agent@pbx".into()),
                    ..jane()
                }),
                "payload.conversationId",
                "the customer's address",
            ),
        ];
        for (j, customer, field, part) in rows {
            let e = resolve(&m, &job(j.clone()), customer.as_ref(), "payload.").unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{j}: {e}");
            assert!(e.to_string().contains(part), "{j}: {e} lacks {part:?}");
            assert!(
                !e.to_string().contains("1230001"),
                "no phone number in errors: {e}"
            );
        }
        let none = Messaging::default();
        let e = resolve(
            &none,
            &job(json!({"template": "missed", "toAddress": "+1"})),
            None,
            "",
        )
        .unwrap_err();
        assert!(e.to_string().contains("the org has none configured"), "{e}");
    }

    #[test]
    fn the_customer_is_the_customer_participant() {
        let p = |purpose: &str, address: Option<&str>| Participant {
            id: "p".into(),
            purpose: Some(purpose.into()),
            name: Some(purpose.into()),
            address: address.map(str::to_string),
            user_id: None,
            queue_id: None,
            end_time: None,
            attributes: Default::default(),
        };
        let conv = Conversation {
            id: CONV.into(),
            start_time: None,
            end_time: None,
            participants: vec![
                p("agent", Some("+15550000100")),
                p("customer", None),
                p("customer", Some("tel:+15551230001")),
            ],
        };
        let c = customer_of(&conv);
        assert_eq!(c.address.as_deref(), Some("tel:+15551230001"));
        assert_eq!(
            customer_of(&Conversation {
                participants: vec![p("agent", Some("+1"))],
                ..conv
            })
            .address,
            None
        );
        let m = messaging();
        let needs = |v| needs_conversation(&m, &job(v));
        assert!(
            needs(json!({"template": "remind", "conversationId": CONV})),
            "for the recipient"
        );
        assert!(
            needs(json!({"template": "missed", "conversationId": CONV, "toAddress": "+1"})),
            "for the name"
        );
        assert!(!needs(
            json!({"template": "missed", "conversationId": CONV, "toAddress": "+1",
                              "parameters": {"customerName": "J"}})
        ));
        assert!(!needs(
            json!({"template": "remind", "conversationId": CONV, "toAddress": "+1"})
        ));
        assert!(!needs(
            json!({"sender": "sms", "text": "t", "conversationId": CONV, "toAddress": "+1"})
        ));
        assert!(!needs(json!({"template": "missed", "toAddress": "+1"})));
        assert!(needs(
            json!({"template": "solved", "conversationId": CONV, "toAddress": "+1"})
        ));
    }

    #[test]
    fn claim_keys() {
        let m = job(json!({"template": "t", "toAddress": "+1"}));
        assert_eq!(claim_key("o", &m, "evt:0"), "o#agentless:evt:0");
        let keyed = job(
            json!({"template": "t", "toAddress": "+1", "idempotencyKey": "rule:t:c", "resend": 2}),
        );
        assert_eq!(
            claim_key("o", &keyed, "evt:0"),
            "o#agentless:rule:t:c#resend-2"
        );
    }

    #[test]
    fn never_twice_before_the_send() {
        const NOW: u64 = 1_800_000_000_000;
        let rec = |status, until: Option<u64>, outcome: Option<Recorded>| IdempotencyRecord {
            status,
            expiration: NOW / 1000 + 60,
            in_progress_expiration: until,
            outcome: outcome.map(|o| o.to_json()),
            owner: None,
        };
        let sent = Recorded::Sent {
            message_id: Some("m".into()),
            conversation_id: Some("c".into()),
        };
        let maybe = |dead_lettered| Recorded::MayHaveBeenSent {
            error_type: "Genesys.MayHaveBeenSent".into(),
            correlation_id: None,
            dead_lettered,
        };
        let expired = IdempotencyRecord {
            expiration: NOW / 1000 - 1,
            ..rec(RecordStatus::Completed, None, Some(sent.clone()))
        };
        let rows: Vec<(&str, Option<IdempotencyRecord>, BeforeSend)> = vec![
            ("no record", None, BeforeSend::Claim),
            (
                "an expired record counts as none",
                Some(expired),
                BeforeSend::Claim,
            ),
            (
                "sent",
                Some(rec(RecordStatus::Completed, None, Some(sent))),
                BeforeSend::AlreadySent {
                    message_id: Some("m".into()),
                    conversation_id: Some("c".into()),
                },
            ),
            (
                "completed without an outcome",
                Some(rec(RecordStatus::Completed, None, None)),
                BeforeSend::AlreadySent {
                    message_id: None,
                    conversation_id: None,
                },
            ),
            (
                "ambiguous, not yet dead-lettered",
                Some(rec(RecordStatus::Completed, None, Some(maybe(false)))),
                BeforeSend::MayHaveBeenSent {
                    dead_lettered: false,
                },
            ),
            (
                "ambiguous, dead-lettered",
                Some(rec(RecordStatus::Completed, None, Some(maybe(true)))),
                BeforeSend::MayHaveBeenSent {
                    dead_lettered: true,
                },
            ),
            (
                "claimed by a running invocation",
                Some(rec(RecordStatus::InProgress, Some(NOW + 1), None)),
                BeforeSend::InProgress,
            ),
            (
                "claimed by an invocation that stopped",
                Some(rec(RecordStatus::InProgress, Some(NOW - 1), None)),
                BeforeSend::MayHaveBeenSent {
                    dead_lettered: false,
                },
            ),
        ];
        for (name, record, want) in rows {
            assert_eq!(before_send(record.as_ref(), NOW), want, "{name}");
        }
    }

    #[test]
    fn never_twice_after_the_send() {
        let upstream = |kind, status: Option<u16>, sent: bool| {
            let mut e = BridgeError::upstream(Upstream::Genesys, kind, "x");
            e.status = status;
            e.may_have_been_sent = sent;
            e
        };
        let ok = AgentlessSent {
            message_id: Some("m".into()),
            conversation_id: None,
            status: 202,
            correlation_id: None,
        };
        assert_eq!(after_send(Ok(ok.clone())), AfterSend::Sent(ok));
        for (name, e) in [
            (
                "timeout after sending",
                upstream(ErrorKind::Transport, None, true),
            ),
            (
                "connection lost",
                upstream(ErrorKind::Transport, None, true),
            ),
            ("5xx", upstream(ErrorKind::ServerError, Some(503), true)),
        ] {
            match after_send(Err(e)) {
                AfterSend::MayHaveBeenSent(e) => {
                    assert_eq!(e.error_type(), "Genesys.MayHaveBeenSent", "{name}");
                    assert!(!e.retryable(), "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        for (name, e, retryable) in [
            (
                "connect error",
                upstream(ErrorKind::Transport, None, false),
                true,
            ),
            (
                "429 past the deadline",
                upstream(ErrorKind::RateLimited, Some(429), false),
                true,
            ),
            (
                "403",
                upstream(ErrorKind::MissingPermission, Some(403), false),
                false,
            ),
            (
                "400 active conversation",
                upstream(ErrorKind::InvalidRequest, Some(400), false),
                false,
            ),
            (
                "501",
                upstream(ErrorKind::ServerError, Some(501), false),
                false,
            ),
        ] {
            match after_send(Err(e)) {
                AfterSend::NotSent(e) => assert_eq!(e.retryable(), retryable, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
