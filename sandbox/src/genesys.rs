//! Genesys Cloud stand-in: the login host's client-credentials token endpoint and the few
//! `/api/v2` routes the bridge uses, with Genesys' auth, permission and error semantics.

// Handlers short-circuit with the response to send; it is built at most once per request,
// so boxing it would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::journal::Upstream;
use crate::seed::{SMS_NUMBERS_PERMISSION, WHATSAPP_INTEGRATIONS_PERMISSION};
use crate::server::{basic_credentials, bearer_token, empty, json, not_implemented, Req};
use crate::state::{
    address_digits, genesys_time, Contact, Org, Principal, SentMessage, State, HOME_DIVISION_ID,
};
use axum::response::Response;

#[derive(Clone, Copy)]
enum Endpoint {
    TokensMe,
    UsersMe,
    OrganizationsMe,
    Role,
    GetConversation,
    PatchParticipantAttributes,
    GetContact,
    PatchContact,
    AgentlessMessage,
    SmsPhoneNumbers,
    WhatsAppIntegrations,
}

#[derive(Clone, Copy)]
enum Permission {
    None,
    Required(&'static str),
    /// The org's attribute permission: [`crate::seed::ATTRIBUTES_PERMISSION`] unless the seed
    /// overrides it.
    OrgAttributes,
}

struct Route {
    method: &'static str,
    pattern: &'static str,
    endpoint: Endpoint,
    permission: Permission,
}

/// Every implemented `/api/v2` route and the permission it requires, in one place so that a
/// 403 in a test can be traced to a single line. Anything not listed is answered 501, which
/// is how invented paths (`/api/v2/conversations/voice/...`, `/api/v2/contacts/...`,
/// `/api/v2/messaging/organizations/...`) and the media-specific attribute variants fail.
const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        pattern: "/api/v2/tokens/me",
        endpoint: Endpoint::TokensMe,
        permission: Permission::None,
    },
    Route {
        method: "GET",
        pattern: "/api/v2/users/me",
        endpoint: Endpoint::UsersMe,
        permission: Permission::None,
    },
    Route {
        method: "GET",
        pattern: "/api/v2/organizations/me",
        endpoint: Endpoint::OrganizationsMe,
        permission: Permission::None,
    },
    Route {
        method: "GET",
        pattern: "/api/v2/authorization/roles/{roleId}",
        endpoint: Endpoint::Role,
        permission: Permission::Required("authorization:role:view"),
    },
    Route {
        method: "GET",
        pattern: "/api/v2/conversations/{conversationId}",
        endpoint: Endpoint::GetConversation,
        permission: Permission::Required("conversation:communication:view"),
    },
    Route {
        method: "PATCH",
        pattern: "/api/v2/conversations/{conversationId}/participants/{participantId}/attributes",
        endpoint: Endpoint::PatchParticipantAttributes,
        permission: Permission::OrgAttributes,
    },
    Route {
        method: "GET",
        pattern: "/api/v2/externalcontacts/contacts/{contactId}",
        endpoint: Endpoint::GetContact,
        permission: Permission::Required("externalContacts:contact:view"),
    },
    Route {
        method: "PATCH",
        pattern: "/api/v2/externalcontacts/contacts/{contactId}",
        endpoint: Endpoint::PatchContact,
        permission: Permission::Required("externalContacts:contact:edit"),
    },
    Route {
        method: "POST",
        pattern: "/api/v2/conversations/messages/agentless",
        endpoint: Endpoint::AgentlessMessage,
        permission: Permission::Required("conversation:message:create"),
    },
    Route {
        method: "GET",
        pattern: "/api/v2/routing/sms/phonenumbers",
        endpoint: Endpoint::SmsPhoneNumbers,
        permission: Permission::Required(SMS_NUMBERS_PERMISSION),
    },
    Route {
        method: "GET",
        pattern: "/api/v2/conversations/messaging/integrations/whatsapp",
        endpoint: Endpoint::WhatsAppIntegrations,
        permission: Permission::Required(WHATSAPP_INTEGRATIONS_PERMISSION),
    },
];

