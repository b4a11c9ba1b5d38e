//! Zendesk Support stand-in under `/zendesk/{subdomain}`: API-token and OAuth auth, ticket
//! read/update/create with safe updates, closed-ticket and per-ticket budget rules, and the
//! user lookups the bridge needs.

// Handlers short-circuit with the response to send; it is built at most once per request,
// so boxing it would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;
use serde_json::{json, Value};

use crate::journal::Upstream;
use crate::seed::ZendeskUserSeed;
use crate::server::{basic_credentials, bearer_token, json, not_implemented, text_plain, Req};
use crate::state::{parse_time, zendesk_time, Account, Comment, CreatedByKey, State, Ticket};

const STATUSES: &[&str] = &["new", "open", "pending", "hold", "solved", "closed"];

const FORBIDDEN: &str =
    "You do not have access to this page. Please contact the account owner of this help desk for further help.";

const TICKET_RATE_LIMITED: &str =
    "Rate limit for ticket updates exceeded, please wait before updating this ticket again";

/// The `{subdomain}` of `/zendesk/{subdomain}/...`.
pub(crate) fn subdomain_of(path: &str) -> Option<&str> {
    path.strip_prefix("/zendesk/")
        .and_then(|rest| rest.split('/').next())
        .filter(|s| !s.is_empty())
}

pub(crate) fn error(
    status: u16,
    error: &str,
    description: &str,
    details: Option<Value>,
) -> Response {
    let mut body = json!({"error": error, "description": description});
    if let Some(details) = details {
        body["details"] = details;
    }
    json(status, &body)
}

/// Realistic bodies for fault injection; Zendesk's API-level 429 is plain text.
pub(crate) fn default_error(status: u16) -> Response {
    match status {
        401 => json(401, &json!({"error": "Couldn't authenticate you"})),
        403 => error(403, "Forbidden", FORBIDDEN, None),
        404 => error(404, "RecordNotFound", "Not found", None),
        409 => conflict(),
        422 => error(
            422,
            "RecordInvalid",
            "Record validation errors",
            Some(json!({})),
        ),
        429 => text_plain(429, TICKET_RATE_LIMITED),
        500 => error(
            500,
            "InternalServerError",
            "Something went wrong on Zendesk's side.",
            None,
        ),
        503 => text_plain(
            503,
            "Service Unavailable: Zendesk is temporarily unavailable, please try again later.",
        ),
        s => error(
            s,
            "SandboxInjectedFault",
            "Fault injected by bridge-sandbox.",
            None,
        ),
    }
}

fn conflict() -> Response {
    error(
        409,
        "UpdateConflict",
        "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again.",
        None,
    )
}

fn not_found() -> Response {
    error(404, "RecordNotFound", "Not found", None)
}

fn record_invalid(field: &str, description: &str) -> Response {
    error(
        422,
        "RecordInvalid",
        "Record validation errors",
        Some(json!({ field: [{"description": description}] })),
    )
}

enum Endpoint {
    ShowTicket(u64),
    UpdateTicket(u64),
    CreateTicket,
    SearchUsers,
    Me,
    RequestedTickets(u64),
}

