//! The one door to Zendesk Support: API-token or OAuth auth, tickets with safe updates,
//! user lookup, and errors that say it was Zendesk that refused, and why.

mod types;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

pub use types::*;

use crate::config::{OrgConfig, ZendeskAuth, ZendeskConfig};
use crate::deadline::Deadline;
use crate::error::{BridgeError, ErrorKind, Result, Upstream};
use crate::http::{execute, seg, Body, Call, ErrorReader, HttpClient, RawResponse, StaticAuth};

/// The fix for a closed ticket (`Zendesk.ClosedTicket`), whether Zendesk refused the
/// update (422) or the ticket was seen closed before anything was sent.
/// The `Idempotency-Key` of a ticket creation the bridge makes for `request` (a job id) of
/// an org: the same job, however often it is delivered, sends the same key, and no two
/// orgs' jobs share one. Hashed, so that it stays within Zendesk's 255 characters [P]
/// whatever the job id.
pub fn creation_key(org_id: &str, request: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{org_id}#{request}").as_bytes());
    format!("genesys-bridge-{}", hex::encode(&digest[..20]))
}

pub const CLOSED_TICKET_HINT: &str = "closed tickets cannot change; create a follow-up ticket instead (set rules.closedTicket to \"followUp\" to do it automatically)";

/// The Zendesk client. One per process; credentials come per org.
pub struct Zendesk {
    http: HttpClient,
}

impl Zendesk {
    pub fn new(http: HttpClient) -> Zendesk {
        Zendesk { http }
    }

    /// Operations on `org`'s Zendesk account; an error if the org has none configured.
    pub fn account<'a>(
        &'a self,
        org: &'a OrgConfig,
        deadline: Deadline,
    ) -> Result<ZendeskAccount<'a>> {
        let cfg = org.zendesk()?;
        Ok(ZendeskAccount {
            z: self,
            org_id: &org.org_id,
            // Built once per account handle, not per call.
            auth: StaticAuth(Some(authorization(&cfg.auth))),
            cfg,
            deadline,
        })
    }
}

/// The `Authorization` header for a Zendesk credential.
pub fn authorization(auth: &ZendeskAuth) -> SecretString {
    use base64::Engine;
    match auth {
        ZendeskAuth::ApiToken { email, api_token } => {
            let raw = format!("{email}/token:{}", api_token.expose_secret());
            SecretString::from(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ))
        }
        ZendeskAuth::OAuth { access_token } => {
            SecretString::from(format!("Bearer {}", access_token.expose_secret()))
        }
    }
}

/// Zendesk operations for one org.
pub struct ZendeskAccount<'a> {
    z: &'a Zendesk,
    org_id: &'a str,
    cfg: &'a ZendeskConfig,
    auth: StaticAuth,
    deadline: Deadline,
}

#[derive(Deserialize)]
struct TicketEnvelope {
    ticket: Ticket,
}
#[derive(Deserialize)]
struct UserEnvelope {
    user: User,
}
#[derive(Deserialize)]
struct UsersEnvelope {
    #[serde(default)]
    users: Vec<User>,
}
#[derive(Deserialize)]
struct TicketsEnvelope {
    #[serde(default)]
    tickets: Vec<Ticket>,
}

