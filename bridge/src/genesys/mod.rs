//! The one door to Genesys Cloud: client-credentials tokens per org, and the operations the
//! functions need.
//!
//! Tokens are cached per (org, OAuth client, login host) until expiry minus a margin; one
//! caller fetches while the others wait (single-flight); a 401 invalidates the token and the
//! call is retried once with a fresh one. The first token of each (org, client) is checked
//! with `GET /api/v2/tokens/me`: credentials of another org are refused before any use.
//!
//! The same operations can run with a token a caller presented ([`Genesys::as_caller`], e.g.
//! an agent's token from an Embeddable Client App): then Genesys applies that user's own
//! permissions and divisions. Such a token is used as it is, for the calls of one request:
//! never cached, never refreshed, never mixed with the org's OAuth client.

mod errors;
mod messaging;
mod types;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

pub use errors::{extract_permissions, ApiErrorBody, ApiReader, Credential, TokenReader};
pub use messaging::{
    explain_refusal, may_have_been_sent, refusal, AgentlessRequest, AgentlessSent,
    MessagingTemplate, Refusal, SmsPhoneNumber, TemplateParameter, WhatsAppIntegration,
    MESSAGE_CREATE,
};
pub use types::*;

use crate::config::OrgConfig;
use crate::deadline::Deadline;
use crate::error::{BridgeError, ErrorKind, Result, Upstream};
use crate::http::{execute, seg, Authorizer, Body, Call, HttpClient, RawResponse, StaticAuth};
use crate::input::uuid_field;

/// Longest safety margin before a token's stated expiry.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    org_id: String,
    client_id: String,
    login_base_url: String,
}

struct CachedToken {
    /// The whole header value, `Bearer <token>`.
    header: SecretString,
    valid_until: Instant,
}

#[derive(Default)]
struct TokenSlot {
    token: Option<CachedToken>,
    /// What tokens/me said when it confirmed this client belongs to the org.
    verified: Option<TokenInfo>,
}

type Slot = Arc<tokio::sync::Mutex<TokenSlot>>;