/// What a credential may do: API tokens act with the user's full role, OAuth tokens only
/// within their scopes.
enum Access {
    Read(&'static str),
    Write(&'static str),
    Any,
}

impl Endpoint {
    fn access(&self) -> Access {
        match self {
            Endpoint::ShowTicket(_) | Endpoint::RequestedTickets(_) => Access::Read("tickets"),
            Endpoint::UpdateTicket(_) | Endpoint::CreateTicket => Access::Write("tickets"),
            Endpoint::SearchUsers => Access::Read("users"),
            Endpoint::Me => Access::Any,
        }
    }
}

fn json_id(segment: &str) -> Option<u64> {
    segment.strip_suffix(".json")?.parse().ok()
}

fn match_route(method: &str, rest: &[&str]) -> Option<Endpoint> {
    match (method, rest) {
        ("GET", ["api", "v2", "tickets", id]) => json_id(id).map(Endpoint::ShowTicket),
        ("PUT", ["api", "v2", "tickets", id]) => json_id(id).map(Endpoint::UpdateTicket),
        ("POST", ["api", "v2", "tickets.json"]) => Some(Endpoint::CreateTicket),
        ("GET", ["api", "v2", "users", "search.json"]) => Some(Endpoint::SearchUsers),
        ("GET", ["api", "v2", "users", "me.json"]) => Some(Endpoint::Me),
        ("GET", ["api", "v2", "users", id, "tickets", "requested.json"]) => {
            id.parse().ok().map(Endpoint::RequestedTickets)
        }
        _ => None,
    }
}

struct Principal {
    user: ZendeskUserSeed,
    /// `None` for API tokens (the user's role decides), the granted scopes for OAuth.
    scopes: Option<Vec<String>>,
}

// long: the Zendesk route table, one arm per modelled operation.
pub(crate) fn handle(state: &mut State, req: &Req) -> Response {
    let Some(subdomain) = subdomain_of(&req.path) else {
        return not_implemented(Upstream::Zendesk, req);
    };
    let rest: Vec<&str> = req.path["/zendesk/".len() + subdomain.len()..]
        .trim_start_matches('/')
        .split('/')
        .collect();
    let Some(endpoint) = match_route(req.method.as_str(), &rest) else {
        return not_implemented(Upstream::Zendesk, req);
    };
    let base_url = state.base_url.clone();
    let (limit, window) = (state.ticket_update_limit, state.ticket_update_window);
    let Some(account) = state.account_mut(subdomain) else {
        // Real Zendesk answers an unknown subdomain with an HTML "this help center no longer
        // exists" page; the sandbox answers JSON so the mistake is readable in test output.
        return error(
            404,
            "NoSuchAccount",
            &format!("bridge-sandbox has no Zendesk account with subdomain {subdomain:?}"),
            None,
        );
    };
    let principal = match authenticate(account, req) {
        Some(principal) => principal,
        None => return json(401, &json!({"error": "Couldn't authenticate you"})),
    };
    if let Some(scopes) = &principal.scopes {
        let allowed = match endpoint.access() {
            Access::Any => true,
            Access::Read(resource) => scopes
                .iter()
                .any(|s| s == "read" || *s == format!("{resource}:read")),
            Access::Write(resource) => scopes
                .iter()
                .any(|s| s == "write" || *s == format!("{resource}:write")),
        };
        if !allowed {
            return error(403, "Forbidden", FORBIDDEN, None);
        }
    }
    // End-users may look themselves up, nothing else the sandbox implements.
    if principal.user.role == "end-user" && !matches!(endpoint, Endpoint::Me) {
        return error(403, "Forbidden", FORBIDDEN, None);
    }
    let ctx = Ctx {
        base_url: &base_url,
        subdomain,
        user_id: principal.user.id,
        limit,
        window,
    };
    match endpoint {
        Endpoint::ShowTicket(id) => match account.tickets.get(&id) {
            Some(ticket) => json(
                200,
                &json!({"ticket": ticket.to_json(ctx.base_url, subdomain)}),
            ),
            None => not_found(),
        },
        Endpoint::UpdateTicket(id) => update_ticket(account, &ctx, req, id),
        Endpoint::CreateTicket => create_ticket(account, &ctx, req),
        Endpoint::SearchUsers => search_users(account, &ctx, req),
        Endpoint::Me => json(200, &json!({"user": user_json(&principal.user, &ctx)})),
        Endpoint::RequestedTickets(user_id) => {
            if !account.users.iter().any(|u| u.id == user_id) {
                return not_found();
            }
            let tickets: Vec<Value> = account
                .tickets
                .values()
                .filter(|t| t.requester_id == user_id)
                .map(|t| t.to_json(ctx.base_url, subdomain))
                .collect();
            json(
                200,
                &json!({"tickets": tickets, "count": tickets.len(), "next_page": null, "previous_page": null}),
            )
        }
    }
}

struct Ctx<'a> {
    base_url: &'a str,
    subdomain: &'a str,
    user_id: u64,
    limit: usize,
    window: Duration,
}

fn authenticate(account: &Account, req: &Req) -> Option<Principal> {
    if let Some(token) = bearer_token(&req.headers) {
        let oauth = account.oauth_tokens.iter().find(|t| t.token == token)?;
        // OAuth tokens in the sandbox act as the account's first agent or admin.
        let user = account
            .users
            .iter()
            .find(|u| u.role == "admin" || u.role == "agent")?;
        return Some(Principal {
            user: user.clone(),
            scopes: Some(oauth.scopes.split_whitespace().map(str::to_owned).collect()),
        });
    }
    let (login, token) = basic_credentials(&req.headers)?.ok()?;
    // Only API tokens: password auth is deprecated and not modelled.
    let email = login.strip_suffix("/token")?;
    account
        .api_tokens
        .iter()
        .find(|t| t.email.eq_ignore_ascii_case(email) && t.token == token)?;
    let user = account
        .users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(email))?;
    Some(Principal {
        user: user.clone(),
        scopes: None,
    })
}