impl ZendeskAccount<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.base_url)
    }

    async fn call(&self, call: Call) -> Result<RawResponse> {
        let reader = Reader { cfg: self.cfg };
        execute(
            &self.z.http,
            &call,
            &self.auth,
            &reader,
            self.org_id,
            self.deadline,
        )
        .await
    }

    /// `GET /api/v2/tickets/{id}.json`.
    pub async fn ticket(&self, id: u64) -> Result<Ticket> {
        let resp = self
            .call(Call::get(
                self.url(&format!("/api/v2/tickets/{id}.json")),
                "read the Zendesk ticket",
            ))
            .await
            .map_err(ticket_hint(id, &self.cfg.subdomain))?;
        Ok(resp
            .json::<TicketEnvelope>(Upstream::Zendesk, "read the ticket")?
            .ticket)
    }

    /// `PUT /api/v2/tickets/{id}.json`. With a stamp it is a safe update (409 if stale).
    pub async fn update_ticket(&self, id: u64, update: &TicketUpdate) -> Result<Ticket> {
        let mut ticket = serde_json::Map::new();
        if let Some(s) = &update.status {
            ticket.insert("status".into(), json!(s));
        }
        if let Some(c) = &update.comment {
            ticket.insert(
                "comment".into(),
                json!({"body": c.body, "public": c.public}),
            );
        }
        // `safe_update: false` would still be "safe": omit it for an unsafe update.
        if let Some(stamp) = &update.safe_update_stamp {
            ticket.insert("safe_update".into(), json!(true));
            ticket.insert("updated_stamp".into(), json!(stamp));
        }
        let call = Call::get(
            self.url(&format!("/api/v2/tickets/{id}.json")),
            "update the Zendesk ticket",
        )
        .with_body(
            Method::PUT,
            Body::Json(json!({ "ticket": Value::Object(ticket) })),
            // A safe update cannot apply twice; an unsafe one with a comment could.
            update.safe_update_stamp.is_some(),
        );
        let resp = self
            .call(call)
            .await
            .map_err(ticket_hint(id, &self.cfg.subdomain))?;
        Ok(resp
            .json::<TicketEnvelope>(Upstream::Zendesk, "update the ticket")?
            .ticket)
    }

    /// `POST /api/v2/tickets.json` with `via_followup_source_id`: the documented path when
    /// a closed ticket needs a change. With `idempotency_key` (see [`creation_key`]) Zendesk
    /// creates it once however often it is sent, so the call is retried like a safe one;
    /// without, a lost answer is not retried (it may have created the ticket).
    pub async fn create_followup(
        &self,
        source_id: u64,
        subject: &str,
        comment: &Comment,
        idempotency_key: Option<&str>,
    ) -> Result<Ticket> {
        let call = Call::get(
            self.url("/api/v2/tickets.json"),
            "create a follow-up ticket",
        )
        .with_body(
            Method::POST,
            Body::Json(json!({"ticket": {
                "via_followup_source_id": source_id,
                "subject": subject,
                "comment": {"body": comment.body, "public": comment.public},
            }})),
            false,
        );
        let call = match idempotency_key {
            Some(key) => call.with_idempotency_key(key.to_string()),
            None => call,
        };
        let resp = self.call(call).await?;
        Ok(resp
            .json::<TicketEnvelope>(Upstream::Zendesk, "create a follow-up")?
            .ticket)
    }

    /// Users whose email (case-insensitive) or phone (digits only) equals the lookup
    /// exactly. The search itself is fuzzy, so results are filtered here.
    pub async fn find_users(&self, lookup: &UserLookup) -> Result<Vec<User>> {
        // [U] Zendesk's search syntax for a phone property is not in our verified facts:
        // we send the bare value (matches email, phone and name) and filter exactly.
        let value = match lookup {
            UserLookup::Email(e) => e.trim().to_string(),
            UserLookup::Phone(p) => p.trim().to_string(),
        };
        if value.is_empty() {
            return Err(BridgeError::validation(
                "lookup",
                "expected a phone number or an email",
            ));
        }
        let q: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let resp = self
            .call(Call::get(
                self.url(&format!("/api/v2/users/search.json?query={q}")),
                "search Zendesk users",
            ))
            .await?;
        let users = resp
            .json::<UsersEnvelope>(Upstream::Zendesk, "search users")?
            .users;
        Ok(users
            .into_iter()
            .filter(|u| match lookup {
                UserLookup::Email(e) => u
                    .email
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(e.trim())),
                UserLookup::Phone(p) => {
                    let want = phone_digits(p);
                    !want.is_empty() && u.phone.as_deref().is_some_and(|x| phone_digits(x) == want)
                }
            })
            .collect())
    }

    /// The user's newest ticket that is not solved or closed.
    pub async fn newest_open_ticket(&self, user_id: u64) -> Result<Option<Ticket>> {
        let resp = self
            .call(Call::get(
                self.url(&format!(
                    "/api/v2/users/{}/tickets/requested.json",
                    seg(&user_id.to_string())
                )),
                "list the user's tickets",
            ))
            .await?;
        let tickets = resp
            .json::<TicketsEnvelope>(Upstream::Zendesk, "list tickets")?
            .tickets;
        // RFC 3339 stamps of one format sort as strings; the id breaks ties.
        Ok(tickets
            .into_iter()
            .filter(Ticket::is_open)
            .max_by(|a, b| (a.created_at.as_deref(), a.id).cmp(&(b.created_at.as_deref(), b.id))))
    }

    /// `GET /api/v2/users/me.json`: who the credential is.
    pub async fn me(&self) -> Result<User> {
        let resp = self
            .call(Call::get(
                self.url("/api/v2/users/me.json"),
                "read the Zendesk user of the credential",
            ))
            .await?;
        Ok(resp
            .json::<UserEnvelope>(Upstream::Zendesk, "read users/me")?
            .user)
    }
}

