//! Per-org configuration: one JSON document per Genesys org, kept as one secret.
//!
//! Parsing is two steps: serde reads the camelCase JSON (unknown fields are errors, so a
//! typo is caught, not ignored), then [`OrgConfig::validate`] checks meaning and names the
//! field at fault. Secret values are [`SecretString`] from the moment they are read, so no
//! `Debug` print of a config can leak one.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{BridgeError, Result};
use crate::region::Region;

mod messaging;

pub use messaging::{
    e164_expectation, fill, is_e164, pieces, FillError, MessageRule, Messaging, MessengerType,
    Piece, RuleTrigger, Sender, Template, TemplateBody, CONVERSATION_PLACEHOLDERS,
    OTHER_TEXT_LIMIT, RULE_TOPICS, SMS_TEXT_LIMIT,
};

/// Zendesk ticket statuses (custom statuses are out of scope for now).
pub const TICKET_STATUSES: [&str; 6] = ["new", "open", "pending", "hold", "solved", "closed"];

/// The validated config of one Genesys org.
#[derive(Debug)]
pub struct OrgConfig {
    pub org_id: String,
    /// Display name, for messages only.
    pub name: Option<String>,
    pub genesys: GenesysConfig,
    pub zendesk: Option<ZendeskConfig>,
    pub webhook: WebhookConfig,
    pub rules: Rules,
    /// Agentless messages (senders, templates, rules); empty when the org has none.
    pub messaging: Messaging,
}

#[derive(Debug)]
pub struct GenesysConfig {
    pub region: Region,
    /// `https://api.<domain>` unless overridden (tests, sandbox, sovereign clouds).
    pub api_base_url: String,
    /// `https://login.<domain>` unless overridden.
    pub login_base_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
}

#[derive(Debug)]
pub struct ZendeskConfig {
    pub subdomain: String,
    /// `https://<subdomain>.zendesk.com` unless overridden.
    pub base_url: String,
    pub auth: ZendeskAuth,
}

#[derive(Debug)]
pub enum ZendeskAuth {
    /// `Authorization: Basic base64("{email}/token:{api_token}")`.
    ApiToken {
        email: String,
        api_token: SecretString,
    },
    /// `Authorization: Bearer <access token>`.
    OAuth { access_token: SecretString },
}

impl ZendeskAuth {
    /// How the credential is formed, without the secret: for error messages.
    pub fn describe(&self) -> String {
        match self {
            ZendeskAuth::ApiToken { email, .. } => {
                format!("Zendesk API token for {email} (Basic auth as \"{email}/token\")")
            }
            ZendeskAuth::OAuth { .. } => "Zendesk OAuth access token (Bearer)".to_string(),
        }
    }
}

pub struct WebhookConfig {
    /// Sent by Genesys Web Services data actions as `Authorization: Bearer <secret>`, and the
    /// HMAC key for signed posts from backends.
    pub shared_secret: SecretString,
    /// SHA-256 of `shared_secret`, computed once when the config is read (bearers are
    /// compared through it, per request).
    shared_secret_sha256: [u8; 32],
}

impl WebhookConfig {
    fn new(shared_secret: SecretString) -> WebhookConfig {
        use sha2::{Digest, Sha256};
        let shared_secret_sha256 = Sha256::digest(shared_secret.expose_secret().as_bytes()).into();
        WebhookConfig {
            shared_secret,
            shared_secret_sha256,
        }
    }

    /// SHA-256 of the shared secret.
    pub fn shared_secret_sha256(&self) -> &[u8; 32] {
        &self.shared_secret_sha256
    }
}

// Not derived: the digest of a secret is not printed either.
impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("shared_secret", &self.shared_secret)
            .finish()
    }
}

/// What the functions do for this org.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Participant attribute that holds the Zendesk ticket id.
    pub ticket_id_attribute: String,
    /// Wrap-up code (id or name, as the event carries it) -> Zendesk status.
    pub wrapup_status: BTreeMap<String, String>,
    /// Status for wrap-up events that carry no wrap-up code at all. Codes that are present
    /// but unmapped always leave the ticket alone.
    pub default_wrapup_status: Option<String>,
    pub enrichment: Enrichment,
    pub closed_ticket: ClosedTicketPolicy,
    pub attribute_limits: AttributeLimits,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Enrichment {
    pub enabled: bool,
    /// Attribute names to write; `None` skips that value.
    pub user_id_attribute: Option<String>,
    pub user_name_attribute: Option<String>,
    pub open_ticket_attribute: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedTicketPolicy {
    /// Report "closed tickets cannot change" and stop.
    Report,
    /// Create a follow-up ticket (`via_followup_source_id`) carrying the note.
    FollowUp,
}

/// Limits on attribute writes. Genesys documents none outside bot flows (256 chars there),
/// so these are ours, configurable per org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeLimits {
    pub max_keys: usize,
    pub max_key_chars: usize,
    pub max_value_chars: usize,
}