fn user_json(user: &ZendeskUserSeed, ctx: &Ctx) -> Value {
    json!({
        "id": user.id,
        "url": format!("{}/zendesk/{}/api/v2/users/{}.json", ctx.base_url, ctx.subdomain, user.id),
        "name": user.name,
        "email": user.email,
        "phone": user.phone,
        "role": user.role,
        "active": true,
    })
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn search_users(account: &Account, ctx: &Ctx, req: &Req) -> Response {
    let Some(query) = req.query_param("query") else {
        // [U] upstream-facts does not say what Zendesk does without a query.
        return error(400, "InvalidParameter", "query is required", None);
    };
    let query = query.trim().trim_matches('"');
    let phone_matches = |user: &ZendeskUserSeed, wanted: &str| {
        let wanted = digits(wanted);
        !wanted.is_empty() && user.phone.as_deref().map(digits) == Some(wanted)
    };
    let users: Vec<Value> = account
        .users
        .iter()
        .filter(|user| {
            if let Some(email) = query.strip_prefix("email:") {
                user.email.eq_ignore_ascii_case(email.trim())
            } else if let Some(phone) = query.strip_prefix("phone:") {
                phone_matches(user, phone)
            } else {
                user.email.eq_ignore_ascii_case(query)
                    || phone_matches(user, query)
                    || (!query.is_empty()
                        && user.name.to_lowercase().contains(&query.to_lowercase()))
            }
        })
        .map(|user| user_json(user, ctx))
        .collect();
    json(
        200,
        &json!({"users": users, "count": users.len(), "next_page": null, "previous_page": null}),
    )
}

/// Records an update attempt against the per-user, per-ticket budget: Ok(remaining) or
/// Err(time until the oldest attempt leaves the window).
fn take_update_slot(
    log: &mut VecDeque<Instant>,
    limit: usize,
    window: Duration,
) -> Result<usize, Duration> {
    let now = Instant::now();
    while log
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        log.pop_front();
    }
    if log.len() >= limit {
        let wait = log
            .front()
            .map_or(window, |oldest| window - now.duration_since(*oldest));
        return Err(wait);
    }
    log.push_back(now);
    Ok(limit - log.len())
}

fn budget_header(limit: usize, remaining: usize, resets: u64) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("zendesk-ratelimit-tickets-update"),
        HeaderValue::from_str(&format!(
            "total={limit}; remaining={remaining}; resets={resets}"
        ))
        .expect("ascii header"),
    )
}

fn ticket_body(req: &Req) -> Result<serde_json::Map<String, Value>, Response> {
    let body: Value = serde_json::from_slice(&req.body).map_err(|_| {
        error(
            400,
            "InvalidJSON",
            "The request body is not valid JSON",
            None,
        )
    })?;
    match body.get("ticket") {
        Some(Value::Object(ticket)) => Ok(ticket.clone()),
        _ => Err(error(
            400,
            "ParameterMissing",
            "The ticket parameter is required",
            None,
        )),
    }
}

