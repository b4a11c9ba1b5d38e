//! The record of every upstream request the sandbox answered, so tests can assert on traffic
//! (what was called, with which kind of auth, by which org) without ever seeing a secret.

use std::sync::Mutex;

use axum::http::{header, HeaderMap};
use serde::Serialize;

use crate::pattern::{method_matches, path_matches};

/// Which real service a request was addressed to, decided by its path prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Upstream {
    /// `login.<domain>`: `/oauth/*`.
    GenesysLogin,
    /// `api.<domain>`: `/api/*`.
    Genesys,
    /// `{subdomain}.zendesk.com`: `/zendesk/{subdomain}/*`.
    Zendesk,
    /// A path that belongs to none of them (always answered 501).
    Other,
}

impl Upstream {
    pub fn classify(path: &str) -> Upstream {
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        if under("/oauth") {
            Upstream::GenesysLogin
        } else if under("/api") {
            Upstream::Genesys
        } else if under("/zendesk") {
            Upstream::Zendesk
        } else {
            Upstream::Other
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Starts at 1 and never repeats, even across `clear_journal`.
    pub seq: u64,
    pub method: String,
    /// Path as received, without the query.
    pub path: String,
    pub query: Option<String>,
    pub upstream: Upstream,
    /// The Genesys org of a valid bearer token or valid Basic client credentials.
    pub org_id: Option<String>,
    /// The Genesys user of a valid user token (`None` for client credentials).
    pub user_id: Option<String>,
    pub zendesk_subdomain: Option<String>,
    /// "basic", "bearer", "none", or "other" for an unrecognised scheme; never the secret.
    pub auth: String,
    pub status: u16,
    /// The JSON request body; the token request's form fields as a JSON object.
    pub body: Option<serde_json::Value>,
    pub latency_ms: u64,
    /// When it was answered, epoch milliseconds (rate budgets count per time window).
    pub at_ms: u64,
    /// The chaos fault this request got ([`crate::ChaosFault::name`]), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

impl JournalEntry {
    /// Same glob rules as fault rules: see [`crate::pattern`].
    pub fn matches(&self, method: &str, path_glob: &str) -> bool {
        method_matches(method, &self.method) && path_matches(path_glob, &self.path)
    }
}

/// How many entries match `method` ("*" = any) and `path_glob`.
pub fn count(journal: &[JournalEntry], method: &str, path_glob: &str) -> usize {
    journal
        .iter()
        .filter(|e| e.matches(method, path_glob))
        .count()
}

/// The entries that match `method` ("*" = any) and `path_glob`, in order.
pub fn matching<'a>(
    journal: &'a [JournalEntry],
    method: &str,
    path_glob: &str,
) -> Vec<&'a JournalEntry> {
    journal
        .iter()
        .filter(|e| e.matches(method, path_glob))
        .collect()
}

/// How many entries went to `upstream`.
pub fn count_upstream(journal: &[JournalEntry], upstream: Upstream) -> usize {
    journal.iter().filter(|e| e.upstream == upstream).count()
}

#[derive(Default)]
pub(crate) struct Journal {
    inner: Mutex<JournalInner>,
}

#[derive(Default)]
struct JournalInner {
    entries: Vec<JournalEntry>,
    last_seq: u64,
}

impl Journal {
    /// Assigns the sequence number under the same lock as the push, so order and seq agree.
    pub(crate) fn push(&self, mut entry: JournalEntry) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.last_seq += 1;
        entry.seq = inner.last_seq;
        inner.entries.push(entry);
    }

    pub(crate) fn snapshot(&self) -> Vec<JournalEntry> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.clone()
    }

    /// The sequence number of the newest entry ever pushed (0 if none), cleared or not.
    pub(crate) fn last_seq(&self) -> u64 {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.last_seq
    }

    /// The entries pushed after `seq` (and not cleared), in order: a copy of the tail only.
    pub(crate) fn since(&self, seq: u64) -> Vec<JournalEntry> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Entries are pushed in seq order, so the newer ones are a suffix.
        let start = inner.entries.partition_point(|e| e.seq <= seq);
        inner.entries[start..].to_vec()
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.clear();
    }
}

pub(crate) fn auth_kind(headers: &HeaderMap) -> &'static str {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return "none";
    };
    let scheme = value
        .to_str()
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("");
    if scheme.eq_ignore_ascii_case("basic") {
        "basic"
    } else if scheme.eq_ignore_ascii_case("bearer") {
        "bearer"
    } else {
        "other"
    }
}

/// Form fields that could carry a secret if a client sent one the wrong way; the journal
/// must stay safe to print.
const SECRET_FORM_FIELDS: &[&str] = &[
    "client_secret",
    "password",
    "refresh_token",
    "code",
    "assertion",
    "client_assertion",
];

pub(crate) const REDACTED: &str = "** redacted **";

pub(crate) fn record_body(headers: &HeaderMap, body: &[u8]) -> Option<serde_json::Value> {
    if body.is_empty() {
        return None;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let fields = url::form_urlencoded::parse(body)
            .map(|(k, v)| {
                let value = if SECRET_FORM_FIELDS.contains(&k.as_ref()) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), serde_json::Value::String(value))
            })
            .collect();
        return Some(serde_json::Value::Object(fields));
    }
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> JournalEntry {
        JournalEntry {
            seq: 0,
            method: "GET".into(),
            path: path.into(),
            query: None,
            upstream: Upstream::classify(path),
            org_id: None,
            user_id: None,
            zendesk_subdomain: None,
            auth: "none".into(),
            status: 200,
            body: None,
            latency_ms: 0,
            at_ms: 0,
            fault: None,
        }
    }

    #[test]
    fn since_and_last_seq() {
        let j = Journal::default();
        assert_eq!(j.last_seq(), 0);
        assert!(j.since(0).is_empty());
        j.push(entry("/api/a"));
        j.push(entry("/api/b"));
        let mark = j.last_seq();
        assert_eq!(mark, 2);
        j.push(entry("/api/c"));
        let tail: Vec<String> = j.since(mark).into_iter().map(|e| e.path).collect();
        assert_eq!(tail, vec!["/api/c"]);
        assert_eq!(j.since(0).len(), 3);
        // Cleared entries are gone; numbering goes on.
        j.clear();
        assert_eq!(j.last_seq(), 3);
        assert!(j.since(0).is_empty());
        j.push(entry("/api/d"));
        assert_eq!(j.since(mark)[0].seq, 4);
    }
}
