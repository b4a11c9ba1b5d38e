//! What a Genesys user's token may ask for on `POST /orgs/{orgId}/user/events`, and the
//! rule it must meet. Pure: the conversation is read by `apply`, with the user's token.
//!
//! A user token can cause only what its own user could do: it may send the command
//! `participant.attributes`, for a conversation that has a participant who is that user,
//! and the write is then made with the same token (so Genesys applies the user's
//! permissions and divisions). Everything else is refused with 403, naming what a user
//! token may do.

use std::collections::BTreeMap;

use bridge::genesys::Conversation;
use bridge::input::{preview, Fields, PREVIEW_CHARS};
use bridge::jobs::Job;
use bridge::{BridgeError, ErrorKind, OrgConfig};
use serde_json::Value;

use super::{command, https_event_id};
use crate::input::HttpRequest;

/// The one command a user token may send.
pub const USER_COMMAND: &str = "participant.attributes";

/// What a user token may do, in the words every refusal uses.
const MAY: &str = "a Genesys user token may only send the command participant.attributes, for a conversation its user is a participant of (other commands and notifications need the org's shared secret or an HMAC signature on POST /orgs/{orgId}/events)";

/// A user's write, checked against the org's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWrite {
    pub org_id: String,
    pub user_id: String,
    /// `user:<userId>:<event id>`: a user's keys never collide with another caller's.
    pub event_id: String,
    pub conversation_id: String,
    pub participant_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// Why a user request is refused before any call.
#[derive(Debug)]
pub enum Refusal {
    /// 400: the body is malformed; names the field.
    BadRequest(BridgeError),
    /// 403: a user token may not ask for this.
    Forbidden(BridgeError),
}

/// Reads a user's request: a `participant.attributes` command within `cfg`'s limits.
pub fn request(
    cfg: &OrgConfig,
    req: &HttpRequest,
    user_id: &str,
    now_ms: u64,
) -> Result<UserWrite, Refusal> {
    let body: Value = serde_json::from_slice(&req.body).map_err(|e| {
        Refusal::BadRequest(BridgeError::validation(
            "body",
            format!("expected a JSON object: {e}"),
        ))
    })?;
    let c = Fields::of(&body, "body").map_err(Refusal::BadRequest)?;
    let asked = match c.get("command") {
        Some(Value::String(k)) => k.trim().to_string(),
        Some(_) => {
            return Err(Refusal::BadRequest(
                c.invalid("command", "expected a string"),
            ))
        }
        None if c.get("topicName").is_some() => "a notification".to_string(),
        None => {
            return Err(Refusal::BadRequest(c.invalid(
                "command",
                format!("expected {{\"command\": \"{USER_COMMAND}\", \"payload\": {{...}}}}"),
            )))
        }
    };
    if asked != USER_COMMAND {
        return Err(Refusal::Forbidden(
            BridgeError::new(
                ErrorKind::Forbidden,
                format!(
                    "{MAY}; this request is {:?}",
                    preview(&asked, PREVIEW_CHARS)
                ),
            )
            .with_org(&cfg.org_id)
            .with_field("body.command"),
        ));
    }
    let routed =
        command::route(&cfg.rules, &cfg.messaging, &body, now_ms).map_err(Refusal::BadRequest)?;
    let Some(Job::ParticipantAttributes(a)) = routed.jobs.into_iter().next() else {
        return Err(Refusal::BadRequest(BridgeError::internal(
            "participant.attributes made no attribute job",
        )));
    };
    let event_id = https_event_id(req, body.get("id")).map_err(Refusal::BadRequest)?;
    Ok(UserWrite {
        org_id: cfg.org_id.clone(),
        user_id: user_id.to_string(),
        event_id: format!("user:{user_id}:{event_id}"),
        conversation_id: a.conversation_id,
        participant_id: a.participant_id,
        attributes: a.attributes,
    })
}

