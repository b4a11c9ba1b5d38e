//! The org config's `messaging` section: who sends agentless messages for the org (SMS
//! numbers, WhatsApp integrations), what they send (templates), and which events send
//! them (rules). Validated like the rest of the config: unknown fields are refused and
//! every error names the field.
//!
//! Templates use the bridge's own placeholder syntax, `{{name}}` (letters, digits, `_`,
//! `.`, `-`; no spaces), filled from the message's `parameters` and, for rules, from the
//! conversation (`conversationId`, `customerName`). It is not Architect's `${...}` and not
//! a Genesys feature: the bridge fills the text before it sends it. A `{{` always opens a
//! placeholder; a text cannot contain a literal `{{`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{BridgeError, Result};
use crate::input::{preview, PREVIEW_CHARS};

/// Longest SMS text Genesys takes (upstream-facts: Messaging).
pub const SMS_TEXT_LIMIT: usize = 765;
/// Longest text of the other messenger types (upstream-facts: Messaging).
pub const OTHER_TEXT_LIMIT: usize = 2000;

/// The topics a rule may name: the ones an org stack's EventBridge rule forwards
/// (infra/org.yaml), as the suffix of `v2.detail.events.conversation.{id}.<topic>`.
pub const RULE_TOPICS: [&str; 3] = ["customer.start", "acw", "wrapup"];

/// Placeholders filled from the conversation when a rule sends a message.
pub const CONVERSATION_PLACEHOLDERS: [&str; 2] = ["conversationId", "customerName"];

/// The `toAddressMessengerType` values the bridge sends: the two upstream-facts documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessengerType {
    Sms,
    WhatsApp,
}

impl MessengerType {
    /// The API's value.
    pub fn as_str(self) -> &'static str {
        match self {
            MessengerType::Sms => "sms",
            MessengerType::WhatsApp => "whatsapp",
        }
    }

    /// Longest text body, in characters.
    pub fn text_limit(self) -> usize {
        match self {
            MessengerType::Sms => SMS_TEXT_LIMIT,
            MessengerType::WhatsApp => OTHER_TEXT_LIMIT,
        }
    }
}

/// Who a message comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// An SMS number provisioned in the org, E.164.
    Sms { number: String },
    /// The id of the org's WhatsApp integration.
    WhatsApp { integration_id: String },
}

impl Sender {
    pub fn messenger_type(&self) -> MessengerType {
        match self {
            Sender::Sms { .. } => MessengerType::Sms,
            Sender::WhatsApp { .. } => MessengerType::WhatsApp,
        }
    }

    /// The request's `fromAddress`.
    pub fn from_address(&self) -> &str {
        match self {
            Sender::Sms { number } => number,
            Sender::WhatsApp { integration_id } => integration_id,
        }
    }

    /// In words, for messages: "SMS number +15550000100".
    pub fn describe(&self) -> String {
        match self {
            Sender::Sms { number } => format!("SMS number {number}"),
            Sender::WhatsApp { integration_id } => format!("WhatsApp integration {integration_id}"),
        }
    }
}

/// What a template sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateBody {
    /// Text with `{{placeholders}}` (SMS).
    Text(String),
    /// An approved WhatsApp template: the Response Management response id, and its
    /// parameters (id -> value with `{{placeholders}}`).
    WhatsApp {
        response_id: String,
        parameters: BTreeMap<String, String>,
    },
}

/// A named message of the org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// A name of [`Messaging::senders`].
    pub sender: String,
    pub body: TemplateBody,
}

/// What makes a rule send its template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleTrigger {
    /// An ACW or wrap-up event carrying this wrap-up code (as the event carries it).
    WrapupCode(String),
    /// Every event of this topic (one of [`RULE_TOPICS`]).
    Topic(String),
}

/// "When this happens in a conversation, send that template to its customer."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRule {
    pub on: RuleTrigger,
    /// A name of [`Messaging::templates`].
    pub template: String,
}

/// The validated `messaging` section; empty when the org has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Messaging {
    pub senders: BTreeMap<String, Sender>,
    pub templates: BTreeMap<String, Template>,
    pub rules: Vec<MessageRule>,
    /// Default of the request's `useExistingActiveConversation` (false): when true, a
    /// message to a customer who is already in a conversation goes into it, and a bot in
    /// that conversation reads it as if the customer had sent it.
    pub use_existing_active_conversation: bool,
}

