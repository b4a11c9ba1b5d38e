//! Reading Genesys Cloud error answers: the API body, the token endpoint's body, and the
//! permission names inside 403 messages (the actionable part).

use serde::Deserialize;

use crate::error::{BridgeError, ErrorKind, Upstream};
use crate::http::{ErrorReader, RawResponse};

/// `{message, code, status, messageWithParams, messageParams, contextId, details, errors}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message_params: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub context_id: Option<String>,
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
}

/// Token endpoint: `{error, description, error_description}`.
#[derive(Debug, Default, Deserialize)]
pub struct TokenErrorBody {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// Pulls `domain:entity:action` names out of a 403 message or its params, in order, once.
pub fn extract_permissions(body: &ApiErrorBody) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut scan = |text: &str| {
        for token in text.split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | '[' | ']' | '"' | '(' | ')' | ';')
        }) {
            let t = token.trim_end_matches('.');
            let parts: Vec<&str> = t.split(':').collect();
            let ok = parts.len() == 3
                && parts.iter().all(|p| {
                    p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '*')
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '_' || c == '-')
                });
            if ok && !out.iter().any(|x| x == t) {
                out.push(t.to_string());
            }
        }
    };
    if let Some(params) = &body.message_params {
        for v in params.values() {
            if let Some(s) = v.as_str() {
                scan(s);
            }
        }
    }
    // The message is read only when the params name no permission.
    let from_params = body.message_params.as_ref().is_some_and(|p| {
        p.values()
            .any(|v| v.as_str().is_some_and(|s| s.contains(':')))
    });
    if !from_params {
        if let Some(m) = &body.message {
            scan(m);
        }
    }
    out
}

/// Whose credential an API call carried: what an error names and which fix it suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// The org's OAuth client (client credentials; permissions from its roles).
    Client(&'a str),
    /// A token the caller presented (a Genesys user's; permissions from the user's roles).
    Caller,
}

impl Credential<'_> {
    fn describe(&self) -> String {
        match self {
            Credential::Client(id) => format!("OAuth client {id}"),
            Credential::Caller => "the caller's Genesys token".to_string(),
        }
    }
}

/// Reads API (`api.<domain>`) answers.
pub struct ApiReader<'a> {
    pub org_id: &'a str,
    pub credential: Credential<'a>,
    pub region: &'a str,
}

impl ApiReader<'_> {
    /// The fix for `kind`, for the credential that was used.
    fn hint(&self, kind: ErrorKind, code: Option<&str>, permissions: &[String]) -> String {
        let list = || {
            if permissions.is_empty() {
                "the permission named in the message".to_string()
            } else if code == Some("missing.any.permissions") {
                format!("at least one of {}", permissions.join(", "))
            } else {
                permissions.join(", ")
            }
        };
        match (self.credential, kind) {
            (Credential::Caller, ErrorKind::MissingPermission) => format!(
                "the token's user lacks {}; an admin of org {} grants it through the user's roles (Admin > People > the user > Roles, with the right divisions)",
                list(),
                self.org_id
            ),
            (Credential::Caller, ErrorKind::Forbidden) => format!(
                "the token's user is not allowed to do this in org {}; check the user's roles and their divisions",
                self.org_id
            ),
            (Credential::Caller, ErrorKind::BadCredentials) => format!(
                "Genesys refused the caller's token (expired, revoked, or not of org {} in {}): sign in again and send a fresh token",
                self.org_id, self.region
            ),
            (Credential::Caller, ErrorKind::RateLimited) => {
                "Genesys is throttling the caller's token; retry later (honour Retry-After)".to_string()
            }
            (Credential::Client(client), ErrorKind::MissingPermission) => format!(
                "assign a role granting {} to OAuth client {client} in org {} (Admin > Integrations > OAuth > the client > Roles, with the right divisions). Client-credentials clients get permissions from roles, not scopes",
                list(),
                self.org_id
            ),
            (Credential::Client(client), ErrorKind::Forbidden) => format!(
                "OAuth client {client} is not authorized for this; check its roles and their divisions in org {}",
                self.org_id
            ),
            (Credential::Client(client), ErrorKind::BadCredentials) => format!(
                "the access token was refused even after a fresh one was issued: check that OAuth client {client} still exists and has roles in org {} ({})",
                self.org_id, self.region
            ),
            (Credential::Client(client), ErrorKind::RateLimited) => format!(
                "Genesys is throttling OAuth client {client}; retry later (honour Retry-After)"
            ),
            (_, ErrorKind::NotFound) => format!(
                "not found in org {} ({}): the id may be wrong, or belong to another org or region",
                self.org_id, self.region
            ),
            (_, ErrorKind::Conflict) => {
                "the resource changed concurrently: read it again and retry".to_string()
            }
            (_, ErrorKind::ServerError) => "Genesys failed on its side; retry later and quote the correlation id to Genesys support".to_string(),
            _ => "the request was rejected as invalid; see the message".to_string(),
        }
    }
}