/// The user must be a participant of the conversation (as Genesys showed it to the user's
/// own token); otherwise 403 and nothing is written.
pub fn check_participant(conversation: &Conversation, w: &UserWrite) -> Result<(), BridgeError> {
    if conversation.has_user(&w.user_id) {
        return Ok(());
    }
    Err(BridgeError::new(
        ErrorKind::Forbidden,
        format!(
            "user {} is not a participant of conversation {}; {MAY}",
            w.user_id, w.conversation_id
        ),
    )
    .with_org(&w.org_id)
    .with_field("payload.conversationId"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Route;
    use crate::plan::tests::{AGENT, CONV, CUST};
    use aws_lambda_events::http::HeaderMap;
    use serde_json::json;

    const USER: &str = "d0a00001-0000-4000-8000-000000000000";

    fn cfg() -> OrgConfig {
        let mut doc: Value = serde_json::from_str(include_str!(
            "../../../../examples/orgs/4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11.json"
        ))
        .unwrap();
        doc["rules"]["attributeLimits"] =
            json!({"maxKeys": 3, "maxKeyChars": 10, "maxValueChars": 5});
        OrgConfig::from_json(&doc.to_string()).unwrap()
    }

    fn req(body: Value) -> HttpRequest {
        HttpRequest {
            route: Route::UserEvents,
            org_id: Some("4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11".into()),
            path_org: "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11".into(),
            headers: HeaderMap::new(),
            idempotency_key: None,
            body: body.to_string().into_bytes(),
            request_id: None,
        }
    }

    #[test]
    fn only_participant_attributes_and_nothing_else() {
        let ok = json!({"command": "participant.attributes", "id": "k1",
                        "payload": {"conversationId": CONV, "participantId": CUST, "attributes": {"tier": "gold"}}});
        let w = request(&cfg(), &req(ok), USER, 5).unwrap();
        assert_eq!(w.event_id, format!("user:{USER}:k1"));
        assert_eq!(
            (w.conversation_id.as_str(), w.participant_id.as_str()),
            (CONV, CUST)
        );
        assert_eq!(w.attributes.get("tier").map(String::as_str), Some("gold"));

        for (body, what) in [
            (
                json!({"command": "contact.fields", "payload": {}}),
                "\"contact.fields\"",
            ),
            (
                json!({"command": "ticket.wrapup", "payload": {"conversationId": CONV, "participantId": AGENT}}),
                "\"ticket.wrapup\"",
            ),
            (
                json!({"command": "participant.enrich"}),
                "\"participant.enrich\"",
            ),
            (
                json!({"topicName": "v2.detail.events.conversation.x.acw", "eventBody": {}}),
                "\"a notification\"",
            ),
        ] {
            match request(&cfg(), &req(body.clone()), USER, 5) {
                Err(Refusal::Forbidden(e)) => {
                    assert_eq!(e.error_type(), "Bridge.Forbidden");
                    assert!(
                        e.message
                            .contains("may only send the command participant.attributes")
                            && e.message.contains(what),
                        "{body}: {e}"
                    );
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        for (body, field) in [
            (json!([1]), "body"),
            (json!({"command": 5}), "body.command"),
            (json!({"payload": {}}), "body.command"),
            (
                json!({"command": "participant.attributes", "payload": {"conversationId": "x"}}),
                "payload.conversationId",
            ),
            (
                json!({"command": "participant.attributes", "payload": {"conversationId": CONV, "participantId": CUST, "attributes": {"a": "toolong"}}}),
                "payload.attributes.a",
            ),
        ] {
            match request(&cfg(), &req(body.clone()), USER, 5) {
                Err(Refusal::BadRequest(e)) => {
                    assert_eq!(e.field.as_deref(), Some(field), "{body}: {e}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_user_must_be_a_participant() {
        let w = UserWrite {
            org_id: "o".into(),
            user_id: USER.into(),
            event_id: "e".into(),
            conversation_id: CONV.into(),
            participant_id: CUST.into(),
            attributes: BTreeMap::new(),
        };
        let conv = |agent_user: Option<&str>| -> Conversation {
            serde_json::from_value(json!({"id": CONV, "participants": [
                {"id": CUST, "purpose": "customer"},
                {"id": AGENT, "purpose": "agent", "userId": agent_user}
            ]}))
            .unwrap()
        };
        assert!(check_participant(&conv(Some(USER)), &w).is_ok());
        assert!(check_participant(&conv(Some(&USER.to_uppercase())), &w).is_ok());
        for other in [Some("d0a00002-0000-4000-8000-000000000000"), None] {
            let e = check_participant(&conv(other), &w).unwrap_err();
            assert_eq!(e.error_type(), "Bridge.Forbidden");
            assert!(e.message.contains("is not a participant"), "{e}");
        }
    }
}