impl Messaging {
    /// The rules an event of `topic` (a [`RULE_TOPICS`] suffix) with `wrapup_code` fires,
    /// in config order.
    pub fn rules_for<'a>(
        &'a self,
        topic: &'a str,
        wrapup_code: Option<&'a str>,
    ) -> impl Iterator<Item = &'a MessageRule> + 'a {
        self.rules.iter().filter(move |r| match &r.on {
            RuleTrigger::Topic(t) => t == topic,
            RuleTrigger::WrapupCode(c) => {
                matches!(topic, "acw" | "wrapup") && wrapup_code == Some(c.as_str())
            }
        })
    }

    pub fn to_json(&self) -> Value {
        let senders: serde_json::Map<String, Value> = self
            .senders
            .iter()
            .map(|(name, s)| {
                let v = match s {
                    Sender::Sms { number } => json!({"type": "sms", "address": number}),
                    Sender::WhatsApp { integration_id } => {
                        json!({"type": "whatsapp", "integrationId": integration_id})
                    }
                };
                (name.clone(), v)
            })
            .collect();
        let templates: serde_json::Map<String, Value> = self
            .templates
            .iter()
            .map(|(name, t)| {
                let v = match &t.body {
                    TemplateBody::Text(text) => json!({"sender": t.sender, "text": text}),
                    TemplateBody::WhatsApp {
                        response_id,
                        parameters,
                    } => json!({"sender": t.sender, "whatsapp": {"responseId": response_id, "parameters": parameters}}),
                };
                (name.clone(), v)
            })
            .collect();
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| match &r.on {
                RuleTrigger::WrapupCode(c) => json!({"wrapupCode": c, "template": r.template}),
                RuleTrigger::Topic(t) => json!({"topic": t, "template": r.template}),
            })
            .collect();
        json!({
            "senders": senders,
            "templates": templates,
            "rules": rules,
            "useExistingActiveConversation": self.use_existing_active_conversation,
        })
    }
}

// ---- placeholders -------------------------------------------------------------------------

/// A piece of a template text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Literal(&'a str),
    Placeholder(&'a str),
}

/// Splits `text` into literals and `{{placeholders}}`; an unclosed `{{` or a name that is
/// not letters, digits, `_`, `.` or `-` is an error saying which.
pub fn pieces(text: &str) -> std::result::Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Literal(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err("a `{{` is never closed with `}}`".into());
        };
        let name = &after[..close];
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            // The text is not quoted: a config error names fields, never values.
            return Err(format!(
                "a `{{{{…}}}}` of {} character(s) is not a placeholder: names are 1 to 64 letters, digits, `_`, `.` or `-`",
                name.chars().count()
            ));
        }
        out.push(Piece::Placeholder(name));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest));
    }
    Ok(out)
}

/// `text` with every placeholder replaced from `values` (one pass: a value is never read
/// as a template). `Err(name)` names the first placeholder without a value.
pub fn fill(
    text: &str,
    values: &BTreeMap<String, String>,
) -> std::result::Result<String, FillError> {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text).map_err(FillError::Syntax)? {
        match piece {
            Piece::Literal(l) => out.push_str(l),
            Piece::Placeholder(name) => match values.get(name) {
                Some(v) => out.push_str(v),
                None => return Err(FillError::Missing(name.to_string())),
            },
        }
    }
    Ok(out)
}

/// Why [`fill`] could not fill a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FillError {
    /// The text itself is malformed (only texts that bypassed validation).
    Syntax(String),
    /// No value for this placeholder.
    Missing(String),
}

/// Characters of `text` outside its placeholders (what a filled text has at least).
fn literal_chars(text: &str) -> usize {
    pieces(text)
        .unwrap_or_default()
        .iter()
        .map(|p| match p {
            Piece::Literal(l) => l.chars().count(),
            Piece::Placeholder(_) => 0,
        })
        .sum()
}

// ---- E.164 --------------------------------------------------------------------------------

/// Whether `s` is an E.164 number: `+`, a country code starting 1-9, up to 15 digits in all.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// What an E.164 field expects, without quoting what was sent (a phone number is
/// customer data).
pub fn e164_expectation(got: &str) -> String {
    format!(
        "expected an E.164 number like +13175555555 (a +, the country code, then the number; digits only, at most 15); got {} character(s) that are not",
        got.chars().count()
    )
}

// ---- raw serde shapes and validation --------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawMessaging {
    #[serde(default)]
    senders: BTreeMap<String, RawSender>,
    #[serde(default)]
    templates: BTreeMap<String, RawTemplate>,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    use_existing_active_conversation: bool,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
