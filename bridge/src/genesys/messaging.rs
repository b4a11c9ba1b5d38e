//! Agentless outbound messages (`POST /api/v2/conversations/messages/agentless`) and the
//! lists `bridge doctor` checks senders against (SMS numbers, WhatsApp integrations), with
//! refusals turned into what to fix.
//!
//! The POST is not idempotent: it is sent as such (`Call::idempotent = false`), so the HTTP
//! loop retries it only when Genesys cannot have acted (a 429, a 401 before the token is
//! refreshed, a connect error) and never after it may have been sent (a timeout, a lost
//! connection, a 5xx): those come back with `may_have_been_sent` set.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::GenesysOrg;
use crate::error::{BridgeError, ErrorKind, Result, Upstream};
use crate::http::{Body, Call};

/// The permission the agentless POST needs (upstream-facts: Messaging).
pub const MESSAGE_CREATE: &str = "conversation:message:create";

/// `SendAgentlessOutboundMessageRequest` (upstream-facts: Messaging).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentlessRequest {
    pub from_address: String,
    pub to_address: String,
    pub to_address_messenger_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_template: Option<MessagingTemplate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_existing_active_conversation: Option<bool>,
}

/// `MessagingTemplateRequest`: an approved (WhatsApp) template and its substitutions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagingTemplate {
    pub response_id: String,
    pub parameters: Vec<TemplateParameter>,
}

/// `TemplateParameter` [U: the SDK lists `id` and `value`; their meaning for WhatsApp
/// templates is not in upstream-facts].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateParameter {
    pub id: String,
    pub value: String,
}

/// What a sent message tells the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentlessSent {
    /// The response's `id` [U: the SDK model `SendAgentlessOutboundMessageResponse` has
    /// `id` ("the globally unique identifier for the object") and `conversationId`;
    /// upstream-facts does not say what they are]. `None` when the answer had none or was
    /// not readable: the message was still sent (a 2xx).
    pub message_id: Option<String>,
    pub conversation_id: Option<String>,
    pub status: u16,
    pub correlation_id: Option<String>,
}

/// The parts of the response the bridge reads; anything may be missing.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgentlessResponse {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    conversation_id: Option<String>,
}

/// One SMS number of the org (`SmsPhoneNumber`; only the fields the bridge reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsPhoneNumber {
    #[serde(default)]
    pub id: Option<String>,
    /// E.164.
    pub phone_number: String,
    /// [U] values are not in upstream-facts (the SDK names an enum): `None` or `active`
    /// (any case) counts as usable.
    #[serde(default)]
    pub phone_number_status: Option<String>,
}

impl SmsPhoneNumber {
    pub fn usable(&self) -> bool {
        self.phone_number_status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("active"))
    }
}

/// One WhatsApp integration of the org (`WhatsAppIntegration`; the fields the bridge reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatsAppIntegration {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// [U] values are not in upstream-facts: `Active` (any case) counts as active.
    #[serde(default)]
    pub status: Option<String>,
}

impl WhatsAppIntegration {
    pub fn active(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("active"))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listing<T> {
    #[serde(default = "Vec::new")]
    entities: Vec<T>,
    #[serde(default)]
    page_count: Option<u32>,
}

/// Pages read at most from a listing (100 entries each): an org with more SMS numbers or
/// WhatsApp integrations than this is not checked past them.
const MAX_PAGES: u32 = 20;

impl GenesysOrg<'_> {
    /// `POST /api/v2/conversations/messages/agentless` (`conversation:message:create`),
    /// sent once: see the module docs for when it is repeated. Refusals say what to fix
    /// ([`explain_refusal`]).
    pub async fn send_agentless_message(&self, req: &AgentlessRequest) -> Result<AgentlessSent> {
        let body = serde_json::to_value(req).map_err(|e| {
            BridgeError::internal(format!("could not write the message request: {e}"))
        })?;
        let call = Call::get(
            self.url("/api/v2/conversations/messages/agentless"),
            "send an agentless outbound message",
        )
        .with_body(Method::POST, Body::Json(body), false);
        let org = self.auth.org;
        let resp = self
            .call(call)
            .await
            .map_err(|e| explain_refusal(e, req, &org.org_id, &org.genesys.client_id))?;
        // A 2xx means Genesys took the message: an unreadable body does not change that.
        let read: AgentlessResponse = serde_json::from_slice(&resp.body).unwrap_or_default();
        Ok(AgentlessSent {
            message_id: read.id.filter(|s| !s.is_empty()),
            conversation_id: read.conversation_id.filter(|s| !s.is_empty()),
            status: resp.status,
            correlation_id: resp.correlation_id,
        })
    }

    /// `GET /api/v2/routing/sms/phonenumbers`, every page (up to [`MAX_PAGES`]).
    /// [U] the permission is not in upstream-facts (`sms:phoneNumber:view` in the sandbox).
    pub async fn sms_phone_numbers(&self) -> Result<Vec<SmsPhoneNumber>> {
        self.list(
            "/api/v2/routing/sms/phonenumbers",
            "list the org's SMS numbers",
        )
        .await
    }