fn ticket_hint(id: u64, subdomain: &str) -> impl FnOnce(BridgeError) -> BridgeError + '_ {
    move |mut e| {
        if e.kind == ErrorKind::NotFound {
            e.hint = Some(format!(
                "ticket {id} does not exist in {subdomain}.zendesk.com (or was deleted)"
            ));
        }
        if e.field.is_none() {
            e.field = Some("ticketId".into());
        }
        e
    }
}

struct Reader<'a> {
    cfg: &'a ZendeskConfig,
}

/// Zendesk error bodies: `{"error": "...", "description": "...", "details": {...}}`,
/// sometimes `{"error": {"title", "message"}}`, and plain text for API-level errors.
pub fn read_zendesk_body(resp: &RawResponse) -> (Option<String>, String, Option<Value>) {
    match serde_json::from_slice::<Value>(&resp.body) {
        Ok(v) if v.is_object() => {
            let (code, mut msg) = match v.get("error") {
                Some(Value::String(s)) => (Some(s.clone()), String::new()),
                Some(Value::Object(o)) => (
                    o.get("title").and_then(|t| t.as_str()).map(str::to_string),
                    o.get("message")
                        .and_then(|t| t.as_str())
                        .unwrap_or("")
                        .to_string(),
                ),
                _ => (None, String::new()),
            };
            if let Some(d) = v.get("description").and_then(|d| d.as_str()) {
                msg = if msg.is_empty() {
                    d.to_string()
                } else {
                    format!("{msg}: {d}")
                };
            }
            if msg.is_empty() {
                msg = code
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {}", resp.status));
            }
            (code, msg, v.get("details").cloned())
        }
        _ => {
            let t = resp.text();
            let t = t.trim();
            (
                None,
                if t.is_empty() {
                    format!("HTTP {}", resp.status)
                } else {
                    t.chars().take(300).collect()
                },
                None,
            )
        }
    }
}