impl ErrorReader for ApiReader<'_> {
    fn upstream(&self) -> Upstream {
        Upstream::Genesys
    }
    fn correlation_header(&self) -> &'static str {
        "inin-correlation-id"
    }
    fn read_error(&self, resp: &RawResponse) -> BridgeError {
        let body: ApiErrorBody = serde_json::from_slice(&resp.body).unwrap_or_default();
        let code = body.code.clone();
        let message = body
            .message
            .clone()
            .unwrap_or_else(|| format!("HTTP {} with no error message", resp.status));
        let permissions = if resp.status == 403 {
            extract_permissions(&body)
        } else {
            Vec::new()
        };
        let kind = match (resp.status, code.as_deref()) {
            (401, _) => ErrorKind::BadCredentials,
            (403, Some("missing.permissions" | "missing.any.permissions")) => {
                ErrorKind::MissingPermission
            }
            (403, _) if !permissions.is_empty() => ErrorKind::MissingPermission,
            (403, _) => ErrorKind::Forbidden,
            (404, _) => ErrorKind::NotFound,
            (409, _) => ErrorKind::Conflict,
            (429, _) => ErrorKind::RateLimited,
            (s, _) if s >= 500 => ErrorKind::ServerError,
            _ => ErrorKind::InvalidRequest,
        };
        let hint = self.hint(kind, code.as_deref(), &permissions);
        let mut e = BridgeError::upstream(Upstream::Genesys, kind, message)
            .with_status(resp.status)
            .with_correlation_id(resp.correlation_id.clone().or(body.context_id))
            .with_credential(self.credential.describe())
            .with_hint(hint)
            .with_retry_after(resp.retry_after());
        e.code = code;
        e.missing_permissions = permissions;
        if let Some(field) = body
            .details
            .iter()
            .find_map(|d| d.get("fieldName").and_then(|f| f.as_str()))
        {
            e.field = Some(field.to_string());
        }
        e
    }
}

/// Reads token endpoint (`login.<domain>`) answers.
pub struct TokenReader<'a> {
    pub org_id: &'a str,
    pub client_id: &'a str,
    pub region: &'a str,
    pub location: &'a str,
}

impl TokenReader<'_> {
    fn text_says_rate_limited(resp: &RawResponse) -> bool {
        resp.text().to_ascii_lowercase().contains("rate limit")
    }
}