    /// `GET /api/v2/conversations/messaging/integrations/whatsapp`, every page.
    /// [U] the permission is not in upstream-facts (`messaging:integration:view` in the
    /// sandbox).
    pub async fn whatsapp_integrations(&self) -> Result<Vec<WhatsAppIntegration>> {
        self.list(
            "/api/v2/conversations/messaging/integrations/whatsapp",
            "list the org's WhatsApp integrations",
        )
        .await
    }

    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        operation: &'static str,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let resp = self
                .call(Call::get(
                    self.url(&format!("{path}?pageSize=100&pageNumber={page}")),
                    operation,
                ))
                .await?;
            let listing: Listing<T> = resp.json(Upstream::Genesys, operation)?;
            let last =
                listing.entities.is_empty() || listing.page_count.is_none_or(|count| page >= count);
            out.extend(listing.entities);
            if last {
                break;
            }
        }
        Ok(out)
    }
}

/// What a refusal of the agentless POST is about, read tolerantly from the answer
/// [U: Genesys' codes for these refusals are not in upstream-facts or the SDK docs; the
/// message text, the code and `details[].fieldName` are all looked at].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The recipient already has an active conversation.
    ActiveConversation,
    /// The `fromAddress`: an SMS number not provisioned, a WhatsApp integration missing
    /// or inactive.
    Sender,
    /// The OAuth client lacks the permission.
    Permission,
    /// Anything else.
    Other,
}

/// Reads what a refused agentless POST is about (see [`Refusal`]).
pub fn refusal(e: &BridgeError) -> Refusal {
    if matches!(e.kind, ErrorKind::MissingPermission | ErrorKind::Forbidden) {
        return Refusal::Permission;
    }
    if !matches!(e.status, Some(400 | 404 | 409 | 422)) {
        return Refusal::Other;
    }
    let text = format!(
        "{} {} {}",
        e.code.as_deref().unwrap_or(""),
        e.message,
        e.field.as_deref().unwrap_or("")
    )
    .to_ascii_lowercase();
    let about_sender = text.contains("fromaddress")
        || text.contains("from address")
        || text.contains("provision")
        || text.contains("integration");
    if about_sender {
        Refusal::Sender
    } else if text.contains("active conversation")
        || text.contains("existing conversation")
        || text.contains("conversation.active")
        || text.contains("active.conversation")
        || text.contains("useexistingactiveconversation")
    {
        Refusal::ActiveConversation
    } else {
        Refusal::Other
    }
}

/// The refusal of `req` with its fix: which permission and where to grant it, what
/// `useExistingActiveConversation` would do, which sender is not usable.
pub fn explain_refusal(
    mut e: BridgeError,
    req: &AgentlessRequest,
    org_id: &str,
    client_id: &str,
) -> BridgeError {
    let whatsapp = req.to_address_messenger_type == "whatsapp";
    match refusal(&e) {
        Refusal::Permission => {
            if !e.missing_permissions.iter().any(|p| p == MESSAGE_CREATE) {
                e.missing_permissions.push(MESSAGE_CREATE.to_string());
            }
            e.hint = Some(format!(
                "assign a role granting {MESSAGE_CREATE} to OAuth client {client_id} in org {org_id} (Admin > Integrations > OAuth > the client > Roles, with the right divisions). Client-credentials clients get permissions from roles, not scopes"
            ));
        }
        Refusal::ActiveConversation => {
            e.field = Some("toAddress".into());
            e.hint = Some(
                "the customer already has an active conversation (in a flow, a queue, or with an agent or bot), so Genesys refused to start another. To send into that conversation instead, set useExistingActiveConversation to true (per message, or messaging.useExistingActiveConversation for the org): a bot in it then reads the message as if the customer had sent it. Otherwise send again once the conversation has ended".into(),
            );
        }
        Refusal::Sender if whatsapp => {
            e.field = Some("fromAddress".into());
            e.hint = Some(format!(
                "WhatsApp integration {} does not exist or is not active in org {org_id}: activate it (Genesys Admin > Message > Platforms) or fix messaging.senders in the org config; `bridge doctor` checks every sender",
                req.from_address
            ));
        }
        Refusal::Sender => {
            e.field = Some("fromAddress".into());
            e.hint = Some(format!(
                "{} is not an SMS number provisioned in org {org_id} (SMS needs a digital add-on licence and a number from Genesys Admin > Message > SMS Number Inventory): provision it or fix messaging.senders in the org config; `bridge doctor` checks every sender",
                req.from_address
            ));
        }
        Refusal::Other => {}
    }
    e
}

