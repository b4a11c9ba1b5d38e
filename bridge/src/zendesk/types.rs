//! The parts of Zendesk's JSON that the bridge reads and writes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Ticket {
    pub id: u64,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub requester_id: Option<u64>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// The stamp for safe updates.
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub custom_status_id: Option<u64>,
}

impl Ticket {
    /// Not solved or closed.
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "new" | "open" | "pending" | "hold")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct User {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

/// A ticket change. `safe_update_stamp` turns on Zendesk's safe update: the PUT fails with
/// 409 if the ticket changed since that `updated_at`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketUpdate {
    pub status: Option<String>,
    pub comment: Option<Comment>,
    pub safe_update_stamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    pub body: String,
    pub public: bool,
}

/// How to find the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    Email(String),
    Phone(String),
}

/// Digits only, so `+1 (555) 123-0001` and `+15551230001` compare equal.
pub fn phone_digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}