/// The first limit of [`AttributeLimits`] that a write breaks, and where: each caller words
/// its own message (and names its own field) from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeViolation<'a> {
    /// No attribute at all.
    Empty,
    /// `count` attributes, more than `max_keys`.
    TooManyKeys { count: usize },
    /// An empty or blank attribute name.
    BlankKey { key: &'a str },
    /// A name holding a control character (NUL, a line break, a tab, DEL, C1): names are
    /// identifiers shown in Architect and in logs. Values may hold line breaks and tabs.
    ControlCharacter { key: &'a str },
    /// A name of `chars` characters, more than `max_key_chars`.
    KeyTooLong { key: &'a str, chars: usize },
    /// A value of `chars` characters, more than `max_value_chars`.
    ValueTooLong { key: &'a str, chars: usize },
}

impl AttributeLimits {
    /// `count` attributes in one write: none at all, or more than `max_keys`.
    pub fn count_violation(&self, count: usize) -> Option<AttributeViolation<'static>> {
        if count == 0 {
            Some(AttributeViolation::Empty)
        } else if count > self.max_keys {
            Some(AttributeViolation::TooManyKeys { count })
        } else {
            None
        }
    }

    /// An attribute name that is blank, holds a control character, or is longer than
    /// `max_key_chars` characters.
    pub fn key_violation<'a>(&self, key: &'a str) -> Option<AttributeViolation<'a>> {
        if key.trim().is_empty() {
            return Some(AttributeViolation::BlankKey { key });
        }
        if key.chars().any(char::is_control) {
            return Some(AttributeViolation::ControlCharacter { key });
        }
        let chars = key.chars().count();
        (chars > self.max_key_chars).then_some(AttributeViolation::KeyTooLong { key, chars })
    }

    /// A value (of attribute `key`) longer than `max_value_chars` characters.
    pub fn value_violation<'a>(&self, key: &'a str, value: &str) -> Option<AttributeViolation<'a>> {
        let chars = value.chars().count();
        (chars > self.max_value_chars).then_some(AttributeViolation::ValueTooLong { key, chars })
    }

    /// The first violation of a whole set: the count, then per attribute (in order) its
    /// name, then its value.
    pub fn violation<'a>(
        &self,
        attributes: &'a BTreeMap<String, String>,
    ) -> Option<AttributeViolation<'a>> {
        self.count_violation(attributes.len()).or_else(|| {
            attributes
                .iter()
                .find_map(|(k, v)| self.key_violation(k).or_else(|| self.value_violation(k, v)))
        })
    }
}

impl Default for AttributeLimits {
    fn default() -> Self {
        AttributeLimits {
            max_keys: 50,
            max_key_chars: 128,
            max_value_chars: 2000,
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            ticket_id_attribute: "zendesk_ticket_id".into(),
            wrapup_status: BTreeMap::new(),
            default_wrapup_status: None,
            enrichment: Enrichment {
                enabled: false,
                user_id_attribute: Some("zendesk_user_id".into()),
                user_name_attribute: Some("zendesk_user_name".into()),
                open_ticket_attribute: Some("zendesk_ticket_id".into()),
            },
            closed_ticket: ClosedTicketPolicy::Report,
            attribute_limits: AttributeLimits::default(),
        }
    }
}