/// `(body, public)` of a `comment` object; `public` defaults to true as in Zendesk.
fn parse_comment(
    ticket: &serde_json::Map<String, Value>,
) -> Result<Option<(String, bool)>, Response> {
    let Some(comment) = ticket.get("comment").filter(|c| !c.is_null()) else {
        return Ok(None);
    };
    let body = comment
        .get("body")
        .or_else(|| comment.get("html_body"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if body.trim().is_empty() {
        return Err(record_invalid("comment", "Comment: body can't be blank"));
    }
    let public = comment
        .get("public")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    Ok(Some((body.to_owned(), public)))
}

/// The 429 of a ticket over its update budget, with when to retry.
fn ticket_rate_limited(limit: usize, wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut response = text_plain(429, TICKET_RATE_LIMITED);
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    let (name, value) = budget_header(limit, 0, secs);
    headers.insert(name, value);
    response
}

/// An update's new status, comment and custom status, or Zendesk's refusal of it (a closed
/// ticket, an unknown status, a stale safe update, a bad comment).
type Update = (Option<String>, Option<(String, bool)>, Option<u64>);
fn read_update(
    ticket: &Ticket,
    changes: &serde_json::Map<String, Value>,
) -> Result<Update, Response> {
    if ticket.status == "closed" {
        return Err(record_invalid(
            "status",
            "Status: closed prevents ticket update",
        ));
    }
    let new_status = match changes.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if STATUSES.contains(&s.as_str()) => Some(s.clone()),
        Some(other) => {
            return Err(record_invalid(
                "status",
                &format!("Status: {other} is not a valid status"),
            ))
        }
    };
    // upstream-facts: `safe_update: false` still means safe; only omitting it is unsafe.
    if changes.contains_key("safe_update") {
        let stamp = changes
            .get("updated_stamp")
            .and_then(Value::as_str)
            .and_then(parse_time);
        // [U] a missing or unparsable stamp is treated as stale: the update must not happen.
        if stamp != Some(ticket.updated_at) {
            return Err(conflict());
        }
    }
    let comment = parse_comment(changes)?;
    let custom_status_id = changes.get("custom_status_id").and_then(Value::as_u64);
    Ok((new_status, comment, custom_status_id))
}

fn update_ticket(account: &mut Account, ctx: &Ctx, req: &Req, id: u64) -> Response {
    if !account.tickets.contains_key(&id) {
        return not_found();
    }
    // Every attempt on an existing ticket counts, as a rate limiter counts requests.
    let log = account.update_log.entry((ctx.user_id, id)).or_default();
    let remaining = match take_update_slot(log, ctx.limit, ctx.window) {
        Ok(remaining) => remaining,
        Err(wait) => return ticket_rate_limited(ctx.limit, wait),
    };
    let ticket = account.tickets.get(&id).expect("checked above");
    let (new_status, comment, custom_status_id) =
        match ticket_body(req).and_then(|changes| read_update(ticket, &changes)) {
            Ok(update) => update,
            Err(response) => return response,
        };

    let audit_id = account.next_id();
    let mut events = Vec::new();
    let ticket = account.tickets.get_mut(&id).expect("checked above");
    if let Some(status) = new_status.filter(|s| *s != ticket.status) {
        events.push(json!({
            "type": "Change", "field_name": "status",
            "value": status, "previous_value": ticket.status,
        }));
        ticket.status = status;
    }
    if let Some(custom) = custom_status_id {
        ticket.custom_status_id = Some(custom);
    }
    let comment_event = comment.map(|(body, public)| {
        json!({"type": "Comment", "body": body, "public": public, "author_id": ctx.user_id})
    });
    ticket.bump_updated_at();
    let ticket_json = ticket.to_json(ctx.base_url, ctx.subdomain);
    let updated_at = zendesk_time(ticket.updated_at);
    if let Some(event) = comment_event {
        let comment_id = account.next_id();
        let ticket = account.tickets.get_mut(&id).expect("checked above");
        ticket.comments.push(Comment {
            body: event["body"].as_str().unwrap_or_default().to_owned(),
            public: event["public"].as_bool().unwrap_or(true),
        });
        let mut event = event;
        event["id"] = json!(comment_id);
        events.push(event);
    }
    for event in events.iter_mut().filter(|e| e.get("id").is_none()) {
        event["id"] = json!(account.next_id());
    }
    let mut response = json(
        200,
        &json!({
            "ticket": ticket_json,
            "audit": {
                "id": audit_id,
                "ticket_id": id,
                "created_at": updated_at,
                "author_id": ctx.user_id,
                "events": events,
            },
        }),
    );
    let (name, value) = budget_header(ctx.limit, remaining, ctx.window.as_secs());
    response.headers_mut().insert(name, value);
    response
}

/// How long Zendesk remembers an `Idempotency-Key` [P: 2 hours, a secondary source].
const IDEMPOTENCY_TTL: Duration = Duration::from_secs(2 * 3600);

/// `POST /api/v2/tickets.json`, which takes an `Idempotency-Key` (upstream-facts: the one
/// endpoint documented for it). A repeat of a key within [`IDEMPOTENCY_TTL`] gets the first
/// answer again and creates nothing (`x-idempotency-lookup: hit`); the same key with
/// another body is refused [U: the exact error Zendesk answers].
fn create_ticket(account: &mut Account, ctx: &Ctx, req: &Req) -> Response {
    let key = req
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    let Some(key) = key else {
        return create_ticket_now(account, ctx, req)
            .map_or_else(|refused| refused, |a| created(&a));
    };
    let digest = crate::chaos::unit(0, &String::from_utf8_lossy(&req.body), 0, 0).to_bits();
    account
        .created_by_key
        .retain(|_, c| c.at.elapsed() < IDEMPOTENCY_TTL);
    if let Some(first) = account.created_by_key.get(&key) {
        if first.body_digest != digest {
            return error(
                400,
                "IdempotentRequestError",
                "The Idempotency-Key was already used with a different request body.",
                None,
            );
        }
        return with_lookup(created(&first.answer), "hit");
    }
    match create_ticket_now(account, ctx, req) {
        Ok(answer) => {
            let response = created(&answer);
            account.created_by_key.insert(
                key,
                CreatedByKey {
                    body_digest: digest,
                    answer,
                    at: Instant::now(),
                },
            );
            with_lookup(response, "miss")
        }
        Err(refused) => refused,
    }
}

fn with_lookup(mut response: Response, lookup: &'static str) -> Response {
    response.headers_mut().insert(
        HeaderName::from_static("x-idempotency-lookup"),
        HeaderValue::from_static(lookup),
    );
    response
}

/// The requester: the caller, or a user of the account.
fn requester_of(
    account: &Account,
    ctx: &Ctx,
    fields: &serde_json::Map<String, Value>,
) -> Result<u64, Response> {
    match fields.get("requester_id") {
        None | Some(Value::Null) => Ok(ctx.user_id),
        Some(v) => match v
            .as_u64()
            .filter(|id| account.users.iter().any(|u| u.id == *id))
        {
            Some(id) => Ok(id),
            None => Err(record_invalid(
                "requester_id",
                &format!("Requester: {v} not found"),
            )),
        },
    }
}

/// The closed ticket a follow-up names, if any.
fn followup_of(
    account: &Account,
    fields: &serde_json::Map<String, Value>,
) -> Result<Option<u64>, Response> {
    match fields.get("via_followup_source_id") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().and_then(|id| account.tickets.get(&id)) {
            Some(source) if source.status == "closed" => Ok(Some(source.id)),
            Some(_) => Err(record_invalid(
                "via_followup_source_id",
                "Via followup source: only closed tickets can have follow-ups",
            )),
            None => Err(record_invalid(
                "via_followup_source_id",
                &format!("Via followup source: ticket {v} not found"),
            )),
        },
    }
}

