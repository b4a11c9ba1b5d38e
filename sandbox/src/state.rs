//! The sandbox's mutable world (issued tokens, conversations, contacts, tickets) and the
//! [`StateHandle`] tests use to inspect it or to change it behind the clients' backs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::seed::{
    ApiTokenSeed, ConversationSeed, ExternalContactSeed, MessagingConversationSeed, OAuthTokenSeed,
    OrgSeed, ParticipantSeed, RoleSeed, Seed, SmsNumberSeed, TicketSeed, WhatsAppIntegrationSeed,
    ZendeskAccountSeed, ZendeskUserSeed, ATTRIBUTES_PERMISSION,
};

/// Zendesk's Update Ticket budget: 30 updates per 10 minutes per user and ticket.
pub const DEFAULT_TICKET_UPDATE_LIMIT: usize = 30;
pub const DEFAULT_TICKET_UPDATE_WINDOW: Duration = Duration::from_secs(600);

/// Fixed because the sandbox models one home division per org; clients only echo it.
pub(crate) const HOME_DIVISION_ID: &str = "d1d00000-0000-4000-8000-000000000000";

pub(crate) struct State {
    pub(crate) base_url: String,
    pub(crate) token_ttl: Duration,
    pub(crate) orgs: Vec<Org>,
    pub(crate) tokens: HashMap<String, IssuedToken>,
    pub(crate) tokens_issued: usize,
    pub(crate) accounts: Vec<Account>,
    pub(crate) ticket_update_limit: usize,
    pub(crate) ticket_update_window: Duration,
}

pub(crate) struct IssuedToken {
    pub(crate) org_id: String,
    pub(crate) principal: Principal,
    /// `None`: valid until revoked (a seeded token).
    pub(crate) expires_at: Option<Instant>,
}

/// Who a Genesys token acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Principal {
    /// An OAuth client (client credentials): no user.
    Client(String),
    /// A user (a user token): permissions from the user's roles.
    User(String),
}

impl Principal {
    pub(crate) fn user_id(&self) -> Option<&str> {
        match self {
            Principal::User(id) => Some(id),
            Principal::Client(_) => None,
        }
    }
}

pub(crate) struct Org {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) domain: String,
    pub(crate) third_party_org_name: String,
    pub(crate) attribute_permission: String,
    pub(crate) clients: Vec<Client>,
    pub(crate) users: Vec<User>,
    pub(crate) conversations: Vec<Conversation>,
    pub(crate) contacts: Vec<Contact>,
    pub(crate) sms_numbers: Vec<SmsNumberSeed>,
    pub(crate) whatsapp_integrations: Vec<WhatsAppIntegrationSeed>,
    pub(crate) messaging_conversations: Vec<MessagingConversationSeed>,
    /// Agentless messages Genesys took, oldest first.
    pub(crate) sent_messages: Vec<SentMessage>,
}

/// An agentless message the sandbox took: the request body, the ids it answered with.
#[derive(Clone, Debug)]
pub(crate) struct SentMessage {
    pub(crate) id: String,
    pub(crate) conversation_id: String,
    pub(crate) request: Value,
}

/// Digits only: how the sandbox compares messaging addresses (`+1555…`, `1555…`).
pub(crate) fn address_digits(address: &str) -> String {
    address.chars().filter(char::is_ascii_digit).collect()
}

pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) name: String,
    pub(crate) grants: Grants,
}

/// A user of an org, acting with a user token.
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) grants: Grants,
}

/// What roles grant a client or a user.
pub(crate) struct Grants {
    pub(crate) roles: Vec<RoleSeed>,
    /// Set by `StateHandle::set_client_permissions` / `set_user_permissions`; replaces what
    /// the roles grant.
    pub(crate) permission_override: Option<Vec<String>>,
}

impl Grants {
    fn new(roles: &[RoleSeed]) -> Grants {
        Grants {
            roles: roles.to_vec(),
            permission_override: None,
        }
    }

    pub(crate) fn permissions(&self) -> Vec<String> {
        match &self.permission_override {
            Some(perms) => perms.clone(),
            None => self
                .roles
                .iter()
                .flat_map(|r| r.permissions.iter().cloned())
                .collect(),
        }
    }