/// The Genesys client. One per process, shared by all orgs; each org's tokens are separate.
pub struct Genesys {
    http: HttpClient,
    slots: Mutex<HashMap<TokenKey, Slot>>,
    tokens_issued: AtomicUsize,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Genesys {
    pub fn new(http: HttpClient) -> Genesys {
        Genesys {
            http,
            slots: Mutex::new(HashMap::new()),
            tokens_issued: AtomicUsize::new(0),
        }
    }

    /// Operations for one org, bounded by `deadline`. The org's token slot is looked up
    /// here, once, not on every attempt.
    pub fn org<'a>(&'a self, org: &'a OrgConfig, deadline: Deadline) -> GenesysOrg<'a> {
        GenesysOrg {
            auth: OrgAuth {
                g: self,
                org,
                acting: Acting::Client(self.slot(org)),
            },
            deadline,
        }
    }

    /// Tokens fetched by this process (tests, metrics).
    pub fn tokens_issued(&self) -> usize {
        self.tokens_issued.load(Ordering::SeqCst)
    }

    /// Operations with `token`, a bearer a caller presented (e.g. an agent's token), sent to
    /// `org`'s API host, bounded by `deadline`. Genesys decides with the token's own rights;
    /// a 401 is not retried (the token is not ours to refresh), and nothing is cached.
    pub fn as_caller<'a>(
        &'a self,
        org: &'a OrgConfig,
        token: &'a CallerToken,
        deadline: Deadline,
    ) -> GenesysOrg<'a> {
        GenesysOrg {
            auth: OrgAuth {
                g: self,
                org,
                acting: Acting::Caller(token),
            },
            deadline,
        }
    }

    /// Forgets every cached token of `org_id` (credential rotation).
    pub fn forget_org(&self, org_id: &str) {
        self.slots
            .lock()
            .expect("poisoned")
            .retain(|k, _| k.org_id != org_id);
    }

    fn slot(&self, org: &OrgConfig) -> Slot {
        let key = TokenKey {
            org_id: org.org_id.clone(),
            client_id: org.genesys.client_id.clone(),
            login_base_url: org.genesys.login_base_url.clone(),
        };
        self.slots
            .lock()
            .expect("poisoned")
            .entry(key)
            .or_default()
            .clone()
    }

    /// The `Authorization` header for `org` (whose slot is `slot`): cached, or fetched (and
    /// verified) once.
    async fn bearer(
        &self,
        org: &OrgConfig,
        slot: &Slot,
        deadline: Deadline,
    ) -> Result<SecretString> {
        let mut guard = slot.lock().await;
        if let Some(t) = &guard.token {
            if Instant::now() < t.valid_until {
                return Ok(t.header.clone());
            }
        }
        let fresh = self.fetch_token(org, deadline).await?;
        if guard.verified.is_none() {
            let info = self.tokens_me_with(org, &fresh.header, deadline).await?;
            check_same_org(org, &info)?;
            guard.verified = Some(info);
        }
        let header = fresh.header.clone();
        guard.token = Some(fresh);
        Ok(header)
    }

    /// Drops the cached token if it is the one the upstream refused (another caller may
    /// already have replaced it).
    async fn invalidate(slot: &Slot, used: &SecretString) {
        let mut guard = slot.lock().await;
        if guard
            .token
            .as_ref()
            .is_some_and(|t| t.header.expose_secret() == used.expose_secret())
        {
            guard.token = None;
        }
    }

    async fn fetch_token(&self, org: &OrgConfig, deadline: Deadline) -> Result<CachedToken> {
        let g = &org.genesys;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            g.client_id,
            g.client_secret.expose_secret()
        ));
        let call = Call {
            method: Method::POST,
            url: format!("{}/oauth/token", g.login_base_url),
            // Client credentials: no scope. Permissions come from the client's roles.
            body: Some(Body::Form("grant_type=client_credentials")),
            idempotent: true,
            operation: "get a Genesys access token (client credentials)",
            idempotency_key: None,
        };
        let location = format!("the config of org {}", org.org_id);
        let reader = TokenReader {
            org_id: &org.org_id,
            client_id: &g.client_id,
            region: g.region.domain,
            location: &location,
        };
        let auth = StaticAuth(Some(SecretString::from(format!("Basic {basic}"))));
        let started = Instant::now();
        let resp = execute(&self.http, &call, &auth, &reader, &org.org_id, deadline).await?;
        let tr: TokenResponse = resp.json(Upstream::Genesys, call.operation)?;
        self.tokens_issued.fetch_add(1, Ordering::SeqCst);
        let lifetime = Duration::from_secs(tr.expires_in.unwrap_or(86_400));
        let margin = TOKEN_MARGIN.min(lifetime / 2);
        Ok(CachedToken {
            header: SecretString::from(format!("Bearer {}", tr.access_token.expose_secret())),
            valid_until: started + lifetime - margin,
        })
    }

    async fn tokens_me_with(
        &self,
        org: &OrgConfig,
        header: &SecretString,
        deadline: Deadline,
    ) -> Result<TokenInfo> {
        let call = Call::get(
            format!("{}/api/v2/tokens/me", org.genesys.api_base_url),
            "check which org the token belongs to (tokens/me)",
        );
        let reader = api_reader(org, Credential::Client(&org.genesys.client_id));
        let resp = execute(
            &self.http,
            &call,
            &StaticAuth(Some(header.clone())),
            &reader,
            &org.org_id,
            deadline,
        )
        .await?;
        resp.json(Upstream::Genesys, call.operation)
    }
}

fn api_reader<'a>(org: &'a OrgConfig, credential: Credential<'a>) -> ApiReader<'a> {
    ApiReader {
        org_id: &org.org_id,
        credential,
        region: org.genesys.region.domain,
    }
}

/// A Genesys access token a caller presented (an agent's, from a client app), as the
/// `Authorization` value to send. Its `Debug` shows no part of it, and it is only ever
/// held for the request that carried it.
#[derive(Clone)]
pub struct CallerToken {
    header: SecretString,
}

impl CallerToken {
    /// The token as sent after `Bearer `.
    pub fn new(token: &str) -> CallerToken {
        CallerToken {
            header: SecretString::from(format!("Bearer {}", token.trim())),
        }
    }

    /// The token itself, for a digest that keys a cache of verdicts (never to keep).
    pub fn expose(&self) -> &str {
        self.header
            .expose_secret()
            .strip_prefix("Bearer ")
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for CallerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallerToken([REDACTED])")
    }
}