/// The stable error of a message that may have been sent: the send reached Genesys and
/// nothing says whether it took effect. `cause` is the timeout, lost connection or 5xx.
pub fn may_have_been_sent(cause: &BridgeError) -> BridgeError {
    let mut e = cause.clone();
    e.kind = ErrorKind::MayHaveBeenSent;
    e.upstream = Some(Upstream::Genesys);
    e.message = format!(
        "the message may have been sent: {} (the request reached Genesys and no answer says whether it took effect)",
        cause.message.trim_end_matches('.')
    );
    e.hint = Some(
        "it is not sent again automatically, so the customer is not messaged twice: look the customer's conversations up in Genesys (by the correlation id), and send it again deliberately only if it did not arrive".into(),
    );
    e.retry_after = None;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, code: &str, message: &str) -> BridgeError {
        let kind = match status {
            403 => ErrorKind::MissingPermission,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            _ => ErrorKind::InvalidRequest,
        };
        BridgeError::upstream(Upstream::Genesys, kind, message)
            .with_status(status)
            .with_code(code)
    }

    fn req(kind: &str) -> AgentlessRequest {
        AgentlessRequest {
            from_address: "+15550000100".into(),
            to_address: "+15551230003".into(),
            to_address_messenger_type: kind.into(),
            text_body: Some("hi".into()),
            messaging_template: None,
            use_existing_active_conversation: None,
        }
    }

    #[test]
    fn refusals_are_read_tolerantly() {
        let rows = [
            (
                refused(
                    403,
                    "missing.permissions",
                    "You are missing [conversation:message:create]",
                ),
                Refusal::Permission,
            ),
            (refused(403, "not.authorized", "no"), Refusal::Permission),
            (
                refused(
                    400,
                    "conversation.active",
                    "The recipient has an active conversation.",
                ),
                Refusal::ActiveConversation,
            ),
            (
                refused(
                    409,
                    "general.conflict",
                    "An existing conversation was found for this address",
                ),
                Refusal::ActiveConversation,
            ),
            (
                refused(
                    400,
                    "bad.request",
                    "fromAddress +15559999999 is not a provisioned SMS number",
                ),
                Refusal::Sender,
            ),
            (
                refused(
                    400,
                    "messaging.integration.inactive",
                    "The WhatsApp integration is not active",
                ),
                Refusal::Sender,
            ),
            (
                refused(400, "bad.request", "toAddress must be E.164"),
                Refusal::Other,
            ),
            (
                refused(503, "service.unavailable", "active conversation"),
                Refusal::Other,
            ),
        ];
        for (e, want) in rows {
            assert_eq!(refusal(&e), want, "{e}");
        }
    }

    #[test]
    fn each_refusal_says_what_to_fix() {
        let e = explain_refusal(
            refused(403, "not.authorized", "no"),
            &req("sms"),
            "org-a",
            "acme-client",
        );
        assert_eq!(e.missing_permissions, vec![MESSAGE_CREATE]);
        let hint = e.hint.clone().unwrap();
        assert!(
            hint.contains(MESSAGE_CREATE)
                && hint.contains("acme-client")
                && hint.contains("roles, not scopes"),
            "{hint}"
        );

        let e = explain_refusal(
            refused(400, "conversation.active", "active conversation"),
            &req("sms"),
            "org-a",
            "c",
        );
        let hint = e.hint.clone().unwrap();
        assert!(
            hint.contains("useExistingActiveConversation") && hint.contains("bot"),
            "{hint}"
        );
        assert_eq!(e.field.as_deref(), Some("toAddress"));

        let e = explain_refusal(
            refused(400, "bad.request", "fromAddress is not provisioned"),
            &req("sms"),
            "org-a",
            "c",
        );
        assert!(e
            .hint
            .as_deref()
            .unwrap()
            .contains("+15550000100 is not an SMS number provisioned in org org-a"));
        let e = explain_refusal(
            refused(400, "x", "integration inactive"),
            &req("whatsapp"),
            "org-a",
            "c",
        );
        assert!(e.hint.as_deref().unwrap().contains("not active"), "{e}");

        let cause = BridgeError::upstream(
            Upstream::Genesys,
            ErrorKind::Transport,
            "the request timed out",
        );
        let e = may_have_been_sent(&cause);
        assert_eq!(e.error_type(), "Genesys.MayHaveBeenSent");
        assert!(!e.retryable());
        assert!(e.to_string().contains("may have been sent"), "{e}");
    }

    #[test]
    fn the_request_is_the_documented_body() {
        let mut r = req("whatsapp");
        r.text_body = None;
        r.messaging_template = Some(MessagingTemplate {
            response_id: "resp-1".into(),
            parameters: vec![TemplateParameter {
                id: "name".into(),
                value: "Jane".into(),
            }],
        });
        r.use_existing_active_conversation = Some(true);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"fromAddress": "+15550000100", "toAddress": "+15551230003",
                "toAddressMessengerType": "whatsapp", "useExistingActiveConversation": true,
                "messagingTemplate": {"responseId": "resp-1", "parameters": [{"id": "name", "value": "Jane"}]}})
        );
    }
}