/// Real sub-resource names that sit where an id could: they must not bind to `{param}`,
/// otherwise `GET /api/v2/conversations/calls` would be a 400 "bad id" instead of a 501.
const RESERVED_SEGMENTS: &[&str] = &[
    "calls",
    "callbacks",
    "chats",
    "cobrowsesessions",
    "emails",
    "messages",
    "messaging",
    "screenshares",
    "socials",
    "videos",
    "participants",
    "schemas",
    "bulk",
    "scan",
    "merge",
];

fn match_route(
    method: &str,
    path: &str,
) -> Option<(&'static Route, BTreeMap<&'static str, String>)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ROUTES
        .iter()
        .filter(|r| r.method == method)
        .find_map(|route| {
            let pattern: Vec<&'static str> = route.pattern.split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut params = BTreeMap::new();
            for (p, s) in pattern.iter().zip(&segments) {
                if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if s.is_empty() || RESERVED_SEGMENTS.contains(s) {
                        return None;
                    }
                    params.insert(name, (*s).to_owned());
                } else if p != s {
                    return None;
                }
            }
            Some((route, params))
        })
}

// ---------------------------------------------------------------- errors

/// A Genesys API error body; `contextId` is the response's `ININ-Correlation-Id`.
pub(crate) fn error(req: &Req, status: u16, code: &str, message: &str) -> Response {
    json(status, &error_body(req, status, code, message))
}

fn error_body(req: &Req, status: u16, code: &str, message: &str) -> Value {
    json!({
        "message": message,
        "code": code,
        "status": status,
        "contextId": req.request_id,
        "details": [],
        "errors": [],
    })
}

fn missing_permission(req: &Req, permission: &str) -> Response {
    let mut body = error_body(
        req,
        403,
        "missing.permissions",
        &format!(
            "Unable to perform the requested action. You are missing the following permission(s): [{permission}]"
        ),
    );
    body["messageWithParams"] = json!(
        "Unable to perform the requested action. You are missing the following permission(s): [{permissions}]"
    );
    body["messageParams"] = json!({ "permissions": permission });
    json(403, &body)
}

fn bad_request(req: &Req, message: &str) -> Response {
    error(req, 400, "bad.request", message)
}

fn not_found(req: &Req) -> Response {
    error(
        req,
        404,
        "not.found",
        "The requested resource was not found.",
    )
}

/// The error a real Genesys API would most plausibly send for `status`, for fault injection.
pub(crate) fn default_error(req: &Req, status: u16) -> Response {
    let (code, message) = match status {
        400 => ("bad.request", "The request could not be understood by the server due to malformed syntax."),
        401 => ("bad.credentials", "Invalid login credentials."),
        403 => ("not.authorized", "You are not authorized to perform the requested action."),
        404 => ("not.found", "The requested resource was not found."),
        409 => ("general.conflict", "The version supplied does not match the current version of the resource."),
        429 => ("too.many.requests", "Rate limit exceeded the maximum. Retry the request in [60] seconds"),
        500 => ("internal.server.error", "The server encountered an unexpected condition which prevented it from fulfilling the request."),
        502 => ("bad.gateway", "The server received an invalid response from an upstream server."),
        503 => ("service.unavailable", "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance)."),
        504 => ("gateway.timeout", "The request timed out."),
        _ => ("sandbox.injected.fault", "Fault injected by bridge-sandbox."),
    };
    error(req, status, code, message)
}

/// The token endpoint's own error shape, which differs from the API's.
fn token_error(status: u16, error: &str, description: &str) -> Response {
    json(
        status,
        &json!({"error": error, "description": description, "error_description": description}),
    )
}

pub(crate) fn default_token_error(status: u16) -> Response {
    match status {
        400 => token_error(400, "invalid_request", "invalid request"),
        401 => token_error(401, "invalid_client", "client not found"),
        429 => token_error(429, "too_many_requests", "rate limit exceeded"),
        s if s >= 500 => token_error(s, "server_error", "internal server error"),
        s => token_error(
            s,
            "sandbox_injected_fault",
            "fault injected by bridge-sandbox",
        ),
    }
}

// ---------------------------------------------------------------- login host