/// Refuses credentials that belong to another org, and says whose they are.
fn check_same_org(org: &OrgConfig, info: &TokenInfo) -> Result<()> {
    if info.organization.id.eq_ignore_ascii_case(&org.org_id) {
        return Ok(());
    }
    let other = match &info.organization.name {
        Some(n) => format!("{} ({n})", info.organization.id),
        None => info.organization.id.clone(),
    };
    Err(BridgeError::upstream(
        Upstream::Genesys,
        ErrorKind::WrongOrg,
        format!(
            "the OAuth client {} configured for org {} belongs to org {other}",
            org.genesys.client_id, org.org_id
        ),
    )
    .with_org(org.org_id.clone())
    .with_credential(format!("OAuth client {}", org.genesys.client_id))
    .with_hint(format!(
        "put an OAuth client created in org {} into its config; the token was not used",
        org.org_id
    )))
}

/// Whose credential a [`GenesysOrg`] acts with.
enum Acting<'a> {
    /// The org's OAuth client: a cached token, verified with tokens/me, refreshed on 401.
    Client(Slot),
    /// A token the caller presented: sent as it is.
    Caller(&'a CallerToken),
}

struct OrgAuth<'a> {
    g: &'a Genesys,
    org: &'a OrgConfig,
    acting: Acting<'a>,
}

#[async_trait]
impl Authorizer for OrgAuth<'_> {
    async fn authorization(&self, deadline: Deadline) -> Result<Option<SecretString>> {
        match &self.acting {
            Acting::Client(slot) => self.g.bearer(self.org, slot, deadline).await.map(Some),
            Acting::Caller(token) => Ok(Some(token.header.clone())),
        }
    }
    async fn rejected(&self, used: &SecretString) -> bool {
        match &self.acting {
            Acting::Client(slot) => {
                Genesys::invalidate(slot, used).await;
                true
            }
            // Not ours to refresh: the caller's 401 is the answer.
            Acting::Caller(_) => false,
        }
    }
}

/// Genesys operations for one org, with its OAuth client ([`Genesys::org`]) or a caller's
/// token ([`Genesys::as_caller`]).
pub struct GenesysOrg<'a> {
    auth: OrgAuth<'a>,
    deadline: Deadline,
}