    /// Genesys role permissions may use `*` per segment (`conversation:*:view`, `*:*:*`).
    pub(crate) fn has_permission(&self, required: &str) -> bool {
        self.permissions().iter().any(|granted| {
            let granted: Vec<&str> = granted.split(':').collect();
            let wanted: Vec<&str> = required.split(':').collect();
            granted.len() == wanted.len()
                && granted
                    .iter()
                    .zip(&wanted)
                    .all(|(g, w)| *g == "*" || g == w)
        })
    }
}

pub(crate) struct Conversation {
    pub(crate) id: String,
    pub(crate) start_time: String,
    pub(crate) end_time: Option<String>,
    pub(crate) participants: Vec<ParticipantSeed>,
}

impl Conversation {
    pub(crate) fn to_json(&self) -> Value {
        let mut out = json!({
            "id": self.id,
            "startTime": self.start_time,
            "participants": self.participants.iter().map(participant_json).collect::<Vec<_>>(),
            "selfUri": format!("/api/v2/conversations/{}", self.id),
        });
        if let Some(end) = &self.end_time {
            out["endTime"] = json!(end);
        }
        out
    }
}

fn participant_json(p: &ParticipantSeed) -> Value {
    let mut out = json!({ "id": p.id, "purpose": p.purpose, "attributes": p.attributes });
    for (key, value) in [
        ("name", &p.name),
        ("address", &p.address),
        ("userId", &p.user_id),
        ("queueId", &p.queue_id),
    ] {
        if let Some(value) = value {
            out[key] = json!(value);
        }
    }
    out
}

impl SentMessage {
    pub(crate) fn to_json(&self) -> Value {
        let mut out = self.request.clone();
        out["id"] = json!(self.id);
        out["conversationId"] = json!(self.conversation_id);
        out
    }
}

pub(crate) struct Contact {
    pub(crate) id: String,
    /// The contact's JSON fields except `id`, `version` and `modifyDate`, which the sandbox owns.
    pub(crate) fields: Map<String, Value>,
    pub(crate) version: u64,
    pub(crate) modify_date: String,
}

impl Contact {
    fn from_seed(seed: &ExternalContactSeed, now: &str) -> Contact {
        let mut fields = match serde_json::to_value(seed) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        fields.remove("id");
        Contact {
            id: seed.id.clone(),
            fields,
            version: 1,
            modify_date: now.to_owned(),
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.extend(self.fields.clone());
        out.insert("version".into(), json!(self.version));
        out.insert("modifyDate".into(), json!(self.modify_date));
        out.insert(
            "selfUri".into(),
            json!(format!("/api/v2/externalcontacts/contacts/{}", self.id)),
        );
        Value::Object(out)
    }
}

pub(crate) struct Account {
    pub(crate) subdomain: String,
    pub(crate) users: Vec<ZendeskUserSeed>,
    pub(crate) api_tokens: Vec<ApiTokenSeed>,
    pub(crate) oauth_tokens: Vec<OAuthTokenSeed>,
    pub(crate) tickets: BTreeMap<u64, Ticket>,
    pub(crate) next_event_id: u64,
    /// Update attempts per (user id, ticket id), for the Update Ticket budget.
    pub(crate) update_log: HashMap<(u64, u64), VecDeque<Instant>>,
    /// Ticket creations by `Idempotency-Key`, to answer a repeat with the first answer.
    pub(crate) created_by_key: HashMap<String, CreatedByKey>,
}

/// A ticket creation sent with an `Idempotency-Key`.
pub(crate) struct CreatedByKey {
    /// Of the request body: the same key with another body is refused.
    pub(crate) body_digest: u64,
    pub(crate) answer: Value,
    pub(crate) at: Instant,
}

impl Account {
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_event_id += 1;
        self.next_event_id
    }
}

pub(crate) struct Ticket {
    pub(crate) id: u64,
    pub(crate) subject: String,
    pub(crate) status: String,
    pub(crate) requester_id: u64,
    pub(crate) custom_status_id: Option<u64>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: OffsetDateTime,
    pub(crate) comments: Vec<Comment>,
    pub(crate) via_followup_source_id: Option<u64>,
}