pub(crate) fn login(state: &mut State, req: &Req) -> Response {
    if req.method != "POST" || req.path != "/oauth/token" {
        return not_implemented(Upstream::GenesysLogin, req);
    }
    let (client_id, secret) = match basic_credentials(&req.headers) {
        None => {
            return token_error(
                400,
                "invalid_request",
                "client credentials must be sent with HTTP Basic authentication",
            )
        }
        Some(Err(())) => {
            return token_error(
                400,
                "invalid_request",
                "malformed Basic authorization header",
            )
        }
        Some(Ok(creds)) => creds,
    };
    let org_id = match state.client(&client_id) {
        Some((org, client)) if client.secret == secret => org.id.clone(),
        _ => return token_error(401, "invalid_client", "client not found"),
    };
    // A `scope` field is ignored: client-credentials clients get permissions from roles.
    let grant_type = url::form_urlencoded::parse(&req.body)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned());
    if grant_type.as_deref() != Some("client_credentials") {
        return token_error(
            400,
            "unsupported_grant_type",
            &format!(
                "grant type {:?} is not supported; use client_credentials",
                grant_type.unwrap_or_default()
            ),
        );
    }
    let token = state.issue_token(&org_id, &client_id);
    json(
        200,
        &json!({
            "access_token": token,
            "token_type": "bearer",
            "expires_in": state.token_ttl.as_secs(),
        }),
    )
}

// ---------------------------------------------------------------- API host

// long: the Genesys API route table, one arm per modelled operation.
pub(crate) fn api(state: &mut State, req: &Req) -> Response {
    let Some((route, params)) = match_route(req.method.as_str(), &req.path) else {
        return not_implemented(Upstream::Genesys, req);
    };
    // Only a bearer token authenticates; headers such as X-Genesys-Auth grant nothing.
    let Some(token) = bearer_token(&req.headers) else {
        return error(
            req,
            401,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        );
    };
    let Some((org_id, principal)) = state.token_owner(token) else {
        return error(req, 401, "bad.credentials", "Invalid login credentials.");
    };
    let org_index = state
        .orgs
        .iter()
        .position(|o| o.id == org_id)
        .expect("tokens are only issued for seeded orgs");
    let org = &state.orgs[org_index];
    // A client's permissions come from its roles; a user's from the user's roles. The
    // sandbox models one home division, so roles decide alone.
    let grants = match &principal {
        Principal::Client(id) => {
            &org.clients
                .iter()
                .find(|c| &c.id == id)
                .expect("tokens are only issued for seeded clients")
                .grants
        }
        Principal::User(id) => {
            &org.users
                .iter()
                .find(|u| &u.id == id)
                .expect("user tokens are only seeded for seeded users")
                .grants
        }
    };
    let required = match route.permission {
        Permission::None => None,
        Permission::Required(p) => Some(p.to_owned()),
        Permission::OrgAttributes => Some(org.attribute_permission.clone()),
    };
    if let Some(permission) = required {
        if !grants.has_permission(&permission) {
            return missing_permission(req, &permission);
        }
    }
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    let org = &mut state.orgs[org_index];
    match route.endpoint {
        Endpoint::TokensMe => tokens_me(org, &principal),
        Endpoint::UsersMe => users_me(org, req, &principal),
        Endpoint::OrganizationsMe => json(
            200,
            &json!({
                "id": org.id,
                "name": org.name,
                "domain": org.domain,
                "thirdPartyOrgName": org.third_party_org_name,
                "state": "active",
                "features": {},
                "selfUri": format!("/api/v2/organizations/{}", org.id),
            }),
        ),
        Endpoint::Role => role(org, req, &param("roleId")),
        Endpoint::GetConversation => get_conversation(org, req, &param("conversationId")),
        Endpoint::PatchParticipantAttributes => {
            patch_attributes(org, req, &param("conversationId"), &param("participantId"))
        }
        Endpoint::GetContact => with_contact(org, req, &param("contactId"), |contact, _| {
            json(200, &contact.to_json())
        }),
        Endpoint::PatchContact => with_contact(org, req, &param("contactId"), |contact, req| {
            patch_contact(contact, req)
        }),
        Endpoint::AgentlessMessage => agentless(org, req),
        Endpoint::SmsPhoneNumbers => listing(sms_numbers(org)),
        Endpoint::WhatsAppIntegrations => listing(whatsapp_integrations(org)),
    }
}