impl GenesysOrg<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.auth.org.genesys.api_base_url)
    }

    async fn call(&self, call: Call) -> Result<RawResponse> {
        let org = self.auth.org;
        let credential = match &self.auth.acting {
            Acting::Client(_) => Credential::Client(&org.genesys.client_id),
            Acting::Caller(_) => Credential::Caller,
        };
        execute(
            &self.auth.g.http,
            &call,
            &self.auth,
            &api_reader(org, credential),
            &org.org_id,
            self.deadline,
        )
        .await
    }

    fn not_found_hint(&self, what: String) -> impl FnOnce(BridgeError) -> BridgeError + '_ {
        move |mut e| {
            if e.kind == ErrorKind::NotFound {
                e.hint = Some(format!(
                    "{what} was not found in org {} (region {}): it may belong to another org or region, or the id is wrong",
                    self.auth.org.org_id, self.auth.org.genesys.region.domain
                ));
            }
            e
        }
    }

    /// Makes sure a verified token is cached and returns what tokens/me said when it was
    /// verified (for `bridge doctor`: no second tokens/me call).
    pub async fn ensure_token(&self) -> Result<TokenInfo> {
        let a = &self.auth;
        let Acting::Client(slot) = &a.acting else {
            return Err(BridgeError::internal(
                "ensure_token is for the org's OAuth client; a caller's token is checked with tokens_me",
            ));
        };
        a.g.bearer(a.org, slot, self.deadline).await?;
        let verified = slot.lock().await.verified.clone();
        verified.ok_or_else(|| {
            BridgeError::internal("a token was issued without the tokens/me org check")
        })
    }

    /// `GET /api/v2/tokens/me` (no permission needed).
    pub async fn tokens_me(&self) -> Result<TokenInfo> {
        let resp = self
            .call(Call::get(
                self.url("/api/v2/tokens/me"),
                "read the token's org (tokens/me)",
            ))
            .await?;
        resp.json(Upstream::Genesys, "read tokens/me")
    }

    /// `GET /api/v2/users/me`: the user the token belongs to. No permission is needed; a
    /// token without a user (client credentials) is refused by Genesys with a 4xx [U: which
    /// status and code is not in upstream-facts; callers treat any 4xx but 401/429 as "no
    /// user"].
    pub async fn users_me(&self) -> Result<UserMe> {
        let resp = self
            .call(Call::get(
                self.url("/api/v2/users/me"),
                "read the token's user (users/me)",
            ))
            .await?;
        resp.json(Upstream::Genesys, "read users/me")
    }

    /// `GET /api/v2/organizations/me` (no permission needed).
    pub async fn organization(&self) -> Result<Organization> {
        let resp = self
            .call(Call::get(
                self.url("/api/v2/organizations/me"),
                "read the organization",
            ))
            .await?;
        resp.json(Upstream::Genesys, "read organizations/me")
    }

    /// `GET /api/v2/authorization/roles/{roleId}` (needs `authorization:role:view`).
    pub async fn role(&self, role_id: &str) -> Result<Role> {
        let id = uuid_field("roleId", role_id)?;
        let resp = self
            .call(Call::get(
                self.url(&format!("/api/v2/authorization/roles/{}", seg(&id))),
                "read an OAuth client role",
            ))
            .await?;
        resp.json(Upstream::Genesys, "read a role")
    }

    /// `GET /api/v2/conversations/{conversationId}` (`conversation:communication:view`).
    pub async fn conversation(&self, conversation_id: &str) -> Result<Conversation> {
        let id = uuid_field("conversationId", conversation_id)?;
        let resp = self
            .call(Call::get(
                self.url(&format!("/api/v2/conversations/{}", seg(&id))),
                "read the conversation",
            ))
            .await
            .map_err(self.not_found_hint(format!("conversation {id}")))?;
        resp.json(Upstream::Genesys, "read the conversation")
    }

    /// `PATCH /api/v2/conversations/{c}/participants/{p}/attributes` with
    /// `{"attributes": {...}}`: sends only the given keys (merge), string values only.
    pub async fn patch_participant_attributes(
        &self,
        conversation_id: &str,
        participant_id: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<Written> {
        let c = uuid_field("conversationId", conversation_id)?;
        let p = uuid_field("participantId", participant_id)?;
        if attributes.is_empty() {
            return Err(BridgeError::validation(
                "attributes",
                "expected at least one attribute to write",
            ));
        }
        let call = Call::get(
            self.url(&format!(
                "/api/v2/conversations/{}/participants/{}/attributes",
                seg(&c),
                seg(&p)
            )),
            "patch participant attributes",
        )
        .with_body(
            Method::PATCH,
            Body::Json(json!({ "attributes": attributes })),
            true,
        );
        let resp = self
            .call(call)
            .await
            .map_err(self.not_found_hint(format!("conversation {c} / participant {p}")))?;
        Ok(Written {
            status: resp.status,
            correlation_id: resp.correlation_id,
        })
    }

    /// `GET /api/v2/externalcontacts/contacts/{contactId}` (`externalContacts:contact:view`).
    pub async fn external_contact(&self, contact_id: &str) -> Result<ExternalContact> {
        let id = uuid_field("contactId", contact_id)?;
        let resp = self
            .call(Call::get(
                self.url(&format!("/api/v2/externalcontacts/contacts/{}", seg(&id))),
                "read the external contact",
            ))
            .await
            .map_err(self.not_found_hint(format!("external contact {id}")))?;
        resp.json(Upstream::Genesys, "read the external contact")
    }

    /// `PATCH /api/v2/externalcontacts/contacts/{contactId}` with field-level `changes`
    /// (`externalContacts:contact:edit`): no full-object PUT, no lost updates.
    pub async fn patch_external_contact(
        &self,
        contact_id: &str,
        changes: &[ContactChange],
    ) -> Result<ExternalContact> {
        let id = uuid_field("contactId", contact_id)?;
        if changes.is_empty() {
            return Err(BridgeError::validation(
                "changes",
                "expected at least one change",
            ));
        }
        let call = Call::get(
            self.url(&format!("/api/v2/externalcontacts/contacts/{}", seg(&id))),
            "patch external contact fields",
        )
        .with_body(
            Method::PATCH,
            Body::Json(json!({ "changes": changes })),
            true,
        );
        let resp = self
            .call(call)
            .await
            .map_err(self.not_found_hint(format!("external contact {id}")))?;
        resp.json(Upstream::Genesys, "patch the external contact")
    }
}