pub(crate) struct Comment {
    pub(crate) body: String,
    pub(crate) public: bool,
}

impl Ticket {
    pub(crate) fn to_json(&self, base_url: &str, subdomain: &str) -> Value {
        let mut out = json!({
            "id": self.id,
            "url": format!("{base_url}/zendesk/{subdomain}/api/v2/tickets/{}.json", self.id),
            "subject": self.subject,
            "status": self.status,
            "requester_id": self.requester_id,
            "created_at": zendesk_time(self.created_at),
            "updated_at": zendesk_time(self.updated_at),
        });
        if let Some(custom) = self.custom_status_id {
            out["custom_status_id"] = json!(custom);
        }
        out["via"] = match self.via_followup_source_id {
            Some(source) => json!({
                "channel": "api",
                "source": {"rel": "follow_up", "from": {"ticket_id": source}, "to": {}},
            }),
            None => json!({"channel": "api", "source": {"rel": null, "from": {}, "to": {}}}),
        };
        out
    }

    /// Zendesk stamps have one-second resolution, so two updates in the same second would
    /// share a stamp and a safe update could not tell them apart; keep them strictly
    /// increasing instead.
    pub(crate) fn bump_updated_at(&mut self) {
        let floor = self.updated_at + time::Duration::seconds(1);
        self.updated_at = now_secs().max(floor);
    }
}

pub(crate) fn now_secs() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 ns is valid")
}

pub(crate) fn zendesk_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("UTC time formats as RFC 3339")
}

pub(crate) fn genesys_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .expect("UTC time formats")
}

pub(crate) fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn check_uuid(kind: &str, id: &str) -> Result<(), String> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| format!("seed: {kind} id {id:?} is not a UUID"))
}

impl State {
    pub(crate) fn from_seed(seed: &Seed, base_url: String) -> Result<State, String> {
        let mut state = State {
            base_url,
            token_ttl: Duration::from_secs(seed.token_ttl_seconds),
            orgs: Vec::new(),
            tokens: HashMap::new(),
            tokens_issued: 0,
            accounts: Vec::new(),
            ticket_update_limit: DEFAULT_TICKET_UPDATE_LIMIT,
            ticket_update_window: DEFAULT_TICKET_UPDATE_WINDOW,
        };
        for org in &seed.genesys.orgs {
            state.add_org(org)?;
        }
        for account in &seed.zendesk.accounts {
            state.add_account(account)?;
        }
        Ok(state)
    }

    fn add_org(&mut self, seed: &OrgSeed) -> Result<(), String> {
        check_uuid("org", &seed.id)?;
        if self.orgs.iter().any(|o| o.id == seed.id) {
            return Err(format!("seed: duplicate org id {}", seed.id));
        }
        self.check_new_clients(seed)?;
        self.orgs.push(org_of(seed));
        self.seed_tokens(seed)?;
        for user in &seed.users {
            check_uuid("user", &user.id)?;
        }
        for conversation in &seed.conversations {
            self.insert_conversation(&seed.id, conversation)?;
        }
        for contact in &seed.external_contacts {
            self.insert_contact(&seed.id, contact)?;
        }
        Ok(())
    }

    /// An OAuth client id is unique across every org and within the seed.
    fn check_new_clients(&self, seed: &OrgSeed) -> Result<(), String> {
        for client in &seed.oauth_clients {
            let in_seed = seed
                .oauth_clients
                .iter()
                .filter(|c| c.id == client.id)
                .count();
            if self.client(&client.id).is_some() || in_seed > 1 {
                return Err(format!("seed: duplicate OAuth client id {}", client.id));
            }
        }
        Ok(())
    }

    /// The tokens a seed hands out already (clients' issued tokens, users' tokens), each
    /// unique across the sandbox.
    fn seed_tokens(&mut self, seed: &OrgSeed) -> Result<(), String> {
        let seeded = seed
            .oauth_clients
            .iter()
            .filter_map(|c| {
                c.issued_token
                    .as_ref()
                    .map(|t| (t, Principal::Client(c.id.clone())))
            })
            .chain(
                seed.users
                    .iter()
                    .map(|u| (&u.token, Principal::User(u.id.clone()))),
            );
        for (token, principal) in seeded {
            if self.tokens.contains_key(token.as_str()) {
                return Err(format!("seed: duplicate token of {principal:?}"));
            }
            self.tokens.insert(
                token.clone(),
                IssuedToken {
                    org_id: seed.id.clone(),
                    principal,
                    expires_at: None,
                },
            );
        }
        Ok(())
    }