// ---- raw serde shapes -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawOrg {
    org_id: String,
    #[serde(default)]
    name: Option<String>,
    genesys: RawGenesys,
    #[serde(default)]
    zendesk: Option<RawZendesk>,
    webhook: RawWebhook,
    #[serde(default)]
    rules: Option<RawRules>,
    #[serde(default)]
    messaging: Option<messaging::RawMessaging>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGenesys {
    region: String,
    #[serde(default)]
    api_base_url: Option<String>,
    #[serde(default)]
    login_base_url: Option<String>,
    client_id: String,
    client_secret: SecretString,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawZendesk {
    subdomain: String,
    #[serde(default)]
    base_url: Option<String>,
    auth: RawZendeskAuth,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
enum RawZendeskAuth {
    #[serde(rename_all = "camelCase")]
    ApiToken {
        email: String,
        api_token: SecretString,
    },
    #[serde(rename_all = "camelCase", rename = "oauth")]
    OAuth { access_token: SecretString },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawWebhook {
    shared_secret: SecretString,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRules {
    ticket_id_attribute: Option<String>,
    #[serde(default)]
    wrapup_status: BTreeMap<String, String>,
    default_wrapup_status: Option<String>,
    enrichment: Option<RawEnrichment>,
    closed_ticket: Option<String>,
    attribute_limits: Option<RawLimits>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawEnrichment {
    #[serde(default)]
    enabled: bool,
    // `Some(None)` (explicit null) turns one value off; absent keeps the default name.
    #[serde(default, deserialize_with = "explicit_null")]
    user_id_attribute: Option<Option<String>>,
    #[serde(default, deserialize_with = "explicit_null")]
    user_name_attribute: Option<Option<String>>,
    #[serde(default, deserialize_with = "explicit_null")]
    open_ticket_attribute: Option<Option<String>>,
}

fn explicit_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawLimits {
    max_keys: Option<usize>,
    max_key_chars: Option<usize>,
    max_value_chars: Option<usize>,
}

// ---- parsing and validation ---------------------------------------------------------------

impl OrgConfig {
    /// Parses and validates one org document.
    pub fn from_json(text: &str) -> Result<OrgConfig> {
        // Two steps, so that no error quotes a value: JSON syntax errors give a line and
        // column only, and shape errors a path and the expected type (`crate::shape`);
        // serde's own messages would quote the offending value, which may be a secret.
        let doc: Value = serde_json::from_str(text).map_err(|e| {
            BridgeError::config(
                "<document>",
                format!(
                    "the org config is not valid JSON: {e} (see examples/orgs/ and the README's org config section)"
                ),
            )
        })?;
        let raw: RawOrg = crate::shape::from_value(&doc).map_err(|e| {
            e.config()
                .with_hint("see examples/orgs/ and the README's org config section")
        })?;
        OrgConfig::validate(raw)
    }

    /// Like [`OrgConfig::from_json`], and also checks that the document is the one for
    /// `expected_org_id` (a secret stored under the wrong name must not be used).
    pub fn from_json_for(text: &str, expected_org_id: &str) -> Result<OrgConfig> {
        let cfg = OrgConfig::from_json(text).map_err(|e| e.or_org(expected_org_id))?;
        if !cfg.org_id.eq_ignore_ascii_case(expected_org_id) {
            return Err(BridgeError::config(
                "orgId",
                format!(
                    "the config stored for org {expected_org_id} says orgId {}; each org's secret must hold that org's own config",
                    cfg.org_id
                ),
            )
            .with_org(expected_org_id));
        }
        Ok(cfg)
    }

    /// Validates the document section by section, in document order, so the first error
    /// named is the first one an admin meets reading the file.
    fn validate(raw: RawOrg) -> Result<OrgConfig> {
        let org_id = validate_uuid("orgId", &raw.org_id)?;
        let org_err = |e: BridgeError| e.with_org(org_id.clone());
        let genesys = validate_genesys(raw.genesys).map_err(org_err)?;
        let zendesk = raw
            .zendesk
            .map(validate_zendesk)
            .transpose()
            .map_err(org_err)?;
        let webhook = validate_webhook(raw.webhook).map_err(org_err)?;
        let rules = validate_rules(raw.rules.unwrap_or_default()).map_err(org_err)?;
        let messaging = messaging::validate(raw.messaging.unwrap_or_default()).map_err(org_err)?;
        Ok(OrgConfig {
            org_id,
            name: raw.name,
            genesys,
            zendesk,
            webhook,
            rules,
            messaging,
        })
    }

    /// The Zendesk section, or an error that says the org has none.
    pub fn zendesk(&self) -> Result<&ZendeskConfig> {
        self.zendesk.as_ref().ok_or_else(|| {
            BridgeError::config(
                "zendesk",
                "this org has no Zendesk section; add `zendesk` (subdomain and auth) to its config",
            )
            .with_org(self.org_id.clone())
        })
    }

    /// The document as JSON, for `bridge orgs get`. Secrets are `"** redacted **"` unless
    /// `reveal` is set.
    pub fn to_json(&self, reveal: bool) -> Value {
        let s = |v: &SecretString| -> Value {
            if reveal {
                Value::String(v.expose_secret().to_string())
            } else {
                Value::String("** redacted **".into())
            }
        };
        let zendesk = self.zendesk.as_ref().map(|z| {
            let auth = match &z.auth {
                ZendeskAuth::ApiToken { email, api_token } => {
                    json!({"type": "apiToken", "email": email, "apiToken": s(api_token)})
                }
                ZendeskAuth::OAuth { access_token } => {
                    json!({"type": "oauth", "accessToken": s(access_token)})
                }
            };
            json!({"subdomain": z.subdomain, "baseUrl": z.base_url, "auth": auth})
        });
        let r = &self.rules;
        json!({
            "orgId": self.org_id,
            "name": self.name,
            "genesys": {
                "region": self.genesys.region.domain,
                "apiBaseUrl": self.genesys.api_base_url,
                "loginBaseUrl": self.genesys.login_base_url,
                "clientId": self.genesys.client_id,
                "clientSecret": s(&self.genesys.client_secret),
            },
            "zendesk": zendesk,
            "webhook": {"sharedSecret": s(&self.webhook.shared_secret)},
            "rules": {
                "ticketIdAttribute": r.ticket_id_attribute,
                "wrapupStatus": r.wrapup_status,
                "defaultWrapupStatus": r.default_wrapup_status,
                "enrichment": {
                    "enabled": r.enrichment.enabled,
                    "userIdAttribute": r.enrichment.user_id_attribute,
                    "userNameAttribute": r.enrichment.user_name_attribute,
                    "openTicketAttribute": r.enrichment.open_ticket_attribute,
                },
                "closedTicket": match r.closed_ticket {
                    ClosedTicketPolicy::Report => "report",
                    ClosedTicketPolicy::FollowUp => "followUp",
                },
                "attributeLimits": {
                    "maxKeys": r.attribute_limits.max_keys,
                    "maxKeyChars": r.attribute_limits.max_key_chars,
                    "maxValueChars": r.attribute_limits.max_value_chars,
                },
            },
            "messaging": self.messaging.to_json(),
        })
    }
}

fn validate_genesys(raw: RawGenesys) -> Result<GenesysConfig> {
    let region = Region::parse(&raw.region).ok_or_else(|| {
        BridgeError::config(
            "genesys.region",
            format!(
                "unknown Genesys Cloud region; expected one of: {}",
                Region::all_names()
            ),
        )
    })?;
    let api_base_url = match raw.api_base_url {
        Some(u) => validate_base_url("genesys.apiBaseUrl", &u)?,
        None => region.api_base_url(),
    };
    let login_base_url = match raw.login_base_url {
        Some(u) => validate_base_url("genesys.loginBaseUrl", &u)?,
        None => region.login_base_url(),
    };
    non_empty("genesys.clientId", &raw.client_id)?;
    non_empty("genesys.clientSecret", raw.client_secret.expose_secret())?;
    Ok(GenesysConfig {
        region,
        api_base_url,
        login_base_url,
        client_id: raw.client_id.trim().to_string(),
        client_secret: raw.client_secret,
    })
}

fn validate_zendesk(raw: RawZendesk) -> Result<ZendeskConfig> {
    let subdomain = raw.subdomain.trim().to_ascii_lowercase();
    let valid = !subdomain.is_empty()
        && subdomain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(BridgeError::config(
            "zendesk.subdomain",
            "expected the account's subdomain (letters, digits, '-'), e.g. \"acme\" for acme.zendesk.com",
        ));
    }
    let base_url = match raw.base_url {
        Some(u) => validate_base_url("zendesk.baseUrl", &u)?,
        None => format!("https://{subdomain}.zendesk.com"),
    };
    Ok(ZendeskConfig {
        subdomain,
        base_url,
        auth: validate_zendesk_auth(raw.auth)?,
    })
}

fn validate_zendesk_auth(raw: RawZendeskAuth) -> Result<ZendeskAuth> {
    match raw {
        RawZendeskAuth::ApiToken { email, api_token } => {
            if !looks_like_email(&email) {
                return Err(BridgeError::config(
                    "zendesk.auth.email",
                    "expected the email of the Zendesk agent that owns the API token",
                ));
            }
            non_empty("zendesk.auth.apiToken", api_token.expose_secret())?;
            Ok(ZendeskAuth::ApiToken {
                email: email.trim().to_string(),
                api_token,
            })
        }
        RawZendeskAuth::OAuth { access_token } => {
            non_empty("zendesk.auth.accessToken", access_token.expose_secret())?;
            Ok(ZendeskAuth::OAuth { access_token })
        }
    }
}

fn validate_webhook(raw: RawWebhook) -> Result<WebhookConfig> {
    // Short shared secrets are guessable by brute force through the public endpoint.
    if raw.shared_secret.expose_secret().chars().count() < 24 {
        return Err(BridgeError::config(
            "webhook.sharedSecret",
            "expected at least 24 characters of random secret (e.g. `openssl rand -hex 32`)",
        ));
    }
    Ok(WebhookConfig::new(raw.shared_secret))
}

fn validate_rules(raw: RawRules) -> Result<Rules> {
    let d = Rules::default();
    let ticket_id_attribute = match raw.ticket_id_attribute {
        Some(a) => {
            non_empty("rules.ticketIdAttribute", &a)?;
            a
        }
        None => d.ticket_id_attribute,
    };
    for (code, status) in &raw.wrapup_status {
        // The code is a key: quoted only as a preview.
        let code = crate::input::preview(code, crate::input::PREVIEW_CHARS);
        validate_status(&format!("rules.wrapupStatus[{code:?}]"), status)?;
    }
    if let Some(s) = &raw.default_wrapup_status {
        validate_status("rules.defaultWrapupStatus", s)?;
    }
    let enrichment = match raw.enrichment {
        None => d.enrichment,
        Some(e) => Enrichment {
            enabled: e.enabled,
            user_id_attribute: e
                .user_id_attribute
                .unwrap_or(d.enrichment.user_id_attribute),
            user_name_attribute: e
                .user_name_attribute
                .unwrap_or(d.enrichment.user_name_attribute),
            open_ticket_attribute: e
                .open_ticket_attribute
                .unwrap_or(d.enrichment.open_ticket_attribute),
        },
    };
    let closed_ticket = match raw.closed_ticket.as_deref() {
        None | Some("report") => ClosedTicketPolicy::Report,
        Some("followUp") => ClosedTicketPolicy::FollowUp,
        Some(_) => {
            return Err(BridgeError::config(
                "rules.closedTicket",
                "expected \"report\" or \"followUp\"",
            ))
        }
    };
    let dl = d.attribute_limits;
    let attribute_limits = match raw.attribute_limits {
        None => dl,
        Some(l) => AttributeLimits {
            max_keys: l.max_keys.unwrap_or(dl.max_keys),
            max_key_chars: l.max_key_chars.unwrap_or(dl.max_key_chars),
            max_value_chars: l.max_value_chars.unwrap_or(dl.max_value_chars),
        },
    };
    for (field, v) in [
        ("rules.attributeLimits.maxKeys", attribute_limits.max_keys),
        (
            "rules.attributeLimits.maxKeyChars",
            attribute_limits.max_key_chars,
        ),
        (
            "rules.attributeLimits.maxValueChars",
            attribute_limits.max_value_chars,
        ),
    ] {
        if v == 0 {
            return Err(BridgeError::config(field, "expected a positive number"));
        }
    }
    Ok(Rules {
        ticket_id_attribute,
        wrapup_status: raw.wrapup_status,
        default_wrapup_status: raw.default_wrapup_status,
        enrichment,
        closed_ticket,
        attribute_limits,
    })
}

/// A digest of every credential in `cfg` (SHA-256, never the values): tells whether a
/// re-read config carries new credentials without keeping or comparing secrets in clear.
pub fn credentials_fingerprint(cfg: &OrgConfig) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(cfg.genesys.client_id.as_bytes());
    h.update([0]);
    h.update(cfg.genesys.client_secret.expose_secret().as_bytes());
    h.update([0]);
    if let Some(z) = &cfg.zendesk {
        match &z.auth {
            ZendeskAuth::ApiToken { email, api_token } => {
                h.update(email.as_bytes());
                h.update([0]);
                h.update(api_token.expose_secret().as_bytes());
            }
            ZendeskAuth::OAuth { access_token } => {
                h.update(access_token.expose_secret().as_bytes())
            }
        }
    }
    h.finalize().into()
}

/// Checks a Zendesk status value; the error names the field.
pub fn validate_status(field: &str, status: &str) -> Result<()> {
    if TICKET_STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(BridgeError::config(
            field,
            format!("expected a Zendesk status ({})", TICKET_STATUSES.join(", ")),
        ))
    }
}

/// Genesys ids are UUIDs. Checking before any call keeps typos from becoming confusing 404s,
/// and keeps an org id from ever being a path (the directory secret source joins it).
pub fn validate_uuid(field: &str, value: &str) -> Result<String> {
    crate::input::canonical_uuid(value)
        .ok_or_else(|| BridgeError::config(field, crate::input::uuid_expectation(value)))
}

fn validate_base_url(field: &str, value: &str) -> Result<String> {
    let expected = "expected an http(s) base URL such as https://api.mypurecloud.ie";
    let parsed = url::Url::parse(value.trim()).map_err(|e| {
        BridgeError::config(field, format!("{expected} (the value does not parse: {e})"))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(BridgeError::config(field, expected));
    }
    Ok(value.trim().trim_end_matches('/').to_string())
}

fn non_empty(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(BridgeError::config(field, "expected a non-empty value"))
    } else {
        Ok(())
    }
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !s.contains(' '),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Value {
        json!({
            "orgId": "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11",
            "name": "Acme Support",
            "genesys": {
                "region": "eu-west-1",
                "clientId": "acme-bridge-client",
                "clientSecret": "s3cr3t-genesys-value"
            },
            "zendesk": {
                "subdomain": "acme",
                "auth": {"type": "apiToken", "email": "bridge@acme.example", "apiToken": "s3cr3t-zendesk-token"}
            },
            "webhook": {"sharedSecret": "s3cr3t-webhook-0123456789abcdef"},
            "rules": {"wrapupStatus": {"resolved-code": "solved"}}
        })
    }

    fn parse(v: &Value) -> Result<OrgConfig> {
        OrgConfig::from_json(&v.to_string())
    }

    #[test]
    fn parses_and_defaults() {
        let c = parse(&sample()).unwrap();
        assert_eq!(c.genesys.api_base_url, "https://api.mypurecloud.ie");
        assert_eq!(c.genesys.login_base_url, "https://login.mypurecloud.ie");
        assert_eq!(
            c.zendesk.as_ref().unwrap().base_url,
            "https://acme.zendesk.com"
        );
        assert_eq!(c.rules.ticket_id_attribute, "zendesk_ticket_id");
        assert_eq!(c.rules.wrapup_status["resolved-code"], "solved");
        assert_eq!(c.rules.closed_ticket, ClosedTicketPolicy::Report);
        assert!(!c.rules.enrichment.enabled);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = parse(&sample()).unwrap();
        let dbg = format!("{c:?} {:?} {:?}", c.genesys, c.zendesk);
        for secret in [
            "s3cr3t-genesys-value",
            "s3cr3t-zendesk-token",
            "s3cr3t-webhook-0123456789abcdef",
        ] {
            assert!(!dbg.contains(secret), "Debug leaked {secret}: {dbg}");
        }
        assert!(
            dbg.contains("acme-bridge-client"),
            "non-secret fields still print"
        );
        let redacted = c.to_json(false).to_string();
        assert!(!redacted.contains("s3cr3t"), "{redacted}");
        let revealed = c.to_json(true).to_string();
        assert!(revealed.contains("s3cr3t-zendesk-token"));
    }

    #[test]
    fn round_trips_through_to_json() {
        let c = parse(&sample()).unwrap();
        let again = OrgConfig::from_json(&c.to_json(true).to_string()).unwrap();
        assert_eq!(again.org_id, c.org_id);
        assert_eq!(again.rules, c.rules);
        assert_eq!(again.messaging, c.messaging);
        assert_eq!(again.genesys.api_base_url, c.genesys.api_base_url);
    }

    #[test]
    fn validation_names_the_field() {
        type Mutation = fn(&mut Value);
        let rows: Vec<(&str, Mutation)> = vec![
            ("orgId", |v| v["orgId"] = json!("acme")),
            ("genesys.region", |v| {
                v["genesys"]["region"] = json!("mars-1")
            }),
            ("genesys.apiBaseUrl", |v| {
                v["genesys"]["apiBaseUrl"] = json!("ftp://x")
            }),
            ("genesys.clientId", |v| {
                v["genesys"]["clientId"] = json!(" ")
            }),
            ("genesys.clientSecret", |v| {
                v["genesys"]["clientSecret"] = json!("")
            }),
            ("zendesk.subdomain", |v| {
                v["zendesk"]["subdomain"] = json!("acme.zendesk.com")
            }),
            ("zendesk.auth.email", |v| {
                v["zendesk"]["auth"]["email"] = json!("bridge")
            }),
            ("webhook.sharedSecret", |v| {
                v["webhook"]["sharedSecret"] = json!("short")
            }),
            ("rules.wrapupStatus", |v| {
                v["rules"]["wrapupStatus"]["x"] = json!("done")
            }),
            ("rules.closedTicket", |v| {
                v["rules"]["closedTicket"] = json!("reopen")
            }),
            ("clientSecrt", |v| {
                v["genesys"]["clientSecrt"] = json!("typo");
            }),
            ("clientId", |v| {
                v["genesys"].as_object_mut().unwrap().remove("clientId");
            }),
            ("messaging.senders.sms.address", |v| {
                v["messaging"] =
                    json!({"senders": {"sms": {"type": "sms", "address": "0800 123"}}});
            }),
            ("sendrs", |v| {
                v["messaging"] = json!({"sendrs": {}});
            }),
        ];
        for (field, mutate) in rows {
            let mut v = sample();
            mutate(&mut v);
            let err = parse(&v).expect_err(field);
            assert!(
                err.to_string().contains(field),
                "error for {field} does not name it: {err}"
            );
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
    }

    #[test]
    fn config_errors_name_the_field_and_type_never_a_value() {
        // A secret pasted where an object belongs, or into another field, must not come
        // back in the message: serde's own text quotes the offending value.
        type Mutation = fn(&mut Value);
        let rows: Vec<(&str, &str, Mutation)> = vec![
            ("webhook", "an object", |v| {
                v["webhook"] = json!("LEAKME-shared-secret-0123456789abcdef")
            }),
            ("genesys.clientSecret", "a string", |v| {
                v["genesys"]["clientSecret"] = json!(["LEAKME-client-secret"])
            }),
            ("zendesk.auth.type", "apiToken", |v| {
                v["zendesk"]["auth"]["type"] = json!("LEAKME-token-type")
            }),
            ("genesys.region", "region", |v| {
                v["genesys"]["region"] = json!("LEAKME-region")
            }),
            ("zendesk.auth.email", "email", |v| {
                v["zendesk"]["auth"]["email"] = json!("LEAKME-api-token")
            }),
            ("zendesk.subdomain", "subdomain", |v| {
                v["zendesk"]["subdomain"] = json!("LEAKME token")
            }),
            ("genesys.apiBaseUrl", "base URL", |v| {
                v["genesys"]["apiBaseUrl"] = json!("LEAKME://secret")
            }),
            ("rules.closedTicket", "followUp", |v| {
                v["rules"]["closedTicket"] = json!("LEAKME")
            }),
            ("rules.defaultWrapupStatus", "solved", |v| {
                v["rules"]["defaultWrapupStatus"] = json!("LEAKME")
            }),
            ("rules.attributeLimits.maxKeys", "number", |v| {
                v["rules"]["attributeLimits"] = json!({"maxKeys": "LEAKME"})
            }),
        ];
        for (field, expected, mutate) in rows {
            let mut v = sample();
            mutate(&mut v);
            let err = parse(&v).expect_err(field);
            let text = format!("{err} {err:?}");
            assert!(!text.contains("LEAKME"), "{field}: {text}");
            assert_eq!(err.field.as_deref(), Some(field), "{text}");
            assert!(err.message.contains(expected), "{field}: {text}");
            assert_eq!(err.error_type(), "Config.InvalidConfig");
        }
        // An unknown key is named, cut to a preview.
        let mut v = sample();
        v["webhook"]["LEAKME".repeat(1000)] = json!(1);
        let err = parse(&v).unwrap_err();
        assert!(err.to_string().len() < 600, "{}", err.to_string().len());
        assert!(err.field.as_deref().unwrap().starts_with("webhook.LEAKME"));
    }

    #[test]
    fn messaging_config_errors_name_the_field_never_a_value() {
        type Mutation = fn(&mut Value);
        let sms = |address: &str| json!({"type": "sms", "address": address});
        let rows: Vec<(&str, &str, Mutation)> = vec![
            ("messaging.senders.sms.address", "E.164", |v| {
                v["messaging"] =
                    json!({"senders": {"sms": {"type": "sms", "address": "LEAKME-secret"}}})
            }),
            (
                "messaging.senders.sms.type",
                "sms",
                |v| {
                    v["messaging"] =
                        json!({"senders": {"sms": {"type": "LEAKME", "address": "+15550000100"}}})
                },
            ),
            ("messaging.templates.t.sender", "messaging.senders", |v| {
                v["messaging"] = json!({"templates": {"t": {"sender": "LEAKME", "text": "hi"}}})
            }),
            ("messaging.templates.t.text", "placeholder", |v| {
                v["messaging"] = json!({"senders": {"s": {"type": "sms", "address": "+15550000100"}},
                                        "templates": {"t": {"sender": "s", "text": "hi {{LEAKME secret}}"}}})
            }),
            ("messaging.rules[0].template", "messaging.templates", |v| {
                v["messaging"] = json!({"rules": [{"topic": "acw", "template": "LEAKME"}]})
            }),
            ("messaging.rules[0].topic", "customer.start", |v| {
                v["messaging"] = json!({"senders": {"s": {"type": "sms", "address": "+15550000100"}},
                                        "templates": {"t": {"sender": "s", "text": "hi"}},
                                        "rules": [{"topic": "LEAKME", "template": "t"}]})
            }),
        ];
        for (field, expected, mutate) in rows {
            let mut v = sample();
            mutate(&mut v);
            let err = parse(&v).expect_err(field);
            let text = format!("{err} {err:?}");
            assert!(!text.contains("LEAKME"), "{field}: {text}");
            assert_eq!(err.field.as_deref(), Some(field), "{text}");
            assert!(err.message.contains(expected), "{field}: {text}");
            assert_eq!(err.error_type(), "Config.InvalidConfig");
        }
        // A sender name is a key: named in the path, cut to a preview.
        let mut v = sample();
        v["messaging"] = json!({"senders": {"LEAKME".repeat(100): sms("+15550000100")}});
        let err = parse(&v).unwrap_err();
        assert!(err.to_string().len() < 600, "{}", err.to_string().len());
        assert!(err
            .field
            .as_deref()
            .unwrap()
            .starts_with("messaging.senders.LEAKME"));
    }

    #[test]
    fn oauth_zendesk_and_overrides() {
        let mut v = sample();
        v["zendesk"]["auth"] = json!({"type": "oauth", "accessToken": "tok"});
        v["zendesk"]["baseUrl"] = json!("http://127.0.0.1:9999/zendesk/acme/");
        v["genesys"]["apiBaseUrl"] = json!("http://127.0.0.1:9999");
        let c = parse(&v).unwrap();
        assert!(matches!(
            c.zendesk.as_ref().unwrap().auth,
            ZendeskAuth::OAuth { .. }
        ));
        assert_eq!(
            c.zendesk.unwrap().base_url,
            "http://127.0.0.1:9999/zendesk/acme"
        );
        assert_eq!(c.genesys.api_base_url, "http://127.0.0.1:9999");
    }

    #[test]
    fn attribute_violations_come_in_order() {
        let l = AttributeLimits {
            max_keys: 2,
            max_key_chars: 3,
            max_value_chars: 2,
        };
        let set = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        use AttributeViolation as V;
        assert_eq!(l.violation(&set(&[])), Some(V::Empty));
        assert_eq!(
            l.violation(&set(&[("a", "1"), ("b", "2"), ("c", "3")])),
            Some(V::TooManyKeys { count: 3 })
        );
        assert_eq!(
            l.violation(&set(&[(" ", "123"), ("abcd", "1")])),
            Some(V::BlankKey { key: " " })
        );
        assert_eq!(
            l.violation(&set(&[("abcd", "123")])),
            Some(V::KeyTooLong {
                key: "abcd",
                chars: 4
            })
        );
        assert_eq!(
            l.violation(&set(&[("a", "1"), ("b", "ééé")])),
            Some(V::ValueTooLong { key: "b", chars: 3 })
        );
        assert_eq!(
            l.violation(&set(&[("éé", "éé")])),
            None,
            "characters, not bytes"
        );
        for key in ["a\u{0}b", "t\tab", "n\nl", "\u{7f}x", "c1\u{85}"] {
            assert_eq!(
                l.key_violation(key),
                Some(V::ControlCharacter { key }),
                "{key:?}"
            );
        }
        assert_eq!(l.violation(&set(&[("a", "\n\t")])), None, "values may");
    }

    #[test]
    fn shared_secret_digest_is_kept() {
        use sha2::{Digest, Sha256};
        let c = parse(&sample()).unwrap();
        let want: [u8; 32] = Sha256::digest(b"s3cr3t-webhook-0123456789abcdef").into();
        assert_eq!(c.webhook.shared_secret_sha256(), &want);
    }

    #[test]
    fn document_must_match_its_org() {
        let text = sample().to_string();
        let err =
            OrgConfig::from_json_for(&text, "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22").unwrap_err();
        assert!(err.to_string().contains("orgId"), "{err}");
    }
}