fn sms_numbers(org: &Org) -> Vec<Value> {
    org.sms_numbers
        .iter()
        .map(|n| {
            json!({"id": n.id, "name": n.phone_number, "phoneNumber": n.phone_number,
                   "phoneNumberType": "local", "phoneNumberStatus": n.phone_number_status,
                   "countryCode": "US", "selfUri": format!("/api/v2/routing/sms/phonenumbers/{}", n.id)})
        })
        .collect()
}

fn whatsapp_integrations(org: &Org) -> Vec<Value> {
    org.whatsapp_integrations
        .iter()
        .map(|w| {
            json!({"id": w.id, "name": w.name, "phoneNumber": w.phone_number, "status": w.status,
                   "version": 1, "selfUri": format!("/api/v2/conversations/messaging/integrations/whatsapp/{}", w.id)})
        })
        .collect()
}

/// A Genesys entity listing; the sandbox answers every entity on one page.
fn listing(entities: Vec<Value>) -> Response {
    json(
        200,
        &json!({"entities": entities, "pageSize": entities.len().max(25), "pageNumber": 1,
                "total": entities.len(), "pageCount": 1}),
    )
}

fn tokens_me(org: &Org, principal: &Principal) -> Response {
    let mut out = json!({
        "organization": {"id": org.id, "name": org.name, "selfUri": format!("/api/v2/organizations/{}", org.id)},
        "homeOrganization": {"id": org.id, "name": org.name, "thirdPartyOrgName": org.third_party_org_name},
    });
    // A user token's client app is not modelled: only client tokens name their client.
    if let Principal::Client(client_id) = principal {
        let client = org
            .clients
            .iter()
            .find(|c| &c.id == client_id)
            .expect("checked by caller");
        let mut role_ids: Vec<&str> = client.grants.roles.iter().map(|r| r.id.as_str()).collect();
        role_ids.dedup();
        let role_divisions: Vec<Value> = role_ids
            .iter()
            .map(|id| json!({"roleId": id, "divisionId": HOME_DIVISION_ID}))
            .collect();
        out["OAuthClient"] = json!({
            "id": client.id,
            "name": client.name,
            "roleDivisions": role_divisions,
            "organization": {"id": org.id},
        });
    }
    json(200, &out)
}

/// `GET /api/v2/users/me`: the token's user. A client-credentials token has none.
fn users_me(org: &Org, req: &Req, principal: &Principal) -> Response {
    let Some(user_id) = principal.user_id() else {
        // [U] upstream-facts does not say what Genesys answers here; the bridge treats any
        // 4xx other than 401/429 as "this token has no user".
        return bad_request(
            req,
            "This request requires a user context. Client credentials cannot be used for requests to this resource.",
        );
    };
    let user = org
        .users
        .iter()
        .find(|u| u.id == user_id)
        .expect("user tokens are only seeded for seeded users");
    json(
        200,
        &json!({
            "id": user.id,
            "name": user.name,
            "state": "active",
            "selfUri": format!("/api/v2/users/{}", user.id),
        }),
    )
}