    fn insert_conversation(&mut self, org_id: &str, seed: &ConversationSeed) -> Result<(), String> {
        check_uuid("conversation", &seed.id)?;
        for p in &seed.participants {
            check_uuid("participant", &p.id)?;
        }
        if self.find_conversation(&seed.id).is_some() {
            return Err(format!("duplicate conversation id {}", seed.id));
        }
        let org = self
            .org_mut(org_id)
            .ok_or_else(|| format!("no org {org_id}"))?;
        org.conversations.push(Conversation {
            id: seed.id.clone(),
            start_time: seed
                .start_time
                .clone()
                .unwrap_or_else(|| genesys_time(OffsetDateTime::now_utc())),
            end_time: seed.end_time.clone(),
            participants: seed.participants.clone(),
        });
        Ok(())
    }

    fn insert_contact(&mut self, org_id: &str, seed: &ExternalContactSeed) -> Result<(), String> {
        check_uuid("external contact", &seed.id)?;
        if self
            .orgs
            .iter()
            .any(|o| o.contacts.iter().any(|c| c.id == seed.id))
        {
            return Err(format!("duplicate external contact id {}", seed.id));
        }
        let now = genesys_time(OffsetDateTime::now_utc());
        let org = self
            .org_mut(org_id)
            .ok_or_else(|| format!("no org {org_id}"))?;
        org.contacts.push(Contact::from_seed(seed, &now));
        Ok(())
    }

    fn add_account(&mut self, seed: &ZendeskAccountSeed) -> Result<(), String> {
        if self.account(&seed.subdomain).is_some() {
            return Err(format!(
                "seed: duplicate Zendesk subdomain {}",
                seed.subdomain
            ));
        }
        let mut account = Account {
            subdomain: seed.subdomain.clone(),
            users: seed.users.clone(),
            api_tokens: seed.api_tokens.clone(),
            oauth_tokens: seed.oauth_tokens.clone(),
            tickets: BTreeMap::new(),
            next_event_id: 90_000_000_000,
            update_log: HashMap::new(),
            created_by_key: HashMap::new(),
        };
        for ticket in &seed.tickets {
            insert_ticket(&mut account, ticket)?;
        }
        self.accounts.push(account);
        Ok(())
    }

    pub(crate) fn org(&self, id: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.id == id)
    }

    pub(crate) fn org_mut(&mut self, id: &str) -> Option<&mut Org> {
        self.orgs.iter_mut().find(|o| o.id == id)
    }

    /// The org and client owning `client_id`.
    pub(crate) fn client(&self, client_id: &str) -> Option<(&Org, &Client)> {
        self.orgs.iter().find_map(|org| {
            org.clients
                .iter()
                .find(|c| c.id == client_id)
                .map(|c| (org, c))
        })
    }

    fn find_conversation(&self, id: &str) -> Option<&Conversation> {
        self.orgs
            .iter()
            .find_map(|o| o.conversations.iter().find(|c| c.id == id))
    }

    fn find_conversation_mut(&mut self, id: &str) -> Option<&mut Conversation> {
        self.orgs
            .iter_mut()
            .find_map(|o| o.conversations.iter_mut().find(|c| c.id == id))
    }

    pub(crate) fn issue_token(&mut self, org_id: &str, client_id: &str) -> String {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                org_id: org_id.to_owned(),
                principal: Principal::Client(client_id.to_owned()),
                expires_at: Some(Instant::now() + self.token_ttl),
            },
        );
        self.tokens_issued += 1;
        token
    }

    /// The org id and principal of a token that is still valid.
    pub(crate) fn token_owner(&self, token: &str) -> Option<(String, Principal)> {
        let issued = self.tokens.get(token)?;
        issued
            .expires_at
            .is_none_or(|at| Instant::now() < at)
            .then(|| (issued.org_id.clone(), issued.principal.clone()))
    }

    pub(crate) fn account(&self, subdomain: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.subdomain == subdomain)
    }

    pub(crate) fn account_mut(&mut self, subdomain: &str) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.subdomain == subdomain)
    }

    fn ticket_mut(&mut self, subdomain: &str, id: u64) -> &mut Ticket {
        self.account_mut(subdomain)
            .unwrap_or_else(|| panic!("bridge-sandbox: no Zendesk account {subdomain:?}"))
            .tickets
            .get_mut(&id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no ticket {id} in {subdomain:?}"))
    }
}