/// Creates the ticket: the 201 answer's body, or the refusal.
fn create_ticket_now(account: &mut Account, ctx: &Ctx, req: &Req) -> Result<Value, Response> {
    let fields = ticket_body(req)?;
    let comment = match parse_comment(&fields) {
        Ok(Some(comment)) => comment,
        Ok(None) => {
            return Err(record_invalid(
                "description",
                "Description: cannot be blank",
            ))
        }
        Err(response) => return Err(response),
    };
    let status = match fields.get("status") {
        None | Some(Value::Null) => "new".to_owned(),
        Some(Value::String(s)) if STATUSES.contains(&s.as_str()) => s.clone(),
        Some(other) => {
            return Err(record_invalid(
                "status",
                &format!("Status: {other} is not a valid status"),
            ))
        }
    };
    let requester_id = requester_of(account, ctx, &fields)?;
    let followup = followup_of(account, &fields)?;
    let subject = fields
        .get("subject")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| comment.0.chars().take(50).collect());
    let id = account
        .tickets
        .keys()
        .next_back()
        .map_or(1, |last| last + 1);
    let now = crate::state::now_secs();
    let comment_id = account.next_id();
    let audit_id = account.next_id();
    let ticket = Ticket {
        id,
        subject,
        status,
        requester_id,
        custom_status_id: fields.get("custom_status_id").and_then(Value::as_u64),
        created_at: now,
        updated_at: now,
        comments: vec![Comment {
            body: comment.0.clone(),
            public: comment.1,
        }],
        via_followup_source_id: followup,
    };
    let ticket_json = ticket.to_json(ctx.base_url, ctx.subdomain);
    account.tickets.insert(id, ticket);
    Ok(json!({
        "ticket": ticket_json,
        "audit": {
            "id": audit_id,
            "ticket_id": id,
            "created_at": zendesk_time(now),
            "author_id": ctx.user_id,
            "events": [{"id": comment_id, "type": "Comment", "body": comment.0, "public": comment.1, "author_id": ctx.user_id}],
        },
    }))
}

/// The 201 of a creation, with `Location`.
fn created(answer: &Value) -> Response {
    let mut response = json(201, answer);
    if let Ok(location) =
        HeaderValue::from_str(answer["ticket"]["url"].as_str().unwrap_or_default())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