fn role(org: &Org, req: &Req, role_id: &str) -> Response {
    let Some(role) = org
        .clients
        .iter()
        .flat_map(|c| c.grants.roles.iter())
        .find(|r| r.id == role_id)
    else {
        return not_found(req);
    };
    // permissionPolicies are the structured form of the same grants: domain:entity:action.
    let mut policies: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for permission in &role.permissions {
        let mut parts = permission.splitn(3, ':');
        let (Some(domain), Some(entity), Some(action)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        policies
            .entry((domain.to_owned(), entity.to_owned()))
            .or_default()
            .push(action.to_owned());
    }
    let policies: Vec<Value> = policies
        .into_iter()
        .map(|((domain, entity), actions)| {
            json!({"domain": domain, "entityName": entity, "actionSet": actions})
        })
        .collect();
    json(
        200,
        &json!({
            "id": role.id,
            "name": role.name,
            "permissions": role.permissions,
            "permissionPolicies": policies,
            "selfUri": format!("/api/v2/authorization/roles/{}", role.id),
        }),
    )
}

fn check_uuid(req: &Req, name: &str, value: &str) -> Result<(), Response> {
    uuid::Uuid::parse_str(value)
        .map(|_| ())
        .map_err(|_| bad_request(req, &format!("{name} {value:?} is not a valid UUID")))
}

fn get_conversation(org: &Org, req: &Req, conversation_id: &str) -> Response {
    if let Err(response) = check_uuid(req, "conversationId", conversation_id) {
        return response;
    }
    // Only the token's org is searched: another org's conversation is indistinguishable
    // from a missing one, as in Genesys (org boundaries never leak existence).
    match org.conversations.iter().find(|c| c.id == conversation_id) {
        Some(conversation) => json(200, &conversation.to_json()),
        None => not_found(req),
    }
}

fn patch_attributes(
    org: &mut Org,
    req: &Req,
    conversation_id: &str,
    participant_id: &str,
) -> Response {
    if let Err(response) = check_uuid(req, "conversationId", conversation_id)
        .and_then(|()| check_uuid(req, "participantId", participant_id))
    {
        return response;
    }
    let attributes = match parse_attributes(&req.body) {
        Ok(attributes) => attributes,
        Err(message) => return bad_request(req, &message),
    };
    let Some(conversation) = org
        .conversations
        .iter_mut()
        .find(|c| c.id == conversation_id)
    else {
        return not_found(req);
    };
    let ended = conversation.end_time.is_some();
    let Some(participant) = conversation
        .participants
        .iter_mut()
        .find(|p| p.id == participant_id)
    else {
        return not_found(req);
    };
    // Sandbox modelling decision: upstream-facts only says attributes written after a
    // conversation ends "are not kept"; Genesys still accepts the request. So the sandbox
    // answers 202 and drops the write, which is the outcome a client cannot see from the
    // response and must avoid by writing before the end.
    if !ended {
        // Merge: only the sent keys change; "" is stored as an empty string, not a delete.
        participant.attributes.extend(attributes);
    }
    empty(202)
}

fn parse_attributes(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("The request body is not valid JSON: {e}"))?;
    let Some(attributes) = value.get("attributes") else {
        return Err("attributes is required: send {\"attributes\": {\"key\": \"value\"}}".into());
    };
    let Value::Object(attributes) = attributes else {
        return Err("attributes must be an object of string values".into());
    };
    attributes
        .iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key.clone(), s.clone())),
            other => Err(format!(
                "attribute {key:?} must be a string, not {}",
                json_kind(other)
            )),
        })
        .collect()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn with_contact(
    org: &mut Org,
    req: &Req,
    contact_id: &str,
    f: impl FnOnce(&mut Contact, &Req) -> Response,
) -> Response {
    if let Err(response) = check_uuid(req, "contactId", contact_id) {
        return response;
    }
    match org.contacts.iter_mut().find(|c| c.id == contact_id) {
        Some(contact) => f(contact, req),
        None => error(
            req,
            404,
            "contact.not.found",
            "The contact could not be found.",
        ),
    }
}

/// Top-level contact fields the sandbox lets a field-level PATCH change (all strings).
const TOP_LEVEL_STRING_FIELDS: &[&str] = &[
    "firstName",
    "middleName",
    "lastName",
    "salutation",
    "title",
    "workEmail",
    "personalEmail",
    "otherEmail",
];

enum FieldPath {
    Custom(String),
    TopLevel(String),
}

fn patch_contact(contact: &mut Contact, req: &Req) -> Response {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(body) => body,
        Err(e) => return bad_request(req, &format!("The request body is not valid JSON: {e}")),
    };
    let Some(Value::Array(changes)) = body.get("changes") else {
        return bad_request(req, "changes is required and must be an array");
    };
    // Validate every change before applying any, so a bad change leaves the contact as it was.
    let mut fields = contact.fields.clone();
    for change in changes {
        match read_change(change, req) {
            Ok((path, action, value)) => apply_change(&mut fields, path, action, value),
            Err(response) => return response,
        }
    }
    contact.fields = fields;
    contact.version += 1;
    contact.modify_date = genesys_time(OffsetDateTime::now_utc());
    json(200, &contact.to_json())
}