fn insert_ticket(account: &mut Account, seed: &TicketSeed) -> Result<(), String> {
    if account.tickets.contains_key(&seed.id) {
        return Err(format!(
            "duplicate ticket id {} in {}",
            seed.id, account.subdomain
        ));
    }
    let stamp = |s: &Option<String>, what: &str| -> Result<OffsetDateTime, String> {
        match s {
            Some(s) => parse_time(s).ok_or_else(|| format!("ticket {}: bad {what} {s:?}", seed.id)),
            None => Ok(now_secs()),
        }
    };
    let created_at = stamp(&seed.created_at, "createdAt")?;
    let updated_at = match &seed.updated_at {
        Some(_) => stamp(&seed.updated_at, "updatedAt")?,
        None => created_at,
    };
    account.tickets.insert(
        seed.id,
        Ticket {
            id: seed.id,
            subject: seed.subject.clone(),
            status: seed.status.clone(),
            requester_id: seed.requester_id,
            custom_status_id: seed.custom_status_id,
            created_at,
            updated_at,
            comments: Vec::new(),
            via_followup_source_id: None,
        },
    );
    Ok(())
}

/// Shared access to the sandbox state. Cheap to clone. Mutators that name an org,
/// conversation, participant or ticket that does not exist panic, so that a typo in a test
/// fails at the line that made it.
#[derive(Clone)]
pub struct StateHandle {
    inner: Arc<Mutex<State>>,
}

impl StateHandle {
    pub(crate) fn new(state: State) -> StateHandle {
        StateHandle {
            inner: Arc::new(Mutex::new(state)),
        }
    }

    /// A test that panicked while holding the lock must not take every later test down too.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    // --- Genesys tokens ---

