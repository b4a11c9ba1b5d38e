//! The sandbox's starting world: orgs, OAuth clients, conversations, contacts and Zendesk
//! accounts, read from camelCase JSON (the standalone binary's `--seed` file).
//!
//! Unknown fields are rejected so that a typo in a seed file fails loudly instead of
//! silently seeding less than the author meant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole starting state. `Seed::default()` is an empty world; [`default_seed`] is the
/// realistic one shipped in `seed.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub genesys: GenesysSeed,
    #[serde(default)]
    pub zendesk: ZendeskSeed,
    /// `expires_in` of issued Genesys tokens (the Genesys default is 86400).
    #[serde(default = "default_token_ttl")]
    pub token_ttl_seconds: u64,
}

impl Default for Seed {
    fn default() -> Self {
        Seed {
            genesys: GenesysSeed::default(),
            zendesk: ZendeskSeed::default(),
            token_ttl_seconds: default_token_ttl(),
        }
    }
}

fn default_token_ttl() -> u64 {
    86_400
}

impl Seed {
    pub fn from_json(s: &str) -> Result<Seed, serde_json::Error> {
        serde_json::from_str(s)
    }
}

/// The seed shipped with the crate (`sandbox/seed.json`); its ids are listed in the README.
pub fn default_seed() -> Seed {
    Seed::from_json(include_str!("../seed.json")).expect("sandbox/seed.json is a valid seed")
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesysSeed {
    #[serde(default)]
    pub orgs: Vec<OrgSeed>,
}

/// The permission the attribute PATCH route requires in an org whose seed does not say
/// otherwise ([`OrgSeed::attribute_permission`]).
// [U] upstream-facts does not state which permission this route needs; configurable per seed via OrgSeed.attributePermission (optional)
pub const ATTRIBUTES_PERMISSION: &str = "conversation:communication:update";

/// [U] The permission the sandbox asks for listing SMS numbers; not in upstream-facts.
pub const SMS_NUMBERS_PERMISSION: &str = "sms:phoneNumber:view";
/// [U] The permission the sandbox asks for listing WhatsApp integrations; not in
/// upstream-facts.
pub const WHATSAPP_INTEGRATIONS_PERMISSION: &str = "messaging:integration:view";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrgSeed {
    pub id: String,
    pub name: String,
    /// Informational only: the sandbox serves every org on one loopback address.
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_org_name: Option<String>,
    /// Overrides the permission the attribute PATCH route requires in this org
    /// (default [`ATTRIBUTES_PERMISSION`], which says why this is configurable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_permission: Option<String>,
    #[serde(default)]
    pub oauth_clients: Vec<OAuthClientSeed>,
    /// People of the org (agents) who act with their own tokens, e.g. from an Embeddable
    /// Client App.
    #[serde(default)]
    pub users: Vec<UserSeed>,
    #[serde(default)]
    pub conversations: Vec<ConversationSeed>,
    #[serde(default)]
    pub external_contacts: Vec<ExternalContactSeed>,
    /// SMS numbers provisioned in the org (`GET /api/v2/routing/sms/phonenumbers`); an
    /// agentless SMS must come from a usable one.
    #[serde(default)]
    pub sms_phone_numbers: Vec<SmsNumberSeed>,
    /// The org's WhatsApp integrations; an agentless WhatsApp message must come from an
    /// active one.
    #[serde(default)]
    pub whatsapp_integrations: Vec<WhatsAppIntegrationSeed>,
    /// Messaging conversations in progress (a customer in a bot flow, a queue or with an
    /// agent): an agentless message to their address is refused unless
    /// `useExistingActiveConversation` is set.
    #[serde(default)]
    pub messaging_conversations: Vec<MessagingConversationSeed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmsNumberSeed {
    pub id: String,
    /// E.164.
    pub phone_number: String,
    /// [U] the values are not in upstream-facts; `active` is usable, anything else is not.
    #[serde(default = "active")]
    pub phone_number_status: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WhatsAppIntegrationSeed {
    pub id: String,
    pub name: String,
    pub phone_number: String,
    /// [U] the values are not in upstream-facts; `Active` sends, anything else is refused.
    pub status: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessagingConversationSeed {
    pub id: String,
    /// The customer's address as the agentless request names it (E.164 for SMS, digits for
    /// WhatsApp); compared digits-only.
    pub address: String,
    /// `sms` or `whatsapp`.
    pub messenger_type: String,
}

fn active() -> String {
    "active".to_owned()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthClientSeed {
    pub id: String,
    pub secret: String,
    pub name: String,
    #[serde(default)]
    pub roles: Vec<RoleSeed>,
    /// A client-credentials token this client obtained before the sandbox started (valid
    /// like any issued one), so fixtures can name a client's token; not counted as issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token: Option<String>,
}

/// A Genesys user with a user token (as an implicit or code grant would give an agent).
/// Their permissions come from their roles, as a client's do.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSeed {
    /// The user id, as agent participants name it in `userId`.
    pub id: String,
    pub name: String,
    /// The user's access token: valid until revoked.
    pub token: String,
    #[serde(default)]
    pub roles: Vec<RoleSeed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSeed {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationSeed {
    pub id: String,
    /// RFC 3339; when absent the conversation starts when it is added to the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default)]
    pub participants: Vec<ParticipantSeed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParticipantSeed {
    pub id: String,
    /// "customer", "agent", "acd", "ivr", ...
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ANI for calls, the email address for emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalContactSeed {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_phone: Option<PhoneSeed>,
    #[serde(default)]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaRefSeed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneSeed {
    pub display: String,
    pub e164: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchemaRefSeed {
    pub id: String,
    pub version: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZendeskSeed {
    #[serde(default)]
    pub accounts: Vec<ZendeskAccountSeed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZendeskAccountSeed {
    pub subdomain: String,
    #[serde(default)]
    pub users: Vec<ZendeskUserSeed>,
    #[serde(default)]
    pub api_tokens: Vec<ApiTokenSeed>,
    #[serde(default)]
    pub oauth_tokens: Vec<OAuthTokenSeed>,
    #[serde(default)]
    pub tickets: Vec<TicketSeed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZendeskUserSeed {
    pub id: u64,
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// "end-user", "agent" or "admin".
    pub role: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiTokenSeed {
    pub email: String,
    pub token: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthTokenSeed {
    pub token: String,
    /// Space-separated, e.g. "read write" or "tickets:read tickets:write".
    pub scopes: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketSeed {
    pub id: u64,
    pub subject: String,
    pub status: String,
    pub requester_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_status_id: Option<u64>,
    /// RFC 3339; when absent, the time the ticket is added to the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}