/// One change of an external contact PATCH: its field, action and value, or the refusal.
fn read_change<'a>(
    change: &'a Value,
    req: &Req,
) -> Result<(FieldPath, &'a str, Option<&'a Value>), Response> {
    let field = change.get("field").and_then(Value::as_str).unwrap_or("");
    let action = change.get("action").and_then(Value::as_str).unwrap_or("");
    let value = change.get("value").filter(|v| !v.is_null());
    let path = if let Some(name) = field.strip_prefix("$.customFields.") {
        if name.is_empty() || name.contains('.') {
            return Err(bad_request(
                req,
                &format!("Unsupported field path {field:?}"),
            ));
        }
        FieldPath::Custom(name.to_owned())
    } else if let Some(name) = field
        .strip_prefix("$.")
        .filter(|n| TOP_LEVEL_STRING_FIELDS.contains(n))
    {
        FieldPath::TopLevel(name.to_owned())
    } else {
        return Err(bad_request(
            req,
            &format!("Unsupported field path {field:?}"),
        ));
    };
    match action {
        "Update" | "UpdateIfEmpty" | "UpdateIfExists" | "Remove" => {}
        // Real actions the sandbox does not model: fail loudly rather than pretend.
        "AppendToCollection" | "RemoveFromCollection" => {
            return Err(error(
                req,
                501,
                "sandbox.not.implemented",
                &format!(
                    "bridge-sandbox does not implement external contact PATCH action {action:?}"
                ),
            ))
        }
        other => {
            return Err(bad_request(
                req,
                &format!("Unknown action {other:?} for field {field:?}"),
            ))
        }
    }
    if action != "Remove" {
        match (value, &path) {
            (None, _) => {
                return Err(bad_request(
                    req,
                    &format!("value is required for action {action:?} on {field:?}"),
                ))
            }
            (Some(v), FieldPath::TopLevel(_)) if !v.is_string() => {
                return Err(bad_request(
                    req,
                    &format!("{field:?} must be a string, not {}", json_kind(v)),
                ))
            }
            _ => {}
        }
    }
    Ok((path, action, value))
}

/// Applies one checked change to the contact's fields (a copy until every change is read).
fn apply_change(
    fields: &mut Map<String, Value>,
    path: FieldPath,
    action: &str,
    value: Option<&Value>,
) {
    let slot: &mut Map<String, Value> = match &path {
        FieldPath::TopLevel(_) => fields,
        FieldPath::Custom(_) => {
            let custom = fields
                .entry("customFields")
                .or_insert_with(|| Value::Object(Map::new()));
            if !custom.is_object() {
                *custom = Value::Object(Map::new());
            }
            custom.as_object_mut().expect("just made an object")
        }
    };
    let key = match &path {
        FieldPath::TopLevel(k) | FieldPath::Custom(k) => k.clone(),
    };
    let is_empty = match slot.get(&key) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    };
    let exists = !matches!(slot.get(&key), None | Some(Value::Null));
    let value = value.cloned().unwrap_or(Value::Null);
    match action {
        "Update" => {
            slot.insert(key, value);
        }
        "UpdateIfEmpty" if is_empty => {
            slot.insert(key, value);
        }
        "UpdateIfExists" if exists => {
            slot.insert(key, value);
        }
        "Remove" => {
            slot.remove(&key);
        }
        _ => {}
    }
}

