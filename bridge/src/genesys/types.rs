//! The parts of Genesys Cloud's JSON that the bridge reads. Unknown fields are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    #[serde(default)]
    pub start_time: Option<String>,
    /// Set once the conversation has ended; attributes written after it are not kept.
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub participants: Vec<Participant>,
}

impl Conversation {
    /// The participant with id `id` (UUIDs compare case-insensitively).
    pub fn participant(&self, id: &str) -> Option<&Participant> {
        self.participants
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(id))
    }

    /// Whether a participant of the conversation is the Genesys user `user_id` (an agent
    /// who handles or handled it). Reads `participants[].userId` [U: upstream-facts names
    /// only `participants[].attributes`; Genesys' conversation model documents `userId` per
    /// participant]: without it, no user is a participant, so a check built on this refuses.
    pub fn has_user(&self, user_id: &str) -> bool {
        self.participants.iter().any(|p| {
            p.user_id
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(user_id))
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub id: String,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub queue_id: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct OrgRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /api/v2/tokens/me`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub organization: OrgRef,
    #[serde(default)]
    pub home_organization: Option<OrgRef>,
    #[serde(rename = "OAuthClient", default)]
    pub oauth_client: Option<OAuthClientInfo>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClientInfo {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role_divisions: Vec<RoleDivision>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoleDivision {
    pub role_id: String,
    #[serde(default)]
    pub division_id: Option<String>,
}

/// `GET /api/v2/users/me`: the user a token belongs to.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserMe {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /api/v2/organizations/me`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub third_party_org_name: Option<String>,
}

/// `GET /api/v2/authorization/roles/{roleId}`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub permission_policies: Vec<PermissionPolicy>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PermissionPolicy {
    pub domain: String,
    pub entity_name: String,
    #[serde(default)]
    pub action_set: Vec<String>,
}

impl Role {
    /// Whether the role grants `domain:entity:action`, honouring `*` wildcards in policies.
    pub fn grants(&self, permission: &str) -> bool {
        if self.permissions.iter().any(|p| p == permission) {
            return true;
        }
        let mut parts = permission.splitn(3, ':');
        let (Some(d), Some(e), Some(a)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        self.permission_policies.iter().any(|p| {
            (p.domain == d || p.domain == "*")
                && (p.entity_name == e || p.entity_name == "*")
                && p.action_set.iter().any(|x| x == a || x == "*")
        })
    }
}

/// An external contact, kept as JSON with typed accessors: the schema is large and
/// customer-defined (custom fields), and we only touch a few parts.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ExternalContact(pub serde_json::Value);

impl ExternalContact {
    pub fn id(&self) -> Option<&str> {
        self.0.get("id").and_then(|v| v.as_str())
    }
    pub fn custom_field(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get("customFields").and_then(|c| c.get(name))
    }
}

/// One field-level change for `PATCH /api/v2/externalcontacts/contacts/{id}`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ContactChange {
    /// JSON path, e.g. `$.customFields.tier_text`.
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    pub action: ContactAction,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum ContactAction {
    UpdateIfEmpty,
    Update,
    UpdateIfExists,
    AppendToCollection,
    Remove,
    RemoveFromCollection,
}

/// What a successful write tells the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Written {
    pub status: u16,
    pub correlation_id: Option<String>,
}