    /// Every Genesys token issued so far becomes invalid (401 `bad.credentials`).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for token in self.lock().tokens.values_mut() {
            token.expires_at = Some(now);
        }
    }

    pub fn revoke_tokens_for_client(&self, client_id: &str) {
        let client = Principal::Client(client_id.to_owned());
        self.lock().tokens.retain(|_, t| t.principal != client);
    }

    /// The user's tokens stop working (401 `bad.credentials`), as when an agent signs out.
    pub fn revoke_tokens_for_user(&self, user_id: &str) {
        let user = Principal::User(user_id.to_owned());
        self.lock().tokens.retain(|_, t| t.principal != user);
    }

    /// How many Genesys tokens were issued (through `/oauth/token` or [`Self::issue_token`]).
    pub fn tokens_issued(&self) -> usize {
        self.lock().tokens_issued
    }

    /// Issues a token without an HTTP round trip; counts towards [`Self::tokens_issued`].
    pub fn issue_token(&self, client_id: &str) -> String {
        let mut state = self.lock();
        let org_id = state
            .client(client_id)
            .map(|(org, _)| org.id.clone())
            .unwrap_or_else(|| panic!("bridge-sandbox: no OAuth client {client_id:?}"));
        state.issue_token(&org_id, client_id)
    }

    /// `expires_in` and lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.lock().token_ttl = ttl;
    }

    /// Replaces what the client's roles grant (the roles themselves are still reported).
    pub fn set_client_permissions(&self, org_id: &str, client_id: &str, permissions: Vec<String>) {
        let mut state = self.lock();
        let client = state
            .org_mut(org_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no org {org_id:?}"))
            .clients
            .iter_mut()
            .find(|c| c.id == client_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no client {client_id:?} in {org_id:?}"));
        client.grants.permission_override = Some(permissions);
    }

    /// Replaces what the user's roles grant (the roles themselves are still reported).
    pub fn set_user_permissions(&self, org_id: &str, user_id: &str, permissions: Vec<String>) {
        let mut state = self.lock();
        let user = state
            .org_mut(org_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no org {org_id:?}"))
            .users
            .iter_mut()
            .find(|u| u.id == user_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no user {user_id:?} in {org_id:?}"));
        user.grants.permission_override = Some(permissions);
    }

    /// The permission the attribute PATCH route requires in `org_id`.
    pub fn set_attribute_permission(&self, org_id: &str, permission: &str) {
        let mut state = self.lock();
        state
            .org_mut(org_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no org {org_id:?}"))
            .attribute_permission = permission.to_owned();
    }

    // --- Genesys conversations and contacts ---

    pub fn add_conversation(&self, org_id: &str, conversation: ConversationSeed) {
        if let Err(e) = self.lock().insert_conversation(org_id, &conversation) {
            panic!("bridge-sandbox: add_conversation: {e}");
        }
    }

    /// The conversation as `GET /api/v2/conversations/{id}` would return it.
    pub fn conversation(&self, conversation_id: &str) -> Option<Value> {
        self.lock()
            .find_conversation(conversation_id)
            .map(Conversation::to_json)
    }

    /// Sets `endTime` to now. Attribute writes after this are answered 202 but not kept.
    pub fn end_conversation(&self, conversation_id: &str) {
        let mut state = self.lock();
        let conversation = state
            .find_conversation_mut(conversation_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no conversation {conversation_id:?}"));
        conversation.end_time = Some(genesys_time(OffsetDateTime::now_utc()));
    }

    pub fn participant_attributes(
        &self,
        conversation_id: &str,
        participant_id: &str,
    ) -> Option<BTreeMap<String, String>> {
        let state = self.lock();
        let conversation = state.find_conversation(conversation_id)?;
        conversation
            .participants
            .iter()
            .find(|p| p.id == participant_id)
            .map(|p| p.attributes.clone())
    }

    /// Writes an attribute directly, as a flow or another integration would.
    pub fn set_participant_attribute(
        &self,
        conversation_id: &str,
        participant_id: &str,
        key: &str,
        value: &str,
    ) {
        let mut state = self.lock();
        let participant = state
            .find_conversation_mut(conversation_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no conversation {conversation_id:?}"))
            .participants
            .iter_mut()
            .find(|p| p.id == participant_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no participant {participant_id:?}"));
        participant
            .attributes
            .insert(key.to_owned(), value.to_owned());
    }

    pub fn add_external_contact(&self, org_id: &str, contact: ExternalContactSeed) {
        if let Err(e) = self.lock().insert_contact(org_id, &contact) {
            panic!("bridge-sandbox: add_external_contact: {e}");
        }
    }

    /// The contact as `GET /api/v2/externalcontacts/contacts/{id}` would return it.
    pub fn contact(&self, org_id: &str, contact_id: &str) -> Option<Value> {
        let state = self.lock();
        let org = state.org(org_id)?;
        org.contacts
            .iter()
            .find(|c| c.id == contact_id)
            .map(Contact::to_json)
    }

    // --- Genesys messaging ---

    /// The agentless messages org `org_id` took, oldest first: each the request body with
    /// the `id` and `conversationId` the sandbox answered.
    pub fn sent_messages(&self, org_id: &str) -> Vec<Value> {
        let state = self.lock();
        state
            .org(org_id)
            .map(|o| o.sent_messages.iter().map(SentMessage::to_json).collect())
            .unwrap_or_default()
    }

    /// How many agentless messages every org took together.
    pub fn messages_sent(&self) -> usize {
        self.lock().orgs.iter().map(|o| o.sent_messages.len()).sum()
    }

    /// Starts a messaging conversation with `address` (a customer in a flow, a queue or
    /// with an agent); returns its id.
    pub fn add_messaging_conversation(
        &self,
        org_id: &str,
        address: &str,
        messenger_type: &str,
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.lock()
            .org_mut(org_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no org {org_id:?}"))
            .messaging_conversations
            .push(MessagingConversationSeed {
                id: id.clone(),
                address: address.to_owned(),
                messenger_type: messenger_type.to_owned(),
            });
        id
    }

    /// Sets the status of WhatsApp integration `id` (`Active`, `Inactive`, ...).
    pub fn set_whatsapp_integration_status(&self, org_id: &str, id: &str, status: &str) {
        let mut state = self.lock();
        let integration = state
            .org_mut(org_id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no org {org_id:?}"))
            .whatsapp_integrations
            .iter_mut()
            .find(|w| w.id == id)
            .unwrap_or_else(|| panic!("bridge-sandbox: no WhatsApp integration {id:?}"));
        integration.status = status.to_owned();
    }

    // --- Zendesk ---

    /// The ticket as `GET /api/v2/tickets/{id}.json` would return it (the inner object).
    pub fn ticket(&self, subdomain: &str, id: u64) -> Option<Value> {
        let state = self.lock();
        let account = state.account(subdomain)?;
        account
            .tickets
            .get(&id)
            .map(|t| t.to_json(&state.base_url, subdomain))
    }

    /// Comments added through the API, oldest first, as (body, public).
    pub fn ticket_comments(&self, subdomain: &str, id: u64) -> Vec<(String, bool)> {
        let state = self.lock();
        state
            .account(subdomain)
            .and_then(|a| a.tickets.get(&id))
            .map(|t| {
                t.comments
                    .iter()
                    .map(|c| (c.body.clone(), c.public))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Changes the status as an agent would; bumps `updated_at`.
    pub fn set_ticket_status(&self, subdomain: &str, id: u64, status: &str) {
        let mut state = self.lock();
        let ticket = state.ticket_mut(subdomain, id);
        ticket.status = status.to_owned();
        ticket.bump_updated_at();
    }

    /// Simulates a concurrent edit: `updated_at` moves on, so a safe update carrying the
    /// old stamp gets 409.
    pub fn touch_ticket(&self, subdomain: &str, id: u64) {
        self.lock().ticket_mut(subdomain, id).bump_updated_at();
    }

    pub fn add_ticket(&self, subdomain: &str, ticket: TicketSeed) {
        let mut state = self.lock();
        let account = state
            .account_mut(subdomain)
            .unwrap_or_else(|| panic!("bridge-sandbox: no Zendesk account {subdomain:?}"));
        if let Err(e) = insert_ticket(account, &ticket) {
            panic!("bridge-sandbox: add_ticket: {e}");
        }
    }

    /// The Update Ticket budget per user and ticket (default 30 per 10 minutes).
    pub fn set_ticket_update_budget(&self, limit: usize, window: Duration) {
        let mut state = self.lock();
        state.ticket_update_limit = limit;
        state.ticket_update_window = window;
        for account in &mut state.accounts {
            account.update_log.clear();
        }
    }
}

/// The org a seed describes, before its tokens, conversations and contacts.
fn org_of(seed: &OrgSeed) -> Org {
    let third_party = seed.third_party_org_name.clone().unwrap_or_else(|| {
        seed.name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase()
    });
    Org {
        id: seed.id.clone(),
        name: seed.name.clone(),
        domain: seed.domain.clone(),
        third_party_org_name: third_party,
        attribute_permission: seed
            .attribute_permission
            .clone()
            .unwrap_or_else(|| ATTRIBUTES_PERMISSION.to_owned()),
        clients: seed
            .oauth_clients
            .iter()
            .map(|c| Client {
                id: c.id.clone(),
                secret: c.secret.clone(),
                name: c.name.clone(),
                grants: Grants::new(&c.roles),
            })
            .collect(),
        users: seed
            .users
            .iter()
            .map(|u| User {
                id: u.id.clone(),
                name: u.name.clone(),
                grants: Grants::new(&u.roles),
            })
            .collect(),
        conversations: Vec::new(),
        contacts: Vec::new(),
        sms_numbers: seed.sms_phone_numbers.clone(),
        whatsapp_integrations: seed.whatsapp_integrations.clone(),
        messaging_conversations: seed.messaging_conversations.clone(),
        sent_messages: Vec::new(),
    }
}