/// `POST /api/v2/conversations/messages/agentless`: the refusals upstream-facts describes,
/// with codes and texts the sandbox chose [U: Genesys' own are not in upstream-facts].
fn agentless(org: &mut Org, req: &Req) -> Response {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(body) => body,
        Err(e) => return bad_request(req, &format!("The request body is not valid JSON: {e}")),
    };
    for field in ["fromAddress", "toAddress", "toAddressMessengerType"] {
        if !body.get(field).is_some_and(Value::is_string) {
            return bad_request(req, &format!("{field} is required"));
        }
    }
    let text = body.get("textBody").and_then(Value::as_str);
    if text.is_none() && body.get("messagingTemplate").is_none() {
        return bad_request(req, "one of textBody or messagingTemplate is required");
    }
    let from = body["fromAddress"].as_str().unwrap_or_default();
    let to = body["toAddress"].as_str().unwrap_or_default();
    let kind = body["toAddressMessengerType"].as_str().unwrap_or_default();
    let refused = match kind {
        "sms" => check_sms(org, req, from, to, text),
        "whatsapp" => check_whatsapp(org, req, &body, from, to, text),
        other => {
            return error(
                req,
                501,
                "sandbox.not.implemented",
                &format!("bridge-sandbox does not model agentless messages of type {other:?}"),
            )
        }
    };
    if let Err(response) = refused {
        return response;
    }
    let use_existing = body
        .get("useExistingActiveConversation")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let active = org
        .messaging_conversations
        .iter()
        .find(|c| c.messenger_type == kind && address_digits(&c.address) == address_digits(to));
    let conversation_id = match (active, use_existing) {
        (Some(c), true) => c.id.clone(),
        (Some(_), false) => {
            return error(
                req,
                400,
                "conversation.active",
                "The recipient already has an active conversation. Set useExistingActiveConversation to true to send the message into it.",
            )
        }
        (None, _) => uuid::Uuid::new_v4().to_string(),
    };
    let sent = SentMessage {
        id: uuid::Uuid::new_v4().to_string(),
        conversation_id,
        request: body.clone(),
    };
    let response = json!({
        "id": sent.id,
        "conversationId": sent.conversation_id,
        "fromAddress": body["fromAddress"],
        "toAddress": body["toAddress"],
        "messengerType": body["toAddressMessengerType"],
        "textBody": body.get("textBody"),
        "messagingTemplate": body.get("messagingTemplate"),
        "useExistingActiveConversation": use_existing,
        "timestamp": genesys_time(OffsetDateTime::now_utc()),
        "selfUri": format!("/api/v2/conversations/messages/{}", sent.id),
    });
    org.sent_messages.push(sent);
    json(202, &response)
}

fn check_sms(
    org: &Org,
    req: &Req,
    from: &str,
    to: &str,
    text: Option<&str>,
) -> Result<(), Response> {
    if !org
        .sms_numbers
        .iter()
        .any(|n| n.phone_number == from && n.phone_number_status.eq_ignore_ascii_case("active"))
    {
        return Err(error(
            req,
            400,
            "messaging.fromaddress.invalid",
            &format!("fromAddress {from} is not a provisioned SMS number of this organization."),
        ));
    }
    let e164 = to.strip_prefix('+').is_some_and(|d| {
        (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    });
    if !e164 {
        return Err(bad_request(
            req,
            "toAddress must be a phone number in E.164 format for the sms messenger type.",
        ));
    }
    match text {
        None => Err(bad_request(
            req,
            "textBody is required for the sms messenger type.",
        )),
        Some(t) if t.chars().count() > 765 => Err(bad_request(
            req,
            "textBody exceeds the maximum of 765 characters for SMS.",
        )),
        Some(_) => Ok(()),
    }
}

fn check_whatsapp(
    org: &Org,
    req: &Req,
    body: &Value,
    from: &str,
    to: &str,
    text: Option<&str>,
) -> Result<(), Response> {
    match org.whatsapp_integrations.iter().find(|w| w.id == from) {
        None => {
            return Err(error(
                req,
                400,
                "messaging.fromaddress.invalid",
                &format!("fromAddress {from} is not a WhatsApp integration of this organization."),
            ))
        }
        Some(w) if !w.status.eq_ignore_ascii_case("active") => {
            return Err(error(
                req,
                400,
                "messaging.integration.inactive",
                &format!("The WhatsApp integration {from} is not active."),
            ))
        }
        Some(_) => {}
    }
    if to.is_empty() || !to.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_request(
            req,
            "toAddress must be the E.164 number without the leading + for the whatsapp messenger type.",
        ));
    }
    if !body
        .get("messagingTemplate")
        .and_then(|t| t.get("responseId"))
        .is_some_and(Value::is_string)
    {
        return Err(bad_request(
            req,
            "messagingTemplate with a responseId is required for the whatsapp messenger type.",
        ));
    }
    if text.is_some_and(|t| t.chars().count() > 2000) {
        return Err(bad_request(
            req,
            "textBody exceeds the maximum of 2000 characters.",
        ));
    }
    Ok(())
}