impl ErrorReader for Reader<'_> {
    fn upstream(&self) -> Upstream {
        Upstream::Zendesk
    }
    fn correlation_header(&self) -> &'static str {
        "x-request-id"
    }
    fn read_error(&self, resp: &RawResponse) -> BridgeError {
        let (code, message, details) = read_zendesk_body(resp);
        let details_text = details.as_ref().map(|d| d.to_string()).unwrap_or_default();
        let host = format!("{}.zendesk.com", self.cfg.subdomain);
        let cred = self.cfg.auth.describe();
        let (kind, hint) = match resp.status {
            401 => (
                ErrorKind::BadCredentials,
                format!(
                    "Zendesk ({host}) refused the credential — this is Zendesk's answer, not Genesys'. {}",
                    match &self.cfg.auth {
                        ZendeskAuth::ApiToken { email, .. } => format!(
                            "Check that {email} is an agent or admin of {host}, that the API token is active (Admin Center > Apps and integrations > Zendesk API) and that token access is enabled; the header is Basic base64(\"{email}/token:<api token>\")"
                        ),
                        ZendeskAuth::OAuth { .. } =>
                            "Check that the OAuth access token was issued for this account and has not expired (Zendesk OAuth tokens now expire; refresh it)".to_string(),
                    }
                ),
            ),
            403 => (
                ErrorKind::Forbidden,
                format!(
                    "Zendesk ({host}) authenticated the credential but does not allow this: the user needs an agent or admin role (end-users cannot update tickets), or the OAuth token needs the tickets:write (or write) scope"
                ),
            ),
            404 => (ErrorKind::NotFound, format!("not found in {host}")),
            409 => (
                ErrorKind::Conflict,
                "the ticket changed since it was read (safe update): read it again and retry".to_string(),
            ),
            422 if details_text.contains("closed prevents ticket update") || message.contains("closed prevents ticket update") => (
                ErrorKind::ClosedTicket,
                CLOSED_TICKET_HINT.to_string(),
            ),
            429 => (
                ErrorKind::RateLimited,
                "Zendesk is rate limiting: ticket updates are limited to 30 per ticket per 10 minutes and 100 per minute per account; retry after the wait".to_string(),
            ),
            s if s >= 500 => (
                ErrorKind::ServerError,
                "Zendesk failed on its side; retry later and quote the request id to Zendesk support".to_string(),
            ),
            _ => (ErrorKind::InvalidRequest, "Zendesk rejected the request as invalid; see the message".to_string()),
        };
        let message = if details_text.is_empty() || kind == ErrorKind::ClosedTicket {
            message
        } else {
            format!("{message} {details_text}")
        };
        let mut e = BridgeError::upstream(Upstream::Zendesk, kind, message)
            .with_status(resp.status)
            .with_correlation_id(resp.correlation_id.clone())
            .with_credential(cred)
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

    fn cfg() -> ZendeskConfig {
        ZendeskConfig {
            subdomain: "acme".into(),
            base_url: "https://acme.zendesk.com".into(),
            auth: ZendeskAuth::ApiToken {
                email: "bridge@acme.example".into(),
                api_token: SecretString::from("tok-secret-123"),
            },
        }
    }

    fn resp(status: u16, body: &str, ctype: &'static str) -> RawResponse {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static(ctype));
        headers.insert("retry-after", HeaderValue::from_static("9"));
        RawResponse {
            status,
            headers,
            body: Bytes::from(body.to_string()),
            correlation_id: Some("req-1".into()),
        }
    }

    #[test]
    fn zendesk_error_table() {
        let c = cfg();
        let r = Reader { cfg: &c };
        let rows: Vec<(u16, &str, &str, ErrorKind, Option<&str>)> = vec![
            (401, r#"{"error":"Couldn't authenticate you"}"#, "application/json", ErrorKind::BadCredentials, Some("Couldn't authenticate you")),
            (403, r#"{"error":"Forbidden","description":"You do not have access to this page."}"#, "application/json", ErrorKind::Forbidden, Some("Forbidden")),
            (404, r#"{"error":"RecordNotFound","description":"Not found"}"#, "application/json", ErrorKind::NotFound, Some("RecordNotFound")),
            (409, r#"{"error":"UpdateConflict","description":"Safe Update prevented the update due to outdated ticket data."}"#, "application/json", ErrorKind::Conflict, Some("UpdateConflict")),
            (422, r#"{"error":"RecordInvalid","description":"Record validation errors","details":{"status":[{"description":"Status: closed prevents ticket update"}]}}"#, "application/json", ErrorKind::ClosedTicket, Some("RecordInvalid")),
            (422, r#"{"error":"RecordInvalid","description":"Record validation errors","details":{"status":[{"description":"Status: is invalid"}]}}"#, "application/json", ErrorKind::InvalidRequest, Some("RecordInvalid")),
            (429, "Rate limit for ticket updates exceeded, please wait before updating this ticket again", "text/plain", ErrorKind::RateLimited, None),
            (503, "", "text/plain", ErrorKind::ServerError, None),
            (400, r#"{"error":{"title":"Invalid attribute","message":"You passed an invalid value"}}"#, "application/json", ErrorKind::InvalidRequest, Some("Invalid attribute")),
        ];
        for (status, body, ctype, kind, code) in rows {
            let e = r.read_error(&resp(status, body, ctype));
            assert_eq!(e.kind, kind, "{status} {body}");
            assert_eq!(e.code.as_deref(), code, "{status} {body}");
            assert_eq!(e.upstream, Some(Upstream::Zendesk));
            assert_eq!(e.correlation_id.as_deref(), Some("req-1"));
            let text = e.to_string();
            assert!(!text.contains("tok-secret-123"), "{text}");
            assert!(text.contains("Zendesk answered"), "{text}");
        }
        let e = r.read_error(&resp(
            429,
            "Rate limit for ticket updates exceeded",
            "text/plain",
        ));
        assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(9)));
        assert!(e.message.contains("Rate limit for ticket updates exceeded"));
        let e = r.read_error(&resp(
            401,
            r#"{"error":"Couldn't authenticate you"}"#,
            "application/json",
        ));
        let text = e.to_string();
        assert!(
            text.contains("bridge@acme.example") && text.contains("not Genesys"),
            "{text}"
        );
    }

    #[test]
    fn auth_header_forms() {
        use base64::Engine;
        let h = authorization(&cfg().auth);
        let b64 = h.expose_secret().strip_prefix("Basic ").unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            "bridge@acme.example/token:tok-secret-123"
        );
        let o = authorization(&ZendeskAuth::OAuth {
            access_token: SecretString::from("oat"),
        });
        assert_eq!(o.expose_secret(), "Bearer oat");
    }

    #[test]
    fn phone_normalisation() {
        assert_eq!(phone_digits("+1 (555) 123-0001"), "15551230001");
        assert_eq!(phone_digits("tel:+15551230001"), "15551230001");
    }
}