impl ErrorReader for TokenReader<'_> {
    fn upstream(&self) -> Upstream {
        Upstream::Genesys
    }
    fn correlation_header(&self) -> &'static str {
        "inin-correlation-id"
    }
    fn is_throttled(&self, resp: &RawResponse) -> bool {
        // Seen in the vendor's Terraform provider: throttling as 400 invalid_request.
        resp.status == 400 && TokenReader::text_says_rate_limited(resp)
    }
    fn read_error(&self, resp: &RawResponse) -> BridgeError {
        let body: TokenErrorBody = serde_json::from_slice(&resp.body).unwrap_or_default();
        let code = body.error.clone();
        let text = body
            .error_description
            .clone()
            .or(body.description.clone())
            .unwrap_or_else(|| format!("HTTP {}", resp.status));
        let (kind, hint) = if resp.status == 429 || self.is_throttled(resp) {
            (
                ErrorKind::RateLimited,
                "the Genesys token endpoint is throttling this client; tokens are cached per org, so this clears by itself — retry later".to_string(),
            )
        } else if resp.status == 401
            || matches!(
                code.as_deref(),
                Some("invalid_client" | "unauthorized_client")
            )
        {
            (
                ErrorKind::BadCredentials,
                format!(
                    "login.{} rejected OAuth client {}: check the client id and secret in {}, that the client uses the Client Credentials grant, and that it was created in this org's region ({}) — a client of another region is unknown here",
                    self.region, self.client_id, self.location, self.region
                ),
            )
        } else if code.as_deref() == Some("unsupported_grant_type") {
            (
                ErrorKind::InvalidRequest,
                format!(
                    "OAuth client {} must use the Client Credentials grant type",
                    self.client_id
                ),
            )
        } else if resp.status >= 500 {
            (
                ErrorKind::ServerError,
                "Genesys login failed on its side; retry later".to_string(),
            )
        } else {
            (
                ErrorKind::InvalidRequest,
                "the token request was rejected; see the message".to_string(),
            )
        };
        let mut e = BridgeError::upstream(
            Upstream::Genesys,
            kind,
            format!("token request failed: {text}"),
        )
        .with_status(resp.status)
        .with_org(self.org_id)
        .with_correlation_id(resp.correlation_id.clone())
        .with_credential(format!("OAuth client {}", self.client_id))
        .with_hint(hint)
        .with_retry_after(resp.retry_after());
        e.code = code;
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use reqwest::header::{HeaderMap, HeaderValue};
    use serde_json::json;

    fn resp(status: u16, body: serde_json::Value) -> RawResponse {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        RawResponse {
            status,
            headers,
            body: Bytes::from(body.to_string()),
            correlation_id: Some("corr-1".into()),
        }
    }

    fn api() -> ApiReader<'static> {
        ApiReader {
            org_id: "org-a",
            credential: Credential::Client("client-a"),
            region: "mypurecloud.ie",
        }
    }

    #[test]
    fn permission_extraction_table() {
        let rows: Vec<(serde_json::Value, Vec<&str>)> = vec![
            (
                json!({"message": "Unable to perform the requested action. You are missing the following permission(s): [conversation:communication:view]", "code": "missing.permissions"}),
                vec!["conversation:communication:view"],
            ),
            (
                json!({"message": "You are missing the following permission(s): externalContacts:contact:edit, externalContacts:contact:view.", "code": "missing.permissions"}),
                vec![
                    "externalContacts:contact:edit",
                    "externalContacts:contact:view",
                ],
            ),
            (
                json!({"message": "x", "code": "missing.any.permissions", "messageParams": {"permissions": "analytics:conversationDetail:view, analytics:*:*"}}),
                vec!["analytics:conversationDetail:view", "analytics:*:*"],
            ),
            (
                json!({"message": "Not authorized", "code": "not.authorized"}),
                vec![],
            ),
            (
                json!({"message": "time 10:30:00 is not a permission"}),
                vec![],
            ),
        ];
        for (body, want) in rows {
            let b: ApiErrorBody = serde_json::from_value(body.clone()).unwrap();
            let got = extract_permissions(&b);
            assert_eq!(got, want, "{body}");
        }
    }

    #[test]
    fn api_error_classification() {
        let rows = [
            (
                401,
                json!({"code": "bad.credentials", "message": "Invalid login credentials."}),
                ErrorKind::BadCredentials,
            ),
            (
                403,
                json!({"code": "missing.permissions", "message": "missing: [a:b:c]"}),
                ErrorKind::MissingPermission,
            ),
            (
                403,
                json!({"code": "not.authorized", "message": "no"}),
                ErrorKind::Forbidden,
            ),
            (
                404,
                json!({"code": "not.found", "message": "gone"}),
                ErrorKind::NotFound,
            ),
            (
                409,
                json!({"code": "invalid.update.wrong.version"}),
                ErrorKind::Conflict,
            ),
            (
                429,
                json!({"code": "too.many.requests"}),
                ErrorKind::RateLimited,
            ),
            (503, json!({}), ErrorKind::ServerError),
            (
                400,
                json!({"code": "bad.request", "details": [{"fieldName": "attributes"}]}),
                ErrorKind::InvalidRequest,
            ),
        ];
        for (status, body, kind) in rows {
            let e = api().read_error(&resp(status, body));
            assert_eq!(e.kind, kind, "{status}");
            assert_eq!(e.upstream, Some(Upstream::Genesys));
            assert_eq!(e.correlation_id.as_deref(), Some("corr-1"));
        }
        let e = api().read_error(&resp(403, json!({"code": "missing.permissions", "message": "You are missing the following permission(s): [conversation:communication:view]"})));
        assert_eq!(
            e.missing_permissions,
            vec!["conversation:communication:view"]
        );
        assert!(e.hint.as_deref().unwrap().contains("client-a"));
        assert!(e
            .hint
            .as_deref()
            .unwrap()
            .contains("conversation:communication:view"));
        let e = api().read_error(&resp(
            400,
            json!({"code": "bad.request", "details": [{"fieldName": "attributes"}]}),
        ));
        assert_eq!(e.field.as_deref(), Some("attributes"));
        let e = api().read_error(&resp(429, json!({})));
        assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));

        // A caller's token: the fix is the user's roles, and no OAuth client is named.
        let caller = ApiReader {
            credential: Credential::Caller,
            ..api()
        };
        let e = caller.read_error(&resp(403, json!({"code": "missing.permissions", "message": "You are missing the following permission(s): [conversation:communication:view]"})));
        assert_eq!(e.error_type(), "Genesys.MissingPermission");
        let hint = e.hint.as_deref().unwrap();
        assert!(
            hint.contains("user's roles") && hint.contains("conversation:communication:view"),
            "{hint}"
        );
        assert!(!e.to_string().contains("OAuth client"), "{e}");
        assert_eq!(e.credential.as_deref(), Some("the caller's Genesys token"));
        let e = caller.read_error(&resp(401, json!({"code": "bad.credentials"})));
        assert!(e.hint.as_deref().unwrap().contains("sign in again"), "{e}");
    }

    #[test]
    fn token_error_classification() {
        let r = TokenReader {
            org_id: "org-a",
            client_id: "client-a",
            region: "mypurecloud.ie",
            location: "file x.json",
        };
        let rl = resp(
            400,
            json!({"error": "invalid_request", "description": "rate limit exceeded", "error_description": "rate limit exceeded"}),
        );
        assert!(r.is_throttled(&rl));
        assert_eq!(r.read_error(&rl).kind, ErrorKind::RateLimited);
        let bad = resp(
            401,
            json!({"error": "invalid_client", "description": "client not found", "error_description": "client not found"}),
        );
        let e = r.read_error(&bad);
        assert_eq!(e.kind, ErrorKind::BadCredentials);
        assert_eq!(e.code.as_deref(), Some("invalid_client"));
        assert!(e.hint.as_deref().unwrap().contains("region"));
        let grant = resp(400, json!({"error": "unsupported_grant_type"}));
        assert!(!r.is_throttled(&grant));
        assert_eq!(r.read_error(&grant).kind, ErrorKind::InvalidRequest);
    }
}