enum RawSender {
    #[serde(rename = "sms")]
    Sms { address: String },
    #[serde(rename = "whatsapp", rename_all = "camelCase")]
    WhatsApp { integration_id: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawTemplate {
    sender: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    whatsapp: Option<RawWhatsAppTemplate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawWhatsAppTemplate {
    response_id: String,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    wrapup_code: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    template: String,
}

/// A name of a sender or template: what callers and rules refer to it by.
fn check_name(field: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(BridgeError::config(
            field,
            "expected a name of 1 to 64 letters, digits, `_`, `.` or `-`",
        ))
    }
}

pub(super) fn validate(raw: RawMessaging) -> Result<Messaging> {
    let mut senders = BTreeMap::new();
    for (name, s) in raw.senders {
        let at = format!("messaging.senders.{}", preview(&name, PREVIEW_CHARS));
        check_name(&at, &name)?;
        senders.insert(name, validate_sender(&at, s)?);
    }
    let mut templates = BTreeMap::new();
    for (name, t) in raw.templates {
        let at = format!("messaging.templates.{}", preview(&name, PREVIEW_CHARS));
        check_name(&at, &name)?;
        let template = validate_template(&at, t, &senders)?;
        templates.insert(name, template);
    }
    let rules = raw
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| validate_rule(&format!("messaging.rules[{i}]"), r, &templates))
        .collect::<Result<Vec<_>>>()?;
    Ok(Messaging {
        senders,
        templates,
        rules,
        use_existing_active_conversation: raw.use_existing_active_conversation,
    })
}

fn validate_sender(at: &str, s: RawSender) -> Result<Sender> {
    match s {
        RawSender::Sms { address } => {
            let number = address.trim().to_string();
            if !is_e164(&number) {
                return Err(BridgeError::config(
                    format!("{at}.address"),
                    "expected the org's provisioned SMS number in E.164, like +13175555555 (a +, the country code, then the number; digits only, at most 15)",
                ));
            }
            Ok(Sender::Sms { number })
        }
        RawSender::WhatsApp { integration_id } => Ok(Sender::WhatsApp {
            integration_id: super::validate_uuid(&format!("{at}.integrationId"), &integration_id)
                .map_err(|mut e| {
                    e.hint = Some("the id of the org's WhatsApp integration (Admin > Message > Platforms, or GET /api/v2/conversations/messaging/integrations/whatsapp)".into());
                    e
                })?,
        }),
    }
}

fn validate_rule(
    at: &str,
    r: RawRule,
    templates: &BTreeMap<String, Template>,
) -> Result<MessageRule> {
    let on = match (r.wrapup_code, r.topic) {
        (Some(code), None) if !code.trim().is_empty() => {
            RuleTrigger::WrapupCode(code.trim().to_string())
        }
        (None, Some(topic)) if RULE_TOPICS.contains(&topic.as_str()) => RuleTrigger::Topic(topic),
        (None, Some(_)) => {
            return Err(BridgeError::config(
                format!("{at}.topic"),
                format!(
                    "expected one of the topics the org's EventBridge rule forwards: {}",
                    RULE_TOPICS.join(", ")
                ),
            ))
        }
        _ => {
            return Err(BridgeError::config(
                at,
                "expected exactly one of `wrapupCode` (an ACW or wrap-up event with this code) and `topic` (every event of the topic)",
            ))
        }
    };
    if !templates.contains_key(&r.template) {
        return Err(BridgeError::config(
            format!("{at}.template"),
            "expected the name of a template of messaging.templates; it names none",
        ));
    }
    Ok(MessageRule {
        on,
        template: r.template,
    })
}

fn validate_template(
    at: &str,
    t: RawTemplate,
    senders: &BTreeMap<String, Sender>,
) -> Result<Template> {
    let Some(sender) = senders.get(&t.sender) else {
        return Err(BridgeError::config(
            format!("{at}.sender"),
            "expected the name of a sender of messaging.senders; it names none",
        ));
    };
    let kind = sender.messenger_type();
    let body = match (t.text, t.whatsapp, kind) {
        (Some(text), None, MessengerType::Sms) => {
            check_template_text(&format!("{at}.text"), &text, kind)?;
            TemplateBody::Text(text)
        }
        (Some(_), None, MessengerType::WhatsApp) => {
            return Err(BridgeError::config(
                format!("{at}.text"),
                "a WhatsApp sender sends approved templates only: give `whatsapp: {\"responseId\", \"parameters\"}` instead of `text`",
            ))
        }
        (None, Some(w), MessengerType::WhatsApp) => {
            let field = format!("{at}.whatsapp.responseId");
            if w.response_id.trim().is_empty() {
                return Err(BridgeError::config(
                    field,
                    "expected the Response Management response id of the approved WhatsApp template",
                ));
            }
            for (id, value) in &w.parameters {
                let field = format!("{at}.whatsapp.parameters.{}", preview(id, PREVIEW_CHARS));
                if id.trim().is_empty() {
                    return Err(BridgeError::config(field, "expected a parameter id"));
                }
                pieces(value).map_err(|e| BridgeError::config(&field, e))?;
            }
            TemplateBody::WhatsApp {
                response_id: w.response_id.trim().to_string(),
                parameters: w.parameters,
            }
        }
        (None, Some(_), MessengerType::Sms) => {
            return Err(BridgeError::config(
                format!("{at}.whatsapp"),
                "the template's sender is an SMS number; a WhatsApp template needs a WhatsApp sender",
            ))
        }
        _ => {
            return Err(BridgeError::config(
                at,
                "expected exactly one of `text` (SMS) and `whatsapp` (an approved WhatsApp template)",
            ))
        }
    };
    Ok(Template {
        sender: t.sender,
        body,
    })
}

/// A template's text: not empty, well-formed placeholders, within `kind`'s limit without
/// them.
fn check_template_text(field: &str, text: &str, kind: MessengerType) -> Result<()> {
    if text.trim().is_empty() {
        return Err(BridgeError::config(
            field,
            "expected the message text; it is empty",
        ));
    }
    pieces(text).map_err(|e| BridgeError::config(field, e))?;
    let fixed = literal_chars(text);
    if fixed > kind.text_limit() {
        return Err(BridgeError::config(
            field,
            format!(
                "expected at most {} characters for {} (Genesys' limit); the text has {fixed} without its placeholders",
                kind.text_limit(),
                kind.as_str()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<Messaging> {
        let raw: RawMessaging = serde_json::from_value(v)
            .map_err(|e| BridgeError::config("messaging", e.to_string()))?;
        validate(raw)
    }

    fn sample() -> Value {
        json!({
            "senders": {
                "support-sms": {"type": "sms", "address": "+15550000100"},
                "support-whatsapp": {"type": "whatsapp", "integrationId": "3A0A0001-0000-4000-8000-000000000000"}
            },
            "templates": {
                "missed-call": {"sender": "support-sms", "text": "Sorry we missed your call, {{customerName}}."},
                "solved": {"sender": "support-whatsapp", "whatsapp": {"responseId": "r-1", "parameters": {"name": "{{customerName}}"}}}
            },
            "rules": [
                {"wrapupCode": "w-missed", "template": "missed-call"},
                {"topic": "acw", "template": "solved"}
            ]
        })
    }

    #[test]
    fn parses_and_round_trips() {
        let m = parse(sample()).unwrap();
        assert_eq!(
            m.senders["support-whatsapp"],
            Sender::WhatsApp {
                integration_id: "3a0a0001-0000-4000-8000-000000000000".into()
            }
        );
        assert_eq!(
            m.senders["support-sms"].messenger_type(),
            MessengerType::Sms
        );
        assert!(!m.use_existing_active_conversation);
        assert_eq!(parse(m.to_json()).unwrap(), m);
        let fired: Vec<&str> = m
            .rules_for("acw", Some("w-missed"))
            .map(|r| r.template.as_str())
            .collect();
        assert_eq!(fired, vec!["missed-call", "solved"]);
        assert_eq!(m.rules_for("wrapup", Some("other")).count(), 0);
        assert_eq!(
            m.rules_for("customer.start", Some("w-missed")).count(),
            0,
            "a wrap-up code only fires on acw and wrapup"
        );
    }

    #[test]
    fn validation_names_the_field() {
        type Mutation = fn(&mut Value);
        let rows: Vec<(&str, Mutation)> = vec![
            ("messaging.senders.support-sms.address", |v| {
                v["senders"]["support-sms"]["address"] = json!("555-0100")
            }),
            ("messaging.senders.support-whatsapp.integrationId", |v| {
                v["senders"]["support-whatsapp"]["integrationId"] = json!("wa-1")
            }),
            ("messaging.senders.bad name", |v| {
                v["senders"]["bad name"] = json!({"type": "sms", "address": "+15550000100"})
            }),
            ("unknown variant", |v| {
                v["senders"]["x"] = json!({"type": "fax", "address": "+15550000100"})
            }),
            ("adress", |v| {
                v["senders"]["x"] = json!({"type": "sms", "adress": "+15550000100"})
            }),
            ("messaging.templates.missed-call.sender", |v| {
                v["templates"]["missed-call"]["sender"] = json!("nobody")
            }),
            ("messaging.templates.missed-call.text", |v| {
                v["templates"]["missed-call"]["text"] = json!("  ")
            }),
            ("messaging.templates.missed-call.text", |v| {
                v["templates"]["missed-call"]["text"] = json!("Hi {{name")
            }),
            ("messaging.templates.missed-call.text", |v| {
                v["templates"]["missed-call"]["text"] = json!("Hi {{first name}}")
            }),
            ("messaging.templates.missed-call.text", |v| {
                v["templates"]["missed-call"]["text"] = json!("x".repeat(766))
            }),
            ("messaging.templates.wa-text.text", |v| {
                v["templates"]["wa-text"] = json!({"sender": "support-whatsapp", "text": "hi"})
            }),
            ("messaging.templates.sms-wa.whatsapp", |v| {
                v["templates"]["sms-wa"] =
                    json!({"sender": "support-sms", "whatsapp": {"responseId": "r"}})
            }),
            ("messaging.templates.both", |v| {
                v["templates"]["both"] = json!({"sender": "support-sms"})
            }),
            ("messaging.templates.solved.whatsapp.responseId", |v| {
                v["templates"]["solved"]["whatsapp"]["responseId"] = json!("")
            }),
            ("messaging.templates.solved.whatsapp.parameters.name", |v| {
                v["templates"]["solved"]["whatsapp"]["parameters"]["name"] = json!("{{}}")
            }),
            ("messaging.rules[0].template", |v| {
                v["rules"][0]["template"] = json!("nope")
            }),
            ("messaging.rules[1].topic", |v| {
                v["rules"][1]["topic"] = json!("customer.end")
            }),
            ("messaging.rules[0]", |v| {
                v["rules"][0]["topic"] = json!("acw")
            }),
            ("messaging.rules[0]", |v| {
                v["rules"][0] = json!({"template": "solved"})
            }),
        ];
        for (field, mutate) in rows {
            let mut v = sample();
            mutate(&mut v);
            let e = parse(v).expect_err(field);
            assert!(e.to_string().contains(field), "{field}: {e}");
            assert_eq!(e.error_type(), "Config.InvalidConfig");
        }
        // The SMS text limit counts the literal text only: placeholders are filled later.
        let mut v = sample();
        v["templates"]["missed-call"]["text"] =
            json!(format!("{}{{{{customerName}}}}", "x".repeat(765)));
        assert!(parse(v).is_ok());
    }

    #[test]
    fn placeholders_fill_once() {
        let values: BTreeMap<String, String> = [
            ("customerName".to_string(), "Jane {{x}}".to_string()),
            ("n".to_string(), "2".to_string()),
        ]
        .into();
        assert_eq!(
            fill("Hi {{customerName}}, {{n}} left", &values).unwrap(),
            "Hi Jane {{x}}, 2 left",
            "a value is not read as a template"
        );
        assert_eq!(fill("no placeholders", &values).unwrap(), "no placeholders");
        assert_eq!(
            fill("{{missing}}", &values),
            Err(FillError::Missing("missing".into()))
        );
        assert!(matches!(fill("{{", &values), Err(FillError::Syntax(_))));
        assert_eq!(
            pieces("a{{b}}c").unwrap(),
            vec![
                Piece::Literal("a"),
                Piece::Placeholder("b"),
                Piece::Literal("c")
            ]
        );
    }

    #[test]
    fn e164_table() {
        for (s, ok) in [
            ("+13175555555", true),
            ("+34234234234", true),
            ("+442071838750", true),
            ("+1", false),
            ("13175555555", false),
            ("+03175555555", false),
            ("+1 317 555 5555", false),
            ("+1317555555512345", false),
            ("+1317-555-5555", false),
            ("", false),
        ] {
            assert_eq!(is_e164(s), ok, "{s:?}");
        }
        let said = e164_expectation("+1 212 555 0199");
        assert!(!said.contains("0199"), "never echoes the number: {said}");
    }
}
